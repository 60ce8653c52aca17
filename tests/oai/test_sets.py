"""Set membership of a work, escaping, and Chinese names (pure)."""

from __future__ import annotations

from repository.oai.args import SPEC_PATTERN
from repository.oai.sets import escape, set_info, set_specs, unescape
from tests.oai.conftest import lesson


def test_a_work_is_in_its_curriculum_sets_and_every_members_source() -> None:
    record = lesson(1)  # 八年级 物理 人教版 课件
    specs = set_specs(record, [("national", "national"), ("city", "municipal"), ("北京四中", None)])
    assert {"stage:junior", "grade:8", "subject:physics", "edition:pep", "type:courseware", "level:national",
            "level:municipal", "source:national", "source:city"} <= set(specs)
    assert {"stage", "grade", "subject", "edition", "type", "level", "source"} <= set(specs)  # parents
    assert all(SPEC_PATTERN.fullmatch(spec) for spec in specs)
    [odd] = [s for s in specs if s.startswith("source:~")]
    assert unescape(odd.split(":", 1)[1]) == "北京四中"


def test_stage_comes_from_the_grade_when_missing() -> None:
    record = lesson(2)
    record.curriculum.stage = None
    assert "stage:junior" in set_specs(record, [])


def test_escaping_round_trips() -> None:
    for text in ("city", "区县~平台 2", "a:b", "(x)"):
        assert SPEC_PATTERN.fullmatch(escape(text)) and unescape(escape(text)) == text
    assert ":" not in escape("a:b")


def test_names_are_chinese() -> None:
    assert set_info("grade:8").name == "年级：八年级"
    assert set_info("level:national").name == "来源层级：国家级"
    assert set_info("type:micro-lecture").name == "资源类型：微课视频"
    assert set_info("edition:pep-a", {"edition:pep-a": "人教A版"}).name == "教材版本：人教A版"
    assert set_info("subject").name == "学科"
    assert "数学" in set_info("subject:math").description
