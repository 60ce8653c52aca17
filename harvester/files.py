"""The "marc" and "rdf" kinds: one file (a path or a URL) imported through the readers.

Such sources are dumps that a library system or a linked-data publisher
rewrites now and then, so a run reads the whole file; when its bytes are the
ones the last successful run imported, the run stops there (nothing changed,
and the file is not stored a second time). A URL is downloaded to a
temporary file (up to HARVEST_MAX_FILE_BYTES), and MARCXML collections and
self-contained Turtle are read in pieces of a few hundred records
(harvester/dumps.py), so a dump of any size costs the memory of one piece;
other files are read whole, within HARVEST_MAX_BYTES. What was read (each
piece, or the whole file) is kept as per-file raw payloads, so `huiju remap`
re-reads it without fetching. Bad records go to the quarantine; a file of
which no record could be stored fails the run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from harvester.dumps import Spooled, digest_of, marcxml_pieces, spool_file, turtle_pieces
from harvester.http import FetchError
from harvester.runner import HarvestFailed, Reporter
from repository.ingest import store_results
from repository.store import Store
from schemas.crosswalks import READERS, ReadResult, Rejected, reader


@contextmanager
def fetched(location: str, progress: Reporter) -> Iterator[Spooled]:
    """The file on disk: a URL downloaded to a temporary file (removed afterwards), a path as it is."""
    if not location.startswith(("http://", "https://")):
        path = Path(location.removeprefix("file://")).expanduser()
        try:
            local = spool_file(path)
        except OSError as exc:
            raise HarvestFailed(f"{path}: {exc.strerror or exc}") from None
        yield local
        return
    options = progress.source.options or {}
    cap = int(options.get("max_bytes") or progress.settings["HARVEST_MAX_FILE_BYTES"])
    handle = tempfile.NamedTemporaryFile(prefix="huiju-dump-", delete=False)  # noqa: SIM115 - removed below
    try:
        with handle:
            try:
                response = progress.client().download(location, handle, max_bytes=cap)
            except FetchError as exc:
                raise HarvestFailed(f"{location}: {exc.reason}") from None
            if not response.ok:
                raise HarvestFailed(f"{location}: HTTP {response.status}")
            handle.flush()
            digest, size = digest_of(handle)
        yield Spooled(Path(handle.name), digest, size)
    finally:
        os.unlink(handle.name)


def pieces_of(fmt: str, dump: Spooled) -> Iterator[bytes] | None:
    """The file as small documents when its format and layout allow (see harvester/dumps.py), else None."""
    if fmt == "marcxml":
        return marcxml_pieces(dump.path)
    if fmt == "rdf" and _looks_like_turtle(dump.path):
        return turtle_pieces(dump.path)
    return None


def _looks_like_turtle(path: Path) -> bool:
    with path.open("rb") as fh:
        for line in fh:
            text = line.strip()
            if text and not text.startswith(b"#"):
                return text.lower().startswith((b"@prefix", b"prefix", b"@base", b"base"))
    return False


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


def _unchanged(store: Store, source: Any, run: Any, state: dict[str, Any]) -> bool:
    """Whether the file's bytes are those the last successful run imported (then the run stops here,
    noting it); option force=true reads it anyway."""
    force = str((source.options or {}).get("force", "")).lower() in ("1", "true", "yes")
    last = store.last_run(source, status="succeeded")
    if force or last is None or (last.checkpoint or {}).get("sha256") != state["sha256"]:
        return False
    store.checkpoint(run, {**state, "unchanged": True}, pages=0)
    return True


def _read_whole(store: Store, source: Any, run: Any, progress: Reporter, fmt: str, data: bytes,
                state: dict[str, Any]) -> None:
    """The file read in one go and kept whole; fails the run when every record is refused."""
    store.save_payload(source, run, fmt, data, sha256=state["sha256"])
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


def import_dump(store: Store, source: Any, run: Any, progress: Reporter, fmt: str, dump: Spooled) -> None:
    """A file on disk: in pieces when it can be cut, else whole (within HARVEST_MAX_BYTES); nothing when its
    bytes are those the last successful run imported."""
    if fmt not in READERS:
        raise HarvestFailed(f"unknown format {fmt!r}; choose from {', '.join(READERS)}")
    state = {"sha256": dump.sha256, "format": fmt, "bytes": dump.size}
    if _unchanged(store, source, run, state):
        return
    pieces = pieces_of(fmt, dump)
    if pieces is None:
        limit = progress.client().max_bytes
        if dump.size > limit:
            raise HarvestFailed(f"the file is {dump.size} bytes and cannot be read in pieces (only MARCXML "
                                f"collections and self-contained Turtle can): above the {limit}-byte cap for "
                                "a file read whole (HARVEST_MAX_BYTES, or the source's option max_bytes)")
        _read_whole(store, source, run, progress, fmt, dump.path.read_bytes(), state)
        return
    read = reader(fmt)

    def results() -> Iterator[ReadResult]:
        for number, piece in enumerate(pieces, start=1):
            store.save_payload(source, run, fmt, piece)
            for result in read(piece, source=source.name):
                if isinstance(result, Rejected) and not result.raw:
                    result = msgspec.structs.replace(result, raw=piece)
                if isinstance(result, Rejected) and result.locator in ("", "document"):
                    result = msgspec.structs.replace(result, locator=f"piece {number}")
                yield result

    batch = progress.settings["IMPORT_BATCH_SIZE"]
    report = store_results(store, source, _counted(results(), progress, batch), run=run, batch_size=batch,
                           level=source.level)
    store.checkpoint(run, {**state, "pieces": True}, pages=1)
    if not (report.added + report.updated + report.unchanged + report.deleted) and report.rejected:
        raise HarvestFailed(f"no records from the file (read as {fmt}): {report.reasons.most_common(1)[0][0]}")


def harvest_marc(store: Store, source: Any, run: Any, progress: Reporter) -> None:
    """MARC 21: ISO 2709 / MARC-in-JSON ("marc" reader) or MARCXML, sniffed unless option format= says."""
    with fetched(source.location, progress) as dump:
        with dump.path.open("rb") as fh:
            head = fh.read(4096)
        fmt = (source.options or {}).get("format") or ("marcxml" if head.lstrip()[:1] == b"<" else "marc")
        import_dump(store, source, run, progress, fmt, dump)


def harvest_rdf(store: Store, source: Any, run: Any, progress: Reporter) -> None:
    """RDF dumps (Turtle, RDF/XML, N-Triples, JSON-LD); option format=lrmi for schema.org pages."""
    with fetched(source.location, progress) as dump:
        import_dump(store, source, run, progress, (source.options or {}).get("format") or "rdf", dump)
