"""Dedup state survives serialise → restore, and can be rebuilt from records."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import msgspec
import numpy as np
import pytest
from datasketch import MinHash

from index.dedup import DedupEngine, persist
from index.dedup.evaluation import load_labelled
from index.dedup.frames import read_frames, write_frame, write_frame_parts
from index.dedup.lsh import ShingleLSH, bigram_hash
from index.dedup.persist import DirectoryStore, MemoryStore, open_engine
from index.dedup.signals import features

EVAL = Path(__file__).resolve().parents[1] / "data" / "dedup_eval.jsonl"


@pytest.fixture(scope="module")
def sample() -> list:
    return [item.record for item in load_labelled(EVAL)[:400]]


def test_sketch_is_exactly_datasketch_minhash(sample: list) -> None:
    lsh = ShingleLSH()
    for record in sample[:50]:
        f = features(record)
        reference = MinHash(num_perm=lsh.num_perm, seed=lsh.seed, scheme="affine32", hashfunc=bigram_hash)
        reference.update_batch(lsh.shingles(f))
        assert np.array_equal(reference.hashvalues, lsh.sketch(f))


def test_lsh_state_survives_serialise_and_restore(sample: list) -> None:
    feats = [features(r) for r in sample]
    lsh = ShingleLSH()
    for f in feats:
        lsh.insert(f.rid, lsh.sketch(f))
    restored = ShingleLSH.from_bytes(lsh.to_bytes())
    rebuilt = ShingleLSH.rebuild(feats)
    assert len(restored) == len(rebuilt) == len(lsh)
    for f in feats:
        sketch = lsh.sketch(f)
        expected = sorted(lsh.query(sketch))
        assert f.rid in expected
        assert sorted(restored.query(sketch)) == expected == sorted(rebuilt.query(sketch))
    restored.remove(feats[0].rid)
    assert feats[0].rid not in restored.query(lsh.sketch(feats[0]))


def test_lsh_selects_by_group_and_the_groups_survive_restore(sample: list) -> None:
    """The engine asks LSH for other titles' records only: a query with groups returns exactly the
    unfiltered answer's keys whose group is accepted, asking once per group, before and after a restore."""
    feats = [features(r) for r in sample]
    lsh = ShingleLSH()
    for f in feats:
        lsh.insert(f.rid, lsh.sketch(f), f.title_key)
    title = {f.rid: f.title_key for f in feats}
    restored = ShingleLSH.from_bytes(lsh.to_bytes())
    crossed = 0
    for f in feats:
        sketch = lsh.sketch(f)
        everything = lsh.query(sketch)
        asked: list[str] = []

        def other_title(group: str, own: str = f.title_key, asked: list[str] = asked) -> bool:
            asked.append(group)
            return group != own

        selected = lsh.query(sketch, other_title)
        assert sorted(selected) == sorted(k for k in everything if title[k] != f.title_key)
        assert len(asked) == len(set(asked))
        assert sorted(restored.query(sketch, lambda g, own=f.title_key: g != own)) == sorted(selected)
        crossed += bool(selected)
    assert crossed  # the sample has records whose sketches share a band across titles


def test_engine_snapshot_restores_the_same_works_and_keeps_working(sample: list) -> None:
    engine = DedupEngine()
    engine.add_many(sample[:-1])
    engine.split(sample[0].id, sample[1].id)
    restored = DedupEngine.restore(engine.snapshot(), loader={r.id: r for r in sample}.get)
    assert restored.works() == engine.works()
    assert restored.decisions == engine.decisions
    assert restored.edges == engine.edges
    assert restored.work_id(sample[5].id) == engine.work_id(sample[5].id)
    # both continue identically
    assert restored.add(sample[-1]) == engine.add(sample[-1])
    restored.remove(sample[3].id)
    engine.remove(sample[3].id)
    assert restored.works() == engine.works()
    assert (
        restored.merged(restored.work_id(sample[5].id)).record
        == engine.merged(engine.work_id(sample[5].id)).record
    )


def test_rebuild_is_deterministic_and_order_independent(sample: list) -> None:
    forward = DedupEngine.rebuild(sample)
    backward = DedupEngine.rebuild(list(reversed(sample)))
    assert forward.works() == backward.works()


def test_streaming_and_rebuild_agree_on_clean_data(sample: list) -> None:
    streamed = DedupEngine()
    streamed.add_many(sample)
    assert streamed.works() == DedupEngine.rebuild(sample).works()


def test_open_engine_rebuilds_without_a_snapshot_and_restores_with_one(sample: list, tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "dedup")
    first = open_engine(store, lambda: sample)
    first.merge(sample[0].id, sample[7].id)
    assert store.decisions()[0].kind == "merge"
    first.save()
    assert (tmp_path / "dedup" / "snapshot.msgpack").exists()
    second = open_engine(store, lambda: pytest.fail("records must not be read when a snapshot exists"))
    assert second.works() == first.works()
    # a decision made after the snapshot is replayed from the log
    first.split(sample[0].id, sample[7].id)
    third = open_engine(store, lambda: [])
    assert third.work_id(sample[0].id) != third.work_id(sample[7].id)


