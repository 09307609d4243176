"""The documented API: the Flask-RESTX Api and swagger.json, cached per registry generation.

swagger.json is the static part Flask-RESTX documents (computed once) plus one section per
registered model (its namespace from registry.api.model_docs, serialized once and kept while
what it shows stays the same), assembled once per generation and served with a content ETag.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from flask import Flask, Response, request
from flask_restx import Api
from flask_restx.model import ModelBase
from flask_restx.swagger import Swagger, ref

from registry.api.auth import current_identity
from registry.api.context import registry
from registry.api.exposure import docs_page, reader_only
from registry.api.model_docs import (
    SHARED_PARAMETERS,
    SHARED_RESPONSES,
    ModelNamespace,
    build_namespace,
    shown_version,
)
from registry.api.openapi31 import convert_paths, convert_schemas, schema_31, to_openapi31
from registry.api.spec_rules import complete_operations, declare_security, share_parts
from registry.db import Database
from registry.protocols.spec import add_protocols
from registry.services.catalog import ShownVersion, model_descriptions, shown_versions
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

    Kept as the pieces it is joined from (the sections' own bytes, not copies) and streamed:
    at 10,000 models a joined body would hold a second copy of each document, 80-100 MB.
    """

    generation: int
    pieces: tuple[bytes, ...]
    etag: str
    # What swagger.json was assembled from, for openapi.json to convert section by section.
    sections: tuple[Section, ...] = ()
    model_create: dict[str, Any] | None = None

    @property
    def body(self) -> bytes:
        """Return the whole document (tests and ``__schema__``; answers stream the pieces)."""
        return b"".join(self.pieces)

    @property
    def length(self) -> int:
        return sum(map(len, self.pieces))

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the document in chunks of about ``size`` bytes, for fewer, larger writes."""
        batch: list[bytes] = []
        filled = 0
        for piece in self.pieces:
            batch.append(piece)
            filled += len(piece)
            if filled >= size:
                yield b"".join(batch)
                batch, filled = [], 0
        if batch:
            yield b"".join(batch)


@dataclass(frozen=True, eq=False)
class Section:
    """One model's part of swagger.json as JSON text, ready to be joined into the document.

    ``paths`` and ``definitions`` are the members of those objects (``"key":value`` pairs
    separated by commas, no braces), so a document is a join of bytes: a change rebuilds one
    section and serializes nothing else.
    """

    tag: bytes
    paths: bytes
    definitions: bytes
    digest: bytes

    @classmethod
    def of(cls, tag: dict[str, str], paths: dict[str, Any], definitions: dict[str, Any]) -> Section:
        tag_json, paths_json, definitions_json = (
            orjson.dumps(tag),
            _members(paths),
            _members(definitions),
        )
        digest = hashlib.sha256(b"\0".join([tag_json, paths_json, definitions_json])).digest()
        return cls(tag_json, paths_json, definitions_json, digest)

    def read_paths(self) -> dict[str, Any]:
        return orjson.loads(b"{" + self.paths + b"}")

    def read_definitions(self) -> dict[str, Any]:
        return orjson.loads(b"{" + self.definitions + b"}")


def _members(mapping: dict[str, Any]) -> bytes:
    """Return a JSON object's text without its braces."""
    return orjson.dumps(mapping)[1:-1]


def _document(
    static: dict[str, Any], sections: list[Section], where: tuple[str, ...], extra: dict[str, Any]
) -> tuple[tuple[bytes, ...], str]:
    """Return the pieces the document is joined from (the sections' bytes) and its ETag.

    ``where`` is where the schemas live: ("definitions",) in 2.0, ("components", "schemas") in
    3.1; ``extra`` adds to or overrides them (the creation example). The ETag hashes the parts'
    digests, not the whole body: the same parts make the same body.
    """
    top = where[0]
    head = {k: v for k, v in static.items() if k not in ("paths", "tags", top)}
    opening = orjson.dumps(top) + b":{"
    closing = b"}"
    if len(where) == 2:
        outer = _members({k: v for k, v in static[top].items() if k != where[1]})
        opening += (outer + b"," if outer else b"") + orjson.dumps(where[1]) + b":{"
        closing += b"}"
        schemas = {**static[top].get(where[1], {}), **extra}
    else:
        schemas = {**static.get(top, {}), **extra}
    paths = [_members(static["paths"]), *(s.paths for s in sections)]
    tags = [orjson.dumps(static["tags"])[1:-1], *(s.tag for s in sections)]
    members = [_members(schemas), *(s.definitions for s in sections)]
    fixed = _members(head)
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
    digest = hashlib.sha256(b"\0".join([fixed, opening, paths[0], tags[0], members[0]]))
    for section in sections:
        digest.update(section.digest)
    return tuple(pieces), digest.hexdigest()


def _separated(parts: list[bytes]) -> list[bytes]:
    """Return the non-empty parts with a comma between each two, as ``b",".join`` would."""
    kept = [part for part in parts if part]
    separated = [b","] * (2 * len(kept) - 1) if kept else []
    separated[::2] = kept
    return separated


