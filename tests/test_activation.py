"""Activation with its compatibility check, rollback through history, aliases, deletion."""

from __future__ import annotations

import pytest

from tests.factories import add_plan_version, churn_plan, house_plan

BASE = "/api/v1/models/house-prices"


def activate(client, tokens, version, force=False):
    query = "?force=true" if force else ""
    return client.post(f"{BASE}/versions/{version}/activate{query}", headers=tokens["publisher"])


def test_activate_sets_active_and_records_event(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan())
    response = activate(client, tokens, 1)
    assert response.status_code == 200
    assert response.get_json()["active_version"] == 1
    events = client.get(f"{BASE}/events").get_json()["items"]
    assert events[0]["action"] == "activated" and events[0]["version"] == 1
    assert events[0]["detail"]["from"] is None
    version = client.get(f"{BASE}/versions/1").get_json()
    assert version["active"] is True and version["kind"] == "linear"


@pytest.mark.parametrize(
    "extra",
    [
        {"name": "garage", "type": "number", "nullable": True},
    ],
)
def test_compatible_additions_activate(client, app, tokens, extra):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan(extra))
    assert activate(client, tokens, 2).status_code == 200


def test_activate_refuses_incompatible_schema(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan({"name": "garage", "type": "number"}))
    response = activate(client, tokens, 2)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "incompatible_schema"
    assert any("garage" in p for p in body["errors"]["features"])
    assert client.get(BASE).get_json()["active_version"] == 1
    assert activate(client, tokens, 2, force=True).status_code == 200


def test_enum_must_stay_a_superset(client, app, tokens):
    add_plan_version(app, "churn", churn_plan(("basic", "plus")), activate=True)
    add_plan_version(app, "churn", churn_plan(("basic", "plus", "pro")))
    add_plan_version(app, "churn", churn_plan(("basic",)))
    url = "/api/v1/models/churn/versions/{}/activate"
    assert client.post(url.format(2), headers=tokens["publisher"]).status_code == 200
    refused = client.post(url.format(3), headers=tokens["publisher"])
    assert refused.status_code == 409


def test_rollback_steps_back_through_history(client, app, tokens):
    for _ in range(3):
        add_plan_version(app, "house-prices", house_plan())
    for version in (1, 2, 3):
        assert activate(client, tokens, version).status_code == 200
    rollback = f"{BASE}/rollback"
    assert client.post(rollback, headers=tokens["publisher"]).get_json()["active_version"] == 2
    assert client.post(rollback, headers=tokens["publisher"]).get_json()["active_version"] == 1
    response = client.post(rollback, headers=tokens["publisher"])
    assert response.status_code == 409 and response.get_json()["code"] == "nothing_to_roll_back"
    actions = [e["action"] for e in client.get(f"{BASE}/events").get_json()["items"]]
    assert actions[:2] == ["rolled_back", "rolled_back"]


def test_rollback_skips_deleted_versions(client, app, tokens):
    for _ in range(3):
        add_plan_version(app, "house-prices", house_plan())
    for version in (1, 2, 3):
        activate(client, tokens, version)
    activate(client, tokens, 1)
    assert client.delete(f"{BASE}/versions/3", headers=tokens["admin"]).status_code == 204
    # History 1, 2, 3, 1: undoing the last activation passes over deleted 3 and lands on 2.
    response = client.post(f"{BASE}/rollback", headers=tokens["publisher"])
    assert response.get_json()["active_version"] == 2


