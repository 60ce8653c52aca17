"""One work for teachers: merged metadata with provenance, members, why grouped, related, JSON-LD.

Read from the store (the truth), not the index: a work page is right even
when the index lags. The "why grouped" summary comes from the dedup engine's
own explanation (index/dedup/explain.py) over its snapshot, loaded once per
process and reloaded when `huiju dedupe` writes a new one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import select

from index.dedup.explain import WorkExplanation
from index.documents import duration_seconds
from repository.models import RecordRow, Work
from repository.search import work_view
from repository.store import Store
from repository.views import browse
from repository.views.labels import source_info
from schemas.crosswalks.lrmi import write as lrmi_jsonld
from schemas.record import Record

PROVENANCE_FIELDS: tuple[str, ...] = (
    "title", "curriculum.stage", "curriculum.grade_label", "curriculum.subject", "curriculum.edition",
    "curriculum.volume", "curriculum.chapter_path", "curriculum.class_hour", "resource_type", "description",
    "duration", "format", "agents", "keywords", "honours", "licence", "rights", "language", "created", "modified",
    "url", "identifiers",
)
"""Merged fields shown with the platforms that supplied them, in display order."""
RELATED_LIMIT = 12
_engine_lock = threading.Lock()


@dataclass
class WorkRow:
    id: str
    status: str
    successor_id: str | None
    published: bool


@dataclass
class Member:
    record: Record
    source_label: str
    level_label: str
    review_status: str
    link: str | None


@dataclass
class WorkPage:
    row: WorkRow
    record: Record
    provenance: dict[str, list[str]]
    members: list[Member]
    by_id: dict[str, Member] = field(default_factory=dict)

    @property
    def platforms(self) -> list[str]:
        return list(dict.fromkeys(m.source_label for m in self.members))


def work_row(store: Store, work_id: str) -> WorkRow | None:
    with store.session() as s:
        row = s.execute(select(Work.id, Work.status, Work.successor_id, Work.published)
                        .where(Work.id == work_id)).first()
    return WorkRow(row.id, row.status, row.successor_id, bool(row.published)) if row else None


def load(store: Store, work_id: str) -> WorkPage | None:
    """The active work with its members, or None (ask work_row() about tombstones)."""
    row = work_row(store, work_id)
    found = next(iter(store.iter_works(ids=[work_id])), None) if row and row.status == "active" else None
    if row is None or found is None:
        return None
    work, canonical, records = found
    provenance: dict[str, list[str]] = {}
    if work.data:
        raw = json.loads(work.data)
        provenance = {k: [v] if isinstance(v, str) else list(v) for k, v in raw.get("provenance", {}).items()}
    with store.session() as s:
        statuses = dict(s.execute(select(RecordRow.id, RecordRow.review_status)
                                  .where(RecordRow.id.in_([r.id for r in records]))).all())
    members = []
    for record in sorted(records, key=lambda r: (r.id != canonical.id, r.source, r.id)):
        info = source_info(record.source)
        members.append(Member(record, info["label"], info["level_label"], statuses.get(record.id, "pending"),
                              browse.safe_url(record.url)))
    page = WorkPage(row, work_view(work, canonical), provenance, members)
    page.by_id = {m.record.id: m for m in members}
    return page


def provenance_rows(page: WorkPage) -> list[tuple[str, list[Member]]]:
    """(field, members that supplied it) for each merged field that has a value."""
    rows = []
    for name in PROVENANCE_FIELDS:
        ids = page.provenance.get(name, [])
        suppliers = [page.by_id[i] for i in ids if i in page.by_id]
        if suppliers:
            rows.append((name, suppliers))
    return rows


def duration_of(record: Record) -> int | None:
    return duration_seconds(record.duration)


def duration_of_text(value: str | None) -> int | None:
    """ISO 8601 duration → seconds, for templates."""
    return duration_seconds(value)


# -- why grouped -------------------------------------------------------------------------------


def snapshot_path() -> Path:
    """Where `huiju dedupe` keeps the engine snapshot (repository/cli_works.py)."""
    return current_app.extensions["huiju.settings"].instance_path / "dedup" / "state.bin"


def explanation(work_id: str) -> WorkExplanation | None:
    """The dedup engine's explanation of the work, or None when there is no snapshot or no such work."""
    path = snapshot_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _engine_lock:
        cached = app.extensions.get("huiju.dedup")
        if cached is None or cached[0] != stamp:
            from repository.works import open_works_engine

            cached = app.extensions["huiju.dedup"] = (stamp, open_works_engine(app.extensions["huiju.store"], path))
        engine = cached[1]
        try:
            return engine.explain(work_id)
        except KeyError:
            return None


