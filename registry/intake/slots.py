"""Sandbox slots: at most N intake or training children at once, across every worker."""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry.errors import IntakeBusy

POLL_SECONDS = 0.05
RETRY_AFTER_SECONDS = 10


def slot_folder(key: str) -> Path:
    """Return the folder of slot files shared by every process serving the registry ``key``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"registry-slots-{os.geteuid()}-{digest}"


def _open_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    # Another user's folder (or a link to one) could hold our slots hostage.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise PermissionError(f"{folder} is not a folder of this user.")


@contextmanager
def sandbox_slot(folder: Path | None, slots: int, wait: float) -> Iterator[None]:
    """Hold one of ``slots`` slots while the block runs, waiting up to ``wait`` seconds.

    A slot is an exclusive flock on a file in ``folder``: the kernel frees it when its
    holder exits, even by kill -9. No folder means no bound. Raises IntakeBusy when none
    frees up in time.
    """
    if folder is None:
        yield
        return
    _open_folder(folder)
    deadline = time.monotonic() + wait
    while True:
        for index in range(slots):
            fd = os.open(folder / f"slot-{index}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield
            finally:
                os.close(fd)
            return
        if time.monotonic() >= deadline:
            raise IntakeBusy(
                f"Every sandbox slot ({slots}) is busy opening other uploads; "
                f"try again in {RETRY_AFTER_SECONDS} seconds.",
                retry_after=RETRY_AFTER_SECONDS,
            )
        time.sleep(POLL_SECONDS)
