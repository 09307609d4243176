"""Landlock: let a process read only beneath a few directories, and reach nothing else."""

from __future__ import annotations

import ctypes
import os
import stat
import struct
from collections.abc import Iterable

# Syscall numbers are the same on every architecture since Linux 5.13 added Landlock.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_READ_FILE, _READ_DIR = 1 << 2, 1 << 3
# Every file system right of each ABI version: handled means refused unless a rule allows it.
_FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_CONNECT_TCP = 0b11  # ABI 4
_SCOPE_UNIX_AND_SIGNAL = 0b11  # ABI 6: abstract unix sockets and signals outside the domain


class LandlockUnavailable(OSError):
    """The kernel has no Landlock, or refused to restrict this process."""


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int:
    """Return the kernel's Landlock ABI version, 0 when it has none."""
    version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(0, int(version))


def _fs_rights(abi: int) -> int:
    return _FS_RIGHTS[max(v for v in _FS_RIGHTS if v <= abi)]


def restrict_reads(readable: Iterable[str]) -> None:
    """Allow this process to read only beneath ``readable``: no writes, no TCP, no other process.

    Paths that do not exist are skipped. Raises LandlockUnavailable.
    """
    abi = abi_version()
    if abi < 1:
        raise LandlockUnavailable("The kernel has no Landlock.")
    libc = _libc()
    handled = _fs_rights(abi)
    net = _NET_BIND_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_UNIX_AND_SIGNAL if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled, net, scoped)[: 24 if abi >= 6 else 16 if abi >= 4 else 8]
    ruleset = libc.syscall(_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)), 0)
    if ruleset < 0:
        raise LandlockUnavailable(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in readable:
            _allow(libc, int(ruleset), path)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise LandlockUnavailable(ctypes.get_errno(), "no_new_privs failed")
        if libc.syscall(_RESTRICT_SELF, int(ruleset), 0) != 0:
            raise LandlockUnavailable(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _allow(libc: ctypes.CDLL, ruleset: int, path: str) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        rights = _READ_FILE | (_READ_DIR if stat.S_ISDIR(os.fstat(fd).st_mode) else 0)
        rule = struct.pack("=Qi", rights, fd)
        if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, 0) != 0:
            raise LandlockUnavailable(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
