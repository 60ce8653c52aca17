"""Read-side queries of the Store used by the site and exports.

Kept apart from store_records.py (the write hot path); ``Store`` inherits both.
The title search here is the store's own fallback; teacher search proper goes
through the search index (index/).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from sqlalchemy import Table, func, select

from repository.models import RecordRow, Source, Work
from repository.store_records import _decode
from schemas.record import Record

_records = cast(Table, RecordRow.__table__)
_works = cast(Table, Work.__table__)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class QueryMethods:
    def find_records(
        self, *, text: str = "", source: str | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[int, list[Record]]:
        """(total, page) of live records whose title contains text, newest first."""
        c = _records.c
        where = [c.deleted.is_(False)]
        if text:
            where.append(c.title.like(_like_pattern(text.replace("\x00", "")), escape="\\"))
        if source:
            source_row = self.get_source(source)  # type: ignore[attr-defined]
            if source_row is None:
                return 0, []
            where.append(c.source_id == cast(Source, source_row).id)
        with self.session() as s:  # type: ignore[attr-defined]
            total = s.scalar(select(func.count()).select_from(_records).where(*where)) or 0
            rows = s.execute(
                select(c.id, c.data, c.datestamp, c.harvested, c.deleted)
                .where(*where).order_by(c.datestamp.desc(), c.id).limit(limit).offset(offset)
            ).all()
        return total, [_decode(row) for row in rows]

    def iter_works(
        self, *, ids: list[str] | None = None, batch: int = 500, after: str = "", upto: str | None = None
    ) -> Iterator[tuple[Work, Record, list[Record]]]:
        """Active works (all, those in ids, or those with after < id <= upto) as (work, canonical record,
        member records), in id order."""
        while True:
            query = select(Work).where(Work.status == "active", Work.id > after)
            if ids is not None:
                query = query.where(Work.id.in_(ids))
            if upto is not None:
                query = query.where(Work.id <= upto)
            with self.session() as s:  # type: ignore[attr-defined]
                works = list(s.scalars(query.order_by(Work.id).limit(batch)))
                c = _records.c
                rows = s.execute(
                    select(c.id, c.data, c.datestamp, c.harvested, c.deleted, c.work_id)
                    .where(c.work_id.in_([w.id for w in works]), c.deleted.is_(False))
                    .order_by(c.work_id, c.id)
                ).all() if works else []
            members: dict[str, list[Record]] = {}
            for row in rows:
                members.setdefault(row.work_id, []).append(_decode(row))
            for work in works:
                records = members.get(work.id, [])
                if not records:
                    continue
                canonical = next((r for r in records if r.id == work.canonical_record_id), records[0])
                yield work, canonical, records
            if len(works) < batch:
                return
            after = works[-1].id
