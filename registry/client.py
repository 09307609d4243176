"""The Python client: the registry's HTTP API as methods that speak pandas and scikit-learn.

    from registry.client import Registry

    registry = Registry("http://127.0.0.1:8000", token="...")  # or REGISTRY_URL, REGISTRY_TOKEN
    registry.push("house-prices", fitted_pipeline, metrics={"r2": 0.91}, activate=True)
    registry.predict("house-prices", frame)  # a Series named "prediction", indexed like frame

Models, versions and events come back as frozen dataclasses: attribute access, a readable repr,
and immutability that says "a snapshot of the server at the time of the call". Each keeps the
whole JSON in ``raw``, so fields the server adds later are never lost. Documents whose JSON is
the point (a comparison, a JSON Schema) come back as plain dicts.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import numpy as np
import pandas as pd
import requests

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
SKOPS_MAGIC = b"PK\x03\x04"
_ROUTING_KEYS = frozenset({"instances", "columns", "data"})
_EXACT_FLOAT_INT = 2**53


# Errors ----------------------------------------------------------------------------------------


class RegistryClientError(Exception):
    """An answer that is not a success, with the server's status, code, message and errors."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def __str__(self) -> str:
        text = f"{self.message} ({self.status} {self.code})"
        return f"{text}: {json.dumps(self.errors)}" if self.errors else text


class BadRequest(RegistryClientError):
    """400: the body or a parameter is malformed."""


class Unauthorized(RegistryClientError):
    """401: no token, or an invalid one."""


class Forbidden(RegistryClientError):
    """403: the token's role is too low."""


class NotFound(RegistryClientError):
    """404: no such model, version or alias, or nothing active."""


class Conflict(RegistryClientError):
    """409: a duplicate name, an incompatible activation, nothing to roll back to."""


class PayloadTooLarge(RegistryClientError):
    """413: the body, the upload or the batch is over the server's limit."""


class UnsupportedMediaType(RegistryClientError):
    """415: the wrong content type."""


class Unprocessable(RegistryClientError):
    """422: well-formed but invalid: bad feature values, an unsupported or untrusted model."""


class ServerError(RegistryClientError):
    """5xx: the server failed; it logged the error."""


class ConnectionFailed(RegistryClientError):
    """The server could not be reached, or did not answer in time (status None)."""


class ChecksumMismatch(RegistryClientError):
    """A downloaded artifact's bytes do not hash to the ETag the server sent (status None)."""


_BY_STATUS: dict[int, type[RegistryClientError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: Unprocessable,
}


def error_from_response(response: requests.Response) -> RegistryClientError:
    """Return the exception for a failed answer, from its JSON error body when it has one."""
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else RegistryClientError)
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return kind(
            status, str(body.get("code", "http_error")), body["message"], body.get("errors")
        )
    return kind(status, "http_error", f"HTTP {status} {response.reason}: {response.text[:200]}")


# Records ---------------------------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class _Record:
    """Builds a frozen dataclass from API JSON, keeping unknown fields in ``raw``."""

    _times: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Self:
        """Return the record of an API answer."""
        values = {}
        for item in fields(cls):  # type: ignore[arg-type]
            if item.name == "raw":
                continue
            value = body.get(item.name)
            values[item.name] = _timestamp(value) if item.name in cls._times else value
        return cls(**values, raw=dict(body))


@dataclass(frozen=True)
class Model(_Record):
    """A registered model as the server described it."""

    _times = ("created_at", "updated_at")

    name: str
    kind: str | None
    description: str
    tags: dict[str, str]
    active_version: int | None
    latest_version: int | None
    aliases: dict[str, int]
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Version(_Record):
    """One version of a model: its estimator, input features, metrics and state."""

    _times = ("created_at",)

    model: str
    version: int
    kind: str
    estimator: str
    features: list[dict[str, Any]]
    classes: list[Any] | None
    sha256: str
    size_bytes: int
    sklearn_version: str | None
    metrics: dict[str, float]
    description: str
    tags: dict[str, str]
    archived: bool
    active: bool
    aliases: list[str]
    created_at: datetime | None
    created_by: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def feature_names(self) -> list[str]:
        """Return the input feature names, in the order the estimator was fitted on."""
        return [f["name"] for f in self.features]


