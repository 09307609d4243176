"""Damaged artifacts are caught: downloads check hashes, re-uploads repair, verify and gc."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from manage import build_cli
from registry.app import create_app
from registry.models import ArtifactBlob, ModelVersion
from tests.factories import add_plan_version, dump, house_model, house_plan

BASE = "/api/v1/models/house-prices"


@pytest.fixture(params=["filesystem", "database"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app(database_url: str, tmp_path: Path, store_kind: str):
    app = create_app(
        {
            "database_url": database_url,
            "artifact_root": tmp_path / "artifacts",
            "artifact_store": store_kind,
            "testing": True,
        }
    )
    yield app
    app.extensions["registry"].serving.close()
    app.extensions["registry"].db.dispose()


@pytest.fixture
def data() -> bytes:
    return dump(house_model())


@pytest.fixture
def published(app) -> str:
    """One version of house-prices stored without intake (fast); return its sha256."""
    add_plan_version(app, "house-prices", house_plan())
    with app.extensions["registry"].db.read() as session:
        return session.scalar(select(ModelVersion.sha256))


@pytest.fixture
def uploaded(client, tokens, data) -> str:
    """One version of house-prices uploaded over HTTP; return its sha256."""
    client.post("/api/v1/models", json={"name": "house-prices"}, headers=tokens["publisher"])
    response = upload(client, tokens, data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["sha256"]


def upload(client, tokens, data: bytes):
    return client.post(
        f"{BASE}/versions",
        data={"artifact": (io.BytesIO(data), "model.joblib")},
        headers=tokens["publisher"],
        content_type="multipart/form-data",
    )


def artifact_file(app, sha256: str) -> Path:
    root = app.extensions["registry"].config.artifact_root
    return Path(root) / sha256[:2] / f"{sha256}.bin"


def damage(app, sha256: str, how: str) -> None:
    """Flip a byte, truncate or delete an artifact, in whichever store the app uses."""
    registry = app.extensions["registry"]
    if registry.config.artifact_store == "filesystem":
        path = artifact_file(app, sha256)
        if how == "delete":
            path.unlink()
            return
        raw = bytearray(path.read_bytes())
        if how == "flip":
            raw[len(raw) // 2] ^= 0x01
        else:
            raw = raw[: len(raw) // 2]
        path.write_bytes(bytes(raw))
        return
    with registry.db.write() as session:
        if how == "delete":
            session.execute(delete(ArtifactBlob).where(ArtifactBlob.sha256 == sha256))
            return
        raw = bytearray(session.get(ArtifactBlob, sha256).data)
        if how == "flip":
            raw[len(raw) // 2] ^= 0x01
        else:
            raw = raw[: len(raw) // 2]
        session.execute(
            update(ArtifactBlob).where(ArtifactBlob.sha256 == sha256).values(data=bytes(raw))
        )


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_a_damaged_artifact_is_never_served(app, client, published, how):
    damage(app, published, how)
    response = client.get(f"{BASE}/versions/1/artifact")
    assert response.status_code == 500
    body = response.get_json()
    assert body["code"] == "artifact_corrupted" and "version 1" in body["message"]
    assert "ETag" not in response.headers


def test_a_missing_artifact_is_503_artifact_missing(app, client, published):
    damage(app, published, "delete")
    response = client.get(f"{BASE}/versions/1/artifact")
    assert response.status_code == 503
    assert response.get_json()["code"] == "artifact_missing"
    # The version itself still exists.
    assert client.get(f"{BASE}/versions/1").status_code == 200


def test_an_intact_artifact_downloads_with_its_hash(client, published):
    response = client.get(f"{BASE}/versions/1/artifact")
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{published}"'
    assert hashlib.sha256(response.data).hexdigest() == published


@pytest.mark.parametrize("how", ["flip", "truncate", "delete"])
def test_uploading_the_same_bytes_again_repairs_the_artifact(
    app, client, tokens, uploaded, data, how
):
    damage(app, uploaded, how)
    again = upload(client, tokens, data)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["version"] == 2
    for version in (1, 2):
        response = client.get(f"{BASE}/versions/{version}/artifact")
        assert response.status_code == 200 and response.data == data


def test_readiness_fails_when_the_store_is_removed(app, client, published):
    assert client.get("/health/ready").status_code == 200
    registry = app.extensions["registry"]
    if registry.config.artifact_store == "filesystem":
        shutil.rmtree(registry.config.artifact_root)
    else:
        damage(app, published, "delete")
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["artifact_store"] is False
    assert body["checks"]["database"] is True
    assert any("missing" in problem for problem in body["problems"])


@pytest.mark.parametrize("store_kind", ["filesystem"])
def test_readiness_fails_when_the_root_is_not_writable(app, client, published, store_kind):
    root = Path(app.extensions["registry"].config.artifact_root)
    # The tests run as root, which ignores permission bits: a read-only bind mount refuses.
    subprocess.run(["mount", "--bind", root, root], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", root, root], check=True)
        response = client.get("/health/ready")
    finally:
        subprocess.run(["umount", root], check=True)
    assert response.status_code == 503
    assert any("writable" in problem for problem in response.get_json()["problems"])
    assert client.get("/health/ready").status_code == 200


@pytest.fixture
def run(database_url: str, tmp_path: Path, store_kind: str):
    """Run a manage.py command on the app's database and store; return (exit code, output)."""
    runner = CliRunner(
        env={
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
            "REGISTRY_ARTIFACT_STORE": store_kind,
        }
    )
    cli = build_cli()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def test_verify_names_every_damaged_artifact(app, published, run, tmp_path):
    add_plan_version(app, "house-prices", house_plan({"name": "garage", "type": "number"}))
    with app.extensions["registry"].db.read() as session:
        other = session.scalar(select(ModelVersion.sha256).where(ModelVersion.version == 2))
    code, output = run("verify")
    assert code == 0, output
    assert "2 artifacts checked, all intact" in output
    damage(app, published, "flip")
    damage(app, other, "delete")
    code, output = run("verify")
    assert code == 1
    lines = [line for line in output.splitlines() if line.startswith("house-prices")]
    assert len(lines) == 2
    assert "v1" in lines[0] and "corrupted" in lines[0]
    assert "v2" in lines[1] and "missing" in lines[1]
    # The CLI's download refuses the damaged file too, and writes nothing.
    target = tmp_path / "out.joblib"
    code, output = run("versions", "download", "house-prices", "1", "--output", str(target))
    assert code == 1 and "damaged" in output and not target.exists()


