"""Driving wrk, when it is installed, with a Lua script that POSTs a JSON body."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

from registry.bench.loadgen import LoadResult

SCRIPT = """
local file = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_path() -> str | None:
    """Return wrk's path when it is installed."""
    return shutil.which("wrk")


def run_wrk(url: str, body: bytes, concurrency: int, duration: float) -> LoadResult:
    """POST ``body`` to ``url`` from ``concurrency`` connections for ``duration`` seconds."""
    executable = wrk_path()
    if executable is None:
        raise RuntimeError("wrk is not installed.")
    with tempfile.TemporaryDirectory(prefix="registry-wrk-") as folder:
        body_file = Path(folder) / "body.json"
        body_file.write_bytes(body)
        script = Path(folder) / "post.lua"
        script.write_text(SCRIPT.format(body=body_file))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [
                executable,
                f"-t{min(concurrency, 2)}",
                f"-c{concurrency}",
                # wrk takes whole seconds only.
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    figures = json.loads(line[len("BENCH ") :])
    bad = figures["errors"] + figures["status_errors"]
    return LoadResult(
        completed=figures["requests"] - figures["status_errors"],
        errors=bad,
        seconds=figures["duration_us"] / 1e6,
        p50=figures["p50_us"] / 1e6,
        p99=figures["p99_us"] / 1e6,
        client_cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        tool="wrk",
    )
