"""An artifact uploaded through the Flask test client, as the multipart form a publisher sends."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def post_artifact(
    client: FlaskClient,
    name: str,
    artifact: bytes,
    headers: dict[str, str],
    filename: str = "m.joblib",
    **fields: str,
) -> TestResponse:
    """Upload ``artifact`` as a new version of model ``name``, with the form's other fields."""
    return client.post(
        f"/api/v1/models/{name}/versions",
        data={"artifact": (io.BytesIO(artifact), filename), **fields},
        headers=headers,
        content_type="multipart/form-data",
    )
