"""The national platform's JSON feed (国家中小学智慧教育平台): version file -> chunks.

The feed has no incremental protocol: a version file (``data_version.json``)
names a module_version and the chunk URLs (a list, or one comma-separated
string), and each chunk is a JSON array of resource objects. So a harvest
skips everything when the module_version is the one last harvested in full,
else fetches every chunk, and the difference with the previous snapshot's id
set (kept in the store as a setting) gives the records that are gone, which
are marked deleted. Deletions are applied only after *every* chunk was read:
a chunk that failed would otherwise look like thousands of deletions.
Only ``.json`` URLs are ever fetched: media files are never downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import msgspec

from harvester.http import Ahead, FetchError
from harvester.runner import HarvestFailed, Reporter
from repository.ingest import store_results
from repository.store import Store
from schemas.crosswalks import Rejected, reader
from schemas.record import Record

SNAPSHOT = "smartedu-snapshot:"
FORMAT = "smartedu"


class _Version(msgspec.Struct):
    module: str | None = None
    module_version: int | str | None = None
    urls: list[str] | str | None = None


class _Id(msgspec.Struct):
    id: str | None = None


_version_decoder = msgspec.json.Decoder(_Version)
_raws_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_id_decoder = msgspec.json.Decoder(_Id)


def chunk_urls(version_url: str, urls: list[str] | str | None) -> list[str]:
    """Absolute chunk URLs from a version file's ``urls`` (list or comma-separated string)."""
    items = urls.split(",") if isinstance(urls, str) else list(urls or [])
    return [urljoin(version_url, u.strip()) for u in items if u and u.strip()]


def raw_by_id(data: bytes) -> dict[str, bytes]:
    """Each resource object's own JSON bytes by id (its raw payload); {} for a broken chunk."""
    try:
        raws = _raws_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}
    found: dict[str, bytes] = {}
    for raw in raws:
        try:
            ident = _id_decoder.decode(raw).id
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        if ident:
            found[ident] = bytes(raw)
    return found


def harvest(store: Store, source: Any, run: Any, progress: Reporter) -> None:
    """The "smartedu" kind: location is the version file URL; option force=true re-reads an unchanged version."""
    client = progress.client()
    try:
        response = client.get(source.location)
    except FetchError as exc:
        raise HarvestFailed(f"version file: {exc.reason}") from None
    if not response.ok:
        raise HarvestFailed(f"version file: HTTP {response.status} from {response.url}")
    try:
        version = _version_decoder.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        store.quarantine(source, run, "parse", f"version file is not JSON of the expected shape: {exc}",
                         locator=response.url, raw=response.content)
        raise HarvestFailed(f"version file unreadable: {exc}") from None
    urls = chunk_urls(response.url, version.urls)
    if not urls:
        raise HarvestFailed("version file lists no chunk URLs")
    key = SNAPSHOT + source.name
    snapshot: dict[str, Any] = store.get_setting(key) or {}
    state = {"module": version.module, "module_version": version.module_version, "chunks": len(urls)}
    force = str((source.options or {}).get("force", "")).lower() in ("1", "true", "yes")
    if not force and snapshot.get("complete") and snapshot.get("module_version") == version.module_version:
        store.checkpoint(run, {**state, "unchanged": True}, pages=0)
        progress.page(0)
        return

    seen: set[str] = set()
    failed: list[str] = []
    read = reader(FORMAT)
    batch = progress.settings["IMPORT_BATCH_SIZE"]
    fetchable = [u for u in urls if _is_json(u)]
    following = dict(zip(fetchable, fetchable[1:], strict=False))
    with Ahead() as ahead:
        for number, url in enumerate(urls, start=1):
            if not _is_json(url):
                progress.error(f"chunk {number}: {url} is not a .json URL; not fetched (media are never downloaded)")
                failed.append(url)
                continue
            try:
                chunk = ahead.take(url, lambda url=url: client.get(url))
            except FetchError as exc:
                store.quarantine(source, run, "fetch", exc.reason, locator=url)
                failed.append(url)
                continue
            if url in following:  # the platform builds the next chunk while this one is mapped and stored
                ahead.start(following[url], lambda nxt=following[url]: client.get(nxt))
            _store_chunk(store, source, run, progress, chunk, url, number, state, read, batch, seen, failed)
    if failed:
        raise HarvestFailed(f"{len(failed)} of {len(urls)} chunk(s) could not be read (first: {failed[0]}); "
                            "no deletions applied, the next run reads them again")
    gone = sorted(set(snapshot.get("ids") or ()) - seen)
    if gone:
        store_results(store, source, _deletions(source.name, gone), run=run, batch_size=batch)
    store.set_setting(key, {"module_version": version.module_version, "complete": True, "run": run.id,
                            "ids": sorted(seen)})
    store.checkpoint(run, {**state, "chunks_done": len(urls), "gone": len(gone)}, pages=len(urls))


def _is_json(url: str) -> bool:
    return url.split("?", 1)[0].endswith(".json")


def _store_chunk(store: Store, source: Any, run: Any, progress: Reporter, chunk: Any, url: str, number: int,
                 state: dict[str, Any], read: Any, batch: int, seen: set[str], failed: list[str]) -> None:
    """Map and store one fetched chunk; a chunk that failed or will not parse is noted in ``failed``."""
    if not chunk.ok:
        store.quarantine(source, run, "fetch", f"HTTP {chunk.status}", locator=url, raw=chunk.content[:4096])
        failed.append(url)
        return
    results = list(read(chunk.content, source=source.name))
    if any(isinstance(r, Rejected) and r.stage == "parse" and not r.locator for r in results):
        failed.append(url)  # the whole chunk is unreadable: its ids are unknown
    raws = raw_by_id(chunk.content)
    seen.update(raws)  # present, even when unmappable now: only absence means gone
    seen.update(r.source_record_id for r in results if isinstance(r, Record))
    store_results(store, source, results, run=run, batch_size=batch, level=source.level,
                  raw={k: (FORMAT, v) for k, v in raws.items()})
    store.checkpoint(run, {**state, "chunks_done": number}, pages=number)
    progress.page(len(results))


def _deletions(source: str, ids: list[str]) -> Iterator[Record]:
    for ident in ids:
        yield Record(source=source, source_record_id=ident, title="", deleted=True)
