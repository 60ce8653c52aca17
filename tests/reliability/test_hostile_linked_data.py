"""Hostile linked data harvested end to end from a URL (the "rdf" kind).

Decided: a remote @context is never fetched, whatever the source's settings
(there is no option to allow it). The rdf reader refuses a document that
needs one, with the URL in the reason; the lrmi reader does not need it
(it reads compact schema.org names) and maps the record without fetching.
Either way the tripwire server that the context points at sees no request.
"""

from __future__ import annotations

import json

from tests.harvester.servers import Reply, Server
from tests.reliability.conftest import Seeded, harvest, quarantined, titles

LESSON = {"@type": "LearningResource", "learningResourceType": "课件", "educationalLevel": "八年级"}


def serve(seeded: Seeded, server: Server, body: bytes, *, fmt: str = "", name: str = "dump") -> tuple[object, list]:
    server.app = lambda _request: Reply(body=body, content_type="application/octet-stream")
    seeded.store.add_source(name, "rdf", server.url + "/dump", level="district", options={"format": fmt} if fmt else {})
    run = harvest(seeded.store, name)
    seeded.assert_untouched()
    return run, quarantined(seeded.store, name)


def test_remote_context_is_not_fetched_by_the_rdf_reader(seeded: Seeded, server: Server, tripwire: Server) -> None:
    doc = {"@context": tripwire.url + "/context.jsonld",
           "@graph": [{**LESSON, "@id": "http://example.org/a", "name": "勾股定理"}]}
    run, found = serve(seeded, server, json.dumps(doc, ensure_ascii=False).encode())
    assert tripwire.requests == []
    assert run.status == "failed" and "remote @context not fetched" in run.message
    assert tripwire.url in found[0].reason and found[0].raw


def test_remote_context_in_a_nested_node_and_import_are_not_fetched(
    seeded: Seeded, server: Server, tripwire: Server
) -> None:
    doc = {"@context": [{"@import": tripwire.url + "/imported.jsonld"}, {"@vocab": "http://schema.org/"}],
           "@id": "http://example.org/b", **LESSON, "name": "一次函数",
           "isPartOf": {"@context": tripwire.url + "/nested.jsonld", "@id": "http://example.org/c"}}
    run, found = serve(seeded, server, json.dumps(doc, ensure_ascii=False).encode())
    assert tripwire.requests == []
    assert run.status == "failed" and "remote @context not fetched" in run.message


def test_remote_context_is_not_needed_by_the_lrmi_reader(seeded: Seeded, server: Server, tripwire: Server) -> None:
    doc = [{"@context": tripwire.url + "/context.jsonld", **LESSON, "@id": f"http://example.org/{n}",
            "name": title} for n, title in enumerate(("勾股定理 导学案", "勾股定理 课后练习"))]
    run, found = serve(seeded, server, json.dumps(doc, ensure_ascii=False).encode(), fmt="lrmi")
    assert tripwire.requests == []
    assert run.status == "succeeded", run.message
    assert titles(seeded.store, "dump") == {"勾股定理 导学案", "勾股定理 课后练习"} and found == []


def test_cyclic_graphs_terminate(seeded: Seeded, server: Server) -> None:
    turtle = """@prefix s: <http://schema.org/> .
<http://example.org/a> a s:LearningResource ; s:name "勾股定理 第一课时" ; s:learningResourceType "课件" ;
    s:isPartOf <http://example.org/b> ; s:hasPart <http://example.org/b> .
<http://example.org/b> a s:LearningResource ; s:name "勾股定理 第二课时" ; s:learningResourceType "课件" ;
    s:isPartOf <http://example.org/a> ; s:hasPart <http://example.org/a> ; s:author _:x .
_:x s:knows _:y . _:y s:knows _:x .
<http://example.org/c> a s:LearningResource ; s:name "自指的课" ; s:isPartOf <http://example.org/c> .
"""
    run, found = serve(seeded, server, turtle.encode())
    assert run.status == "succeeded", run.message
    assert titles(seeded.store, "dump") == {"勾股定理 第一课时", "勾股定理 第二课时", "自指的课"}


def test_cyclic_json_ld_terminates(seeded: Seeded, server: Server) -> None:
    doc = {"@context": "https://schema.org/", "@graph": [
        {**LESSON, "@id": "http://example.org/a", "name": "循环甲", "isPartOf": {"@id": "http://example.org/b"}},
        {**LESSON, "@id": "http://example.org/b", "name": "循环乙", "isPartOf": {"@id": "http://example.org/a"}},
    ]}
    run, found = serve(seeded, server, json.dumps(doc, ensure_ascii=False).encode())
    assert run.status == "succeeded", run.message
    assert titles(seeded.store, "dump") == {"循环甲", "循环乙"}


def test_huge_literals_are_capped_with_a_note(seeded: Seeded, server: Server) -> None:
    """Decided by the LRMI/RDF mapping: over-long literals are cut (with "…") and the cut is
    recorded in the record's unmapped notes, so the record still reaches a curator."""
    huge_description = "很长的简介" * 200_000  # 1 M characters
    huge_title = "题" * 5_000
    turtle = f"""@prefix s: <http://schema.org/> .
<http://example.org/ok> a s:LearningResource ; s:name "正常的课" ; s:learningResourceType "课件" .
<http://example.org/desc> a s:LearningResource ; s:name "简介太长" ; s:description "{huge_description}" .
<http://example.org/title> a s:LearningResource ; s:name "{huge_title}" .
"""
    run, found = serve(seeded, server, turtle.encode())
    assert run.status == "succeeded", run.message
    assert found == []
    records = {r.source_record_id: r for r in seeded.store.iter_records(source="dump")}
    assert records["http://example.org/ok"].title == "正常的课"
    description = records["http://example.org/desc"]
    assert len(description.description) <= 20_000 and description.description.endswith("…")
    title = records["http://example.org/title"]
    assert len(title.title) <= 1000 and title.title.endswith("…")
    for record in (description, title):
        assert any("truncated from" in u.value for u in record.unmapped), record.unmapped


def test_rdf_xml_with_an_external_entity_is_refused_without_fetching(
    seeded: Seeded, server: Server, tripwire: Server
) -> None:
    xml = (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "{tripwire.url}/leak">]>'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:s="http://schema.org/">'
           '<s:LearningResource rdf:about="http://example.org/x"><s:name>&x;</s:name></s:LearningResource>'
           "</rdf:RDF>").encode()
    run, found = serve(seeded, server, xml)
    assert tripwire.requests == []
    assert run.status == "failed" and "entities" in run.message
    assert found and found[0].raw
