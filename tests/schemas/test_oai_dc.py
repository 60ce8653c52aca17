"""Dublin Core crosswalk: real OAI-PMH captures in, XSD-valid oai_dc out,
and round trips that keep every field simple DC can carry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from schemas.crosswalks import Rejected, oai_dc, reader, writer
from schemas.normalise import build_curriculum, normalise_resource_type
from schemas.record import Agent, Identifier, Record
from schemas.text import clean
from tests.conftest import CORPUS
from tests.support.xsd import validation_errors


def corpus_files(folder: str) -> list[str]:
    """Every file under corpus/<folder>, as ids; [] (tests skip) without the corpus."""
    if not CORPUS.is_dir():
        return []
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob(f"{folder}/**/*") if p.is_file())


OAI_FILES = corpus_files("oai-pmh")
NOT_XML = {  # deliberately malformed (SOURCES.md) or not XML at all
    "oai-pmh/pyoai/fake3/00001.xml", "oai-pmh/pyoai/fake4/00001.xml", "oai-pmh/sickle/ListRecordsBroken.xml",
    "oai-pmh/oaipmh-scythe-cassettes/httpbun_Identify_http200.html",
    *(f"oai-pmh/pyoai/fake{n}/mapping.txt" for n in range(1, 6)),
}
UTC = UTC


def read_file(corpus: Path, name: str) -> list[Record | Rejected]:
    return list(oai_dc.read((corpus / name).read_bytes(), source="test"))


def records(results: list) -> list[Record]:
    return [r for r in results if isinstance(r, Record)]


def rejected(results: list) -> list[Rejected]:
    return [r for r in results if isinstance(r, Rejected)]


# ---------------------------------------------------------------- every corpus file


@pytest.mark.parametrize("name", OAI_FILES)
def test_every_oai_file_maps_or_rejects_with_a_reason(corpus: Path, name: str) -> None:
    results = read_file(corpus, name)
    assert results, "a payload must produce records or rejections, never nothing"
    for result in results:
        assert isinstance(result, (Record, Rejected))
        if isinstance(result, Rejected):
            assert result.reason.strip() and "\n" not in result.reason
            assert result.stage in ("parse", "map")
        elif not result.deleted:
            assert result.title and result.title == clean(result.title)
            assert result.source_record_id and result.source == "test"
            assert result.harvested is None
    if name in NOT_XML:
        assert [(r.stage, r.locator) for r in results] == [("parse", "document")]
        assert results[0].raw == (corpus / name).read_bytes()


def test_corpus_totals(corpus: Path) -> None:
    mapped = deleted = 0
    reasons: dict[str, int] = {}
    for name in OAI_FILES:
        for result in read_file(corpus, name):
            if isinstance(result, Record):
                mapped += 1
                deleted += result.deleted
            else:
                key = result.reason.split(":")[0].split(" (")[0]
                reasons[key] = reasons.get(key, 0) + 1
    assert (mapped, deleted) == (329, 8)
    assert reasons["metadata format is not Dublin Core"] == 455
    assert reasons["malformed XML"] == 9
    assert reasons["deleted record has no identifier"] == 1


# ---------------------------------------------------------------- specific real files


def test_pyoai_listrecords_81_records_two_deleted(corpus: Path) -> None:
    results = read_file(corpus, "oai-pmh/pyoai/fake2/00002.xml")
    assert len(results) == 81 and not rejected(results)
    gone = [r for r in results if r.deleted]
    assert [r.source_record_id for r in gone] == ["hdl:1765/1160", "hdl:1765/1161"]
    assert all(r.title == "" and r.modified == datetime(2004, 2, 16, 13, 29, 54, tzinfo=UTC) for r in gone)
    first = results[0]
    assert first.source_record_id == "hdl:1765/9"
    assert first.title == "The Causality of Supply Relationships"
    assert first.url == "http://hdl.handle.net/1765/9"
    assert first.created == datetime(2001, 1, 4, tzinfo=UTC)
    assert first.modified == datetime(2004, 2, 3, 10, 58, 5, tzinfo=UTC)
    assert first.language == "en"
    assert Agent("Jong, G. de") in first.agents and Agent("Jong, G. de", role="contributor") in first.agents
    assert first.agents[-1] == Agent(
        "Erasmus Research Institute of Management (ERIM), Erasmus University Rotterdam",
        role="publisher", kind="organization",
    )
    assert "Supply relationships" in first.keywords
    assert first.rights.startswith("Copyright 2001, G. de Jong")
    assert Identifier("other", "RePEc:dgr:eureri:2001134") in first.identifiers


def test_deleted_getrecord(corpus: Path) -> None:
    [record] = read_file(corpus, "oai-pmh/pyoai/fake2/00000.xml")
    assert record.deleted and record.title == "" and record.source_record_id.startswith("hdl:")


def test_utf8_cjk_creator(corpus: Path) -> None:
    [record] = read_file(corpus, "oai-pmh/sickle/GetRecord_utf8test.xml")
    assert record.source_record_id == "oai:test.example.com:1996652"
    assert record.agents == [Agent("某人"), Agent("Sample Publisher", role="publisher", kind="organization")]
    assert record.url == "http://test.example.com/publication/1996652"
    assert record.created == datetime(2011, 1, 1, tzinfo=UTC)
    assert record.modified == datetime(2011, 9, 5, 12, 51, 52, tzinfo=UTC)
    assert record.language == "eng"
    assert record.resource_type is None  # DCMI "text" is not a teaching-resource type
    assert record.is_based_on == []  # "Sample Source" is prose, not an identifier


def test_cdata_sections_are_joined(corpus: Path) -> None:
    [record] = read_file(corpus, "oai-pmh/gdcc-xoai/oai_dc-CDATA.xml")
    assert record.title == "Article Title-additional CDATA"
    assert record.source_record_id == "oai:ojs.spmfrjournal.org:article/88"
    assert record.modified == datetime(2013, 10, 14, 6, 1, 49, tzinfo=UTC)


def test_ojs_record_with_stylesheet_pi_and_several_setspecs(corpus: Path) -> None:
    [record] = read_file(corpus, "oai-pmh/gdcc-xoai/oai_dc-valid.xml")
    assert record.title == "Editorial" and record.language == "por"
    assert record.format == "application/pdf"
    assert record.url == "http://spmfrjournal.org/index.php/spmfr/article/view/88"
    assert record.is_based_on == ["http://spmfrjournal.org/index.php/spmfr/article/view/88/69"]
    assert record.agents[-1].role == "publisher"


def test_stray_text_and_duplicate_creators(corpus: Path) -> None:
    deleted, record = read_file(corpus, "oai-pmh/sickle/ListRecords.xml")
    assert deleted.deleted and deleted.source_record_id == "oai:test.example.com:1585310"
    assert record.title == "Sample Title"
    publisher = Agent("Sample Publisher", role="publisher", kind="organization")  # whitespace cleaned
    assert record.agents == [Agent("John Doe"), publisher]  # four identical creators, one agent
    assert record.description.startswith("Lorem ipsum dolor sit amet") and "\n" not in record.description


def test_deleted_header_without_identifier(corpus: Path) -> None:
    first, second = read_file(corpus, "oai-pmh/sickle/ListRecords4.xml")
    assert isinstance(first, Rejected) and first.reason == "deleted record has no identifier"
    assert first.locator == "record 1"
    assert second.source_record_id == "oai:test.example.com:1585322"


def test_zenodo_live_record(corpus: Path) -> None:
    zenodo = "oai-pmh/oaipmh-scythe-cassettes/zenodo_GetRecord_meta-oai_dc_id-10357859_http200.xml"
    [record] = read_file(corpus, zenodo)
    assert record.title == "Research Data Management Organiser (RDMO)"
    assert len([a for a in record.agents if a.role == "author"]) == 9
    assert Agent("Schröder, Max") in record.agents
    assert record.url == "https://doi.org/10.5281/zenodo.10357859"
    assert Identifier("doi", "10.5281/zenodo.10357859") in record.identifiers
    assert "https://doi.org/10.5281/zenodo.596581" in record.is_based_on


def test_bare_dc_documents(corpus: Path) -> None:
    [ojs] = read_file(corpus, "oai-pmh/gdcc-xoai/oai_dc.xml")
    assert ojs.source_record_id == "http://hdl.handle.net/10284/210" == ojs.url
    assert ojs.created == datetime(2006, 5, 16, 14, 25, 52, tzinfo=UTC)
    [dataverse] = read_file(corpus, "oai-pmh/metadata-payloads/dataverse-oai_dc-multibyte-188.xml")
    assert Agent("Zeledón, Yasser") in dataverse.agents
    assert Identifier("doi", "10.7910/DVN/IBDWAV") in dataverse.identifiers
    [thesis] = read_file(corpus, "oai-pmh/pyoai/fake1/00006.xml")
    assert Identifier("isbn", "9090149805") in thesis.identifiers  # bare ISBN-10 with a valid check digit


def test_qualified_dc_without_namespaces(corpus: Path) -> None:
    [record] = read_file(corpus, "oai-pmh/metadata-payloads/recordmanager-qdc1.xml")
    assert record.title.startswith("Urine : The potential")
    assert record.url == "http://hdl.handle.net/10138/331330"
    assert Identifier("doi", "10.34416/svc.00029") in record.identifiers
    assert record.created == datetime(2021, 1, 1, tzinfo=UTC)
    assert record.keywords[:2] == ["urine", "fertilizer"] and "uudelleenkäyttö" in record.keywords
    assert record.licence == "CC-BY-NC-ND-4.0"  # textual licence recognised


def test_other_metadata_formats_are_rejected_naming_the_namespace(corpus: Path) -> None:
    arxiv = read_file(corpus, "oai-pmh/invenio-oaiharvester/sample_arxiv_response_listrecords_cs.xml")
    assert len(arxiv) == 46 and all(isinstance(r, Rejected) for r in arxiv)
    assert arxiv[0].reason == "metadata format is not Dublin Core: <arXiv> in namespace http://arxiv.org/OAI/arXiv/"
    assert arxiv[0].locator.startswith("oai:arXiv.org:") and arxiv[0].raw.startswith(b"<arXiv")
    [bare] = read_file(corpus, "oai-pmh/invenio-oaiharvester/sample_arxiv_response_no_namespace.xml")
    assert bare.reason.endswith("<arXiv> (no namespace)")
    [ddi] = read_file(corpus, "oai-pmh/metadata-payloads/ddi-codebook-2.5-example.xml")
    assert "ddi:codebook:2_5" in ddi.reason
    datacite = read_file(corpus, "oai-pmh/oaipmh-scythe-cassettes/"
                                 "zenodo_ListRecords_meta-datacite_http200.xml")
    assert len(datacite) == 50
    assert {r.reason for r in datacite} == {
        "metadata format is not Dublin Core: <resource> in namespace http://datacite.org/schema/kernel-4"
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("oai-pmh/invenio-oaiharvester/sample_empty_response.xml", "noRecordsMatch"),
        ("oai-pmh/sickle/idDoesNotExist.xml", "idDoesNotExist"),
        ("oai-pmh/sickle/undefinedError.xml", "undefinedError"),
        ("oai-pmh/vufindharvest/arbitrary_error_response.xml", "foo"),
        ("oai-pmh/oaipmh-scythe-cassettes/zenodo_ListRecords_meta-XXX_http422.xml", "badArgument"),
    ],
)
def test_oai_errors_give_one_rejection_naming_the_code(corpus: Path, name: str, code: str) -> None:
    [result] = read_file(corpus, name)
    assert isinstance(result, Rejected) and result.reason.startswith(f"OAI-PMH error {code}")
    assert "\n" not in result.reason


def test_responses_without_records(corpus: Path) -> None:
    [identify] = read_file(corpus, "oai-pmh/sickle/Identify.xml")
    assert identify.reason == "OAI-PMH Identify response carries no metadata records"
    [headers] = read_file(corpus, "oai-pmh/sickle/ListIdentifiers.xml")
    assert "ListIdentifiers" in headers.reason


# ---------------------------------------------------------------- hostile input


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE dc [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>&xxe;</dc:title><dc:identifier>x</dc:identifier></oai_dc:dc>"""
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b']><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title><dc:identifier>x</dc:identifier></oai_dc:dc>'
)


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_entity_attacks_are_rejected_not_expanded(payload: bytes) -> None:
    [result] = list(oai_dc.read(payload, source="test"))
    assert isinstance(result, Rejected) and result.stage == "parse"
    assert "entit" in result.reason.lower()  # refused DTD entities, or libxml2 amplification guard


