"""What a model adds to the whole-registry documents, pinned so it cannot grow back.

At 10,000 models every byte a model's section carries is 10 KB of swagger.json and of
openapi.json: what all models say alike (error answers, the explain parameter) is said once at
the top of the document and referred to.
"""

from __future__ import annotations

import pytest
from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV31SpecValidator, validate

from tests.test_docs import CHURN, HOUSE, add, create, release_generation_watch  # noqa: F401

DOCUMENTS = ("/api/v1/swagger.json", "/api/v1/openapi.json")
# Bytes one more model adds (house: 4 features, one nullable; churn: a classifier of 2
# classes). Measured before the shared answers and parameters: house 17,424 (swagger.json) and
# 18,092 (openapi.json), churn 17,968 and 18,383; after: 9,354 and 8,480, 9,898 and 8,771.
BOUNDS = {
    ("house", "/api/v1/swagger.json"): 9_500,
    ("house", "/api/v1/openapi.json"): 8_600,
    ("churn", "/api/v1/swagger.json"): 10_000,
    ("churn", "/api/v1/openapi.json"): 8_900,
}
PLANS = {"house": HOUSE, "churn": CHURN}


@pytest.mark.parametrize("kind", ["house", "churn"])
def test_bytes_per_model_stay_below_the_bound(app, client, tokens, kind):
    sizes: dict[str, list[int]] = {path: [] for path in DOCUMENTS}
    for count in range(4):
        if count:
            # Names as long as a real registry's, so the bound holds for them.
            name = f"{kind}-model-{count:04d}"
            create(client, tokens, name)
            add(app, name, PLANS[kind])
        for path in DOCUMENTS:
            response = client.get(path)
            assert response.status_code == 200
            sizes[path].append(len(response.data))
    for path, measured in sizes.items():
        added = [after - before for before, after in zip(measured, measured[1:], strict=False)]
        per_model = max(added)
        assert per_model <= BOUNDS[kind, path], (path, added)
        # Each model adds the same, give or take its name's digits: nothing grows with the count.
        assert max(added) - min(added) < 64, (path, added)


def test_documents_with_shared_parts_stay_valid(app, client, tokens):
    for name, plan in (("house-prices", HOUSE), ("churn", CHURN)):
        create(client, tokens, name)
        add(app, name, plan)
    validate(client.get("/api/v1/swagger.json").get_json(), cls=OpenAPIV2SpecValidator)
    validate(client.get("/api/v1/openapi.json").get_json(), cls=OpenAPIV31SpecValidator)


def test_documents_are_streamed_from_their_parts(app, client, tokens):
    # A joined body would be a second copy of each document in every worker (80-100 MB at
    # 10,000 models); the answer streams the sections' own bytes, its length said up front.
    create(client, tokens, "house-prices")
    add(app, "house-prices", HOUSE)
    api = app.extensions["registry_api"]
    for path, serve in (("swagger.json", api.serve_specs), ("openapi.json", api.serve_openapi)):
        whole = client.get(f"/api/v1/{path}").data
        with app.test_request_context(f"/api/v1/{path}"):
            response = serve()
        assert response.is_streamed
        chunks = list(response.response)
        assert b"".join(chunks) == whole and response.content_length == len(whole)
