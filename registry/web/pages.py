"""The dashboard's pages: models, a model, a version, two versions compared."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request

from registry.api.context import registry
from registry.errors import VersionNotFound
from registry.services.catalog import latest_metrics
from registry.services.compare import compare_versions
from registry.services.events import list_events
from registry.services.models import get_model, list_models
from registry.services.results import EventInfo, VersionInfo
from registry.services.versions import get_evaluation, get_plan, get_version, list_versions
from registry.web.access import can_write, reader, viewer
from registry.web.charts import bar_chart, line_chart, xy_chart
from registry.web.coefficients import heads
from registry.web.traffic import version_traffic

PER_PAGE = 50
# Versions and events a model's page reads at most: the newest ones.
SHOWN = 500
ACTIVATIONS = ("activated", "rolled_back")
# Bars a coefficient chart draws at most; the table lists every term.
CHART_TERMS = 25


def page(template: str, **context: Any) -> str:
    """Render a page with what every page shows: who is viewing and what they may do."""
    identity = viewer()
    return render_template(
        template,
        identity=identity,
        signed_in=identity.role != "",
        may_write=can_write(identity),
        auth_reads=registry().config.auth_reads,
        **context,
    )


def _tag_filter(raw: str) -> tuple[tuple[str, str] | None, str | None]:
    if not raw:
        return None, None
    key, sep, value = raw.partition(":")
    if not sep or not key:
        return None, "A tag filter looks like key:value."
    return (key, value), None


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def models_page() -> str:
    """List models, filtered by name, tag and kind as GET /api/v1/models filters them."""
    reader()
    q = request.args.get("q", "").strip()
    kind = request.args.get("kind", "")
    kind = kind if kind in ("linear", "logistic") else ""
    tag_text = request.args.get("tag", "").strip()
    tag, problem = _tag_filter(tag_text)
    number = _page_number()
    with registry().db.read() as session:
        result = list_models(session, number, PER_PAGE, q or None, tag, kind or None)
        metrics = latest_metrics(session, [m.name for m in result.items])
    return page(
        "web/models.html",
        models=result.items,
        total=result.total,
        number=number,
        pages=max(1, -(-result.total // PER_PAGE)),
        metrics=metrics,
        q=q,
        kind=kind,
        tag=tag_text,
        problem=problem,
    )


def _activations(events: tuple[EventInfo, ...]) -> list[EventInfo]:
    return [e for e in events if e.action in ACTIVATIONS]


def _metric_charts(versions: list[VersionInfo]) -> list[Any]:
    oldest_first = sorted(versions, key=lambda v: v.version)
    names = sorted({k for v in oldest_first for k in v.metrics})
    charts = []
    for name in names:
        values = [
            (f"v{v.version}", float(v.metrics[name]))
            for v in oldest_first
            if isinstance(v.metrics.get(name), (int, float))
        ]
        if values:
            charts.append(line_chart(name, values))
    return charts


def _traffic(name: str) -> dict[str, Any]:
    traffic = version_traffic(registry().metrics.exposition(), name)
    chart = None
    if traffic:
        chart = bar_chart("Prediction requests", [(f"v{t.version}", t.requests) for t in traffic])
    return {"traffic": traffic, "traffic_chart": chart, "now": datetime.now(UTC)}


def traffic_part(name: str) -> str:
    """Return a model's live traffic section alone, for the page to refresh it."""
    reader()
    with registry().db.read() as session:
        model = get_model(session, name)
    return render_template("web/traffic.html", **_traffic(model.name))


def model_page(name: str) -> str:
    """Show a model: versions, metrics across versions, activation history, live traffic."""
    reader()
    reg = registry()
    with reg.db.read() as session:
        model = get_model(session, name)
        versions = list(list_versions(session, name, 1, SHOWN).items)
        events = list_events(session, name, 1, SHOWN).items
    return page(
        "web/model.html",
        model=model,
        versions=versions,
        charts=_metric_charts(versions),
        activations=_activations(events),
        events=events[:30],
        **_traffic(model.name),
        page_data={"model": model.name},
    )


