"""Required fields: missing ones fail, missing recommended ones warn, a complete record passes."""

from __future__ import annotations

from repository.checks import required
from tests.checks.conftest import CONTEXT, codes, lesson, row, with_curriculum


def run(record):  # noqa: ANN001, ANN201
    return required.check(record, row(record), CONTEXT)


def test_a_complete_record_passes() -> None:
    assert run(lesson()).outcome == "pass"


def test_missing_description_subject_and_link_fail_by_name() -> None:
    record = with_curriculum(lesson(description=None, url=None, identifiers=[]), subject=None)
    result = run(record)
    assert result.outcome == "fail" and codes(result) == ["required.missing"]
    assert result.findings[0].args == {"fields": ["description", "curriculum.subject", "url"]}
    assert run(lesson(description="   ")).outcome == "fail"


def test_an_identifier_is_enough_to_reach_the_resource() -> None:
    assert run(lesson(url=None)).outcome == "pass"


def test_missing_grade_and_edition_warn_but_not_grade_in_senior_school() -> None:
    junior = run(with_curriculum(lesson(), grade=None, edition=None))
    assert junior.outcome == "warn" and junior.findings[0].args == {"fields": ["curriculum.grade_label",
                                                                               "curriculum.edition"]}
    senior = with_curriculum(lesson(), grade=None, stage=lesson().curriculum.stage.__class__("senior", "高中"))
    assert run(senior).outcome == "pass"
