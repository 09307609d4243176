"""The worker's fast path builds the environ gunicorn builds, and leaves the rest to gunicorn."""

from __future__ import annotations

import pytest
from gunicorn.config import Config as GunicornConfig
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from registry.plain_http import Limits, base_environ, build_environ, parse_plain
from tests.raw_http import exchange

CLIENT = ("127.0.0.1", 40001)
SERVER = ("127.0.0.1", 8000)
# Objects, not values: they differ by construction between the two environs.
OBJECTS = {"wsgi.input", "wsgi.errors", "wsgi.early_hints", "gunicorn.socket"}

PLAIN = [
    b"GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n",
    b"POST /api/v1/models/house/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
    b"\r\nContent-Length: 2\r\nConnection: keep-alive\r\nUser-Agent: curl/8.0\r\n\r\n{}",
    b"GET /api/v1/models?q=a%20b&page=2 HTTP/1.0\r\nAccept:   */*  \r\n\r\n",
    b"GET /api/v1/models/caf%C3%A9 HTTP/1.1\r\nX-Request-ID: abc\r\nConnection: close\r\n\r\n",
    b"DELETE /api/v1/models/x HTTP/1.1\r\nAuthorization: Bearer t0k\r\nContent-Length: 0\r\n\r\n",
    b'HEAD / HTTP/1.1\r\nIf-None-Match: "a b"\r\n\r\n',
    b"OPTIONS /api/v1/x:y HTTP/1.1\r\nEmpty:\r\n\r\n",
]

NOT_PLAIN = [
    b"GET //double HTTP/1.1\r\n\r\n",
    b"GET /a#frag HTTP/1.1\r\n\r\n",
    b"GET http://host/a HTTP/1.1\r\n\r\n",
    b"get /a HTTP/1.1\r\n\r\n",
    b"BREW /a HTTP/1.1\r\n\r\n",
    b"GET /a HTTP/2.0\r\n\r\n",
    b"GET /a HTTP/1.1\r\nX_Underscore: 1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nName : space\r\n\r\n",
    b"GET /a HTTP/1.1\r\nFolded: a\r\n b\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /a HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n\r\n",
    b"GET /a HTTP/1.1\r\nLatin: caf\xe9\r\n\r\n",
    b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /a HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
    b"POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /a HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
    b"GET /a HTTP/1.1\r\nX-Forwarded-Proto: https\r\n\r\n",
    b"GET /a HTTP/1.1\r\nConnection: close, te\r\n\r\n",
    b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n",
    b"GET /a HTTP/1.1\r\nBig: " + b"b" * 9000 + b"\r\n\r\n",
    b"GET /a HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(101)) + b"\r\n",
]


def _head_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def _gunicorn_environ(cfg: GunicornConfig, raw: bytes) -> tuple[dict, bool]:
    request = next(RequestParser(cfg, iter([raw]), CLIENT))
    _response, environ = wsgi.create(request, None, CLIENT, SERVER, cfg)
    environ["wsgi.multithread"] = True  # as gunicorn's threaded worker sets it
    return environ, request.should_close()


@pytest.mark.parametrize("raw", PLAIN)
def test_plain_requests_get_gunicorns_environ(raw):
    cfg = GunicornConfig()
    expected, should_close = _gunicorn_environ(cfg, raw)
    parsed = parse_plain(_head_lines(raw), Limits(cfg))
    assert parsed is not None
    request, keys = parsed
    body = raw.split(b"\r\n\r\n", 1)[1]
    environ = build_environ(base_environ(cfg), request, keys, body, None, CLIENT, SERVER)
    assert {k: v for k, v in environ.items() if k not in OBJECTS} == {
        k: v for k, v in expected.items() if k not in OBJECTS
    }
    assert environ["wsgi.input"].read() == expected["wsgi.input"].read()
    assert request.should_close() == should_close


@pytest.mark.parametrize("raw", NOT_PLAIN)
def test_other_requests_are_left_to_gunicorn(raw):
    assert parse_plain(_head_lines(raw), Limits(GunicornConfig())) is None


def test_pipelined_and_mixed_requests_are_all_answered(live_server):
    plain = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    # Left to gunicorn (a field name with '_'), between plain ones, all in one write.
    other = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX_Odd: 1\r\n\r\n"
    last = b"GET /health/live HTTP/1.0\r\n\r\n"
    answers = exchange(live_server.url, plain + other + plain + last)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert answers.count(b"HTTP/1.0 200 OK\r\n") == 1
    assert answers.count(b"X-Request-ID: ") == 4
