"""The Python client: the registry's HTTP API as methods that speak pandas and scikit-learn.

    from registry.client import Registry

    registry = Registry("http://127.0.0.1:8000", token="...")  # or REGISTRY_URL, REGISTRY_TOKEN
    registry.push("house-prices", fitted_pipeline, metrics={"r2": 0.91}, activate=True)
    registry.predict("house-prices", frame)  # a Series named "prediction", indexed like frame

The package: ``errors`` (the exceptions), ``records`` (Model, Version, Event), ``tabular``
(inputs to JSON bodies, answers to pandas), ``artifacts`` (model files to upload and load),
``transport`` (HTTP, errors, paging) and ``core`` (the Registry class).
"""

from registry.client.artifacts import SKOPS_MAGIC
from registry.client.core import Registry
from registry.client.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    ConnectionFailed,
    Forbidden,
    MissingFeatures,
    NotFound,
    PayloadTooLarge,
    RegistryClientError,
    ServerError,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
    error_from_response,
)
from registry.client.records import Event, Model, Version

# The body builders stay reachable as before; the tests check them directly.
from registry.client.tabular import _single_body as _single_body
from registry.client.tabular import _table_bodies as _table_bodies
from registry.client.transport import API_PREFIX, DEFAULT_URL

__all__ = [
    "API_PREFIX",
    "DEFAULT_URL",
    "SKOPS_MAGIC",
    "BadRequest",
    "ChecksumMismatch",
    "Conflict",
    "ConnectionFailed",
    "Event",
    "Forbidden",
    "MissingFeatures",
    "Model",
    "NotFound",
    "PayloadTooLarge",
    "Registry",
    "RegistryClientError",
    "ServerError",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedMediaType",
    "Version",
    "error_from_response",
]
