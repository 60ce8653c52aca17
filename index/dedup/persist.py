"""Dedup state across runs.

Two things persist, differently: the curator decision log is appended as
each decision is made (it is the only state that cannot be recomputed),
while the clustering state is a snapshot written when the caller chooses;
without one, `DedupEngine.rebuild(records, store.decisions())` recomputes it.

`StateStore` is the small interface the record store will implement (a
table for decisions, a blob for the snapshot); `MemoryStore` and
`DirectoryStore` are the in-process and on-disk versions.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import msgspec

from index.dedup.cluster import Decision
from index.dedup.frames import read_frames, write_frame
from index.dedup.lsh import ShingleLSH
from index.dedup.signals import Features, Match, compact, shared_match
from schemas.record import Record

if TYPE_CHECKING:
    from index.dedup.engine import DedupEngine, RecordLoader

SNAPSHOT_VERSION = 5  # 2: Features.fields gained the teacher; 3: written as frames, a piece at a time;
# 4: LSH rows carry their title key (query leaves the record's own title group out); 5: locators hashed


Writer = Callable[[BinaryIO], object]
"""Writes a snapshot into a binary stream (write_snapshot, bound to an engine)."""


def replace_atomically(path: Path, write: Writer, *, durable: bool = False) -> None:
    """Write `path` through a temporary file beside it, swapped in when complete: a reader (or a crash)
    sees the old file or the new one, never half of one. durable: fsync before the swap."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateStore(Protocol):
    def load(self) -> bytes | None: ...
    def save(self, snapshot: bytes) -> None: ...
    def save_streamed(self, write: Writer) -> None: ...
    def append_decision(self, decision: Decision) -> None: ...
    def decisions(self) -> list[Decision]: ...


class MemoryStore:
    def __init__(self) -> None:
        self.snapshot: bytes | None = None
        self.log: list[Decision] = []

    def load(self) -> bytes | None:
        return self.snapshot

    def save(self, snapshot: bytes) -> None:
        self.snapshot = snapshot

    def save_streamed(self, write: Writer) -> None:
        out = io.BytesIO()
        write(out)
        self.snapshot = out.getvalue()

    def append_decision(self, decision: Decision) -> None:
        self.log.append(decision)

    def decisions(self) -> list[Decision]:
        return list(self.log)


