"""Hostile files: real malicious pickles, refused before they run, in-process and in the child."""

from __future__ import annotations

import copyreg
import io
import os
import pickle
import shlex
import subprocess
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import numpy.testing._private.utils as numpy_testing_utils
import pytest
import skops.io
from joblib.numpy_pickle_compat import NDArrayWrapper, write_zfile
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from registry.errors import UntrustedArtifact
from registry.intake import inspect_artifact
from registry.intake.skops_loader import load_skops
from registry.intake.unpickler import load_pickle
from tests.intake_paths import limits_fixture  # noqa: F401  (the limits fixture)

MAX_BYTES = 64 << 20


class Call:
    """Pickles as a call of func(*args), as every __reduce__ gadget does."""

    def __init__(self, func: Callable, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return self.func, self.args


class Built:
    """Pickles as NEWOBJ of an allowed class followed by BUILD with a chosen state."""

    def __init__(self, cls: type, state: object) -> None:
        self.cls, self.state = cls, state

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # pickle checks that NEWOBJ's class is the object's
        return self.cls

    def __reduce__(self) -> tuple:
        return copyreg.__newobj__, (self.cls,), self.state


def _shell(sentinel: Path) -> str:
    return f"touch {shlex.quote(str(sentinel))}"


def _python(sentinel: Path) -> str:
    return f"import os; os.system({_shell(sentinel)!r})"


def _fitted_pipeline():
    X, y = load_diabetes(return_X_y=True)
    return make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)


