"""Bounded record keeping: capped stores, per-owner indexes and running totals, all in memory.

Caps on what the target remembers: a soak test runs for hours; old records go first, and the plans
only ever read back recent ones, so a cap keeps memory flat without failing anyone.
"""

from __future__ import annotations

import itertools
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

Doc = dict[str, Any]
T = TypeVar("T")

STORE_LIMIT = 200_000
_INDEX_DEPTH = 500
_MAX_SCAN = 2_000  # newest records examined by one filtered list request, so lists stay O(limit)


class Store(Generic[T]):
    """Records in insertion order with a size cap; the oldest are dropped first."""

    def __init__(self, prefix: str, limit: int = STORE_LIMIT) -> None:
        self._items: OrderedDict[str, T] = OrderedDict()
        self._ids = itertools.count(1)
        self._prefix = prefix
        self._limit = limit

    def new_id(self) -> str:
        # Sequential ids are unique within the process and cheap; nothing here needs them secret.
        return f"{self._prefix}-{next(self._ids):06d}"

    def put(self, key: str, item: T) -> None:
        self._items[key] = item
        if len(self._items) > self._limit:
            self._items.popitem(last=False)

    def get(self, key: str) -> T | None:
        return self._items.get(key)

    def newest(self) -> Iterator[T]:
        return reversed(self._items.values())

    def oldest(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


class Index:
    """The most recent record ids per owner, so scoped lists never scan the whole store."""

    def __init__(self) -> None:
        self._ids: dict[str, deque[str]] = {}

    def add(self, owner: str, record_id: str) -> None:
        self._ids.setdefault(owner, deque(maxlen=_INDEX_DEPTH)).append(record_id)

    def newest(self, owner: str, store: Store[Doc]) -> Iterator[Doc]:
        for record_id in reversed(self._ids.get(owner, ())):
            record = store.get(record_id)
            if record is not None:  # evicted from the store since
                yield record


@dataclass
class Tally:
    """Running totals, kept on write so dashboards cost O(1) however long the run."""

    count: int = 0
    amount: float = 0.0
    by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, amount: float, kind: str) -> None:
        self.count += 1
        self.amount += amount
        self.by_kind[kind] += 1

    def move(self, old_kind: str, new_kind: str) -> None:
        self.by_kind[old_kind] -= 1
        self.by_kind[new_kind] += 1

    def as_json(self, kind_name: str) -> Doc:
        return {"count": self.count, "amount": round(self.amount, 2), kind_name: dict(self.by_kind)}


class Tallies:
    def __init__(self) -> None:
        self._tallies: dict[str, Tally] = {}

    def __getitem__(self, scope: str) -> Tally:
        return self._tallies.setdefault(scope, Tally())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def take(records: Iterable[Doc], limit: int, keep: Callable[[Doc], bool] | None = None) -> list[Doc]:
    """The first `limit` records that pass `keep`, looking at no more than _MAX_SCAN of them."""
    found: list[Doc] = []
    for record in itertools.islice(records, _MAX_SCAN):
        if keep is None or keep(record):
            found.append(record)
            if len(found) >= limit:
                break
    return found
