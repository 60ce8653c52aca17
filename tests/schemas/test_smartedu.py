"""smartedu (国家中小学智慧教育平台) chunk files → Record, against the real feed files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.crosswalks import Rejected, smartedu
from schemas.record import Record, Unmapped
from tests.conftest import CORPUS

PART = "zh/smartedu/syncClassroom_part_102.json"
UTC = UTC


def _files(folder: str) -> list:
    root = CORPUS / folder
    if not root.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="shared corpus absent"))]
    return [pytest.param(p, id=str(p.relative_to(CORPUS))) for p in sorted(root.rglob("*")) if p.is_file()]


def _read(data: bytes) -> list[Record | Rejected]:
    return list(smartedu.read(data, source="smartedu"))


@pytest.fixture(scope="module")
def part(corpus: Path) -> list[Record | Rejected]:
    return _read((corpus / PART).read_bytes())


@pytest.fixture(scope="module")
def by_id(part: list) -> dict[str, Record]:
    return {r.source_record_id: r for r in part}


@pytest.mark.parametrize("path", _files("zh"))
def test_every_zh_file_maps_or_rejects_without_raising(corpus: Path, path: Path) -> None:
    results = _read(path.read_bytes())
    assert results
    assert all(isinstance(r, (Record, Rejected)) for r in results)
    for r in results:
        if isinstance(r, Rejected):
            assert r.reason and "\n" not in r.reason


def test_part_file_maps_all_400_records(part: list) -> None:
    assert len(part) == 400
    assert all(isinstance(r, Record) for r in part)
    assert {r.source_level for r in part} == {"national"}
    assert {r.language for r in part} == {"zh-CN"}
    assert {r.resource_type.code for r in part} == {"textbook"}  # resource_type_code teachingmaterials
    assert not any(r.deleted for r in part)  # every record is ONLINE
    assert len({r.id for r in part}) == 400


def test_part_file_curriculum_counts(part: list) -> None:
    stages = {}
    for r in part:
        stages[r.curriculum.stage.code] = stages.get(r.curriculum.stage.code, 0) + 1
    assert stages == {"senior": 204, "primary": 132, "junior": 64}
    assert sum(r.curriculum.school_system == "5-4" for r in part) == 35  # 23 小学 + 12 初中（五•四学制）
    assert all(r.curriculum.subject is not None for r in part)
    assert all(r.curriculum.edition is not None for r in part)
    assert sum(r.curriculum.volume is not None for r in part) == 396
    unmapped = sorted((u.field, u.value) for r in part for u in r.unmapped)
    assert unmapped == [
        ("grade", "学生读本"),
        ("grade", "学生读本"),
        ("volume", "《算法与程序设计》"),
        ("volume", "学生读本（小学低年级）"),
        ("volume", "学生读本（小学高年级）"),
        ("volume", "设计与创作"),
    ]


def test_first_record_fields_and_utc_conversion(by_id: dict) -> None:
    r = by_id["f37c9357-2665-94f1-96d7-ad489cdbc3c2"]
    assert r.title == "高中信息技术华东师大版《算法与程序设计》"
    assert r.description is None
    assert r.curriculum.stage.code == "senior" and r.curriculum.grade is None
    assert r.curriculum.subject.code == "it"  # platform tag 信息技术
    assert r.curriculum.edition.code == "ecnu" and r.curriculum.edition.publisher == "华东师范大学出版社"
    assert r.curriculum.volume is None and r.unmapped == [Unmapped("volume", "《算法与程序设计》")]
    # create_time 2022-10-29T08:57:12.947+0800, update_time 2024-03-15T14:30:20.742+0800
    assert r.created == datetime(2022, 10, 29, 0, 57, 12, 947000, tzinfo=UTC)
    assert r.modified == datetime(2024, 3, 15, 6, 30, 20, 742000, tzinfo=UTC)
    assert r.created.utcoffset().total_seconds() == 0
    assert r.identifiers[0].scheme == "smartedu" and r.identifiers[0].value == r.source_record_id
    assert r.thumbnails == [
        "https://r2-ndr.ykt.cbern.com.cn/edu_product/esp/course/default_thumb/信息技术.png"
    ]
    assert r.size is None  # the feed says size 0: unknown, not empty
    assert r.url is None  # teachingmaterials has no documented landing page


def test_six_three_record(by_id: dict) -> None:
    r = by_id["f4184328-83db-4a43-8dab-bb9df75597a6"]
    assert r.title == "小学数学人教版五年级下册"
    c = r.curriculum
    assert (c.stage.code, c.school_system, c.grade, c.grade_label) == ("primary", None, 5, "五年级")
    assert (c.subject.code, c.edition.code, c.edition.label, c.volume.code) == (
        "math",
        "pep",
        "人教版",
        "vol2",
    )
    assert r.created == datetime(2022, 1, 24, 2, 27, 13, tzinfo=UTC)  # 2022-01-24T10:27:13.000+0800


def test_five_four_record(by_id: dict) -> None:
    r = by_id["f64c654a-a57d-069c-1295-a6334ac5f96a"]
    c = r.curriculum
    assert r.title == "小学（五•四学制）美术沪书画版五年级上册"
    assert (c.stage.code, c.school_system, c.grade) == ("primary", "5-4", 5)
    assert (c.subject.code, c.edition.label, c.volume.zh) == (
        "fine-arts",
        "沪书画版",
        "上册",
    )  # tag 艺术·美术


def test_edition_with_variant_and_chief_editor(by_id: dict) -> None:
    edition = by_id["f76bb763-3652-46b0-8674-0d4e529ecc55"].curriculum.edition
    assert (edition.code, edition.variant, edition.chief_editor) == ("pep-pep", "PEP", "吴欣")


def test_records_do_not_share_mutable_curriculum(corpus: Path) -> None:
    records = _read((corpus / PART).read_bytes())  # fresh: this test mutates them
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        c = r.curriculum
        groups.setdefault((c.stage, c.grade, c.subject, c.edition, c.volume), []).append(r)
    a, b = next(g for g in groups.values() if len(g) >= 2)[:2]
    assert a.curriculum == b.curriculum and a.curriculum is not b.curriculum
    a.curriculum.chapter_path.append("changed")
    assert b.curriculum.chapter_path == []
    assert all(r.curriculum.chapter_path == [] for r in _read((corpus / PART).read_bytes()))


def test_version_files_are_rejected_with_url_count(corpus: Path) -> None:
    (sync,) = _read((corpus / "zh/smartedu/syncClassroom_data_version.json").read_bytes())
    (tch,) = _read((corpus / "zh/smartedu/tchMaterial_data_version.json").read_bytes())
    assert sync.reason.startswith("version file: lists 3 chunk URLs")  # a JSON list of URLs
    assert tch.reason.startswith("version file: lists 4 chunk URLs")  # a comma-separated string


@pytest.mark.parametrize(
    "name", ["syncClassroom_national_lesson_tag.json", "tchMaterial_tch_material_tag.json"]
)
def test_tag_trees_are_rejected(corpus: Path, name: str) -> None:
    (result,) = _read((corpus / "zh/smartedu" / name).read_bytes())
    assert isinstance(result, Rejected) and result.reason == "tag tree, not records"


def _sample(corpus: Path, key_start: str) -> dict:
    path = corpus.parent / "vocab" / "smartedu_sample_records.json"
    if not path.is_file():
        pytest.skip("../shared/vocab is absent")
    samples = json.loads(path.read_text("utf-8"))
    return next(v for k, v in samples.items() if k.startswith(key_start))


def test_national_lesson_detail_object(corpus: Path) -> None:
    (r,) = _read(json.dumps(_sample(corpus, "national_lesson_detail"), ensure_ascii=False).encode())
    assert r.title == "11.拆装玩具"  # only global_title carries it
    assert (
        r.url
        == "https://basic.smartedu.cn/syncClassroom/classActivity?activityId=b45c766e-e428-3d16-c04c-022cf976fc7e"
    )
    assert r.resource_type.code == "recorded-lesson"
    c = r.curriculum
    assert (c.stage.code, c.grade, c.subject.code, c.edition.label, c.volume.code) == (
        "primary",
        1,
        "science",
        "人教鄂教版",
        "vol1",
    )
    assert c.chapter_path == ["c95225c0-3ac6-4dd0-a3e6-8d2a4d757871", "5b1c7673-8e1c-419b-b378-4d4562265edc"]
    assert r.created == datetime(2024, 10, 10, 4, 23, 22, 151000, tzinfo=UTC)
    assert r.modified == datetime(2026, 1, 21, 15, 41, 51, 329000, tzinfo=UTC)


def test_tch_material_record(corpus: Path) -> None:
    (r,) = _read(b"[" + json.dumps(_sample(corpus, "tchMaterial_list_record")).encode() + b"]")
    assert r.url == (
        "https://basic.smartedu.cn/tchMaterial/detail?contentType=assets_document"
        "&contentId=c41ac312-285b-02cc-cd41-226aa35ca04c"
    )
    assert (r.resource_type.code, r.format, r.size) == ("document", "application/pdf", 7241812)
    assert r.description is None  # "" in the feed


def test_status_other_than_online_marks_deleted_and_date_crosses_midnight(corpus: Path) -> None:
    items = json.loads((corpus / PART).read_bytes())[:2]
    items[0]["status"] = "OFFLINE"
    items[1]["create_time"] = "2024-01-01T03:00:00.000+0800"
    first, second = _read(json.dumps(items).encode())
    assert first.deleted and not second.deleted
    assert second.created == datetime(2023, 12, 31, 19, 0, tzinfo=UTC)


def test_one_bad_record_does_not_sink_the_chunk(corpus: Path) -> None:
    items = json.loads((corpus / PART).read_bytes())[:3]
    items[1]["tag_list"] = "not a list"
    items[2]["create_time"] = "yesterday"
    results = _read(json.dumps(items).encode())
    assert [type(r).__name__ for r in results] == ["Record", "Rejected", "Record"]
    assert results[1].locator == "record 2" and results[1].stage == "parse" and results[1].raw
    assert Unmapped("create_time", "yesterday") in results[2].unmapped and results[2].created is None


@pytest.mark.parametrize(
    "data, reason",
    [
        (b'[{"id": "a", "title": ', "invalid JSON"),
        (b"<html></html>", "not JSON"),
        (b'{"foo": 1}', "JSON object is neither"),
        (b'[{"title": "no id"}]', "record has no id"),
        (b'[{"id": "x", "title": "  "}]', "record has no title"),
    ],
)
def test_bad_payloads_are_rejected(data: bytes, reason: str) -> None:
    (result,) = _read(data)
    assert isinstance(result, Rejected) and result.reason.startswith(reason)


def test_records_survive_json_round_trip(part: list) -> None:
    from schemas.record import from_json, to_json

    assert from_json(to_json(part[0])) == part[0]
    assert msgspec.json.decode(to_json(part[0]))["created"] == "2022-10-29T00:57:12.947000Z"


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: ("[" + t).encode()))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert all(isinstance(r, (Record, Rejected)) for r in _read(data))


def test_deeply_nested_json_is_rejected_not_raised() -> None:
    (result,) = _read(b"[" * 100_000 + b"]" * 100_000)
    assert (result.reason, result.stage) == ("JSON nested too deeply", "parse")
