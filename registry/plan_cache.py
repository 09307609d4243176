"""A worker's compiled plans: a bounded number, the least recently used out first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from registry.plans import Plan

# (model id, the model's creation time, version)
PlanKey = tuple[int, datetime, int]


class PlanCache(OrderedDict[PlanKey, Plan]):
    """Plans by PlanKey, least recently used first, at most ``size`` of them.

    A hit, on every prediction, is ``move_to_end(key)`` then ``cache[key]`` with no lock: each
    is one step under the GIL, and a KeyError from either (not loaded, or evicted by another
    thread between the two) means load it and ``keep`` it. Whatever adds or removes plans
    (loads on the request thread and on upload pool threads, snapshot reloads) holds a lock,
    so those never interleave.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self._lock = threading.Lock()

    def keep(self, key: PlanKey, plan: Plan) -> None:
        """Add a loaded plan as the most recently used; evict the least recently used."""
        with self._lock:
            self[key] = plan
            self.move_to_end(key)  # another thread may have loaded it meanwhile
            while len(self) > self.size:
                self.popitem(last=False)

    def drop(self, dead: Callable[[PlanKey], bool]) -> None:
        """Drop the plans whose keys ``dead`` says are of versions no longer live."""
        with self._lock:
            for key in self._keys():
                if dead(key):
                    del self[key]

    def _keys(self) -> tuple[PlanKey, ...]:
        # tuple() walks the keys in one C call, so a hit on another thread cannot reorder
        # them midway (a walk in Python could raise). Should a garbage collection's finalizer
        # let one in, the walk raises RuntimeError: walk again, a few times at most.
        for _ in range(3):
            try:
                return tuple(self)
            except RuntimeError:
                pass
        return tuple(self)
