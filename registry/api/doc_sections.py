"""One model's part of the whole-registry documents: its key, its Swagger 2.0 and 3.1 text."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from flask_restx import Api
from flask_restx.model import ModelBase
from flask_restx.swagger import Swagger, ref

from registry.api.model_docs import (
    SHARED_PARAMETERS,
    SHARED_RESPONSES,
    ModelNamespace,
    build_namespace,
    shown_version,
)
from registry.api.openapi31 import convert_paths, convert_schemas
from registry.api.spec_rules import complete_operations, share_parts
from registry.services.catalog import ShownVersion
from registry.serving import ModelEntry


class Section(NamedTuple):
    """One model's part of a document as JSON text, ready to be joined into it.

    ``paths`` and ``definitions`` are the members of those objects (``"key":value`` pairs
    separated by commas, no braces), so a document is a join of bytes.
    """

    tag: bytes
    paths: bytes
    definitions: bytes

    @classmethod
    def of(cls, tag: dict[str, str], paths: dict[str, Any], definitions: dict[str, Any]) -> Section:
        return cls(orjson.dumps(tag), members_text(paths), members_text(definitions))

    def digest(self) -> bytes:
        return hashlib.sha256(b"\0".join(self)).digest()

    def to_openapi31(self, produces: list[str]) -> Section:
        """Return the section said in OpenAPI 3.1."""
        return Section.of(
            orjson.loads(self.tag),
            convert_paths(orjson.loads(b"{" + self.paths + b"}"), produces),
            convert_schemas(orjson.loads(b"{" + self.definitions + b"}")),
        )


def members_text(mapping: dict[str, Any]) -> bytes:
    """Return a JSON object's text without its braces."""
    return orjson.dumps(mapping)[1:-1]


class SectionKey(NamedTuple):
    """Everything a model's section depends on; a new key means a new section."""

    model_id: int
    name: str
    shown: int | None
    active: int | None
    aliases: tuple[tuple[str, int], ...]
    versions: tuple[int, ...]
    description: str
    # A model made again under a reused id (see ModelEntry) gets a section of its own.
    created_at: datetime


def section_key(entry: ModelEntry) -> SectionKey:
    """Return what ``entry``'s section depends on."""
    return SectionKey(
        entry.id,
        entry.name,
        shown_version(entry),
        entry.active_version,
        tuple(sorted(entry.aliases.items())),
        tuple(sorted(entry.versions)),
        entry.description,
        entry.created_at,
    )


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


def build_section(
    api: Api, entry: ModelEntry, key: SectionKey, shown: ShownVersion | None, tag: str,
    open_reads: bool,
) -> Section:  # fmt: skip
    """Return ``entry``'s section of swagger.json, under the tag ``tag``."""
    ns = build_namespace(entry, key.description, shown, tag, open_reads)
    return _SectionSwagger(api, ns, f"{entry.name}.").section()
