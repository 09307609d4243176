"""Parent side of intake: run the sandboxed child on an artifact and trust only what checks out."""

from __future__ import annotations

import json
import logging
import math
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from registry.child_budget import BUSY_RETRY_AFTER, cpu_seconds
from registry.errors import (
    IntakeBusy,
    IntakeUnavailable,
    InvalidArtifact,
    InvalidFeatures,
    RegistryError,
    UnsupportedEstimator,
    UntrustedArtifact,
)
from registry.intake.limits import check_categories
from registry.intake.searches import search_records
from registry.intake.slots import sandbox_slot, slot_folder
from registry.intake.spawner import ZygoteChild, ZygoteUnavailable, spawner
from registry.intake.verify import Reference, check_probes
from registry.intake.wire import encode_request, read_referred
from registry.plans import Feature, Plan, PlanError

log = logging.getLogger(__name__)

FORMATS = ("joblib", "skops")
MAX_ANSWER = 64 << 20
MAX_STDERR = 64 << 10
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_ROOT = Path(__file__).resolve().parents[2]
_BOOTSTRAP = (
    "import sys; sys.dont_write_bytecode = True; sys.path.insert(0, {root!r}); "
    "from registry.intake.child import main; main()"
)
_ERRORS: dict[str, type[RegistryError]] = {
    "untrusted_artifact": UntrustedArtifact,
    "unsupported_estimator": UnsupportedEstimator,
    "invalid_artifact": InvalidArtifact,
    "invalid_features": InvalidFeatures,
}


@dataclass(frozen=True)
class IntakeLimits:
    """How intake children run: fences the operator waives, CPU time, slots and their queue.

    Also what an answer may hold: at most ``max_categories`` one-hot categories (None: any).
    """

    allow_weak: frozenset[str] = frozenset()
    max_categories: int | None = None
    cpu_seconds: int = 20
    slots: int = 1
    queue_seconds: float = 2.0
    # None (a library call, a test) bounds nothing; a server's settings name a folder.
    slot_folder: Path | None = None
    # Fork children from this process's zygote (registry.intake.spawner) instead of
    # starting a fresh interpreter for each. A server's settings do by default
    # (config.intake_zygote); a library call without limits starts no resident zygote.
    zygote: bool = False

    @classmethod
    def from_config(cls, config: Any) -> IntakeLimits:
        """Read the limits from the app's settings (config.Config)."""
        return cls(
            allow_weak=config.weak_fences(),
            max_categories=config.max_categories,
            cpu_seconds=config.intake_cpu_seconds,
            slots=config.intake_slots,
            queue_seconds=config.intake_queue_seconds,
            slot_folder=slot_folder(f"{_ROOT} {config.database_url}"),
            zygote=config.intake_zygote,
        )


@dataclass(frozen=True)
class IntakeResult:
    """What intake learnt from an artifact: its validated plan and how it was opened."""

    kind: str
    estimator: str
    plan: Plan
    features: tuple[Feature, ...]
    classes: tuple[Any, ...] | None
    sklearn_version: str | None  # the release that saved the file, when it says
    sandbox: dict[str, bool]
    verification: dict[str, Any]  # what the plan's outputs were checked against
    # What a fitted search learnt (registry.intake.searches); empty for other models.
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # The names the file referred to, with counts (registry.intake.wire.read_referred).
    referred: list[dict[str, Any]] | None = None


class _Overflow(Exception):
    pass


def inspect_artifact(
    data: bytes,
    *,
    feature_names: list[str] | None = None,
    feature_types: dict[str, dict[str, Any]] | None = None,
    artifact_format: str = "joblib",
    timeout: float = 60.0,
    limits: IntakeLimits | None = None,
    reference: Reference | None = None,
) -> IntakeResult:
    """Open an uploaded artifact in a sandboxed child and return its checked plan.

    With a ``reference`` (the uploader's own scikit-learn outputs), the plan is checked against
    it; otherwise against the installed scikit-learn's outputs on the child's probe rows.
    Raises InvalidArtifact, UntrustedArtifact, UnsupportedEstimator, InvalidFeatures,
    TooManyCategories past ``limits.max_categories``, or IntakeUnavailable when the child
    cannot raise a fence that ``limits`` does not waive.
    """
    limits = limits or IntakeLimits()
    if artifact_format not in FORMATS:
        raise InvalidArtifact(f"The artifact format must be one of {', '.join(FORMATS)}.")
    if feature_names is not None and not (
        isinstance(feature_names, (list, tuple)) and all(type(n) is str for n in feature_names)
    ):
        raise InvalidFeatures("The feature names must be a list of strings.")
    if not data:
        raise InvalidArtifact("The file is empty.")
    header = {
        "format": artifact_format,
        "feature_names": None if feature_names is None else list(feature_names),
        "feature_types": feature_types,
    }
    with sandbox_slot(limits.slot_folder, limits.slots, limits.queue_seconds):
        answer = _run_child(encode_request(header, bytes(data)), artifact_format, timeout, limits)
    _check_fences(answer, limits)
    return _result(answer, reference, limits.max_categories)


