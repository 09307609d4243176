"""The sandboxed child: fence itself in, open one artifact, answer with one JSON object."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from registry.intake import fences

MAX_DECOMPRESSED = 512 << 20
DEFAULT_CPU_SECONDS = 60
_CODES = ("untrusted_artifact", "unsupported_estimator", "invalid_artifact", "invalid_features")


def _preload(artifact_format: str) -> None:
    """Import every module the work may need while the checkout can still be read."""
    import importlib

    import joblib  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn  # noqa: F401

    import registry.errors  # noqa: F401
    from registry.intake import allowlist, extract, probes, unpickler, wire  # noqa: F401

    # The unpickler finds allowed classes by importing their modules: do it now.
    for entry in allowlist.ALLOWED.values():
        if entry.target:
            importlib.import_module(entry.target.partition(":")[0])
    if artifact_format == "skops":
        import encodings.cp437  # noqa: F401  (zipfile looks it up lazily)

        import skops.io  # noqa: F401

        from registry.intake import skops_loader  # noqa: F401
    _warm_up(artifact_format)


def _warm_up(artifact_format: str) -> None:
    """Open a model made here, so that libraries import what they load lazily (narwhals)."""
    import io

    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame(
        {"x": [0.0, 1.0, np.nan, 3.0] * 3, "c": ["a", "b", "a", None] * 3, "b": [True] * 12}
    )
    prepare = ColumnTransformer(
        [
            ("x", make_pipeline(SimpleImputer(), StandardScaler()), ["x"]),
            ("c", OneHotEncoder(handle_unknown="ignore"), ["c", "b"]),
        ]
    )
    model = make_pipeline(prepare, LogisticRegression()).fit(frame, [0, 1, 1] * 4)
    if artifact_format == "skops":
        import skops.io

        data = skops.io.dumps(model)
    else:
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)
        data = buffer.getvalue()
    _inspect({"format": artifact_format, "feature_names": None}, data, artifact_format)


def _fence_in(
    cpu_seconds: int,
    artifact_format: str,
    parent: int | None = None,
    preload: Callable[[], None] | None = None,
) -> dict[str, bool]:
    """Raise every fence (see fences.raise_fences); return which stand."""
    return fences.raise_fences(
        cpu_seconds,
        fences.ADDRESS_SPACE,
        os.getppid() if parent is None else parent,
        preload or (lambda: _preload(artifact_format)),
    )


def _inspect(header: dict[str, Any], data: bytes, artifact_format: str) -> dict[str, Any]:
    from collections import Counter

    import sklearn

    from registry.errors import InvalidFeatures
    from registry.intake.extract import extract
    from registry.intake.probes import keep_finite, probe_rows, sklearn_outputs
    from registry.intake.wire import referred_entries

    names = header.get("feature_names")
    if names is not None and not (type(names) is list and all(type(n) is str for n in names)):
        raise InvalidFeatures("The feature names must be a list of strings.")
    types = header.get("feature_types")
    if types is not None and not (
        type(types) is dict and all(type(v) is dict for v in types.values())
    ):
        raise InvalidFeatures("The declared feature types must be objects by name.")
    if header.get("format") != artifact_format:
        raise _Failure("invalid_artifact", "The intake request names two different formats.")
    seen: Counter[str] = Counter()  # what the file referred to, for the version to show
    if artifact_format == "skops":
        from registry.intake.skops_loader import load_skops

        estimator = load_skops(data, max_bytes=MAX_DECOMPRESSED, seen=seen)
    else:
        from registry.intake.unpickler import load_pickle

        estimator = load_pickle(data, max_bytes=MAX_DECOMPRESSED, seen=seen)
    extraction = extract(estimator, names, types)
    rows = probe_rows(extraction)
    try:
        outputs = sklearn_outputs(estimator, extraction, rows)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        # The installed release cannot run this file; the parent decides what that means.
        outputs = None
    if outputs is not None:
        rows, outputs = keep_finite(rows, outputs)
    return {
        "ok": True,
        "kind": extraction.kind,
        "estimator": extraction.estimator,
        "plan": extraction.plan,
        "probes": {"rows": rows, "outputs": outputs},
        "sklearn_version": extraction.release,
        "search": extraction.search,
        "server_sklearn_version": sklearn.__version__,
        "referred": referred_entries(seen),
    }


class _Failure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _answer(
    header_and_data: tuple[dict[str, Any], bytes] | None, artifact_format: str
) -> dict[str, Any]:
    from registry.errors import RegistryError

    try:
        if header_and_data is None:
            raise _Failure("invalid_artifact", "The intake request could not be read.")
        return _inspect(*header_and_data, artifact_format)
    except RegistryError as exc:
        code = exc.code if exc.code in _CODES else "invalid_artifact"
        return {"ok": False, "code": code, "message": exc.message}
    except _Failure as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}
    except MemoryError:
        return _refusal("The file needs more memory than a model upload may use.")
    except RecursionError:
        return _refusal("The file nests objects too deeply.")
    except Exception:
        return {
            "ok": False,
            "code": "invalid_artifact",
            "message": "The file could not be read as a supported model.",
        }


def _refusal(message: str) -> dict[str, Any]:
    return {"ok": False, "code": "untrusted_artifact", "message": message}


def main() -> None:
    """Run one intake: fences, request on stdin, one JSON answer on stdout."""
    cpu_seconds = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CPU_SECONDS
    artifact_format = sys.argv[2] if len(sys.argv) > 2 else "joblib"
    weak = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else set()
    parent = int(sys.argv[4]) if len(sys.argv) > 4 else os.getppid()
    run(cpu_seconds, artifact_format, weak, parent)


def run(
    cpu_seconds: int,
    artifact_format: str,
    weak: set[str],
    parent: int,
    preload: Callable[[], None] | None = None,
) -> None:
    """Fence in, read the request on stdin, answer on stdout (a zygote's child preloads nothing)."""
    # A worker killed mid-upload takes its child along (before the imports take seconds).
    fences.die_with_parent(parent)
    # Nobody reads the child's warnings, and showing one may import modules that the
    # fences have made unreachable.
    warnings.simplefilter("ignore")
    if artifact_format == "probe":
        # Readiness asks which fences stand here; there is nothing to open.
        status = fences.raise_fences(cpu_seconds, fences.ADDRESS_SPACE, parent, _nothing)
        _write({"ok": True, "sandbox": status})
        return
    status = _fence_in(cpu_seconds, artifact_format, parent, preload)
    missing = sorted(name for name, up in status.items() if not up and name not in weak)
    if missing:
        # Fail closed: the upload's bytes are never read behind a fence that is down.
        _write(
            {
                "ok": False,
                "code": "intake_unavailable",
                "message": "The sandbox could not raise every fence.",
                "missing": missing,
                "sandbox": status,
            }
        )
        return
    try:
        from registry.intake.wire import read_request

        request = read_request(sys.stdin.buffer)
    except (ValueError, OSError):
        request = None
    answer = _answer(request, artifact_format)
    answer["sandbox"] = status
    try:
        payload = json.dumps(answer, allow_nan=False)
    except ValueError:
        payload = json.dumps(
            {
                "ok": False,
                "code": "invalid_artifact",
                "message": "The model holds values that are not finite.",
                "sandbox": status,
            }
        )
    sys.stdout.write(payload)
    sys.stdout.flush()


def _write(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


def _nothing() -> None:
    pass
