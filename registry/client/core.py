"""The Registry client class: models, versions, downloads and predictions over HTTP."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from registry.client.artifacts import _artifact_bytes, _load_artifact
from registry.client.errors import ChecksumMismatch, Conflict, MissingFeatures, NotFound
from registry.client.records import Event, Model, Version
from registry.client.tabular import (
    _batch_result,
    _dumps,
    _is_array,
    _is_row,
    _single_body,
    _single_result,
    _table_bodies,
    _unwrap,
)
from registry.client.transport import Transport


class Registry(Transport):
    """A connection to one registry server.

    ``url`` defaults to REGISTRY_URL, then http://127.0.0.1:8000 (with or without /api/v1);
    ``token`` defaults to REGISTRY_TOKEN. ``timeout`` bounds every call in seconds,
    ``upload_timeout`` the calls that upload or train. ``max_batch_rows`` is the server's
    REGISTRY_MAX_BATCH_ROWS: larger prediction inputs go in chunks of at most that many rows.
    """

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

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
        features: Sequence[str | dict[str, Any]] | None = None,
        activate: bool = False,
        create: bool = True,
    ) -> Version:
        """Upload a fitted estimator, a .joblib/.skops file path or the file's bytes.

        An estimator is saved with joblib in memory. With ``create`` a missing model is
        registered first. ``features`` names the columns of an estimator fitted on a bare array;
        an item may be ``{"name", "type"}`` to declare a column integer or boolean.
        With an estimator (not a file), its own predictions on the server's probe rows are sent
        along, so the server checks its plan against the scikit-learn release you fitted with.
        """
        data = _artifact_bytes(estimator)
        form: dict[str, str] = {"description": description, "activate": _flag(activate)}
        reference = _reference(estimator, features)
        if reference is not None:
            form["reference"] = _dumps(reference)
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
        return _load_artifact(self.download_bytes(name, version))

    # Predictions -------------------------------------------------------------------------------

    def predict(
        self,
        name: str,
        X: Any,
        version: int | None = None,
        alias: str | None = None,
        explain: bool = False,
        proba: bool = False,
        allow_missing: bool = False,
    ) -> Any:
        """Predict with the active version, or a given ``version`` or ``alias``.

        A DataFrame must have a column for every feature (a ``MissingFeatures`` error names the
        ones it lacks, with close matches) unless ``allow_missing``, which has the server fill
        them in as the model was trained to; other columns are named once in a warning and
        not sent (a column the model received but does not use is sent and ignored).

        ``X`` is a DataFrame (answers a Series named "prediction" with X's index), a list of
        row dicts or a 2-D array (a Series on a fresh index; an array's columns are the
        version's features in order), or one row dict (answers the scalar). ``attrs["version"]``
        names the version that answered; ``attrs["imputed"]``, present when some row lacked a
        value (NaN, None or an absent column), lists per row the features the server filled
        in. ``proba=True`` (logistic) answers a DataFrame of probabilities, one column per
        class (a dict for one row). ``explain=True`` answers a
        pair (that answer, contributions): a DataFrame of each feature's additive part plus
        "_intercept" (columns (class, feature) for a multinomial model; a dict for one row);
        its ``attrs["space"]`` says where the parts add up when not to the prediction
        ("linear_predictor" for a GLM's log link, "transformed_target" for a
        TransformedTargetRegressor).
        Large inputs go in chunks of ``max_batch_rows``, all to the version the first answered.
        """
        if version is not None and alias is not None:
            raise ValueError("Give a version or an alias, not both.")
        params = {"explain": "true"} if explain else None
        path = self._predict_path(name, version, alias)
        if _is_row(X):
            answer = self._json("POST", path, _single_body(X), params=params)
            return _single_result(name, _unwrap(answer), explain, proba, self._classes)
        if _is_array(X):
            X, resolved = self._array_frame(name, X, version, alias)
            path = self._predict_path(name, resolved, None)
        elif isinstance(X, pd.DataFrame):
            X, resolved = self._checked_frame(name, X, version, alias, allow_missing)
            path = self._predict_path(name, resolved, None)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))
        answers = []
        for body in _table_bodies(X, max(1, self.max_batch_rows)):
            answer = self._json("POST", path, body, params=params)
            # Every chunk goes to the version that answered the first, even if another is
            # activated meanwhile.
            path = self._predict_path(name, answer["version"], None)
            answers.append(answer)
        return _batch_result(name, answers, index, explain, proba, self._classes)

    def _predict_path(self, name: str, version: int | None, alias: str | None) -> str:
        if version is not None:
            return f"{self._version_path(name, version)}/predict"
        if alias is not None:
            return f"{self._model_path(name)}/aliases/{quote(alias, safe='')}/predict"
        return f"{self._model_path(name)}/predict"

    def _resolve(self, name: str, version: int | None, alias: str | None) -> int:
        """Return the version a version, an alias or else the active one names."""
        if version is None:
            model = self.get_model(name)
            version = model.aliases.get(alias) if alias is not None else model.active_version
            if version is None:
                what = f"no alias {alias!r}" if alias is not None else "no active version"
                code = "alias_not_found" if alias is not None else "no_active_version"
                raise NotFound(404, code, f"The model {name!r} has {what}.")
        return version

    def _checked_frame(
        self, name: str, X: pd.DataFrame, version: int | None, alias: str | None, allow: bool
    ) -> tuple[pd.DataFrame, int]:
        """Return the frame's columns the version takes, refusing one that lacks a feature."""
        version = self._resolve(name, version, alias)
        key = (name, version)
        if key not in self._schemas:  # a version's inputs never change
            self._schemas[key] = self.schema(name, version)
        schema = self._schemas[key]
        accepted = list(schema.get("properties", {}))
        columns = [str(c) for c in X.columns]
        features = [p for p in accepted if p not in _ignored(schema)]
        absent = [f for f in features if f not in columns]
        if absent and not allow:
            raise MissingFeatures(name, version, absent, [c for c in columns if c not in accepted])
        extra = [c for c in columns if c not in accepted]
        if extra:
            warnings.warn(
                f"Not inputs of {name} v{version}, not sent: {', '.join(extra[:10])}"
                + (f" and {len(extra) - 10} more" if len(extra) > 10 else ""),
                UserWarning,
                stacklevel=3,
            )
            X = X[[c for c in X.columns if str(c) in accepted]]
        return X, version

    def _array_frame(
        self, name: str, X: Any, version: int | None, alias: str | None
    ) -> tuple[pd.DataFrame, int]:
        """Return a bare array as a frame named by the selected version's features."""
        array = np.asarray(X, dtype=object if not isinstance(X, np.ndarray) else None)
        if array.ndim != 2:
            raise ValueError(f"Expected a 2-D array of rows, got {array.ndim} dimension(s).")
        version = self._resolve(name, version, alias)
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


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _reference(
    estimator: Any, features: Sequence[str | dict[str, Any]] | None
) -> dict[str, Any] | None:
    """Return this scikit-learn's outputs to check the server's plan against, if it can."""
    if isinstance(estimator, (str, bytes, bytearray, os.PathLike)):
        return None
    from registry.errors import RegistryError
    from registry.intake.reference import reference_outputs

    try:
        return reference_outputs(estimator, features)
    except RegistryError:
        return None  # not supported here either: the server's refusal says why


def _ignored(schema: dict[str, Any]) -> set[str]:
    """The inputs a version receives but does not use: in its schema, without a type."""
    return {name for name, prop in schema.get("properties", {}).items() if "type" not in prop}
