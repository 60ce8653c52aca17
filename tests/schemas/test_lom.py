"""IEEE LOM crosswalk: LOM / IMS MD / SCORM manifests in, lomLoose-valid
LOM out, and round trips that keep every field LOM can carry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from schemas.crosswalks import Rejected, lom, oai_dc, reader, writer
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Agent, Identifier, Record
from schemas.text import clean
from tests.schemas.test_oai_dc import CURRICULA, corpus_files
from tests.support.xsd import validation_errors

LOM_FILES = corpus_files("lom")
OAI_FILES = corpus_files("oai-pmh")
UTC = UTC
L = "{http://ltsc.ieee.org/xsd/LOM}"


def read_file(corpus: Path, name: str) -> list[Record | Rejected]:
    return list(lom.read((corpus / name).read_bytes(), source="test"))


def check_results(results: list) -> None:
    assert results, "a payload must produce records or rejections, never nothing"
    for result in results:
        assert isinstance(result, (Record, Rejected))
        if isinstance(result, Rejected):
            assert result.reason.strip() and "\n" not in result.reason
        elif not result.deleted:
            assert result.title and result.source_record_id and result.harvested is None


# ---------------------------------------------------------------- every corpus file


@pytest.mark.parametrize("name", LOM_FILES)
def test_every_lom_file_maps_or_rejects_with_a_reason(corpus: Path, name: str) -> None:
    check_results(read_file(corpus, name))


@pytest.mark.parametrize("name", OAI_FILES)
def test_oai_files_never_raise_in_the_lom_reader(corpus: Path, name: str) -> None:
    results = read_file(corpus, name)
    check_results(results)
    for result in results:
        if isinstance(result, Record):
            assert result.deleted  # the OAI corpus holds no LOM payloads, only deletions map
        elif "oai_dc" in name and result.stage == "map" and "no LOM record" in result.reason:
            assert "namespace http://www.openarchives.org/OAI/2.0/oai_dc/" in result.reason


def test_corpus_outcome(corpus: Path) -> None:
    outcome = {name.removeprefix("lom/"): (
        sum(isinstance(r, Record) for r in results),
        sorted({r.reason.split(" (")[0] for r in results if isinstance(r, Rejected)}),
    ) for name, results in ((n, read_file(corpus, n)) for n in LOM_FILES)}
    assert outcome == {
        "hs-oer-lom-profil/classification-example.xml": (0, ["no identifier"]),
        "hs-oer-lom-profil/full-example-a.xml": (1, []),
        "hs-oer-lom-profil/full-example-b.xml": (1, []),
        "hs-oer-lom-profil/lifecycle-example.xml": (0, ["no identifier"]),
        "hs-oer-lom-profil/metametadata-example.xml": (0, ["no identifier"]),
        "inroa/lom1.xml": (1, []),
        "inroa/obaa1.xml": (1, []),
        "pyslet/imscc-v1p0-imsmanifest.xml": (
            0, ["no LOM record in payload <manifest> in namespace http://www.imsglobal.org/xsd/imscp_v1p1"]),
        "pyslet/imscc-v1p1-imsmanifest.xml": (0, ["no identifier"]),
        "pyslet/imsmanifest-qti-imsmd_v1p2.xml": (18, ["record has no title"]),
        "rustici-golf/imsmanifest-scorm12.xml": (
            0, ["no LOM record in payload <manifest> in namespace http://www.imsproject.org/xsd/imscp_rootv1p1p2"]),
        "rustici-golf/imsmanifest-scorm2004-metadata.xml": (0, ["no identifier", "record has no title"]),
        "rustici-golf/metadata-scorm12-imsmd.xml": (0, ["record has no title"]),
        "rustici-golf/metadata_course.xml": (1, []),
        "rustici-golf/metadata_organization.xml": (0, ["no identifier"]),
    }


# ---------------------------------------------------------------- specific real files


def test_golf_course_every_element(corpus: Path) -> None:
    [record] = read_file(corpus, "lom/rustici-golf/metadata_course.xml")
    assert record.source_record_id == "com.scorm.golfsamples.contentpackaging.metadata.20043rd"
    assert record.title == "Golf Explained" and record.alt_titles == ["Explicó Golf"]
    assert record.description.startswith("A high level overview of the sport of golf.")
    assert record.keywords[:3] == ["golf", "golf etiquette", "golf handicap"]
    assert "SCORM 2004" in record.keywords  # classification keywords
    assert record.language == "en"
    assert (record.url, record.format, record.size, record.duration) == (
        "http://www.scorm.com", "text/html", 516096, "PT10M")
    assert record.agents == [
        Agent("Mike Rustici", role="publisher", school="Rustici Software"),  # vCard FN + ORG
        Agent("Wikipedia", role="provider", kind="organization"),  # vCard with ORG only
    ]
    assert record.created == datetime(2009, 1, 23, tzinfo=UTC)
    assert record.resource_type.code == "document"  # LOM "narrative text"
    assert record.is_based_on == ["com.scorm.golfsamples.contentpackaging.singlesco.20043rd"]
    assert record.rights.startswith("This content may be freely distributed") and record.licence is None


def test_hs_oer_profile_ims_binding(corpus: Path) -> None:
    [record] = read_file(corpus, "lom/hs-oer-lom-profil/full-example-a.xml")
    assert record.source_record_id == "c0a478bd-b5f0-4d67-89c5-4a49dfefddcf"
    assert record.identifiers == [Identifier("doi", "10.1137/S0036144500378302"),
                                  Identifier("other", "10900.3/OER_ZZxWvFJV")]
    assert record.title == "Introduction to Difference Equations" and record.language == "de"
    assert record.licence == "CC0-1.0"
    assert record.duration == "PT31M33S" and record.size == 45061194 and record.format == "video/mp4"
    assert record.resource_type.code == "video"  # HCRT entry "Video"
    assert record.agents == [Agent("Thomas Dacher")]  # metaMetadata contributors are not the resource's
    assert "Wirtschaftsmathematik" in record.keywords  # taxon labels outside our vocabularies
    assert record.curriculum.subject is None


def test_inroa_plain_text_lom(corpus: Path) -> None:
    [record] = read_file(corpus, "lom/inroa/lom1.xml")
    assert record.source_record_id == "http://cesta2.cinted.ufrgs.br/xmlui/handle/123456789/57" == record.url
    assert record.title == "Título 1" and record.keywords == ["TCP", "segurança", "ataque Mitnick"]
    assert record.agents == [Agent("Tarouco, Liane"), Agent("CINTED/UFRGS", role="contributor")]
    assert record.licence == "CC-BY-SA-3.0"  # from the garbled "ihttp://creativecommons.org/..."
    assert record.size is None  # "18Kbytes" is not a byte count


def test_obaa_extension(corpus: Path) -> None:
    [record] = read_file(corpus, "lom/inroa/obaa1.xml")
    assert record.source_record_id == "123"
    assert record.is_based_on == ["xx2"]  # isVersionOf; isPartOf / isReplacedBy are not derivations
    assert record.created == datetime(2011, 9, 9, 21, 8, 38, tzinfo=UTC)
    assert record.description.startswith("Animação ilustrando")


def test_ims_manifest_with_imsmd_per_resource(corpus: Path) -> None:
    results = read_file(corpus, "lom/pyslet/imsmanifest-qti-imsmd_v1p2.xml")
    assert len(results) == 20
    first_rejected, first_record = results[0], results[1]
    assert isinstance(first_rejected, Rejected) and first_rejected.locator == "document, lom 1"
    assert (first_record.source_record_id, first_record.title, first_record.description) == (
        "PYSLET_FIBI_IR_01", "Numeric slider", "Numeric slider question")


def test_scorm12_imsmd_with_empty_title_is_rejected(corpus: Path) -> None:
    [result] = read_file(corpus, "lom/rustici-golf/metadata-scorm12-imsmd.xml")
    assert isinstance(result, Rejected) and result.reason == "record has no title"
    assert result.locator == "document" and b"imsmd_rootv1p2p1" in result.raw


def test_lom_inside_oai_pmh(xsd_dir: Path) -> None:
    ns = "http://www.openarchives.org/OAI/2.0/"
    envelope = etree.fromstring(
        f'<OAI-PMH xmlns="{ns}"><responseDate>2024-01-01T00:00:00Z</responseDate>'
        f'<request verb="ListRecords">https://huiju.example.cn/oai</request><ListRecords>'
        f"<record><header><identifier>oai:huiju:1</identifier><datestamp>2024-02-03</datestamp></header>"
        f"<metadata/></record>"
        f'<record><header status="deleted"><identifier>oai:huiju:2</identifier>'
        f"<datestamp>2024-02-04</datestamp></header></record></ListRecords></OAI-PMH>".encode()
    )
    envelope.find(f".//{{{ns}}}metadata").append(lom.write(chinese_record()))
    assert validation_errors(envelope, xsd_dir) == []
    record, deleted = list(lom.read(etree.tostring(envelope), source="huiju"))
    assert record.source_record_id == "oai:huiju:1" and record.modified == datetime(2024, 2, 3, tzinfo=UTC)
    assert record.title == "勾股定理 第一课时" and record.curriculum.grade == 8
    assert deleted.deleted and deleted.source_record_id == "oai:huiju:2"


def test_dc_payload_is_rejected_naming_its_namespace(corpus: Path) -> None:
    [result] = read_file(corpus, "oai-pmh/sickle/GetRecord.xml")
    assert result.reason == "no LOM record in payload <dc> in namespace http://www.openarchives.org/OAI/2.0/oai_dc/"


def test_entity_attack_is_rejected() -> None:
    payload = (b'<!DOCTYPE lom [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b'<lom xmlns="http://ltsc.ieee.org/xsd/LOM"><general><title><string>&x;</string></title>'
               b"<identifier><catalog>c</catalog><entry>1</entry></identifier></general></lom>")
    [result] = list(lom.read(payload, source="test"))
    assert isinstance(result, Rejected) and result.stage == "parse" and "entit" in result.reason


def test_vcard_and_plain_entities() -> None:
    payload = """<lom xmlns="http://ltsc.ieee.org/xsd/LOM"><general>
      <identifier><catalog>x</catalog><entry>1</entry></identifier>
      <title><string language="en">English</string><string language="zh-CN">中文标题</string></title>
      </general>
      <lifeCycle>
        <contribute><role><source>LOMv1.0</source><value>author</value></role>
          <entity>BEGIN:VCARD
