"""Artifact stores: original uploaded bytes, addressed by their sha256, repaired when re-sent."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry.errors import InsufficientStorage
from registry.models import ArtifactBlob, ModelVersion

# errno values that mean "no room", whichever limit was hit: disk, quota, RLIMIT_FSIZE.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# Files whose names start with a dot are a store's own temporary files.
TEMP_PREFIX = "."
_CHUNK = 1 << 20
_SQLITE_FULL = 13


def sha256_of(data: bytes) -> str:
    """Return the hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def no_room() -> InsufficientStorage:
    """Return the 507 for a write that found no room."""
    return InsufficientStorage(
        "The artifact store has no room for this upload; nothing was stored. "
        "Try again once an operator has freed space."
    )


def database_full(error: DBAPIError) -> bool:
    """Tell whether a database error means its disk is full (SQLite or PostgreSQL)."""
    original = error.orig
    if getattr(original, "sqlite_errorcode", None) == _SQLITE_FULL:
        return True
    # PostgreSQL's disk_full class: "could not extend file ...: No space left on device".
    return getattr(original, "sqlstate", None) == "53100"


@dataclass(frozen=True)
class StoredItem:
    """One thing a store holds: an artifact (by sha256) or a temporary file (by name)."""

    name: str
    temporary: bool
    age_seconds: float | None  # None where the store keeps no times (the database)


@dataclass(frozen=True)
class Sample:
    """A version's artifact as the database describes it, for readiness to look at."""

    sha256: str
    size_bytes: int
    label: str


class ArtifactStore(Protocol):
    """Where the original files live; every method takes the caller's session."""

    def put(self, session: Session, sha256: str, data: bytes) -> bool:
        """Store bytes unless an intact copy is there; True when written. Raises 507."""
        ...

    def get(self, session: Session, sha256: str) -> bytes | None: ...

    def discard(self, session: Session, sha256: str) -> None:
        """Remove what a failed write left, once no version refers to it."""
        ...

    def items(self, session: Session) -> Iterator[StoredItem]: ...

    def remove(self, session: Session, item: StoredItem) -> None: ...

    def problems(self, session: Session, samples: list[Sample]) -> list[str]: ...


