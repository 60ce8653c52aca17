"""Title and description: placeholders and a description that repeats the title fail, folded."""

from __future__ import annotations

import pytest

from harvester.demo.styles import PLACEHOLDER, to_traditional
from repository.checks import title
from tests.checks.conftest import CONTEXT, codes, lesson, row


def run(record):  # noqa: ANN001, ANN201
    return title.check(record, row(record), CONTEXT)


def test_a_real_title_and_description_pass_even_one_character_titles() -> None:
    assert run(lesson()).outcome == "pass"
    assert run(lesson(title="春")).outcome == "pass"


@pytest.mark.parametrize("text", [PLACEHOLDER, to_traditional(PLACEHOLDER), "【暂无简介】", "无", "待补充。",
                                  "N/A", "ｔｅｓｔ", "...", "12345"])
def test_placeholder_descriptions_fail_in_any_spelling(text: str) -> None:
    result = run(lesson(description=text))
    assert result.outcome == "fail" and codes(result) == ["title.description_placeholder"]


def test_placeholder_title_fails() -> None:
    assert codes(run(lesson(title="未命名"))) == ["title.placeholder"]


def test_description_repeating_the_title_fails() -> None:
    record = lesson(title="勾股定理（第1课时）", description="勾股定理 (第1課時)")
    assert codes(run(record)) == ["title.same_as_description"]


def test_file_name_titles_and_short_descriptions_warn() -> None:
    result = run(lesson(title="勾股定理第一课时.pptx", description="好课"))
    assert result.outcome == "warn" and codes(result) == ["title.file_name", "title.description_short"]
