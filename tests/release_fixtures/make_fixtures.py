"""Regenerate the release fixtures: one throwaway virtual environment per scikit-learn release.

    python3.11 tests/release_fixtures/make_fixtures.py [--keep] [RELEASE ...]

For each release it makes a venv under /tmp, installs that scikit-learn with numpy, pandas, joblib
and a skops that works with it, and runs generate.py there, which writes
tests/release_fixtures/<release>/. With --keep the venvs stay in /tmp/sklearn-fixtures-<release>
and are reused by the next run. CI does not run this; the generated files are committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = "python3.11"

# What each release needs beside itself: old releases predate numpy 2 and pandas 2.2.
RELEASES: dict[str, list[str]] = {
    "1.2.2": ["numpy<2", "pandas<2.2", "scipy<1.12", "skops<0.10"],
    "1.3.2": ["numpy<2", "pandas<2.2", "scipy<1.12", "skops<0.10"],
    "1.4.2": ["numpy<2", "pandas<2.3", "scipy<1.14", "skops<0.11"],
    "1.5.2": ["numpy<2.1", "pandas<2.3", "skops<0.12"],
    "1.6.1": ["pandas<2.3", "skops<0.12"],
    "1.7.2": ["skops"],
    "1.8.0": ["skops"],
    "1.9.1": ["skops"],
}


def generate(release: str, extra: list[str], keep: bool) -> None:
    if keep:
        venv = Path(tempfile.gettempdir()) / f"sklearn-fixtures-{release}"
    else:
        venv = Path(tempfile.mkdtemp(prefix=f"sklearn-{release}-"))
    try:
        if not (venv / "bin" / "python").exists():
            subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            packages = [f"scikit-learn=={release}", "joblib", "pandas", *extra]
            subprocess.run([*pip, *packages], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), str(HERE / "generate.py"), str(HERE / release)],
            check=True,
        )
    finally:
        if not keep:
            shutil.rmtree(venv, ignore_errors=True)


def main(argv: list[str]) -> int:
    keep = "--keep" in argv
    releases = [arg for arg in argv if arg != "--keep"]
    for release in releases or list(RELEASES):
        generate(release, RELEASES[release], keep)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
