"""The client's HTTP transport: base URL, token, timeouts, error answers, JSON and paging."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Self
from urllib.parse import quote

import requests

from registry.client.errors import ConnectionFailed, error_from_response
from registry.client.tabular import _dumps

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"


class Transport:
    """The HTTP side of a connection to one registry server; ``Registry`` builds the API on it."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        upload_timeout: float = 300.0,
        max_batch_rows: int = 10_000,
        session: requests.Session | None = None,
    ) -> None:
        base = (url or os.environ.get("REGISTRY_URL") or DEFAULT_URL).rstrip("/")
        self.url = base.removesuffix(API_PREFIX)
        self.api = self.url + API_PREFIX
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self.max_batch_rows = max_batch_rows
        self._schemas: dict[tuple[str, int], dict[str, Any]] = {}
        self.session = session or requests.Session()
        token = token or os.environ.get("REGISTRY_TOKEN")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def _request(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> requests.Response:
        try:
            response = self.session.request(
                method, self.api + path, timeout=timeout or self.timeout, **kwargs
            )
        except requests.Timeout as error:
            raise ConnectionFailed(
                None, "timeout", f"{self.url} did not answer in time."
            ) from error
        except requests.ConnectionError as error:
            raise ConnectionFailed(
                None, "connection_failed", f"Cannot reach {self.url}: {error}"
            ) from error
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["data"] = _dumps(body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = self._request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        page = 1
        while True:
            body = self._json("GET", path, params={**query, "page": page, "per_page": 500})
            yield from body["items"]
            if not body["items"] or page * body["per_page"] >= body["total"]:
                return
            page += 1

    @staticmethod
    def _model_path(name: str) -> str:
        return f"/models/{quote(name, safe='')}"

    def _version_path(self, name: str, version: int) -> str:
        return f"{self._model_path(name)}/versions/{int(version)}"
