"""The review rubric: one pass/fail verdict per dimension, and what each decision needs.

The dimensions are schemas/vocab/review_dimensions.json: the national platform's
content review dimensions (政治性, 导向性, 科学性, 适用性, 规范性, 时效性, 公益性)
plus 技术性 and 版权. The rules, the same for the review page, the queue's bulk
form, the CLI and the JSON API:

* approve: every dimension is marked pass (nothing is approved by default);
* reject / return: a reason in writing, the decision's comment or the comment on a
  failed dimension, so the platform that published the record learns what to fix.

Pure: no database, no Flask. Callers parse their input with from_form / from_json
and call check(); a refusal is a ReviewError carrying a code (for the API), a
catalogue key and values (for the pages) and an HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.vocab import vocabulary

DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}
RESULTS = ("pass", "fail")
MAX_COMMENT = 2000
MAX_NOTE = 500


class ReviewError(ValueError):
    """A refused review action: ``code`` for the API, ``key`` + ``values`` for the catalogue message."""

    def __init__(self, code: str, key: str, status: int = 400, **values: Any) -> None:
        super().__init__(f"{code}: {values}" if values else code)
        self.code, self.key, self.status, self.values = code, key, status, values


def dimensions() -> list[str]:
    """Dimension codes in the rubric's order."""
    return vocabulary("review_dimensions").codes()


def dimension_label(code: str, locale: str = "zh") -> str:
    term = vocabulary("review_dimensions").term(code)
    return term.zh if locale == "zh" or not term.en else term.en


def all_pass(comment: str = "") -> dict[str, dict[str, str]]:
    """Every dimension passed: what a bulk approval records."""
    return {code: {"result": "pass", **({"comment": comment} if comment else {})} for code in dimensions()}


def _score(code: str, result: Any, note: Any = "") -> dict[str, str]:
    if result not in RESULTS:
        raise ReviewError("bad_score", "rubric.bad_score", dimension=code)
    if not isinstance(note, str):
        raise ReviewError("bad_score", "rubric.bad_score", dimension=code)
    note = note.strip()[:MAX_NOTE]
    return {"result": result, **({"comment": note} if note else {})}


def from_form(form: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Scores from the review form: ``score-<code>`` = pass|fail, ``note-<code>`` = optional comment."""
    scores = {}
    for code in dimensions():
        result = form.get(f"score-{code}", "")
        note = form.get(f"note-{code}", "")
        if result:
            scores[code] = _score(code, result, note)
        elif note.strip():
            raise ReviewError("bad_score", "rubric.note_without_result", dimension=code)
    return scores


def from_json(data: Any) -> dict[str, dict[str, str]]:
    """Scores from the API: {code: "pass"|"fail"} or {code: {"result": …, "comment": …}}."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReviewError("bad_score", "rubric.bad_scores")
    known = set(dimensions())
    scores = {}
    for code, value in data.items():
        if code not in known:
            raise ReviewError("unknown_dimension", "rubric.unknown_dimension", dimension=str(code)[:40])
        if isinstance(value, dict):
            extra = set(value) - {"result", "comment"}
            if extra:
                raise ReviewError("bad_score", "rubric.bad_score", dimension=code)
            scores[code] = _score(code, value.get("result"), value.get("comment", ""))
        else:
            scores[code] = _score(code, value)
    return {code: scores[code] for code in dimensions() if code in scores}  # the rubric's order


@dataclass(frozen=True)
class Verdict:
    """A checked decision: the status it asks for, its scores and its comment."""

    decision: str
    status: str
    scores: dict[str, dict[str, str]]
    comment: str

    def failed(self) -> list[str]:
        return [code for code, score in self.scores.items() if score["result"] == "fail"]


def check(decision: str, scores: dict[str, dict[str, str]], comment: str = "") -> Verdict:
    """The decision when the rubric allows it, else ReviewError saying what is missing."""
    status = DECISIONS.get(decision)
    if status is None:
        raise ReviewError("bad_decision", "rubric.bad_decision")
    comment = comment.strip()[:MAX_COMMENT]
    if status == "approved":
        missing = [code for code in dimensions() if code not in scores]
        failed = [code for code, score in scores.items() if score["result"] != "pass"]
        if failed:
            raise ReviewError("failed_dimension", "rubric.approve_failed", dimensions=failed)
        if missing:
            raise ReviewError("incomplete_rubric", "rubric.approve_missing", dimensions=missing)
    else:
        reasons = [score.get("comment") for score in scores.values() if score["result"] == "fail"]
        if not comment and not any(reasons):
            raise ReviewError("reason_required", "rubric.reason_required")
    return Verdict(decision, status, scores, comment)
