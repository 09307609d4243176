"""An exact (module, name) allow-list unpickler for joblib and pickle files of supported models."""

from __future__ import annotations

import io
import pickle
import struct
from collections import Counter
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer

from registry.errors import InvalidArtifact, RegistryError, UnsupportedEstimator, UntrustedArtifact
from registry.intake import arrays
from registry.intake.allowlist import (
    ALLOWED,
    LEGACY_WRAPPERS,
    Entry,
    Use,
    function_sentence,
    hides_class_behaviour,
    printable,
    refused_function,
    resolve,
    unsupported_message,
)
from registry.intake.inert import INERT_ATTRIBUTE, Inert, InertAttribute, InertName
from registry.intake.renamed import renamed_state
from registry.intake.streams import open_stream

_Base = pickle._Unpickler  # the pure-Python unpickler, whose dispatch table can be replaced
_ALLOWED_NAMES = {name for _, name in ALLOWED}


class _Callable:
    """An allowed function as the unpickler holds it: inert data that only REDUCE can call."""

    __slots__ = ("target", "name")

    def __init__(self, target: str, name: str) -> None:
        self.target = target
        self.name = name  # as the file spells it, for what intake saw


class _ArrayWrapper:
    """Stands in for joblib's NumpyArrayWrapper, so no joblib code runs while reading."""


class _Unlisted:
    """A global that is not on the allow-list, held inert by name: never called or built.

    A FunctionTransformer's function is the one place such a name may stand: the file is then
    refused as an unsupported estimator naming it. Anywhere else, its refusal stands.
    """

    __slots__ = ("name", "refusal")

    def __init__(self, name: str, refusal: RegistryError) -> None:
        self.name = name
        self.refusal = refusal


def _refuse_global(module: str, name: str) -> RegistryError:
    if name in LEGACY_WRAPPERS and module.startswith("joblib."):
        return UntrustedArtifact(
            f"The file uses joblib's legacy {name} format, which reads other files; "
            "save the model again with a current joblib."
        )
    function = refused_function(module, name)
    if function is not None:
        return UnsupportedEstimator(function)
    dotted = "." in name or not name.isidentifier()
    if module.startswith("sklearn.") and not dotted:
        if name in _ALLOWED_NAMES:
            return InvalidArtifact(
                f"The file expects {name} in {printable(module)}, where this scikit-learn does "
                "not keep it; save the model again with the scikit-learn the registry runs."
            )
        return UnsupportedEstimator(unsupported_message(name))
    if module.startswith("sklearn.") or module.startswith("joblib."):
        return UntrustedArtifact(
            f"The file refers to {printable(module)}.{printable(name)}, a name a model file "
            "never uses."
        )
    return UntrustedArtifact(
        f"The file refers to {printable(module)}.{printable(name)}, which is not on the "
        "allow-list of what a model file may contain."
    )


