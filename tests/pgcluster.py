"""A throwaway PostgreSQL cluster for tests that stop or freeze one (never the shared one)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.live import free_port


def postgres_bin() -> Path | None:
    """Return the newest PostgreSQL server's bin folder, or None when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[-3])
    return Path(found[-1]).parent if found else None


def _as_owner(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to the postgres (or nobody) account.
    if os.geteuid() != 0:
        return argv
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--", *argv]
    raise RuntimeError("No unprivileged account to run PostgreSQL as.")


def _owner_ids() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    for user in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise RuntimeError("No unprivileged account to run PostgreSQL as.")


@dataclass
class Cluster:
    """One postmaster on a free loopback port, with its data in a temporary folder."""

    bin: Path
    folder: Path
    port: int

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.folder / "log"), "-o", options, "start")

    def stop(self) -> None:
        """Stop the cluster at once (connections are cut)."""
        self._pg_ctl("-m", "immediate", "stop")

    def _pids(self) -> list[int]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        pids = [postmaster]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry))
        return pids

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: the database hangs without closing anything."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        try:
            self.thaw()
        except (OSError, ValueError):
            pass
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


def create_cluster() -> Cluster:
    """initdb a new cluster in a temporary folder and start it."""
    binary = postgres_bin()
    if binary is None:
        raise RuntimeError("PostgreSQL server binaries are not installed.")
    folder = Path(tempfile.mkdtemp(prefix="registry-pg-"))
    os.chown(folder, *_owner_ids())
    cluster = Cluster(bin=binary, folder=folder, port=free_port())
    subprocess.run(
        _as_owner(
            [str(binary / "initdb"), "-D", str(cluster.data), "-U", "postgres", "-A", "trust"]
        ),
        check=True,
        capture_output=True,
    )
    cluster.start()
    return cluster
