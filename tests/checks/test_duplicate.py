"""Probable duplicate: another record of the same source in the same work warns; other sources are noted."""

from __future__ import annotations

from repository.checks import duplicate
from repository.checks.base import Context, Row
from tests.checks.conftest import codes, lesson


def test_grouping_decides() -> None:
    record = lesson()
    members = {"w1": [(record.id, 1), ("r-other-source", 2)], "w2": [(record.id, 1), ("r-same", 1), ("r-x", 3)]}
    context = Context(members=members)
    alone = duplicate.check(record, Row(record.id, 1, "h", None), context)
    assert alone.outcome == "pass" and codes(alone) == ["duplicate.not_grouped"]
    federated = duplicate.check(record, Row(record.id, 1, "h", "w1"), context)
    assert federated.outcome == "pass" and federated.findings[0].args == {"n": 1}
    twice = duplicate.check(record, Row(record.id, 1, "h", "w2"), context)
    assert twice.outcome == "warn" and twice.findings[0].args == {"n": 1, "records": ["r-same"]}


def test_the_key_follows_the_grouping_not_only_the_text() -> None:
    context = Context(members={"w1": [("a", 1), ("b", 2)]})
    keys = {duplicate.key(Row("a", 1, "h", work), context) for work in (None, "w1", "w2")}
    assert len(keys) == 3
    bigger = Context(members={"w1": [("a", 1), ("b", 2), ("c", 2)]})
    assert duplicate.key(Row("a", 1, "h", "w1"), bigger) != duplicate.key(Row("a", 1, "h", "w1"), context)
