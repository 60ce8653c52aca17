"""The dedup engine: records in, works out.

The store calls `add` / `remove` as records arrive, change or go, curators
call `merge` / `split` / `pin`, and the UI calls `work_id`, `members`,
`canonical`, `merged` and `explain`. State is features + edges + partition;
`snapshot`/`restore` persist it, `rebuild` recomputes it from records and
the decision log (the one thing that cannot be recomputed).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from index.dedup.blocking import LARGE_GROUP, same_title_partners
from index.dedup.cluster import DECISION_KINDS, Decision, Partition, record_id_of, work_id_of
from index.dedup.lsh import ShingleLSH
from index.dedup.signals import (
    Features,
    Match,
    Thresholds,
    agreement,
    compare,
    features,
    fields_veto,
    is_value,
    may_be_retitled,
    may_retitle,
    shared_match,
    signal_of,
)
from schemas.record import Record

if TYPE_CHECKING:
    from index.dedup.canonical import MergedView
    from index.dedup.explain import WorkExplanation
    from index.dedup.persist import StateStore

RecordLoader = Callable[[str], "Record | None"]


class EngineConfig(msgspec.Struct, frozen=True):
    """Tunables; the defaults are what the committed evaluation set was measured with."""

    thresholds: Thresholds = Thresholds()
    num_perm: int = 64
    bands: int = 8
    rows: int = 8
    ambiguity_margin: float = 0.05  # weak matches to conflicting works closer than this: join neither


class DedupEngine:
    """Incremental record → work clustering with curator overrides."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        loader: RecordLoader | None = None,
        store: StateStore | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.features: dict[str, Features] = {}
        self.records: dict[str, Record] = {}
        self.loader = loader
        self.store = store  # decisions are appended to it as they are made
        self.lsh = ShingleLSH(self.config.num_perm, self.config.bands, self.config.rows)
        # title key -> field signature -> records: look-alikes a veto rules out
        # (other edition, class hour, ...) are skipped a signature at a time.
        # Buckets are one record id (most) or a tuple of them: a set each cost ~200 bytes a record.
        self.by_key: dict[str, dict[tuple[str | None, ...], Bucket]] = {}
        self.by_locator: dict[int, Bucket] = {}  # hashed locators (signals.locator_key)
        self.by_ref: dict[int, Bucket] = {}
        self.edges: dict[str, dict[str, Match]] = {}  # only records that have an edge
        self.partition = Partition()
        self.ambiguous: set[str] = set()
        self.decisions: list[Decision] = []
        self.pins: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.features)

    def __contains__(self, rid: str) -> bool:
        return rid in self.features

    # -- records --------------------------------------------------------------

    def add(self, record: Record, precomputed: Features | None = None) -> str:
        """Add or update a record; returns the id of the work it is now in
        ("" for a deleted record, which is removed instead).

        precomputed: the record's Features when the caller stored them (they
        depend on the record alone), saving the title normalisation.
        """
        rid = record.id
        if record.deleted:  # a tombstone: the record leaves its work
            self.remove(rid)
            return ""
        f = precomputed if precomputed is not None and precomputed.rid == rid else features(record)
        if rid in self.features:
            if self.features[rid] == f:
                self._keep(record)
                return self.work_id(rid)
            self.remove(rid)
        self._keep(record)
        self._index(f)
        self._place(rid)
        return self.work_id(rid)

    def add_many(self, records: Iterable[Record]) -> None:
        with paused_gc():
            for record in records:
                self.add(record)

    def remove(self, rid: str) -> None:
        """Take a record out; its work is re-clustered locally (it may fall apart)."""
        f = self.features.pop(rid, None)
        if f is None:
            return
        self.records.pop(rid, None)
        self.lsh.remove(rid)
        block = self.by_key.get(f.title_key)
        if block is not None:
            _drop(block, f.fields, rid)  # type: ignore[arg-type]
            if not block:
                del self.by_key[f.title_key]
        for loc in f.locators:
            _drop(self.by_locator, loc, rid)
        for loc in f.refs:
            _drop(self.by_ref, loc, rid)
        neighbours = self.edges.pop(rid, {})
        for other in neighbours:
            _drop(self.edges, other, rid)
        self.ambiguous.discard(rid)
        cleared = {n for n in neighbours if n in self.ambiguous and not self._is_ambiguous(n)}
        self.ambiguous -= cleared
        root = self.partition.discard(rid)
        rest = set(self.partition.members_of(root)) if root is not None else set()
        if cleared:
            rest |= cleared | set(neighbours)
        if rest:
            self._recluster(rest)

    def record(self, rid: str) -> Record | None:
        return self.records.get(rid) or (self.loader(rid) if self.loader else None)

    def _keep(self, record: Record) -> None:
        if self.loader is None:
            self.records[record.id] = record

    def _index(self, f: Features, same_title: Collection[str] | None = None) -> None:
        """Find and verify f's candidates, store the edges, index f.

        same_title: the records of f's title group that can match it at all (blocking.same_title_partners),
        when the caller knows them; otherwise every indexed record of the group with compatible fields.
        """
        # LSH can only add a retitled copy, and that needs a description on
        # both sides: records without one skip it (and stay out of it).
        sketch = self.lsh.sketch(f) if len(f.desc) >= self.config.thresholds.retitled_desc_chars else None
        # LSH adds only retitled copies: its own title group is found by the key index below (a same-title
        # record that leaves out is one compare() would reject: vetoed, or too unlike), and another title
        # must be one f's could have become (what may_be_retitled asks besides the descriptions' length,
        # which every record in LSH has). A strong match is a candidate through the locator index anyway.
        from_lsh: set[str] = set()
        if sketch is not None:
            key, thresholds = f.title_key, self.config.thresholds
            from_lsh.update(self.lsh.query(sketch, lambda g: g != key and may_retitle(key, g, thresholds)))
        candidates = set(from_lsh)
        if same_title is None:
            for signature, members in self.by_key.get(f.title_key, {}).items():
                if fields_veto(signature, f.fields) is None:
                    candidates.update(_ids(members))
        else:
            candidates.update(c for c in same_title if c in self.features)
        strong: dict[str, dict[str, float]] = {}
        for loc in f.locators:
            name = signal_of(loc)
            if not is_value(loc):
                for c in _ids(self.by_locator.get(loc)):
                    strong.setdefault(c, {})[name] = 1.0
            for c in _ids(self.by_ref.get(loc)):
                strong.setdefault(c, {})["is_based_on"] = 1.0
        for loc in f.refs:
            for c in _ids(self.by_locator.get(loc)):
                strong.setdefault(c, {})["is_based_on"] = 1.0
        candidates |= strong.keys()
        candidates.discard(f.rid)
        if sketch is not None:
            self.lsh.insert(f.rid, sketch, f.title_key)
        self.features[f.rid] = f
        self._index_key(f)
        self._index_locators(f)
        thresholds = self.config.thresholds
        for c in candidates:
            other = self.features[c]
            if (
                other.title_key != f.title_key
                and c not in strong
                and not may_be_retitled(f, other, thresholds)
            ):
                continue  # most LSH candidates: cheaper to drop here than in compare
            m = compare(f, other, thresholds, strong.get(c, {}))
            if m is None:
                continue
            if c in from_lsh and sketch is not None:
                m = Match(m.score, m.strong, {**m.signals, "minhash": self.lsh.estimate(sketch, c)})
            m = shared_match(m)
            self.edges.setdefault(f.rid, {})[c] = m
            self.edges.setdefault(c, {})[f.rid] = m

    def _index_key(self, f: Features) -> None:
        _add(self.by_key.setdefault(f.title_key, {}), f.fields, f.rid)

    def _index_locators(self, f: Features) -> None:
        for loc in f.locators:
            _add(self.by_locator, loc, f.rid)
        for loc in f.refs:
            _add(self.by_ref, loc, f.rid)

    # -- placement --------------------------------------------------------------

    def _place(self, rid: str) -> None:
        p = self.partition
        p.found(rid, self.features[rid].fields)
        neighbours = self.edges.get(rid, _NO_EDGES)
        if self._is_ambiguous(rid):
            self.ambiguous.add(rid)
        flipped = self._newly_ambiguous(rid)
        partners = set(p.must.get(rid, ())) | set(p.cannot.get(rid, ()))
        if flipped or partners:
            self._recluster({rid} | set(neighbours) | flipped | {x for x in partners if x in self.features})
            return
        conflict = False
        for c, m in sorted(neighbours.items(), key=lambda kv: (not kv[1].strong, -kv[1].score, kv[0])):
            if not m.strong and (rid in self.ambiguous or c in self.ambiguous):
                continue
            ra, rc = p.work_of[rid], p.work_of[c]
            if ra == rc:
                continue
            if p.conflict(ra, rc) is None:
                p.union(ra, rc)
            else:
                conflict = True
        if conflict:  # greedy order may have chosen wrong: settle it as a rebuild would
            self._recluster({rid} | set(neighbours))

    def _top_weak(self, rid: str) -> list[str]:
        """rid's weak neighbours scoring within the ambiguity margin of its best."""
        weak = [(m.score, c) for c, m in self.edges.get(rid, {}).items() if not m.strong]
        if len(weak) < 2:
            return []
        floor = max(weak)[0] - self.config.ambiguity_margin
        return [c for s, c in weak if s >= floor]

    def _is_ambiguous(self, rid: str) -> bool:
        """True when rid's best weak matches include two surely different
        resources, with scores too close to tell which one it is: two records
        whose fields veto each other (第1课时 vs 第2课时 when this copy says
        neither), or, for a copy without a description, two records as alike
        to it as any, which both have a description and no edge between them
        (the same class hour by two teachers: nothing says whose copy it is,
        and joining both would make their two lessons one work)."""
        return self._ambiguous_among(rid, self._top_weak(rid))

    def _ambiguous_among(self, rid: str, top: list[str]) -> bool:
        """_is_ambiguous with rid's best weak matches already found."""
        distinct = list({self.features[c].fields for c in top})  # a veto depends on fields alone
        if any(fields_veto(u, v) for i, u in enumerate(distinct) for v in distinct[i + 1 :]):
            return True
        f = self.features[rid]
        least = self.config.thresholds.min_desc_chars
        if not top or len(f.desc) >= least:
            return False
        agree = {c: agreement(f, self.features[c]) for c in top}
        best = max(agree.values())
        closest = [c for c in top if agree[c] == best and len(self.features[c].desc) >= least]
        return any(v not in self.edges.get(u, _NO_EDGES) for i, u in enumerate(closest) for v in closest[i + 1 :])

    def _newly_ambiguous(self, rid: str) -> set[str]:
        """Neighbours that the new record rid made ambiguous (only those with
        rid among their best matches can have changed)."""
        flipped: set[str] = set()
        for n, m in self.edges.get(rid, _NO_EDGES).items():
            if m.strong or n in self.ambiguous:
                continue
            top = self._top_weak(n)
            if rid in top and self._ambiguous_among(n, top):
                self.ambiguous.add(n)
                flipped.add(n)
        return flipped

    def _recluster(self, rids: set[str]) -> None:
        self.partition.recluster(rids, lambda r: self.features[r].fields, self.edges, self.ambiguous)

    # -- curator decisions ------------------------------------------------------

    def decide(self, decision: Decision) -> Decision:
        """Record a curator decision (merge/split/pin) and apply it at once."""
        if decision.kind not in DECISION_KINDS:
            raise ValueError(f"unknown decision kind {decision.kind!r}")
        if decision.kind != "pin" and (not decision.b or decision.a == decision.b):
            raise ValueError(f"{decision.kind} needs two different records")
        seq = max((d.seq for d in self.decisions), default=0) + 1
        decision = msgspec.structs.replace(decision, seq=seq, at=decision.at or datetime.now(UTC))
        self.decisions.append(decision)
        if self.store is not None:
            self.store.append_decision(decision)
        self._apply(decision, recluster=True)
        return decision

    def merge(self, a: str, b: str, curator: str = "", note: str = "") -> Decision:
        return self.decide(Decision(kind="merge", a=a, b=b, curator=curator, note=note))

    def split(self, a: str, b: str, curator: str = "", note: str = "") -> Decision:
        return self.decide(Decision(kind="split", a=a, b=b, curator=curator, note=note))

    def pin(self, rid: str, curator: str = "", note: str = "") -> Decision:
        """Make rid its work's canonical record whatever its source level."""
        return self.decide(Decision(kind="pin", a=rid, curator=curator, note=note))

    def _apply(self, d: Decision, recluster: bool) -> None:
        if d.kind == "pin":
            self.pins[d.a] = d.seq
            return
        self.partition.add_constraint(d.kind, d.a, d.b, d.seq)
        present = {x for x in (d.a, d.b) if x in self.features}
        if recluster and present:
            self._recluster(present)

    # -- works --------------------------------------------------------------------

    def work_id(self, rid: str) -> str:
        """Stable id of rid's work: derived from its smallest member id, so a
        rebuild from the same records gives the same ids."""
        return work_id_of(min(self.partition.members_of(self.partition.work_of[rid])))

    def members(self, work: str) -> list[str]:
        """Sorted member ids of a work, given a work id or any member's record id."""
        rid = work if work in self.features else record_id_of(work)
        root = self.partition.work_of.get(rid)
        if root is None:
            raise KeyError(work)
        members = self.partition.members_of(root)
        if work not in self.features and min(members) != rid:
            raise KeyError(work)
        return sorted(members)

    def works(self) -> dict[str, list[str]]:
        return {work_id_of(min(ms)): sorted(ms) for ms in self.partition.works()}

    def canonical(self, work: str) -> str:
        from index.dedup.canonical import choose_canonical

        return choose_canonical([self.features[r] for r in self.members(work)], self.pins)

    def merged(self, work: str) -> MergedView:
        """The work's merged view (canonical.MergedView) with per-field provenance."""
        from index.dedup.canonical import merged_view

        return merged_view(self, work)

    def explain(self, work: str) -> WorkExplanation:
        """Why each member is in the work (explain.WorkExplanation)."""
        from index.dedup.explain import explain_work

        return explain_work(self, work)

    # -- persistence ----------------------------------------------------------------

    def snapshot(self) -> bytes:
        from index.dedup.persist import encode_snapshot

        return encode_snapshot(self)

    @classmethod
    def restore(
        cls, data: bytes, loader: RecordLoader | None = None, store: StateStore | None = None
    ) -> DedupEngine:
        from index.dedup.persist import decode_snapshot

        return decode_snapshot(cls, data, loader, store)

    @classmethod
    def rebuild(
        cls,
        records: Iterable[Record],
        decisions: Iterable[Decision] = (),
        config: EngineConfig | None = None,
        loader: RecordLoader | None = None,
        store: StateStore | None = None,
    ) -> DedupEngine:
        """Cluster everything in one deterministic pass: the path when no
        snapshot exists, and the reference the incremental path approximates."""
        engine = cls(config, loader, store)
        with paused_gc():
            engine._rebuild(records, decisions)
        return engine

    @classmethod
    def rebuild_from_features(
        cls,
        all_features: Iterable[Features],
        decisions: Iterable[Decision],
        loader: RecordLoader,
        config: EngineConfig | None = None,
        store: StateStore | None = None,
    ) -> DedupEngine:
        """rebuild() from the live records' features computed elsewhere (repository/dedupe_workers.py):
        the same works; the records themselves stay with the loader."""
        engine = cls(config, loader, store)
        with paused_gc():
            engine._apply_decisions(decisions)
            latest = {f.rid: f for f in all_features}  # a record listed twice: the last wins
            engine._cluster_all(latest.values())
        return engine

    def _apply_decisions(self, decisions: Iterable[Decision]) -> None:
        for d in sorted(decisions, key=lambda d: d.seq):
            self.decisions.append(d)
            self._apply(d, recluster=False)

    def _rebuild(self, records: Iterable[Record], decisions: Iterable[Decision]) -> None:
        self._apply_decisions(decisions)
        # a record listed twice: the last wins. Only Features are held, never all the Records at once
        latest: dict[str, Features | None] = {}
        for record in records:
            if record.deleted:
                latest[record.id] = None
                self.records.pop(record.id, None)
            else:
                latest[record.id] = features(record)
                self._keep(record)
        self._cluster_all(f for f in latest.values() if f is not None)

    def _cluster_all(self, all_features: Iterable[Features]) -> None:
        """Index every record and cluster them once (the engine holds no records yet)."""
        groups: dict[str, list[Features]] = {}
        for f in all_features:
            groups.setdefault(f.title_key, []).append(f)
        # a pair's edge does not depend on which of the two is indexed first: a group at a time
        for group in groups.values():
            partners = (
                same_title_partners(group, self.config.thresholds) if len(group) >= LARGE_GROUP else {}
            )
            for f in group:
                self._index(f, partners.get(f.rid))
        self.ambiguous = {rid for rid in self.edges if self._is_ambiguous(rid)}  # no edge, no ambiguity
        self._recluster(set(self.features))

    def save(self) -> None:
        """Write a snapshot to the attached store."""
        if self.store is None:
            raise ValueError("no store attached")
        from index.dedup.persist import write_snapshot

        self.store.save_streamed(lambda out: write_snapshot(self, out))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Batch work builds many long-lived, cycle-free objects: the cyclic GC
    would only rescan them over and over (a fifth of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


Bucket = str | tuple[str, ...] | set[str]
"""One record id (most buckets), a tuple of a few, or a set when there are many."""
_SMALL = 8
_NO_EDGES: dict[str, Match] = {}


def _ids(bucket: Bucket | None) -> Collection[str]:
    """The record ids in an index bucket."""
    if bucket is None:
        return ()
    return (bucket,) if isinstance(bucket, str) else bucket


def _add(index: dict, key: object, rid: str) -> None:
    bucket = index.get(key)
    if bucket is None:
        index[key] = rid
    elif isinstance(bucket, str):
        if bucket != rid:
            index[key] = (bucket, rid)
    elif isinstance(bucket, set):
        bucket.add(rid)
    elif rid not in bucket:
        index[key] = (*bucket, rid) if len(bucket) < _SMALL else {*bucket, rid}


def _drop(index: dict, key: object, rid: str) -> None:
    """Take rid out of index[key]: an id bucket, or a dict (edges) that is deleted once empty."""
    bucket = index.get(key)
    if bucket is None:
        return
    if isinstance(bucket, set):
        bucket.discard(rid)
        rest = bucket
    elif isinstance(bucket, dict):
        bucket.pop(rid, None)
        rest = bucket
    elif isinstance(bucket, str):
        rest = () if bucket == rid else bucket
    else:
        rest = tuple(x for x in bucket if x != rid)
        rest = rest[0] if len(rest) == 1 else rest
    if not rest:
        del index[key]
    elif rest is not bucket:
        index[key] = rest
