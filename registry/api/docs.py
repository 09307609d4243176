"""The documented API: the Flask-RESTX Api, swagger.json and openapi.json, cached per generation.

Each document is the static part Flask-RESTX documents (computed once) plus one section per
registered model (registry.api.doc_sections), kept in blocks on disk while what it shows stays
the same (registry.api.doc_blocks), assembled once per generation and served with an ETag.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask, Response, request
from flask_restx import Api
from flask_restx.swagger import Swagger

from registry.api.auth import current_identity
from registry.api.context import registry
from registry.api.doc_blocks import Block, Blocks, Extent, Piece, read_back
from registry.api.doc_sections import (
    Section,
    SectionKey,
    build_section,
    members_text,
    section_key,
)
from registry.api.exposure import docs_page, reader_only
from registry.api.free_memory import release_free_memory
from registry.api.model_docs import SHARED_PARAMETERS, SHARED_RESPONSES
from registry.api.openapi31 import schema_31, to_openapi31
from registry.api.spec_rules import complete_operations, declare_security
from registry.db import Database
from registry.protocols.spec import add_protocols
from registry.services.catalog import ShownVersion, shown_versions
from registry.serving import ModelEntry, Snapshot

AUTHORIZATIONS = {
    "bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "In this page's Authorize dialog, paste the token alone (what "
        "`python manage.py create-token` printed on its last line): the page sends it as "
        "`Authorization: Bearer <token>`, the header every other client sends.",
    }
}


@dataclass(frozen=True)
class SpecDocument:
    """swagger.json (or openapi.json) as served for one registry generation.

    Kept as the pieces it is joined from (the models' sections stay in their blocks' files)
    and streamed: at 10,000 models each document is 80-100 MB.
    """

    generation: int
    pieces: tuple[Piece, ...]
    etag: str
    # The models' sections, by name, and their keys: what openapi.json is converted from.
    blocks: tuple[Block, ...] = ()
    model_create: dict[str, Any] | None = None

    @property
    def body(self) -> bytes:
        """Return the whole document (tests and ``__schema__``; answers stream the pieces)."""
        return b"".join(self.chunks())

    @property
    def length(self) -> int:
        return sum(map(len, self.pieces))

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the document in chunks of about ``size`` bytes, for fewer, larger writes."""
        batch: list[bytes] = []
        filled = 0
        for piece in self.pieces:
            if isinstance(piece, Extent):
                if batch:
                    yield b"".join(batch)
                    batch, filled = [], 0
                yield from piece.chunks()
                continue
            batch.append(piece)
            filled += len(piece)
            if filled >= size:
                yield b"".join(batch)
                batch, filled = [], 0
        if batch:
            yield b"".join(batch)


def _document(
    static: dict[str, Any], blocks: Sequence[Block], where: tuple[str, ...], extra: dict[str, Any]
) -> tuple[tuple[Piece, ...], str]:
    """Return the pieces the document is joined from and its ETag.

    ``where`` is where the schemas live: ("definitions",) in 2.0, ("components", "schemas") in
    3.1; ``extra`` adds to or overrides them (the creation example). The ETag hashes the parts'
    digests, not the whole body: the same parts make the same body.
    """
    top = where[0]
    head = {k: v for k, v in static.items() if k not in ("paths", "tags", top)}
    opening = orjson.dumps(top) + b":{"
    closing = b"}"
    if len(where) == 2:
        outer = members_text({k: v for k, v in static[top].items() if k != where[1]})
        opening += (outer + b"," if outer else b"") + orjson.dumps(where[1]) + b":{"
        closing += b"}"
        schemas = {**static[top].get(where[1], {}), **extra}
    else:
        schemas = {**static.get(top, {}), **extra}
    paths: list[Piece] = [members_text(static["paths"]), *(b.paths for b in blocks)]
    tags: list[Piece] = [orjson.dumps(static["tags"])[1:-1], *(b.tags for b in blocks)]
    members: list[Piece] = [members_text(schemas), *(b.definitions for b in blocks)]
    fixed = members_text(head)
    pieces = [
        b"{",
        fixed + b"," if fixed else b"",
        b'"paths":{',
        *_separated(paths),
        b'},"tags":[',
        *_separated(tags),
        b"],",
        opening,
        *_separated(members),
        closing,
        b"}",
    ]
    firsts = [fixed, opening, paths[0], tags[0], members[0]]
    digest = hashlib.sha256(b"\0".join(p for p in firsts if isinstance(p, bytes)))
    for block in blocks:
        digest.update(block.digest)
    return tuple(pieces), digest.hexdigest()