VERSION:3.0
N:张;三;;;
TITLE:高级教师
ORG:北京市第一中学\\, 初中部
END:VCARD</entity><date><dateTime>2020-05-06T07:08:09.0Z</dateTime></date></contribute>
        <contribute><role><source>LOMv1.0</source><value>publisher</value></role>
          <entity>人民教育出版社</entity></contribute>
        <contribute><role><source>LOMv1.0</source><value>editor</value></role>
          <entity>BEGIN:VCARD
VERSION:4.0
KIND:org
FN:某研究院
END:VCARD</entity></contribute>
      </lifeCycle></lom>""".encode()
    [record] = list(lom.read(payload, source="test"))
    assert record.title == "中文标题" and record.alt_titles == ["English"]  # zh preferred
    assert record.agents == [
        Agent("张三", school="北京市第一中学, 初中部", title="高级教师"),
        Agent("人民教育出版社", role="publisher", kind="organization"),
        Agent("某研究院", role="contributor", kind="organization"),
    ]
    assert record.created == datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_foreign_classification_feeds_the_curriculum() -> None:
    payload = """<lom xmlns="http://ltsc.ieee.org/xsd/LOM"><general>
      <identifier><catalog>x</catalog><entry>1</entry></identifier><title><string>t</string></title></general>
      <classification><purpose><source>LOMv1.0</source><value>discipline</value></purpose>
        <taxonPath><source><string>某省资源目录</string></source>
          <taxon><id>a</id><entry><string>初中</string></entry></taxon>
          <taxon><id>b</id><entry><string>八年级</string></entry></taxon>
          <taxon><id>c</id><entry><string>物理</string></entry></taxon>
          <taxon><id>d</id><entry><string>光现象</string></entry></taxon></taxonPath>
        <taxonPath><source><string>教材章节</string></source>
          <taxon><entry><string>第四章 光现象</string></entry></taxon>
          <taxon><entry><string>第1节 光的直线传播</string></entry></taxon></taxonPath>
      </classification></lom>""".encode()
    [record] = list(lom.read(payload, source="test"))
    c = record.curriculum
    assert (c.stage.code, c.grade, c.subject.code) == ("junior", 8, "physics")
    assert c.chapter_path == ["第四章 光现象", "第1节 光的直线传播"]
    assert record.keywords == ["光现象"]


def test_registry_resolves_this_module() -> None:
    assert reader("lom") is lom.read and writer("lom") is lom.write


# ---------------------------------------------------------------- write + round trip


def chinese_record(**changes: object) -> Record:
    curriculum, unmapped = build_curriculum({
        "stage": "初中", "grade": "八年级", "subject": "数学", "edition": "人教版", "volume": "上册",
        "chapter": ["第十七章 勾股定理", "17.1 勾股定理"], "class_hour": "第一课时",
    })
    assert not unmapped
    fields: dict = dict(
        source="test", source_record_id="res-0001", url="https://res.example.cn/r/0001",
        identifiers=[Identifier("isbn", "9787107315473"), Identifier("doi", "10.1234/huiju.1"),
                     Identifier("smartedu", "6b4c-11ee"), Identifier("url", "https://mirror.example.cn/0001")],
        is_based_on=["https://res.example.cn/r/0000"],
        title="勾股定理 第一课时", alt_titles=["勾股定理（微课）", "Pythagorean theorem"],
        description="通过拼图活动探索并证明勾股定理。", keywords=["勾股定理", "直角三角形", "拼图证明"],
        language="zh", curriculum=curriculum, resource_type=normalise_resource_type("微课视频"),
        format="video/mp4", size=52428800, duration="PT10M23S",
        agents=[Agent("王芳", role="teacher", school="北京市第一中学", title="高级教师"), Agent("李明"),
                Agent("人民教育出版社", role="publisher", kind="organization"),
                Agent("某某传媒", role="producer", kind="organization"), Agent("赵六", role="contributor"),
                Agent("国家中小学智慧教育平台", role="provider", kind="organization")],
        licence="CC-BY-NC-SA-4.0", rights="转载请注明出处", created=datetime(2023, 9, 1, tzinfo=UTC),
    )
    fields.update(changes)
    return Record(**fields)




def test_write_is_valid_lom(xsd_dir: Path) -> None:
    element = lom.write(chinese_record())
    assert validation_errors(element, xsd_dir) == []
    assert element.tag == f"{L}lom"
    types = [(t.findtext(f"{L}source"), t.findtext(f"{L}value"))
             for t in element.iter(f"{L}learningResourceType")]
    assert types == [("Huiju", "微课视频"), ("LOMv1.0", "lecture")]
    paths = element.iterfind(f"{L}classification/{L}taxonPath/{L}source")
    sources = [s.findtext(f"{L}string") for s in paths]
    assert sources == ["Huiju curriculum", "Huiju curriculum", "Huiju chapter"]
    ids = [t.text for t in element.iter(f"{L}id")]
    assert ids == ["stage:junior", "grade:8", "subject:math", "edition:pep", "volume:vol1",
                   "chapter:1", "chapter:2", "class_hour:1"]
    title = element.find(f"{L}general/{L}title/{L}string")
    assert (title.text, title.get("language")) == ("勾股定理 第一课时", "zh")


@pytest.mark.parametrize("raw", CURRICULA, ids=lambda raw: raw.get("subject"))
def test_curricula_validate_and_round_trip(raw: dict, xsd_dir: Path) -> None:
    curriculum, unmapped = build_curriculum(raw)
    assert not unmapped
    record = chinese_record(curriculum=curriculum)
    element = lom.write(record)
    assert validation_errors(element, xsd_dir) == []
    [back] = list(lom.read(etree.tostring(element), source="test"))
    assert back.curriculum == curriculum and back.unmapped == []


ROUND_TRIP_FIELDS = ("source_record_id", "title", "alt_titles", "description", "keywords", "curriculum",
                     "resource_type", "agents", "url", "identifiers", "is_based_on", "language", "licence",
                     "rights", "created", "format", "size", "duration")


def test_round_trip_keeps_every_field_lom_carries() -> None:
    record = chinese_record()
    [back] = list(lom.read(etree.tostring(lom.write(record)), source="test"))
    for field in ROUND_TRIP_FIELDS:
        assert getattr(back, field) == getattr(record, field), field
    assert back.id == record.id


def test_round_trip_with_a_time_of_day_and_no_agents(xsd_dir: Path) -> None:
    record = chinese_record(agents=[], created=datetime(2023, 9, 1, 8, 30, 5, tzinfo=UTC), licence="CC0-1.0",
                            rights=None)
    element = lom.write(record)
    assert validation_errors(element, xsd_dir) == []
    [back] = list(lom.read(etree.tostring(element), source="test"))
    assert back.created == record.created and back.licence == "CC0-1.0" and back.agents == []


def test_lom_and_dc_agree() -> None:
    """The same record through both crosswalks lands on the same curriculum and type."""
    record = chinese_record()
    [via_lom] = list(lom.read(etree.tostring(lom.write(record)), source="test"))
    [via_dc] = list(oai_dc.read(etree.tostring(oai_dc.write(record)), source="test"))
    assert via_lom.curriculum == via_dc.curriculum == record.curriculum
    assert via_lom.resource_type == via_dc.resource_type == record.resource_type


@pytest.mark.parametrize(("text", "iso"), [("PT10M", "PT10M"), ("00:31:33", "PT31M33S"),
                                           ("1:02:03", "PT1H2M3S"), ("pt1h", "PT1H"), ("15 min", None),
                                           ("P", None)])
def test_durations(text: str, iso: str | None) -> None:
    payload = (f'<lom xmlns="{L[1:-1]}"><general>'
               "<identifier><catalog>c</catalog><entry>1</entry></identifier>"
               f"<title><string>t</string></title></general><technical><duration><duration>{text}</duration>"
               f"</duration></technical></lom>").encode()
    [record] = list(lom.read(payload, source="test"))
    assert record.duration == iso


# ---------------------------------------------------------------- properties

XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(), description=st.text(), keyword=st.text(), name=st.text())
def test_write_never_crashes_on_any_unicode(title: str, description: str, keyword: str, name: str) -> None:
    record = chinese_record(title=title, description=description, keywords=[keyword], alt_titles=[name],
                            agents=[Agent(name, school=keyword)], rights=description, language=name or None)
    element = lom.write(record)
    etree.fromstring(etree.tostring(element))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=XML_TEXT, description=XML_TEXT)
def test_title_and_description_survive_a_round_trip(title: str, description: str) -> None:
    assume(clean(title))
    record = chinese_record(title=title, description=description, alt_titles=[])
    [back] = list(lom.read(etree.tostring(lom.write(record)), source="test"))
    assert back.title == clean(title)
    assert back.description == (clean(description) or None)
