"""The README's examples, run in order against a real server that holds the demo's models.

A fenced ```python or ```sh block right after `<!-- tested -->` is an example the tests run;
`<!-- tested: error -->` marks a curl example whose request must fail with a JSON error.
Python blocks share one namespace, as in one Python session; shell blocks run with bash in a
scratch folder that stands for the checkout, where `python` is this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from config import Config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TESTED = re.compile(
    r"^<!-- tested(?P<error>: error)? -->\n```(?P<lang>python|sh)\n(?P<code>.*?)^```", re.S | re.M
)
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```", re.S | re.M)
# Make curl fail on an HTTP error status, still printing the JSON error body.
SHELL_PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n'
CURL_HTTP_ERROR = 22


@dataclass(frozen=True)
class Example:
    lang: str
    code: str
    line: int
    expect_error: bool

    @property
    def uses_curl(self) -> bool:
        return re.search(r"\bcurl\b", self.code) is not None


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def examples() -> list[Example]:
    text = README.read_text()
    return [
        Example(
            lang=match["lang"],
            code=match["code"],
            line=line_of(text, match.start("code")),
            expect_error=match["error"] is not None,
        )
        for match in TESTED.finditer(text)
    ]


def test_every_python_and_curl_example_is_marked_tested():
    text = README.read_text()
    tested = {match.start("code") for match in TESTED.finditer(text)}
    for fence in FENCE.finditer(text):
        lang, code = fence["lang"], fence["code"]
        if lang == "python" or (lang == "sh" and re.search(r"\bcurl\b", code)):
            line = line_of(text, fence.start("code"))
            assert fence.start("code") in tested, f"README.md:{line} is an example nobody runs."
    assert len(tested) >= 10


def test_configuration_table_names_every_setting():
    text = README.read_text()
    for item in fields(Config):
        assert f"| `REGISTRY_{item.name.upper()}` |" in text, item.name
    assert "| `PROMETHEUS_MULTIPROC_DIR` |" in text


def test_readme_opens_with_the_two_commands():
    commands = [m["code"].strip() for m in FENCE.finditer(README.read_text()) if m["lang"] == "sh"]
    assert commands[:2] == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python manage.py demo",
        "bash .ci/system-packages && python3 -m venv .venv && "
        ".venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -n 2",
    ]
    assert "\n## Performance\n" in README.read_text()


def run_python(example: Example, namespace: dict) -> None:
    # Padded so that a traceback names the README's own line numbers.
    source = "\n" * (example.line - 1) + example.code
    exec(compile(source, str(README), "exec"), namespace)


def run_shell(example: Example, env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(
        ["bash", "-c", SHELL_PRELUDE + example.code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    where = f"README.md:{example.line}"
    output = f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    if example.expect_error:
        assert result.returncode == CURL_HTTP_ERROR, f"{where} should fail over HTTP.\n{output}"
        assert "code" in json.loads(result.stdout), f"{where} gave no JSON error.\n{output}"
    else:
        assert result.returncode == 0, f"{where} failed.\n{output}"


def test_readme_examples_run_in_order(live_server, tmp_path, monkeypatch):
    demo = live_server.manage("demo", "--no-serve", timeout=600)
    assert demo.returncode == 0, demo.stderr
    token = demo.stdout.strip().splitlines()[-1]

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "manage.py").symlink_to(ROOT / "manage.py")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    env = {
        **live_server.env,
        "REGISTRY_URL": live_server.url,
        "REGISTRY_TOKEN": token,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    monkeypatch.setenv("REGISTRY_URL", live_server.url)
    monkeypatch.setenv("REGISTRY_TOKEN", token)
    monkeypatch.chdir(checkout)

    has_curl = shutil.which("curl") is not None
    skipped = []
    namespace: dict = {"__name__": "readme"}
    try:
        for example in examples():
            if example.lang == "python":
                run_python(example, namespace)
            elif example.uses_curl and not has_curl:
                skipped.append(example.line)
            else:
                run_shell(example, env, checkout)
    finally:
        registry = namespace.get("registry")
        if registry is not None:
            registry.close()
    assert (checkout / "predictions.csv").exists()
    if skipped:
        pytest.skip(
            "curl is not installed: the README's curl examples at lines "
            f"{', '.join(map(str, skipped))} did not run; every other example passed."
        )


def test_supported_models_table_names_every_head_and_step():
    from registry.intake.allowlist import SUPPORTED_MODELS, SUPPORTED_STEPS

    text = README.read_text()
    section = text[text.index("\n## Supported models\n") :]
    section = section[: section.index("\n## ", 1)]
    for name in (*SUPPORTED_MODELS, *SUPPORTED_STEPS):
        if name == "Pipeline":
            continue  # the table's preamble: everything may sit in one
        assert f"`{name}" in section, name
