"""Sensitive terms: the shipped list catches the demo's advertising in every spelling; the list is configurable."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.demo.styles import ADVERT, to_traditional
from repository.checks import sensitive
from repository.checks.base import Context
from tests.checks.conftest import codes, lesson, row


def run(record, terms=None):  # noqa: ANN001, ANN201
    return sensitive.check(record, row(record), Context(terms=terms or sensitive.load_terms()))


def test_clean_text_passes() -> None:
    assert run(lesson()).outcome == "pass"


@pytest.mark.parametrize("text", [ADVERT, to_traditional(ADVERT), "课件请扫 码 添 加 微 信", "请加ＱＱ群获取",
                                  "代\u200b写教案"])
def test_the_demo_advert_is_caught_in_traditional_full_width_and_spaced_spellings(text: str) -> None:
    result = run(lesson(description="勾股定理的证明。" + text))
    assert result.outcome == "fail" and codes(result) == ["sensitive.term"]


def test_keywords_and_titles_are_screened_too() -> None:
    assert run(lesson(keywords=["代做课件"])).outcome == "fail"
    assert run(lesson(title="勾股定理 加微信领资料")).findings[0].args == {"terms": ["加微信"]}


def test_a_configured_list_replaces_the_default(tmp_path: Path) -> None:
    listing = tmp_path / "terms.txt"
    listing.write_text("# ours\n勾股\n", "utf-8")
    terms = sensitive.load_terms(str(listing))
    assert run(lesson(), terms).findings[0].args == {"terms": ["勾股"]}
    assert run(lesson(description=ADVERT, title="圆", keywords=[]), terms).outcome == "pass"


def test_an_unreadable_list_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="bad.txt"):
        sensitive.load_terms(str(bad))
    with pytest.raises(ValueError, match="missing.txt"):
        sensitive.load_terms(str(tmp_path / "missing.txt"))
