"""Plain HTTP/1.x requests, read without gunicorn's parser: the buffering worker's fast path.

gunicorn's request parsing, environ building and response set-up cost the worker about as
much CPU as a single-row prediction itself. Most requests are plain: a known method, an
origin-form target, well-formed unique header fields, a body framed by Content-Length. For
those, :func:`parse_plain` builds the same WSGI environ gunicorn builds, from the head lines
the worker has already split. Anything else (chunked bodies, Expect, Upgrade, forwarded scheme
headers, field names with underscores, non-ASCII bytes, anything near gunicorn's limits) is
*not plain*: it returns None and gunicorn reads the request as before, so every refusal keeps
coming from gunicorn's parser, answered in the API's JSON shape (registry.server).
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable
from typing import Any

from gunicorn.http import wsgi
from gunicorn.util import http_date, unquote_to_wsgi_str

from registry.server import CoalescingResponse

# Origin-form targets of printable ASCII, no fragment, not starting with '//'
# (which gunicorn splits differently).
_REQUEST_LINE = re.compile(
    rb"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/(?!/)[!-\"$-~]*) HTTP/1\.([01])"
)
# A token without '_' (gunicorn drops such fields), then a value of visible ASCII, space, tab.
_FIELD = re.compile(rb"([!#$%&'*+.^`|~0-9A-Za-z-]+):[ \t]*((?:[!-~](?:[ \t]*[!-~])*)?)[ \t]*")
# Fields whose meaning gunicorn handles itself (framing, interim answers, protocol switches,
# the scheme a trusted proxy forwards): a request carrying one goes to gunicorn's parser.
_GUNICORNS_OWN = frozenset(
    (
        "TRANSFER-ENCODING",
        "EXPECT",
        "UPGRADE",
        "HTTP2-SETTINGS",
        "X-FORWARDED-PROTO",
        "X-FORWARDED-PROTOCOL",
        "X-FORWARDED-SSL",
        "FORWARDED",
    )
)
_VERSIONS = {b"0": (1, 0), b"1": (1, 1)}


class PlainRequest:
    """What gunicorn's Response and error handling read of a request."""

    __slots__ = ("method", "uri", "version", "close_asked", "path", "query", "body")

    def __init__(self, method: str, uri: str, version: tuple[int, int], close_asked: bool) -> None:
        self.method = method
        self.uri = uri
        self.version = version
        self.close_asked = close_asked
        self.path, _, self.query = uri.partition("?")
        self.body = None  # the environ has the body; gunicorn's error answer reads this

    def should_close(self) -> bool:
        return self.close_asked


class Limits:
    """gunicorn's request-size limits; a plain request stays well inside them."""

    def __init__(self, cfg: Any) -> None:
        self.line = cfg.limit_request_line if cfg.limit_request_line > 0 else 1 << 20
        self.fields = cfg.limit_request_fields
        self.field_size = cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else 0
        self.secure_fields = frozenset(name.upper() for name in cfg.secure_scheme_headers)


def parse_plain(lines: list[bytes], limits: Limits) -> tuple[PlainRequest, dict[str, str]] | None:
    """Return the request and its CGI-style header keys, or None when it is not plain."""
    request_line = lines[0]
    if len(request_line) > limits.line:
        return None
    match = _REQUEST_LINE.fullmatch(request_line)
    if match is None or len(lines) - 1 > limits.fields:
        return None
    method, target, minor = match.groups()
    version = _VERSIONS[minor]
    close_asked = version == (1, 0)
    keys: dict[str, str] = {}
    for line in lines[1:]:
        if limits.field_size and len(line) + 2 > limits.field_size:
            return None
        field = _FIELD.fullmatch(line)
        if field is None:
            return None
        name = field[1].decode("ascii").upper()
        if name in _GUNICORNS_OWN or name in limits.secure_fields:
            return None
        value = field[2].decode("ascii")
        if name == "CONTENT-TYPE":
            key = "CONTENT_TYPE"
        elif name == "CONTENT-LENGTH":
            if not value.isdigit():
                return None
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.replace("-", "_")
            if name == "CONNECTION":
                token = value.lower()
                if token == "close":
                    close_asked = True
                elif token == "keep-alive":
                    close_asked = False
                elif token != "":
                    return None  # 'upgrade', lists of options: gunicorn's to read
        if key in keys:
            return None  # repeated fields: gunicorn joins or refuses them
        keys[key] = value
    request = PlainRequest(method.decode("ascii"), target.decode("ascii"), version, close_asked)
    return request, keys


def base_environ(cfg: Any) -> dict[str, Any]:
    """Return the environ entries that are the same for every request of this worker."""
    environ = wsgi.base_environ(cfg)
    environ.update({"wsgi.multithread": True, "wsgi.url_scheme": "http", "SCRIPT_NAME": ""})
    return environ


def build_environ(
    base: dict[str, Any],
    request: PlainRequest,
    keys: dict[str, str],
    body: bytes,
    sock: Any,
    client: tuple[str, int],
    server: tuple[str, int],
) -> dict[str, Any]:
    """Return the environ gunicorn's wsgi.create would build for this plain request."""
    environ = base.copy()
    environ.update(keys)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["gunicorn.socket"] = sock
    environ["REQUEST_METHOD"] = request.method
    environ["QUERY_STRING"] = request.query
    environ["RAW_URI"] = request.uri
    environ["SERVER_PROTOCOL"] = "HTTP/1.1" if request.version == (1, 1) else "HTTP/1.0"
    environ["REMOTE_ADDR"] = client[0]
    environ["REMOTE_PORT"] = str(client[1])
    environ["SERVER_NAME"] = server[0]
    environ["SERVER_PORT"] = str(server[1])
    path = request.path
    environ["PATH_INFO"] = unquote_to_wsgi_str(path) if "%" in path else path
    return environ


class _DateHeader:
    """The Date header's text, formatted once a second rather than once an answer."""

    second = -1
    text = ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.text, cls.second = http_date(second), second
        return cls.text


class PlainResponse(CoalescingResponse):
    """gunicorn's response for a plain request: the same head, its Date cached per second."""

    def default_headers(self) -> list[str]:
        if self.upgrade:
            connection = "upgrade"
        elif self.should_close():
            connection = "close"
        else:
            connection = "keep-alive"
        version = self.req.version
        headers = [
            f"HTTP/{version[0]}.{version[1]} {self.status}\r\n",
            f"Server: {self.version}\r\n",
            f"Date: {_DateHeader.now()}\r\n",
            f"Connection: {connection}\r\n",
        ]
        if self.chunked:
            headers.append("Transfer-Encoding: chunked\r\n")
        return headers


def write_answer(response: PlainResponse, answer: Iterable[bytes], environ: dict) -> None:
    """Send what the app returned through the response, as gunicorn's handle_request does."""
    try:
        if isinstance(answer, environ["wsgi.file_wrapper"]):
            response.write_file(answer)
        else:
            for item in answer:
                response.write(item)
        response.close()
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
