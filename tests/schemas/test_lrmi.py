"""schema.org / LRMI crosswalk: real JSON-LD, microdata, RDFa and LRMI-XML files, and our JSON-LD output."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from schemas.crosswalks import Rejected, lrmi
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Agent, Identifier, Record, Unmapped
from schemas.text import clean
from tests.conftest import CORPUS

UTC = UTC


def _files(folder: str) -> list:
    root = CORPUS / folder
    if not root.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="shared corpus absent"))]
    return [pytest.param(p, id=str(p.relative_to(CORPUS))) for p in sorted(root.rglob("*")) if p.is_file()]


@pytest.fixture
def recording_server():
    """A local HTTP server that records every request (there must be none)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            body = json.dumps({"@context": {"name": "http://example.org/evil"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def _read(data: bytes) -> list[Record | Rejected]:
    return list(lrmi.read(data, source="test"))


def _one(path: Path) -> Record:
    (result,) = _read(path.read_bytes())
    assert isinstance(result, Record), result
    return result


# ---------------------------------------------------------------- every corpus file


@pytest.mark.parametrize("path", _files("lrmi") + _files("zh"))
def test_every_file_maps_or_rejects_without_raising(corpus: Path, path: Path) -> None:
    results = _read(path.read_bytes())
    assert results
    for r in results:
        assert isinstance(r, (Record, Rejected))
        if isinstance(r, Record):
            assert r.title.strip() and r.source_record_id.strip()
        else:
            assert r.reason and "\n" not in r.reason and r.stage in ("parse", "map")


@pytest.mark.parametrize("path", _files("lrmi/amb/valid"))
def test_amb_valid_examples_map_with_titles(corpus: Path, path: Path) -> None:
    record = _one(path)
    expected = json.loads(path.read_text("utf-8"))
    assert record.title == expected["name"]
    assert record.source_record_id == expected["id"]


@pytest.mark.parametrize("path", _files("lrmi/amb/schemas"))
def test_json_schemas_are_not_descriptions(corpus: Path, path: Path) -> None:
    (result,) = _read(path.read_bytes())
    assert isinstance(result, Rejected) and result.stage == "map"
    assert result.reason.startswith("no schema.org learning resource descriptions")


def test_amb_tutory_example_fields(corpus: Path) -> None:
    r = _one(corpus / "lrmi/amb/valid/tutoryExample.json")
    assert r.url == "https://www.tutory.de/w/fbbadf1a"
    assert r.resource_type.code == "task-sheet"  # https://w3id.org/kim/hcrt/worksheet
    assert r.licence == "CC0-1.0"
    assert r.language == "fr" and r.keywords == ["Französisch", "Niveau A2"]
    assert r.created == datetime(2019, 7, 2, tzinfo=UTC)
    assert [(a.name, a.role, a.kind) for a in r.agents] == [
        ("HerunterS", "author", "person"),
        ("Tutory", "publisher", "organization"),
    ]
    assert r.thumbnails == [
        "https://www.tutory.de/worksheet/fbbadf1a-145a-463d-9a43-1ae9965c86b9.jpg?width=1000"
    ]


def test_amb_video_with_encodings(corpus: Path) -> None:
    r = _one(corpus / "lrmi/amb/valid/videoWithEncodings.json")
    assert (r.resource_type.code, r.duration, r.format, r.size) == (
        "video",
        "PT47M58S",
        "video/mp4",
        568000000,
    )


def test_amb_affiliation_and_contributor(corpus: Path) -> None:
    r = _one(corpus / "lrmi/amb/valid/affiliation.json")
    assert ("Caro C", "contributor", "TH Uni") in [(a.name, a.role, a.school) for a in r.agents]
    assert r.keywords == []  # an about concept with only an IRI is not a keyword


def test_dcmi_example_prefixed_keys_and_alignments(corpus: Path) -> None:
    r = _one(corpus / "lrmi/dcmi-lrmi/LRexample01a.json-ld")  # "schema:" prefixed keys
    assert r.title == "Tiles, Blocks, Sapphires & Gold: Designing a Treasure Map"
    assert (
        r.url == "http://dx.cooperhewitt.org/lessonplan/Tiles-Blocks-Sapphires-Gold-Designing-a-Treasure-Map/"
    )
    assert r.resource_type.code == "lesson-plan" and r.duration == "PT2H"
    assert (r.curriculum.stage.code, r.curriculum.grade) == ("primary", 1)  # US Grade Levels "1"
    assert Unmapped("educationalLevel", "Pre-K") in r.unmapped
    assert Unmapped("datePublished", "October 4, 2006") in r.unmapped
    assert [(a.name, a.role) for a in r.agents] == [("Cooper-Hewitt National Design Museum", "publisher")]


def test_dcmi_example_vocab_context(corpus: Path) -> None:
    r = _one(corpus / "lrmi/dcmi-lrmi/LRexample01.jsonld")  # "@vocab" context, compact keys
    assert r.created == datetime(2006, 10, 4, tzinfo=UTC) and r.licence == "http://www.si.edu/termsofuse/"
    assert "teamwork" in r.keywords


def test_microdata_matches_json_ld(corpus: Path) -> None:
    md = _one(corpus / "lrmi/dcmi-lrmi/LRexample01a_md.html")
    ld = _one(corpus / "lrmi/dcmi-lrmi/LRexample01a.json-ld")
    assert (md.title, md.url, md.resource_type, md.curriculum.grade) == (
        ld.title,
        ld.url,
        ld.resource_type,
        1,
    )


@pytest.mark.parametrize(
    "name", ["alignmentsUK_jsonld.json", "alignmentsUK_md.html", "alignmentsUK_rdfa.html"]
)
def test_three_syntaxes_of_one_lesson_agree(corpus: Path, name: str) -> None:
    r = _one(corpus / "lrmi/dcmi-lrmi" / name)
    assert (r.title, r.url, r.resource_type.code) == (
        "The Declaration of Arbroath",
        "http://example.org/lessonplan",
        "lesson-plan",
    )
    assert Unmapped("educationalLevel", "KS 3") in r.unmapped
    assert Unmapped("timeRequired", "1 hour") in r.unmapped  # not ISO 8601


def test_script_wrapped_json_ld_is_read_as_html(corpus: Path) -> None:
    """These .json files are <script type="application/ld+json"> fragments, i.e. HTML."""
    r = _one(corpus / "lrmi/dcmi-lrmi/alignmentsUK_jsonld.json")
    assert r.is_based_on == ["http://www.bbc.co.uk/education/clips/z3sjtfr"]  # isBasedOnUrl
    r = _one(corpus / "lrmi/dcmi-lrmi/type+audience+level_jsonld.json")
    assert (r.title, r.curriculum.grade) == ("Designing a treasure map", 2)


@pytest.mark.parametrize(
    "name", ["alignmentsUK_jsonld.json", "type+audience+level_jsonld.json", "LRexample01a.json-ld"]
)
def test_invalid_json_is_a_parse_rejection(corpus: Path, name: str) -> None:
    data = (corpus / "lrmi/dcmi-lrmi" / name).read_bytes()
    body = data[data.index(b"{") :]  # strip the <script> wrapper: now bare JSON …
    (result,) = _read(body[: len(body) // 2])  # … and cut it off half way
    assert (
        isinstance(result, Rejected) and result.stage == "parse" and result.reason.startswith("invalid JSON")
    )


@pytest.mark.parametrize("name", ["alignmentsUK.html", "type+audience+level.html"])
def test_plain_html_without_markup_is_rejected(corpus: Path, name: str) -> None:
    (result,) = _read((corpus / "lrmi/dcmi-lrmi" / name).read_bytes())
    assert result.reason == (
        "no schema.org learning resource descriptions in the HTML (json-ld: 0, microdata: 0, rdfa: 0)"
    )


def test_examples_text_file_is_not_a_format(corpus: Path) -> None:
    (result,) = _read((corpus / "lrmi/dcmi-lrmi/sdo-lrmi-examples.txt").read_bytes())
    assert result.stage == "parse" and result.reason.startswith("not JSON, HTML or XML")


def test_lrmi_xml_record(corpus: Path) -> None:
    r = _one(corpus / "lrmi/recordmanager-aoe-lrmi1.xml")
    assert r.source_record_id == "oai:aoe.fi:11"
    assert r.title == "Designing Learning Processes"  # en preferred over fi/sv
    assert r.alt_titles == [
        "Opetuksen ja oppimisen suunnittelu, Learning Design",
        "Planering av undevisning och lärande",
    ]
    assert r.agents == [Agent(name="Koli, Hanne", role="author")]
    assert r.resource_type.code == "video"
    assert r.created == datetime(2019, 12, 17, 8, 51, 19, tzinfo=UTC)
    assert r.modified == datetime(2020, 10, 15, 9, 24, 47, tzinfo=UTC)
    assert r.licence == "CC-BY-4.0" and r.rights is None  # <rights>CCBY4.0</rights>, a textual CC licence
    assert r.keywords[:2] == ["oppiminen", "opetus"] and len(r.keywords) == 8
    assert Unmapped("educationalSubject", "Kasvatustieteet") in r.unmapped


@pytest.mark.parametrize(
    "name, reason",
    [
        ("zh/pyslet-cjk-href/imsmanifest.xml", "XML is not LRMI-XML: <manifest> holds no LRMI title"),
        ("zh/dcmi-dces_zhCN.rdf", "XML declares entities in a DTD (refused: XXE / entity expansion)"),
        (
            "rdf/dcmi/website-sidecar-education-20000430.htm.rdf",
            "XML is not LRMI-XML: RDF/XML (use the rdf reader)",
        ),
        (
            "zh/smartedu/syncClassroom_part_102.json",
            "no schema.org learning resource descriptions in the JSON",
        ),
    ],
)
def test_other_formats_are_rejected(corpus: Path, name: str, reason: str) -> None:
    (result,) = _read((corpus / name).read_bytes())
    assert result.reason == reason


# ---------------------------------------------------------------- writing and round trips


def chinese_record(**changes: object) -> Record:
    curriculum, unmapped = build_curriculum(
        {
            "stage": "初中",
            "grade": "八年级",
            "subject": "数学",
            "edition": "人教版（主编：张三）",
            "volume": "上册",
            "chapter": ["第十七章 勾股定理", "17.1 勾股定理"],
            "class_hour": "第一课时",
        }
    )
    assert not unmapped
    fields: dict = dict(
        source="test",
        source_record_id="gougu-1",
        url="https://example.cn/lessons/gougu-1",
        title="勾股定理 第一课时",
        alt_titles=["勾股定理（第1课时）"],
        description="人教版八年级数学上册 勾股定理 微课视频",
        keywords=["勾股定理", "直角三角形"],
        language="zh-CN",
        curriculum=curriculum,
        resource_type=normalise_resource_type("微课视频"),
        format="video/mp4",
        size=87585313,
        duration="PT10M23S",
        thumbnails=["https://example.cn/lessons/gougu-1.jpg"],
        agents=[
            Agent(name="王老师", role="teacher", school="北京市第一中学", title="高级教师"),
            Agent(name="人民教育出版社", role="publisher", kind="organization"),
        ],
        identifiers=[Identifier("smartedu", "b45c766e"), Identifier("isbn", "9787107000000")],
        is_based_on=["https://example.cn/textbooks/math-8a"],
        licence="CC-BY-NC-SA-4.0",
        rights="版权所有 人民教育出版社",
        created=datetime(2024, 10, 10, 4, 23, 22, 151000, tzinfo=UTC),
        modified=datetime(2025, 1, 1, tzinfo=UTC),
    )
    fields.update(changes)
    return Record(**fields)


NOT_CARRIED = (
    "source_record_id",
    "id",
    "source_level",
    "honours",
    "file_md5",
    "harvested",
    "datestamp",
    "deleted",
    "unmapped",
)


def _carried(record: Record) -> dict:
    data = msgspec.to_builtins(record)
    for key in NOT_CARRIED:
        data.pop(key, None)
    return data


def test_write_shapes_the_json_ld() -> None:
    doc = lrmi.write(chinese_record())
    assert doc["@context"] == "https://schema.org/" and doc["@type"] == ["LearningResource", "VideoObject"]
    assert doc["learningResourceType"] == {
        "@type": "DefinedTerm",
        "name": "微课视频",
        "termCode": "recordedLesson",
        "inDefinedTermSet": "http://purl.org/dcx/lrmi-vocabs/learningResourceType/",
    }
    alignments = {
        (a["alignmentType"], a["educationalFramework"]): a["targetName"] for a in doc["educationalAlignment"]
    }
    assert alignments == {
        ("educationalLevel", "学段"): "初中",
        ("educationalLevel", "年级"): "八年级",
        ("educationalSubject", "学科"): "数学",
        ("textbookEdition", "教材版本"): "人教版（主编：张三）",
        ("textbookVolume", "册次"): "上册",
        ("classHour", "课时"): "第1课时",
    }
    assert doc["educationalLevel"] == ["初中", "八年级"] and doc["teaches"] == [
        "第十七章 勾股定理",
        "17.1 勾股定理",
    ]
    assert doc["license"] == "https://creativecommons.org/licenses/by-nc-sa/4.0/"
    assert doc["identifier"][1] == {"@type": "PropertyValue", "propertyID": "isbn", "value": "9787107000000"}
    assert doc["timeRequired"] == doc["duration"] == "PT10M23S" and doc["contentSize"] == "87585313"
    assert doc["author"][0]["hasOccupation"]["name"] == "教师" and doc["author"][0]["jobTitle"] == "高级教师"
    assert doc["@id"] == f"urn:huiju:{chinese_record().id}"


def test_round_trip_keeps_every_carried_field() -> None:
    original = chinese_record()
    (back,) = _read(json.dumps(lrmi.write(original), ensure_ascii=False).encode())
    assert _carried(back) == _carried(original)
    assert back.curriculum.edition.chief_editor == "张三" and back.curriculum.class_hour == 1
    assert back.resource_type.code == "micro-lecture"  # not 录像课, though both are recordedLesson
    assert back.source_record_id == f"urn:huiju:{original.id}" and back.unmapped == []


def test_round_trip_five_four_system_and_audio() -> None:
    curriculum, _ = build_curriculum({"stage": "初中（五•四学制）", "grade": "六年级", "subject": "语文"})
    original = chinese_record(curriculum=curriculum, resource_type=normalise_resource_type("音频"), agents=[])
    doc = lrmi.write(original)
    assert (
        doc["@type"] == ["LearningResource", "AudioObject"]
        and doc["educationalLevel"][0] == "初中（五•四学制）"
    )
    (back,) = _read(json.dumps(doc).encode())
    assert _carried(back) == _carried(original)
    assert (back.curriculum.school_system, back.curriculum.grade, back.curriculum.stage.code) == (
        "5-4",
        6,
        "junior",
    )


def test_write_xml_wraps_the_json_ld_and_reads_back() -> None:
    record = chinese_record(title="勾股定理\ufffe第一课时")
    element = lrmi.write_xml(record)
    assert element.tag == "{https://huiju.invalid/ns/lrmi-jsonld/1.0}jsonld" and element.prefix == "lrmi"
    xml = etree.tostring(element, encoding="utf-8")
    assert json.loads(etree.fromstring(xml).text) == lrmi.write(record)
    (back,) = _read(xml)
    assert _carried(back) == _carried(record)


def test_oai_pmh_response_with_lrmi_payloads(corpus: Path) -> None:
    aoe = (corpus / "lrmi/recordmanager-aoe-lrmi1.xml").read_bytes().split(b"?>", 1)[1]
    ours = etree.tostring(lrmi.write_xml(chinese_record()))
    response = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        b"<record><header><identifier>oai:aoe.fi:11</identifier></header><metadata>"
        + aoe
        + b"</metadata></record>"
        b"<record><header><identifier>oai:huiju:1</identifier></header><metadata>"
        + ours
        + b"</metadata></record>"
        b'<record><header status="deleted"><identifier>oai:huiju:2</identifier></header></record>'
        b"</ListRecords></OAI-PMH>"
    )
    first, second, third = _read(response)
    assert first.title == "Designing Learning Processes" and second.title == "勾股定理 第一课时"
    assert isinstance(third, Rejected) and (third.locator, third.reason) == (
        "oai:huiju:2",
        "deleted in source, no metadata",
    )


def test_no_identifier_and_no_title_are_rejected() -> None:
    (no_id,) = _read(b'{"@type": "LearningResource", "name": "x"}')
    (no_title,) = _read(b'{"@type": "LearningResource", "@id": "http://x"}')
    assert (no_id.reason, no_title.reason) == ("no identifier", "no name/title")


def test_graph_cycles_and_full_iris_are_handled() -> None:
    doc = {
        "@graph": [
            {
                "@id": "http://a",
                "@type": "http://schema.org/LearningResource",
                "http://schema.org/name": "A",
                "http://schema.org/isBasedOn": {"@id": "http://b"},
            },
            {
                "@id": "http://b",
                "@type": "https://schema.org/CreativeWork",
                "https://schema.org/name": "B",
                "https://schema.org/isBasedOn": {"@id": "http://a"},
            },
        ]
    }
    a, b = _read(json.dumps(doc).encode())
    assert (a.title, a.is_based_on, b.title, b.is_based_on) == ("A", ["http://b"], "B", ["http://a"])


def test_huge_title_and_description_are_capped_with_a_note() -> None:
    doc = {"@type": "LearningResource", "@id": "http://x", "name": "题" * 5000, "description": "述" * 50000}
    (r,) = _read(json.dumps(doc).encode())
    assert len(r.title) == 1000 and r.title.endswith("…") and len(r.description) == 20000
    assert Unmapped("title", "truncated from 5000 to 1000 characters") in r.unmapped


def test_remote_context_is_never_fetched(recording_server: tuple) -> None:
    base, requests = recording_server
    doc = {
        "@context": [f"{base}/context.jsonld", {"@import": f"{base}/import.jsonld"}],
        "@type": "LearningResource",
        "id": "http://example.cn/r/1",
        "name": "勾股定理",
    }
    (r,) = _read(json.dumps(doc).encode())
    page = (
        f'<html><head><script type="application/ld+json">{json.dumps(doc)}</script></head>'
        f'<body vocab="{base}/vocab#" typeof="CreativeWork"><span property="name">x</span></body></html>'
    )
    results = _read(page.encode())
    assert r.title == "勾股定理" and any(isinstance(x, Record) and x.title == "勾股定理" for x in results)
    assert requests == []


def test_html_in_gb18030_with_microdata() -> None:
    page = (
        '<html><head><meta charset="gb18030"></head><body><div itemscope '
        'itemtype="http://schema.org/LearningResource"><span itemprop="name">勾股定理</span>'
        '<link itemprop="url" href="http://example.cn/1"><span itemprop="educationalLevel">八年级</span>'
        "</div></body></html>"
    ).encode("gb18030")
    (r,) = _read(page)
    assert (r.title, r.url, r.curriculum.grade) == ("勾股定理", "http://example.cn/1", 8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(min_size=0, max_size=200), description=st.one_of(st.none(), st.text(max_size=400)))
def test_arbitrary_unicode_never_crashes_and_round_trips_stably(title: str, description: str | None) -> None:
    record = chinese_record(title=title, description=description)
    doc = lrmi.write(record)
    lrmi.write_xml(record)
    results = _read(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    assert len(results) == 1
    if not clean(title):
        assert isinstance(results[0], Rejected) and results[0].reason == "no name/title"
        return
    first = results[0]
    assert isinstance(first, Record) and first.title == clean(title)
    assert first.description == (clean(description) or None if description else None)
    (second,) = _read(etree.tostring(lrmi.write_xml(first)))
    again = lrmi.write(second)
    assert {k: v for k, v in again.items() if k != "@id"} == {
        k: v for k, v in lrmi.write(first).items() if k != "@id"
    }


def test_broken_json_ld_script_does_not_hide_microdata() -> None:
    page = (
        '<html><head><script type="application/ld+json">{"@type": "LearningResource", "name": </script>'
        '</head><body><div itemscope itemtype="https://schema.org/LearningResource">'
        '<span itemprop="name">课</span><a itemprop="url" href="http://x/1">x</a>'
        '<span itemprop="license">本资源仅供教学使用</span></div></body></html>'
    )
    broken, record = _read(page.encode())
    assert broken.stage == "parse" and broken.reason.startswith("unreadable json-ld in HTML: JSONDecodeError")
    assert (record.title, record.licence, record.rights) == ("课", None, "本资源仅供教学使用")


JSON_KEYS = st.sampled_from(
    "@context @id @type @graph @value @language @list id type name description keywords url identifier "
    "learningResourceType educationalAlignment alignmentType targetName educationalFramework "
    "educationalLevel "
    "about author publisher license dateCreated timeRequired contentSize thumbnailUrl isBasedOn teaches "
    "inLanguage schema:name http://schema.org/name propertyID value prefLabel zh hasOccupation".split()
)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "LearningResource",
            "VideoObject",
            "Person",
            "AlignmentObject",
            "http://x/1",
            "_:b0",
            "2024-01-01",
            "PT1H",
            "八年级",
            "数学",
            "人教版",
            "上册",
            "http://127.0.0.1:9/context",
        ]
    ),
)
JSON_DOCS = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(JSON_KEYS, inner, max_size=6)),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=JSON_DOCS)
def test_arbitrary_json_ld_shapes_never_raise(doc: object) -> None:
    results = _read(json.dumps(doc).encode())
    assert results and all(isinstance(r, (Record, Rejected)) for r in results)
