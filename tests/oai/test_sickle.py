"""A real third-party client (Sickle) harvests the provider over a real loopback HTTP server.

The sample federation goes through the pipeline; only the city source is
approved, so exactly the works with a city record are published. A WSGI
wrapper validates every OAI-PMH body the server sends against the XSDs.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sickle import Sickle
from werkzeug.serving import make_server

from repository.app import create_app
from repository.sample import sample_records
from repository.store import Store
from tests.oai.conftest import Pipeline, settings_for
from tests.oai.xsd import response_errors

NAMESPACES = {"oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/", "lom": "http://ltsc.ieee.org/xsd/LOM",
              "marc21": "http://www.loc.gov/MARC21/slim", "lrmi": "https://huiju.invalid/ns/lrmi-jsonld/1.0"}


class Validating:
    """WSGI middleware: schema-check every /oai response body, remember the problems."""

    def __init__(self, app: Callable[..., Any], check: Callable[[bytes], list[str]]) -> None:
        self.app, self.check = app, check
        self.problems: list[str] = []
        self.responses = 0

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=dict(headers))
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, start))
        if environ["PATH_INFO"] == "/oai" and captured["status"].startswith("200"):
            encoding = captured["headers"].get("Content-Encoding")
            plain = gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body) if encoding == "deflate" \
                else body
            self.responses += 1
            self.problems += self.check(plain)
        return [body]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, xsd_dir: Path, ours: Path) -> Iterator[tuple[str, Any, dict]]:
    tmp = tmp_path_factory.mktemp("sickle")
    store = Store(f"sqlite:///{tmp / 'huiju.db'}")
    store.init()
    pipeline = Pipeline(store, tmp)
    records = list(sample_records())
    pipeline.load(records)
    pipeline.dedupe()
    pipeline.approve("city")
    city = [r for r in records if r.source == "city"]
    expected = {
        "all": {pipeline.work_of(r) for r in city},
        "subject:math": {pipeline.work_of(r) for r in city if r.curriculum.subject.code == "math"},
        "source:national": {pipeline.work_of(r) for r in city} & {pipeline.work_of(r) for r in records
                                                                  if r.source == "national"},
    }
    app = create_app(settings_for(tmp, OAI_PAGE_SIZE=50), store=store)
    wrapped = Validating(app, lambda body: response_errors(body, xsd_dir, ours))
    server = make_server("127.0.0.1", 0, wrapped, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oai", wrapped, expected
    finally:
        server.shutdown()
        thread.join(10)
        store.close()


def work_ids(identifiers: Iterable[str]) -> list[str]:
    return [i.rsplit(":", 1)[1] for i in identifiers]


@pytest.mark.parametrize("prefix", ["oai_dc", "lom", "marc21", "lrmi"])
def test_sickle_harvests_exactly_the_approved_works(served: tuple[str, Any, dict], prefix: str) -> None:
    url, checker, expected = served
    before = checker.responses
    records = list(Sickle(url, max_retries=1).ListRecords(metadataPrefix=prefix, ignore_deleted=False))
    ids = work_ids(r.header.identifier for r in records)
    assert len(ids) == len(set(ids)) and set(ids) == expected["all"]
    assert not any(r.deleted for r in records)
    assert all(r.xml.find(f".//{{{NAMESPACES[prefix]}}}*") is not None for r in records)  # each has its payload
    assert checker.responses - before == -(-len(ids) // 50)  # one response per page of 50
    assert checker.problems == []


@pytest.mark.parametrize("spec", ["subject:math", "source:national"])
def test_sickle_harvests_a_set(served: tuple[str, Any, dict], spec: str) -> None:
    url, checker, expected = served
    headers = list(Sickle(url, http_method="POST").ListIdentifiers(metadataPrefix="oai_dc", set=spec))
    ids = work_ids(h.identifier for h in headers)
    assert expected[spec] and len(ids) == len(set(ids)) and set(ids) == expected[spec]
    assert all(spec in h.setSpecs for h in headers)
    assert checker.problems == []


def test_sickle_reads_identify_and_sets(served: tuple[str, Any, dict]) -> None:
    url, checker, _ = served
    client = Sickle(url)
    identify = client.Identify()
    assert identify.protocolVersion == "2.0" and identify.deletedRecord == "persistent"
    names = {s.setSpec: s.setName for s in client.ListSets()}
    assert names["subject:math"] == "学科：数学"
    assert {f.metadataPrefix for f in client.ListMetadataFormats()} == {"oai_dc", "lom", "marc21", "lrmi"}
    assert checker.problems == []