@dataclass(frozen=True)
class Event(_Record):
    """One entry of a model's history."""

    _times = ("at",)

    id: int
    model: str
    version: int | None
    action: str
    actor: str
    at: datetime | None
    detail: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)


# JSON conversion of tabular inputs -------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Return a JSON-ready scalar: numpy scalars unwrapped, NaN and NA as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _column_values(column: pd.Series) -> list[Any]:
    """Return a column as JSON-ready values; floats that are all whole become ints."""
    numpy_dtype = isinstance(column.dtype, np.dtype)  # not a nullable extension dtype
    if numpy_dtype and column.dtype.kind in "biu":
        return column.to_numpy().tolist()
    if numpy_dtype and column.dtype.kind == "f":
        array = column.to_numpy(dtype=np.float64)
        present = ~np.isnan(array)
        if np.isinf(array).any():
            raise ValueError(f"Column {column.name!r} holds infinity, which JSON cannot carry.")
        values = array.tolist()
        # Pandas turns integer columns with gaps into floats; whole numbers keep the server's
        # integer features on their fast path and mean the same to number features.
        kept = array[present]
        if np.all(np.mod(kept, 1) == 0) and np.all(np.abs(kept) < _EXACT_FLOAT_INT):
            return [int(v) if ok else None for v, ok in zip(values, present, strict=True)]
        return [v if ok else None for v, ok in zip(values, present, strict=True)]
    values = [_plain(v) for v in column.astype(object)]
    if any(isinstance(v, float) and math.isinf(v) for v in values):
        raise ValueError(f"Column {column.name!r} holds infinity, which JSON cannot carry.")
    return values


