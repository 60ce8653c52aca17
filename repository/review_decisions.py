"""Curator decisions on records: the one place the review page, the queue, the CLI and the API go through.

A decision is checked against the rubric (review_rubric) and the review stages
(review_levels), then written in one transaction: a ReviewAction (stage, scores,
comment) and an AuditLog entry (who, when, what, before → after, rubric
included), plus the record's new status when it changes. An approval by an
earlier stage keeps the record pending (audit action ``record.stage_approved``);
the last stage's approval, or any reject/return, changes the status, after which
the work's publication is refreshed (publication.refresh) so OAI-PMH and the
teacher search can follow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from repository import review_levels, review_rubric
from repository.models import AuditLog, RecordRow, ReviewAction, User
from repository.publication import PublicationReport, ReviewReport, refresh
from repository.review_levels import Progress
from repository.review_rubric import ReviewError, Verdict
from repository.store import Store

REVIEWER_ROLES = ("curator", "admin")


@dataclass(frozen=True)
class Reviewer:
    username: str
    role: str
    review_level: str | None = None


def load_reviewer(store: Store, username: str) -> Reviewer | None:
    """The active account allowed to review, else None."""
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == username))
    if user is None or not user.active or user.role not in REVIEWER_ROLES:
        return None
    return Reviewer(user.username, user.role, user.review_level)


@dataclass
class Outcome:
    """What one decision did: the record's status, the stage signed, what it awaits now."""

    record_id: str
    status: str
    stage: str
    awaiting: str | None
    changed: bool
    work_id: str | None = None


@dataclass
class BulkOutcome:
    done: list[Outcome] = field(default_factory=list)
    refused: list[tuple[str, ReviewError]] = field(default_factory=list)
    report: ReviewReport = field(default_factory=lambda: ReviewReport(0, PublicationReport()))


def decide(store: Store, stages: tuple[str, ...], reviewer: Reviewer, record_id: str, verdict: Verdict,
           *, basis: str = "single") -> tuple[Outcome, ReviewReport]:
    """Apply one checked verdict to one record; ReviewError when the stage rules refuse it."""
    outcome = _apply(store, stages, reviewer, record_id, verdict, basis)
    return outcome, _publish(store, [outcome], reviewer.username)


def approve_selected(store: Store, stages: tuple[str, ...], reviewer: Reviewer, record_ids: Iterable[str],
                     comment: str = "") -> BulkOutcome:
    """Approve many records at once (the queue's "approve selected"): an all-pass rubric recorded as a
    bulk decision, each record still checked against the stage rules; refusals are reported, not fatal."""
    verdict = review_rubric.check("approve", review_rubric.all_pass(), comment)
    bulk = BulkOutcome()
    for record_id in dict.fromkeys(record_ids):
        try:
            bulk.done.append(_apply(store, stages, reviewer, record_id, verdict, "bulk"))
        except ReviewError as exc:
            bulk.refused.append((record_id, exc))
    bulk.report = _publish(store, bulk.done, reviewer.username)
    return bulk


def progress_of(store: Store, record_ids: list[str], stages: tuple[str, ...]) -> dict[str, Progress]:
    """Each record's stage progress (one query for all of them)."""
    actions: dict[str, list[ReviewAction]] = defaultdict(list)
    if record_ids:
        with store.session() as s:
            for action in s.scalars(select(ReviewAction).where(ReviewAction.record_id.in_(record_ids))
                                    .order_by(ReviewAction.id)):
                actions[action.record_id].append(action)
    return {rid: review_levels.progress(actions[rid], stages) for rid in record_ids}


def _apply(store: Store, stages: tuple[str, ...], reviewer: Reviewer, record_id: str, verdict: Verdict,
           basis: str) -> Outcome:
    r = RecordRow
    with store.session(write=True) as s:  # SQLite: BEGIN IMMEDIATE; PostgreSQL: the row lock below
        row = s.execute(select(r.id, r.review_status, r.work_id, r.deleted).where(r.id == record_id)
                        .with_for_update()).first()
        if row is None or row.deleted:
            raise ReviewError("not_found", "error.record_not_found", status=404)
        state = review_levels.progress(
            s.scalars(select(ReviewAction).where(ReviewAction.record_id == record_id).order_by(ReviewAction.id)),
            stages)
        stage = review_levels.may_act(state, row.review_status, reviewer.username, reviewer.review_level,
                                      verdict.status)
        last = stage == stages[-1]
        status = verdict.status if verdict.status != "approved" or last else "pending"
        signed_before = [] if state.complete or row.review_status != "pending" else [x.stage for x in state.signed]
        signed_after = signed_before + [stage] if verdict.status == "approved" else []
        awaiting = None if status != "pending" else stages[len(signed_after)]
        if status != row.review_status:
            s.execute(update(r).where(r.id == record_id).values(review_status=status))
        action = f"record.{status}" if status != "pending" else "record.stage_approved"
        s.add(ReviewAction(record_id=record_id, actor=reviewer.username, decision=verdict.status, level=stage,
                           scores=verdict.scores or None, comment=verdict.comment))
        s.add(AuditLog(
            actor=reviewer.username, action=action, target_type="record", target_id=record_id,
            before={"review_status": row.review_status, "stages_signed": signed_before},
            after={"review_status": status, "decision": verdict.status, "stage": stage, "basis": basis,
                   "stages_signed": signed_after, "awaiting": awaiting, "scores": verdict.scores,
                   "comment": verdict.comment},
        ))
    return Outcome(record_id, status, stage, awaiting, status != row.review_status, row.work_id)


def _publish(store: Store, outcomes: list[Outcome], actor: str) -> ReviewReport:
    changed = [o for o in outcomes if o.changed]
    works = {o.work_id for o in changed if o.work_id}
    return ReviewReport(len(changed), refresh(store, works, actor=actor) if works else PublicationReport())


def summary(outcome: Outcome) -> dict[str, Any]:
    """The JSON shape of an outcome (API answers, CLI output)."""
    return {"record_id": outcome.record_id, "review_status": outcome.status, "stage": outcome.stage,
            "awaiting": outcome.awaiting}
