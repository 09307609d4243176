"""A trivial socket server answering a constant: shows what the load generator alone can do."""

from __future__ import annotations

import socket
import sys

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\n{}"
)


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def serve_constant(port: int) -> None:
    """Answer every request on 127.0.0.1:port with a constant, one connection at a time."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1024)
        while True:
            conn, _ = listener.accept()
            with conn:
                _read_request(conn)
                conn.sendall(ANSWER)


if __name__ == "__main__":
    serve_constant(int(sys.argv[1]))
