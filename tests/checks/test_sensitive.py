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


def test_terms_never_span_two_fields_and_are_reported_once_in_order() -> None:
    """The fields are screened in one regex pass over their squeezed texts joined by NUL."""
    assert run(lesson(title="勾股定理 请加", description="微信群里讨论勾股定理的多种证明方法。")).outcome == "pass"
    found = run(lesson(title="代写 加微信", keywords=["加微信", "有偿代写"])).findings[0].args
    assert found == {"terms": ["代写", "加微信", "有偿"]}


def test_squeeze_is_fold_without_noise_for_every_character() -> None:
    """The regex and the NFKC shortcut (full-width punctuation replaced before fold) change nothing:
    the reference is fold() followed by deleting every BMP character of categories P, S, Z and C."""
    import unicodedata

    from repository.checks.base import folded, squeeze
    from schemas.text import fold

    noise = dict.fromkeys(cp for cp in range(0x10000) if unicodedata.category(chr(cp))[0] in "PSZC")
    every = [chr(cp) for cp in range(0x30000) if not 0xD800 <= cp < 0xE000]  # no lone surrogates in UTF-8 text
    samples = ["".join(every[start:start + 512]) for start in range(0, len(every), 512)]
    samples += ["勾股定理（第１课时）：证明…　扫码添加ＱＱ！", "Ⅻ ｆｉｌｅ ㍿ …… （（", "A\u0301，\u0301", ""]
    for text in samples:
        assert squeeze(text) == fold(text).translate(noise), text[:20]
        assert folded(text) == fold(text), text[:20]
