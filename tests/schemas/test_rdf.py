"""RDF crosswalk: DCMI / LRMI / OERSI files from the corpus and Chinese descriptions in four syntaxes."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.crosswalks import Rejected, lrmi, rdf
from schemas.record import Record, Unmapped
from tests.conftest import CORPUS
from tests.schemas.test_lrmi import JSON_DOCS

UTC = UTC


def _files(*folders: str) -> list:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="shared corpus absent"))]
    return [
        pytest.param(p, id=str(p.relative_to(CORPUS)))
        for folder in folders
        for p in sorted((CORPUS / folder).rglob("*"))
        if p.is_file()
    ]


@pytest.fixture
def recording_server():
    """A local HTTP server that records every request (there must be none)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            body = json.dumps({"@context": {"@vocab": "http://schema.org/"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def _read(data: bytes | str) -> list[Record | Rejected]:
    return list(rdf.read(data.encode() if isinstance(data, str) else data, source="test"))


def _rejected(path: Path) -> Rejected:
    (result,) = _read(path.read_bytes())
    assert isinstance(result, Rejected), result
    return result


# ---------------------------------------------------------------- every corpus file


@pytest.mark.parametrize("path", _files("rdf", "zh", "lrmi"))
def test_every_file_maps_or_rejects_without_raising(corpus: Path, path: Path) -> None:
    results = _read(path.read_bytes())
    assert results
    for r in results:
        assert isinstance(r, (Record, Rejected))
        if isinstance(r, Rejected):
            assert r.reason and "\n" not in r.reason


SKOS_FILES = [
    p
    for p in _files("rdf/oersi-vocabs", "rdf/dcmi-lrmi/vocabs")
    if p.values[0] is None or p.values[0].name not in ("accessibilityFeature.ttl", "ex_lecture.ttl")
]


@pytest.mark.parametrize("path", SKOS_FILES)
def test_skos_concept_schemes_are_not_resources(corpus: Path, path: Path) -> None:
    assert _rejected(path).reason.startswith("no resource descriptions: SKOS concept scheme")


def test_skos_reason_names_the_scheme(corpus: Path) -> None:
    reason = _rejected(corpus / "rdf/dcmi-lrmi/vocabs/learningResourceType.ttl").reason
    scheme = "SKOS concept scheme 'LRMI Learning Resource Type Concept Scheme'"
    assert reason == f"no resource descriptions: {scheme} (10 concepts)"


@pytest.mark.parametrize(
    "name, reason",
    [
        (
            "rdf/dcmi/dcelements.rdf",
            "RDF vocabulary 'Dublin Core Metadata Element Set, Version 1.1' (15 properties, 0 classes)",
        ),
        (
            "rdf/dcmi/dcelements.ttl",
            "RDF vocabulary 'Dublin Core Metadata Element Set, Version 1.1' (15 properties, 0 classes)",
        ),
        (
            "rdf/dcmi/dces_jaJP.rdf",
            "RDF vocabulary 'The Dublin Core Element Set v1.1' (15 properties, 0 classes)",
        ),
        (
            "zh/dcmi-dces_zhCN.rdf",
            "RDF vocabulary 'The Dublin Core Element Set v1.1' (15 properties, 0 classes)",
        ),
        (
            "rdf/dcmi-lrmi/lrmi-terms.ttl",
            "RDF vocabulary 'LRMI RDF Specification' (17 properties, 3 classes)",
        ),
        (
            "rdf/dcmi/website-sidecar-education-20000430.htm.rdf",
            "1 subject(s) in 8 triples, none typed as a learning resource "
            "or described with an educational property",
        ),
    ],
)
def test_vocabularies_and_plain_dc_are_one_rejection(corpus: Path, name: str, reason: str) -> None:
    result = _rejected(corpus / name)
    assert (result.reason, result.stage) == (f"no resource descriptions: {reason}", "map")


def test_entity_dtd_namespaces_are_expanded_safely(corpus: Path) -> None:
    data = (corpus / "zh/dcmi-dces_zhCN.rdf").read_bytes()
    expanded = rdf.expand_namespace_entities(data)
    assert b"<!ENTITY" not in expanded and b'xmlns:dc="http://purl.org/dc/elements/1.1/"' in expanded
    assert "&#x6807;&#x9898;" in expanded.decode()  # character references stay for the XML parser


@pytest.mark.parametrize(
    "name, start",
    [
        ("rdf/dcmi-lrmi/vocabs/accessibilityFeature.ttl", "turtle parse error: at line 15"),
        ("rdf/dcmi-lrmi/vocabs/ex_lecture.ttl", "turtle parse error: at line 29"),
        ("zh/pyslet-cjk-href/imsmanifest.xml", "XML <manifest> is not RDF/XML"),
        (
            "zh/smartedu/syncClassroom_part_102.json",
            "JSON without @context, @id, @type or @graph is not JSON-LD",
        ),
        (
            "lrmi/amb/valid/tutoryExample.json",
            "remote @context not fetched: https://w3id.org/kim/amb/context.jsonld",
        ),
        ("lrmi/dcmi-lrmi/alignmentsUK_rdfa.html", "HTML page, not RDF"),
    ],
)
def test_broken_or_foreign_files_are_parse_rejections(corpus: Path, name: str, start: str) -> None:
    result = _rejected(corpus / name)
    assert result.stage == "parse" and result.reason.startswith(start)


@pytest.mark.parametrize("name", ["LRexample01a.json-ld", "LRexample01.jsonld"])
def test_json_ld_examples_agree_with_the_lrmi_reader(corpus: Path, name: str) -> None:
    data = (corpus / "lrmi/dcmi-lrmi" / name).read_bytes()
    (via_rdf,) = _read(data)
    (via_lrmi,) = lrmi.read(data, source="test")
    # timeRequired ["PT2H", "PT1H"] has no order once it is RDF, so duration is not compared
    for field in (
        "source_record_id",
        "title",
        "description",
        "url",
        "resource_type",
        "curriculum",
        "licence",
        "created",
        "agents",
    ):
        assert getattr(via_rdf, field) == getattr(via_lrmi, field), field
    assert sorted(via_rdf.keywords) == sorted(via_lrmi.keywords)


# ---------------------------------------------------------------- Chinese descriptions in four syntaxes

TURTLE = """
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix dc: <http://purl.org/dc/elements/1.1/> .
@prefix lrmi: <http://purl.org/dcx/lrmi-terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://example.cn/lessons/gougu-1> dcterms:title "勾股定理 第一课时"@zh ;
    dcterms:description "人教版八年级数学上册 勾股定理 微课视频"@zh ;
    dcterms:educationLevel "初中", "八年级" ;
    dc:subject "数学", "人教版", "上册", "直角三角形" ;
    lrmi:learningResourceType "微课视频" ;
    dcterms:creator [ foaf:name "王老师" ] ;
    dcterms:publisher "人民教育出版社" ;
    dcterms:license <https://creativecommons.org/licenses/by/4.0/> ;
    dcterms:isVersionOf <https://example.cn/lessons/gougu-0> ;
    dcterms:identifier "ISBN 9787107000000" ;
    dcterms:language "zh-CN" ;
    dcterms:created "2024-09-01"^^xsd:date .
"""

NTRIPLES = "\n".join(
    [
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dc/terms/title> "勾股定理 第一课时"@zh .',
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dc/terms/educationLevel> "八年级" .',
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dc/elements/1.1/subject> "数学" .',
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dc/elements/1.1/subject> "人教版" .',
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dc/elements/1.1/subject> "上册" .',
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dcx/lrmi-terms/learningResourceType> "微课" .',
        '<https://example.cn/lessons/gougu-1> <http://purl.org/dc/terms/created> "2024-09-01" .',
    ]
)

RDF_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY rdfns 'http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
  <!ENTITY dcns 'http://purl.org/dc/elements/1.1/'>
  <!ENTITY sdons 'http://schema.org/'>
]>
<rdf:RDF xmlns:rdf="&rdfns;" xmlns:dc="&dcns;" xmlns:sdo="&sdons;">
  <sdo:LearningResource rdf:about="https://example.cn/lessons/gougu-1">
    <dc:title xml:lang="zh">勾股定理 第一课时</dc:title>
    <sdo:educationalLevel>八年级</sdo:educationalLevel>
    <dc:subject>数学</dc:subject><dc:subject>人教版</dc:subject><dc:subject>上册</dc:subject>
    <sdo:learningResourceType>微课视频</sdo:learningResourceType>
    <dc:date>2024-09-01</dc:date>
  </sdo:LearningResource>
</rdf:RDF>
"""

JSON_LD = json.dumps(
    {
        "@context": {
            "dcterms": "http://purl.org/dc/terms/",
            "dc": "http://purl.org/dc/elements/1.1/",
            "lrmi": "http://purl.org/dcx/lrmi-terms/",
        },
        "@id": "https://example.cn/lessons/gougu-1",
        "dcterms:title": {"@value": "勾股定理 第一课时", "@language": "zh"},
        "dcterms:educationLevel": "八年级",
        "dc:subject": ["数学", "人教版", "上册"],
        "lrmi:learningResourceType": "微课视频",
        "dcterms:created": "2024-09-01",
    },
    ensure_ascii=False,
)


@pytest.mark.parametrize(
    "data", [TURTLE, NTRIPLES, RDF_XML, JSON_LD], ids=["turtle", "ntriples", "rdfxml", "jsonld"]
)
def test_chinese_lesson_in_every_syntax(data: str) -> None:
    (r,) = _read(data)
    assert isinstance(r, Record), r
    assert (r.source_record_id, r.url, r.title) == (
        "https://example.cn/lessons/gougu-1",
        "https://example.cn/lessons/gougu-1",
        "勾股定理 第一课时",
    )
    c = r.curriculum
    assert (c.stage.code, c.grade, c.subject.code, c.edition.code, c.volume.code) == (
        "junior",
        8,
        "math",
        "pep",
        "vol1",
    )
    assert r.resource_type.code == "micro-lecture"
    assert r.created == datetime(2024, 9, 1, tzinfo=UTC)
    assert r.language in ("zh-CN", "zh")


def test_turtle_maps_every_dc_field() -> None:
    (r,) = _read(TURTLE)
    assert r.description == "人教版八年级数学上册 勾股定理 微课视频" and r.language == "zh-CN"
    assert r.keywords == ["直角三角形"]  # the other dc:subject values went into the curriculum
    assert [(a.name, a.role, a.kind) for a in r.agents] == [
        ("王老师", "author", "person"),
        ("人民教育出版社", "publisher", "organization"),
    ]
    assert r.licence == "CC-BY-4.0" and r.is_based_on == ["https://example.cn/lessons/gougu-0"]
    assert [(i.scheme, i.value) for i in r.identifiers] == [("local", "ISBN 9787107000000")]


def test_rdf_reads_our_own_lrmi_output() -> None:
    from tests.schemas.test_lrmi import chinese_record

    record = chinese_record()
    (r,) = _read(json.dumps(lrmi.write(record), ensure_ascii=False))  # schema.org context known by heart
    for field in (
        "title",
        "url",
        "description",
        "resource_type",
        "licence",
        "created",
        "modified",
        "duration",
        "format",
        "size",
        "language",
        "is_based_on",
    ):
        assert getattr(r, field) == getattr(record, field), field
    assert r.curriculum.edition == record.curriculum.edition and r.curriculum.grade == 8
    assert sorted(r.curriculum.chapter_path) == sorted(
        record.curriculum.chapter_path
    )  # RDF sets are unordered
    assert sorted(r.agents, key=lambda a: a.name) == sorted(record.agents, key=lambda a: a.name)


def test_dc_title_needs_an_educational_property_or_type() -> None:
    plain = '<http://x/1> <http://purl.org/dc/elements/1.1/title> "只有标题" .'
    typed = plain + '\n<http://x/1> <http://purl.org/dc/elements/1.1/type> "教案" .'
    dcmi = (
        plain + "\n<http://x/1> <http://purl.org/dc/elements/1.1/type> <http://purl.org/dc/dcmitype/Text> ."
    )
    (rejected,) = _read(plain)
    (record,) = _read(typed)
    (generic,) = _read(dcmi)
    assert rejected.reason.startswith("no resource descriptions: 1 subject(s)")
    assert (record.title, record.resource_type.code) == ("只有标题", "lesson-plan")
    assert generic.resource_type is None and Unmapped("learningResourceType", "Text") in generic.unmapped


def test_cyclic_graph_terminates() -> None:
    data = """
    @prefix s: <http://schema.org/> .
    <http://x/a> a s:LearningResource ; s:name "A" ; s:isBasedOn <http://x/b> ; s:author <http://x/p> ;
        s:keywords _:l1 .
    <http://x/b> a s:CreativeWork ; s:name "B" ; s:isBasedOn <http://x/a> ; s:hasPart <http://x/b> .
    <http://x/p> s:name "张老师" ; s:knows <http://x/p> ; s:worksFor <http://x/a> .
    _:l1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> "几何" ;
         <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> _:l1 .
    """
    a, b = _read(data)
    assert (a.title, a.is_based_on, b.title, b.is_based_on) == ("A", ["http://x/b"], "B", ["http://x/a"])
    assert a.agents[0].name == "张老师" and a.keywords == ["几何"]


def test_blank_node_resource_embedded_in_another_is_not_a_record() -> None:
    data = """@prefix s: <http://schema.org/> .
    <http://x/page> a s:LearningResource ; s:name "课" ; s:video [ a s:VideoObject ; s:name "片段" ] ."""
    (r,) = _read(data)
    assert r.title == "课"


def test_huge_literals_are_capped_with_the_cut_noted() -> None:
    data = (
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
        f'<http://x/1> a <http://schema.org/LearningResource> ; dcterms:title "{"长" * 3000}" ;'
        f' dcterms:description "{"述" * 30000}" .'
    )
    (r,) = _read(data)
    assert len(r.title) == 1000 and len(r.description) == 20000
    assert Unmapped("title", "truncated from 3000 to 1000 characters") in r.unmapped
    assert Unmapped("description", "truncated from 30000 to 20000 characters") in r.unmapped


def test_xml_entity_attacks_are_refused() -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>'
    )
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&b;</rdf:RDF>'
    )
    for data in (xxe, laughs):
        (result,) = _read(data)
        assert result.stage == "parse" and "refused" in result.reason


