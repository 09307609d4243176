"""The RegistryError family: each condition with its stable code and HTTP status, in one table."""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """A failure a client can act on; `code` and `status` come from the subclass."""

    code = "registry_error"
    status = 400

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def to_body(self) -> dict[str, Any]:
        """Return the JSON error body of API.md."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def _error(name: str, code: str, status: int, doc: str) -> type[RegistryError]:
    return type(name, (RegistryError,), {"code": code, "status": status, "__doc__": doc})


# One table: condition, stable code, HTTP status.
BadRequest = _error("BadRequest", "bad_request", 400, "The request is malformed.")
InvalidJson = _error("InvalidJson", "invalid_json", 400, "The body is not strict JSON.")
InvalidPagination = _error("InvalidPagination", "invalid_pagination", 400, "Bad paging.")
MissingArtifact = _error("MissingArtifact", "missing_artifact", 400, "No artifact part.")
Unauthorized = _error("Unauthorized", "unauthorized", 401, "No or invalid token.")
Forbidden = _error("Forbidden", "forbidden", 403, "The token's role is too low.")
NotFound = _error("NotFound", "not_found", 404, "No such resource.")
ModelNotFound = _error("ModelNotFound", "model_not_found", 404, "No such model.")
VersionNotFound = _error("VersionNotFound", "version_not_found", 404, "No such version.")
AliasNotFound = _error("AliasNotFound", "alias_not_found", 404, "No such alias.")
TokenNotFound = _error("TokenNotFound", "token_not_found", 404, "No such token.")
NoActiveVersion = _error("NoActiveVersion", "no_active_version", 404, "Nothing is active.")
MethodNotAllowed = _error("MethodNotAllowed", "method_not_allowed", 405, "Wrong method.")
ModelExists = _error("ModelExists", "model_exists", 409, "The name is taken.")
VersionIsActive = _error("VersionIsActive", "version_active", 409, "Version is active.")
VersionIsAliased = _error("VersionIsAliased", "version_aliased", 409, "Version has aliases.")
AmbiguousToken = _error("AmbiguousToken", "ambiguous_token", 409, "Several tokens match.")
NothingToRollBack = _error("NothingToRollBack", "nothing_to_roll_back", 409, "No history.")
IncompatibleSchema = _error(
    "IncompatibleSchema", "incompatible_schema", 409, "The new version rejects old requests."
)
GenerationNotReached = _error(
    "GenerationNotReached",
    "generation_not_reached",
    412,
    "The registry has not reached the generation the client asked for.",
)
PayloadTooLarge = _error("PayloadTooLarge", "payload_too_large", 413, "Over a size limit.")
UnsupportedMediaType = _error(
    "UnsupportedMediaType", "unsupported_media_type", 415, "Wrong content type."
)
ValidationFailed = _error("ValidationFailed", "validation_failed", 422, "Invalid values.")
InvalidName = _error("InvalidName", "invalid_name", 422, "The name breaks the naming rule.")
InvalidFeatures = _error("InvalidFeatures", "invalid_features", 422, "Bad feature list.")
KindMismatch = _error("KindMismatch", "kind_mismatch", 422, "The version's kind differs.")
InvalidArtifact = _error("InvalidArtifact", "invalid_artifact", 422, "Not a readable model.")
UntrustedArtifact = _error(
    "UntrustedArtifact", "untrusted_artifact", 422, "The file would run code."
)
UnsupportedEstimator = _error(
    "UnsupportedEstimator", "unsupported_estimator", 422, "Not a supported model."
)
InsufficientStorage = _error(
    "InsufficientStorage", "insufficient_storage", 507, "No room to store an upload."
)
ArtifactCorrupted = _error(
    "ArtifactCorrupted", "artifact_corrupted", 500, "A stored file no longer matches its hash."
)
ArtifactMissing = _error(
    "ArtifactMissing", "artifact_missing", 503, "A version's stored file is missing."
)
InvalidReference = _error(
    "InvalidReference", "invalid_reference", 422, "The reference outputs do not fit the model."
)
TooManyCategories = _error(
    "TooManyCategories", "too_many_categories", 422, "Over the one-hot category limit."
)
NotExportable = _error(
    "NotExportable", "not_exportable", 422, "The plan holds a step the export format lacks."
)
InvalidTrainingData = _error(
    "InvalidTrainingData", "invalid_training_data", 422, "The CSV cannot be trained on."
)
IntakeUnavailable = _error(
    "IntakeUnavailable", "intake_unavailable", 503, "The upload sandbox cannot be fenced in."
)


class IntakeBusy(RegistryError):
    """Every sandbox slot is taken; the client should retry after ``retry_after`` seconds."""

    code = "intake_busy"
    status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DatabaseUnavailable(RegistryError):
    """The database did not answer, or answered that it cannot serve: try again shortly."""

    code = "database_unavailable"
    status = 503

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after
