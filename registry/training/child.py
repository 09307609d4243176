"""The training child process: options and CSV bytes on stdin, a JSON answer on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

from registry.errors import RegistryError
from registry.training.data import read_csv
from registry.training.fit import _first_line, train


def child_main() -> None:
    """Train in a child process: a JSON header line and CSV bytes on stdin, JSON on stdout."""
    stdin = sys.stdin.buffer.read()
    header, _, data = stdin.partition(b"\n")
    try:
        options = json.loads(header)
        trained = train(
            read_csv(data), options["target"], options["kind"], float(options["test_size"])
        )
        answer: dict[str, Any] = {"ok": True, "result": trained.to_json()}
    except RegistryError as error:
        answer = {"ok": False, "message": error.message, "errors": error.errors}
    except MemoryError:
        answer = {"ok": False, "message": "The CSV is too large to train on in memory."}
    except Exception as error:  # noqa: BLE001 - the parent turns it into a clean 422
        answer = {"ok": False, "message": f"Training failed: {_first_line(error)}"}
    sys.stdout.buffer.write(json.dumps(answer).encode("utf-8"))
    sys.stdout.flush()
