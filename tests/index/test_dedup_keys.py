"""Title normalisation and URL canonicalisation for dedup."""

from __future__ import annotations

import pytest

from index.dedup.keys import parse_title
from index.dedup.signals import canonical_url


@pytest.mark.parametrize(
    "title",
    [
        "圆的面积",
        "【市级优课】圆的面积",
        "圆的面积（微课）",
        "【微课】圆的面积",
        "《圆的面积》",
        "人教版六年级数学上册 圆的面积",
        "人教版数学六年级上册：圆的面积",
        "圆的面积-人教版六年级上册",
        "六年级数学（人教版）圆的面积",
        "【一师一优课】【人教版】圆的面积 课件",
        "圆的面积ppt",
        "圓的面積",
        "  圆的面积　",
        "5.3 圆的面积",
        "圆的面积——新授课",
    ],
)
def test_decoration_variants_share_one_key(title: str) -> None:
    assert parse_title(title).key == "圆的面积"


def test_decoration_becomes_hints_not_noise() -> None:
    parsed = parse_title("【市级优课】人教版八年级数学上册《三角形的边》（第1课时）课件")
    assert parsed.key == "三角形的边"
    assert (parsed.class_hour, parsed.resource_type) == (1, "courseware")
    assert (parsed.edition, parsed.grade, parsed.subject, parsed.volume) == ("pep", 8, "math", "vol1")
    assert parsed.honour == "municipal"


@pytest.mark.parametrize(
    ("title", "hour"),
    [
        ("圆的面积 第1课时", 1),
        ("圆的面积（第一课时）", 1),
        ("圆的面积第２课时", 2),
        ("圓的面積（第二課時）", 2),
        ("圆的面积", None),
    ],
)
def test_class_hour_is_lifted_out_of_the_key(title: str, hour: int | None) -> None:
    parsed = parse_title(title)
    assert parsed.key == "圆的面积"
    assert parsed.class_hour == hour


@pytest.mark.parametrize(
    ("title", "rtype"),
    [
        ("圆的面积 教学设计", "lesson-plan"),
        ("圆的面积教案", "lesson-plan"),
        ("圆的面积 课件", "courseware"),
        ("圆的面积（微课）", "micro-lecture"),
        ("圆的面积 课堂实录", "recorded-lesson"),
        ("圆的面积 导学案", "task-sheet"),
    ],
)
def test_resource_type_words_become_a_hint(title: str, rtype: str) -> None:
    assert parse_title(title).resource_type == rtype
    assert parse_title(title).key == "圆的面积"


def test_edition_spellings_give_the_same_edition_code() -> None:
    assert parse_title("部编版七年级语文上册 春").edition == parse_title("【统编版】春").edition == "tongbian"
    assert parse_title("人教A版高中数学必修第一册 1.1 集合的概念").edition == "pep-a"
    assert parse_title("北师大版 圆的面积").edition == "bnu"


def test_words_that_tell_lessons_apart_stay_in_the_key() -> None:
    assert parse_title("观察物体（一）").key != parse_title("观察物体（二）").key
    assert parse_title("数学广角").key == "数学广角"  # a subject glued to the title is part of it
    assert parse_title("人教版数学广角").key == "数学广角"
    assert parse_title("口算练习").key == "口算练习"  # 练习 is not trusted as a type word
    assert parse_title("复习课").key == "复习课"
    assert parse_title("第三单元复习").key == parse_title("第3单元复习").key


def test_all_decoration_title_keeps_a_key() -> None:
    assert parse_title("【微课】").key
    assert parse_title("人教版").key


@pytest.mark.parametrize(
    "url",
    [
        "https://basic.smartedu.cn/syncClassroom/classActivity?activityId=abc",
        "HTTP://Basic.SmartEdu.CN/syncClassroom/classActivity?activityId=abc",
        "https://basic.smartedu.cn:443/syncClassroom/classActivity/?activityId=abc",
        "https://basic.smartedu.cn/syncClassroom/classActivity?activityId=abc&utm_source=wechat&utm_medium=share",
        "https://basic.smartedu.cn/syncClassroom/classActivity?from=timeline&activityId=abc#comments",
        "basic.smartedu.cn/syncClassroom/classActivity?spm=a2c4e.1&activityId=abc",
    ],
)
def test_url_variants_canonicalise_together(url: str) -> None:
    assert canonical_url(url) == "basic.smartedu.cn/syncClassroom/classActivity?activityId=abc"


def test_canonical_url_keeps_what_identifies_the_page() -> None:
    assert canonical_url("https://x.cn/a?id=1") != canonical_url("https://x.cn/a?id=2")
    assert canonical_url("https://x.cn/A") != canonical_url("https://x.cn/a")  # paths are case-sensitive
    assert canonical_url("https://x.cn:8080/a") != canonical_url("https://x.cn/a")
    assert canonical_url("https://x.cn/a?b=1&a=2") == canonical_url("https://x.cn/a?a=2&b=1")
    assert canonical_url("https://x.cn/s?q=%E5%9C%86&utm_source=x") == canonical_url("https://x.cn/s?q=圆")
