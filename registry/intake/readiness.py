"""Whether uploads can be taken here: the fences a probe child raises, checked now and then."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from registry.errors import RegistryError
from registry.intake.sandbox import IntakeLimits, missing_fences, probe_fences

# Fences depend on the kernel and the container, which rarely change under a running server.
RECHECK_SECONDS = 60.0


@dataclass(frozen=True)
class FenceReport:
    """The fences that are down: those that refuse uploads, and those the operator waived."""

    missing: tuple[str, ...]
    waived: tuple[str, ...]

    def to_json(self) -> dict[str, list[str]]:
        """Return the readiness body's form."""
        return {"missing": list(self.missing), "waived": list(self.waived)}


class FenceCheck:
    """A per-app cache of the last probe, safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, bool] = {}
        self._checked = -RECHECK_SECONDS

    def report(self, limits: IntakeLimits) -> FenceReport:
        """Return which fences are down, probing again when the last probe is old."""
        with self._lock:
            if time.monotonic() - self._checked >= RECHECK_SECONDS:
                try:
                    self._status = probe_fences(limits)
                except RegistryError:
                    self._status = {}
                self._checked = time.monotonic()
            status = self._status
        if not status:
            return FenceReport(missing=("all",), waived=())
        down = sorted(name for name, up in status.items() if not up)
        return FenceReport(
            missing=tuple(missing_fences(status, limits)),
            waived=tuple(n for n in down if n in limits.allow_weak),
        )
