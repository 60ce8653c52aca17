"""The marc and rdf kinds: a local file or a URL, imported through the readers."""

from __future__ import annotations

from pathlib import Path

from repository.ingest import remap_source
from repository.store import Store
from tests.harvester.oai_support import harvest
from tests.harvester.servers import Reply, Request, Server


def test_marc_file_by_path_then_unchanged(store: Store, corpus: Path) -> None:
    store.add_source("library", "marc", str(corpus / "marc/pymarc/test.dat"), level="district")
    run = harvest(store, "library")
    assert run.status == "succeeded" and run.added == 10 and run.checkpoint["format"] == "marc"
    again = harvest(store, "library")
    assert again.status == "succeeded" and again.checkpoint["unchanged"] is True and again.added == 0
    report = remap_source(store, "library")
    assert report.read == 10 and report.unchanged == 10  # one stored file payload, not two


def test_bad_marc_records_are_quarantined_and_the_rest_stored(store: Store, corpus: Path) -> None:
    store.add_source("ruby", "marc", str(corpus / "marc/ruby-marc/three-records-second-bad.xml"), level="district")
    run = harvest(store, "ruby")
    # records 1 and 3 are the same record (same 001): one row
    assert run.status == "succeeded" and (run.added, run.quarantined) == (1, 1)
    entry = store.list_quarantine("ruby")[0]
    assert entry.stage == "parse" and entry.raw and "record 2" in entry.locator


def test_marcxml_by_url_is_sniffed(store: Store, server: Server, corpus: Path) -> None:
    data = (corpus / "marc/pymarc/batch.xml").read_bytes()
    server.app = lambda _r: Reply(body=data, compress=True)
    store.add_source("batch", "marc", server.url + "/export/batch.xml", level="provincial")
    run = harvest(store, "batch")
    assert run.status == "succeeded" and run.added == 2 and run.checkpoint["format"] == "marcxml"
    assert server.requests[0].headers["user-agent"].startswith("Huiju/")


def test_rdf_jsonld_by_url_and_remap(store: Store, server: Server, corpus: Path) -> None:
    data = (corpus / "lrmi/dcmi-lrmi/LRexample01.jsonld").read_bytes()
    server.app = lambda _r: Reply(body=data, content_type="application/ld+json")
    store.add_source("lod", "rdf", server.url + "/dump.jsonld", level="national")
    run = harvest(store, "lod")
    assert run.status == "succeeded" and run.added == 1
    assert remap_source(store, "lod").unchanged == 1


def test_unreadable_rdf_fails_with_the_reason(store: Store, corpus: Path) -> None:
    store.add_source("broken", "rdf", str(corpus / "rdf/dcmi-lrmi/vocabs/ex_lecture.ttl"), level="school")
    run = harvest(store, "broken")
    assert run.status == "failed" and "turtle parse error" in run.message
    assert store.list_quarantine("broken")[0].raw


def test_missing_file_and_http_error(store: Store, server: Server, tmp_path: Path) -> None:
    store.add_source("gone", "marc", str(tmp_path / "nope.mrc"), level="school")
    assert "No such file" in harvest(store, "gone").message

    def app(_request: Request) -> Reply:
        return Reply(status=404, body=b"missing")

    server.app = app
    store.add_source("404", "rdf", server.url + "/x.ttl", level="school")
    assert "HTTP 404" in harvest(store, "404").message
