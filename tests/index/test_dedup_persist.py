"""Dedup state survives serialise → restore, and can be rebuilt from records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from index.dedup import DedupEngine
from index.dedup.evaluation import load_labelled
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