class SectionKey(NamedTuple):
    """Everything a model's section depends on; a new key means a new section."""

    model_id: int
    name: str
    shown: int | None
    active: int | None
    aliases: tuple[tuple[str, int], ...]
    versions: tuple[int, ...]
    description: str


class _SectionSwagger(Swagger):
    """Serializes one model's namespace: its operations and the models named after it."""

    def __init__(self, api: Api, ns: ModelNamespace, prefix: str) -> None:
        super().__init__(api)
        self._ns = ns
        self._prefix = prefix

    def register_model(self, model: ModelBase | str) -> dict[str, str]:
        # Shared models (Error) belong to the static part; only prefixed ones go here.
        name = model.name if isinstance(model, ModelBase) else model
        if name.startswith(self._prefix) and name not in self._registered_models:
            specs = self._ns.models[name]
            self._registered_models[name] = specs
            if isinstance(specs, dict):
                for field in specs.values():
                    self.register_field(field)
        return ref(model)

    def section(self) -> Section:
        paths = self._ns.operations
        complete_operations(paths)
        share_parts(paths, SHARED_RESPONSES, SHARED_PARAMETERS)
        for name in self._ns.models:
            self.register_model(name)
        return Section.of(
            {"name": self._ns.name, "description": self._ns.description},
            paths,
            self.serialize_definitions(),
        )


class ModelSections:
    """Keeps each model's serialized section while its key stays the same."""

    def __init__(self, api: Api, reserved_tags: Iterable[str], open_reads: bool) -> None:
        self._api = api
        self._open_reads = open_reads
        self._reserved = frozenset(reserved_tags)
        self._sections: dict[SectionKey, Section] = {}

    def sections(self, snapshot: Snapshot, db: Database) -> list[Section]:
        """Return every model's section, by name, building only those whose key changed."""
        entries = sorted(snapshot.models.values(), key=lambda e: e.name)
        with db.read() as session:
            descriptions = model_descriptions(session)
            keys = [_key(e, descriptions.get(e.id, "")) for e in entries]
            missing = [
                (e, k) for e, k in zip(entries, keys, strict=True) if k not in self._sections
            ]
            wanted = {(k.model_id, k.shown) for _, k in missing if k.shown is not None}
            shown = shown_versions(session, wanted) if wanted else {}
        fresh = {
            key: self._build(entry, key, shown.get((key.model_id, key.shown or 0)))
            for entry, key in missing
        }
        # Keeping only this generation's keys drops sections of deleted or re-versioned models.
        self._sections = {key: self._sections.get(key) or fresh[key] for key in keys}
        return [self._sections[key] for key in keys]

    def _build(self, entry: ModelEntry, key: SectionKey, shown: ShownVersion | None) -> Section:
        tag = f"{entry.name} (model)" if entry.name in self._reserved else entry.name
        ns = build_namespace(entry, key.description, shown, tag, self._open_reads)
        return _SectionSwagger(self._api, ns, f"{entry.name}.").section()


def _key(entry: ModelEntry, description: str) -> SectionKey:
    return SectionKey(
        entry.id,
        entry.name,
        shown_version(entry),
        entry.active_version,
        tuple(sorted(entry.aliases.items())),
        tuple(sorted(entry.versions)),
        description,
    )


class RegistryApi(Api):
    """The registry's Api; errors go to the app's JSON handlers, not Flask-RESTX's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._static: dict[str, Any] | None = None
        self._sections: ModelSections | None = None
        self._document: SpecDocument | None = None
        self._openapi: SpecDocument | None = None
        self._static_openapi: dict[str, Any] | None = None
        self._converted: dict[int, tuple[Section, Section]] = {}
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
        # Each model's section is converted once, while it stays the same object.
        converted = {
            id(s): self._converted.get(id(s)) or (s, _section_31(s, produces))
            for s in swagger.sections
        }
        self._converted = converted
        sections = [converted[id(s)][1] for s in swagger.sections]
        creation = {"ModelCreate": schema_31(swagger.model_create)}
        pieces, etag = _document(static, sections, ("components", "schemas"), creation)
        return SpecDocument(swagger.generation, pieces, etag)

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
        if self._sections is None:
            reserved = {t["name"] for t in static["tags"]} | {"default"}
            self._sections = ModelSections(self, reserved, not registry().config.auth_reads)
        sections = self._sections.sections(snapshot, db)
        model_create = _creation_example(static["definitions"]["ModelCreate"], snapshot)
        creation = {"ModelCreate": model_create}
        pieces, etag = _document(static, sections, ("definitions",), creation)
        return SpecDocument(snapshot.generation, pieces, etag, tuple(sections), model_create)

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


def _section_31(section: Section, produces: list[str]) -> Section:
    """Return a model's section said in OpenAPI 3.1."""
    return Section.of(
        orjson.loads(section.tag),
        convert_paths(section.read_paths(), produces),
        convert_schemas(section.read_definitions()),
    )


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
