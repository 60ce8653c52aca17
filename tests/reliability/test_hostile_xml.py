"""Hostile and broken XML served by an OAI-PMH source, harvested end to end.

Each case is a three-page ListRecords chain on a real server: a good page,
the hostile page, a good page. The hostile page (or record) is quarantined
with a reason that says what was wrong, the good pages are stored, records
stored before the run are unchanged, and nothing a payload points at is
fetched (the tripwire server counts requests).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from repository.store import Store
from tests.harvester.servers import OaiApp, Server
from tests.reliability.conftest import Seeded, StreamServer, harvest, quarantined, titles

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
IDENTIFY = f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="{OAI_NS}"><responseDate>2024-01-01T00:00:00Z</responseDate>
<request verb="Identify">http://127.0.0.1/oai</request><Identify><repositoryName>hostile</repositoryName>
<baseURL>http://127.0.0.1/oai</baseURL><protocolVersion>2.0</protocolVersion>
<adminEmail>a@example.org</adminEmail><earliestDatestamp>2020-01-01</earliestDatestamp>
<deletedRecord>no</deletedRecord><granularity>YYYY-MM-DD</granularity></Identify></OAI-PMH>""".encode()


def record(rid: str, title: str, dc_ns: str = "http://purl.org/dc/elements/1.1/") -> str:
    return (f"<record><header><identifier>{rid}</identifier><datestamp>2024-01-01</datestamp></header>"
            f'<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="{dc_ns}">'
            f"<dc:title>{title}</dc:title><dc:type>课件</dc:type></oai_dc:dc></metadata></record>")


def page(records: str, token: str | None, *, prolog: str = "", oai_ns: str = OAI_NS) -> bytes:
    resumption = f"<resumptionToken>{token}</resumptionToken>" if token else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<OAI-PMH xmlns="{oai_ns}">'
            "<responseDate>2024-01-01T00:00:00Z</responseDate><request verb=\"ListRecords\">http://127.0.0.1/oai"
            f"</request><ListRecords>{records}{resumption}</ListRecords></OAI-PMH>").encode()


GOOD_FIRST = page(record("good-1", "勾股定理 第一课时") + record("good-2", "勾股定理 第二课时"), "p2")
GOOD_LAST = page(record("good-3", "勾股定理的逆定理"), None)


def chain(hostile: bytes) -> OaiApp:
    return OaiApp(IDENTIFY, {None: GOOD_FIRST, "p2": hostile, "p3": GOOD_LAST})


def run_chain(seeded: Seeded, server: Server, hostile: bytes) -> tuple[object, list]:
    server.app = chain(hostile)
    seeded.store.add_source("hostile", "oai", server.url + "/oai", level="school", options={"prefix": "oai_dc"})
    run = harvest(seeded.store, "hostile")
    seeded.assert_untouched()
    return run, quarantined(seeded.store, "hostile")


def assert_page_skipped(run: object, found: list, seeded: Seeded, reason: str) -> None:
    """A whole page refused: quarantined with its bytes, the chain followed on, the run failed clearly."""
    assert [q.stage for q in found] == ["parse"], [q.reason for q in found]
    assert reason in found[0].reason and found[0].raw
    assert run.status == "failed" and "could not be parsed and were skipped" in run.message
    assert titles(seeded.store, "hostile") == {"勾股定理 第一课时", "勾股定理 第二课时", "勾股定理的逆定理"}


def no_leak(store: Store) -> None:
    for record in store.iter_records():
        assert "LEAKED" not in record.title and "root:" not in record.title


@pytest.mark.parametrize("target", ["file:///etc/passwd", "{tripwire}/secret"], ids=["file", "http"])
def test_external_entity_page_is_refused_and_nothing_is_read(
    seeded: Seeded, server: Server, tripwire: Server, target: str
) -> None:
    url = target.format(tripwire=tripwire.url)
    hostile = page(record("evil", "&xxe;"), "p3", prolog=f'<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "{url}">]>')
    run, found = run_chain(seeded, server, hostile)
    assert_page_skipped(run, found, seeded, "XML declares entities in a DTD")
    assert tripwire.requests == []
    no_leak(seeded.store)


def test_parameter_entity_and_external_dtd_are_never_fetched(seeded: Seeded, server: Server, tripwire: Server) -> None:
    hostile = page(record("evil", "x"), "p3",
                   prolog=f'<!DOCTYPE OAI-PMH [<!ENTITY % dtd SYSTEM "{tripwire.url}/evil.dtd"> %dtd;]>')
    run, found = run_chain(seeded, server, hostile)
    assert_page_skipped(run, found, seeded, "XML declares entities in a DTD")
    assert tripwire.requests == []


def test_external_dtd_without_entities_is_parsed_without_fetching_it(
    seeded: Seeded, server: Server, tripwire: Server
) -> None:
    hostile = page(record("dtd-ok", "带外部 DTD 的记录"), "p3",
                   prolog=f'<!DOCTYPE OAI-PMH SYSTEM "{tripwire.url}/oai.dtd">')
    run, found = run_chain(seeded, server, hostile)
    assert run.status == "succeeded", run.message
    assert found == [] and "带外部 DTD 的记录" in titles(seeded.store, "hostile")
    assert tripwire.requests == []


def test_billion_laughs_is_refused_quickly(seeded: Seeded, server: Server) -> None:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    hostile = page(record("lol", "&l9;"), "p3", prolog=f'<!DOCTYPE OAI-PMH [<!ENTITY l0 "lol">{levels}]>')
    start = time.monotonic()
    run, found = run_chain(seeded, server, hostile)
    assert time.monotonic() - start < 20
    assert_page_skipped(run, found, seeded, "XML declares entities in a DTD")