def test_unreadable_snapshot_falls_back_to_rebuild(sample: list) -> None:
    store = MemoryStore()
    store.save(b"not a snapshot")
    engine = open_engine(store, lambda: sample[:20])
    assert len(engine) == 20


def test_lsh_finds_exactly_the_records_sharing_a_band_across_merges(
    sample: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.dedup.lsh as lsh_module

    monkeypatch.setattr(lsh_module, "MERGE_EVERY", 7)  # most keys end up in the sorted arrays
    feats = [features(r) for r in sample]
    lsh = ShingleLSH()
    sketches = {f.rid: lsh.sketch(f) for f in feats}
    for f in feats:
        lsh.insert(f.rid, sketches[f.rid])
    for gone in feats[:40:3]:
        lsh.remove(gone.rid)
    lsh.insert(feats[3].rid, sketches[feats[3].rid])  # back again, in a new row
    live = {f.rid for f in feats} - {f.rid for f in feats[:40:3]} | {feats[3].rid}
    assert len(lsh) == len(live)

    def banded(rid: str) -> list[bytes]:
        raw = sketches[rid].astype(np.uint32).tobytes()
        return [raw[i * 32 : (i + 1) * 32] for i in range(lsh.bands)]

    for f in feats[::5]:
        mine = banded(f.rid)
        expected = {rid for rid in live if any(a == b for a, b in zip(mine, banded(rid), strict=True))}
        assert set(lsh.query(sketches[f.rid])) == expected
        assert len(lsh.query(sketches[f.rid])) == len(expected)  # each record once


def test_removing_every_record_leaves_no_state_behind(sample: list) -> None:
    engine = DedupEngine()
    engine.add_many(sample[:120])
    engine.merge(sample[0].id, sample[1].id)
    assert any(len(ms) > 1 for ms in engine.works().values())
    for record in sample[:120]:
        engine.remove(record.id)
    assert not engine.features and not engine.edges and not engine.works()
    assert not engine.by_key and not engine.by_locator and not engine.by_ref
    assert not engine.partition.values and not engine.partition.groups and not engine.partition.work_of


def test_frames_round_trip_and_refuse_truncation() -> None:
    out = io.BytesIO()
    write_frame(out, b"head")
    write_frame_parts(out, 6, [b"abc", memoryview(b"def")])
    write_frame(out, b"")
    data = out.getvalue()
    assert [bytes(f) for f in read_frames(data)] == [b"head", b"abcdef", b""]
    with pytest.raises(ValueError, match="truncated"):
        list(read_frames(data[:-3] + data[-2:]))  # the last length cut short
    with pytest.raises(ValueError, match="truncated"):
        list(read_frames(data[:15]))
    with pytest.raises(ValueError, match="announced"):
        write_frame_parts(io.BytesIO(), 5, [b"abc"])


def test_snapshot_is_written_a_piece_at_a_time(sample: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pieces force several frames per section: the restored engine must not notice."""
    monkeypatch.setattr(persist, "_PIECE", 7)
    engine = DedupEngine.rebuild(sample)
    engine.merge(sample[0].id, sample[7].id)
    data = engine.snapshot()
    assert sum(1 for _ in read_frames(data)) > len(sample) // 7 + 3  # the features alone take 58 frames
    restored = DedupEngine.restore(data)
    assert restored.works() == engine.works()
    assert restored.edges == engine.edges and restored.ambiguous == engine.ambiguous
    with pytest.raises(ValueError):
        DedupEngine.restore(data[: len(data) // 2])  # a cut file is refused, never half restored


def test_a_failed_save_keeps_the_previous_snapshot(sample: list, tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "dedup")
    engine = open_engine(store, lambda: sample[:30])
    engine.save()
    before = (tmp_path / "dedup" / "snapshot.msgpack").read_bytes()

    def failing(out: BinaryIO) -> None:
        out.write(b"half a snapshot")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.save_streamed(failing)
    assert (tmp_path / "dedup" / "snapshot.msgpack").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "dedup").iterdir()) == ["snapshot.msgpack"]
    assert open_engine(store, lambda: pytest.fail("the snapshot must still load")).works() == engine.works()


def test_a_snapshot_of_the_previous_version_is_rebuilt(sample: list) -> None:
    old = msgspec.msgpack.encode([2, b"", [], [], [], [], [], {}, b""])  # version 2: one msgpack array
    store = MemoryStore()
    store.save(old)
    assert len(open_engine(store, lambda: sample[:12])) == 12


def test_a_snapshot_cut_after_a_whole_frame_is_rebuilt(sample: list) -> None:
    """Cut exactly at a frame boundary (a crash while saving, a disk full before the swap was added)."""
    data = DedupEngine.rebuild(sample[:12]).snapshot()
    header_only = data[: 8 + int.from_bytes(data[:8], "little")]  # the header frame alone
    with pytest.raises(ValueError, match="missing"):
        DedupEngine.restore(header_only)
    store = MemoryStore()
    store.save(header_only)
    assert len(open_engine(store, lambda: sample[:12])) == 12
