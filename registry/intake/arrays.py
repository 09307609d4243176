"""Checked numpy reconstruction: dtype and ndarray states, REDUCE arguments, joblib array data."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from registry.errors import InvalidArtifact, UntrustedArtifact

# Plain numeric, text and object dtypes only: no structured (void), datetime or subarray dtypes.
_DTYPE_SPEC = re.compile(r"b1|[iu][1248]|f(2|4|8|16)|c(8|16|32)|O[48]|U\d{1,6}|S\d{1,6}")
_MAX_DIMS = 8
_ALIGNMENT = 16


def _untrusted(what: str) -> UntrustedArtifact:
    return UntrustedArtifact(f"The file {what}, which a model file never does.")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise _untrusted(what)


def _is_int(value: Any) -> bool:
    return type(value) is int


def check_shape(shape: Any) -> tuple[int, ...]:
    """Return a validated array shape: a short tuple of non-negative ints."""
    _require(
        type(shape) is tuple and len(shape) <= _MAX_DIMS,
        "gives an array a shape that is not a short tuple",
    )
    _require(all(_is_int(n) and n >= 0 for n in shape), "gives an array a negative shape")
    return shape


def _count(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def make_dtype(spec: Any, align: Any, copy: Any) -> np.dtype:
    """Call numpy.dtype(spec, align, copy) for a plain dtype spec only."""
    _require(type(spec) is str and _DTYPE_SPEC.fullmatch(spec) is not None, "asks for a dtype")
    _require(align is False, "asks for an aligned dtype")
    # copy=False would hand back numpy's shared dtype, which the BUILD that follows would edit.
    _require(copy is True, "asks for a shared dtype")
    return np.dtype(spec, align, copy)


def set_dtype_state(dtype: np.dtype, state: Any) -> None:
    """Apply a pickled dtype state, which may only differ from the canonical one in byte order."""
    canonical = dtype.__reduce__()[2]
    _require(type(state) is tuple and len(state) in (8, 9), "gives a dtype a strange state")
    _require(state[2:8] == canonical[2:8], "changes the layout or flags of a dtype")
    _require(state[8:] in ((), (None,)), "attaches metadata to a dtype")
    order = "<>=" if canonical[1] in "<>=" else "|"
    _require(type(state[1]) is str and state[1] in order, "gives a dtype a strange byte order")
    _require(_is_int(state[0]) and state[0] in (3, 4), "gives a dtype a strange version")
    dtype.__setstate__(state)


def set_array_state(array: np.ndarray, state: Any) -> None:
    """Apply a pickled ndarray state after checking its data fits its shape and dtype."""
    _require(type(state) is tuple and len(state) == 5, "gives an array a strange state")
    version, shape, dtype, fortran, data = state
    _require(version == 1 and _is_int(version), "gives an array a strange version")
    shape = check_shape(shape)
    _require(isinstance(dtype, np.dtype), "gives an array something that is not a dtype")
    _require(type(fortran) is bool, "gives an array a strange memory order")
    if dtype.hasobject:
        _require(type(data) is list and len(data) == _count(shape), "gives objects the wrong size")
    else:
        _require(type(data) is bytes, "gives an array data that is not bytes")
        _require(len(data) == _count(shape) * dtype.itemsize, "gives an array the wrong size")
    _require(type(array) is np.ndarray and array.size == 0, "restores an array twice")
    array.__setstate__(state)


def _reconstruct(cls: Any, shape: Any, code: Any) -> np.ndarray:
    _require(cls is np.ndarray and shape == (0,), "builds an array in a strange way")
    _require(code in (b"b", "b"), "builds an array in a strange way")
    return np.ndarray((0,), dtype="b")


def _scalar(dtype: Any, data: Any) -> Any:
    _require(isinstance(dtype, np.dtype) and not dtype.hasobject, "builds a strange scalar")
    _require(type(data) is bytes and len(data) == dtype.itemsize, "builds a strange scalar")
    return np.frombuffer(data, dtype=dtype)[0].copy()


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    _require(type(buffer) in (bytes, bytearray), "builds an array from a strange buffer")
    _require(isinstance(dtype, np.dtype) and not dtype.hasobject, "builds a strange array")
    shape = check_shape(shape)
    _require(order in ("C", "F"), "builds an array in a strange order")
    _require(len(buffer) == _count(shape) * dtype.itemsize, "gives an array the wrong size")
    flat = np.frombuffer(bytes(buffer), dtype=dtype).copy()
    return flat.reshape(shape, order=order)


def _slice(*args: Any) -> slice:
    _require(len(args) == 3, "builds a strange slice")
    _require(all(a is None or _is_int(a) for a in args), "builds a strange slice")
    return slice(*args)


def _encode(text: Any, encoding: Any) -> bytes:
    _require(type(text) is str and encoding == "latin1", "encodes text in a strange way")
    return text.encode("latin1")


def _dtype(*args: Any) -> np.dtype:
    _require(len(args) == 3, "asks for a dtype")
    return make_dtype(*args)


# REDUCE may only call these, by the allow-list target they stand for.
CALLABLES: dict[str, Callable[..., Any]] = {
    "numpy._core.multiarray:_reconstruct": _reconstruct,
    "numpy._core.multiarray:scalar": _scalar,
    "numpy._core.numeric:_frombuffer": _frombuffer,
    "numpy:dtype": _dtype,
    "builtins:slice": _slice,
    "_codecs:encode": _encode,
}

_WRAPPER_KEYS = {"subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"}


def read_wrapped_array(
    state: Any, stream: BinaryIO, remaining: int, load_objects: Callable[[], Any]
) -> np.ndarray:
    """Read the array a joblib NumpyArrayWrapper stands for, as NumpyArrayWrapper.read_array.

    ``load_objects`` reads the nested pickle of an object array with a restricted unpickler.
    """
    _require(type(state) is dict and set(state) <= _WRAPPER_KEYS, "gives an array odd metadata")
    _require({"subclass", "shape", "order", "dtype"} <= set(state), "gives an array odd metadata")
    _require(state["subclass"] is np.ndarray, "wraps an array subclass")
    shape = check_shape(state["shape"])
    order, dtype = state["order"], state["dtype"]
    _require(order in ("C", "F"), "gives an array a strange memory order")
    _require(isinstance(dtype, np.dtype), "gives an array something that is not a dtype")
    if dtype.hasobject:
        array = load_objects()
        _require(type(array) is np.ndarray and array.dtype.hasobject, "hides data in an array")
        _require(array.shape == shape, "gives an object array the wrong shape")
        return array
    alignment = state.get("numpy_array_alignment_bytes")
    _require(alignment in (None, _ALIGNMENT), "aligns array data in a strange way")
    if alignment is not None:
        padding = stream.read(1)
        if len(padding) != 1:
            raise InvalidArtifact("The file is truncated inside an array.")
        _require(1 <= padding[0] <= _ALIGNMENT, "pads array data in a strange way")
        if len(stream.read(padding[0])) != padding[0]:
            raise InvalidArtifact("The file is truncated inside an array.")
        remaining -= 1 + padding[0]
    size = _count(shape) * dtype.itemsize
    if size > remaining:
        raise InvalidArtifact("The file is truncated inside an array.")
    flat = np.frombuffer(stream.read(size), dtype=dtype).copy()
    if order == "F":
        array = flat.reshape(shape[::-1]).transpose()
    else:
        array = flat.reshape(shape)
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    return array
