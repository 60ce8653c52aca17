"""The record model: ids, change detection, JSON round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from schemas.normalise import build_curriculum
from schemas.record import Record, content_hash, from_json, record_id, to_json, utc
from schemas.validate import problems


def make(**kw) -> Record:
    curriculum, _ = build_curriculum({"stage": "初中", "grade": "八年级", "subject": "数学"})
    base = dict(source="s", source_record_id="1", title="勾股定理", curriculum=curriculum)
    base.update(kw)
    return Record(**base)


def test_id_is_deterministic_and_source_scoped() -> None:
    assert make().id == make().id == record_id("s", "1")
    assert make(source="t").id != make().id
    assert make(source_record_id="2").id != make().id


def test_content_hash_ignores_bookkeeping_only() -> None:
    now = datetime.now(UTC)
    a = make(harvested=now, datestamp=now)
    b = make(harvested=now + timedelta(days=1))
    assert content_hash(a) == content_hash(b)
    assert content_hash(make(title="勾股定理的逆定理")) != content_hash(a)


def test_json_round_trip_keeps_everything() -> None:
    record = make(created=datetime(2024, 3, 1, 8, tzinfo=UTC), keywords=["几何"])
    assert from_json(to_json(record)) == record


def test_utc() -> None:
    plus8 = timezone(timedelta(hours=8))
    assert utc(datetime(2024, 1, 1, 8, tzinfo=plus8)) == datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert utc(datetime(2024, 1, 1)).tzinfo == UTC


def test_validate() -> None:
    assert problems(make()) == []
    assert "no title" in problems(make(title=" "))
    assert problems(make(title="", deleted=True)) == []
    assert problems(make(source_level="galactic")) == ["unknown source level 'galactic'"]
