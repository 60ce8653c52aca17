"""The runner on SQLite and PostgreSQL: what it checks, what it skips, what it stores; the harvest hook; speed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, update

from harvester.demo.styles import ADVERT, PLACEHOLDER
from repository.checks.registry import NAMES
from repository.checks.runner import check_after_harvest, run_checks
from repository.models import RecordCheck, RecordRow
from repository.settings import Settings
from repository.store import Store
from tests.checks.conftest import lesson

OFFLINE = [name for name in NAMES if name != "link"]
UNGROUPED = [name for name in OFFLINE if name != "duplicate"]
"""What a record gets before dedupe gives it a work: the duplicate check has nothing to say yet."""


def settings(**overrides: Any) -> Settings:
    return Settings(environ={}, **overrides)


def stored(store: Store) -> dict[tuple[str, str], RecordCheck]:
    with store.session() as s:
        return {(c.record_id, c.name): c for c in s.scalars(select(RecordCheck))}


def add(store: Store, source: str, records: list, **options: Any) -> None:
    if store.get_source(source) is None:
        store.add_source(source, "file", "", level="school", options=options)
    store.upsert_records(source, [msgspec.structs.replace(r, source=source, id="") for r in records])


def test_new_records_are_checked_once_and_changed_ones_again(store: Store) -> None:
    add(store, "school", [lesson(1), lesson(2, description=PLACEHOLDER), lesson(3, description="例题讲解。" + ADVERT)])
    report = run_checks(store, settings())
    assert (report.seen, report.checked) == (3, 3)
    results = stored(store)
    assert len(results) == 3 * len(UNGROUPED)  # no link check unless asked, no duplicate check before dedupe
    by_record = {r.source_record_id: r.id for r in [lesson(n) for n in (1, 2, 3)]}
    bad = results[(by_record["lesson-2"], "title")]
    assert bad.outcome == "fail" and json.loads(bad.detail)[0]["code"] == "title.description_placeholder"
    assert results[(by_record["lesson-3"], "sensitive")].outcome == "fail"
    assert all(results[(by_record["lesson-1"], n)].outcome == "pass" for n in UNGROUPED)

    assert run_checks(store, settings()).checked == 0  # nothing changed
    add(store, "school", [lesson(2)])  # the platform fixed the description
    again = run_checks(store, settings())
    assert again.checked == 1 and stored(store)[(by_record["lesson-2"], "title")].outcome == "pass"
    assert run_checks(store, settings(), everything=True).checked == 3
    assert len(stored(store)) == 3 * len(UNGROUPED)


def test_scope_by_source_and_ids(store: Store) -> None:
    add(store, "a", [lesson(1), lesson(2)])
    add(store, "b", [lesson(3)])
    assert run_checks(store, settings(), source="b").checked == 1
    one = msgspec.structs.replace(lesson(1), source="a", id="").id
    assert run_checks(store, settings(), ids=[one, "no-such-id"]).checked == 1
    assert run_checks(store, settings()).checked == 1  # only a's second record was left
    with pytest.raises(KeyError):
        run_checks(store, settings(), source="nobody")


def test_duplicate_results_follow_dedupe(store: Store) -> None:
    add(store, "a", [lesson(1), lesson(2)])
    run_checks(store, settings())
    ids = [msgspec.structs.replace(lesson(n), source="a", id="").id for n in (1, 2)]
    assert (ids[0], "duplicate") not in stored(store)  # not grouped yet: dedupe will say
    with store.session(write=True) as s:  # what dedupe does when it groups the two into one work
        from repository.models import Work

        s.add(Work(id="w1", canonical_record_id=ids[0]))
        s.flush()
        s.execute(update(RecordRow).where(RecordRow.id.in_(ids)).values(work_id="w1"))
    report = run_checks(store, settings())
    assert report.checked == 2 and set(report.outcomes) == {("duplicate", "warn")}
    assert json.loads(stored(store)[(ids[0], "duplicate")].detail)[0] == {
        "code": "duplicate.same_source", "n": 1, "records": [ids[1]]}
    with store.session(write=True) as s:  # dedupe takes the second record out of every work
        s.execute(update(RecordRow).where(RecordRow.id == ids[1]).values(work_id=None))
    report = run_checks(store, settings())
    assert report.checked == 2 and set(report.outcomes) == {("duplicate", "pass")}
    after = stored(store)
    assert after[(ids[0], "duplicate")].detail == ""  # alone in its work now
    assert json.loads(after[(ids[1], "duplicate")].detail) == [{"code": "duplicate.not_grouped"}]  # not stale
    assert run_checks(store, settings()).checked == 0


def test_links_are_checked_when_asked_and_private_only_for_local_sources(store: Store, http_site: Any) -> None:
    add(store, "intranet", [lesson(1, url=f"{http_site.base}/ok"), lesson(2, url=f"{http_site.base}/gone")],
        local_links=True)
    add(store, "outside", [lesson(3, url=f"{http_site.base}/ok")])
    run_checks(store, settings())
    assert not any(name == "link" for _rid, name in stored(store))
    report = run_checks(store, settings(CHECKS_LINK_TIMEOUT=2.0), links=True)
    assert report.checked == 3  # only the link check was due
    links = {rid: c for (rid, name), c in stored(store).items() if name == "link"}
    ids = {n: msgspec.structs.replace(lesson(n), source=s, id="").id for n, s in
           ((1, "intranet"), (2, "intranet"), (3, "outside"))}
    assert links[ids[1]].outcome == "pass"
    assert links[ids[2]].outcome == "fail" and json.loads(links[ids[2]].detail)[0]["status"] == 404
    assert json.loads(links[ids[3]].detail)[0]["code"] == "link.blocked"
    assert sorted(p for _m, p, _h in http_site.seen) == ["/gone", "/ok"]  # "outside" never reached the server


def test_a_bad_term_list_stops_the_run_but_never_a_harvest(store: Store, tmp_path: Path) -> None:
    add(store, "school", [lesson(1)])
    broken = settings(CHECKS_SENSITIVE_TERMS=str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="missing.txt"):
        run_checks(store, broken)
    assert check_after_harvest(store, broken, "school") is None
    assert check_after_harvest(store, settings(CHECKS_ON_HARVEST=False), "school") is None
    assert not stored(store)
    assert check_after_harvest(store, settings(), "school").checked == 1


def test_a_harvest_checks_what_it_stored(store: Store, tmp_path: Path) -> None:
    from pymarc import Field, Record, Subfield, record_to_xml

    from harvester.runner import harvest_source

    record = Record()
    record.add_field(Field(tag="001", data="HD1"))
    record.add_field(Field(tag="245", indicators=["0", "0"], subfields=[Subfield("a", "勾股定理")]))
    record.add_field(Field(tag="520", indicators=[" ", " "], subfields=[Subfield("a", "勾股定理教学设计。" + ADVERT)]))
    path = tmp_path / "export.xml"
    path.write_bytes(b'<collection xmlns="http://www.loc.gov/MARC21/slim">' + record_to_xml(record, namespace=False)
                     + b"</collection>")
    store.add_source("library", "marc", str(path), level="district")
    run = harvest_source(store, "library", settings=settings())
    assert run.status == "succeeded" and run.added == 1
    results = stored(store)
    assert {name for _rid, name in results} == set(UNGROUPED)
    assert next(c for (_r, n), c in results.items() if n == "sensitive").outcome == "fail"


def test_five_thousand_records_in_a_few_seconds(store: Store) -> None:
    text = "号资源：人教版八年级数学下册《勾股定理》教学设计与练习。"
    records = [lesson(n, description=f"第{n}{text}") for n in range(5000)]
    add(store, "big", records)
    started = time.monotonic()
    report = run_checks(store, settings())
    took = time.monotonic() - started
    print(f"\n{store.dialect}: offline checks on 5,000 records: {took:.2f} s")
    assert report.checked == 5000 and took < 20  # a few seconds here; generous for a shared, noisy machine
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(RecordCheck)) == 5000 * len(UNGROUPED)
    started = time.monotonic()
    assert run_checks(store, settings()).checked == 0
    assert time.monotonic() - started < 5


def test_queue_queries_on_both_databases(store: Store) -> None:
    """What the review queue asks of the stored results (priority, flag, subject, age) on SQLite and PostgreSQL."""
    from datetime import timedelta

    from repository.checks import results
    from repository.db import utcnow
    from schemas.record import Term
    from tests.checks.conftest import with_curriculum

    add(store, "a", [lesson(1), lesson(2, description=PLACEHOLDER),
                     with_curriculum(lesson(3, duration=None), subject=Term("physics", "物理"))])
    run_checks(store, settings())
    ids = [msgspec.structs.replace(lesson(n), source="a", id="").id for n in (1, 2, 3)]
    priority = results.priority()
    with store.session(write=True) as s:
        s.execute(update(RecordRow).where(RecordRow.id == ids[0]).values(datestamp=utcnow() - timedelta(days=9)))
    with store.session() as s:
        ordered = s.execute(select(RecordRow.id, priority)
                            .order_by(priority.desc(), RecordRow.datestamp, RecordRow.id)).all()
        assert [tuple(r) for r in ordered] == [(ids[1], 2), (ids[2], 1), (ids[0], 0)]
        assert s.scalars(select(RecordRow.id).where(RecordRow.id.in_(results.flagged_by("title")))).all() == [ids[1]]
        physics = results.has_subject("physics", store.dialect)
        assert s.scalars(select(RecordRow.id).where(physics)).all() == [ids[2]]
        assert s.scalars(select(RecordRow.id).where(results.older_than(7))).all() == [ids[0]]
        flags = results.flags_for(s, ids)
        assert flags == {ids[0]: [], ids[1]: [("title", "fail")], ids[2]: [("technical", "warn")]}
        table = results.table_for(s, ids[:2])
        assert table.names == UNGROUPED
        assert table.cells[ids[1]]["title"].findings[0][0] == "title.description_placeholder"
