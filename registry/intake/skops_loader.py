"""Open a skops file with the same allow-list as pickles, checking its schema before loading."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections import Counter
from typing import Any

import numpy as np

from registry.errors import InvalidArtifact, RegistryError, UnsupportedEstimator, UntrustedArtifact
from registry.intake.allowlist import (
    ALLOWED,
    SKOPS_CONTAINERS,
    SKOPS_TRUSTED,
    STAND_INS,
    Use,
    function_sentence,
    hides_class_behaviour,
    printable,
    refused_function,
    resolve,
    unsupported_message,
)
from registry.intake.inert import GLM_LOSS, SEARCH_PARTS, SGD_LOSS
from registry.intake.renamed import RENAMED_STATE, renamed_keys

_LOADERS = frozenset(
    "ObjectNode DictNode ListNode TupleNode JsonNode NdArrayNode DTypeNode SliceNode "
    "TypeNode FunctionNode LossNode MaskedArrayNode".split()
)
_MAX_DEPTH = 200
_NULL = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode"}
_NULL.update({"content": "null", "is_json": True})


def _schema(archive: zipfile.ZipFile, max_bytes: int) -> Any:
    if sum(info.file_size for info in archive.infolist()) > max_bytes:
        raise UntrustedArtifact(f"The file expands to more than {max_bytes >> 20} MiB.")
    try:
        return json.loads(archive.read("schema.json"))
    except KeyError as exc:
        raise InvalidArtifact("The file is not a skops file: it has no schema.") from exc


def _transformer_functions(node: Any) -> list[dict[str, Any]]:
    """Return the function nodes that a FunctionTransformer node holds as func/inverse_func."""
    if node.get("__class__") != "FunctionTransformer" or node.get("__loader__") != "ObjectNode":
        return []
    content = node.get("content")
    state = content.get("content") if isinstance(content, dict) else None
    if not isinstance(state, dict):
        return []
    return [
        state[key]
        for key in ("func", "inverse_func")
        if isinstance(state.get(key), dict) and state[key].get("__loader__") == "FunctionNode"
    ]


def _column_selectors(node: Any) -> list[dict[str, Any]]:
    """Return the function nodes a ColumnTransformer node names as column selectors.

    A callable selector is called only by fit; the fitted column lists are in the state, so
    the function is never imported or called: its node is read as null (see the unpickler's
    _column_callables for joblib files).
    """
    if (node.get("__module__"), node.get("__class__")) != (
        "sklearn.compose._column_transformer",
        "ColumnTransformer",
    ) or node.get("__loader__") != "ObjectNode":
        return []
    content = node.get("content")
    state = content.get("content") if isinstance(content, dict) else None
    listed = state.get("transformers") if isinstance(state, dict) else None
    if not isinstance(listed, dict):
        return []
    entries = listed.get("content")
    if listed.get("__loader__") != "ListNode" or not isinstance(entries, list):
        return []
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("__loader__") != "TupleNode":
            continue
        parts = entry.get("content")
        if isinstance(parts, list) and len(parts) == 3:
            selector = parts[2]
            if isinstance(selector, dict) and selector.get("__loader__") == "FunctionNode":
                found.append(selector)
    return found


def _check_nodes(node: Any, seen: Counter[str]) -> None:
    functions: set[int] = set()  # FunctionTransformer functions: unsupported, not untrusted
    unsupported: list[str] = []
    _walk(node, functions, unsupported, seen)
    if unsupported:
        raise UnsupportedEstimator(
            f"FunctionTransformer(func={unsupported[0]}) is not supported; {function_sentence()}."
        )


def _walk(node: Any, functions: set[int], unsupported: list[str], seen: Counter[str]) -> None:
    """Check every node's type against the allow-list; count the types besides plain values."""
    selectors: set[int] = set()  # ColumnTransformer column selectors: never loaded
    stack = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise UntrustedArtifact("The file nests objects too deeply.")
        if isinstance(current, list):
            stack.extend((item, depth + 1) for item in current)
            continue
        if not isinstance(current, dict):
            continue
        if "__class__" in current:
            functions.update(id(f) for f in _transformer_functions(current))
            selectors.update(id(f) for f in _column_selectors(current))
            module, name = str(current.get("__module__")), str(current["__class__"])
            if id(current) in selectors or (module, name) in SGD_LOSS:
                continue  # never loaded: read as null (_without_stand_ins)
            if f"{module}.{name}" not in SKOPS_TRUSTED + tuple(SKOPS_CONTAINERS):
                if id(current) in functions:
                    unsupported.append(f"{printable(module)}.{printable(name)}")
                    continue
                function = refused_function(module, name)
                if function is not None:
                    raise UnsupportedEstimator(function)
                if module.startswith("sklearn.") and name.isidentifier():
                    raise UnsupportedEstimator(unsupported_message(name))
                raise UntrustedArtifact(
                    f"The file refers to {printable(module)}.{printable(name)}, which is not on "
                    "the allow-list of what a model file may contain."
                )
            if current.get("__loader__") not in _LOADERS:
                raise UntrustedArtifact("The file uses a skops node type a model never needs.")
            if f"{module}.{name}" not in SKOPS_CONTAINERS:
                seen[f"{module}.{name}"] += 1
        stack.extend((value, depth + 1) for value in current.values())


