"""Live traffic per version, read from the registry's own Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class VersionTraffic:
    """What one version answered since the server started, across every worker."""

    version: str
    requests: int = 0
    refused: int = 0
    rows: int = 0
    seconds: float = 0.0
    answered: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def mean_ms(self) -> float | None:
        """Return the mean time to answer, in milliseconds, or None before any answer."""
        return self.seconds / self.answered * 1000 if self.answered else None


def version_traffic(exposition: bytes, model: str) -> list[VersionTraffic]:
    """Return one model's traffic per version, by version number (non-numbers last)."""
    found: dict[str, VersionTraffic] = {}

    def entry(version: str) -> VersionTraffic:
        return found.setdefault(version, VersionTraffic(version))

    for family in text_string_to_metric_families(exposition.decode("utf-8")):
        for sample in family.samples:
            if sample.labels.get("model") != model:
                continue
            version = sample.labels.get("version", "")
            count = int(sample.value)
            if sample.name == "registry_prediction_requests_total":
                status = sample.labels.get("status", "")
                item = entry(version)
                item.requests += count
                item.statuses[status] = item.statuses.get(status, 0) + count
                if not status.startswith("2"):
                    item.refused += count
            elif sample.name == "registry_prediction_rows_total":
                entry(version).rows += count
            elif sample.name == "registry_prediction_latency_seconds_sum":
                entry(version).seconds += sample.value
            elif sample.name == "registry_prediction_latency_seconds_count":
                entry(version).answered += count

    def order(item: VersionTraffic) -> tuple[int, int, str]:
        return (0, int(item.version), "") if item.version.isdigit() else (1, 0, item.version)

    return sorted((t for t in found.values() if t.requests or t.rows), key=order)