class RestrictedUnpickler(_Base):
    """Unpickle only allow-listed globals, calling only checked functions and states."""

    dispatch = dict(_Base.dispatch)

    def __init__(
        self, stream: io.BytesIO, *, nested: bool = False, seen: Counter[str] | None = None
    ) -> None:
        super().__init__(stream)
        self._stream = stream
        with stream.getbuffer() as view:
            self._size = view.nbytes
        self._nested = nested
        self._resolved: dict[str, Any] = {}
        self._estimator_classes: set[type] = set()
        self._unlisted: list[_Unlisted] = []
        self._functions: set[int] = set()  # ids of _Unlisted a FunctionTransformer holds
        # ids of _Unlisted a ColumnTransformer names as a column selector: never called, since
        # the fitted column lists are read instead, so the file stands as it is
        self._selectors: set[int] = set()
        # What the file referred to, by the name it used: each global it named, counted once
        # more for every object it built or call it made with it (pickle names a global once
        # and then refers to its memo).
        self.seen: Counter[str] = Counter() if seen is None else seen
        self._names: dict[int, str] = {}  # id of a class returned by find_class -> its name

    def load(self) -> Any:
        """Return the unpickled object; refuse any unlisted name left outside a function."""
        obj = super().load()
        unlisted = [u for u in self._unlisted if id(u) not in self._selectors]
        for one in unlisted:
            if id(one) not in self._functions:
                raise one.refusal
        if unlisted:
            raise UnsupportedEstimator(
                f"FunctionTransformer(func={unlisted[0].name}) is not supported; "
                f"{function_sentence()}."
            )
        return obj

    def find_class(self, module: str, name: str) -> Any:
        """Return the object for an exact allow-listed (module, name), or refuse."""
        found = self._find_class(module, name)
        dotted = f"{printable(module)}.{printable(name)}"
        self.seen[dotted] += 0  # named, if not yet used
        if isinstance(found, type):
            self._names[id(found)] = dotted
        return found

    def _used(self, obj: Any) -> None:
        name = getattr(obj, "name", None) if type(obj) in (_Callable, InertName) else None
        name = name or self._names.get(id(obj))
        if name is not None:
            self.seen[name] += 1

    def _find_class(self, module: str, name: str) -> Any:
        entry = ALLOWED.get((module, name))
        if entry is None and (module, name) in INERT_ATTRIBUTE:
            return InertAttribute()
        if entry is None:
            refusal = _refuse_global(module, name)
            plain = name.isidentifier() and all(p.isidentifier() for p in module.split("."))
            if type(refusal) is not UntrustedArtifact or name in LEGACY_WRAPPERS or not plain:
                raise refusal
            unlisted = _Unlisted(f"{printable(module)}.{printable(name)}", refusal)
            self._unlisted.append(unlisted)
            return unlisted
        if entry.use is Use.CALLABLE:
            return _Callable(entry.target, f"{module}.{name}")
        if entry.use is Use.INERT:
            return InertName(f"{module}.{name}")
        if entry.use is Use.ARRAY_WRAPPER:
            if self._nested:
                raise UntrustedArtifact("The file hides a joblib array inside an object array.")
            return _ArrayWrapper
        return self._object(entry)

    def _object(self, entry: Entry) -> Any:
        if entry.target not in self._resolved:
            self._resolved[entry.target] = resolve(entry)
            if entry.use is Use.ESTIMATOR:
                self._estimator_classes.add(self._resolved[entry.target])
        return self._resolved[entry.target]

    def _is_estimator_class(self, cls: Any) -> bool:
        # Only classes this file named through an ESTIMATOR entry: never anything else.
        return cls in self._estimator_classes

    def persistent_load(self, pid: Any) -> Any:
        raise UntrustedArtifact("The file refers to persistent objects outside itself.")

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if type(func) is _Unlisted:
            raise func.refusal
        if type(func) is InertName:
            self._used(func)
            self.stack[-1] = Inert(func.name)  # its arguments were read, and are dropped
            return
        if type(func) is InertAttribute:
            if type(args) is not tuple or len(args) != 2 or type(args[0]) is not Inert:
                raise UntrustedArtifact(
                    "The file reads an attribute of an object that is not inert."
                )
            self.stack[-1] = Inert(f"{args[0].name}.{printable(str(args[1]))}")
            return
        if type(func) is not _Callable:
            raise UntrustedArtifact("The file calls something other than an allowed function.")
        if type(args) is not tuple:
            raise UntrustedArtifact("The file calls a function with strange arguments.")
        self._used(func)
        self.stack[-1] = arrays.CALLABLES[func.target](*args)

    def _new(self, cls: Any, args: Any, kwargs: Any) -> None:
        if type(cls) is _Unlisted:
            raise cls.refusal
        self._used(cls)
        if type(cls) is InertName:
            self.append(Inert(cls.name))
            return
        if cls is not _ArrayWrapper and not self._is_estimator_class(cls):
            raise UntrustedArtifact("The file creates an object of a type that is not allowed.")
        if args != () or kwargs != {}:
            raise UntrustedArtifact("The file creates an object with constructor arguments.")
        self.append(cls.__new__(cls))

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._new(cls, args, {})

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self._new(cls, args, kwargs)

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is _ArrayWrapper:
            self.stack[-1] = self._read_array(state)
        elif type(inst) is np.ndarray:
            arrays.set_array_state(inst, state)
        elif isinstance(inst, np.dtype):
            arrays.set_dtype_state(inst, state)
        elif self._is_estimator_class(type(inst)):
            _set_estimator_state(inst, state)
            if type(inst) is FunctionTransformer:
                self._functions.update(
                    id(state[k])
                    for k in ("func", "inverse_func")
                    if type(state.get(k)) is _Unlisted
                )
            elif type(inst) is ColumnTransformer:
                self._selectors.update(_column_callables(state.get("transformers")))
        elif type(inst) is Inert:
            inst.state = state  # kept as read: plain values, arrays and other placeholders
        else:
            raise UntrustedArtifact("The file sets the state of an object that is not allowed.")

    def _read_array(self, state: Any) -> np.ndarray:
        # joblib ends the pickle frame before writing array bytes; anything left in the frame
        # means this is not the layout joblib writes.
        frame = self._unframer.current_frame
        if frame is not None and frame.read(1):
            raise InvalidArtifact("The file is not laid out as joblib writes arrays.")
        self._unframer.current_frame = None
        remaining = self._size - self._stream.tell()
        return arrays.read_wrapped_array(state, self._stream, remaining, self._load_objects)

    def _load_objects(self) -> Any:
        # joblib itself reads this nested stream with plain pickle.load; we never do.
        return RestrictedUnpickler(self._stream, nested=True, seen=self.seen).load()

    def _refuse(self) -> None:
        raise UntrustedArtifact("The file uses pickle instructions a model file never needs.")

    def load_append(self) -> None:
        value = self.stack.pop()
        _container(self.stack[-1], list).append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        _container(self.stack[-1], list).extend(items)

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        _container(self.stack[-1], dict)[key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = _container(self.stack[-1], dict)
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        _container(self.stack[-1], set).update(items)

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.APPEND[0]] = load_append
    dispatch[pickle.APPENDS[0]] = load_appends
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems
    # Protocol 0/1 instantiation calls classes with arguments; extensions and out-of-band
    # buffers reach outside the file. No model file needs them.
    for _opcode in (pickle.INST, pickle.OBJ, pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_opcode[0]] = _refuse
    for _opcode in (pickle.NEXT_BUFFER, pickle.READONLY_BUFFER):
        dispatch[_opcode[0]] = _refuse