@pytest.mark.parametrize(
    "context",
    [
        "{base}/context.jsonld",
        ["{base}/context.jsonld", {"@language": "zh"}],
        {"@import": "{base}/import.jsonld"},
        {"lesson": {"@id": "http://schema.org/LearningResource", "@context": "{base}/scoped.jsonld"}},
    ],
)
def test_remote_context_is_rejected_without_a_request(recording_server: tuple, context: object) -> None:
    base, requests = recording_server
    doc = {
        "@context": json.loads(json.dumps(context).replace("{base}", base)),
        "@id": "http://x/1",
        "@type": "http://schema.org/LearningResource",
        "http://schema.org/name": "课",
    }
    (result,) = _read(json.dumps(doc))
    assert result.stage == "parse" and result.reason.startswith(f"remote @context not fetched: {base}/")
    assert requests == []


def test_rdflib_itself_cannot_fetch_a_context(recording_server: tuple) -> None:
    """Second layer: even without the pre-check, the context rdflib is given refuses to fetch."""
    base, requests = recording_server
    for context in (
        f"{base}/c.jsonld",
        {"s": {"@id": "http://schema.org/name", "@context": f"{base}/s.jsonld"}},
    ):
        with pytest.raises(rdf.RemoteContextError):
            rdf.jsonld_graph(
                {"@context": context, "@id": "http://x/1", "s": {"name": "x"}, "http://schema.org/name": "x"}
            )
    assert requests == []


