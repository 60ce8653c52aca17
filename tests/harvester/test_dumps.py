"""Dump files cut into small documents: the same records as the whole file, or no cut at all."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from harvester.demo.render import MARC_HEAD, MARC_TAIL, marc_record
from harvester.dumps import digest_of, marcxml_pieces, turtle_pieces
from harvester.http import HttpClient, TooLarge
from schemas.crosswalks import reader
from schemas.record import Record, to_json
from tests.harvester.servers import Reply, Server

TTL_HEAD = b"@prefix schema: <https://schema.org/> .\n# a comment\n\n"


def lesson(n: int, extra: str = "") -> bytes:
    return (f'<http://example.org/r/{n}>\n  a schema:LearningResource ;\n  schema:name "第{n}课 勾股定理" ;\n'
            f'  schema:url <http://example.org/r/{n}> ;{extra}\n'
            f'  schema:educationalAlignment [\n    a schema:AlignmentObject ;\n'
            f'    schema:alignmentType "educationalSubject" ;\n    schema:targetName "数学"\n  ] .\n\n').encode()


def spooled(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / f"dump-{len(list(tmp_path.iterdir()))}"
    path.write_bytes(data)
    return path


def mapped(fmt: str, documents: list[bytes]) -> list[bytes]:
    out = []
    for document in documents:
        for result in reader(fmt)(document, source="s"):
            out.append(to_json(result) if isinstance(result, Record) else repr(result).encode())
    return sorted(out)


def test_turtle_is_cut_into_pieces_that_map_like_the_whole(tmp_path: Path) -> None:
    data = TTL_HEAD + b"".join(lesson(n) for n in range(7))
    pieces = list(turtle_pieces(spooled(tmp_path, data), per=3) or [])
    assert len(pieces) == 3 and all(p.startswith(b"@prefix schema:") for p in pieces)
    assert mapped("rdf", pieces) == mapped("rdf", [data])
    assert len(mapped("rdf", pieces)) == 7


@pytest.mark.parametrize("why, data", [
    ("blank node label", TTL_HEAD + lesson(1) + b"_:b1 schema:name \"x\" .\n"),
    ("long literal", TTL_HEAD + lesson(1, ' schema:description """多行\n描述""" ;')),
    ("a subject described twice", TTL_HEAD + lesson(1) + lesson(1)),
    ("a reference to another statement's subject", TTL_HEAD + lesson(1, " schema:isPartOf <http://example.org/r/2> ;")
     + lesson(2)),
    ("a prefix declared after statements", TTL_HEAD + lesson(1) + b"@prefix ex: <http://example.org/> .\n" + lesson(2)),
    ("a statement that does not end with a dot", TTL_HEAD + lesson(1).replace(b"] .", b"] ;")),
    ("a prefixed-name subject", TTL_HEAD + b"schema:x a schema:LearningResource ;\n  schema:name \"x\" .\n"),
])
def test_turtle_that_cannot_be_cut_safely_is_left_whole(tmp_path: Path, why: str, data: bytes) -> None:
    assert turtle_pieces(spooled(tmp_path, data)) is None, why


def marc_collection(n: int) -> bytes:
    records = [Record(source="s", source_record_id=f"r{i}", title=f"第{i}课 分式") for i in range(n)]
    return MARC_HEAD + b"".join(marc_record(r) for r in records) + MARC_TAIL


def test_marcxml_is_cut_into_collections_that_map_like_the_whole(tmp_path: Path) -> None:
    data = marc_collection(5)
    pieces = list(marcxml_pieces(spooled(tmp_path, data), per=2) or [])
    assert len(pieces) == 3
    assert mapped("marcxml", pieces) == mapped("marcxml", [data])
    assert len(mapped("marcxml", pieces)) == 5


def test_marcxml_with_a_prefix_and_a_cut_off_last_record_loses_nothing(tmp_path: Path) -> None:
    body = ('<?xml version="1.0"?>\n<marc:collection xmlns:marc="http://www.loc.gov/MARC21/slim">'
            '<marc:record><marc:leader>00000nam a2200000 a 4500</marc:leader>'
            '<marc:controlfield tag="001">a1</marc:controlfield>'
            '<marc:datafield tag="245" ind1="0" ind2="0"><marc:subfield code="a">勾股定理</marc:subfield>'
            '</marc:datafield></marc:record>\n'
            '<marc:record><marc:leader>00000nam a2200000 a 4500</marc:leader>'
            '<marc:controlfield tag="001">a2</marc:controlfield></marc:collection>').encode()
    pieces = list(marcxml_pieces(spooled(tmp_path, body)) or [])
    results = [r for piece in pieces for r in reader("marcxml")(piece, source="s")]
    assert [r.title for r in results if isinstance(r, Record)] == ["勾股定理"]
    assert any(not isinstance(r, Record) for r in results)  # the cut-off record is rejected, not dropped


def test_a_file_that_is_not_a_collection_or_has_a_dtd_is_not_cut(tmp_path: Path) -> None:
    one = (b'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>'
           b'</record>')
    assert marcxml_pieces(spooled(tmp_path, one)) is None
    dtd = b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x "y">]>' + marc_collection(2).split(b"?>", 1)[1]
    assert marcxml_pieces(spooled(tmp_path, dtd)) is None


def test_download_streams_a_file_above_the_page_cap_and_refuses_one_above_the_file_cap(server: Server) -> None:
    body = b"x" * 300_000
    server.app = lambda _request: Reply(body=body)
    http = HttpClient(max_bytes=100_000, retries=0)
    sink = io.BytesIO()
    response = http.download(server.url + "/dump.ttl", sink, max_bytes=1_000_000)
    assert response.ok and response.content == b"" and sink.getvalue() == body
    assert digest_of(sink)[1] == len(body)
    with pytest.raises(TooLarge, match="HARVEST_MAX_FILE_BYTES"):
        http.download(server.url + "/dump.ttl", io.BytesIO(), max_bytes=200_000)
    with pytest.raises(TooLarge, match="HARVEST_MAX_BYTES"):
        http.get(server.url + "/dump.ttl")
