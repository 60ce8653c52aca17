"""Text analysis, query parsing and the engine-neutral work document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from index.analysis import (
    analyse,
    analyse_text,
    analyse_title,
    domain_words,
    expand_query,
    fold_text,
    is_weak,
    pinyin_tokens,
    segmenter,
    words,
)
from index.backend import QuerySyntaxError
from index.documents import QUALITY_WEIGHTS, duration_seconds, quality_score, work_document
from index.query import analyse_query, highlight, split_query
from schemas.record import Record
from tests.index.conftest import make_record


def test_gougu_is_found_by_subword() -> None:
    tokens = analyse("勾股定理（第一课时）")
    assert {"勾股定理", "勾股", "定理", "第一课时"} <= set(tokens)
    assert set(words("勾股")) <= set(tokens)


@pytest.mark.parametrize("query", ["gougu", "gougudingli", "ggdl", "gou", "gg"])
def test_gougu_is_found_by_pinyin(query: str) -> None:
    _, _, full, initials = analyse_title("勾股定理（第一课时）")
    assert query in full.split() + initials.split()


def test_pinyin_runs_across_words_but_not_across_latin() -> None:
    full, initials = pinyin_tokens(words("圆的面积 unit 勾股定理"))
    assert "yuandemianji" in full and "ydmj" in initials
    assert not any(p.startswith("yuandemianjigou") for p in full)


def test_traditional_width_and_case_are_folded() -> None:
    assert analyse("數學") == ["数学"]
    assert analyse("ＰＰＴ課件") == analyse("ppt课件")
    assert expand_query("數學")[0] == "数学"


def test_punctuation_dropped_and_latin_words_kept_apart() -> None:
    assert analyse("《背影》——朱自清！") == analyse("背影 朱自清")
    assert analyse("Lesson plan, Unit 1") == ["lesson", "plan", "unit", "1"]
    assert fold_text("a  b\u3000c") == "a|b|c"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("初一", "七年级"),
        ("部编版", "统编版"),
        ("统编版", "部编版"),
        ("math", "数学"),
        ("生物", "生物学"),
        ("初中七年级", "七年级"),
        ("lesson plan", "教学设计"),
        ("grade 7", "七年级"),
        ("ppt", "课件"),
    ],
)
def test_synonym_expansion(query: str, expected: str) -> None:
    assert expected in expand_query(query)


def test_junior_relative_grade_uses_the_default_school_system() -> None:
    tokens = expand_query("初一数学")
    assert "七年级" in tokens and "六年级" not in tokens


def test_broad_synonyms_expand_one_way_only() -> None:
    assert "课后练习" in expand_query("练习")
    assert "练习" not in expand_query("课后练习")


def test_domain_dictionary() -> None:
    vocabulary_words = set(domain_words())
    assert {"勾股", "勾股定理", "统编版", "部编版", "道德与法治", "学习任务单", "初一"} <= vocabulary_words
    assert all(segmenter().has_word(w) for w in ("勾股", "统编版", "学习任务单"))
    assert words("部编版道德与法治学习任务单") == ["部编版", "道德与法治", "学习任务单"]


def test_characters_back_up_context_dependent_segmentation() -> None:
    tokens, chars = analyse_text("最后简单介绍费马小定理的内容")
    assert "费马" not in tokens.split()  # the segmenter cut 介绍费|马 in running text
    assert "费 马 小 定 理" in chars
    assert is_weak("费马") and is_weak("小") and not is_weak("定理") and not is_weak("ab")
    group = analyse_query("费马小定理").groups[0]
    assert group.chars == ("费马小",) and group.alternatives == ()


# --- query parsing -------------------------------------------------------------------


def test_split_query_phrases_and_plain_text() -> None:
    assert split_query('勾股定理 "第一 课时" 人教版') == ("勾股定理   人教版", ["第一 课时"])
    assert split_query("“圆的面积”")[1] == ["圆的面积"]
    assert split_query('""')[1] == []


@pytest.mark.parametrize("text", ['"abc', "a AND b", "|| x", "subject:数学", "!!"])
def test_syntax_errors_carry_a_message(text: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        analyse_query(text)
    assert info.value.message and info.value.query


def test_stopwords_dropped_only_when_other_words_remain() -> None:
    assert [g.alternatives[0] for g in analyse_query("圆的面积").groups] == [("圆",), ("面积",)]
    assert analyse_query("的").groups[0].alternatives[0] == ("的",)


def test_minimum_match_relaxes_for_long_queries() -> None:
    assert analyse_query("勾股定理 数学 课件").relaxed_match == 3
    long = analyse_query("勾股定理 数学 课件 八年级 人教版 第一课时 微课 视频")
    assert long.relaxed_match == len(long.groups) - len(long.groups) // 4


def test_empty_query_is_browse() -> None:
    assert analyse_query("").is_empty and analyse_query("   ").is_empty


def test_highlight_marks_folded_matches_and_escapes() -> None:
    assert highlight("數學<課件>", ["数学"]) == "<mark>數學</mark>&lt;課件&gt;"
    long = "前言" * 100 + "勾股定理" + "后记" * 100
    snippet = highlight(long, ["勾股定理"], max_chars=40)
    assert "<mark>勾股定理</mark>" in snippet and snippet.startswith("…") and snippet.endswith("…")
    assert highlight("no match here", ["勾股"]) == "no match here"


# --- documents ----------------------------------------------------------------------


def test_work_document_is_engine_neutral_json() -> None:
    canonical = make_record(
        "勾股定理（第一课时）",
        1,
        description="探索直角三角形三边关系，证明勾股定理。",
        chapter_path=["第十七章 勾股定理", "17.1 勾股定理"],
        format="video/mp4",
        duration="PT12M30S",
        honours=["省优"],
        source_level="provincial",
    )
    member = make_record(
        "勾股定理 第一课时",
        2,
        source="zhejiang",
        honours=["部优"],
        source_level="national",
        datestamp=datetime(2025, 3, 1, tzinfo=UTC),
    )
    gone = make_record("已删除", 3, source="gone", deleted=True)
    doc = work_document("w1", canonical, [canonical, member, gone], {"review_status": "approved"})
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc
    assert doc["id"] == "w1" and doc["title"] == "勾股定理（第一课时）"
    assert doc["members_count"] == 2 and doc["sources"] == ["handmade", "zhejiang"]
    assert doc["honours"] == ["部优", "省优"] and doc["source_level"] == "national"
    assert doc["grade"] == 8 and doc["grade_label"] == "八年级" and doc["subject"] == "math"
    assert doc["edition"] == "pep" and doc["edition_label"] == "人教版" and doc["stage"] == "junior"
    assert doc["has_video"] is True and doc["duration"] == 750 and doc["format"] == "video/mp4"
    assert doc["datestamp"] == "2025-03-01T00:00:00Z" and doc["review_status"] == "approved"
    assert doc["chapter"] == "第十七章 勾股定理 / 17.1 勾股定理"
    assert "勾股定理" in doc["title_tokens"].split() and "gougu" in doc["title_pinyin"].split()
    assert {"数学", "八年级", "人教版", "课件"} <= set(doc["text_tokens"].split())
    assert "勾股" in doc["chapter_tokens"].split() and "勾 股 定 理" in doc["chars"]
    assert 0 < doc["quality"] <= 1
    assert not any(key.startswith("_") or "tantivy" in key for key in doc)


def test_missing_values_are_absent_not_null() -> None:
    bare = Record(source="s", source_record_id="1", title="无名")
    doc = work_document("w2", bare, [])
    assert None not in doc.values()
    assert doc["members_count"] == 1 and doc["review_status"] == "unreviewed" and doc["has_video"] is False
    assert "datestamp" not in doc and "grade" not in doc and "honours" not in doc
    assert doc["quality"] == 0.0


def test_quality_is_weighted_completeness() -> None:
    assert abs(sum(QUALITY_WEIGHTS.values()) - 1.0) < 1e-9
    poor = make_record("勾股定理", 1)
    rich = make_record(
        "勾股定理", 2, description="这是一段足够长的描述，介绍本课的目标、重点与难点。", keywords=["勾股"]
    )
    assert quality_score(rich) == pytest.approx(quality_score(poor) + 0.15 + 0.05)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("PT10M23S", 623), ("PT1H", 3600), ("P1DT1S", 86401), ("PT", None), ("x", None), (None, None)],
)
def test_duration_seconds(value: str | None, seconds: int | None) -> None:
    assert duration_seconds(value) == seconds


def test_a_synonym_holding_the_typed_word_is_pruned_and_others_kept() -> None:
    """微课视频 finds nothing 微课 does not (the index holds a word's sub-words beside it): one union less."""
    micro = analyse_query("微课 勾股定理").groups[0]
    assert micro.alternatives == (("微课",),)
    grade = analyse_query("初一").groups[0]
    assert ("七年级",) in grade.alternatives and grade.alternatives[0] == ("初一",)