def test_reader_registry_resolves_this_module() -> None:
    assert reader("oai_dc") is oai_dc.read and writer("oai_dc") is oai_dc.write


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
        format="video/mp4",
        agents=[Agent("王芳"), Agent("李明", role="contributor"),
                Agent("人民教育出版社", role="publisher", kind="organization")],
        licence="CC-BY-NC-SA-4.0", rights="转载请注明出处", created=datetime(2023, 9, 1, tzinfo=UTC),
    )
    fields.update(changes)
    return Record(**fields)


CURRICULA = [
    {"stage": "初中（五四制）", "grade": "六年级", "subject": "语文", "edition": "部编版", "volume": "下册"},
    {"stage": "高中", "grade": "高一", "subject": "数学", "edition": "人教A版", "volume": "必修 第一册",
     "chapter": ["第一章 集合与常用逻辑用语", "1.1 集合的概念"]},
    {"grade": "一至二年级", "subject": "体育与健康"},
    {"stage": "小学", "grade": "三年级", "subject": "英语", "edition": "人教版（PEP）（主编：吴欣）",
     "volume": "上册"},
    {"stage": "高中", "grade": "高二", "subject": "地理", "edition": "湘教版",
     "volume": "选择性必修2 区域发展"},
    {"school_system": "五四学制", "subject": "物理"},
]