def _separated(parts: list[Piece]) -> list[Piece]:
    """Return the non-empty parts with a comma between each two, as ``b",".join`` would."""
    kept = [part for part in parts if len(part)]
    separated: list[Piece] = [b","] * (2 * len(kept) - 1) if kept else []
    separated[::2] = kept
    return separated


# Sections built in one update past which the freed memory is handed back to the system
# (about 10 ms; a worker's first documents at 10,000 models leave ~200 MB freed but held).
_RELEASE_AFTER = 200


class ModelSections:
    """Keeps each model's section in both documents while its key stays the same."""

    def __init__(self, api: Api, reserved_tags: Iterable[str], open_reads: bool) -> None:
        self._api = api
        self._open_reads = open_reads
        self._reserved = frozenset(reserved_tags)
        # Each model's entry and key as last seen: the same entry object means the same key.
        self._keys: dict[str, tuple[ModelEntry, SectionKey]] = {}
        self._swagger = Blocks()
        self._openapi = Blocks()

    def swagger(self, snapshot: Snapshot, db: Database) -> list[Block]:
        """Return every model's swagger.json section, in blocks, building only what changed."""
        names, keys = self._keyed(snapshot)

        def build(missing: list[tuple[str, Hashable]]) -> list[Section]:
            wanted = {(k.model_id, k.shown) for _, k in missing if k.shown is not None}
            with db.read() as session:
                shown = shown_versions(session, wanted) if wanted else {}
            return [
                self._build(snapshot.models[name], key, shown.get((key.model_id, key.shown or 0)))
                for name, key in missing
            ]

        return self._released(self._swagger, self._swagger.update(names, keys, build))

    def openapi(self, swagger: SpecDocument, produces: list[str]) -> list[Block]:
        """Return the sections of ``swagger`` said in OpenAPI 3.1, converting what changed."""
        names: list[str] = []
        keys: list[Hashable] = []
        for block in swagger.blocks:
            names += block.names
            keys += block.keys

        def convert(missing: list[tuple[str, Hashable]]) -> list[Section]:
            where = {
                name: (block, index)
                for block in swagger.blocks
                for index, name in enumerate(block.names)
            }
            sections = read_back(where[name] for name, _ in missing)
            return [section.to_openapi31(produces) for section in sections]

        return self._released(self._openapi, self._openapi.update(names, keys, convert))

    @staticmethod
    def _released(blocks: Blocks, updated: list[Block]) -> list[Block]:
        if blocks.built >= _RELEASE_AFTER:
            release_free_memory()
        return updated

    def _keyed(self, snapshot: Snapshot) -> tuple[list[str], list[Hashable]]:
        """Return the models' names, in order, and their sections' keys.

        An entry carried over from the last snapshot as the same object is unchanged (see
        Serving): its key is the last one, so the blocks compare keys by identity.
        """
        names = sorted(snapshot.models)
        keys: list[Hashable] = []
        seen = {}
        for name in names:
            entry = snapshot.models[name]
            last = self._keys.get(name)
            if last is not None and last[0] is entry:
                key = last[1]
            else:
                key = section_key(entry)
                if last is not None and last[1] == key:
                    key = last[1]
            seen[name] = (entry, key)
            keys.append(key)
        self._keys = seen
        return names, keys

    def _build(self, entry: ModelEntry, key: SectionKey, shown: ShownVersion | None) -> Section:
        tag = f"{entry.name} (model)" if entry.name in self._reserved else entry.name
        return build_section(self._api, entry, key, shown, tag, self._open_reads)


