"""The child's fences: resource limits, no network, no privileges, Landlock and seccomp."""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

from registry.intake import landlock

# Every fence a child raises, by the name that settings and answers use.
FENCES = ("rlimits", "netns", "unprivileged", "landlock", "seccomp")
ADDRESS_SPACE = 2 << 30
OPEN_FILES = 64
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
NOBODY = 65534
PR_SET_PDEATHSIG = 1
NICENESS = 10
ORPHANED = 70

# Calls that change the file system, reach other processes or the kernel, or open the way
# around this filter (io_uring runs file operations seccomp never sees).
_DENIED = """
    execve execveat fork vfork ptrace process_vm_readv process_vm_writev
    socket socketpair connect bind listen accept accept4
    creat rename renameat renameat2 unlink unlinkat mkdir mkdirat rmdir mknod mknodat
    link linkat symlink symlinkat chmod fchmod fchmodat chown fchown lchown fchownat
    truncate ftruncate utime utimes utimensat futimesat
    setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr
    mount umount2 pivot_root chroot unshare setns swapon swapoff reboot
    sethostname setdomainname init_module finit_module delete_module kexec_load kexec_file_load
    acct quotactl name_to_handle_at open_by_handle_at
    io_uring_setup io_uring_enter io_uring_register bpf perf_event_open userfaultfd
    keyctl add_key request_key pidfd_open pidfd_send_signal pidfd_getfd tkill setrlimit
""".split()
_WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC)


def limit_resources(cpu_seconds: int, address_space: int = ADDRESS_SPACE) -> bool:
    """Cap memory, CPU time, open files and file size; a write to a file then fails."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = {
        resource.RLIMIT_AS: address_space,
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_NOFILE: OPEN_FILES,
        resource.RLIMIT_FSIZE: 0,
        resource.RLIMIT_CORE: 0,
    }
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))
    return True


def forbid_processes() -> bool:
    """Allow no new processes (enforced for non-root users; root is covered by seccomp)."""
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    return True


def leave_network() -> bool:
    """Move into a new, empty network namespace if the kernel allows; return whether it did."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    return libc.unshare(flags) == 0


def drop_privileges() -> bool:
    """Become nobody when running as root; return whether the process is now unprivileged."""
    if os.geteuid() != 0:
        return True
    try:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    except OSError:
        return False
    return True


def install_seccomp() -> bool:
    """Load a filter refusing exec, fork, sockets and writes to the file system."""
    import pyseccomp as seccomp

    eperm = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in _DENIED:
        _add(rules, eperm, name)
    # glibc falls back from clone3, whose flags seccomp cannot read, to clone.
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "openat2")
    _add(rules, eperm, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    for flag in _WRITE_FLAGS:
        _add(
            rules,
            seccomp.ERRNO(errno.EACCES),
            "open",
            seccomp.Arg(1, seccomp.MASKED_EQ, flag, flag),
        )
        _add(
            rules,
            seccomp.ERRNO(errno.EACCES),
            "openat",
            seccomp.Arg(2, seccomp.MASKED_EQ, flag, flag),
        )
    pid = os.getpid()
    _add(rules, eperm, "kill", seccomp.Arg(0, seccomp.NE, pid))
    _add(rules, eperm, "tgkill", seccomp.Arg(0, seccomp.NE, pid))
    _add(rules, eperm, "prlimit64", seccomp.Arg(2, seccomp.NE, 0))
    rules.load()
    return True


def _add(rules: Any, action: int, name: str, *args: Any) -> None:
    try:
        rules.add_rule(action, name, *args)
    except OSError as exc:
        # A call this architecture does not have (e.g. open on arm64) needs no rule.
        if exc.errno not in (errno.EINVAL, errno.EFAULT, errno.EDOM):
            raise


def die_with_parent(parent: int) -> None:
    """Be killed with the process that started this one; exit at once if it is already gone.

    The kernel forgets this wish when the user id changes, so raise_fences makes it again.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(ORPHANED)


def forget_parent() -> None:
    """Undo die_with_parent: this process outlives the thread that started it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0)


def readable_paths() -> list[str]:
    """Where a fenced child may still read: Python's libraries and the registry package."""
    paths = {sysconfig.get_path(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    # The package folder, not the checkout around it: that may hold the database.
    paths.add(str(Path(__file__).resolve().parents[1]))
    return sorted(p for p in paths if p)


def restrict_reads() -> bool:
    """Keep the process from reading anything but readable_paths() (Landlock)."""
    landlock.restrict_reads(readable_paths())
    return True


def raise_fences(
    cpu_seconds: int,
    address_space: int,
    parent: int,
    preload: Callable[[], None],
) -> dict[str, bool]:
    """Fence this process in, in the one order that works; return which fences stand.

    ``preload`` imports everything the work needs: once privileges are dropped the
    process may be unable to reach the checkout (a 0700 home directory), and Landlock
    keeps it from reading anything but Python's libraries: not the database, the
    artifacts or /proc. Each fence is best effort and reported.
    """
    status = dict.fromkeys(FENCES, False)
    status["rlimits"] = _attempt(lambda: limit_resources(cpu_seconds, address_space))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    # On a shared CPU the predictions' work comes first.
    os.nice(NICENESS)
    preload()
    try:
        import pyseccomp  # noqa: F401  (finding libseccomp runs ldconfig, before forking ends)
    except (OSError, RuntimeError, ImportError):
        pass
    status["landlock"] = _attempt(restrict_reads)
    status["netns"] = _attempt(leave_network)
    if status["rlimits"]:
        status["rlimits"] = _attempt(forbid_processes)
    status["unprivileged"] = _attempt(drop_privileges)
    die_with_parent(parent)
    status["seccomp"] = _attempt(install_seccomp)
    return status


def _attempt(fence: Callable[[], Any]) -> bool:
    try:
        return bool(fence())
    except (OSError, RuntimeError, ValueError, ImportError):
        return False