def _frame_rows(frame: pd.DataFrame) -> list[list[Any]]:
    columns = [_column_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return [list(row) for row in zip(*columns, strict=True)]


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        value = _plain(value)
        if isinstance(value, float) and math.isinf(value):
            raise ValueError(f"Feature {key!r} is infinite, which JSON cannot carry.")
        out[str(key)] = value
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable.")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, allow_nan=False)


# The client ------------------------------------------------------------------------------------


class Registry:
    """A connection to one registry server.

    ``url`` defaults to REGISTRY_URL, then http://127.0.0.1:8000 (with or without /api/v1);
    ``token`` defaults to REGISTRY_TOKEN. ``timeout`` bounds every call in seconds,
    ``upload_timeout`` the calls that upload or train. ``max_batch_rows`` is the server's
    REGISTRY_MAX_BATCH_ROWS: larger prediction inputs go in chunks of at most that many rows.
    """

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
        self.session = session or requests.Session()
        token = token or os.environ.get("REGISTRY_TOKEN")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    # Transport ---------------------------------------------------------------------------------

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

    # Models ------------------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        kind: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> Model:
        """Register a model; its kind is fixed here or else by its first version."""
        body = {"name": name, "kind": kind, "description": description, "tags": dict(tags or {})}
        return Model.from_json(self._json("POST", "/models", body))

    def get_model(self, name: str) -> Model:
        """Return one model."""
        return Model.from_json(self._json("GET", self._model_path(name)))

    def list_models(
        self, q: str | None = None, tag: str | None = None, kind: str | None = None
    ) -> list[Model]:
        """Return every model matching the filters (``tag`` as "key:value"), all pages."""
        items = self._pages("/models", {"q": q, "tag": tag, "kind": kind})
        return [Model.from_json(item) for item in items]

    def delete_model(self, name: str) -> None:
        """Delete a model with all its versions (admin)."""
        self._json("DELETE", self._model_path(name))

    # Versions ----------------------------------------------------------------------------------

    def push(
        self,
        name: str,
        estimator: Any,
        description: str = "",
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        features: Sequence[str] | None = None,
        activate: bool = False,
        create: bool = True,
    ) -> Version:
        """Upload a fitted estimator, a .joblib/.skops file path or the file's bytes.

        An estimator is saved with joblib in memory. With ``create`` a missing model is
        registered first. ``features`` names the columns of an estimator fitted on a bare array.
        """
        data = _artifact_bytes(estimator)
        form: dict[str, str] = {"description": description, "activate": _flag(activate)}
        if metrics is not None:
            form["metrics"] = _dumps(dict(metrics))
        if tags is not None:
            form["tags"] = _dumps(dict(tags))
        if features is not None:
            form["features"] = _dumps(list(features))
        path = f"{self._model_path(name)}/versions"
        try:
            return self._upload(path, "artifact", data, form)
        except NotFound as error:
            if not create or error.code != "model_not_found":
                raise
        try:
            self.create_model(name)
        except Conflict as error:  # another client created it in between: fine
            if error.code != "model_exists":
                raise
        return self._upload(path, "artifact", data, form)

    def _upload(self, path: str, part: str, data: bytes, form: dict[str, str]) -> Version:
        files = {part: (part, data, "application/octet-stream")}
        response = self._request("POST", path, files=files, data=form, timeout=self.upload_timeout)
        return Version.from_json(response.json())

    def train(
        self,
        name: str,
        data: str | os.PathLike[str] | pd.DataFrame,
        target: str,
        kind: str | None = None,
        test_size: float | None = None,
        activate: bool = False,
        description: str = "",
    ) -> Version:
        """Have the server fit a pipeline on a CSV (a path or a DataFrame) and keep a version.

        The model is created when needed; the version carries the held-out metrics.
        """
        if isinstance(data, pd.DataFrame):
            csv = data.to_csv(index=False).encode()
        else:
            csv = Path(data).read_bytes()
        form = {"target": target, "activate": _flag(activate), "description": description}
        if kind is not None:
            form["kind"] = kind
        if test_size is not None:
            form["test_size"] = str(test_size)
        return self._upload(f"{self._model_path(name)}/versions/train", "data", csv, form)

    def versions(self, name: str) -> list[Version]:
        """Return every version of a model, newest first."""
        items = self._pages(f"{self._model_path(name)}/versions")
        return [Version.from_json(item) for item in items]

    def version(self, name: str, version: int) -> Version:
        """Return one version."""
        return Version.from_json(self._json("GET", self._version_path(name, version)))

    def schema(self, name: str, version: int) -> dict[str, Any]:
        """Return the JSON Schema of one input row of a version."""
        return self._json("GET", f"{self._version_path(name, version)}/schema")

    def activate(self, name: str, version: int, force: bool = False) -> Model:
        """Make a version the one that answers; ``force`` skips the compatibility check."""
        path = f"{self._version_path(name, version)}/activate"
        return Model.from_json(self._json("POST", path, params={"force": _flag(force)}))

    def rollback(self, name: str) -> Model:
        """Make the previously active version active again."""
        return Model.from_json(self._json("POST", f"{self._model_path(name)}/rollback"))

    def set_alias(self, name: str, alias: str, version: int) -> Model:
        """Point an alias (e.g. "staging") at a version."""
        path = f"{self._model_path(name)}/aliases/{quote(alias, safe='')}"
        return Model.from_json(self._json("PUT", path, {"version": int(version)}))

    def remove_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._json("DELETE", f"{self._model_path(name)}/aliases/{quote(alias, safe='')}")

    def events(self, name: str) -> list[Event]:
        """Return a model's history, newest first."""
        items = self._pages(f"{self._model_path(name)}/events")
        return [Event.from_json(item) for item in items]

    def compare(self, name: str, a: int, b: int) -> dict[str, Any]:
        """Return the metric and schema differences of two versions, as the server gives them."""
        return self._json("GET", f"{self._model_path(name)}/compare", params={"a": a, "b": b})

    def compare_predictions(self, name: str, a: int, b: int, X: Any) -> dict[str, Any]:
        """Score the same rows on two versions; return both answers and their differences.

        ``X`` takes the forms of ``predict``; an array's columns are version ``a``'s features.
        """
        if _is_row(X):
            body = _single_body(X)
        else:
            if _is_array(X):
                X = self._array_frame(name, X, a, None)[0]
            body = _table_bodies(X, max(1, len(X)))[0]
        path = f"{self._model_path(name)}/compare"
        return self._json("POST", path, body, params={"a": a, "b": b})

    def download_bytes(self, name: str, version: int) -> bytes:
        """Return a version's original file, checked against the sha256 in its ETag."""
        response = self._request("GET", f"{self._version_path(name, version)}/artifact")
        data = response.content
        expected = response.headers.get("ETag", "").removeprefix("W/").strip('"')
        actual = hashlib.sha256(data).hexdigest()
        if expected != actual:
            raise ChecksumMismatch(
                None,
                "checksum_mismatch",
                f"The artifact of {name} v{version} hashes to {actual}, not the ETag {expected!r}.",
            )
        return data

    def download(self, name: str, version: int) -> Any:
        """Return a version's fitted estimator.

        This unpickles the file (joblib.load, or skops trusting every type in it), which can
        run code: only download from a registry you trust. The bytes are checked against the
        server's sha256 first; ``download_bytes`` gives them without loading.
        """
        import joblib

        data = self.download_bytes(name, version)
        if data.startswith(SKOPS_MAGIC):
            import skops.io

            return skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
        return joblib.load(io.BytesIO(data))

    # Predictions -------------------------------------------------------------------------------

    def predict(
        self,
        name: str,
        X: Any,
        version: int | None = None,
        alias: str | None = None,
        explain: bool = False,
        proba: bool = False,
    ) -> Any:
        """Predict with the active version, or a given ``version`` or ``alias``.

        ``X`` is a DataFrame (answers a Series named "prediction" with X's index), a list of
        row dicts or a 2-D array (a Series on a fresh index; an array's columns are the
        version's features in order), or one row dict (answers the scalar). ``attrs["version"]``
        names the version that answered. ``proba=True`` (logistic) answers a DataFrame of
        probabilities, one column per class (a dict for one row). ``explain=True`` answers a
        pair (that answer, contributions): a DataFrame of each feature's additive part plus
        "_intercept" (columns (class, feature) for a multinomial model; a dict for one row).
        Large inputs go in chunks of ``max_batch_rows``, all to the version the first answered.
        """
        if version is not None and alias is not None:
            raise ValueError("Give a version or an alias, not both.")
        params = {"explain": "true"} if explain else None
        path = self._predict_path(name, version, alias)
        if _is_row(X):
            answer = self._json("POST", path, _single_body(X), params=params)
            return self._single_result(name, _unwrap(answer), explain, proba)
        if _is_array(X):
            X, resolved = self._array_frame(name, X, version, alias)
            path = self._predict_path(name, resolved, None)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))
        answers = []
        for body in _table_bodies(X, max(1, self.max_batch_rows)):
            answer = self._json("POST", path, body, params=params)
            # Every chunk goes to the version that answered the first, even if another is
            # activated meanwhile.
            path = self._predict_path(name, answer["version"], None)
            answers.append(answer)
        return self._batch_result(name, answers, index, explain, proba)

    def _predict_path(self, name: str, version: int | None, alias: str | None) -> str:
        if version is not None:
            return f"{self._version_path(name, version)}/predict"
        if alias is not None:
            return f"{self._model_path(name)}/aliases/{quote(alias, safe='')}/predict"
        return f"{self._model_path(name)}/predict"

    def _array_frame(
        self, name: str, X: Any, version: int | None, alias: str | None
    ) -> tuple[pd.DataFrame, int]:
        """Return a bare array as a frame named by the selected version's features."""
        array = np.asarray(X, dtype=object if not isinstance(X, np.ndarray) else None)
        if array.ndim != 2:
            raise ValueError(f"Expected a 2-D array of rows, got {array.ndim} dimension(s).")
        if version is None:
            model = self.get_model(name)
            version = model.aliases.get(alias) if alias is not None else model.active_version
            if version is None:
                what = f"no alias {alias!r}" if alias is not None else "no active version"
                code = "alias_not_found" if alias is not None else "no_active_version"
                raise NotFound(404, code, f"The model {name!r} has {what}.")
        names = self.version(name, version).feature_names
        if array.shape[1] != len(names):
            raise ValueError(
                f"The array has {array.shape[1]} columns; {name} v{version} takes "
                f"{len(names)}: {', '.join(names)}."
            )
        return pd.DataFrame(array, columns=names), version

    def _classes(self, name: str, version: int) -> dict[str, Any]:
        classes = self.version(name, version).classes or []
        return {str(c): c for c in classes}

    def _single_result(self, name: str, answer: dict[str, Any], explain: bool, proba: bool) -> Any:
        result = answer["prediction"]
        if proba:
            labels = self._classes(name, answer["version"])
            result = {labels.get(k, k): p for k, p in answer["probabilities"].items()}
        if explain:
            return result, answer["contributions"]
        return result

    def _batch_result(
        self,
        name: str,
        answers: list[dict[str, Any]],
        index: pd.Index,
        explain: bool,
        proba: bool,
    ) -> Any:
        version = answers[0]["version"]
        if proba:
            rows = [p for answer in answers for p in answer.get("probabilities") or []]
            if len(rows) != len(index):
                raise ValueError(f"{name} v{version} is not a classifier: it has no probabilities.")
            labels = self._classes(name, version)
            result: Any = pd.DataFrame(rows, index=index).rename(columns=labels)
            result.columns.name = "class"
        else:
            predictions = [p for answer in answers for p in answer["predictions"]]
            result = pd.Series(predictions, index=index, name="prediction")
        result.attrs["version"] = version
        if not explain:
            return result
        parts = [c for answer in answers for c in answer["contributions"]]
        if parts and isinstance(next(iter(parts[0].values())), dict):
            labels = self._classes(name, version)
            flat = [
                {(labels.get(k, k), f): v for k, by in row.items() for f, v in by.items()}
                for row in parts
            ]
            contributions = pd.DataFrame(flat, index=index)
            contributions.columns = pd.MultiIndex.from_tuples(
                contributions.columns, names=["class", "feature"]
            )
        else:
            contributions = pd.DataFrame(parts, index=index)
        contributions.attrs["version"] = version
        return result, contributions