class RegistryApi(Api):
    """The registry's Api; errors go to the app's JSON handlers, not Flask-RESTX's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._static: dict[str, Any] | None = None
        self._sections: ModelSections | None = None
        self._document: SpecDocument | None = None
        self._openapi: SpecDocument | None = None
        self._static_openapi: dict[str, Any] | None = None
        self._assembling = threading.Lock()

    def handle_error(self, e: Exception):  # type: ignore[override]
        raise e

    def error_router(self, original_handler, e):  # type: ignore[no-untyped-def]
        # Flask-RESTX's router re-matches the URL, which can itself raise (a redirect);
        # every error goes to the app's JSON handlers instead.
        return original_handler(e)

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        app.view_functions[self.endpoint("specs")] = reader_only(self.serve_specs)
        app.add_url_rule(f"{self.prefix}/openapi.json", "openapi", reader_only(self.serve_openapi))

    def render_doc(self) -> str:  # type: ignore[override]
        """Answer the Swagger UI page; a present but invalid token is refused as anywhere."""
        current_identity()
        return docs_page(self.title, self.specs_url)

    @property
    def __schema__(self) -> dict[str, Any]:  # type: ignore[override]
        return orjson.loads(self.spec_document().body)

    def serve_specs(self) -> Response:
        """Answer swagger.json, or 304 when the client holds this very document."""
        return _serve(self.spec_document())

    def serve_openapi(self) -> Response:
        """Answer openapi.json (OpenAPI 3.1), or 304 when the client holds this very document."""
        return _serve(self.openapi_document())

    def openapi_document(self) -> SpecDocument:
        """Return openapi.json for the registry's current generation, made from swagger.json.

        Made only when asked for, so swagger.json costs no more for it.
        """
        swagger = self.spec_document()
        document = self._openapi
        if document is None or document.generation != swagger.generation:
            with self._assembling:
                document = self._openapi
                if document is None or document.generation != swagger.generation:
                    document = self._openapi = self._assemble_openapi(swagger)
        return document

    def _assemble_openapi(self, swagger: SpecDocument) -> SpecDocument:
        if self._static_openapi is None:
            self._static_openapi = to_openapi31(self._static_spec())
        static = self._static_openapi
        produces = self._static_spec().get("produces", ["application/json"])
        blocks = self._model_sections().openapi(swagger, produces)
        creation = {"ModelCreate": schema_31(swagger.model_create)}
        pieces, etag = _document(static, blocks, ("components", "schemas"), creation)
        return SpecDocument(swagger.generation, pieces, etag, tuple(blocks))

    def spec_document(self) -> SpecDocument:
        """Return swagger.json for the registry's current generation."""
        reg = registry()
        document = self._document
        if document is not None and document.generation == reg.serving.snapshot().generation:
            return document
        with self._assembling:
            snapshot = reg.serving.snapshot()
            document = self._document
            if document is None or document.generation != snapshot.generation:
                document = self._document = self._assemble(snapshot, reg.db)
        return document

    def _assemble(self, snapshot: Snapshot, db: Database) -> SpecDocument:
        static = self._static_spec()
        blocks = self._model_sections().swagger(snapshot, db)
        model_create = _creation_example(static["definitions"]["ModelCreate"], snapshot)
        creation = {"ModelCreate": model_create}
        pieces, etag = _document(static, blocks, ("definitions",), creation)
        return SpecDocument(snapshot.generation, pieces, etag, tuple(blocks), model_create)

    def _model_sections(self) -> ModelSections:
        if self._sections is None:
            reserved = {t["name"] for t in self._static_spec()["tags"]} | {"default"}
            self._sections = ModelSections(self, reserved, not registry().config.auth_reads)
        return self._sections

    def _static_spec(self) -> dict[str, Any]:
        if self._static is None:
            spec = Swagger(self).as_dict()
            spec.setdefault("definitions", {})
            # Flask-RESTX lists only models that fields nest; some are named by a schema's $ref.
            for ns in self.namespaces:
                for name, model in ns.models.items():
                    spec["definitions"].setdefault(name, model.__schema__)
            declare_security(self, spec["paths"], not registry().config.auth_reads)
            complete_operations(spec["paths"])
            add_protocols(spec, not registry().config.auth_reads)
            # What every model's operations say alike, which their sections refer to.
            spec["responses"] = {**spec.get("responses", {}), **SHARED_RESPONSES}
            spec["parameters"] = {**spec.get("parameters", {}), **SHARED_PARAMETERS}
            spec.setdefault("tags", [])
            self._static = spec
        return self._static


def _serve(document: SpecDocument) -> Response:
    if request.if_none_match.contains_weak(document.etag):
        response = Response(status=304)
    else:
        response = Response(document.chunks(), mimetype="application/json")
        response.content_length = document.length
    response.set_etag(document.etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _creation_example(schema: dict[str, Any], snapshot: Snapshot) -> dict[str, Any]:
    """Return ModelCreate with an example that succeeds when tried: a name no model has."""
    name = next(
        n
        for n in itertools.chain(["my-model"], (f"my-model-{i}" for i in itertools.count(2)))
        if n not in snapshot.models
    )
    example = {
        "name": name,
        "kind": "linear",
        "description": "Predicts house prices from area and rooms",
        "tags": {"team": "pricing"},
    }
    return {**schema, "example": example}


def make_api() -> RegistryApi:
    """Return the Api, not yet bound to an app."""
    return RegistryApi(
        title="Model registry",
        version="1.0",
        description="Registry and prediction service for scikit-learn linear and logistic models.",
        prefix="/api/v1",
        doc="/docs",
        authorizations=AUTHORIZATIONS,
        security="bearer",
    )
