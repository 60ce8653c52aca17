"""Which record speaks for a work, and the merged view built from all of them.

The canonical record is the one a curator pinned, else the highest source
level (national > provincial > municipal > district > school), then the most
complete, then the most recent. The merged view starts from the canonical
record and fills each gap from the next-best member, remembering for every
field which member supplied it, so the UI can say "grade from 杭州教育资源网".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from index.dedup.cluster import work_id_of
from index.dedup.keys import parse_title
from index.dedup.signals import Features
from schemas.record import Curriculum, Record
from schemas.text import fold
from schemas.vocab import vocabulary

if TYPE_CHECKING:
    from index.dedup.engine import DedupEngine

SCALAR_FIELDS = (
    "title",
    "description",
    "url",
    "language",
    "resource_type",
    "format",
    "size",
    "duration",
    "file_md5",
    "source_level",
    "licence",
    "rights",
    "created",
    "modified",
)
CURRICULUM_FIELDS = (
    "stage",
    "school_system",
    "grade",
    "grade_label",
    "subject",
    "edition",
    "volume",
    "chapter_path",
    "class_hour",
)
LIST_FIELDS = ("identifiers", "keywords", "thumbnails", "agents", "honours", "is_based_on")
_ELLIPSIS = re.compile(r"(\.{3,}|…+|。。。)\s*$")


class MergedView(msgspec.Struct, kw_only=True):
    """A work as one record, plus where each field came from.

    provenance maps a field path (``description``, ``curriculum.grade``) to
    the member record id that supplied it, or, for list fields, to the ids
    of every member that contributed a value.
    """

    work_id: str
    canonical: str
    members: list[str]
    record: Record
    provenance: dict[str, str | list[str]]


def rank_key(f: Features) -> tuple[int, int, float, str]:
    """Sort key, best first: source level, completeness, recency, then id."""
    return (f.level, -f.completeness, -f.recency, f.rid)


def choose_canonical(members: list[Features], pins: dict[str, int]) -> str:
    pinned = [f.rid for f in members if f.rid in pins]
    if pinned:
        return max(pinned, key=lambda rid: pins[rid])  # the newest pin wins
    return min(members, key=rank_key).rid


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _first_present(records: list[Record], name: str) -> tuple[Any, str | None]:
    """The first record's value of field name that is present, and that record's id."""
    for r in records:
        value = getattr(r, name)
        if value is not None and value != "" and value != []:
            return value, r.id
    return None, None


def _best_description(ordered: list[Record]) -> tuple[str | None, str | None]:
    """The top-ranked description, unless another member has it untruncated."""
    first = next((r for r in ordered if r.description), None)
    if first is None:
        return None, None
    if len(ordered) == 1:  # most works: no other member to compare with
        return first.description, first.id
    head = fold(_ELLIPSIS.sub("", first.description or ""))
    best, best_length = first, len(fold(first.description or ""))
    for r in ordered:
        folded = fold(r.description or "")
        if len(folded) > best_length and folded.startswith(head):
            best, best_length = r, len(folded)
    return best.description, best.id


def merged_view(
    engine: DedupEngine, work: str, load: Callable[[str], Record | None] | None = None
) -> MergedView:
    """load: where to read members from first (a batch the caller loaded at once), else the engine's loader."""
    ids = engine.members(work)
    order = member_order(engine, ids)
    records = [r for r in ((load and load(rid)) or engine.record(rid) for rid in order) if r is not None]
    return merge(work_id_of(ids[0]), order[0], ids, records)


def member_order(engine: DedupEngine, ids: list[str]) -> list[str]:
    """A work's member ids, canonical first, then best ranked first: the order merge() reads them in."""
    canonical = choose_canonical([engine.features[r] for r in ids], engine.pins)
    feats = sorted((engine.features[r] for r in ids), key=rank_key)
    return [canonical] + [f.rid for f in feats if f.rid != canonical]


def merge(work_id: str, canonical: str, ids: list[str], records: list[Record]) -> MergedView:
    """The merged view of a work from its member records, in member_order (those that could be loaded).

    Needs no engine: dedupe's worker processes build views from the records alone."""
    if not records:
        raise KeyError(f"no records loadable for {work_id}")
    provenance: dict[str, str | list[str]] = {}
    top: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if name == "description":
            value, source = _best_description(records)
        else:
            value, source = _first_present(records, name)
        if source is not None:
            top[name], provenance[name] = value, source
    curriculum: dict[str, Any] = {}
    curricula = [r.curriculum for r in records]
    for name in CURRICULUM_FIELDS:
        for r, c in zip(records, curricula, strict=True):
            value = getattr(c, name)
            if value is not None and value != "" and value != []:
                curriculum[name] = value
                provenance[f"curriculum.{name}"] = r.id
                break
    lists: dict[str, list[Any]] = {}
    for name in LIST_FIELDS:
        values: list[Any] = []
        contributors: list[str] = []
        for r in records:
            new = [v for v in getattr(r, name) if v not in values]
            if name == "honours":
                honour = parse_title(r.title).honour
                label = vocabulary("honours").term(honour).zh if honour else None
                if label and label not in values and label not in new:
                    new.append(label)
            if new:
                values += new
                contributors.append(r.id)
        if values:
            lists[name], provenance[name] = values, contributors
    alt = [r.title for r in records if r.title != top.get("title")]
    alt = list(dict.fromkeys(alt + [t for r in records for t in r.alt_titles]))
    if alt:
        lists["alt_titles"] = alt
        provenance["alt_titles"] = [r.id for r in records if r.title in alt or r.alt_titles]
    record = Record(
        source="huiju",
        source_record_id=work_id,
        id=work_id,
        curriculum=Curriculum(**curriculum),
        **top,
        **lists,
    )
    return MergedView(work_id=work_id, canonical=canonical, members=ids, record=record, provenance=provenance)
