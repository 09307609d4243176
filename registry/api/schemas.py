"""marshmallow schemas of the registry's request bodies and answers."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from registry.models import MAX_VERSION
from registry.plans import FEATURE_TYPES
from registry.services import names
from registry.text_rules import (
    DESCRIPTION_MAX,
    FEATURE_NAME_MAX,
    NUL_MESSAGE,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
)

# The limits live in registry.text_rules, where the CLI reads them too; a Regexp rather than a
# function so that the specs can state the rule as a pattern.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error=NUL_MESSAGE)
DESCRIPTION = validate.And(validate.Length(max=DESCRIPTION_MAX), NO_NUL)
TAG_KEY = validate.And(validate.Length(min=1, max=TAG_KEY_MAX), NO_NUL)
TAG_VALUE = validate.And(validate.Length(max=TAG_VALUE_MAX), NO_NUL)


class TagsField(fields.Dict):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            keys=fields.String(validate=TAG_KEY),
            values=fields.String(validate=TAG_VALUE),
            **kwargs,
        )


class ModelCreateSchema(Schema):
    name = fields.String(
        required=True,
        metadata={"example": "my-model", "pattern": f"^{names.NAME_PATTERN.pattern}$"},
    )
    kind = fields.String(
        allow_none=True,
        validate=validate.OneOf(["linear", "logistic"]),
        load_default=None,
        metadata={"example": "linear", "description": "Fixed by the first version when left out"},
    )
    description = fields.String(validate=DESCRIPTION, load_default="")
    tags = TagsField(load_default=dict)


class ModelPatchSchema(Schema):
    description = fields.String(validate=DESCRIPTION)
    tags = TagsField()


class VersionPatchSchema(Schema):
    description = fields.String(validate=DESCRIPTION)
    tags = TagsField()
    archived = fields.Boolean()


class AliasSchema(Schema):
    version = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_VERSION)
    )


class MetricsField(fields.Dict):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            keys=fields.String(validate=TAG_KEY),
            values=fields.Float(allow_nan=False),
            **kwargs,
        )


FEATURE_NAME = validate.Length(min=1, max=FEATURE_NAME_MAX)


class FeatureDeclarationSchema(Schema):
    """A declared input feature: its name and the JSON type its values take."""

    name = fields.String(required=True, validate=FEATURE_NAME)
    type = fields.String(validate=validate.OneOf(FEATURE_TYPES))
    nullable = fields.Boolean()
    enum = fields.List(fields.Raw(), validate=validate.Length(min=1))


class FeatureDeclaration(fields.Field):
    """A feature name, or an object declaring its name and type."""

    def _deserialize(self, value: object, attr: object, data: object, **kwargs: object) -> dict:
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict):
            raise ValidationError("Must be a feature name or an object with name and type.")
        return FeatureDeclarationSchema().load(value)


class UploadFieldsSchema(Schema):
    """The JSON-decoded multipart fields of an upload."""

    description = fields.String(validate=DESCRIPTION, load_default="")
    metrics = MetricsField(load_default=dict)
    tags = TagsField(load_default=dict)
    features = fields.List(FeatureDeclaration())
    activate = fields.Boolean(load_default=False)
    # The uploader's own scikit-learn outputs on probe rows, checked in intake.
    reference = fields.Dict(keys=fields.String())

    @validates_schema
    def _unique_features(self, data: dict, **_: object) -> None:
        declared = data.get("features")
        names = None if declared is None else [d["name"] for d in declared]
        if names is not None and len(set(names)) != len(names):
            raise ValidationError("Feature names must be unique.", "features")


class ModelSchema(Schema):
    name = fields.String()
    kind = fields.String(allow_none=True)
    description = fields.String()
    tags = fields.Dict()
    active_version = fields.Integer(allow_none=True)
    latest_version = fields.Integer(allow_none=True)
    aliases = fields.Dict(keys=fields.String(), values=fields.Integer())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class VersionSchema(Schema):
    model = fields.String()
    version = fields.Integer()
    kind = fields.String()
    estimator = fields.String()
    features = fields.List(fields.Dict())
    classes = fields.Raw(allow_none=True)
    sha256 = fields.String()
    size_bytes = fields.Integer()
    sklearn_version = fields.String(allow_none=True)
    verification = fields.Dict(allow_none=True)
    # What intake saw in the file ({"referred": [{"name", "count"}]}); null when not recorded.
    intake = fields.Dict(allow_none=True)
    metrics = fields.Dict()
    description = fields.String()
    tags = fields.Dict()
    archived = fields.Boolean()
    active = fields.Boolean()
    aliases = fields.List(fields.String())
    created_at = fields.DateTime()
    created_by = fields.String()

    @post_dump
    def _classes_only_for_classifiers(self, data: dict, **_: object) -> dict:
        # API.md: linear versions have no classes at all, not a null.
        if data.get("classes") is None:
            data.pop("classes", None)
        return data


class EventSchema(Schema):
    id = fields.Integer()
    model = fields.String()
    version = fields.Integer(allow_none=True)
    action = fields.String()
    actor = fields.String()
    at = fields.DateTime()
    detail = fields.Dict()
