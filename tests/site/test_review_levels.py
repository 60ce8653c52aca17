"""Multi-level review (school → district): progress, who may sign, the pages, bulk actions and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from repository.cli import main
from repository.models import AuditLog, RecordRow, ReviewAction, Source, User, Work
from repository.review_levels import POLICY, progress, stages
from repository.review_rubric import dimensions
from repository.settings import Settings
from tests.site.conftest import Site, _app, _instance
from tests.site.test_review import ALL_PASS, PASSWORD, signed_in, token

STAGES = ("school", "district")
T = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Act:
    decision: str
    level: str | None
    actor: str = "a"
    at: datetime = T


def test_progress_replays_rounds() -> None:
    assert progress([], STAGES).next_stage == "school"
    one = progress([Act("approved", "school", "s")], STAGES)
    assert one.next_stage == "district" and one.signers == {"s"} and not one.complete
    done = progress([Act("approved", "school"), Act("approved", "district", "d")], STAGES)
    assert done.complete and done.next_stage is None and [s.stage for s in done.signed] == list(STAGES)
    assert progress([Act("approved", "school"), Act("returned", "district")], STAGES).next_stage == "school"
    assert progress([Act("approved", "school"), Act("rejected", "school")], STAGES).signed == ()
    policy = progress([Act("approved", "school"), Act("approved", POLICY)], STAGES)
    assert policy.complete and policy.policy
    legacy = progress([Act("approved", None)], STAGES)  # approved before review stages existed
    assert legacy.complete
    again = progress([Act("approved", "school"), Act("approved", "district"), Act("approved", "school", "x")],
                     STAGES)
    assert again.next_stage == "district" and again.signers == {"x"}  # a new round after a finished one
    assert progress([Act("approved", "district")], STAGES).signed == ()  # out of order: not a signature


def test_stages_setting() -> None:
    assert stages(Settings(environ={})) == ("district",)  # default: one stage
    assert stages(Settings(environ={"HUIJU_REVIEW_STAGES": " school, district "})) == STAGES
    for bad in (",", "school,school", "x" * 17, "policy"):
        with pytest.raises(ValueError):
            stages(Settings(environ={"HUIJU_REVIEW_STAGES": bad}))


@pytest.fixture(scope="module")
def lsite(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = _instance(Path(tmp_path_factory.mktemp("levels")))
    with site.store.session(write=True) as s:
        for name, level in (("s1", "school"), ("s2", "school"), ("d1", "district"), ("any", None)):
            s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role="curator",
                       review_level=level))
    return site


@pytest.fixture(scope="module")
def lapp(lsite: Site) -> Iterator[Flask]:
    yield from _app(lsite, REVIEW_STAGES=",".join(STAGES))


def pending_unpublished(site: Site, n: int) -> list[str]:
    """n pending records whose works nobody has published (each the only member of its work)."""
    with site.store.session() as s:
        single = select(RecordRow.work_id).group_by(RecordRow.work_id).having(func.count() == 1)
        ids = list(s.scalars(select(RecordRow.id).join(Work, Work.id == RecordRow.work_id)
                             .where(RecordRow.review_status == "pending", Work.published.is_(False),
                                    RecordRow.work_id.in_(single))
                             .order_by(RecordRow.harvested.desc(), RecordRow.id).limit(n)))  # the queue's order
    assert len(ids) == n
    return ids


def queue_row(site: Site, client: FlaskClient, record: str) -> tuple[str, str]:
    """The record's row in the queue (its source's pages, followed until found) and that queue page."""
    with site.store.session() as s:
        source = s.scalar(select(Source.name).join(RecordRow).where(RecordRow.id == record))
    for number in range(1, 1000):
        queue = client.get(f"/review?source={source}&page={number}").get_data(as_text=True)
        if f'value="{record}"' in queue:
            row = queue[queue.index(f'value="{record}"'):]
            return row[:row.index("</tr>")], queue
        assert 'rel="next"' in queue, f"{record} is not in the queue"
    raise AssertionError("queue too long")


def approve(client: FlaskClient, record: str, **extra: str) -> tuple[int, str]:
    url = f"/review/{record}"
    response = client.post(url, data={"decision": "approve", "csrf_token": token(client, url), **ALL_PASS, **extra})
    html = response.get_data(as_text=True) if response.status_code != 302 else client.get(url).get_data(as_text=True)
    return response.status_code, html


def state(site: Site, record: str) -> tuple[str, bool]:
    with site.store.session() as s:
        row = s.execute(select(RecordRow.review_status, Work.published).join(Work, Work.id == RecordRow.work_id)
                        .where(RecordRow.id == record)).one()
    return row[0], row[1]


def test_two_stages_in_order_by_two_people(lapp: Flask, lsite: Site) -> None:
    record = pending_unpublished(lsite, 1)[0]
    s1, d1 = signed_in(lapp, "s1"), signed_in(lapp, "d1")
    status, html = approve(d1, record)
    assert status == 403 and "这条记录正待校级审核，你的账号负责区县级审核" in html  # district cannot go first
    status, html = approve(s1, record)
    assert status == 302 and state(lsite, record) == ("pending", False)
    assert "校级审核已通过，待区县级审核" in html and "待区县级审核" in html and "s1 已通过" in html
    row, queue = queue_row(lsite, s1, record)
    assert row.endswith("待区县级审核 (1/2)</td>") and "待校级审核 (0/2)" in queue
    status, html = approve(s1, record)
    assert status == 403 and state(lsite, record) == ("pending", False)  # s1 reviews at school, not district
    status, html = approve(d1, record)
    assert status == 302 and state(lsite, record) == ("approved", True)
    with lsite.store.session() as s:
        actions = [(a.actor, a.level, a.decision) for a in s.scalars(
            select(ReviewAction).where(ReviewAction.record_id == record).order_by(ReviewAction.id))]
        audit = [(e.action, e.after["stages_signed"]) for e in s.scalars(
            select(AuditLog).where(AuditLog.target_id == record).order_by(AuditLog.id))]
    assert actions == [("s1", "school", "approved"), ("d1", "district", "approved")]
    assert audit == [("record.stage_approved", ["school"]), ("record.approved", ["school", "district"])]
    status, _html = approve(d1, record)
    assert status == 409  # already approved


def test_one_person_cannot_sign_two_stages(lapp: Flask, lsite: Site) -> None:
    record = pending_unpublished(lsite, 2)[1]
    anyone, d1 = signed_in(lapp, "any"), signed_in(lapp, "d1")
    assert approve(anyone, record)[0] == 302
    status, html = approve(anyone, record)
    assert status == 403 and "同一人不能审核两个层级" in html and state(lsite, record) == ("pending", False)
    assert approve(d1, record)[0] == 302 and state(lsite, record) == ("approved", True)


def test_return_at_the_second_stage_ends_the_round(lapp: Flask, lsite: Site) -> None:
    record = pending_unpublished(lsite, 3)[2]
    s1, s2, d1 = signed_in(lapp, "s1"), signed_in(lapp, "s2"), signed_in(lapp, "d1")
    assert approve(s1, record)[0] == 302
    url = f"/review/{record}"
    response = d1.post(url, data={"decision": "return", "comment": "请补充教学设计", "csrf_token": token(d1, url)})
    assert response.status_code == 302 and state(lsite, record) == ("returned", False)
    # sent back: the next approval starts again at the school stage (s1 may sign it again: a new round)
    status, html = approve(d1, record)
    assert status == 403 and "正待校级审核" in html
    assert approve(s2, record)[0] == 302 and state(lsite, record) == ("pending", False)
    assert approve(d1, record)[0] == 302 and state(lsite, record) == ("approved", True)


def test_bulk_selected_signs_the_reviewers_stage(lapp: Flask, lsite: Site) -> None:
    records = pending_unpublished(lsite, 7)[4:7]
    s1, d1 = signed_in(lapp, "s1"), signed_in(lapp, "d1")
    csrf = token(s1, "/review")
    assert s1.post("/review/approve-selected", data={"record": records}).status_code == 400  # no CSRF token
    response = s1.post("/review/approve-selected", data={"record": records, "csrf_token": csrf})
    assert response.status_code == 302
    assert [state(lsite, r) for r in records] == [("pending", False)] * 3
    response = d1.post("/review/approve-selected", data={"record": [*records, "nosuchrecord"],
                                                         "csrf_token": token(d1, "/review")}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已处理所选记录 3 条" in html and "nosuchrecord" in html
    assert [state(lsite, r) for r in records] == [("approved", True)] * 3
    with lsite.store.session() as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.target_id == records[0], AuditLog.action == "record.approved"))
        scores = s.scalar(select(ReviewAction.scores).where(ReviewAction.record_id == records[0],
                                                            ReviewAction.actor == "d1"))
    assert entry.after["basis"] == "bulk" and entry.actor == "d1"
    assert list(scores) == dimensions() and {v["result"] for v in scores.values()} == {"pass"}


def test_source_policy_approves_outright(lapp: Flask, lsite: Site) -> None:
    with lsite.store.session() as s:
        name = s.scalar(select(Source.name).join(RecordRow).where(RecordRow.review_status == "pending")
                        .group_by(Source.name).order_by(func.count()))
    client = signed_in(lapp, "s1")
    response = client.post("/review/approve-source", data={"source": name, "csrf_token": token(client, "/review")})
    assert response.status_code == 302
    with lsite.store.session() as s:
        left = s.scalar(select(func.count()).select_from(RecordRow).join(Source).where(
            Source.name == name, RecordRow.review_status == "pending", RecordRow.deleted.is_(False)))
        action = s.scalars(select(ReviewAction).join(RecordRow).join(Source).where(Source.name == name)
                           .order_by(ReviewAction.id.desc())).first()
        entry = s.scalars(select(AuditLog).where(AuditLog.target_id == action.record_id)
                          .order_by(AuditLog.id.desc())).first()
    assert left == 0 and action.level == POLICY and action.actor == "s1"
    assert entry.after == {"review_status": "approved", "basis": "source-policy", "source": name}
    html = client.get(f"/review/{action.record_id}").get_data(as_text=True)
    assert "来源策略" in html and "可信来源批量通过" in html


def test_cli_sets_the_review_level(lsite: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"HUIJU_INSTANCE_PATH": str(lsite.root), "HUIJU_REVIEW_STAGES": ",".join(STAGES)}
    runner = CliRunner()
    bad = runner.invoke(main, ["user", "add", "zed", "--review-level", "province", "--password-stdin"],
                        input="long enough pass\n", env=env)
    assert bad.exit_code != 0 and "must be one of REVIEW_STAGES: school, district" in bad.output
    ok = runner.invoke(main, ["user", "add", "zed", "--review-level", "school", "--password-stdin"],
                       input="long enough pass\n", env=env)
    assert ok.exit_code == 0, ok.output
    assert "review level school" in ok.output
    with lsite.store.session() as s:
        assert s.scalar(select(User.review_level).where(User.username == "zed")) == "school"
        entry = s.scalars(select(AuditLog).where(AuditLog.target_id == "zed").order_by(AuditLog.id.desc())).first()
    assert entry.after["review_level"] == "school"
    again = runner.invoke(main, ["user", "add", "zed", "--password-stdin"], input="long enough pass\n", env=env)
    assert again.exit_code == 0
    with lsite.store.session() as s:
        assert s.scalar(select(User.review_level).where(User.username == "zed")) is None  # any stage again
