"""Artifact stores: original uploaded bytes, addressed by their sha256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import ArtifactBlob


def sha256_of(data: bytes) -> str:
    """Return the hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


class ArtifactStore(Protocol):
    """Where the original files live; every method takes the caller's session."""

    def put(self, session: Session, sha256: str, data: bytes) -> None: ...

    def get(self, session: Session, sha256: str) -> bytes | None: ...

    def is_reachable(self, session: Session) -> bool: ...


class FilesystemStore:
    """Files under a root folder, named by content hash, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("An artifact address is a lowercase sha256 hex digest.")
        return self.root / sha256[:2] / f"{sha256}.bin"

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, session: Session, sha256: str) -> bytes | None:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def is_reachable(self, session: Session) -> bool:
        self.root.mkdir(parents=True, exist_ok=True)
        return os.access(self.root, os.R_OK | os.W_OK)


class DatabaseStore:
    """Blobs in the registry database itself: one store for every server, for small files."""

    def put(self, session: Session, sha256: str, data: bytes) -> None:
        if session.get(ArtifactBlob, sha256) is None:
            session.add(ArtifactBlob(sha256=sha256, data=data))
            session.flush()

    def get(self, session: Session, sha256: str) -> bytes | None:
        return session.scalar(select(ArtifactBlob.data).where(ArtifactBlob.sha256 == sha256))

    def is_reachable(self, session: Session) -> bool:
        session.scalar(select(ArtifactBlob.sha256).limit(1))
        return True


def make_store(kind: str, root: Path) -> ArtifactStore:
    """Return the store a setting names: 'filesystem' or 'database'."""
    if kind == "filesystem":
        return FilesystemStore(root)
    if kind == "database":
        return DatabaseStore()
    raise ValueError(f"REGISTRY_ARTIFACT_STORE must be 'filesystem' or 'database', not {kind!r}.")
