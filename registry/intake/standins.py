"""Plain stand-ins for helper classes that older scikit-learn releases pickled inside models."""

from __future__ import annotations

from collections import UserList
from typing import Any


class RemainderColumns(UserList):
    """scikit-learn 1.5-1.6's ``_RemainderColsList``: the remainder's columns, as a list."""

    data: list[Any]


# (module, name) as a file names it -> the stand-in the unpickler builds instead.
STAND_INS = {
    ("sklearn.compose._column_transformer", "_RemainderColsList"): (
        "registry.intake.standins:RemainderColumns"
    ),
}