def _unwrap(answer: dict[str, Any]) -> dict[str, Any]:
    """Return a one-row answer in the single-row shape, however the row was sent."""
    if "prediction" in answer:
        return answer
    out = {"model": answer["model"], "version": answer["version"]}
    out["prediction"] = answer["predictions"][0]
    for key in ("probabilities", "contributions"):
        if key in answer:
            out[key] = answer[key][0]
    return out


def _table_bodies(X: Any, step: int) -> list[dict[str, Any]]:
    """Return prediction bodies of at most ``step`` rows: columns/data for a frame, else rows."""
    if len(X) == 0:
        raise ValueError("There are no rows to predict.")
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        rows = _frame_rows(X)
        chunks = [rows[i : i + step] for i in range(0, len(rows), step)]
        return [{"columns": names, "data": chunk} for chunk in chunks]
    rows = [_plain_row(row) for row in X]
    return [{"instances": rows[i : i + step]} for i in range(0, len(rows), step)]


def _is_row(X: Any) -> bool:
    return isinstance(X, (Mapping, pd.Series))


def _is_array(X: Any) -> bool:
    if isinstance(X, pd.DataFrame) or _is_row(X):
        return False
    if isinstance(X, np.ndarray):
        return True
    return isinstance(X, Sequence) and not all(isinstance(row, Mapping) for row in X)


def _single_body(X: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
    row = _plain_row(X.to_dict() if isinstance(X, pd.Series) else X)
    # A feature named like a body key would make the flat form ambiguous: send it as rows.
    return {"instances": [row]} if _ROUTING_KEYS & row.keys() else row


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _artifact_bytes(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).read_bytes()
    if not hasattr(source, "predict"):
        raise TypeError(f"Expected a fitted estimator, a file path or bytes, not {source!r}.")
    import joblib

    buffer = io.BytesIO()
    joblib.dump(source, buffer)
    return buffer.getvalue()