def _column_callables(transformers: Any) -> set[int]:
    """Return the ids of unlisted names used as a ColumnTransformer entry's column selector."""
    if type(transformers) is not list:
        return set()
    return {
        id(entry[2])
        for entry in transformers
        if type(entry) is tuple and len(entry) == 3 and type(entry[2]) is _Unlisted
    }


def _container(target: Any, kind: type) -> Any:
    if type(target) is not kind:
        raise UntrustedArtifact(f"The file adds items to something that is not a {kind.__name__}.")
    return target


def _set_estimator_state(inst: Any, state: Any) -> None:
    """Set an estimator's attributes from a plain dict, without running its __setstate__."""
    if type(state) is not dict:
        raise UntrustedArtifact(
            f"The file gives a {type(inst).__name__} a state that is not a dict."
        )
    cls = type(inst)
    state = renamed_state(cls, state)
    for key in state:
        if type(key) is not str or not key.isidentifier() or key.startswith("__"):
            raise UntrustedArtifact(f"The file gives a {cls.__name__} a strange attribute name.")
        if hides_class_behaviour(cls, key):
            raise UntrustedArtifact(
                f"The file overrides {cls.__name__}.{key}, which a saved model never does."
            )
    # _sklearn_version stays: it names the release whose meaning the attributes have.
    inst.__dict__.update(state)


_UNREADABLE = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    struct.error,
    UnicodeDecodeError,
    OverflowError,
)


def load_pickle(data: bytes, *, max_bytes: int, seen: Counter[str] | None = None) -> Any:
    """Return the object in a joblib or pickle file, refusing anything not allow-listed.

    ``seen`` gains what the file referred to (RestrictedUnpickler.seen). Raises
    UntrustedArtifact, UnsupportedEstimator or InvalidArtifact.
    """
    stream = io.BytesIO(open_stream(data, max_bytes=max_bytes))
    try:
        obj = RestrictedUnpickler(stream, seen=seen).load()
    except RegistryError:
        raise
    except _UNREADABLE as exc:
        raise InvalidArtifact("The file is not a readable joblib or pickle file.") from exc
    if stream.read(1):
        raise InvalidArtifact("The file has data after the end of the pickle.")
    return obj
