"""A full disk under a live server: uploads answer 507, leave nothing behind, and heal after."""

from __future__ import annotations

import errno
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.factories import dump, house_model
from tests.live import free_port, server_env, start_server

PAGE = os.sysconf("SC_PAGE_SIZE")
FILLER = "filler"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mount], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", mount], check=True)


def fill(disk: Path, leave_pages: int = 0) -> Path:
    """Take every free page of the disk but ``leave_pages``; return the filler file."""
    path = disk / FILLER
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    chunk = b"\0" * (64 * 1024)
    try:
        while True:
            os.write(fd, chunk)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    size = path.stat().st_size
    os.truncate(path, size - size % PAGE - leave_pages * PAGE)
    return path


def contents(disk: Path) -> set[str]:
    return {str(p.relative_to(disk)) for p in disk.rglob("*")}


def start(env: dict[str, str], tmp_path: Path):
    server = start_server(env, tmp_path / "server.log", workers=2)
    made = server.manage("create-token", "--role", "publisher", "--name", "disk-test")
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    created = requests.post(
        f"{server.url}/api/v1/models", json={"name": "houses"}, headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    return server, headers


def upload(server, headers: dict[str, str], data: bytes) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/models/houses/versions",
        files={"artifact": ("model.joblib", data)},
        headers=headers,
        timeout=120,
    )


def versions(server) -> int:
    return requests.get(f"{server.url}/api/v1/models/houses/versions", timeout=30).json()["total"]


def test_a_full_artifact_store_answers_507_and_keeps_nothing(database_url, tmp_path, small_disk):
    server, headers = start(server_env(database_url, small_disk / "artifacts"), tmp_path)
    try:
        data = dump(house_model())
        fill(small_disk)
        before = contents(small_disk)
        response = upload(server, headers, data)
        assert response.status_code == 507, response.text
        assert response.json()["code"] == "insufficient_storage"
        assert contents(small_disk) == before
        assert versions(server) == 0
        ready = requests.get(f"{server.url}/health/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["checks"]["artifact_store"] is False
        assert any("full" in problem for problem in ready.json()["problems"])

        (small_disk / FILLER).unlink()
        assert requests.get(f"{server.url}/health/ready", timeout=30).status_code == 200
        response = upload(server, headers, data)
        assert response.status_code == 201, response.text
        download = requests.get(f"{server.url}/api/v1/models/houses/versions/1/artifact")
        assert download.status_code == 200 and download.content == data
    finally:
        server.stop()


@pytest.mark.parametrize("store", ["filesystem", "database"])
def test_a_full_database_disk_answers_507_and_keeps_nothing(
    sqlite_template, tmp_path, small_disk, store
):
    database = small_disk / "registry.db"
    shutil.copy(sqlite_template, database)
    env = server_env(
        f"sqlite:///{database}", small_disk / "artifacts", REGISTRY_ARTIFACT_STORE=store
    )
    server, headers = start(env, tmp_path)
    try:
        data = dump(house_model())
        # An empty write-ahead log, so the upload's commit needs new pages of the disk.
        with sqlite3.connect(database) as connection:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        # Room for the artifact file itself (filesystem store), none for the commit.
        room = -(-len(data) // PAGE) if store == "filesystem" else 0
        fill(small_disk, leave_pages=room)
        before = contents(small_disk)
        response = upload(server, headers, data)
        assert response.status_code == 507, response.text
        assert response.json()["code"] == "insufficient_storage"
        assert contents(small_disk) - {"registry.db-journal"} == before
        assert versions(server) == 0
        if store == "database":
            # (The filesystem store's variant gave back the artifact's page: the disk has room.)
            ready = requests.get(f"{server.url}/health/ready", timeout=30)
            assert ready.status_code == 503
            assert any("database's disk" in p and "full" in p for p in ready.json()["problems"])

        (small_disk / FILLER).unlink()
        response = upload(server, headers, data)
        assert response.status_code == 201, response.text
        assert versions(server) == 1
        download = requests.get(f"{server.url}/api/v1/models/houses/versions/1/artifact")
        assert download.status_code == 200 and download.content == data
    finally:
        server.stop()


@pytest.fixture
def postgres_on_small_disk() -> Iterator[tuple[Path, str]]:
    """A throwaway PostgreSQL cluster (never the shared one) on a 64 MiB tmpfs of its own."""
    binaries = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    home = Path(tempfile.mkdtemp(prefix="registry-pgdisk-"))
    disk = home / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk], check=True)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    try:
        os.chmod(home, 0o755)
        shutil.chown(home, "postgres")
        shutil.chown(disk, "postgres")
        data = disk / "data"
        initdb = [binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust"]
        subprocess.run([*as_postgres, *initdb, "--no-sync", "--wal-segsize=1"], check=True)
        options = (
            f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c autovacuum=off -c checkpoint_timeout=3600"
        )
        start = [binaries / "pg_ctl", "-D", data, "-o", options, "-l", home / "log", "-w"]
        subprocess.run([*as_postgres, *start, "start"], check=True, capture_output=True)
        yield disk, f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop = [binaries / "pg_ctl", "-D", disk / "data", "-m", "immediate", "-w", "stop"]
        subprocess.run([*as_postgres, *stop], capture_output=True)
        subprocess.run(["umount", "--lazy", disk], check=True)
        shutil.rmtree(home, ignore_errors=True)


def test_a_full_postgresql_disk_answers_507(postgres_on_small_disk, tmp_path):
    disk, url = postgres_on_small_disk
    env = server_env(url, tmp_path / "artifacts", REGISTRY_ARTIFACT_STORE="database")
    server, headers = start(env, tmp_path)
    try:
        data = dump(house_model())
        # A fresh, fully written WAL segment: the upload's log records fit in it, so the first
        # thing to find the disk full is a table growing ("could not extend file", 53100).
        psql = ["psql", url, "-qAt", "-c", "SELECT pg_switch_wal(); CHECKPOINT;"]
        subprocess.run(psql, check=True, capture_output=True)
        fill(disk)
        response = upload(server, headers, data)
        assert response.status_code == 507, response.text
        assert response.json()["code"] == "insufficient_storage"
        assert versions(server) == 0

        (disk / FILLER).unlink()
        response = upload(server, headers, data)
        assert response.status_code == 201, response.text
        download = requests.get(f"{server.url}/api/v1/models/houses/versions/1/artifact")
        assert download.status_code == 200 and download.content == data
    finally:
        server.stop()