class FilesystemStore:
    """Files under a root folder, named by content hash, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("An artifact address is a lowercase sha256 hex digest.")
        return self.root / sha256[:2] / f"{sha256}.bin"

    def put(self, session: Session, sha256: str, data: bytes) -> bool:
        path = self._path(sha256)
        if _file_hash(path) == sha256:
            # Fresh mtime: gc's grace period then covers the transaction about to use it.
            os.utime(path)
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}upload-")
        except OSError as error:
            if error.errno in FULL_ERRNOS:
                raise no_room() from error
            raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException as error:
            Path(temporary).unlink(missing_ok=True)
            _remove_if_empty(path.parent)
            if isinstance(error, OSError) and error.errno in FULL_ERRNOS:
                raise no_room() from error
            raise
        return True

    def get(self, session: Session, sha256: str) -> bytes | None:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def discard(self, session: Session, sha256: str) -> None:
        path = self._path(sha256)
        path.unlink(missing_ok=True)
        _remove_if_empty(path.parent)

    def items(self, session: Session) -> Iterator[StoredItem]:
        if not self.root.is_dir():
            return
        now = time.time()
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith(TEMP_PREFIX):
                # A readiness probe whose process died before removing it.
                yield StoredItem(entry.name, True, now - entry.stat().st_mtime)
            elif entry.is_dir():
                for path in sorted(entry.iterdir()):
                    age = now - path.stat().st_mtime
                    if path.name.startswith(TEMP_PREFIX):
                        yield StoredItem(f"{entry.name}/{path.name}", True, age)
                    elif path.suffix == ".bin":
                        yield StoredItem(path.stem, False, age)

    def remove(self, session: Session, item: StoredItem) -> None:
        if item.temporary:
            path = self.root / item.name
            path.unlink(missing_ok=True)
            if path.parent != self.root:
                _remove_if_empty(path.parent)
        else:
            self.discard(session, item.name)

    def problems(self, session: Session, samples: list[Sample]) -> list[str]:
        found = []
        for sample in samples:
            try:
                size = self._path(sample.sha256).stat().st_size
            except FileNotFoundError:
                found.append(f"The artifact of {sample.label} is missing from {self.root}.")
                continue
            if size != sample.size_bytes:
                found.append(f"The artifact of {sample.label} has the wrong size.")
        self.root.mkdir(parents=True, exist_ok=True)
        problem = write_probe(self.root, "The artifact store")
        if problem:
            found.append(problem)
        return found


class DatabaseStore:
    """Blobs in the registry database itself: one store for every server, for small files."""

    def put(self, session: Session, sha256: str, data: bytes) -> bool:
        row = session.get(ArtifactBlob, sha256)
        if row is not None and sha256_of(row.data) == sha256:
            return False
        if row is None:
            session.add(ArtifactBlob(sha256=sha256, data=data))
        else:
            row.data = data
        session.flush()
        return True

    def get(self, session: Session, sha256: str) -> bytes | None:
        return session.scalar(select(ArtifactBlob.data).where(ArtifactBlob.sha256 == sha256))

    def discard(self, session: Session, sha256: str) -> None:
        # A blob is written in the version's own transaction: a failed one took it back.
        return None

    def items(self, session: Session) -> Iterator[StoredItem]:
        for sha256 in session.scalars(select(ArtifactBlob.sha256).order_by(ArtifactBlob.sha256)):
            yield StoredItem(sha256, False, None)

    def remove(self, session: Session, item: StoredItem) -> None:
        # One statement, so a blob a committed version refers to is never removed.
        referenced = select(ModelVersion.id).where(ModelVersion.sha256 == ArtifactBlob.sha256)
        session.execute(
            delete(ArtifactBlob).where(ArtifactBlob.sha256 == item.name, ~referenced.exists())
        )

    def problems(self, session: Session, samples: list[Sample]) -> list[str]:
        sizes = dict(
            session.execute(
                select(ArtifactBlob.sha256, func.length(ArtifactBlob.data)).where(
                    ArtifactBlob.sha256.in_([s.sha256 for s in samples])
                )
            ).all()
        )
        found = []
        for sample in samples:
            if sample.sha256 not in sizes:
                found.append(f"The artifact of {sample.label} is missing from the database.")
            elif sizes[sample.sha256] != sample.size_bytes:
                found.append(f"The artifact of {sample.label} has the wrong size.")
        return found


def make_store(kind: str, root: Path) -> ArtifactStore:
    """Return the store a setting names: 'filesystem' or 'database'."""
    if kind == "filesystem":
        return FilesystemStore(root)
    if kind == "database":
        return DatabaseStore()
    raise ValueError(f"REGISTRY_ARTIFACT_STORE must be 'filesystem' or 'database', not {kind!r}.")


def write_probe(folder: Path, what: str) -> str | None:
    """Write and remove one byte in a folder; say what went wrong, if anything."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f"{TEMP_PREFIX}ready-")
    except OSError as error:
        return _probe_problem(error, folder, what)
    try:
        os.write(fd, b"\0")
    except OSError as error:
        return _probe_problem(error, folder, what)
    finally:
        os.close(fd)
        os.unlink(probe)
    return None


def _probe_problem(error: OSError, folder: Path, what: str) -> str:
    if error.errno in FULL_ERRNOS:
        return f"{what} ({folder}) is full: uploads answer 507."
    return f"{what} ({folder}) is not writable: {error.strerror}."


def _file_hash(path: Path) -> str | None:
    """Return the sha256 of a file's content, or None when there is no such file."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty, or already gone: either way nothing to tidy
