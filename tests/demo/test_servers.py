"""The platforms over real HTTP: a third-party OAI-PMH client pages through the municipal endpoint,
ticks show up in selective harvests, and the other servers answer like web sites."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sickle import Sickle
from sickle.oaiexceptions import BadResumptionToken, CannotDisseminateFormat, IdDoesNotExist, NoRecordsMatch

from harvester.demo import oai_server
from harvester.demo.platforms import count, items
from harvester.demo.servers import PlatformServer, ports_of, start
from harvester.demo.state import DemoState


@pytest.fixture
def platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, dict[str, str]]]:
    monkeypatch.setattr(oai_server, "PAGE", 40)
    DemoState(size=500).save(tmp_path)
    servers: list[PlatformServer] = start(tmp_path, ports={name: 0 for name in
                                                           ("national", "municipal", "haidian", "chaoyang",
                                                            "library", "partner")})
    try:
        yield tmp_path, {name: f"http://127.0.0.1:{port}" for name, port in ports_of(servers).items()}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_sickle_harvests_everything_in_pages(platforms: tuple[Path, dict[str, str]]) -> None:
    folder, bases = platforms
    client = Sickle(bases["municipal"] + "/oai", max_retries=0)
    identify = client.Identify()
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ" and identify.deletedRecord == "persistent"
    assert {f.metadataPrefix for f in client.ListMetadataFormats()} == {"oai_dc", "lom"}
    assert {s.setSpec for s in client.ListSets()} == {"primary", "junior", "senior"}
    headers = list(client.ListIdentifiers(metadataPrefix="lom"))
    state = DemoState.load(folder)
    assert len(headers) == count("municipal", state) and len({h.identifier for h in headers}) == len(headers)
    junior = list(client.ListRecords(metadataPrefix="oai_dc", set="junior"))
    assert 0 < len(junior) < len(headers) and all(r.header.setSpecs == ["junior"] for r in junior)
    one = client.GetRecord(identifier=headers[3].identifier, metadataPrefix="oai_dc")
    assert one.metadata["title"]
    for call, error in ((lambda: client.ListRecords(metadataPrefix="marc21"), CannotDisseminateFormat),
                        (lambda: client.GetRecord(identifier="oai:res.bjedu.cn:1", metadataPrefix="lom"),
                         IdDoesNotExist),
                        (lambda: list(client.ListRecords(resumptionToken="nonsense")), BadResumptionToken),
                        (lambda: client.ListRecords(metadataPrefix="lom", **{"from": "2099-01-01"}), NoRecordsMatch)):
        with pytest.raises(error):
            call()
    for query in ("verb=Nonsense", "verb=ListRecords", "verb=Identify&extra=1"):
        answer = requests.get(f"{bases['municipal']}/oai?{query}", timeout=10).text
        assert 'code="badVerb"' in answer or 'code="badArgument"' in answer, query


def test_a_tick_is_what_a_selective_harvest_sees(platforms: tuple[Path, dict[str, str]]) -> None:
    folder, bases = platforms
    state = DemoState.load(folder)
    before = count("municipal", state)
    state.advance(datetime.now(UTC).replace(microsecond=0))
    state.save(folder)
    since = state.ticks[-1].replace("+00:00", "Z")
    client = Sickle(bases["municipal"] + "/oai", max_retries=0)
    changed = list(client.ListIdentifiers(metadataPrefix="oai_dc", **{"from": since}))
    expected = [it for it in items(state, "municipal") if it.changed == 1 or it.born == 1]
    assert len(changed) == len(expected) and count("municipal", state) > before
    assert sum(h.deleted for h in changed) == sum(it.deleted for it in expected) >= 1


def test_web_sites_answer_like_web_sites(platforms: tuple[Path, dict[str, str]]) -> None:
    _, bases = platforms
    assert requests.get(bases["haidian"] + "/course/lesson-99999999.html", timeout=10).status_code == 404
    page = requests.get(bases["haidian"] + "/course/list-1.html", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    dump = requests.get(bases["library"] + "/export/catalogue.xml", timeout=30)
    assert dump.headers.get("Transfer-Encoding") == "chunked" and dump.content.rstrip().endswith(b"</collection>")
    version = requests.get(bases["national"] + "/zxx/ndrs/national_lesson/resources/data_version.json",
                           timeout=10).json()
    assert version["module"] == "national_lesson" and version["urls"][0].startswith(bases["national"])
