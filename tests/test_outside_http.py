"""Malformed HTTP bodies sent to a live server: a 400 that says so, never a 500.

The buffering worker hands a broken chunked body to the app, and gunicorn's body reader raises
when the app reads it (InvalidChunkSize, ChunkMissingTerminator: not OSErrors).
"""

from __future__ import annotations

import socket

import pytest

BROKEN = [b"ZZ\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n"]


def _raw(url: str, payload: bytes) -> tuple[bytes, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def _chunked(path: str, headers: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize("body", BROKEN)
def test_broken_chunking_is_a_json_400(live_server, live_token, body: bytes):
    token = live_token["Authorization"]
    for path, kind in (
        ("/api/v1/models", "application/json"),
        ("/api/v1/models/x/versions", "multipart/form-data; boundary=x"),
    ):
        headers = f"Authorization: {token}\r\nContent-Type: {kind}\r\n"
        status, answer = _raw(live_server.url, _chunked(path, headers, body))
        assert status.startswith(b"HTTP/1.1 400"), (path, status, answer)
        assert b'"The request body could not be read."' in answer


@pytest.mark.parametrize("same_site", [True, False])
def test_broken_chunking_on_the_dashboard_is_a_page(live_server, same_site: bool):
    # From this site the body is read and found broken (400); from another the sign-in is
    # refused first (403), and the refusal's page must not trip on the body either.
    host = live_server.url.removeprefix("http://") if same_site else "elsewhere.example"
    request = _chunked(
        "/ui/session",
        f"Origin: {live_server.url}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        BROKEN[0],
    ).replace(b"Host: x", f"Host: {host}".encode())
    status, answer = _raw(live_server.url, request)
    assert status.startswith(b"HTTP/1.1 400" if same_site else b"HTTP/1.1 403"), (status, answer)
    assert b"<!DOCTYPE html>" in answer
