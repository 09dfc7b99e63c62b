"""In-memory object store, one partition per account, with ordered indexes.

Every object is kept as the exact JSON shape Stripe serves (a plain ``dict``). Lists are
served from per-type indexes sorted by ``(created, seq)`` and from per-field indexes
(``customer``, ``email`` ...), so a page costs O(log n + limit), never a sort of the store.
Attributes Stripe never serialises (a card's decline behaviour, a clock's cursor) live in
``hidden[id]``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import resource_missing

Obj = dict[str, Any]
IndexKey = tuple[int, int, str]

# Fields indexed per object type; extend with register_index() at import time.
INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": ("email", "test_clock"),
    "payment_method": ("customer",),
    "event": ("type",),
    "price": ("product",),
    "setup_intent": ("customer",),
}


def register_index(object_type: str, field_name: str) -> None:
    """Index ``object_type`` by ``field_name`` (a string or expandable id) for fast filters."""
    current = INDEXED_FIELDS.get(object_type, ())
    if field_name not in current:
        INDEXED_FIELDS[object_type] = (*current, field_name)


def _ref(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ref = value.get("id")
        return ref if isinstance(ref, str) else None
    return None


class SortedIndex:
    """Keys ``(created, seq, id)`` in ascending order; pages walk it from either end."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys: list[IndexKey] = []

    def add(self, key: IndexKey) -> None:
        keys = self.keys
        if not keys or keys[-1] < key:
            keys.append(key)  # the common case: objects arrive in time order
        else:
            insort(keys, key)

    def remove(self, key: IndexKey) -> None:
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def position(self, key: IndexKey) -> int:
        return bisect_left(self.keys, key)

    def bounds(self, gte: int | None, lte: int | None) -> tuple[int, int]:
        """Index range [lo, hi) of keys with gte <= created <= lte."""
        lo = 0 if gte is None else bisect_left(self.keys, (gte, -1, ""))
        hi = len(self.keys) if lte is None else bisect_right(self.keys, (lte, 1 << 62, ""))
        return lo, hi

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class Entry:
    type: str
    key: IndexKey
    indexed: dict[str, str | None] = field(default_factory=dict)


class AccountStore:
    """All objects of one account. Not thread-safe: only touch it on the event loop."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.objects: dict[str, Obj] = {}
        self.entries: dict[str, Entry] = {}
        self.hidden: dict[str, dict[str, Any]] = {}
        self.tombstones: dict[str, Obj] = {}
        self.by_type: dict[str, SortedIndex] = {}
        self.by_field: dict[tuple[str, str, str], SortedIndex] = {}
        self._seq = 0

    # -- writes ---------------------------------------------------------------------
    def insert(self, obj: Obj, hidden: dict[str, Any] | None = None) -> Obj:
        oid: str = obj["id"]
        otype: str = obj["object"]
        if oid in self.objects:
            raise ValueError(f"duplicate id {oid}")
        self._seq += 1
        created = obj.get("created")
        key = (created if isinstance(created, int) else 0, self._seq, oid)
        entry = Entry(otype, key)
        self.objects[oid] = obj
        self.entries[oid] = entry
        if hidden:
            self.hidden[oid] = hidden
        self.by_type.setdefault(otype, SortedIndex()).add(key)
        self._index(obj, entry)
        return obj

    def save(self, obj: Obj) -> Obj:
        """Call after mutating an object in place: keeps field indexes in step."""
        entry = self.entries[obj["id"]]
        self._index(obj, entry)
        return obj

    def delete(self, oid: str) -> Obj:
        obj = self.objects.pop(oid)
        entry = self.entries.pop(oid)
        self.by_type[entry.type].remove(entry.key)
        for fname, value in entry.indexed.items():
            if value is not None:
                self.by_field[(entry.type, fname, value)].remove(entry.key)
        stub = {"id": oid, "object": entry.type, "deleted": True}
        self.tombstones[oid] = stub
        return obj

    def _index(self, obj: Obj, entry: Entry) -> None:
        for fname in INDEXED_FIELDS.get(entry.type, ()):
            value = _ref(obj.get(fname))
            old = entry.indexed.get(fname)
            if value == old and fname in entry.indexed:
                continue
            if old is not None:
                self.by_field[(entry.type, fname, old)].remove(entry.key)
            if value is not None:
                self.by_field.setdefault((entry.type, fname, value), SortedIndex()).add(entry.key)
            entry.indexed[fname] = value

    # -- reads ----------------------------------------------------------------------
    def get(self, oid: str) -> Obj | None:
        return self.objects.get(oid)

    def get_typed(self, otype: str, oid: str, *, kind: str | None = None, param: str = "id") -> Obj:
        """The object or Stripe's 404 (``No such customer: 'cus_x'``)."""
        obj = self.objects.get(oid)
        if obj is None or obj["object"] != otype:
            raise resource_missing(kind or otype.rsplit(".", 1)[-1].replace("_", " "), oid, param)
        return obj

    def hidden_of(self, oid: str) -> dict[str, Any]:
        return self.hidden.setdefault(oid, {})

    def index_for(
        self, otype: str, fname: str | None = None, value: str | None = None
    ) -> SortedIndex:
        if fname is None:
            return self.by_type.get(otype) or SortedIndex()
        if fname not in INDEXED_FIELDS.get(otype, ()):
            raise KeyError(f"{otype}.{fname} is not indexed; call register_index()")
        return self.by_field.get((otype, fname, value or "")) or SortedIndex()

    def iter_newest(self, otype: str) -> Iterator[Obj]:
        keys = self.index_for(otype).keys
        for i in range(len(keys) - 1, -1, -1):
            yield self.objects[keys[i][2]]

    def find(self, otype: str, predicate: Callable[[Obj], bool]) -> Iterator[Obj]:
        return (o for o in self.iter_newest(otype) if predicate(o))

    def count(self, otype: str) -> int:
        return len(self.index_for(otype))
