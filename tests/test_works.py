"""Works in the store follow the dedup engine: incremental, tombstoned, curator-driven."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select

from repository.ingest import ensure_source, store_results
from repository.models import Work
from repository.sample import SOURCES, sample_records
from repository.store import Store
from repository.works import DatabaseState, dedupe, open_works_engine
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Record

MATH8, _ = build_curriculum({"stage": "初中", "grade": "八年级", "subject": "数学", "edition": "人教版",
                             "volume": "下册", "class_hour": "第1课时"})
MICRO = normalise_resource_type("微课视频")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path}/h.db")
    store.init()
    return store


def load(store: Store, records: list[Record]) -> None:
    by_source: dict[str, list[Record]] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record)
    for name, batch in by_source.items():
        source = ensure_source(store, name, kind="file", location="", level=SOURCES[name][1])
        store_results(store, source, batch)


def works_of(store: Store) -> dict[str, Work]:
    with store.session() as s:
        return {w.id: w for w in s.scalars(select(Work))}


def test_sample_groups_into_its_lessons(store: Store, tmp_path: Path) -> None:
    records = list(sample_records())
    load(store, records)
    report = dedupe(store, tmp_path / "state.bin")
    lessons = {(r.title.split("（")[0].removeprefix("【市级优课】"), r.curriculum.class_hour,
                r.resource_type.code, r.curriculum.edition.code, r.curriculum.grade) for r in records}
    assert report.works == 270 == len({r.source_record_id.split("-")[1] for r in records})
    assert report.records_in_works == len(records)
    exported = list(store.iter_works())
    assert len(exported) == 270
    for work, canonical, members in exported:
        assert canonical.source_level == max((m.source_level for m in members),
                                             key=["school", "district", "municipal", "provincial", "national"].index)
        assert len({m.source_record_id.split("-")[1] for m in members}) == 1  # one lesson per work
        view = msgspec.json.decode(work.data)
        assert set(view["members"]) == {m.id for m in members}
        assert view["provenance"]["title"] == canonical.id
    assert len(lessons) >= 200


def test_incremental_changes_and_tombstones(store: Store, tmp_path: Path) -> None:
    state = tmp_path / "state.bin"
    base = dict(source="national", title="勾股定理（第1课时）", description="人教版八年级数学下册",
                curriculum=MATH8, resource_type=MICRO)
    a = Record(source_record_id="a", **base)
    b = Record(**{**base, "source": "city"}, source_record_id="b")
    load(store, [a, b])
    assert dedupe(store, state).works == 1
    [work] = works_of(store).values()
    stamp = work.datestamp

    again = dedupe(store, state)
    assert again.records_seen == 0 and again.works_changed == 0
    assert works_of(store)[work.id].datestamp == stamp  # nothing changed: no new datestamp

    # a member's content changes in place: the merged view is rewritten
    load(store, [Record(source_record_id="a", **{**base, "description": "人教版八年级数学下册 第十七章"})])
    report = dedupe(store, state)
    assert report.works_changed == 1
    view = msgspec.json.decode(works_of(store)[work.id].data)
    assert "第十七章" in view["record"]["description"]

    # every member deleted: the work becomes a tombstone, kept with a datestamp
    load(store, [Record(source_record_id="a", deleted=True, **base),
                 Record(**{**base, "source": "city"}, source_record_id="b", deleted=True)])
    report = dedupe(store, state)
    assert report.works == 0 and report.tombstones == 1
    tomb = works_of(store)[work.id]
    assert tomb.status == "deleted" and tomb.datestamp > stamp


def test_curator_split_wins_and_survives_rebuild(store: Store, tmp_path: Path) -> None:
    state = tmp_path / "state.bin"
    base = dict(title="圆的面积（第1课时）", description="人教版六年级数学上册 圆的面积")
    a, b = Record(source="national", source_record_id="a", **base), Record(source="city", source_record_id="b", **base)
    load(store, [a, b])
    assert dedupe(store, state).works == 1
    engine = open_works_engine(store, state)
    engine.split(a.id, b.id, curator="王老师", note="两个不同版本")
    engine.save()
    assert dedupe(store, state).works == 2
    assert dedupe(store, state, rebuild=True).works == 2  # the decision is in the database
    decisions = DatabaseState(store, state).decisions()
    assert [(d.kind, d.a, d.b, d.curator) for d in decisions] == [("split", a.id, b.id, "王老师")]
    assert [e.action for e in store.list_audit("record", a.id)] == ["work.split"]
    merged_into = {w.status for w in works_of(store).values()}
    assert merged_into == {"active"}  # the old joint work id lives on as one side's work


def test_merge_tombstone_names_successor(store: Store, tmp_path: Path) -> None:
    state = tmp_path / "state.bin"
    a = Record(source="national", source_record_id="a", title="浮力（第1课时）", description="物理 浮力")
    b = Record(source="city", source_record_id="b", title="阿基米德原理", description="完全不同的课")
    load(store, [a, b])
    assert dedupe(store, state).works == 2
    before = {w.id for w in works_of(store).values()}
    engine = open_works_engine(store, state)
    engine.merge(a.id, b.id, curator="curator")
    engine.save()
    report = dedupe(store, state)
    assert report.works == 1
    works = works_of(store)
    [live] = [w for w in works.values() if w.status == "active"]
    retired = [w for w in works.values() if w.status != "active"]
    assert {w.id for w in retired} | {live.id} == before
    assert all(w.status == "merged" and w.successor_id == live.id for w in retired)