def test_write_is_valid_oai_dc(xsd_dir: Path) -> None:
    element = oai_dc.write(chinese_record())
    assert validation_errors(element, xsd_dir) == []
    subjects = [e.text for e in element.iter(f"{{{oai_dc.DC_NS}}}subject")]
    assert subjects[:8] == ["初中", "八年级", "数学", "人教版", "上册", "章节：第十七章 勾股定理",
                            "章节：17.1 勾股定理", "第一课时"]
    types = [e.text for e in element.iter(f"{{{oai_dc.DC_NS}}}type")]
    assert types == ["微课视频", "MovingImage"]
    identifiers = [e.text for e in element.iter(f"{{{oai_dc.DC_NS}}}identifier")]
    assert identifiers == ["https://res.example.cn/r/0001", "urn:isbn:9787107315473", "doi:10.1234/huiju.1",
                           "smartedu:6b4c-11ee", "https://mirror.example.cn/0001"]
    rights = [e.text for e in element.iter(f"{{{oai_dc.DC_NS}}}rights")]
    assert rights == ["https://creativecommons.org/licenses/by-nc-sa/4.0/", "转载请注明出处"]


def test_write_inside_an_oai_pmh_envelope_is_valid(xsd_dir: Path) -> None:
    ns = "http://www.openarchives.org/OAI/2.0/"
    envelope = etree.fromstring(
        f'<OAI-PMH xmlns="{ns}"><responseDate>2024-01-01T00:00:00Z</responseDate>'
        f'<request verb="GetRecord">https://huiju.example.cn/oai</request><GetRecord><record><header>'
        f"<identifier>oai:huiju:res-0001</identifier><datestamp>2024-01-01</datestamp></header>"
        f"<metadata/></record></GetRecord></OAI-PMH>".encode()
    )
    envelope.find(f".//{{{ns}}}metadata").append(oai_dc.write(chinese_record()))
    assert validation_errors(envelope, xsd_dir) == []
    [record] = list(oai_dc.read(etree.tostring(envelope), source="huiju"))
    assert record.source_record_id == "oai:huiju:res-0001"
    assert record.modified == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("raw", CURRICULA, ids=lambda raw: raw.get("subject"))
