"""Works as a union-find with vetoes and curator constraints.

A work's *profile* holds, per veto field, the values its members carry. Two
works may only be united when every pair of values is compatible, so a record
that lacks a grade cannot bridge the grade-1 and the grade-2 lesson of the
same name: once it has joined one, the other is vetoed at the cluster level.

Union is weighted quick-find (members relabelled from the smaller side), so
a removal needs no rebuild of parent pointers: the removed record's work is
re-clustered locally by `recluster`, the same deterministic procedure a full
rebuild runs over everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

import msgspec

from index.dedup.signals import VETO_FIELDS, Match, compatible

DECISION_KINDS = ("merge", "split", "pin")


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A curator's ruling; always beats the algorithm, the newest beats older ones.

    merge: a and b are one work (whatever the vetoes say).
    split: a and b are never one work (whatever the signals say).
    pin: a is its work's canonical record (b unused).
    """

    kind: str
    a: str
    b: str = ""
    curator: str = ""
    note: str = ""
    at: datetime | None = None
    seq: int = 0


Profile = tuple["str | frozenset[str] | None", ...]
"""Per VETO_FIELDS index: None (no member has a value), the one value, or a frozenset of them.
A one-record work's profile is its fields tuple itself, shared, not copied."""


def _values(v: str | frozenset[str]) -> Iterable[str]:
    return (v,) if isinstance(v, str) else v


