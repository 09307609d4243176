"""A child process held to a CPU budget, with a wall clock that only bounds the wait.

On a loaded machine a child at a low priority may get a small share of a core, so the wall
clock measures the machine, not the work. The child's own RLIMIT_CPU stops work that is too
large; the wall clock here only bounds how long a request waits, and when it runs out the
child's CPU time so far tells a busy machine (little CPU used) from too much work.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# When the machine is too busy to give a child its CPU in time, clients come back after this.
BUSY_RETRY_AFTER = 60


class OverBudget(Exception):
    """The child used up its CPU seconds (the kernel stopped it)."""


class Starved(Exception):
    """The wall clock ran out while the child had CPU seconds left: the machine is busy."""

    def __init__(self, cpu_used: float) -> None:
        super().__init__(f"The child got {cpu_used:.1f} CPU seconds.")
        self.cpu_used = cpu_used


@dataclass(frozen=True)
class Finished:
    """What a child that ended by itself wrote, and how it ended."""

    stdout: bytes
    stderr: bytes
    returncode: int


# The signals the kernel sends at RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard.
_CPU_SIGNALS = (-signal.SIGXCPU, -signal.SIGKILL)


def run_within_budget(
    command: Sequence[str],
    stdin: bytes,
    env: dict[str, str],
    wall_seconds: float,
) -> Finished:
    """Run ``command`` (which sets its own RLIMIT_CPU) with ``stdin``; return what it wrote.

    Raises OverBudget when the kernel stopped it for CPU time, Starved when ``wall_seconds``
    passed first.
    """
    # "/" as working directory: nothing to create, nothing left behind.
    with subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd="/",
    ) as process:
        try:
            stdout, stderr = process.communicate(stdin, timeout=wall_seconds)
        except subprocess.TimeoutExpired:
            used = cpu_seconds(process.pid)
            process.kill()
            process.communicate()
            raise Starved(used) from None
    if not stdout and process.returncode in _CPU_SIGNALS:
        raise OverBudget
    return Finished(stdout, stderr, process.returncode)


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user and system) a live process has used, 0 if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
    fields = stat.rsplit(")", 1)[-1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