def test_curricula_validate_and_round_trip(raw: dict, xsd_dir: Path) -> None:
    curriculum, unmapped = build_curriculum(raw)
    assert not unmapped
    record = chinese_record(curriculum=curriculum, keywords=[])
    element = oai_dc.write(record)
    assert validation_errors(element, xsd_dir) == []
    [back] = list(oai_dc.read(etree.tostring(element), source="test"))
    assert back.curriculum == curriculum and back.keywords == [] and back.unmapped == []


ROUND_TRIP_FIELDS = ("title", "alt_titles", "description", "keywords", "curriculum", "resource_type",
                     "agents", "url", "identifiers", "is_based_on", "language", "licence", "rights",
                     "created", "format")


def test_round_trip_keeps_every_field_dc_carries() -> None:
    record = chinese_record()
    [back] = list(oai_dc.read(etree.tostring(oai_dc.write(record)), source="test"))
    for field in ROUND_TRIP_FIELDS:
        assert getattr(back, field) == getattr(record, field), field
    assert back.curriculum.edition.code == "pep" and back.curriculum.class_hour == 1
    assert back.resource_type.code == "micro-lecture"


def test_round_trip_maps_roles_dc_cannot_tell_apart() -> None:
    record = chinese_record(agents=[Agent("张老师", role="teacher", school="北京市第一中学"),
                                    Agent("某制作公司", role="producer", kind="organization")])
    [back] = list(oai_dc.read(etree.tostring(oai_dc.write(record)), source="test"))
    assert back.agents == [Agent("张老师"), Agent("某制作公司", role="contributor")]


