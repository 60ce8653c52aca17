"""The dedup engine: incremental works, curator decisions, canonical record,
merged view with provenance, explanations."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from index.dedup import DedupEngine
from index.dedup.explain import explain_pair, render
from schemas.normalise import build_curriculum
from schemas.record import Agent, Identifier, Record
from schemas.vocab import vocabulary

DESC = (
    "本节课通过把圆转化为近似的长方形，推导出圆的面积公式，并运用公式解决生活中的实际问题。"
    "由杭州市学军小学王芳老师执教。"
)
LEVEL = {
    "smartedu": "national",
    "zjer": "provincial",
    "hzedu": "municipal",
    "xhedu": "district",
    "xjxx": "school",
}


def rec(
    title: str,
    source: str = "smartedu",
    sid: str | None = None,
    desc: str | None = DESC,
    rtype: str | None = "micro-lecture",
    created: str = "2023-03-01",
    **curriculum: str | None,
) -> Record:
    c, _ = build_curriculum(
        {"grade": "六年级", "subject": "数学", "edition": "人教版", "volume": "上册", **curriculum}
    )
    return Record(
        source=source,
        source_record_id=sid or f"{source}-{title}",
        title=title,
        description=desc,
        curriculum=c,
        url=f"https://{source}.example.cn/{sid or title}",
        source_level=LEVEL.get(source),
        resource_type=vocabulary("resource_types").term(rtype) if rtype else None,
        created=datetime.fromisoformat(created).replace(tzinfo=UTC),
    )


def same_work(engine: DedupEngine, *records: Record) -> bool:
    return len({engine.work_id(r.id) for r in records}) == 1


def test_traditional_and_simplified_titles_merge() -> None:
    engine = DedupEngine()
    simplified = rec("圆的面积")
    traditional = rec(
        "圓的面積",
        "xhedu",
        desc="本節課通過把圓轉化為近似的長方形，推導出圓的面積公式，並運用公式解決生活中的實際問題。",
    )
    engine.add(simplified)
    engine.add(traditional)
    assert same_work(engine, simplified, traditional)


def test_decoration_variants_from_three_platforms_merge() -> None:
    engine = DedupEngine()
    records = [
        rec("圆的面积"),
        rec("【市级优课】人教版六年级数学上册 圆的面积（微课）", "hzedu", desc=DESC[:25] + "……"),
        rec("《圆的面积》-人教版六年级上册", "xhedu", desc=None, grade=None),
        rec("【一師一優課】圓的面積", "zjer"),
    ]
    engine.add_many(records)
    assert same_work(engine, *records)
    assert len(engine.works()) == 1


def test_incremental_add_joins_the_right_work_and_remove_leaves_it() -> None:
    engine = DedupEngine()
    pep = [rec("圆的面积"), rec("圆的面积 微课", "hzedu")]
    bnu = [
        rec("圆的面积", "smartedu", sid="bnu", edition="北师大版"),
        rec("北师大版 圆的面积", "xhedu", edition=None),
    ]
    engine.add_many(pep + bnu)
    assert same_work(engine, *pep) and same_work(engine, *bnu) and not same_work(engine, pep[0], bnu[0])
    newcomer = rec("【区级优课】圆的面积", "xhedu", sid="new", edition="北师大版")
    work = engine.add(newcomer)
    assert work == engine.work_id(bnu[0].id)
    engine.remove(newcomer.id)
    assert newcomer.id not in engine
    assert engine.members(engine.work_id(bnu[0].id)) == sorted(r.id for r in bnu)


def test_removing_the_only_link_splits_the_work() -> None:
    engine = DedupEngine()
    a = Record(source="a", source_record_id="1", title="甲", url="https://x.cn/1")
    bridge = Record(source="b", source_record_id="2", title="乙", url="https://x.cn/1", file_md5="f" * 32)
    c = Record(source="c", source_record_id="3", title="丙", file_md5="F" * 32)
    engine.add_many([a, bridge, c])
    assert same_work(engine, a, bridge, c)
    engine.remove(bridge.id)
    assert not same_work(engine, a, c)
    engine.add(bridge)
    assert same_work(engine, a, bridge, c)


def test_a_deleted_record_leaves_its_work() -> None:
    engine = DedupEngine()
    a, b = rec("圆的面积"), rec("圆的面积", "hzedu")
    engine.add_many([a, b])
    b.deleted = True
    assert engine.add(b) == ""
    assert b.id not in engine and engine.members(engine.work_id(a.id)) == [a.id]


def test_updated_record_moves_to_its_new_work() -> None:
    engine = DedupEngine()
    one, two = rec("圆的面积 第1课时"), rec("圆的面积 第2课时")
    copy = rec("圆的面积（第1课时）", "hzedu")
    engine.add_many([one, two, copy])
    assert same_work(engine, one, copy)
    engine.add(rec("圆的面积（第2课时）", "hzedu", sid=copy.source_record_id))  # the platform corrected it
    assert same_work(engine, two, copy) and not same_work(engine, one, copy)


def test_curator_split_keeps_records_apart_on_later_runs(tmp_path: object) -> None:
    from index.dedup.persist import DirectoryStore, open_engine

    store = DirectoryStore(tmp_path)  # type: ignore[arg-type]
    records = [rec("圆的面积"), rec("圆的面积 微课", "hzedu"), rec("圆的面积", "xhedu")]
    engine = DedupEngine(store=store)
    engine.add_many(records)
    assert same_work(engine, *records)
    engine.split(records[0].id, records[2].id, curator="李老师", note="不同教师的录课")
    assert not same_work(engine, records[0], records[2])
    # a later record with every signal in common does not undo it
    engine.add(rec("圆的面积", "zjer"))
    assert not same_work(engine, records[0], records[2])
    # nor does a run from scratch (no snapshot: rebuild from records + the decision log)
    again = open_engine(store, lambda: records)
    assert not same_work(again, records[0], records[2])
    # nor a restart from a snapshot
    engine.save()
    restored = open_engine(store, lambda: [])
    assert not same_work(restored, records[0], records[2])


def test_curator_merge_beats_a_veto_and_survives_rebuild() -> None:
    a, b = rec("圆的面积", grade="六年级"), rec("圆的面积", "hzedu", grade="五年级")
    engine = DedupEngine()
    engine.add_many([a, b])
    assert not same_work(engine, a, b)
    decision = engine.merge(a.id, b.id, curator="王老师", note="五年级标错了")
    assert same_work(engine, a, b)
    copy_of_b = rec("圆的面积 微课", "xhedu", grade="五年级")
    engine.add(copy_of_b)
    assert same_work(engine, a, b, copy_of_b)
    rebuilt = DedupEngine.rebuild([copy_of_b, b, a], [decision])
    assert same_work(rebuilt, a, b, copy_of_b)


def test_newest_decision_wins() -> None:
    a, b = rec("圆的面积"), rec("圆的面积", "hzedu")
    engine = DedupEngine()
    engine.add_many([a, b])
    engine.split(a.id, b.id)
    engine.merge(a.id, b.id)
    assert same_work(engine, a, b)
    engine.split(b.id, a.id)
    assert not same_work(engine, a, b)
    assert [d.kind for d in engine.decisions] == ["split", "merge", "split"]


def test_decision_about_a_record_not_yet_harvested_applies_when_it_arrives() -> None:
    a, b = rec("圆的面积"), rec("圆的面积", "hzedu")
    engine = DedupEngine()
    engine.add(a)
    engine.split(a.id, b.id)
    engine.add(b)
    assert not same_work(engine, a, b)


def test_canonical_prefers_source_level_then_completeness_then_recency() -> None:
    engine = DedupEngine()
    district = rec("圆的面积", "xhedu", created="2024-01-01")
    city_old = rec("圆的面积", "hzedu", sid="old", created="2022-01-01")
    city_new = rec("圆的面积", "hzedu", sid="new", created="2023-06-01")
    city_sparse = rec("圆的面积", "hzedu", sid="sparse", desc=None, created="2024-06-01")
    engine.add_many([district, city_old, city_new, city_sparse])
    work = engine.work_id(district.id)
    assert engine.canonical(work) == city_new.id  # municipal > district; complete; then newest
    national = rec("圆的面积", created="2020-01-01", desc=None)
    engine.add(national)
    assert engine.canonical(work) == national.id  # level beats completeness and recency
    engine.pin(district.id, curator="李老师")
    assert engine.canonical(work) == district.id  # a curator's pin beats everything


def test_merged_view_records_which_member_supplied_each_field() -> None:
    engine = DedupEngine()
    national = rec("圆的面积", desc=DESC[:20] + "...", grade=None)
    national.identifiers = [Identifier("smartedu", "n-1")]
    city = rec("【市级优课】圆的面积", "hzedu")
    engine.add_many([national, city])
    view = engine.merged(engine.work_id(national.id))
    assert view.canonical == national.id
    assert view.record.title == "圆的面积" and view.provenance["title"] == national.id
    assert view.record.description == DESC and view.provenance["description"] == city.id  # untruncated
    assert view.record.curriculum.grade == 6 and view.provenance["curriculum.grade"] == city.id
    assert (
        view.record.curriculum.subject.code == "math" and view.provenance["curriculum.subject"] == national.id
    )
    assert view.record.honours == ["市优"] and view.provenance["honours"] == [city.id]
    assert view.record.identifiers == [Identifier("smartedu", "n-1")]
    assert "【市级优课】圆的面积" in view.record.alt_titles
    assert view.members == sorted([national.id, city.id])


def test_explain_names_signals_and_scores() -> None:
    engine = DedupEngine()
    national = rec("圆的面积")
    copy = rec("【市级优课】圆的面积", "hzedu", desc=DESC[:30] + "…")
    mirror = rec("完全改了名字", "zjer", desc=None)
    mirror.is_based_on = [national.url or ""]
    engine.add_many([national, copy, mirror])
    explanation = engine.explain(engine.work_id(national.id))
    by_record = {m.record: m for m in explanation.members}
    assert by_record[national.id].joined_via is None
    assert by_record[copy.id].joined_via.signals["title_key"] == 1.0
    assert by_record[copy.id].joined_via.signals["description"] == 1.0
    assert 0 < by_record[copy.id].joined_via.score <= 1
    assert by_record[mirror.id].joined_via.signals["is_based_on"] == 1.0
    text = render(explanation)
    assert "is_based_on=1" in text and "title_key=1" in text and "canonical" in text


def test_explain_reports_why_a_look_alike_stayed_apart() -> None:
    engine = DedupEngine()
    one, two = rec("圆的面积 第1课时"), rec("圆的面积 第2课时")
    engine.add_many([one, two])
    pair = explain_pair(engine, one.id, two.id)
    assert not pair.same_work and not pair.verified
    assert pair.veto == "class_hour: 1 ≠ 2" and pair.signals["title"] == 1.0


def test_unknown_work_and_bad_decisions_are_refused() -> None:
    engine = DedupEngine()
    engine.add(rec("圆的面积"))
    with pytest.raises(KeyError):
        engine.members("wdoesnotexist")
    with pytest.raises(ValueError):
        engine.merge("r1", "r1")


def test_a_copy_without_description_does_not_bridge_two_teachers_lessons() -> None:
    """Same title and fields, two teachers' own descriptions: a bare copy matches both on fields
    alone, and must not make their two lessons one work (whichever order they arrive in)."""
    wang = rec("圆的面积", "hzedu", sid="wang", desc=DESC)
    li_desc = "李老师用剪拼的方法让学生动手操作，在小组合作中发现圆面积与半径的关系，课后布置分层作业。"
    li = rec("圆的面积", "xhedu", sid="li", desc=li_desc)
    bare = rec("圆的面积", "xjxx", sid="bare", desc=None)
    for order in ([wang, li, bare], [bare, wang, li], [wang, bare, li]):
        incremental = DedupEngine()
        incremental.add_many(order)
        rebuilt = DedupEngine.rebuild(order)
        for engine in (incremental, rebuilt):
            assert not same_work(engine, wang, li)
            assert engine.members(engine.work_id(bare.id)) == [bare.id]


def test_a_copy_without_description_still_joins_the_one_lesson_it_matches() -> None:
    wang = rec("圆的面积", "hzedu", sid="wang", desc=DESC)
    wang_again = rec("圆的面积", "xhedu", sid="wang2", desc=DESC[:40])
    bare = rec("圆的面积", "xjxx", sid="bare", desc=None)
    engine = DedupEngine.rebuild([wang, wang_again, bare])
    assert same_work(engine, wang, wang_again, bare)


def taught(record: Record, name: str) -> Record:
    return msgspec.structs.replace(record, agents=[Agent(name=name, role="teacher"), Agent(
        name="平台", role="provider", kind="organization")])


def test_two_teachers_with_templated_descriptions_stay_two_works() -> None:
    """Platforms word descriptions from the same phrases: the teacher tells the lessons apart, while a
    republished copy naming the same teacher (in Traditional characters, with 老师) still joins."""
    phrases = (
        "以真实任务驱动引导学生在解决问题中掌握圆的面积注重知识之间的前后联系"
        "资源可直接用于课堂教学也可供教师研修参考"
    )
    xie = taught(rec("圆的面积", "hzedu", sid="xie", desc="人大附中谢晓东老师执教" + phrases), "谢晓东")
    he = taught(rec("圆的面积", "xhedu", sid="he", desc="成都七中何涛老师录制" + phrases), "何涛")
    copy_desc = "人大附中谢晓东老师执教" + phrases[:30]
    xie_copy = taught(rec("圆的面积", "zjer", sid="xie-copy", desc=copy_desc), "謝曉東老師")
    for engine in (DedupEngine.rebuild([xie, he, xie_copy]), DedupEngine()):
        if not len(engine):
            engine.add_many([he, xie_copy, xie])
        assert same_work(engine, xie, xie_copy)
        assert not same_work(engine, xie, he)
