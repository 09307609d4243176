"""The training child process: fences first, then options and CSV bytes on stdin, JSON out."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from registry.intake import fences

# A table with every column kind, fitted once before the fences so that every module
# training needs is loaded while the checkout can still be read.
_WARM_UP = b"x,c,b,y,z\n" + b"".join(
    f"{i * 0.5},{'abc'[i % 3]},{'true' if i % 2 else 'false'},{i % 2},{i * 1.5}\n".encode()
    for i in range(12)
)


def _preload() -> None:
    from registry.training.data import read_csv
    from registry.training.fit import train

    frame = read_csv(_WARM_UP)
    train(frame, "y", "logistic", 0.25)
    train(frame, "z", "linear", 0.25)


def _answer(stdin: bytes) -> dict[str, Any]:
    from registry.errors import RegistryError
    from registry.training.data import read_csv
    from registry.training.fit import _first_line, train

    header, _, data = stdin.partition(b"\n")
    try:
        options = json.loads(header)
        trained = train(
            read_csv(data), options["target"], options["kind"], float(options["test_size"])
        )
        return {"ok": True, "result": trained.to_json()}
    except RegistryError as error:
        return {"ok": False, "message": error.message, "errors": error.errors}
    except MemoryError:
        return {"ok": False, "message": "The CSV is too large to train on in memory."}
    except Exception as error:  # noqa: BLE001 - the parent turns it into a clean 422
        return {"ok": False, "message": f"Training failed: {_first_line(error)}"}


def child_main() -> None:
    """Train in a fenced child: argv root, CPU seconds, memory bytes, parent pid, waived fences."""
    cpu_seconds, memory = int(sys.argv[2]), int(sys.argv[3])
    parent = int(sys.argv[4])
    weak = set(sys.argv[5].split(",")) if len(sys.argv) > 5 else set()
    fences.die_with_parent(parent)
    status = fences.raise_fences(cpu_seconds, memory, parent, _preload)
    missing = sorted(name for name, up in status.items() if not up and name not in weak)
    if missing:
        # Fail closed: the CSV is never read behind a fence that is down.
        answer: dict[str, Any] = {"ok": False, "code": "intake_unavailable", "missing": missing}
    else:
        answer = _answer(sys.stdin.buffer.read())
    answer["sandbox"] = status
    sys.stdout.buffer.write(json.dumps(answer).encode("utf-8"))
    sys.stdout.flush()
    os._exit(0)