def test_rollback_without_history_is_409(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    assert client.post(f"{BASE}/rollback", headers=tokens["publisher"]).status_code == 409


def test_delete_refuses_active_and_aliased_and_needs_admin(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    client.put(f"{BASE}/aliases/staging", json={"version": 2}, headers=tokens["publisher"])
    assert client.delete(f"{BASE}/versions/1", headers=tokens["admin"]).status_code == 409
    assert client.delete(f"{BASE}/versions/2", headers=tokens["admin"]).status_code == 409
    assert client.delete(f"{BASE}/versions/2", headers=tokens["publisher"]).status_code == 403
    client.delete(f"{BASE}/aliases/staging", headers=tokens["publisher"])
    assert client.delete(f"{BASE}/versions/2", headers=tokens["admin"]).status_code == 204
    assert client.get(f"{BASE}/versions/2").status_code == 404


def test_version_numbers_are_never_reused(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    client.delete(f"{BASE}/versions/2", headers=tokens["admin"])
    assert add_plan_version(app, "house-prices", house_plan()) == 3
    assert client.get(BASE).get_json()["latest_version"] == 3


def test_recreated_name_starts_at_version_one(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan(), activate=True)
    add_plan_version(app, "house-prices", house_plan())
    assert client.delete(BASE, headers=tokens["admin"]).status_code == 204
    assert add_plan_version(app, "house-prices", house_plan()) == 1


@pytest.mark.parametrize(("alias", "status"), [("123", 422), ("Bad", 422), ("ok-alias", 200)])
def test_alias_names_follow_the_rule(client, app, tokens, alias, status):
    add_plan_version(app, "house-prices", house_plan())
    response = client.put(
        f"{BASE}/aliases/{alias}", json={"version": 1}, headers=tokens["publisher"]
    )
    assert response.status_code == status


def test_alias_to_missing_version_is_404_and_bad_body_400(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan())
    headers = tokens["publisher"]
    assert client.put(f"{BASE}/aliases/a", json={"version": 7}, headers=headers).status_code == 404
    assert (
        client.put(f"{BASE}/aliases/a", json={"version": "1"}, headers=headers).status_code == 400
    )
    assert client.put(f"{BASE}/aliases/a", json={"version": 0}, headers=headers).status_code == 422
    assert client.delete(f"{BASE}/aliases/nope", headers=headers).status_code == 404


def test_alias_version_written_as_a_whole_float_is_that_integer(client, app, tokens):
    # JSON Schema (and so the spec) counts 1.0 as an integer; 1.5 stays a wrong type.
    add_plan_version(app, "house-prices", house_plan())
    headers = tokens["publisher"]
    answer = client.put(f"{BASE}/aliases/a", json={"version": 1.0}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["aliases"] == {"a": 1}
    assert (
        client.put(f"{BASE}/aliases/a", json={"version": 1.5}, headers=headers).status_code == 400
    )


def test_aliases_show_on_model_and_version(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan())
    client.put(f"{BASE}/aliases/champion", json={"version": 1}, headers=tokens["publisher"])
    assert client.get(BASE).get_json()["aliases"] == {"champion": 1}
    assert client.get(f"{BASE}/versions/1").get_json()["aliases"] == ["champion"]


def test_patch_version_archives_and_replaces_tags(client, app, tokens):
    add_plan_version(app, "house-prices", house_plan())
    response = client.patch(
        f"{BASE}/versions/1",
        json={"archived": True, "tags": {"a": "b"}},
        headers=tokens["publisher"],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["archived"] is True and body["tags"] == {"a": "b"}
    bad = client.patch(f"{BASE}/versions/1", json={"archived": "yes"}, headers=tokens["publisher"])
    assert bad.status_code == 400


def test_versions_list_newest_first_with_schema(client, app):
    add_plan_version(app, "house-prices", house_plan())
    add_plan_version(app, "house-prices", house_plan())
    page = client.get(f"{BASE}/versions").get_json()
    assert [v["version"] for v in page["items"]] == [2, 1] and page["total"] == 2
    schema = client.get(f"{BASE}/versions/1/schema").get_json()
    assert schema["required"] == ["area", "bedrooms", "bathrooms", "age"]
    assert schema["properties"]["area"] == {"type": "number"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("path", ["versions/abc", "versions/0", "versions/99", "versions/-2"])
def test_bad_version_paths_are_404(client, app, path):
    add_plan_version(app, "house-prices", house_plan())
    assert client.get(f"{BASE}/{path}").status_code == 404