def test_write_without_url_keeps_an_identifier() -> None:
    record = chinese_record(url=None, identifiers=[])
    [back] = list(oai_dc.read(etree.tostring(oai_dc.write(record)), source="test"))
    assert back.source_record_id == "res-0001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2011", datetime(2011, 1, 1, tzinfo=UTC)), ("2011-03", datetime(2011, 3, 1, tzinfo=UTC)),
     ("2011-03-26", datetime(2011, 3, 26, tzinfo=UTC)),
     ("2011-03-26 19:16:19", datetime(2011, 3, 26, 19, 16, 19, tzinfo=UTC)),
     ("2003-03-11T14:00:50Z", datetime(2003, 3, 11, 14, 0, 50, tzinfo=UTC)),
     ("2023-03-30T16:02:12+05:45", datetime(2023, 3, 30, 10, 17, 12, tzinfo=UTC)),
     ("Spring 2001", None), ("aaaa-bb-cc", None), ("2011-13-01", None), ("", None)],
)
def test_dates(text: str, expected: datetime | None) -> None:
    assert oai_dc.parse_date(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("urn:isbn:978-7-107-31547-3", Identifier("isbn", "9787107315473")),
     ("ISBN 7-107-31547-X", Identifier("isbn", "710731547X")),
     ("doi:10.1234/abc", Identifier("doi", "10.1234/abc")),
     ("https://doi.org/10.5281/zenodo.1", Identifier("doi", "10.5281/zenodo.1")),
     ("https://example.cn/x", Identifier("url", "https://example.cn/x")),
     ("smartedu:6b4c-11ee", Identifier("smartedu", "6b4c-11ee")),
     ("2432-5058", Identifier("other", "2432-5058")),  # an ISSN
     ("0-306-40615-2", Identifier("isbn", "0306406152")),  # bare, hyphenated, valid check digit
     ("0-306-40615-3", Identifier("other", "0-306-40615-3")),
     ("0306406152", Identifier("other", "0306406152")),  # plain 10-digit ids are not taken for ISBNs
     ("Viskari et al. Urine. 2021", None)],
)
def test_identifier_schemes(value: str, expected: Identifier | None) -> None:
    assert oai_dc.identifier_of(value) == expected


# ---------------------------------------------------------------- properties

XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(), description=st.text(), keyword=st.text(), name=st.text())
def test_write_never_crashes_on_any_unicode(title: str, description: str, keyword: str, name: str) -> None:
    record = chinese_record(title=title, description=description, keywords=[keyword], alt_titles=[name],
                            agents=[Agent(name)], rights=description)
    element = oai_dc.write(record)
    etree.fromstring(etree.tostring(element))  # serialises to well-formed XML


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=XML_TEXT, description=XML_TEXT)
def test_title_and_description_survive_a_round_trip(title: str, description: str) -> None:
    assume(clean(title))
    record = chinese_record(title=title, description=description, alt_titles=[])
    [back] = list(oai_dc.read(etree.tostring(oai_dc.write(record)), source="test"))
    assert back.title == clean(title)
    assert back.description == (clean(description) or None)
