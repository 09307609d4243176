"""What one app instance owns, as a type the web layers and the factory both use.

It lives below both: ``registry.app`` builds it and ``registry.api`` reads it, and neither
has to import the other for its type.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from config import Config
from registry.artifacts import ArtifactStore
from registry.db import Database
from registry.intake.readiness import FenceCheck
from registry.metrics import Metrics
from registry.services.token_cache import TokenCache
from registry.serving import Serving

# The key of the Registry in ``app.extensions``.
EXTENSION = "registry"


@dataclass
class Registry:
    """Everything one app instance owns: settings, database, artifact store, serving state."""

    config: Config
    db: Database
    store: ArtifactStore
    serving: Serving
    metrics: Metrics
    tokens: TokenCache
    # Compiled row validators, dropped with the plans they belong to.
    validators: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)
    # The last probe of the intake sandbox's fences, for readiness.
    fence_check: FenceCheck = field(default_factory=FenceCheck)
