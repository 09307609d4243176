"""Files saved by each scikit-learn release are accepted and answer as that release did.

The fixtures under tests/release_fixtures/<release>/ were made by make_fixtures.py in a throwaway
virtual environment per release: each model as joblib and .skops, with held-out rows and that
release's own predictions and probabilities. Every file is opened in-process through the intake
child's steps; the oldest and newest release of each model also upload over HTTP and predict the
rows as one batch.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.app import create_app
from registry.services.tokens import create_token

FIXTURES = Path(__file__).parent / "release_fixtures"
REL = 1e-9
# Probabilities near 0 are compared absolutely: a relative test on 1e-17 measures rounding noise.
PROBABILITY_ABS = 1e-12


def release_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def documents() -> list[Path]:
    releases = sorted(
        (p for p in FIXTURES.iterdir() if p.is_dir()), key=lambda p: release_key(p.name)
    )
    return [document for folder in releases for document in sorted(folder.glob("*.json"))]


# Every file of every release is opened in-process, through the intake child's own steps
# (test_release_file_answers_in_process: load, extract, check, the plan as the child writes it,
# predict). Over HTTP, through the sandbox, the database and the serving path, go each model's
# files of the oldest and the newest release that has it: the joblib file, and the .skops file as
# well for these models and the preparation-step and further-head fixtures (step_*, head_*). The
# middle releases take the same path with files the in-process cases have already opened.
SKOPS_OVER_HTTP = ("columns_passthrough_logistic_3class", "none_category_ridge")
# The preparation-step fixtures (step_*) and the further heads (head_*) whose both files go
# through HTTP; the others' joblib files do.
STEPS_OVER_HTTP = (
    "step_columns_callable_ridge",
    "step_onehot_infrequent_logistic_3class",
    "head_logistic_cv",
    "head_lasso_lars",
    "head_sgd_log_loss_3class",
    "step_ordinal_nan_imputed_ridge",
)


def is_step(document: Path) -> bool:
    return document.stem.startswith(("step_", "head_"))


def cases() -> list[Any]:
    found = []
    for document in documents():
        if not edge_release(document):
            continue
        release = document.parent.name
        for fmt in ("joblib", "skops"):
            if is_step(document):
                if document.stem not in STEPS_OVER_HTTP:
                    continue
            elif fmt == "skops" and document.stem not in SKOPS_OVER_HTTP:
                continue
            found.append(pytest.param(document, fmt, id=f"{release}-{document.stem}-{fmt}"))
    return found


def edge_release(document: Path) -> bool:
    """Tell whether the document's release is the oldest or the newest that has its model."""
    holding = [d.parent.name for d in documents() if d.stem == document.stem]
    return document.parent.name in (holding[0], holding[-1])


def in_process_cases() -> list[Any]:
    return [
        pytest.param(document, fmt, id=f"{document.parent.name}-{document.stem}-{fmt}")
        for document in documents()
        for fmt in ("skops", "joblib")
    ]