def test_quadratic_blowup_is_refused(seeded: Seeded, server: Server) -> None:
    hostile = page(record("quad", "&a;" * 20_000), "p3", prolog=f'<!DOCTYPE OAI-PMH [<!ENTITY a "{"x" * 50_000}">]>')
    run, found = run_chain(seeded, server, hostile)
    assert_page_skipped(run, found, seeded, "XML declares entities in a DTD")


def test_deep_nesting_is_refused(seeded: Seeded, server: Server) -> None:
    deep = "<x>" * 50_000 + "</x>" * 50_000
    run, found = run_chain(seeded, server, page(record("deep", "深") + f"<record>{deep}</record>", "p3"))
    assert_page_skipped(run, found, seeded, "Excessive depth")


def test_invalid_utf8_is_repaired_and_noted(seeded: Seeded, server: Server) -> None:
    hostile = page(record("bad-bytes", "勾股\udcff定理").replace("\udcff", "@@"), "p3").replace(b"@@", b"\xff\xfe")
    run, found = run_chain(seeded, server, hostile)
    assert found == [] and run.status == "succeeded"
    assert any("invalid character" in e for e in run.errors)
    assert "勾股\ufffd\ufffd定理" in titles(seeded.store, "hostile")


def test_page_cut_off_halfway_without_a_token_fails_clearly(seeded: Seeded, server: Server) -> None:
    whole = page(record("cut-1", "半页记录") + record("cut-2", "丢失的记录"), "p3")
    cut = whole[: whole.index(b"cut-2") + 3]  # the resumption token is in the lost half
    run, found = run_chain(seeded, server, cut)
    assert [q.stage for q in found] == ["parse"] and "Premature end of data" in found[0].reason
    assert run.status == "failed" and "holds no usable resumption token" in run.message
    assert titles(seeded.store, "hostile") == {"勾股定理 第一课时", "勾股定理 第二课时"}
    assert run.checkpoint["token"] == "p2"  # the next run resumes at the broken page


def test_envelope_in_another_oai_namespace_is_read_by_local_name(seeded: Seeded, server: Server) -> None:
    """Decided: the envelope is matched by local name (old 1.1 servers exist); each record's
    metadata is still checked by its own namespace, so nothing unmapped slips in."""
    hostile = page(record("ns", "旧命名空间的信封"), "p3", oai_ns="http://www.openarchives.org/OAI/1.1/")
    run, found = run_chain(seeded, server, hostile)
    assert run.status == "succeeded" and found == []
    assert "旧命名空间的信封" in titles(seeded.store, "hostile")


def test_a_feed_in_another_vocabulary_is_not_an_oai_response(seeded: Seeded, server: Server) -> None:
    feed = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>news</title>'
            b"<entry><title>not a record</title></entry></feed>")
    run, found = run_chain(seeded, server, feed)
    assert [(q.stage, q.reason) for q in found] == [("parse", "not an OAI-PMH response")] and found[0].raw == feed
    assert run.status == "failed"
    assert titles(seeded.store, "hostile") == {"勾股定理 第一课时", "勾股定理 第二课时"}


def test_record_in_the_wrong_dc_namespace_is_quarantined_alone(seeded: Seeded, server: Server) -> None:
    hostile = page(record("wrong-dc", "错误的 DC", dc_ns="http://example.org/not-dc/") + record("fine", "同页好记录"),
                   "p3")
    run, found = run_chain(seeded, server, hostile)
    assert run.status == "succeeded", run.message
    assert len(found) == 1 and found[0].locator == "wrong-dc" and "title" in found[0].reason
    assert {"同页好记录", "勾股定理的逆定理"} <= titles(seeded.store, "hostile")


def test_html_served_as_xml_is_quarantined(seeded: Seeded, server: Server) -> None:
    html = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>Bad Gateway<br><p>nginx</body></html>")
    run, found = run_chain(seeded, server, html)
    assert [q.stage for q in found] == ["parse"] and "does not parse" in found[0].reason
    assert found[0].raw == html
    assert run.status == "failed"


def test_a_200_mb_response_is_cut_off_at_the_cap(seeded: Seeded) -> None:
    """The client stops reading at max_bytes; neither side ever holds the 200 MB."""
    chunk = b"<x>" + b"a" * 65_530 + b"</x>"
    total = 200 * 1024 * 1024

    def body(path: str) -> Iterator[bytes]:
        if "verb=Identify" in path:
            yield IDENTIFY
            return
        yield page("", None)[:-len(b"</ListRecords></OAI-PMH>")]
        for _ in range(total // len(chunk)):
            yield chunk

    streaming = StreamServer(body)
    try:
        seeded.store.add_source("huge", "oai", streaming.url + "/oai", level="school",
                                options={"prefix": "oai_dc", "max_bytes": 2 * 1024 * 1024, "retries": 0})
        start = time.monotonic()
        run = harvest(seeded.store, "huge")
        assert time.monotonic() - start < 30
        assert streaming.done.wait(10)
    finally:
        streaming.close()
    assert run.status == "failed" and "above the 2097152-byte cap" in run.message
    assert streaming.sent < 40 * 1024 * 1024, streaming.sent  # stopped early, not read to the end
    found = quarantined(seeded.store, "huge")
    assert [q.stage for q in found] == ["fetch"] and "HARVEST_MAX_BYTES" in found[0].reason
    seeded.assert_untouched()
