"""Row-wise steps over a group of value columns: Normalizer's l1, l2 and max norms.

A normalized column ``{"normalize": [value columns], "norm": "l1" | "l2" | "max", "index": i,
"mul", "add"}`` is ``mul * f_i / norm(f_1, ..., f_k) + add``. The factors f are computed as
value columns are (missing value included); the norm is the sum of their absolute values
(l1), the square root of the sum of their squares (l2) or the largest absolute value (max). A
row whose norm is below 10 machine epsilons is divided by 1: scikit-learn leaves an all-zero row
as it is. The columns of one Normalizer list the same factors, which are computed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from registry.plans.spec import _require

NORMS = ("l1", "l2", "max")
_KEYS = {"normalize", "norm", "index", "mul", "add"}
# scikit-learn's _handle_zeros_in_scale: a smaller norm counts as 1.
_TINY = 10 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class Group:
    """One Normalizer: its factors' positions among the value columns, and its norm."""

    factors: np.ndarray
    norm: str
    # Its normalized columns: their plan indices, which factor each divides, mul and add.
    columns: np.ndarray
    members: np.ndarray
    mul: np.ndarray
    add: np.ndarray


def check_normalized(column: dict[str, Any], j: int) -> tuple[list[Any], str, int]:
    """Return a normalized column's factors, norm and index; raises PlanError naming a fault."""
    _require(set(column) == _KEYS, f"columns[{j}] needs only normalize, norm, index, mul, add.")
    given, norm, index = column["normalize"], column["norm"], column["index"]
    _require(
        isinstance(given, list) and len(given) >= 1,
        f"columns[{j}].normalize must list one or more value columns.",
    )
    _require(norm in NORMS, f"columns[{j}].norm must be one of {list(NORMS)}.")
    _require(
        type(index) is int and 0 <= index < len(given),
        f"columns[{j}].index must name one of its columns.",
    )
    return given, norm, index


def normalize_rows(values: np.ndarray, norm: str) -> np.ndarray:
    """Return each row of ``values`` divided by its norm, as scikit-learn's normalize does."""
    if norm == "l1":
        norms = np.abs(values).sum(axis=1)
    elif norm == "l2":
        norms = np.sqrt(np.einsum("ij,ij->i", values, values))  # scikit-learn's row_norms
    else:
        norms = np.abs(values).max(axis=1)
    norms[norms < _TINY] = 1.0
    return values / norms[:, None]