class Partition:
    """Record → work assignment with per-work field profiles and constraints.

    Kept small for a million records: a work of one record has no member
    collection (its root is its member) and shares its record's fields tuple
    as its profile; bigger works keep a list of members.
    """

    def __init__(self) -> None:
        self.work_of: dict[str, str] = {}
        self.values: dict[str, Profile] = {}  # root -> profile; its keys are the works
        self.groups: dict[str, list[str]] = {}  # root -> members, for works of more than one record
        self.forced: dict[str, set[int]] = {}  # fields a curator merge made multi-valued (sparse)
        self.must: dict[str, dict[str, int]] = {}
        self.cannot: dict[str, dict[str, int]] = {}

    # -- constraints --------------------------------------------------------

    def add_constraint(self, kind: str, a: str, b: str, seq: int) -> None:
        """Record merge/split of a and b; it replaces an opposite ruling on the same pair."""
        keep, drop = (self.must, self.cannot) if kind == "merge" else (self.cannot, self.must)
        _unlink(drop, a, b)
        keep.setdefault(a, {})[b] = seq
        keep.setdefault(b, {})[a] = seq

    # -- works --------------------------------------------------------------

    def members_of(self, root: str) -> Sequence[str]:
        """The member ids of the work rooted at root (unordered)."""
        group = self.groups.get(root)
        if group is not None:
            return group
        return (root,) if root in self.values else ()

    def works(self) -> Iterator[Sequence[str]]:
        for root in self.values:
            yield self.members_of(root)

    def found(self, rid: str, fields: tuple[str | None, ...]) -> str:
        self.work_of[rid] = rid
        self.values[rid] = fields
        self.groups.pop(rid, None)
        return rid

    def discard(self, rid: str) -> str | None:
        """Take rid out of its work (the caller re-clusters what is left)."""
        root = self.work_of.pop(rid, None)
        if root is None:
            return None
        group = self.groups.get(root)
        if group is not None:
            group.remove(rid)
            if not group:
                self._dissolve(root)
        elif root == rid:
            self._dissolve(root)
        return root

    def conflict(self, x: str, y: str) -> str | None:
        """Why works x and y may not be united (a field name or "cannot-link"), else None."""
        vx, vy = self.values[x], self.values[y]
        if vx is not vy and vx != vy:
            for i in range(len(vx)):
                a, b = vx[i], vy[i]
                if a is None or b is None or a == b:
                    continue
                name = VETO_FIELDS[i]
                pairs = (compatible(name, p, q) for p in _values(a) for q in _values(b))
                if not (
                    any(pairs) if (i in self.forced.get(x, ()) or i in self.forced.get(y, ())) else all(pairs)
                ):
                    return name
        if self.cannot:
            mx, my = self.members_of(x), self.members_of(y)
            small, other = (mx, y) if len(mx) <= len(my) else (my, x)
            for m in small:
                for o in self.cannot.get(m, ()):
                    if self.work_of.get(o) == other:
                        return "cannot-link"
        return None

    def union(self, x: str, y: str, force: bool = False) -> str:
        """Unite works x and y (roots); force keeps conflicting values side by side."""
        if len(self.members_of(x)) < len(self.members_of(y)):
            x, y = y, x
        moved = self.members_of(y)
        for m in moved:
            self.work_of[m] = x
        group = self.groups.get(x)
        if group is None:
            group = self.groups[x] = [x]
        group += moved
        self.groups.pop(y, None)
        vx, vy = self.values[x], self.values.pop(y)
        forced = self.forced.pop(y, set()) | self.forced.get(x, set())
        if vx is not vy and vx != vy:
            self.values[x] = self._merge_profiles(vx, vy, forced if force else None)
        if forced:
            self.forced[x] = forced
        return x

    @staticmethod
    def _merge_profiles(vx: Profile, vy: Profile, forced: set[int] | None) -> Profile:
        """vx and vy united; fields whose values conflict go into forced (when given)."""
        merged = list(vx)
        for i, b in enumerate(vy):
            a = vx[i]
            if b is None or a == b:
                continue
            if a is None:
                merged[i] = b
                continue
            if forced is not None and not all(
                compatible(VETO_FIELDS[i], p, q) for p in _values(a) for q in _values(b)
            ):
                forced.add(i)
            merged[i] = frozenset(_values(a)) | frozenset(_values(b))
        return tuple(merged)

    def _dissolve(self, root: str) -> set[str]:
        members = set(self.members_of(root))
        self.values.pop(root, None)
        self.forced.pop(root, None)
        self.groups.pop(root, None)
        return members

    def recluster(
        self,
        rids: Iterable[str],
        fields: Callable[[str], tuple[str | None, ...]],
        edges: Mapping[str, Mapping[str, Match]],
        ambiguous: set[str],
    ) -> set[str]:
        """Re-derive the works of rids (whole works are taken) from scratch.

        Curator constraints first, newest first, so a newer ruling supersedes
        an older one it contradicts; then strong edges, then weak ones by
        score. Weak edges of ambiguous records are left out. Returns the set
        of records re-clustered.
        """
        todo: set[str] = set()
        for rid in rids:
            root = self.work_of.get(rid)
            if root is not None and root in self.values:
                todo |= self._dissolve(root)
            else:
                todo.add(rid)
        for rid in todo:
            self.found(rid, fields(rid))
        self._apply_constraints(todo)
        candidates = []
        for a in todo:
            for b, m in edges.get(a, {}).items():
                if a < b and b in todo and (m.strong or (a not in ambiguous and b not in ambiguous)):
                    candidates.append((not m.strong, -m.score, a, b))
        candidates.sort()
        for _, _, a, b in candidates:
            ra, rb = self.work_of[a], self.work_of[b]
            if ra != rb and self.conflict(ra, rb) is None:
                self.union(ra, rb)
        return todo

    def _apply_constraints(self, todo: set[str]) -> None:
        rulings: list[tuple[int, str, str, str]] = []
        for kind, table in (("merge", self.must), ("split", self.cannot)):
            for a in todo & table.keys():
                rulings += [(seq, kind, a, b) for b, seq in table[a].items() if a < b and b in todo]
        applied: list[tuple[str, str]] = []
        for _seq, kind, a, b in sorted(rulings, reverse=True):
            ra, rb = self.work_of[a], self.work_of[b]
            if kind == "merge":
                blocked = any({self.work_of[x], self.work_of[y]} == {ra, rb} for x, y in applied)
                if blocked:
                    _unlink(self.must, a, b)  # superseded by a newer split
                elif ra != rb:
                    self.union(ra, rb, force=True)
            elif ra == rb:
                _unlink(self.cannot, a, b)  # superseded by a newer merge
            else:
                applied.append((a, b))


def _unlink(table: dict[str, dict[str, int]], a: str, b: str) -> None:
    for x, y in ((a, b), (b, a)):
        row = table.get(x)
        if row is not None:
            row.pop(y, None)
            if not row:
                del table[x]


def work_id_of(rid: str) -> str:
    """A work is named after its smallest member record id (r… → w…)."""
    return "w" + rid[1:] if rid.startswith("r") else "w-" + rid


def record_id_of(work_id: str) -> str:
    return work_id[2:] if work_id.startswith("w-") else "r" + work_id[1:]