# -- related works -----------------------------------------------------------------------------


def related(record: Record, work_id: str) -> dict[str, list[dict[str, Any]]]:
    """Works of the same lesson (other types), the same chapter (other lessons), other editions."""
    c = record.curriculum
    path = list(c.chapter_path)
    filters = {name: (str(value),) for name, value in (
        ("subject", c.subject.code if c.subject else None), ("grade", c.grade),
        ("edition", c.edition.code if c.edition else None), ("volume", c.volume.code if c.volume else None),
    ) if value}
    groups: dict[str, list[dict[str, Any]]] = {"lesson": [], "chapter": [], "editions": []}
    if path:
        state = browse.SearchState(q=browse.phrase(path[0]), filters=filters)
        seen_lessons: set[tuple[Any, ...]] = set()
        for f in browse.run(state, (), page_size=100).hits:
            other = f.fields
            other_path = other.get("chapter_path") or []
            if other["id"] == work_id or other_path[:1] != path[:1]:
                continue
            if other_path == path:
                groups["lesson"].append(other)
            elif (*other_path, other.get("class_hour")) not in seen_lessons:  # one entry per other lesson
                seen_lessons.add((*other_path, other.get("class_hour")))
                groups["chapter"].append(other)
    lesson = path[-1] if len(path) > 1 else browse.lesson_name(record.title)
    broad = {k: v for k, v in filters.items() if k == "subject"}
    if c.stage:
        broad["stage"] = (c.stage.code,)
    state = browse.SearchState(q=browse.phrase(lesson), filters=broad)
    mine = c.edition.code if c.edition else None
    seen_editions: set[tuple[str, Any]] = set()
    for hit in browse.run(state, (), page_size=50).hits:
        other = hit.fields
        key = (other.get("edition", ""), other.get("resource_type"))
        if other.get("edition") and other.get("edition") != mine and key not in seen_editions:
            seen_editions.add(key)
            groups["editions"].append(other)
    groups["lesson"].sort(key=lambda f: (f.get("class_hour") or 0, browse.order_key("resource_type",
                                                                                  f.get("resource_type", ""))))
    groups["chapter"].sort(key=lambda f: (browse.chapter_key(" ".join(f.get("chapter_path", [])[1:])),
                                          f.get("class_hour") or 0))
    return {name: hits[:RELATED_LIMIT] for name, hits in groups.items()}


# -- JSON-LD -----------------------------------------------------------------------------------

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_script(data: Any) -> Markup:
    """JSON safe inside <script type="application/ld+json">: no "</script>" or "<!--" can close it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 - every character that HTML parsing could act on is escaped above


def jsonld(page: WorkPage) -> dict[str, Any]:
    """schema.org LearningResource (the LRMI crosswalk), with our page as its id and members as sameAs."""
    doc = lrmi_jsonld(page.record)
    here = url_for("pages.work", work_id=page.row.id, _external=True)
    doc["@id"] = doc["url"] = here
    same = [m.link for m in page.members if m.link]
    if same:
        doc["sameAs"] = list(dict.fromkeys(same))
    thumbnails = [u for u in (browse.safe_url(t) for t in page.record.thumbnails) if u]
    doc.pop("thumbnailUrl", None)
    if thumbnails:
        doc["thumbnailUrl"] = thumbnails
    return doc
