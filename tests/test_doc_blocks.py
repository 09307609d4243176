"""The whole-registry documents' model sections: kept in blocks on disk, rebuilt where changed."""

from __future__ import annotations

import os
import tempfile

import orjson
import pytest

from registry.api.doc_blocks import Block, Blocks, Extent, ends_block, group, per_block
from registry.api.doc_sections import Section
from tests.test_docs import HOUSE, ROOMS, add, create

DOCUMENTS = ("/api/v1/swagger.json", "/api/v1/openapi.json")


def section(name: str, version: int = 1, schemas: bool = True) -> Section:
    """A made-up section whose text says which version of the model made it."""
    return Section.of(
        {"name": name},
        {f"/models/{name}/predict": {"post": {"summary": f"v{version}"}}},
        {f"{name}.Row": {"type": "object", "x-version": version}} if schemas else {},
    )


class Counter:
    """Builds made-up sections from (name, version) keys, counting what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, missing: list) -> list[Section]:
        self.asked += [name for name, _ in missing]
        return [section(name, version, schemas=version > 0) for name, (_, version) in missing]


def members(names: list[str], versions: dict[str, int] | None = None) -> tuple[list, list]:
    """The names in order and their keys: (name, version), version 1 unless ``versions`` says."""
    versions = versions or {}
    names = sorted(names)
    return names, [(name, versions.get(name, 1)) for name in names]


def joined(blocks: list[Block], part: str) -> bytes:
    return b",".join(getattr(b, part).read() for b in blocks if len(getattr(b, part)))


NAMES = [f"model-{i:04d}" for i in range(1500)]


def test_blocks_hold_every_section_in_order_and_read_back_the_same():
    blocks = Blocks().update(*members(NAMES), Counter())
    assert len(blocks) > 3  # several blocks, so the cases below cross their bounds
    sections = [section(name) for name in sorted(NAMES)]
    assert joined(blocks, "paths") == b",".join(s.paths for s in sections)
    assert joined(blocks, "definitions") == b",".join(s.definitions for s in sections)
    assert joined(blocks, "tags") == b",".join(s.tag for s in sections)
    assert [s for b in blocks for s in b.sections()] == sections


def test_a_change_rebuilds_only_the_changed_models_block():
    blocks, build = Blocks(), Counter()
    before = blocks.update(*members(NAMES), build)
    build.asked.clear()
    changed = NAMES[700]
    after = blocks.update(*members(NAMES, {changed: 2}), build)
    assert build.asked == [changed]
    rebuilt = [b for b in after if b not in before]
    assert len(rebuilt) == 1 and changed in rebuilt[0].names
    assert section(changed, 2) in rebuilt[0].sections()
    assert section(changed, 1) not in rebuilt[0].sections()
    assert len(after) == len(before)


def test_adding_or_removing_a_model_moves_no_other_blocks_bounds():
    blocks, build = Blocks(), Counter()
    before = blocks.update(*members(NAMES), build)
    build.asked.clear()
    after = blocks.update(*members([*NAMES, "model-0700-new"]), build)
    assert build.asked == ["model-0700-new"]
    assert len([b for b in after if b not in before]) == 1
    gone = blocks.update(*members([n for n in NAMES if n != "model-0300"]), build)
    assert build.asked == ["model-0700-new"]  # the rest were read back
    kept = [b for b in gone if b in after]
    assert len(kept) == len(after) - 2  # the new model's block, and the removed one's
    assert "model-0300" not in {n for b in gone for n in b.names}


def test_sections_without_schemas_leave_no_empty_member():
    versions = {name: 0 for name in NAMES[::3]}  # version 0: a section without schemas
    blocks = Blocks().update(*members(NAMES, versions), Counter())
    text = b"{" + joined(blocks, "definitions") + b"}"
    assert len(orjson.loads(text)) == len(NAMES) - len(versions)


def test_block_bounds_depend_on_names_and_a_block_has_a_most():
    runs = group(NAMES)
    assert [n for start, end in runs for n in NAMES[start:end]] == NAMES
    # A prefix of the names is split where the whole list is (but for its last, cut, run).
    prefix = group(NAMES[:750])
    assert prefix[:-1] == runs[: len(prefix) - 1]
    unending = [n for n in (f"x{i:05d}" for i in range(3000)) if not ends_block(n, 128)]
    assert {end - start for start, end in group(unending)[:-1]} == {4 * 128}


@pytest.mark.parametrize("count", [10_000, 40_000, 160_000])
def test_a_document_keeps_about_the_same_number_of_blocks_however_many_models(count):
    # Each block is an open file: 160,000 models must not take 1,250 of a worker's descriptors.
    names = sorted(f"model-{i:06d}" for i in range(count))
    runs = group(names)
    assert 40 <= len(runs) <= 200, len(runs)
    assert per_block(count) >= count / 128


def test_an_extent_reads_ranges_of_its_file():
    block = Block.write(["a"], [("a", 1)], [section("a")])
    whole = block.paths.read()
    assert block.paths.read(3, 5) == whole[3:8]
    assert b"".join(block.paths.chunks()) == whole
    assert isinstance(block.paths, Extent) and len(block.paths) == len(whole)


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("path", DOCUMENTS)
def test_documents_keep_the_models_sections_out_of_memory(app, client, tokens, path):
    # At 10,000 models each document is ~80 MB: its sections are streamed from files, so what
    # a worker holds in memory for it does not grow with the models.
    api = app.extensions["registry_api"]
    held = []
    for count in range(3):
        name = f"house-{count}"
        create(client, tokens, name)
        add(app, name, HOUSE)
        assert client.get(path).status_code == 200
        with app.test_request_context(path):
            document = api.spec_document() if "swagger" in path else api.openapi_document()
        held.append(sum(len(p) for p in document.pieces if isinstance(p, bytes)))
    assert held[0] == held[1] == held[2]


def test_a_change_rebuilds_one_section_and_old_files_are_closed(app, client, tokens):
    api = app.extensions["registry_api"]
    for count in range(6):
        create(client, tokens, f"rooms-{count}")
        add(app, f"rooms-{count}", ROOMS)
    for path in DOCUMENTS:
        assert client.get(path).status_code == 200
    files = open_files()
    sections = api._model_sections()
    for _ in range(10):
        add(app, "rooms-3", ROOMS)  # a new active version: the model's section changes
        for path in DOCUMENTS:
            assert client.get(path).status_code == 200
        assert sections._swagger.built == 1 and sections._openapi.built == 1
    # Replaced documents' block files go with them.
    assert open_files() <= files + 2
    document = client.get("/api/v1/swagger.json").get_json()
    route = document["paths"]["/models/rooms-3/versions/{version}/predict"]["post"]
    version = next(p for p in route["parameters"] if p.get("name") == "version")
    assert version["default"] == 11  # the version the docs show: the last one activated


@pytest.mark.parametrize("path", DOCUMENTS)
def test_an_edited_description_reaches_both_documents(app, client, tokens, path):
    for name in ("rooms-a", "rooms-b"):
        create(client, tokens, name)
        add(app, name, ROOMS)
    assert client.get(path).status_code == 200
    edited = client.patch(
        "/api/v1/models/rooms-b",
        json={"description": "Counts the rooms twice"},
        headers=tokens["publisher"],
    )
    assert edited.status_code == 200
    tags = {t["name"]: t["description"] for t in client.get(path).get_json()["tags"]}
    assert "Counts the rooms twice" in tags["rooms-b"]
    assert "Counts the rooms" not in tags["rooms-a"]


def test_documents_are_still_served_where_no_temporary_file_can_be_written(
    app, client, tokens, tmp_path, monkeypatch, caplog
):
    create(client, tokens, "rooms")
    add(app, "rooms", ROOMS)
    nowhere = tmp_path / "read-only"
    nowhere.mkdir(mode=0o500)
    if os.access(nowhere, os.W_OK):  # root ignores the mode: a path under a file instead
        nowhere = tmp_path / "a-file" / "tmp"
        (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(nowhere))
    for path in DOCUMENTS:
        response = client.get(path)
        assert response.status_code == 200
        assert "/models/rooms/predict" in response.get_json()["paths"]
    assert "kept in memory" in caplog.text


@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_model_made_again_under_a_reused_id_gets_its_own_section(app, client, tokens, path):
    # On SQLite the new model takes the deleted last one's id, and its versions start at 1
    # again: everything the section showed before would look unchanged but the plan.
    create(client, tokens, "last")
    add(app, "last", ROOMS)
    assert client.get(path).status_code == 200
    deleted = client.delete("/api/v1/models/last", headers=tokens["admin"])
    assert deleted.status_code == 204
    create(client, tokens, "last")
    add(app, "last", HOUSE)
    text = client.get(path).get_data(as_text=True)
    body = orjson.loads(text)
    schemas = body["definitions"] if "definitions" in body else body["components"]["schemas"]
    assert set(schemas["last.Row"]["properties"]) == {"area", "bedrooms", "city", "garage"}