def test_gc_lists_then_deletes_unreferenced_files(app, published, run, store_kind):
    registry = app.extensions["registry"]
    stray = b"left behind by a failed upload"
    stray_sha = hashlib.sha256(stray).hexdigest()
    if store_kind == "filesystem":
        root = Path(registry.config.artifact_root)
        stray_path = root / stray_sha[:2] / f"{stray_sha}.bin"
        stray_path.parent.mkdir(parents=True, exist_ok=True)
        stray_path.write_bytes(stray)
        temp = artifact_file(app, published).parent / ".upload-stale"
        temp.write_bytes(b"half an upload")
        fresh = artifact_file(app, published).parent / ".upload-inflight"
        fresh.write_bytes(b"an upload in flight")
        probe = root / ".ready-stale"
        probe.write_bytes(b"\0")
        old = time.time() - 3 * 3600
        for path in (stray_path, temp, probe):
            os.utime(path, (old, old))
    else:
        with registry.db.write() as session:
            session.add(ArtifactBlob(sha256=stray_sha, data=stray))
    code, output = run("gc")
    assert code == 0, output
    assert stray_sha in output and published not in output
    if store_kind == "filesystem":
        assert ".upload-stale" in output and ".upload-inflight" not in output
        assert ".ready-stale" in output
    assert "--delete" in output
    code, output = run("gc", "--delete")
    assert code == 0, output
    code, output = run("gc")
    assert stray_sha not in output and "nothing to collect" in output.lower()
    if store_kind == "filesystem":
        assert not stray_path.exists() and not temp.exists() and fresh.exists()
        assert not probe.exists() and root.is_dir()
        assert artifact_file(app, published).exists()
    code, output = run("verify")
    assert code == 0, output
