"""The sandboxed child end to end: honest files, refusals, its fences, and the parent's checks."""

from __future__ import annotations

import copy
import errno
import io
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.errors import (
    InvalidArtifact,
    InvalidFeatures,
    UnsupportedEstimator,
    UntrustedArtifact,
)
from registry.intake import inspect_artifact
from registry.intake.child import _inspect
from registry.intake.sandbox import _parse, _result
from registry.intake.wire import encode_request
from tests.intake_paths import limits_fixture  # noqa: F401  (the limits fixture)

ROOT = Path(__file__).resolve().parents[1]


def _joblib(obj: object, compress: int = 0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "rooms": rng.choice([1, 2, 3], n),
            "owner": rng.choice([True, False], n),
        }
    )
    frame.loc[::7, "age"] = np.nan
    frame.loc[::11, "city"] = np.nan
    prep = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age"]),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                ["city", "rooms", "owner"],
            ),
        ]
    )
    target = (rng.normal(size=n) + frame["rooms"] > 2).astype(int)
    return make_pipeline(prep, LogisticRegression()).fit(frame, target), frame


def _rows(frame: pd.DataFrame) -> dict[str, list]:
    return {
        name: [
            None if isinstance(v, float) and math.isnan(v) else getattr(v, "item", lambda v=v: v)()
            for v in frame[name].astype(object)
        ]
        for name in frame.columns
    }


def test_child_extracts_a_dataframe_pipeline_behind_every_fence(mixed, limits):
    model, frame = mixed
    result = inspect_artifact(_joblib(model, compress=3), limits=limits)
    assert result.sandbox["seccomp"] and result.sandbox["netns"] and result.sandbox["rlimits"]
    assert result.estimator == (
        "Pipeline(ColumnTransformer(Pipeline(SimpleImputer, StandardScaler), "
        "Pipeline(SimpleImputer, OneHotEncoder)), LogisticRegression)"
    )
    assert result.kind == "logistic" and result.classes == (0, 1)
    assert [f.name for f in result.features] == ["age", "city", "rooms", "owner"]
    got = result.plan.predict(_rows(frame)).probabilities
    np.testing.assert_allclose(got, model.predict_proba(frame), rtol=1e-9, atol=1e-12)


def test_child_reads_a_plain_pickle_with_given_names():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    result = inspect_artifact(pickle.dumps(model), feature_names=names)
    assert result.plan.link == "softmax" and [f.name for f in result.features] == names
    got = result.plan.predict(dict(zip(names, X.T.tolist(), strict=True))).probabilities
    np.testing.assert_allclose(got, model.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_child_reads_a_skops_file(limits):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    result = inspect_artifact(skops.io.dumps(model), artifact_format="skops", limits=limits)
    assert result.estimator == "Pipeline(StandardScaler, Ridge)" and result.kind == "linear"
    got = result.plan.predict(_rows(X)).predictions
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-9)


def test_child_needs_names_for_a_model_fitted_without_them():
    X, y = load_diabetes(return_X_y=True)
    data = _joblib(Ridge().fit(X, y))
    with pytest.raises(InvalidFeatures, match="without feature names"):
        inspect_artifact(data)


