"""Corpus-backed OAI-PMH endpoints and store helpers shared by the OAI harvester tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repository.settings import Settings
from repository.store import Store
from tests.harvester.servers import OaiApp, chain_by_file_name, chain_by_request

CASSETTES = "oai-pmh/oaipmh-scythe-cassettes"


def sickle_app(corpus: Path) -> OaiApp:
    """sickle's 4-page chain; each token is the next file's name; day granularity."""
    folder = corpus / "oai-pmh/sickle"
    return OaiApp((folder / "Identify.xml").read_bytes(), chain_by_file_name(folder, "ListRecords.xml"))


def zenodo_pages(corpus: Path) -> dict[str | None, bytes]:
    """Three real zenodo.org pages chained by their real (opaque) tokens; seconds granularity."""
    folder = corpus / CASSETTES
    return chain_by_request(
        folder / "zenodo_ListRecords_meta-oai_dc_http200.xml",
        [folder / "zenodo_ListRecords_token-page2_http200_2.xml",
         folder / "zenodo_ListRecords_token-page2_http200.xml"],
    )


def zenodo_app(corpus: Path) -> OaiApp:
    return OaiApp((corpus / CASSETTES / "zenodo_Identify_http200.xml").read_bytes(), zenodo_pages(corpus))


def tokens(pages: dict[str | None, bytes]) -> list[str]:
    """The chain's tokens in order."""
    from tests.harvester.servers import token_of

    found, page = [], pages[None]
    while (token := token_of(page)) is not None:
        found.append(token)
        page = pages[token]
    return found


def add_oai(store: Store, url: str, name: str = "oai-src", **options: Any) -> str:
    store.add_source(name, "oai", url, level="municipal", options={"prefix": "oai_dc", **options})
    return name


def snapshot(store: Store, name: str) -> dict[str, tuple[str, bool, str]]:
    """source_record_id -> (title, deleted, content hash): what a harvest left in the store."""
    out = {}
    for record in store.iter_records(source=name, include_deleted=True):
        stored = store.get_stored(record.id)
        assert stored is not None
        out[record.source_record_id] = (record.title, record.deleted, stored.content_hash)
    return out


def harvest(store: Store, name: str, **kw: Any) -> Any:
    from harvester.runner import harvest_source

    return harvest_source(store, name, settings=Settings(), **kw)


def list_requests(server: Any) -> list[dict[str, str]]:
    return [r.params for r in server.requests if r.params.get("verb") == "ListRecords"]
