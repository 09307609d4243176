"""Open a skops file with the same allow-list as pickles, checking its schema before loading."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from registry.errors import InvalidArtifact, RegistryError, UnsupportedEstimator, UntrustedArtifact
from registry.intake.allowlist import (
    ALLOWED,
    SKOPS_CONTAINERS,
    SKOPS_TRUSTED,
    Use,
    printable,
    resolve,
    unsupported_message,
)

_LOADERS = frozenset(
    "ObjectNode DictNode ListNode TupleNode JsonNode NdArrayNode DTypeNode SliceNode "
    "TypeNode".split()
)
_MAX_DEPTH = 200


def _schema(archive: zipfile.ZipFile, max_bytes: int) -> Any:
    if sum(info.file_size for info in archive.infolist()) > max_bytes:
        raise UntrustedArtifact(f"The file expands to more than {max_bytes >> 20} MiB.")
    try:
        return json.loads(archive.read("schema.json"))
    except KeyError as exc:
        raise InvalidArtifact("The file is not a skops file: it has no schema.") from exc


def _check_nodes(node: Any) -> None:
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
            module, name = str(current.get("__module__")), str(current["__class__"])
            if f"{module}.{name}" not in SKOPS_TRUSTED + tuple(SKOPS_CONTAINERS):
                if module.startswith("sklearn.") and name.isidentifier():
                    raise UnsupportedEstimator(unsupported_message(name))
                raise UntrustedArtifact(
                    f"The file refers to {printable(module)}.{printable(name)}, which is not on "
                    "the allow-list of what a model file may contain."
                )
            if current.get("__loader__") not in _LOADERS:
                raise UntrustedArtifact("The file uses a skops node type a model never needs.")
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
                if key.startswith("__") or hasattr(type(current), key):
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


def load_skops(data: bytes, *, max_bytes: int) -> Any:
    """Return the object in a skops file whose every type is on the allow-list.

    Raises UntrustedArtifact, UnsupportedEstimator or InvalidArtifact.
    """
    if not data:
        raise InvalidArtifact("The file is empty.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_nodes(_schema(archive, max_bytes))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InvalidArtifact("The file is not a readable skops file.") from exc
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        obj = skops.io.loads(data, trusted=list(SKOPS_TRUSTED))
    except UntrustedTypesFoundException as exc:
        raise UntrustedArtifact("The file holds types that are not on the allow-list.") from exc
    except RegistryError:
        raise
    except Exception as exc:
        raise InvalidArtifact("The file is not a readable skops file.") from exc
    audit(obj)
    return obj
