"""OAI-PMH harvesting over HTTP against real captured responses served locally."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from harvester.runner import HarvestBusy, Progress, harvest_source
from repository.ingest import LOCK_PREFIX
from repository.settings import Settings
from repository.store import Store
from schemas.crosswalks.oai_envelope import parse_datestamp
from tests.harvester.oai_support import (
    CASSETTES,
    add_oai,
    harvest,
    list_requests,
    sickle_app,
    snapshot,
    tokens,
    zenodo_app,
    zenodo_pages,
)
from tests.harvester.servers import OaiApp, Reply, Request, Server

OAI = "{http://www.openarchives.org/OAI/2.0/}"


def test_sickle_chain_is_followed_page_to_page(store: Store, server: Server, corpus: Path) -> None:
    server.app = app = sickle_app(corpus)
    seen: list[Progress] = []
    run = harvest(store, add_oai(store, server.url + "/oai"), progress=seen.append)
    assert run.status == "succeeded", run.message
    assert [r.get("resumptionToken") for r in list_requests(server)] == [None, *tokens(app.pages)]
    assert server.requests[0].params == {"verb": "Identify"}
    assert list_requests(server)[0] == {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    assert run.pages == 4 and [p.pages for p in seen] == [1, 2, 3, 4] and seen[0].total == 8
    records = snapshot(store, "oai-src")
    assert list(records) == ["oai:test.example.com:1585322"]
    assert records["oai:test.example.com:1585322"][0] == "Sample Title"
    facts = run.checkpoint["identify"]
    assert facts["granularity"] == "YYYY-MM-DD" and facts["deletedRecord"] == "persistent"
    assert run.checkpoint["token"] is None and run.checkpoint["complete"] is True
    reasons = [q.reason for q in store.list_quarantine("oai-src")]
    assert reasons == ["deleted record has no identifier"]  # ListRecords4's header has neither id nor date


def test_raw_payload_is_the_records_own_xml(store: Store, server: Server, corpus: Path) -> None:
    from schemas.record import record_id

    server.app = zenodo_app(corpus)
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "succeeded", run.message
    raw = store.get_raw(record_id("oai-src", "oai:zenodo.org:8435696"))
    assert raw is not None and raw.format == "oai_dc"
    element = etree.fromstring(raw.content)
    assert element.tag == f"{OAI}record"
    assert element.findtext(f"{OAI}header/{OAI}identifier") == "oai:zenodo.org:8435696"
    assert b"<resumptionToken" not in raw.content and b"ListRecords" not in raw.content


def test_zenodo_real_token_chain_with_eta(store: Store, server: Server, corpus: Path) -> None:
    server.app = app = zenodo_app(corpus)
    seen: list[Progress] = []
    run = harvest(store, add_oai(store, server.url + "/oai"), progress=seen.append)
    assert run.status == "succeeded", run.message
    assert [r.get("resumptionToken") for r in list_requests(server)] == [None, *tokens(app.pages)]
    assert run.checkpoint["identify"]["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert run.checkpoint["identify"]["deletedRecord"] == "no"
    records = snapshot(store, "oai-src")
    assert len(records) == 8 and "oai:zenodo.org:8433364" not in records  # deleted, never seen alive
    assert run.added == 8 and run.unchanged == 1
    assert seen[0].total == 8091628 and seen[0].eta is not None and seen[0].eta > 0
    assert seen[1].position == 53  # cursor 50 + 3 records on that page


def test_incremental_run_sends_from_in_seconds_and_applies_changes(
        store: Store, server: Server, corpus: Path) -> None:
    server.app = zenodo_app(corpus)
    name = add_oai(store, server.url + "/oai")
    first = harvest(store, name)
    assert first.status == "succeeded"
    page = etree.fromstring(zenodo_pages(corpus)[None])
    records = page.findall(f"{OAI}ListRecords/{OAI}record")
    records[0].find(".//{http://purl.org/dc/elements/1.1/}title").text = "勾股定理（修订版）"
    header = records[1].find(f"{OAI}header")
    header.set("status", "deleted")
    records[1].remove(records[1].find(f"{OAI}metadata"))
    token = page.find(f"{OAI}ListRecords/{OAI}resumptionToken")
    token.getparent().remove(token)
    server.app = OaiApp((corpus / CASSETTES / "zenodo_Identify_http200.xml").read_bytes(),
                        {None: etree.tostring(page, xml_declaration=True, encoding="utf-8")})
    second = harvest(store, name)
    assert second.status == "succeeded", second.message
    sent = list_requests(server)[-1]["from"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sent)
    expected = first.started - timedelta(seconds=Settings()["HARVEST_OVERLAP"])
    assert abs((parse_datestamp(sent) - expected).total_seconds()) < 2
    assert (second.updated, second.deleted, second.added) == (1, 1, 0)
    after = snapshot(store, name)
    assert after["oai:zenodo.org:8435696"][0] == "勾股定理（修订版）"
    assert after["oai:zenodo.org:8435639"][1] is True
    assert len(after) == 8


def test_day_granularity_server_gets_a_date(store: Store, server: Server, corpus: Path) -> None:
    server.app = sickle_app(corpus)
    name = add_oai(store, server.url + "/oai")
    first = harvest(store, name)
    second = harvest(store, name)
    assert second.status == "succeeded"
    sent = list_requests(server)[-4]
    assert sent["from"] == (first.started - timedelta(hours=1)).strftime("%Y-%m-%d")
    assert second.added == 0 and second.updated == 0


def test_no_records_match_is_success_with_zero_records(store: Store, server: Server, corpus: Path) -> None:
    empty = (corpus / "oai-pmh/invenio-oaiharvester/sample_empty_response.xml").read_bytes()
    server.app = OaiApp((corpus / "oai-pmh/sickle/Identify.xml").read_bytes(), {None: empty})
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "succeeded" and run.pages == 0 and run.added == 0
    assert store.list_quarantine() == []


def test_other_protocol_errors_fail_the_run_clearly(store: Store, server: Server, corpus: Path) -> None:
    page = (corpus / "oai-pmh/sickle/cannotDisseminateFormat.xml").read_bytes()
    server.app = OaiApp((corpus / "oai-pmh/sickle/Identify.xml").read_bytes(), {None: page})
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "failed" and "cannotDisseminateFormat" in run.message


def test_expired_token_reharvests_the_window_without_duplicates(
        store: Store, server: Server, corpus: Path) -> None:
    server.app = app = zenodo_app(corpus)
    second_token = tokens(app.pages)[1]
    expired = (corpus / "oai-pmh/vufindharvest/token_error_response.xml").read_bytes()
    app.faults[second_token] = [Reply(body=expired)]
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "succeeded", run.message
    asked = [r.get("resumptionToken") for r in list_requests(server)]
    assert asked == [None, tokens(app.pages)[0], second_token, None, *tokens(app.pages)]
    assert any("badResumptionToken" in e for e in run.errors)
    assert len(snapshot(store, "oai-src")) == 8 == store.count_records(source="oai-src")
    # the window's first two pages came twice: the second time every record was "unchanged"
    assert run.added == 8 and run.unchanged == 1 + 3 + 3  # 1 deletion of an unknown id, then 6 seen again


def test_repeating_token_stops_the_loop(store: Store, server: Server, corpus: Path) -> None:
    folder = corpus / "oai-pmh/sickle"
    looping = {None: (folder / "ListRecords.xml").read_bytes(),
               "ListRecords2.xml": (folder / "ListRecords.xml").read_bytes()}  # hands out ListRecords2.xml again
    server.app = OaiApp((folder / "Identify.xml").read_bytes(), looping)
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "failed" and "came back again" in run.message
    assert len(list_requests(server)) == 2
    assert run.checkpoint["token"] is None  # the next run starts the window afresh
    assert "oai:test.example.com:1585322" in snapshot(store, "oai-src")  # what was read is kept


def test_invalid_utf8_and_control_characters_are_stripped(store: Store, server: Server, corpus: Path) -> None:
    pages = zenodo_pages(corpus)
    first = pages[None]
    start = first.index(b"<dc:title>") + len(b"<dc:title>")
    rest = first[start:].replace(b"</dc:creator>", b"&#x1;</dc:creator>", 1)
    pages[None] = first[:start] + b"\x01\x0b\xff\xfe" + rest
    server.app = OaiApp((corpus / CASSETTES / "zenodo_Identify_http200.xml").read_bytes(), pages)
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "succeeded", run.message
    assert any("invalid character" in e for e in run.errors)
    titles = [t for t, _, _ in snapshot(store, "oai-src").values()]
    assert len(titles) == 8 and not any(re.search("[\x00-\x1f]", t) for t in titles)


def test_page_cut_off_halfway_is_quarantined_and_the_next_run_resumes(
        store: Store, server: Server, corpus: Path) -> None:
    server.app = app = zenodo_app(corpus)
    token = tokens(app.pages)[0]
    whole = app.pages[token]
    app.pages[token] = whole[: len(whole) // 2]  # a consistent Content-Length: the server really sends half
    name = add_oai(store, server.url + "/oai")
    run = harvest(store, name)
    assert run.status == "failed" and "could not be parsed" in run.message
    entry = store.list_quarantine(name)[-1]
    assert entry.stage == "parse" and entry.raw == whole[: len(whole) // 2]
    assert run.checkpoint["token"] == token
    assert sum(1 for r in list_requests(server) if r.get("resumptionToken") == token) == 2  # fetched twice
    app.pages[token] = whole
    again = harvest(store, name)
    assert again.status == "succeeded", again.message
    assert list_requests(server)[-2].get("resumptionToken") == token  # resumed, not restarted
    assert again.checkpoint["resumed_from"] == run.id
    assert len(snapshot(store, name)) == 8


def test_broken_page_with_a_readable_token_is_skipped(store: Store, server: Server, corpus: Path) -> None:
    server.app = app = sickle_app(corpus)
    app.pages["ListRecords2.xml"] = app.pages["ListRecords2.xml"].replace(b"</dc:title>", b"</dc:titel>")
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "failed" and "1 page(s) could not be parsed and were skipped" in run.message
    assert [r.get("resumptionToken") for r in list_requests(server)][-2:] == ["ListRecords3.xml", "ListRecords4.xml"]
    assert any(q.stage == "parse" and b"</dc:titel>" in (q.raw or b"") for q in store.list_quarantine())


def test_transient_failures_on_pages_are_retried(store: Store, server: Server, corpus: Path) -> None:
    server.app = app = zenodo_app(corpus)
    first, second = tokens(app.pages)
    app.faults["Identify"] = [Reply(503, headers={"Retry-After": "0"})]
    app.faults[None] = [Reply(500), Reply(429, headers={"Retry-After": "1"})]
    app.faults[first] = [Reply(body=app.pages[first], fault="reset")]
    app.faults[second] = [Reply(body=app.pages[second], fault="cut")]
    app.compress = True
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "succeeded", run.message
    assert len(snapshot(store, "oai-src")) == 8 and len(server.requests) == 2 + 3 + 2 + 2


def test_slow_server_fails_the_run_and_keeps_the_token(
        store: Store, server: Server, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIJU_HARVEST_TIMEOUT", "0.2")
    monkeypatch.setenv("HUIJU_HARVEST_RETRIES", "1")
    server.app = app = zenodo_app(corpus)
    token = tokens(app.pages)[0]
    app.faults[token] = [Reply(body=app.pages[token], delay=0.5)] * 2
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "failed" and "timed out" in run.message.lower()
    assert run.checkpoint["token"] == token and run.pages == 1


def test_page_above_the_size_cap_is_quarantined(
        store: Store, server: Server, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIJU_HARVEST_MAX_BYTES", "100000")
    server.app = app = zenodo_app(corpus)
    token = tokens(app.pages)[0]
    app.pages[token] = app.pages[token].replace(b"</OAI-PMH>", b"<!--" + b"x" * 200_000 + b"--></OAI-PMH>")
    run = harvest(store, add_oai(store, server.url + "/oai"))
    assert run.status == "failed" and "cap" in run.message
    assert store.list_quarantine()[-1].stage == "fetch"


def test_marc21_pages_map_through_marcxml(store: Store, server: Server, corpus: Path) -> None:
    folder = corpus / "oai-pmh"
    second = folder / "invenio-oaiharvester/sample_inspire_response_listrecords.xml"
    pages = {None: (folder / "vufindharvest/marc.xml").read_bytes(), "fakeresumptiontoken": second.read_bytes()}
    server.app = OaiApp((folder / "vufindharvest/identify_response.xml").read_bytes(), pages)
    name = add_oai(store, server.url + "/oai", prefix="marc21")
    run = harvest(store, name)
    assert run.status == "succeeded", run.message
    assert list_requests(server)[0]["metadataPrefix"] == "marc21"
    assert run.added == 100 + 2 and run.quarantined == 0  # Alma page, then the INSPIRE page
    some = next(iter(store.iter_records(source=name)))
    raw = store.get_raw(some.id)
    assert raw is not None and raw.format == "marcxml"


def test_unknown_prefix_needs_a_format(store: Store, server: Server, corpus: Path) -> None:
    server.app = sickle_app(corpus)
    run = harvest(store, add_oai(store, server.url + "/oai", prefix="datacite"))
    assert run.status == "failed" and "format=" in run.message


def test_second_concurrent_harvest_of_a_source_is_refused(store: Store, server: Server, corpus: Path) -> None:
    server.app = app = zenodo_app(corpus)
    token = tokens(app.pages)[0]
    reached, release = threading.Event(), threading.Event()

    def hold(request: Request) -> None:
        if request.params.get("resumptionToken") == token:
            reached.set()
            release.wait(10)

    app.before = hold
    name = add_oai(store, server.url + "/oai")
    result: list = []
    worker = threading.Thread(target=lambda: result.append(harvest(store, name)))
    worker.start()
    try:
        assert reached.wait(10)
        with pytest.raises(HarvestBusy, match="already being harvested"):
            harvest(store, name)
    finally:
        release.set()
        worker.join(10)
    assert result[0].status == "succeeded"
    assert store.get_setting(LOCK_PREFIX + name) is None
    assert harvest(store, name).status == "succeeded"  # the lock was released


def test_a_dead_processes_lock_and_run_are_taken_over(store: Store, server: Server, corpus: Path) -> None:
    import socket
    import subprocess
    import sys

    server.app = zenodo_app(corpus)
    name = add_oai(store, server.url + "/oai")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = store.start_run(name)
    store.set_setting(LOCK_PREFIX + name, {"pid": int(dead.stdout), "host": socket.gethostname(),
                                           "run": orphan.id, "beat": datetime.now().astimezone().isoformat()})
    run = harvest(store, name)
    assert run.status == "succeeded"
    assert store.get_run(orphan.id).status == "interrupted"


def test_unknown_source_and_unharvestable_kind(store: Store, settings: Settings) -> None:
    with pytest.raises(KeyError):
        harvest_source(store, "nope", settings=settings)
    store.add_source("imported", "file", "/tmp/x.jsonl", level="school")
    with pytest.raises(ValueError, match="imported, not harvested"):
        harvest_source(store, "imported", settings=settings)


def test_remap_maps_stored_payloads_again_without_fetching(store: Store, server: Server, corpus: Path) -> None:
    import msgspec

    from repository.ingest import remap_source
    from schemas.record import record_id

    server.app = zenodo_app(corpus)
    name = add_oai(store, server.url + "/oai")
    assert harvest(store, name).status == "succeeded"
    asked = len(server.requests)
    rid = record_id(name, "oai:zenodo.org:8435696")
    stale = msgspec.structs.replace(store.get_record(rid), title="mapped by an older crosswalk")
    store.upsert_records(name, [stale])
    report = remap_source(store, name)
    assert (report.read, report.updated, report.unchanged) == (8, 1, 7)
    assert store.get_record(rid).title != "mapped by an older crosswalk"
    assert len(server.requests) == asked


def test_oai_errors_in_4xx_bodies_and_plain_http_errors(store: Store, server: Server, corpus: Path) -> None:
    identify = (corpus / CASSETTES / "zenodo_Identify_http200.xml").read_bytes()
    refused = (corpus / CASSETTES / "zenodo_ListRecords_meta-XXX_http422.xml").read_bytes()
    app = OaiApp(identify, {})
    app.faults[None] = [Reply(422, body=refused)]  # zenodo answers protocol errors with HTTP 422
    server.app = app
    name = add_oai(store, server.url + "/oai")
    run = harvest(store, name)
    assert run.status == "failed" and "badArgument: metadataPrefix does not exist" in run.message
    app.faults[None] = [Reply(404, body=b"<html><body>Not Found</body></html>", content_type="text/html")]
    run = harvest(store, name)
    assert run.status == "failed" and "HTTP 404" in run.message
    assert store.list_quarantine(name)[-1].stage == "fetch"