def test_child_refuses_names_that_differ_from_the_model(mixed):
    model, frame = mixed
    with pytest.raises(InvalidFeatures, match="same names in the same order"):
        inspect_artifact(_joblib(model), feature_names=list(frame.columns)[::-1])


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_child_finds_unreadable_files_invalid(mixed, damage, limits):
    data = _joblib(mixed[0])
    data = data[: len(data) // 2] if damage == "truncated" else b"\x07" + bytes(range(256)) * 4
    with pytest.raises(InvalidArtifact):
        inspect_artifact(data, limits=limits)


def test_empty_file_is_invalid_without_a_child():
    with pytest.raises(InvalidArtifact, match="empty"):
        inspect_artifact(b"")


@pytest.mark.parametrize(
    "model",
    [RandomForestRegressor(n_estimators=2), KNeighborsClassifier(n_neighbors=1)],
    ids=lambda m: type(m).__name__,
)
def test_child_names_the_unsupported_step(model, limits):
    fitted = make_pipeline(StandardScaler(), model).fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(UnsupportedEstimator, match=f"{type(model).__name__} is not supported"):
        inspect_artifact(_joblib(fitted), limits=limits)


def test_slow_child_is_stopped_and_a_busy_machine_is_not_blamed_on_the_file(mixed, limits):
    from registry.errors import IntakeBusy

    # The child hardly ran in the time allowed: a 503 saying what to do, never a 422. 1 ms:
    # a warm zygote's fork raises its fences and answers within 50 ms on a quiet machine.
    with pytest.raises(IntakeBusy) as caught:
        inspect_artifact(_joblib(mixed[0]), timeout=0.001, limits=limits)
    assert "busy" in caught.value.message and "Try again" in caught.value.message
    assert caught.value.retry_after > 0


def test_bad_arguments_are_refused_before_any_child():
    with pytest.raises(InvalidArtifact, match="format"):
        inspect_artifact(b"x", artifact_format="pickle")
    with pytest.raises(InvalidFeatures, match="list of strings"):
        inspect_artifact(b"x", feature_names=[1, 2])


_FENCE_SCRIPT = """
import errno, json, os, socket, subprocess, sys
sys.path.insert(0, {root!r})
if {mode!r} == "zygote":
    # As the zygote does: import and warm up first, then fence in a forked child.
    from registry.intake import zygote
    from registry.intake.child import _fence_in
    zygote.preload()
    assert zygote.thread_count() == 1
    pid = os.fork()
    if pid:
        _, code = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(code))
    status = _fence_in(30, "joblib", os.getppid(), preload=lambda: None)
elif {mode!r} == "child":
    from registry.intake.child import _fence_in
    status = _fence_in(30, "joblib")
else:
    from registry.intake import fences
    status = {{"rlimits": fences.limit_resources(30), "netns": fences.leave_network(),
              "seccomp": fences.install_seccomp()}}
tmp = {tmp!r}
out = {{"status": status}}
out["system"] = os.system("touch " + os.path.join(tmp, "from_system"))
def attempt(name, action):
    try:
        action()
        out[name] = "allowed"
    except OSError as exc:
        out[name] = exc.errno
attempt("open_write", lambda: open(os.path.join(tmp, "written"), "w"))
attempt("open_append", lambda: open(os.path.join(tmp, "existing"), "a"))
attempt("os_open_creat", lambda: os.open(os.path.join(tmp, "created"), os.O_RDONLY | os.O_CREAT))
attempt("subprocess", lambda: subprocess.run(["/bin/true"]))
attempt("fork", os.fork)
attempt("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
attempt("mkdir", lambda: os.mkdir(os.path.join(tmp, "made")))
attempt("unlink", lambda: os.unlink(os.path.join(tmp, "existing")))
attempt("rename", lambda: os.rename(os.path.join(tmp, "existing"), os.path.join(tmp, "moved")))
attempt("read", lambda: open("/etc/passwd").read(4))
sys.stdout.write(json.dumps(out))
sys.stdout.flush()
os._exit(0)
"""


@pytest.mark.parametrize("mode", ["seccomp-as-root", "child", "zygote"])
def test_fences_stop_exec_writes_and_network(tmp_path, mode):
    full = mode != "seccomp-as-root"
    tmp_path.chmod(0o777)
    (tmp_path / "existing").write_text("kept")
    script = _FENCE_SCRIPT.format(root=str(ROOT), mode=mode, tmp=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", script],
        capture_output=True,
        env={"OPENBLAS_NUM_THREADS": "1"},
        timeout=180,
        check=True,
    )
    out = json.loads(done.stdout)
    assert out["status"]["seccomp"] is True and out["status"]["netns"] is True
    assert out["system"] != 0
    for action in ("open_write", "open_append", "os_open_creat", "mkdir", "unlink", "rename"):
        assert out[action] in (errno.EACCES, errno.EPERM), action
    for action in ("subprocess", "fork", "socket"):
        assert out[action] in (errno.EPERM, errno.EAGAIN, errno.ENOSYS), action
    if not full:  # root, so only seccomp stands in the way
        assert out["open_write"] == errno.EACCES and out["mkdir"] == errno.EPERM
    # Landlock leaves the full child nothing to read outside Python's own files.
    assert out["read"] == (errno.EACCES if full else "allowed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


def test_intake_never_imports_web_layers():
    modules = [p.stem for p in (ROOT / "registry" / "intake").glob("*.py")]
    code = (
        "import sys; sys.path.insert(0, {root!r})\n"
        "for m in {modules!r}: __import__('registry.intake.' + m)\n"
        "print(sorted(m for m in ('flask', 'flask_restx', 'marshmallow') if m in sys.modules))"
    ).format(root=str(ROOT), modules=[m for m in modules if m != "__init__"])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert done.stdout.strip() == b"[]"


@pytest.fixture(scope="module")
def honest_answer(mixed):
    model, _ = mixed
    answer = _inspect({"format": "joblib", "feature_names": None}, _joblib(model), "joblib")
    answer["sandbox"] = {"seccomp": True}
    return json.loads(json.dumps(answer))


def test_parent_accepts_the_honest_answer(honest_answer):
    result = _result(copy.deepcopy(honest_answer))
    assert result.kind == "logistic" and len(result.features) == 4


def _forge_output(answer):
    answer["probes"]["outputs"][3] = [0.5, 0.5]


def _forge_coef(answer):
    answer["plan"]["coef"][0][0] += 1e-6


def _forge_row(answer):
    answer["probes"]["rows"]["city"][0] = 42  # not a value a string feature takes


def _forge_plan(answer):
    answer["plan"]["format"] = 2


def _forge_kind(answer):
    answer["kind"] = "linear"


def _drop_probes(answer):
    del answer["probes"]


@pytest.mark.parametrize(
    ("forge", "error"),
    [
        (_forge_output, UnsupportedEstimator),
        (_forge_coef, UnsupportedEstimator),
        (_forge_row, UntrustedArtifact),
        (_forge_plan, InvalidArtifact),
        (_forge_kind, UntrustedArtifact),
        (_drop_probes, UntrustedArtifact),
    ],
)
def test_parent_refuses_answers_that_do_not_check_out(honest_answer, forge, error):
    answer = copy.deepcopy(honest_answer)
    forge(answer)
    with pytest.raises(error):
        _result(answer)


@pytest.mark.parametrize(
    ("stdout", "returncode", "error", "message"),
    [
        (b"", -31, UntrustedArtifact, "SIGSYS"),
        (b"", -9, UntrustedArtifact, "too long"),
        (b"Traceback (most recent call last)", 1, UntrustedArtifact, "without giving an answer"),
        (b'{"ok": true, "x": NaN}', 0, UntrustedArtifact, "without giving an answer"),
        (
            b'{"ok": false, "code": "unsupported_estimator", "message": "X is not supported."}',
            0,
            UnsupportedEstimator,
            "X is not supported.",
        ),
        (
            b'{"ok": false, "code": "no_such_code", "message": "Odd.\\u0007"}',
            0,
            UntrustedArtifact,
            "^Odd.$",
        ),
    ],
)
def test_parent_maps_child_endings_to_errors(stdout, returncode, error, message):
    with pytest.raises(error, match=message):
        _parse(stdout, returncode)


def test_request_framing_round_trips():
    from registry.intake.wire import read_request

    header, data = read_request(io.BytesIO(encode_request({"format": "skops"}, b"abc")))
    assert header == {"format": "skops", "size": 3} and data == b"abc"