def _held_out(view: dict[str, Any] | None) -> dict[str, Any] | None:
    """Turn a stored held-out view into what the page draws."""
    if not view:
        return None
    if view["type"] == "residuals":
        predicted = view["predicted"]
        residuals = [a - p for p, a in zip(predicted, view["actual"], strict=True)]
        if not predicted:
            return None
        x_low, x_high = min(predicted), max(predicted)
        y_low, y_high = min(0.0, *residuals), max(0.0, *residuals)
        pad_x = (x_high - x_low) * 0.04 or 1.0
        pad_y = (y_high - y_low) * 0.06 or 1.0
        chart = xy_chart(
            "Residuals on the held-out split",
            predicted,
            residuals,
            "predicted",
            "actual − predicted",
            bounds=(x_low - pad_x, x_high + pad_x, y_low - pad_y, y_high + pad_y),
            guides=[(x_low - pad_x, 0.0, x_high + pad_x, 0.0)],
        )
        return {"type": "residuals", "rows": view["rows"], "shown": len(predicted), "chart": chart}
    roc = view.get("roc")
    # Views stored before multiclass curves were kept have no roc_per_class.
    per_class = view.get("roc_per_class") or []
    return {
        "type": "classes",
        "rows": view["rows"],
        "labels": view["labels"],
        "confusion": view["confusion"],
        "roc": _roc_chart(f"ROC curve, positive class {roc['positive']}", roc) if roc else None,
        "roc_per_class": [
            _roc_chart(f"ROC curve, class {c['positive']} against the rest (AUC {c['auc']:.2f})", c)
            for c in per_class
        ],
    }


def _roc_chart(title: str, curve: dict[str, Any]) -> Any:
    """Lay out a ROC curve in the unit square, with the diagonal of a guess."""
    return xy_chart(
        title,
        curve["fpr"],
        curve["tpr"],
        "false positive rate",
        "true positive rate",
        connect=True,
        bounds=(0.0, 1.0, 0.0, 1.0),
        guides=[(0.0, 0.0, 1.0, 1.0)],
    )


def version_page(name: str, version: int) -> str:
    """Show a version: its features, its coefficients, its evaluation, a form to try it."""
    reader()
    with registry().db.read() as session:
        model = get_model(session, name)
        info = get_version(session, name, version)
        plan = get_plan(session, name, version)
        held_out = _held_out(get_evaluation(session, name, version))
    outputs = heads(plan)
    charts = [
        # The heading above the chart names the output already.
        bar_chart("", [(t.label, t.coefficient) for t in head.terms[:CHART_TERMS]])
        for head in outputs
    ]
    return page(
        "web/version.html",
        model=model,
        version=info,
        heads=list(zip(outputs, charts, strict=True)),
        ignored=plan.get("ignored", []),
        held_out=held_out,
        page_data={
            "model": info.model,
            "version": info.version,
            "kind": info.kind,
            "features": info.features,
            "classes": info.classes,
        },
    )


def _pick(raw: str | None, default: int | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 2**31 else default


def compare_page(name: str) -> str:
    """Compare two versions: metrics, input schemas, and predictions on pasted rows."""
    reader()
    with registry().db.read() as session:
        model = get_model(session, name)
        versions = list(list_versions(session, name, 1, SHOWN).items)
        numbers = [v.version for v in versions]
        newest = numbers[0] if numbers else None
        older = numbers[1] if len(numbers) > 1 else newest
        a = _pick(request.args.get("a"), model.active_version or older)
        b = _pick(request.args.get("b"), newest if newest != a else older)
        comparison = None
        if a is not None and b is not None:
            if a not in numbers or b not in numbers:
                raise VersionNotFound(
                    f"Model {name!r} has no version {a if a not in numbers else b}."
                )
            comparison = compare_versions(session, name, a, b)
    by_number = {v.version: v for v in versions}
    features = {}
    for side in (a, b):
        if side in by_number:
            for feature in by_number[side].features:
                features.setdefault(feature["name"], feature)
    return page(
        "web/compare.html",
        model=model,
        versions=versions,
        a=a,
        b=b,
        comparison=comparison,
        version_a=by_number.get(a),
        version_b=by_number.get(b),
        page_data={"model": model.name, "a": a, "b": b, "features": list(features.values())},
    )


def register_pages(blueprint: Blueprint) -> None:
    """Add the pages' routes."""
    blueprint.add_url_rule("/", "models", models_page)
    blueprint.add_url_rule("/ui/models/<string:name>", "model", model_page)
    blueprint.add_url_rule(
        "/ui/models/<string:name>/versions/<int:version>", "version", version_page
    )
    blueprint.add_url_rule("/ui/models/<string:name>/compare", "compare", compare_page)
    blueprint.add_url_rule("/ui/models/<string:name>/traffic", "traffic", traffic_part)
