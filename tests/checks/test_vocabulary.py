"""Vocabulary values: unknown codes and a grade that contradicts the stage fail; unmapped values warn."""

from __future__ import annotations

from repository.checks import vocabulary
from schemas.record import Edition, Term, Unmapped
from tests.checks.conftest import CONTEXT, codes, lesson, row, with_curriculum


def run(record):  # noqa: ANN001, ANN201
    return vocabulary.check(record, row(record), CONTEXT)


def test_known_codes_pass_including_edition_variants_and_modules() -> None:
    assert run(lesson()).outcome == "pass"
    modules = with_curriculum(lesson(), stage=Term("senior"), grade=10, volume=Term("compulsory-1", "必修 第一册"),
                              edition=Edition("pep-a", "人教A版"))
    assert run(modules).outcome == "pass"


def test_unknown_codes_fail_with_field_and_value() -> None:
    record = with_curriculum(lesson(resource_type=Term("hologram")), subject=Term("alchemy"),
                             volume=Term("vol9"), edition=Edition("nobody", "校本"))
    result = run(record)
    assert result.outcome == "fail"
    assert [(f.args["field"], f.args["value"]) for f in result.findings] == [
        ("curriculum.subject", "alchemy"), ("resource_type", "hologram"), ("curriculum.volume", "vol9"),
        ("curriculum.edition", "nobody")]


def test_grade_must_fit_the_stage() -> None:
    result = run(with_curriculum(lesson(), grade=3))
    assert codes(result) == ["vocabulary.grade_stage"] and result.outcome == "fail"
    five_four = with_curriculum(lesson(), grade=6, school_system="5-4")  # 五四制: grade 6 is junior school
    assert run(five_four).outcome == "pass"


def test_unmapped_values_and_unknown_honours_warn() -> None:
    result = run(lesson(unmapped=[Unmapped("edition", "校本自编")], honours=["宇宙优"]))
    assert result.outcome == "warn"
    assert codes(result) == ["vocabulary.unnamed", "vocabulary.unmapped"]
    assert result.findings[1].args == {"fields": ["edition"]}
