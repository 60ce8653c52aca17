"""Which works are published, datestamps that move with publication, and work_sets kept in step."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from repository.models import AuditLog, ReviewAction, Work, WorkSet
from repository.oai.sets import set_specs
from repository.publication import approve_source, refresh, work_record
from tests.oai.conftest import BACKENDS, Pipeline, lesson


def work(pipeline: Pipeline, work_id: str) -> Work:
    with pipeline.store.session() as s:
        found = s.get(Work, work_id)
        assert found is not None
        return found


def sets_of(pipeline: Pipeline, work_id: str) -> dict[str, object]:
    with pipeline.store.session() as s:
        return {row.set_spec: row.datestamp for row in s.scalars(select(WorkSet).where(WorkSet.work_id == work_id))}


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_publication_follows_review_and_moves_the_datestamp(pipeline: Pipeline) -> None:
    a, a_city = lesson(1), lesson(1, "city")
    pipeline.load([a, a_city, lesson(2)])
    pipeline.dedupe()
    wid = pipeline.work_of(a)
    pending = work(pipeline, wid)
    assert not pending.published and not pending.ever_published and sets_of(pipeline, wid) == {}

    time.sleep(0.01)
    pipeline.review([a_city], "approved")
    published = work(pipeline, wid)
    assert published.published and published.ever_published and published.datestamp > pending.datestamp
    specs = sets_of(pipeline, wid)
    assert {"source:national", "source:city", "level:municipal", "subject:physics", "grade:8"} <= set(specs)
    assert set(specs.values()) == {published.datestamp}  # the copy in work_sets follows the work

    refresh(pipeline.store, full=True)  # idempotent: nothing moves when nothing changed
    assert work(pipeline, wid).datestamp == published.datestamp

    pipeline.review([a_city], "rejected")  # the last approved member goes: withdrawn, kept as a tombstone
    withdrawn = work(pipeline, wid)
    assert not withdrawn.published and withdrawn.ever_published and withdrawn.datestamp > published.datestamp
    assert set(sets_of(pipeline, wid).values()) == {withdrawn.datestamp}

    pipeline.approve("national")  # back again
    again = work(pipeline, wid)
    assert again.published and again.datestamp > withdrawn.datestamp
    assert work(pipeline, pipeline.work_of(lesson(2))).published  # lesson 2 approved too


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_review_changes_are_audited_once(pipeline: Pipeline) -> None:
    pipeline.load([lesson(n) for n in range(3)])
    pipeline.dedupe()
    report = approve_source(pipeline.store, "national", actor="王老师")
    assert report.changed == 3 and report.publication.published == 3
    assert approve_source(pipeline.store, "national", actor="王老师").changed == 0  # nothing pending left
    audit = pipeline.store.list_audit("record")
    assert len(audit) == 3 and {e.actor for e in audit} == {"王老师"}
    assert {(e.action, e.before["review_status"], e.after["review_status"]) for e in audit} == \
        {("record.approved", "pending", "approved")}
    assert [e.action for e in pipeline.store.list_audit("work")] == ["work.published"] * 3
    with pipeline.store.session() as s:
        assert len(list(s.scalars(select(ReviewAction)))) == 3
    with pytest.raises(KeyError):
        approve_source(pipeline.store, "nobody", actor="x")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_sets_follow_content_and_sources(pipeline: Pipeline) -> None:
    pipeline.load([lesson(4)])
    pipeline.dedupe()
    pipeline.approve("national")
    wid = pipeline.work_of(lesson(4))
    before = work(pipeline, wid)
    assert "grade:8" in sets_of(pipeline, wid)
    time.sleep(0.01)
    pipeline.load([lesson(4, "district")])  # the same lesson from a second source joins the work
    pipeline.dedupe()
    old, wid = wid, pipeline.work_of(lesson(4, "district"))
    if old != wid:  # dedupe may name the grown cluster after another member: the old id is a tombstone
        retired = work(pipeline, old)
        assert retired.status == "merged" and retired.successor_id == wid and not retired.published
        assert set(sets_of(pipeline, old).values()) == {retired.datestamp} and "grade:8" in sets_of(pipeline, old)
    joined = work(pipeline, wid)
    specs = sets_of(pipeline, wid)
    assert {"source:district", "level:district", "source:national"} <= set(specs)
    assert joined.datestamp > before.datestamp and set(specs.values()) == {joined.datestamp}
    assert set(specs) == set(set_specs(work_record(joined.data), [("national", "national"),
                                                                  ("district", "district")]))

    time.sleep(0.01)
    pipeline.store.update_source("district", level="school")  # no content change: only the sets move
    refresh(pipeline.store, full=True)
    moved = work(pipeline, wid)
    specs = sets_of(pipeline, wid)
    assert "level:school" in specs and "level:district" not in specs
    assert moved.datestamp > joined.datestamp and set(specs.values()) == {moved.datestamp}


def test_a_never_published_work_leaves_no_trace(pipeline: Pipeline) -> None:
    pipeline.load([lesson(7), lesson(8, deleted=False)])
    pipeline.dedupe()
    pipeline.load([lesson(7, deleted=True)])
    pipeline.dedupe()
    with pipeline.store.session() as s:
        assert not list(s.scalars(select(Work).where(Work.ever_published.is_(True))))
        assert not list(s.scalars(select(WorkSet)))
    assert [e.action for e in pipeline.store.list_audit("work")] == []
    with pipeline.store.session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.target_type == "work")) is None


def test_a_stamp_taken_long_before_its_commit_is_taken_again(pipeline: Pipeline) -> None:
    """dedupe stamps works before its write transaction; if that ran for minutes, a harvester may
    already have passed the stamp when the change became visible: refresh stamps it anew."""
    pipeline.load([lesson(3)])
    pipeline.dedupe()
    pipeline.approve("national")
    wid = pipeline.work_of(lesson(3))
    published = work(pipeline, wid)
    with pipeline.store.session(write=True) as s:  # what a dedupe that took 5 minutes to commit leaves behind
        s.execute(update(Work).where(Work.id == wid).values(datestamp=published.datestamp - timedelta(minutes=5)))
    refresh(pipeline.store)
    again = work(pipeline, wid)
    assert again.datestamp > published.datestamp and set(sets_of(pipeline, wid).values()) == {again.datestamp}
    refresh(pipeline.store)
    assert work(pipeline, wid).datestamp == again.datestamp  # and only once
