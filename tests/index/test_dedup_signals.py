"""Each dedup signal alone, and each veto (the four hard-negative kinds)."""

from __future__ import annotations

import msgspec
import pytest

from index.dedup import DedupEngine
from index.dedup.signals import compare, features, veto
from schemas.normalise import build_curriculum
from schemas.record import Identifier, Record
from schemas.vocab import vocabulary

DESC = (
    "本节课通过把圆转化为近似的长方形，推导出圆的面积公式，并运用公式解决生活中的实际问题。"
    "学生在操作、观察、比较中体会转化的数学思想。"
)


def rec(
    title: str,
    sid: str,
    *,
    source: str = "smartedu",
    desc: str | None = None,
    rtype: str | None = None,
    url: str | None = None,
    **curriculum: str | None,
) -> Record:
    """A record as a harvester would map it (curriculum given as platform labels)."""
    c, unmapped = build_curriculum(curriculum)
    assert not unmapped
    return Record(
        source=source,
        source_record_id=sid,
        title=title,
        description=desc,
        curriculum=c,
        url=url,
        resource_type=vocabulary("resource_types").term(rtype) if rtype else None,
    )


def bare(title: str, sid: str, **kw: object) -> Record:
    """A record whose title and text say nothing alike: only identifiers can join it."""
    return Record(source=f"src{sid}", source_record_id=sid, title=title, **kw)  # type: ignore[arg-type]


def verdict(a: Record, b: Record) -> dict[str, float] | None:
    m = compare(features(a), features(b))
    return m.signals if m else None


# -- identifier signals, each alone -------------------------------------------


def test_shared_national_identifier_alone_joins() -> None:
    a = bare("圆的面积", "1", identifiers=[Identifier("smartedu", "ABC-123")])
    b = bare("完全不同的标题", "2", identifiers=[Identifier("smartedu", "abc-123")])
    assert verdict(a, b) == {"identifier": 1.0, "title": 0.0}


def test_local_identifiers_never_join() -> None:
    a = bare("甲", "1", identifiers=[Identifier("local", "42")])
    b = bare("乙", "2", identifiers=[Identifier("local", "42")])
    assert verdict(a, b) is None


def test_is_based_on_pointing_at_a_url_alone_joins() -> None:
    a = bare("甲", "1", url="https://basic.smartedu.cn/lesson?id=9")
    b = bare("乙", "2", is_based_on=["HTTP://BASIC.SMARTEDU.CN/lesson/?id=9&utm_source=wechat"])
    assert "is_based_on" in verdict(a, b)  # type: ignore[operator]
    assert verdict(b, a) == verdict(a, b)


def test_is_based_on_pointing_at_an_identifier_alone_joins() -> None:
    a = bare("甲", "1", identifiers=[Identifier("smartedu", "u-77")])
    assert "is_based_on" in verdict(a, bare("乙", "2", is_based_on=["smartedu:u-77"]))  # type: ignore[operator]
    assert "is_based_on" in verdict(a, bare("乙", "3", is_based_on=["u-77"]))  # type: ignore[operator]


def test_canonical_url_alone_joins() -> None:
    a = bare("甲", "1", url="https://res.example.cn/a/b/?x=1")
    b = bare("乙", "2", url="http://RES.example.cn/a/b?x=1&from=timeline")
    assert verdict(a, b) == {"url": 1.0, "title": 0.0}
    assert verdict(a, bare("乙", "3", url="http://res.example.cn/a/b?x=2")) is None


def test_file_md5_alone_joins() -> None:
    a = bare("甲", "1", file_md5="0CC175B9C0F1B6A831C399E269772661")
    b = bare("乙", "2", file_md5="0cc175b9c0f1b6a831c399e269772661")
    assert verdict(a, b) == {"file_md5": 1.0, "title": 0.0}


# -- text signals --------------------------------------------------------------


def test_normalised_key_with_description_joins() -> None:
    a = rec("圆的面积", "1", desc=DESC, grade="六年级", subject="数学", edition="人教版")
    b = rec("【市级优课】人教版六年级数学上册 圆的面积", "2", source="hz", desc=DESC[:30] + "...")
    signals = verdict(a, b)
    assert signals is not None and signals["title_key"] == 1.0 and signals["description"] == 1.0


def test_normalised_key_without_description_needs_agreeing_fields() -> None:
    a = rec("圆的面积", "1", grade="六年级", subject="数学", edition="人教版")
    assert verdict(a, rec("圆的面积", "2", source="hz", grade="六年级", subject="数学")) is not None
    assert verdict(a, rec("圆的面积", "3", source="hz")) is None  # a bare title is not enough


def test_same_title_different_description_does_not_join() -> None:
    a = rec("复习课", "1", desc=DESC, subject="数学")
    b = rec(
        "复习课",
        "2",
        source="hz",
        desc="本课复习本单元的生字词，指导学生有感情地朗读课文，积累优美的语句。",
        subject="数学",
    )
    assert verdict(a, b) is None


def test_lsh_finds_a_retitled_copy_and_verification_accepts_it() -> None:
    engine = DedupEngine()
    a = rec("梯形的面积", "1", desc=DESC, grade="五年级", subject="数学")
    b = rec("梯形的面积公式", "2", source="hz", desc=DESC, grade="五年级", subject="数学")
    engine.add(a)
    engine.add(b)
    assert engine.work_id(a.id) == engine.work_id(b.id)
    assert "minhash" in engine.edges[a.id][b.id].signals


