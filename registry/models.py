"""SQLAlchemy tables of the registry, with their invariants as named constraints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Version numbers and ids are 32-bit integer columns: a larger number names no row, and must
# not reach PostgreSQL, which refuses to compare an int4 column with it (nor SQLite's driver,
# which cannot bind past 64 bits).
MAX_VERSION = 2**31 - 1
MAX_ID = 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class AwareDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, also on SQLite, which stores no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RegisteredModel(Base):
    """A named model; its versions, aliases and events hang off it."""

    __tablename__ = "registered_model"
    __table_args__ = (
        ForeignKeyConstraint(
            ["id", "active_version"],
            ["model_version.model_id", "model_version.version"],
            name="fk_registered_model_active_version",
            use_alter=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # One column, so at most one active version per model by construction.
    active_version: Mapped[int | None] = mapped_column(Integer)
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="model",
        cascade="all, delete-orphan",
        passive_deletes=True,
        foreign_keys="ModelVersion.model_id",
    )
    aliases: Mapped[list[Alias]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class ModelVersion(Base):
    """One uploaded artifact of a model, with its extracted plan."""

    __tablename__ = "model_version"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_model.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    estimator: Mapped[str] = mapped_column(Text)
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    classes: Mapped[list[Any] | None] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    artifact_format: Mapped[str] = mapped_column(String(16), default="joblib")
    sklearn_version: Mapped[str | None] = mapped_column(String(32))
    # What the plan was checked against at upload: {"against", "sklearn_version", "rows"}.
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What a version trained here saw of its held-out split (residuals, or ROC and confusion).
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What intake saw in the file: {"referred": [{"name", "count"}]}; None before it was kept.
    intake: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))

    model: Mapped[RegisteredModel] = relationship(
        back_populates="versions", foreign_keys=[model_id]
    )


class Alias(Base):
    """A movable name pointing at one version of a model."""

    __tablename__ = "alias"
    __table_args__ = (
        UniqueConstraint("model_id", "name"),
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_version.model_id", "model_version.version"],
            name="fk_alias_version",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_model.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)


class Event(Base):
    """One state change: who, when, what, from -> to."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_model.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ActivationEntry(Base):
    """One entry of a model's activation stack: the versions a rollback steps back through.

    The stack is kept as rows (top = highest depth) so that activation and rollback read
    only its top, however long the history in events grows.
    """

    __tablename__ = "activation_stack"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_model.id", ondelete="CASCADE"), primary_key=True
    )
    depth: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class ApiToken(Base):
    """A bearer token, stored as its sha256 hash."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # Written at most about once a minute per token, not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class RegistryState(Base):
    """The single generation row, bumped with every change that matters to serving."""

    __tablename__ = "registry_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class GenerationChange(Base):
    """What one generation changed, so workers reload only those models (the change feed).

    Every bump writes its row in the bump's transaction; only the last generations are kept.
    No foreign key: a deleted model's id must stay said.
    """

    __tablename__ = "generation_change"

    generation: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The one model that changed; None with is_bulk false: no model did (a token revoked).
    model_id: Mapped[int | None] = mapped_column(Integer)
    # A bulk write: any model may have changed, and workers reload them all.
    is_bulk: Mapped[bool] = mapped_column(default=False)
    # Random per row: a worker that finds another nonce at its snapshot's generation knows the
    # database was restored behind it and written past it since (a history it never saw).
    nonce: Mapped[int] = mapped_column(BigInteger)


class ArtifactBlob(Base):
    """Artifact bytes kept in the database, addressed by their sha256."""

    __tablename__ = "artifact_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