def probe_fences(limits: IntakeLimits, timeout: float = 30.0) -> dict[str, bool]:
    """Return which fences a child can raise here, without giving it anything to read."""
    # A fresh interpreter that imports nothing answers in a fraction of a second, where
    # starting a zygote (numpy, scikit-learn) would hold readiness for seconds; both raise
    # the same fences, and an upload's own child still refuses to read behind a missing one.
    answer = _run_child(b"", "probe", timeout, replace(limits, zygote=False))
    status = answer.get("sandbox")
    if type(status) is not dict:
        raise UntrustedArtifact("The sandbox probe gave no fence status.")
    return {str(k): v is True for k, v in status.items()}


def missing_fences(status: dict[str, Any], limits: IntakeLimits) -> list[str]:
    """Return the fences that are down and that the operator has not waived."""
    down = {name for name, up in status.items() if up is not True}
    return sorted(down - limits.allow_weak)


def _check_fences(answer: dict[str, Any], limits: IntakeLimits) -> None:
    status = answer.get("sandbox") if type(answer.get("sandbox")) is dict else {}
    missing = missing_fences(status, limits)
    if missing or not status:
        raise _unavailable(missing or ["all"])


def _unavailable(missing: list[str]) -> IntakeUnavailable:
    names = ", ".join(missing)
    log.error(
        "Uploads are refused: the intake sandbox cannot raise its %s fence%s here; fix the host "
        "or accept the risk with REGISTRY_INTAKE_ALLOW_WEAK_FENCES=%s.",
        names,
        "s" * (len(missing) > 1),
        ",".join(missing),
    )
    return IntakeUnavailable(
        f"Uploads are unavailable: the sandbox that opens them cannot raise its {names} "
        "fence on this server. The operator has been told."
    )


def _run_child(
    request: bytes, artifact_format: str, timeout: float, limits: IntakeLimits
) -> dict[str, Any]:
    cpu_limit = max(1, min(limits.cpu_seconds, math.ceil(timeout)))
    if limits.zygote:
        try:
            child = spawner(THREAD_ENV).spawn(cpu_limit, artifact_format, limits.allow_weak)
            return _talk(child, request, timeout, cpu_limit)
        except ZygoteUnavailable as exc:
            log.warning("Intake falls back to a fresh interpreter: %s", exc)
    command = [
        sys.executable,
        "-I",
        "-B",
        "-c",
        _BOOTSTRAP.format(root=str(_ROOT)),
        str(cpu_limit),
        artifact_format,
        ",".join(sorted(limits.allow_weak)),
        str(os.getpid()),
    ]
    # The working directory is "/", which Landlock makes unreadable: no temporary folder
    # to create, and none left behind when the worker is killed.
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(THREAD_ENV),
        cwd="/",
        close_fds=True,
        start_new_session=True,
    )
    return _talk(process, request, timeout, cpu_limit)


def _talk(
    process: subprocess.Popen[bytes] | ZygoteChild, request: bytes, timeout: float, cpu_limit: int
) -> dict[str, Any]:
    """Give the child its request, read its answer, and stop it if it overstays."""
    with process:
        try:
            stdout, stderr = _exchange(process, request, time.monotonic() + timeout)
        except TimeoutError as exc:
            used = cpu_seconds(process.pid)
            if used < cpu_limit / 2:
                # The child hardly ran: the machine is busy, the file is not to blame.
                raise IntakeBusy(
                    f"The server is too busy to open the file now: in {timeout:g} seconds its "
                    f"sandbox got {used:.1f} of the {cpu_limit} CPU seconds it may use. Try "
                    "again in a minute.",
                    retry_after=BUSY_RETRY_AFTER,
                ) from exc
            raise UntrustedArtifact(
                f"Opening the file took too long (over {timeout:g} seconds)."
            ) from exc
        except _Overflow as exc:
            raise UntrustedArtifact("Opening the file produced an oversized answer.") from exc
        finally:
            if process.returncode is None:
                process.kill()
    if stderr:
        log.debug("intake child stderr: %s", stderr[:4096].decode(errors="replace"))
    assert process.returncode is not None
    return _parse(stdout, process.returncode)


