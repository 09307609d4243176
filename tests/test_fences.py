"""The intake fence as deployed: from a locked-down checkout, closed when a fence is missing."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
import skops.io
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(joblib.__file__).resolve().parents[1]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the 0700 layout matters to root only")


def _joblib(obj: object) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def locked_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout and its virtual environment inside a 0700 directory, as under /root."""
    home = tmp_path_factory.mktemp("root-home")
    home.chmod(0o700)
    checkout = home / "checkout"
    shutil.copytree(ROOT / "registry", checkout / "registry", ignore=_no_caches)
    shutil.copy(ROOT / "config.py", checkout / "config.py")
    venv = home / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    site = next((venv / "lib").glob("python3*/site-packages"))
    site.rmdir()
    # Hard links: a copy of the installed packages that only root can reach, made quickly.
    subprocess.run(["cp", "-al", str(SITE), str(site)], check=True, timeout=300)
    for editable in site.glob("__editable__*"):
        editable.unlink()
    return checkout


def _no_caches(_folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__"]


_UPLOAD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from registry.intake import inspect_artifact
from registry.intake import sandbox
assert sandbox.__file__.startswith(sys.argv[1]), sandbox.__file__
result = inspect_artifact(sys.stdin.buffer.read(), artifact_format=sys.argv[2])
print(json.dumps({"estimator": result.estimator, "sandbox": result.sandbox}))
"""


@needs_root
@pytest.mark.parametrize("artifact_format", ["joblib", "skops"])
def test_uploads_work_from_a_checkout_nobody_can_read(locked_checkout, artifact_format):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    if artifact_format == "joblib":
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y > 140)
        data = _joblib(model)
    else:
        data = skops.io.dumps(make_pipeline(StandardScaler(), Ridge()).fit(X, y))
    python = locked_checkout.parent / "venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-I", "-c", _UPLOAD, str(locked_checkout), artifact_format],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    answer = json.loads(done.stdout)
    assert answer["estimator"].startswith("Pipeline(StandardScaler, ")
    assert all(answer["sandbox"].values()), answer["sandbox"]
