"""Why a record is (or is not) in a work, in terms a curator can check.

Each member is reported with the link that joined it: the best edge on a
maximum spanning tree grown from the canonical record (strong identifier
signals first, then by score, curator merges above all), with every signal
and its score. Links to records outside the work are listed with the reason
they did not join (a veto, a curator split, or an ambiguous match).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import msgspec

from index.dedup.cluster import Decision
from index.dedup.signals import Features, compare, containment, dice, grams, strong_signals, veto

if TYPE_CHECKING:
    from index.dedup.engine import DedupEngine


class Link(msgspec.Struct, frozen=True):
    other: str
    score: float
    signals: dict[str, float]
    how: str  # "curator-merge", "identifier" (a strong signal), "similarity"

    def rank(self) -> tuple[int, float]:
        """Curator merges first, then identifier signals, then by score."""
        return ({"curator-merge": 0, "identifier": 1}.get(self.how, 2), -self.score)


class MemberExplanation(msgspec.Struct):
    record: str
    source: str
    title: str
    joined_via: Link | None  # None for the canonical record, the tree's root
    links: list[Link]


class Rejected(msgspec.Struct, frozen=True):
    record: str
    other: str
    other_work: str
    reason: str  # "veto:grade", "cannot-link", "ambiguous"


class WorkExplanation(msgspec.Struct):
    work_id: str
    canonical: str
    canonical_reason: str
    members: list[MemberExplanation]
    rejected: list[Rejected]
    decisions: list[Decision]


class PairExplanation(msgspec.Struct):
    a: str
    b: str
    same_work: bool
    signals: dict[str, float]
    veto: str | None
    verified: bool
    decisions: list[Decision]


def _canonical_reason(engine: DedupEngine, canonical: str) -> str:
    if canonical in engine.pins:
        return "pinned by curator"
    f = engine.features[canonical]
    from schemas.record import SOURCE_LEVELS

    level = SOURCE_LEVELS[f.level] if f.level < len(SOURCE_LEVELS) else "unknown"
    return f"highest source level ({level}), then completeness {f.completeness}, then recency"


def explain_work(engine: DedupEngine, work: str) -> WorkExplanation:
    members = engine.members(work)
    inside = set(members)
    canonical = engine.canonical(work)
    must = engine.partition.must

    def links(rid: str) -> list[Link]:
        found = [
            Link(o, 1.0, {"curator_merge": 1.0}, "curator-merge") for o in must.get(rid, {}) if o in inside
        ]
        found += [
            Link(o, m.score, m.signals, "identifier" if m.strong else "similarity")
            for o, m in engine.edges.get(rid, {}).items()
            if o in inside
        ]
        return sorted(found, key=lambda link: (link.rank(), link.other))

    # Prim's algorithm from the canonical record: each member is shown with
    # the best link that reaches it from the part of the work already shown.
    joined: dict[str, Link | None] = {canonical: None}
    heap = [(link.rank(), link.other, canonical, link) for link in links(canonical)]
    heapq.heapify(heap)
    while heap:
        _, other, via, link = heapq.heappop(heap)
        if other in joined:
            continue
        joined[other] = Link(via, link.score, link.signals, link.how)
        for nxt in links(other):
            if nxt.other not in joined:
                heapq.heappush(heap, (nxt.rank(), nxt.other, other, nxt))
    explained = []
    for rid in sorted(members, key=lambda r: (r != canonical, r)):
        record = engine.record(rid)
        explained.append(
            MemberExplanation(
                record=rid,
                source=record.source if record else "",
                title=record.title if record else "",
                joined_via=joined.get(rid),
                links=links(rid),
            )
        )
    rejected = []
    for rid in members:
        for other, m in engine.edges.get(rid, {}).items():
            if other in inside:
                continue
            rejected.append(
                Rejected(rid, other, engine.work_id(other), _why_apart(engine, rid, other, m.strong))
            )
    decisions = [d for d in engine.decisions if d.a in inside or d.b in inside]
    return WorkExplanation(
        work_id=engine.work_id(canonical),
        canonical=canonical,
        canonical_reason=_canonical_reason(engine, canonical),
        members=explained,
        rejected=sorted(rejected, key=lambda r: (r.record, r.other)),
        decisions=decisions,
    )


def _why_apart(engine: DedupEngine, a: str, b: str, strong: bool) -> str:
    p = engine.partition
    if b in p.cannot.get(a, {}):
        return "cannot-link"
    if not strong and (a in engine.ambiguous or b in engine.ambiguous):
        return "ambiguous"
    reason = p.conflict(p.work_of[a], p.work_of[b])
    return f"veto:{reason}" if reason else "not-joined"


def explain_pair(engine: DedupEngine, a: str, b: str) -> PairExplanation:
    """Every signal between two records, verified or not, and any veto."""
    fa, fb = engine.features[a], engine.features[b]
    signals = _raw_signals(fa, fb)
    vetoed = veto(fa, fb)
    return PairExplanation(
        a=a,
        b=b,
        same_work=engine.partition.work_of[a] == engine.partition.work_of[b],
        signals=signals,
        veto=f"{vetoed[0]}: {vetoed[1]} ≠ {vetoed[2]}" if vetoed else None,
        verified=compare(fa, fb, engine.config.thresholds) is not None,
        decisions=[d for d in engine.decisions if {d.a, d.b} == {a, b}],
    )


def _raw_signals(a: Features, b: Features) -> dict[str, float]:
    signals = dict(strong_signals(a, b))
    ga, gb = grams(a.title_key), grams(b.title_key)
    signals["title"] = 1.0 if a.title_key == b.title_key else round(dice(ga, gb), 3)
    if a.desc and b.desc:
        signals["description"] = round(containment(grams(a.desc), grams(b.desc)), 3)
    return signals


def render(explanation: WorkExplanation) -> str:
    """Plain-text report for logs and the curator UI."""
    lines = [
        f"work {explanation.work_id}: canonical {explanation.canonical} ({explanation.canonical_reason})"
    ]
    for m in explanation.members:
        if m.joined_via is None:
            lines.append(f"  {m.record} [{m.source}] {m.title}: canonical")
            continue
        sig = ", ".join(f"{k}={v:g}" for k, v in sorted(m.joined_via.signals.items()))
        lines.append(
            f"  {m.record} [{m.source}] {m.title}: via {m.joined_via.other} ({m.joined_via.how}; {sig})"
        )
    for r in explanation.rejected:
        lines.append(f"  not joined: {r.record} ~ {r.other} in {r.other_work}: {r.reason}")
    for d in explanation.decisions:
        lines.append(f"  decision #{d.seq} {d.kind} {d.a} {d.b} by {d.curator or '?'}: {d.note}")
    return "\n".join(lines)