def _exchange(
    process: subprocess.Popen[bytes] | ZygoteChild, request: bytes, deadline: float
) -> tuple[bytes, bytes]:
    """Write the request and read both outputs, with a deadline and caps on what is kept."""
    assert process.stdin and process.stdout and process.stderr
    pending = memoryview(request)
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        for stream, event in (
            (process.stdin, selectors.EVENT_WRITE),
            (process.stdout, selectors.EVENT_READ),
            (process.stderr, selectors.EVENT_READ),
        ):
            os.set_blocking(stream.fileno(), False)
            selector.register(stream, event)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            for key, _ in selector.select(remaining):
                stream = key.fileobj
                if stream is process.stdin:
                    try:
                        pending = pending[os.write(key.fd, pending[: 1 << 16]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(stream)
                        stream.close()
                    continue
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    selector.unregister(stream)
                    stream.close()
                elif stream is process.stdout:
                    out += chunk
                    if len(out) > MAX_ANSWER:
                        raise _Overflow
                elif len(err) < MAX_STDERR:
                    err += chunk[: MAX_STDERR - len(err)]
    try:
        process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError from exc
    return bytes(out), bytes(err)


def _crash(returncode: int) -> UntrustedArtifact:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if -returncode in (signal.SIGXCPU, signal.SIGKILL):
            return UntrustedArtifact("Opening the file took too long and was stopped.")
        return UntrustedArtifact(f"Opening the file stopped the sandboxed reader ({name}).")
    return UntrustedArtifact("The sandboxed reader stopped without giving an answer.")


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not strict JSON")


def _parse(stdout: bytes, returncode: int) -> dict[str, Any]:
    try:
        answer = json.loads(stdout, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise _crash(returncode) from None
    if type(answer) is not dict or type(answer.get("ok")) is not bool:
        raise _crash(returncode)
    if not answer["ok"]:
        if answer.get("code") == "intake_unavailable":
            missing = answer.get("missing")
            valid = type(missing) is list and all(type(n) is str for n in missing)
            raise _unavailable([_sentence(n)[:40] for n in missing] if valid else ["all"])
        error = _ERRORS.get(answer.get("code"), UntrustedArtifact)
        raise error(_sentence(answer.get("message")))
    if returncode != 0:
        raise _crash(returncode)
    return answer


def _sentence(message: Any) -> str:
    if type(message) is not str or not message.strip():
        return "The file could not be opened safely."
    clean = "".join(ch if ch.isprintable() else " " for ch in message).strip()
    return clean if len(clean) <= 300 else clean[:297].rstrip() + "..."


def _field(answer: dict[str, Any], name: str, kind: type) -> Any:
    value = answer.get(name)
    if type(value) is not kind:
        raise UntrustedArtifact(f"The sandboxed reader's answer has no valid {name}.")
    return value


def _result(
    answer: dict[str, Any],
    reference: Reference | None = None,
    max_categories: int | None = None,
) -> IntakeResult:
    kind = _field(answer, "kind", str)
    estimator = _field(answer, "estimator", str)
    release = answer.get("sklearn_version")
    if release is not None and type(release) is not str:
        raise UntrustedArtifact("The sandboxed reader's answer has no valid sklearn_version.")
    server_release = _field(answer, "server_sklearn_version", str)[:50]
    sandbox = _field(answer, "sandbox", dict)
    probes = _field(answer, "probes", dict)
    raw_plan = _field(answer, "plan", dict)
    if max_categories is not None:
        check_categories(raw_plan, max_categories)
    try:
        plan = Plan(raw_plan)
    except PlanError as exc:
        raise InvalidArtifact(f"The model's plan is not valid: {exc}") from exc
    if plan.kind != kind:
        raise UntrustedArtifact("The sandboxed reader's answer contradicts itself.")
    if reference is not None:
        rows = check_probes(plan, reference.rows, reference.outputs, against="uploader")
        verification = {
            "against": "uploader",
            "sklearn_version": reference.sklearn_version,
            "rows": rows,
        }
    elif probes.get("outputs") is None:
        raise UnsupportedEstimator(_cannot_run(release, server_release))
    else:
        rows = check_probes(plan, probes.get("rows"), probes.get("outputs"))
        verification = {"against": "server", "sklearn_version": server_release, "rows": rows}
    classes = plan.classes
    metrics, tags = search_records(answer.get("search"))
    return IntakeResult(
        kind=kind,
        estimator=estimator[:500],
        plan=plan,
        features=plan.features,
        classes=None if classes is None else tuple(classes),
        sklearn_version=None if release is None else release[:50],
        sandbox={str(k): v for k, v in sandbox.items() if type(v) is bool},
        verification=verification,
        metrics=metrics,
        tags=tags,
        referred=read_referred(answer.get("referred")),
    )


def _cannot_run(release: str | None, server_release: str) -> str:
    saved = f"scikit-learn {release}" if release else "an unknown scikit-learn release"
    return (
        f"The server's scikit-learn {server_release} cannot run this file, saved by {saved}, "
        "to check the plan against it; push it with the Python client or the CLI, which send "
        "your own scikit-learn's outputs to check against."
    )