def _joblib_bytes(obj: object, compress: int = 0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


def _op_string(text: str) -> bytes:
    raw = text.encode()
    return pickle.SHORT_BINUNICODE + bytes([len(raw)]) + raw


def _stack_global(module: str, name: str) -> bytes:
    return _op_string(module) + _op_string(name) + pickle.STACK_GLOBAL


def _call_dotted(module: str, sentinel: Path) -> bytes:
    # Protocol 4 resolves dotted names attribute by attribute: module.os.system.
    return (
        pickle.PROTO
        + b"\x04"
        + _stack_global(module, "os.system")
        + _op_string(_shell(sentinel))
        + pickle.TUPLE1
        + pickle.REDUCE
        + pickle.STOP
    )


def _call_getattr(sentinel: Path) -> bytes:
    # getattr(__import__('os'), 'system')(command)
    return (
        pickle.PROTO
        + b"\x04"
        + _stack_global("builtins", "getattr")
        + _stack_global("builtins", "__import__")
        + _op_string("os")
        + pickle.TUPLE1
        + pickle.REDUCE
        + _op_string("system")
        + pickle.TUPLE2
        + pickle.REDUCE
        + _op_string(_shell(sentinel))
        + pickle.TUPLE1
        + pickle.REDUCE
        + pickle.STOP
    )


def _evil_npy(sentinel: Path) -> Path:
    path = sentinel.parent / "evil.npy"
    np.save(path, np.array([Call(os.system, _shell(sentinel))], dtype=object), allow_pickle=True)
    return path


def _pipeline_gadget(sentinel: Path) -> bytes:
    pipeline = _fitted_pipeline()
    pipeline.steps[0][1].gadget_ = Call(os.system, _shell(sentinel))
    return _joblib_bytes(pipeline)


def _object_array_stream(sentinel: Path) -> bytes:
    pipeline = _fitted_pipeline()
    pipeline[-1].extra_ = np.array([Call(os.system, _shell(sentinel)), 1.0], dtype=object)
    data = _joblib_bytes(pipeline)
    # The outer stream only names the wrapper; the call hides in the nested object stream.
    assert b"NumpyArrayWrapper" in data and b"system" in data
    return data


def _legacy_zfile(sentinel: Path) -> bytes:
    buffer = io.BytesIO()
    write_zfile(buffer, pickle.dumps(Call(os.system, _shell(sentinel)), protocol=2))
    return buffer.getvalue()


def _nd_array_wrapper(sentinel: Path) -> bytes:
    wrapper = NDArrayWrapper(_evil_npy(sentinel).name, np.ndarray)
    return pickle.dumps(wrapper, protocol=2)


def _dtype_claiming_objects(_: Path) -> bytes:
    data = pickle.dumps(np.arange(3.0), protocol=2)
    # A float64 dtype whose state claims it holds object pointers (flags 63).
    forged = data.replace(b"K\x00tq", b"K?tq")
    assert forged != data
    return forged


def _monkeypatch_class_payload() -> bytes:
    # BUILD aimed at the class object itself, which plain pickle turns into
    # setattr(LinearRegression, 'predict', numpy.float64) for every later caller.
    return (
        pickle.PROTO
        + b"\x04"
        + _stack_global("sklearn.linear_model._base", "LinearRegression")
        + pickle.NONE
        + pickle.EMPTY_DICT
        + _op_string("predict")
        + _stack_global("numpy", "float64")
        + pickle.SETITEM
        + pickle.TUPLE2
        + pickle.BUILD
        + pickle.STOP
    )


HOSTILE: dict[str, Callable[[Path], bytes]] = {
    "os_system": lambda s: pickle.dumps(Call(os.system, _shell(s))),
    "subprocess_popen": lambda s: pickle.dumps(Call(subprocess.Popen, ["touch", str(s)])),
    "builtins_eval": lambda s: pickle.dumps(Call(eval, f"__import__('os').system({_shell(s)!r})")),
    "builtins_exec": lambda s: pickle.dumps(Call(exec, _python(s))),
    "numpy_runstring": lambda s: pickle.dumps(Call(numpy_testing_utils.runstring, _python(s), {})),
    "numpy_load_allow_pickle": lambda s: pickle.dumps(Call(np.load, str(_evil_npy(s)), None, True)),
    "dotted_name_sklearn": lambda s: _call_dotted("sklearn.pipeline", s),
    "dotted_name_joblib": lambda s: _call_dotted("joblib.numpy_pickle", s),
    "builtins_getattr": _call_getattr,
    "gadget_in_pipeline": _pipeline_gadget,
    "gadget_in_pipeline_compressed": lambda s: _joblib_bytes(
        make_pipeline(StandardScaler()).set_params(memory=Call(os.system, _shell(s))), 3
    ),
    "nested_object_array_stream": _object_array_stream,
    "legacy_zf_format": _legacy_zfile,
    "legacy_nd_array_wrapper": _nd_array_wrapper,
    "build_dunder_state": lambda s: pickle.dumps(
        Built(LinearRegression, {"__setstate__": np.float64, "coef_": np.zeros(2)})
    ),
    "build_shadows_method": lambda s: pickle.dumps(
        Built(LinearRegression, {"predict": np.float64})
    ),
    "build_slot_state_sets_class": lambda s: pickle.dumps(
        Built(LinearRegression, ({}, {"__class__": StandardScaler}))
    ),
    "build_on_class_object": lambda s: _monkeypatch_class_payload(),
    "build_dtype_claims_objects": _dtype_claiming_objects,
}


# Files that plain joblib.load would run: proof that the cases above are real attacks.
RUNS_UNDER_JOBLIB = [
    "os_system",
    "subprocess_popen",
    "builtins_eval",
    "builtins_exec",
    "numpy_runstring",
    "numpy_load_allow_pickle",
    "dotted_name_joblib",
    "builtins_getattr",
    "gadget_in_pipeline",
    "gadget_in_pipeline_compressed",
    "nested_object_array_stream",
    "legacy_zf_format",
    "legacy_nd_array_wrapper",
]


def _build(case: str, tmp_path: Path) -> tuple[bytes, Path]:
    sentinel = tmp_path / "pwned"
    return HOSTILE[case](sentinel), sentinel


def _appeared(sentinel: Path, wait: float = 0.0) -> bool:
    deadline = time.monotonic() + wait
    while not sentinel.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return sentinel.exists()


@pytest.mark.parametrize("case", RUNS_UNDER_JOBLIB)
def test_hostile_file_runs_code_under_plain_joblib(case, tmp_path):
    data, sentinel = _build(case, tmp_path)
    path = tmp_path / "model.joblib"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = joblib.load(path)
        except Exception:
            result = None  # some gadgets break the load after they have run
    if isinstance(result, subprocess.Popen):
        result.wait()
    assert _appeared(sentinel, wait=2.0)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_allow_list_unpickler_refuses_hostile_file(case, tmp_path):
    data, sentinel = _build(case, tmp_path)
    with pytest.raises(UntrustedArtifact) as caught:
        load_pickle(data, max_bytes=MAX_BYTES)
    assert caught.value.message.endswith(".")
    assert not _appeared(sentinel)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_intake_refuses_hostile_file_in_the_child(case, tmp_path, limits):
    data, sentinel = _build(case, tmp_path)
    with pytest.raises(UntrustedArtifact):
        inspect_artifact(data, limits=limits)
    assert not _appeared(sentinel, wait=0.2)


def test_nested_object_stream_is_refused_by_name(tmp_path):
    data, _ = _build("nested_object_array_stream", tmp_path)
    with pytest.raises(UntrustedArtifact, match="posix.system"):
        load_pickle(data, max_bytes=MAX_BYTES)


def test_class_attributes_survive_a_refused_build(tmp_path):
    with pytest.raises(UntrustedArtifact):
        load_pickle(_monkeypatch_class_payload(), max_bytes=MAX_BYTES)
    assert LinearRegression.predict is not np.float64


def _hostile_skops(sentinel: Path) -> bytes:
    model = LinearRegression().fit(np.eye(3), np.arange(3.0))
    model.gadget_ = os.system
    return skops.io.dumps(model)


def test_skops_file_with_a_function_is_refused(tmp_path, limits):
    data = _hostile_skops(tmp_path / "pwned")
    with pytest.raises(UntrustedArtifact, match="posix.system"):
        load_skops(data, max_bytes=MAX_BYTES)
    with pytest.raises(UntrustedArtifact):
        inspect_artifact(data, artifact_format="skops", limits=limits)


def test_skops_file_shadowing_a_method_is_refused():
    model = LinearRegression().fit(np.eye(3), np.arange(3.0))
    model.predict = np.float64
    with pytest.raises(UntrustedArtifact, match="LinearRegression.predict"):
        load_skops(skops.io.dumps(model), max_bytes=MAX_BYTES)


def test_decompression_bomb_is_refused():
    bomb = zlib.compress(b"\0" * (8 << 20), 9)
    with pytest.raises(UntrustedArtifact, match="expands"):
        load_pickle(bomb, max_bytes=1 << 20)