def audit(obj: Any) -> None:
    """Refuse an estimator whose attributes shadow its class's methods, anywhere in the object."""
    estimators = {resolve(e) for e in ALLOWED.values() if e.use is Use.ESTIMATOR}
    stack, seen = [obj], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if type(current) in estimators:
            for key in vars(current):
                if key.startswith("__") or hides_class_behaviour(type(current), key):
                    raise UntrustedArtifact(
                        f"The file overrides {type(current).__name__}.{printable(key)}, which a "
                        "saved model never does."
                    )
            stack.extend(vars(current).values())
        elif type(current) in (list, tuple):
            stack.extend(current)
        elif type(current) is dict:
            stack.extend(current.values())
        elif type(current) is np.ndarray and current.dtype.hasobject:
            stack.extend(current.ravel().tolist())


def _without_stand_ins(node: Any) -> Any:
    """Return the schema with older releases' helper lists spelt as plain lists.

    What a search keeps besides its model (scorers, splitters, masked cv_results_ columns)
    becomes null: it is never used, and a release may no longer have it (1.2's
    _passthrough_scorer).
    """
    if isinstance(node, list):
        return [_without_stand_ins(item) for item in node]
    if not isinstance(node, dict):
        return node
    if (node.get("__module__"), node.get("__class__")) in SEARCH_PARTS | SGD_LOSS:
        # An SGD model's loss_function_ too (skops' own SGDNode up to 1.5): never used.
        return {**_NULL, "__id__": node.get("__id__")}
    if (node.get("__module__"), node.get("__class__")) in GLM_LOSS and node[
        "__module__"
    ] == "_loss":
        # 1.5's Cython names a GLM loss's module without its package.
        node = {**node, "__module__": "sklearn._loss._loss"}
    if f"{node.get('__module__')}.{node.get('__class__')}" in RENAMED_STATE:
        node = _renamed(node)
    selectors = {id(f) for f in _column_selectors(node)}
    if selectors:
        node = _without_selectors(node, selectors)
    if (node.get("__module__"), node.get("__class__")) in STAND_INS:
        content = node.get("content")
        inner = content.get("content") if isinstance(content, dict) else None
        data = inner.get("data") if isinstance(inner, dict) else None
        if not (isinstance(data, dict) and data.get("__loader__") == "ListNode"):
            raise InvalidArtifact("The file's column lists are damaged.")
        return _without_stand_ins(data)
    return {key: _without_stand_ins(value) for key, value in node.items()}


def _without_selectors(node: dict[str, Any], selectors: set[int]) -> dict[str, Any]:
    """Return a ColumnTransformer node with its callable column selectors read as null."""
    content = node["content"]
    listed = content["content"]["transformers"]
    entries = []
    for entry in listed["content"]:
        parts = entry["content"]
        if id(parts[2]) in selectors:
            entry = {**entry, "content": [*parts[:2], {**_NULL, "__id__": parts[2].get("__id__")}]}
        entries.append(entry)
    state = {**content["content"], "transformers": {**listed, "content": entries}}
    return {**node, "content": {**content, "content": state}}


def _renamed(node: dict[str, Any]) -> dict[str, Any]:
    """Return an object node with its state keys spelt as the installed class reads them."""
    entry = ALLOWED.get((node.get("__module__"), node.get("__class__")))
    content = node.get("content")
    state = content.get("content") if isinstance(content, dict) else None
    if entry is None or node.get("__loader__") != "ObjectNode" or not isinstance(state, dict):
        return node
    names = renamed_keys(resolve(entry), state)
    if not names:
        return node
    state = {names.get(key, key): value for key, value in state.items()}
    return {**node, "content": {**content, "content": state}}


def _rewritten(data: bytes, schema: Any) -> bytes:
    """Return the archive with its schema replaced, every other member as it was."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename == "schema.json":
                target.writestr("schema.json", json.dumps(schema))
            else:
                target.writestr(info, source.read(info))
    return out.getvalue()


def _saved_release(schema: Any) -> str | None:
    """Return the _sklearn_version the top object was saved with (skops drops it on load)."""
    try:
        node = schema["content"]["content"]["_sklearn_version"]
        value = json.loads(node["content"]) if node.get("is_json") else node["content"]
    except (KeyError, TypeError, ValueError):
        return None
    return value if type(value) is str else None


def load_skops(data: bytes, *, max_bytes: int, seen: Counter[str] | None = None) -> Any:
    """Return the object in a skops file whose every type is on the allow-list.

    ``seen`` gains the types the file's nodes name, one count a node, plain values (dicts,
    lists, strings, numbers) left out. Raises UntrustedArtifact, UnsupportedEstimator or
    InvalidArtifact.
    """
    seen = Counter() if seen is None else seen
    if not data:
        raise InvalidArtifact("The file is empty.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = _schema(archive, max_bytes)
        _check_nodes(schema, seen)
        plain = _without_stand_ins(schema)
        if plain != schema:
            data = _rewritten(data, plain)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InvalidArtifact("The file is not a readable skops file.") from exc
    import skops.io
    from sklearn.exceptions import InconsistentVersionWarning
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        with warnings.catch_warnings():
            # scikit-learn warns that the file comes from another release; intake reads the
            # saved release itself and follows its meaning, so the warning says nothing new.
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            obj = skops.io.loads(data, trusted=list(SKOPS_TRUSTED))
    except UntrustedTypesFoundException as exc:
        raise UntrustedArtifact("The file holds types that are not on the allow-list.") from exc
    except RegistryError:
        raise
    except Exception as exc:
        raise InvalidArtifact("The file is not a readable skops file.") from exc
    audit(obj)
    release = _saved_release(schema)
    if release is not None and hasattr(obj, "__dict__"):
        vars(obj)["_sklearn_version"] = release
    return obj
