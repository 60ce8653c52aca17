"""The "marc" and "rdf" kinds: one file (a path or a URL) imported through the readers.

Such sources are dumps that a library system or a linked-data publisher
rewrites now and then, so a run reads the whole file; when its bytes are the
ones the last successful run imported, the run stops there (nothing changed,
and the file is not stored a second time). The file is kept as a per-file raw
payload, so `huiju remap` re-reads it without fetching. Bad records go to the
quarantine; a file of which no record could be stored fails the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from harvester.http import FetchError
from harvester.runner import HarvestFailed, Reporter
from repository.ingest import store_results
from repository.store import Store
from schemas.crosswalks import READERS, ReadResult, Rejected, reader


def load(location: str, progress: Reporter) -> bytes:
    """The file's bytes, from a URL (through the polite client) or a local path."""
    if location.startswith(("http://", "https://")):
        try:
            response = progress.client().get(location)
        except FetchError as exc:
            raise HarvestFailed(f"{location}: {exc.reason}") from None
        if not response.ok:
            raise HarvestFailed(f"{location}: HTTP {response.status}")
        return response.content
    path = Path(location.removeprefix("file://")).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise HarvestFailed(f"{path}: {exc.strerror or exc}") from None


def _counted(results: Iterable[ReadResult], progress: Reporter, every: int) -> Iterator[ReadResult]:
    """Pass results through, reporting progress every ``every`` of them (a file is one long page)."""
    pending = 0
    for result in results:
        yield result
        pending += 1
        if pending == every:
            progress.page(pending)
            pending = 0
    if pending:
        progress.page(pending)


def import_file(store: Store, source: Any, run: Any, progress: Reporter, fmt: str, data: bytes) -> None:
    if fmt not in READERS:
        raise HarvestFailed(f"unknown format {fmt!r}; choose from {', '.join(READERS)}")
    digest = hashlib.sha256(data).hexdigest()
    force = str((source.options or {}).get("force", "")).lower() in ("1", "true", "yes")
    last = store.last_run(source, status="succeeded")
    state = {"sha256": digest, "format": fmt, "bytes": len(data)}
    if not force and last is not None and (last.checkpoint or {}).get("sha256") == digest:
        store.checkpoint(run, {**state, "unchanged": True}, pages=0)
        return
    store.save_payload(source, run, fmt, data, sha256=digest)
    whole_file: list[Rejected] = []

    def watch(results: Iterable[ReadResult]) -> Iterator[ReadResult]:
        for result in results:
            if isinstance(result, Rejected) and result.locator in ("", "document"):
                whole_file.append(result)
                if not result.raw:  # keep the bytes with the reason, as for any quarantined item
                    result = msgspec.structs.replace(result, raw=data)
            yield result

    batch = progress.settings["IMPORT_BATCH_SIZE"]
    report = store_results(store, source, _counted(watch(reader(fmt)(data, source=source.name)), progress, batch),
                           run=run, batch_size=batch, level=source.level)
    store.checkpoint(run, state, pages=1)
    stored = report.added + report.updated + report.unchanged + report.deleted
    if not stored and (whole_file or report.rejected):  # every record refused: the file is unusable
        reason = whole_file[0].reason if whole_file else report.reasons.most_common(1)[0][0]
        raise HarvestFailed(f"no records from the file (read as {fmt}): {reason}")


def harvest_marc(store: Store, source: Any, run: Any, progress: Reporter) -> None:
    """MARC 21: ISO 2709 / MARC-in-JSON ("marc" reader) or MARCXML, sniffed unless option format= says."""
    data = load(source.location, progress)
    fmt = (source.options or {}).get("format") or ("marcxml" if data.lstrip()[:1] == b"<" else "marc")
    import_file(store, source, run, progress, fmt, data)


def harvest_rdf(store: Store, source: Any, run: Any, progress: Reporter) -> None:
    """RDF dumps (Turtle, RDF/XML, N-Triples, JSON-LD); option format=lrmi for schema.org pages."""
    data = load(source.location, progress)
    import_file(store, source, run, progress, (source.options or {}).get("format") or "rdf", data)