class DirectoryStore:
    """snapshot.msgpack (replaced atomically) + decisions.jsonl (append-only)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def load(self) -> bytes | None:
        file = self.path / "snapshot.msgpack"
        return file.read_bytes() if file.exists() else None

    def save(self, snapshot: bytes) -> None:
        self.save_streamed(lambda out: out.write(snapshot))

    def save_streamed(self, write: Writer) -> None:
        replace_atomically(self.path / "snapshot.msgpack", write, durable=True)

    def append_decision(self, decision: Decision) -> None:
        with open(self.path / "decisions.jsonl", "ab") as out:
            out.write(msgspec.json.encode(decision) + b"\n")

    def decisions(self) -> list[Decision]:
        file = self.path / "decisions.jsonl"
        if not file.exists():
            return []
        return [
            msgspec.json.decode(line, type=Decision)
            for line in file.read_bytes().splitlines()
            if line.strip()
        ]


class _Header(msgspec.Struct, array_like=True):
    version: int
    config: bytes
    ambiguous: list[str]
    decisions: list[Decision]
    must: list[tuple[str, str, int]]
    cannot: list[tuple[str, str, int]]
    pins: dict[str, int]


_PIECE = 50_000  # features, edges or works per frame
_features = msgspec.msgpack.Decoder(list[Features])
_edges = msgspec.msgpack.Decoder(list[tuple[str, str, Match]])
_works = msgspec.msgpack.Decoder(list[list[str]])


def _pairs(table: dict[str, dict[str, int]]) -> list[tuple[str, str, int]]:
    return [(a, b, seq) for a, row in table.items() for b, seq in row.items() if a < b]


def _pieces(out: BinaryIO, items: Iterator[Any]) -> None:
    """A section: frames of up to _PIECE items, then an empty frame (an encoded list is never empty)."""
    encode = msgspec.msgpack.encode
    while piece := list(islice(items, _PIECE)):
        write_frame(out, encode(piece))
    write_frame(out, b"")


def write_snapshot(engine: DedupEngine, out: BinaryIO) -> None:
    """The engine's state as frames (index.dedup.frames): header, LSH, then features, edges and works a
    piece at a time, so no encoding of the whole state is ever held in memory."""
    p = engine.partition
    write_frame(out, msgspec.msgpack.encode(_Header(
        version=SNAPSHOT_VERSION, config=msgspec.msgpack.encode(engine.config), ambiguous=sorted(engine.ambiguous),
        decisions=engine.decisions, must=_pairs(p.must), cannot=_pairs(p.cannot), pins=engine.pins,
    )))
    engine.lsh.write_to(out)
    _pieces(out, iter(engine.features.values()))
    _pieces(out, ((a, b, m) for a, row in engine.edges.items() for b, m in row.items() if a < b))
    _pieces(out, (sorted(ms) for ms in p.works()))


def encode_snapshot(engine: DedupEngine) -> bytes:
    out = io.BytesIO()
    write_snapshot(engine, out)
    return out.getvalue()


def _section(frames: Iterator[memoryview], decoder: msgspec.msgpack.Decoder) -> Iterator[Any]:
    for frame in frames:
        if not len(frame):
            return
        yield from decoder.decode(frame)
    raise ValueError("snapshot ends inside a section")


def decode_snapshot(
    cls: type[DedupEngine], data: bytes, loader: RecordLoader | None, store: StateStore | None
) -> DedupEngine:
    from index.dedup.engine import EngineConfig

    frames = read_frames(data)
    head = next(frames, None)
    if head is None:
        raise ValueError("empty snapshot")
    header = msgspec.msgpack.decode(head, type=_Header)
    if header.version != SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {header.version}, expected {SNAPSHOT_VERSION}: rebuild from records")
    engine = cls(msgspec.msgpack.decode(header.config, type=EngineConfig), loader, store)
    engine.lsh = ShingleLSH.read_from(frames)
    for f in map(compact, _section(frames, _features)):
        engine.features[f.rid] = f
        engine._index_key(f)
        engine._index_locators(f)
    for a, b, m in _section(frames, _edges):
        m = shared_match(m)
        engine.edges.setdefault(a, {})[b] = m
        engine.edges.setdefault(b, {})[a] = m
    p = engine.partition
    for members in _section(frames, _works):
        root = p.found(members[0], engine.features[members[0]].fields)
        for rid in members[1:]:
            root = p.union(root, p.found(rid, engine.features[rid].fields), force=True)
    for table, pairs in ((p.must, header.must), (p.cannot, header.cannot)):
        for a, b, seq in pairs:
            table.setdefault(a, {})[b] = seq
            table.setdefault(b, {})[a] = seq
    engine.ambiguous = set(header.ambiguous)
    engine.decisions = list(header.decisions)
    engine.pins = dict(header.pins)
    return engine


def open_engine(
    store: StateStore, records: Callable[[], Iterable[Record]], loader: RecordLoader | None = None,
    features: Callable[[], Iterable[Features]] | None = None,
) -> DedupEngine:
    """Restore from the store's snapshot, or rebuild from records + its decision log (from the records'
    features instead, when a features source and a loader are given)."""
    from index.dedup.engine import DedupEngine

    data = store.load()
    if data is not None:
        try:
            engine = DedupEngine.restore(data, loader, store)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            pass  # unreadable or old snapshot: fall through to a rebuild
        else:
            seen = max((d.seq for d in engine.decisions), default=0)
            for d in sorted(store.decisions(), key=lambda d: d.seq):
                if d.seq > seen:  # decided after the snapshot was taken
                    engine.decisions.append(d)
                    engine._apply(d, recluster=True)
            return engine
    if features is not None and loader is not None:
        return DedupEngine.rebuild_from_features(features(), store.decisions(), loader, store=store)
    return DedupEngine.rebuild(records(), store.decisions(), loader=loader, store=store)
