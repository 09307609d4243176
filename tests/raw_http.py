"""Raw HTTP over a socket, for requests no HTTP client would send as they are written."""

from __future__ import annotations

import socket


def exchange(url: str, payload: bytes, timeout: float = 30) -> bytes:
    """Send ``payload`` to the server at ``url`` and return all it answers until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
