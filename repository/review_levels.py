"""Multi-level review: ordered stages (e.g. school → district), and where a record stands.

The REVIEW_STAGES setting lists the stages in order (default: one stage, so one
curator's approval publishes). A record becomes ``approved`` only when every
stage has approved it, in order, within one *round*; an earlier stage's approval
keeps it pending, "awaiting" the next stage. A round ends with a reject or a
return at any stage, with the last stage's approval, or with a policy approval
(bulk onboarding of a trusted source, which approves outright).

Who may sign: a reviewer whose account has a review level signs only at that
stage (no level: any stage), and one person never signs two stages of the same
round. Pure: progress is replayed from the record's review actions (oldest
first), so nothing but the append-only actions holds the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from repository.review_rubric import ReviewError

POLICY = "policy"
"""ReviewAction.level of a policy approval (trusted source approved in bulk): final, whatever the stages."""


class Action(Protocol):
    decision: str
    level: str | None
    actor: str
    at: datetime


def stages(settings: Any) -> tuple[str, ...]:
    """The configured stages, checked: at least one, no repeats, each fits ReviewAction.level."""
    found = tuple(settings["REVIEW_STAGES"])
    if not found:
        raise ValueError("REVIEW_STAGES is empty: name at least one review stage")
    if len(set(found)) != len(found):
        raise ValueError(f"REVIEW_STAGES repeats a stage: {', '.join(found)}")
    for stage in found:
        if len(stage) > 16 or stage == POLICY:
            raise ValueError(f"REVIEW_STAGES: {stage!r} is not a usable stage name (at most 16 characters)")
    return found


@dataclass(frozen=True)
class Signature:
    stage: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Progress:
    """The current (or last, when complete) round: who signed which stage."""

    stages: tuple[str, ...]
    signed: tuple[Signature, ...] = ()
    complete: bool = False  # the round ended with a final approval
    policy: bool = False  # …and that approval was a policy decision
    signers: frozenset[str] = field(default_factory=frozenset)

    @property
    def next_stage(self) -> str | None:
        """The stage the record awaits; None when the round is complete."""
        if self.complete:
            return None
        return self.stages[len(self.signed)] if len(self.signed) < len(self.stages) else None

    @property
    def acting_stage(self) -> str:
        """The stage a decision taken now belongs to (after a complete round: a fresh one, or a withdrawal)."""
        if self.complete:
            return self.stages[-1]
        return self.next_stage or self.stages[-1]

    def multi(self) -> bool:
        return len(self.stages) > 1


def progress(actions: Iterable[Action], stages: tuple[str, ...]) -> Progress:
    """Replay a record's review actions (oldest first) into the current round."""
    signed: list[Signature] = []
    complete = policy = False
    for action in actions:
        if action.decision != "approved":
            signed, complete, policy = [], False, False  # reject / return end the round
            continue
        if action.level not in stages:  # policy, or an approval from before stages (or a stage since removed)
            signed, complete, policy = [], True, action.level == POLICY
            continue
        if complete:
            signed, complete, policy = [], False, False  # a new round after a finished one
        if len(signed) < len(stages) and action.level == stages[len(signed)]:
            signed.append(Signature(action.level, action.actor, action.at))
        if action.level == stages[-1]:
            complete = True
    return Progress(stages, tuple(signed), complete, policy, frozenset(s.actor for s in signed))


def may_act(state: Progress, status: str, actor: str, review_level: str | None, new_status: str) -> str:
    """The stage at which ``actor`` takes this decision, or ReviewError (403/409) saying why not."""
    if new_status == "approved" and status == "approved":
        raise ReviewError("already_approved", "review.already_approved", status=409)
    fresh = state.complete or status != "pending"  # a finished round, or a record sent back: start over
    stage = state.stages[0] if fresh and new_status == "approved" else state.acting_stage
    if review_level is not None and review_level != stage:
        raise ReviewError("wrong_stage", "review.wrong_stage", status=403, stage=stage, level=review_level)
    if new_status == "approved" and not fresh and actor in state.signers:
        raise ReviewError("already_signed", "review.already_signed", status=403,
                          stage=next(s.stage for s in state.signed if s.actor == actor))
    return stage