@pytest.fixture(scope="module")
def client(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One app for the module's uploads (each case makes its own model): SQLite only, as every
    case runs an intake sandbox and the backends are covered elsewhere."""
    folder = tmp_path_factory.mktemp("release-fixtures")
    (folder / "registry.db").write_bytes(sqlite_template.read_bytes())
    app = create_app(
        {
            "database_url": f"sqlite:///{folder / 'registry.db'}",
            "artifact_root": folder / "artifacts",
            "testing": True,
            # Uploads fork from an intake zygote: a fresh interpreter each would take seconds.
            "intake_zygote": True,
        }
    )
    yield app.test_client()
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


@pytest.fixture(scope="module")
def publisher(client) -> dict[str, str]:
    registry = client.application.extensions["registry"]
    with registry.db.write() as session:
        return {"Authorization": f"Bearer {create_token(session, 'publisher', 'fixtures')}"}


def class_key(value: Any) -> str:
    """A class as the API's probability key: JSON text for booleans, str() otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def differences(expected: list[float], got: list[Any], abs_tol: float) -> list[tuple[float, float]]:
    """The (absolute, relative) difference of each pair that is not equal to REL."""
    bad = []
    for want, have in zip(expected, got, strict=True):
        if not isinstance(have, int | float) or isinstance(have, bool):
            bad.append((math.inf, math.inf))
        elif not math.isclose(have, want, rel_tol=REL, abs_tol=abs_tol):
            gap = abs(have - want)
            bad.append((gap, gap / max(abs(want), 1e-300)))
    return bad


def problems_with(document: dict, answer: dict) -> list[str]:
    """Everything in the answer that differs from the release's own outputs."""
    found = []
    expected, got = document["predictions"], answer.get("predictions")
    if not isinstance(got, list) or len(got) != len(expected):
        return [f"WRONG shape: {got!r:.200}"]
    if "classes" in document:
        labels = [
            i
            for i, (want, have) in enumerate(zip(expected, got, strict=True))
            if have != want or type(have) is not type(want)
        ]
        if labels:
            i = labels[0]
            found.append(
                f"WRONG labels in {len(labels)} rows, first row {i}: {got[i]!r} for {expected[i]!r}"
            )
        keys = [class_key(c) for c in document["classes"]]
        rows = answer.get("probabilities") or []
        if len(rows) != len(expected) or any(set(row) != set(keys) for row in rows):
            found.append(f"WRONG probability keys: {rows[:1]!r} for classes {keys!r}")
        else:
            want = [p for row in document["probabilities"] for p in row]
            have = [row[key] for row in rows for key in keys]
            bad = differences(want, have, PROBABILITY_ABS)
            if bad:
                found.append(
                    f"WRONG probabilities in {len(bad)} values, max abs diff "
                    f"{max(a for a, _ in bad):.3g}"
                )
    else:
        bad = differences(expected, got, 0.0)
        if bad:
            found.append(
                f"WRONG predictions in {len(bad)} rows, max abs diff "
                f"{max(a for a, _ in bad):.3g}, max rel diff {max(r for _, r in bad):.3g}"
            )
    return found


def unknown_fields(body: dict) -> set[str]:
    """The fields a 422 answer refused as unknown, if that is all it refused."""
    fields: set[str] = set()
    for row in (body.get("errors") or {}).values():
        if not isinstance(row, dict):
            return set()
        for field, messages in row.items():
            if messages != ["Unknown field."]:
                return set()
            fields.add(field)
    return fields


@pytest.mark.parametrize(("document_path", "fmt"), cases())
def test_release_file_answers_as_its_release(client, publisher, document_path: Path, fmt: str):
    document = json.loads(document_path.read_text())
    release = document["release"]
    name = f"r{release.replace('.', '')}-{document['name'].replace('_', '-')}-{fmt}"[:64]
    created = client.post("/api/v1/models", json={"name": name}, headers=publisher)
    assert created.status_code == 201, created.get_json()

    data = (document_path.parent / f"{document['name']}.{fmt}").read_bytes()
    form: dict[str, Any] = {"artifact": (io.BytesIO(data), f"model.{fmt}")}
    if document["declared_features"]:
        form["features"] = json.dumps(document["declared_features"])
    uploaded = client.post(
        f"/api/v1/models/{name}/versions",
        data=form,
        headers=publisher,
        content_type="multipart/form-data",
    )
    body = uploaded.get_json()
    assert uploaded.status_code == 201, f"REFUSED {uploaded.status_code}: {json.dumps(body)}"
    version = body["version"]

    path = f"/api/v1/models/{name}/versions/{version}/predict"
    answer = client.post(path, json={"instances": document["rows"]})
    if answer.status_code != 200:
        refusal = f"PREDICT REFUSED {answer.status_code}: {json.dumps(answer.get_json())[:600]}"
        # Columns scikit-learn requires but the registry calls unknown: say what the numbers
        # would be without them, so the failure also tells whether they are right.
        unknown = unknown_fields(answer.get_json())
        if answer.status_code == 422 and unknown:
            rows = [{k: v for k, v in row.items() if k not in unknown} for row in document["rows"]]
            again = client.post(path, json={"instances": rows})
            if again.status_code == 200:
                outcome = "; ".join(problems_with(document, again.get_json())) or "exact"
            else:
                outcome = f"refused {again.status_code}: {json.dumps(again.get_json())[:300]}"
            refusal += f" || without {sorted(unknown)}: {outcome}"
        pytest.fail(refusal)
    problems = problems_with(document, answer.get_json())
    if "best_score" in document:
        # A fitted search: its best cross-validated score is recorded on the version.
        recorded = body.get("metrics", {}).get("cv_best_score")
        if recorded is None or not math.isclose(recorded, document["best_score"], rel_tol=REL):
            problems.append(f"CV_BEST_SCORE {recorded!r}, file {document['best_score']!r}")
    if body.get("sklearn_version") != release:
        problems.append(f"SKLEARN_VERSION recorded {body.get('sklearn_version')!r}, file {release}")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize(("document_path", "fmt"), in_process_cases())
def test_release_file_answers_in_process(document_path: Path, fmt: str):
    """The intake child's own steps, in-process: load, extract, check, predict; every file.

    The plan predicts as the server keeps it: written as the child writes its answer (strict
    JSON) and read back. A fitted search's best score is recorded as the upload records it.
    """
    from registry.intake.extract import extract
    from registry.intake.probes import probe_rows, sklearn_outputs
    from registry.intake.searches import search_records
    from registry.intake.skops_loader import load_skops
    from registry.intake.unpickler import load_pickle
    from registry.intake.verify import check_probes
    from registry.plans import Plan

    document = json.loads(document_path.read_text())
    data = (document_path.parent / f"{document['name']}.{fmt}").read_bytes()
    load = load_skops if fmt == "skops" else load_pickle
    estimator = load(data, max_bytes=64 << 20)
    declared = document["declared_features"]
    names = None if not declared else [f if isinstance(f, str) else f["name"] for f in declared]
    extraction = extract(estimator, names)
    assert extraction.release == document["release"]
    plan = Plan(json.loads(json.dumps(extraction.plan, allow_nan=False)))
    probes = probe_rows(extraction)
    check_probes(plan, probes, sklearn_outputs(estimator, extraction, probes))
    rows = {f.name: [row.get(f.name) for row in document["rows"]] for f in plan.features}
    output = plan.predict(rows)
    answer: dict[str, Any] = {"predictions": output.predictions}
    if output.probabilities is not None:
        keys = [class_key(c) for c in plan.classes or ()]
        answer["probabilities"] = [dict(zip(keys, p, strict=True)) for p in output.probabilities]
    problems = problems_with(document, answer)
    if "best_score" in document:
        recorded = search_records(extraction.search)[0].get("cv_best_score")
        if recorded is None or not math.isclose(recorded, document["best_score"], rel_tol=REL):
            problems.append(f"CV_BEST_SCORE {recorded!r}, file {document['best_score']!r}")
    assert not problems, "; ".join(problems)
