"""Schema compatibility: does a new feature spec accept every request the old one accepts?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# A type may only widen: an integer field may become a number field.
_WIDENINGS = {("integer", "number")}


def schema_differences(
    old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]
) -> dict[str, list[Any]]:
    """Return the added, removed and changed features between two feature lists."""
    before = {f["name"]: f for f in old}
    after = {f["name"]: f for f in new}
    changed = []
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        fields = [
            k for k in ("type", "enum", "nullable", "accepts_unknown") if a.get(k) != b.get(k)
        ]
        if fields:
            changed.append(
                {
                    "name": name,
                    "from": {k: a.get(k) for k in fields},
                    "to": {k: b.get(k) for k in fields},
                }
            )
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(changed, key=lambda c: c["name"]),
    }


def incompatibilities(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[str]:
    """List, as sentences, the ways ``new`` would reject a request that ``old`` accepts."""
    before = {f["name"]: f for f in old}
    after = {f["name"]: f for f in new}
    problems = []
    for name, feature in after.items():
        if name not in before and not feature.get("nullable", False):
            problems.append(f"Feature {name!r} is new and required.")
    for name, a in before.items():
        b = after.get(name)
        if b is None:
            problems.append(f"Feature {name!r} is no longer accepted.")
            continue
        if a["type"] != b["type"] and (a["type"], b["type"]) not in _WIDENINGS:
            problems.append(f"Feature {name!r} changes type from {a['type']} to {b['type']}.")
        # An open enum (accepts_unknown) takes any value of its type, like no enum at all.
        if b.get("enum") is not None and not b.get("accepts_unknown"):
            dropped = [v for v in (a.get("enum") or []) if v not in b["enum"]]
            if a.get("enum") is None or a.get("accepts_unknown"):
                problems.append(f"Feature {name!r} now only accepts {len(b['enum'])} values.")
            elif dropped:
                problems.append(f"Feature {name!r} no longer accepts {dropped}.")
        if a.get("nullable", False) and not b.get("nullable", False):
            problems.append(f"Feature {name!r} no longer accepts null.")
    return problems
