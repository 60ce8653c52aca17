"""Dedup quality on the committed labelled evaluation set (no timings here:
benchmarks/dedup.py measures speed)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from index.dedup import DedupEngine
from index.dedup.evaluation import Labelled, Scores, load_labelled, score

DATA = Path(__file__).resolve().parents[1] / "data"
EVAL = DATA / "dedup_eval.jsonl"


@pytest.fixture(scope="module")
def items() -> list[Labelled]:
    return load_labelled(EVAL)


def test_eval_set_is_what_the_task_asks_for(items: list[Labelled]) -> None:
    assert len(items) >= 3000
    assert len({i.work for i in items}) >= 1000
    assert EVAL.stat().st_size < 3_000_000
    kinds = {kind for i in items if i.hn for kind in i.hn.split(":", 1)[0].split("+")}
    assert kinds >= {"edition", "hour", "type", "subject", "grade"}
    titles = [i.record.title for i in items]
    assert any("【市级优课】" in t for t in titles) and any("（微课）" in t for t in titles)
    assert any("課" in t for t in titles)  # Traditional characters
    assert any(i.record.is_based_on for i in items)


def _check(s: Scores) -> None:
    assert s.hard_negative_merges == 0
    assert s.pair_f1 >= 0.97
    assert s.bcubed_f1 >= 0.97


@pytest.mark.parametrize("seed", [7, 2024])
def test_streaming_quality_in_any_harvest_order(items: list[Labelled], seed: int) -> None:
    order = [i.record for i in items]
    random.Random(seed).shuffle(order)
    engine = DedupEngine()
    engine.add_many(order)
    _check(score({i.record.id: engine.work_id(i.record.id) for i in items}, items))


def test_rebuild_quality(items: list[Labelled]) -> None:
    engine = DedupEngine.rebuild(i.record for i in items)
    _check(score({i.record.id: engine.work_id(i.record.id) for i in items}, items))


def test_removing_and_re_adding_records_returns_to_the_same_works(items: list[Labelled]) -> None:
    records = [i.record for i in items[:600]]
    engine = DedupEngine.rebuild(records)
    before = engine.works()
    for record in records[::7]:
        engine.remove(record.id)
    for record in records[::7]:
        engine.add(record)
    assert engine.works() == before


def test_committed_eval_set_matches_its_generator(tmp_path: Path) -> None:
    out = tmp_path / "eval.jsonl"
    subprocess.run(
        [sys.executable, str(DATA / "generate_dedup_eval.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == EVAL.read_bytes()