def test_a_title_holding_another_needs_a_long_near_identical_description() -> None:
    a = rec("二元一次方程组", "1", desc=DESC, grade="七年级")
    b = rec("消元——解二元一次方程组", "2", source="hz", desc=DESC, grade="七年级")
    assert verdict(a, b) is not None  # same full description: a retitled copy
    assert verdict(a, rec("消元——解二元一次方程组", "3", source="hz", desc=DESC[:30] + "...")) is None
    assert (
        verdict(rec("周长", "4", desc=DESC), rec("长方形和正方形的周长", "5", source="hz", desc=DESC)) is None
    )


def test_one_character_apart_titles_are_different_lessons() -> None:
    a = rec("加法运算定律", "1", desc=DESC, grade="四年级", subject="数学")
    b = rec("乘法运算定律", "2", source="hz", desc=DESC, grade="四年级", subject="数学")
    assert verdict(a, b) is None


# -- vetoes: the hard negatives ------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "field"),
    [
        # same title, different edition (人教版 vs 北师大版 圆的面积)
        (dict(edition="人教版"), dict(edition="北师大版"), "edition"),
        # 第1课时 vs 第2课时 of one lesson (from the field and from the title)
        (dict(class_hour="第1课时"), dict(class_hour="第2课时"), "class_hour"),
        (dict(title="圆的面积（第1课时）"), dict(title="圆的面积 第二课时"), "class_hour"),
        # 课件 vs 教学设计 of one lesson package (field, and title decoration)
        (dict(rtype="courseware"), dict(rtype="lesson-plan"), "resource_type"),
        (dict(title="圆的面积 课件"), dict(title="圆的面积 教学设计"), "resource_type"),
        # 复习课 in two subjects
        (dict(title="复习课", subject="数学"), dict(title="复习课", subject="英语"), "subject"),
        # the same chapter title in two grades
        (dict(title="语文园地一", grade="一年级"), dict(title="语文园地一", grade="二年级"), "grade"),
        (dict(volume="上册"), dict(volume="下册"), "volume"),
    ],
)
def test_present_but_different_field_vetoes_even_identical_copies(a: dict, b: dict, field: str) -> None:
    base = dict(title="圆的面积", desc=DESC, grade="六年级", subject="数学", edition="人教版", volume="上册")
    ra = rec(**{**base, **a, "sid": "1"})  # type: ignore[arg-type]
    rb = rec(**{**base, **b, "sid": "2"}, source="hz")  # type: ignore[arg-type]
    ra, rb = (msgspec.structs.replace(r, url="https://same.example.cn/1") for r in (ra, rb))
    assert veto(features(ra), features(rb))[0] == field  # type: ignore[index]
    assert compare(features(ra), features(rb)) is None  # even the shared URL cannot overrule it
    engine = DedupEngine()
    engine.add(ra)
    engine.add(rb)
    assert engine.work_id(ra.id) != engine.work_id(rb.id)


def test_missing_fields_do_not_veto() -> None:
    a = rec(
        "圆的面积", "1", desc=DESC, grade="六年级", subject="数学", edition="人教版", class_hour="第1课时"
    )
    b = rec("圆的面积", "2", source="hz", desc=DESC)
    assert veto(features(a), features(b)) is None
    assert verdict(a, b) is not None


def test_edition_variant_is_compatible_with_its_base() -> None:
    a = rec("集合的概念", "1", desc=DESC, edition="人教A版")
    assert verdict(a, rec("集合的概念", "2", source="hz", desc=DESC, edition="人教版")) is not None
    assert verdict(a, rec("集合的概念", "3", source="hz", desc=DESC, edition="人教B版")) is None


def test_record_missing_the_telling_field_joins_neither_look_alike() -> None:
    """A copy that says neither 第1 nor 第2课时 and has no description is
    ambiguous: it must not be glued to either lesson."""
    engine = DedupEngine()
    one = rec("圆的面积 第1课时", "1", grade="六年级", subject="数学", edition="人教版", rtype="courseware")
    two = rec("圆的面积 第2课时", "2", grade="六年级", subject="数学", edition="人教版", rtype="courseware")
    vague = rec("圆的面积", "3", source="hz", grade="六年级", subject="数学", edition="人教版")
    for r in (vague, one, two):
        engine.add(r)
    works = {engine.work_id(r.id) for r in (one, two, vague)}
    assert len(works) == 3
    assert vague.id in engine.ambiguous


def test_features_decoded_from_bytes_share_their_repeated_values_again_once_compacted() -> None:
    """A worker's features or a snapshot's arrive as copies; compact() gives them back the shared tuples and
    strings features() uses (a million records hold a few thousand distinct ones), and changes nothing else."""
    from index.dedup.signals import Features, compact

    record = rec("圆的面积", "1", desc=DESC, stage="小学", grade="六年级", subject="数学", edition="人教版")
    made = features(record)
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(made), type=Features)
    assert decoded == made and decoded.fields is not made.fields
    again = compact(decoded)
    assert again == made
    assert again.fields is made.fields and again.title_key is made.title_key and again.chapter is made.chapter
    assert all(a is b for a, b in zip(again.fields, made.fields, strict=True))