def test_not_rdf_at_all() -> None:
    (result,) = _read(b"\x00\x01binary")
    assert result.stage == "parse"
    (empty,) = _read(b"")
    assert empty.reason == "no resource descriptions: empty graph"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=JSON_DOCS)
def test_arbitrary_json_ld_shapes_never_raise(doc: object) -> None:
    results = _read(json.dumps(doc))
    assert results and all(isinstance(r, (Record, Rejected)) for r in results)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_turtle_ish_text_never_raises(text: str) -> None:
    for data in ("@prefix s: <http://schema.org/> .\n" + text, "<" + text):
        results = _read(data)
        assert results and all(isinstance(r, (Record, Rejected)) for r in results)


@pytest.mark.parametrize("reader", [rdf, lrmi], ids=["rdf", "lrmi"])
def test_deeply_nested_json_is_rejected_not_raised(reader: object) -> None:
    arrays = b"[" * 100_000 + b"]" * 100_000
    objects = b'{"@id": "http://x", "a": ' * 300 + b"1" + b"}" * 300
    for data in (arrays, objects):
        (result,) = reader.read(data, source="test")
        assert isinstance(result, Rejected)


# ---------------------------------------------------------------- two Turtle parsers, one answer


def _both_parsers(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    """rdf.read with Oxigraph's parser (the default) and with rdflib's alone, as comparable JSON."""
    import msgspec

    fast = [msgspec.json.encode(r) for r in rdf.read(data, source="test")]
    with monkeypatch.context() as m:
        m.setattr(rdf, "_parse_oxigraph", lambda data, syntax: None)
        slow = [msgspec.json.encode(r) for r in rdf.read(data, source="test")]
    return fast, slow


@pytest.mark.parametrize(
    "path", [p for p in _files("rdf", "zh", "lrmi") if p.values[0] is None or p.values[0].suffix in (".ttl", ".nt")]
)
def test_oxigraph_and_rdflib_read_every_corpus_turtle_file_alike(
    corpus: Path, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = _both_parsers(path.read_bytes(), monkeypatch)
    assert fast == slow


def test_oxigraph_and_rdflib_read_the_demo_partner_feed_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    from harvester.demo import render
    from harvester.demo.platforms import items
    from harvester.demo.state import DemoState
    from harvester.demo.styles import record

    bases = {name: f"http://127.0.0.1:{5100 + i}" for i, name in enumerate(
        ("national", "municipal", "haidian", "chaoyang", "library", "partner"))}
    state = DemoState(size=2_000)
    body = b"".join(render.turtle(record(state, it, bases)) for it in items(state, "partner") if not it.deleted)
    fast, slow = _both_parsers(render.TURTLE_HEAD + body, monkeypatch)
    assert len(fast) > 100 and fast == slow
    assert any("學" in r.decode() or "課" in r.decode() for r in fast)  # the partner's Traditional text survives


def test_rdflib_still_reads_what_oxigraph_refuses() -> None:
    """A relative IRI (no base) makes Oxigraph refuse the document; rdflib reads it as before."""
    relative = TURTLE.replace("<https://example.cn/lessons/gougu-1>", "<lessons/gougu-1>")
    assert rdf._parse_oxigraph(relative.encode(), "turtle") is None
    (r,) = _read(relative)
    assert isinstance(r, Record) and r.title == "勾股定理 第一课时"


def test_broken_turtle_keeps_rdflibs_error_message() -> None:
    (result,) = _read(TURTLE.replace(" .\n", " \n", 1))
    assert isinstance(result, Rejected) and result.stage == "parse"
    assert result.reason.startswith("turtle parse error:")
