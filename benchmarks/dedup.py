"""Dedup quality and speed on the labelled evaluation set.

    .venv/bin/python benchmarks/dedup.py [--data tests/data/dedup_eval.jsonl] [--repeat 3]

Prints pairwise and B-cubed precision/recall/F1, hard-negative merges, and
records/s for (a) streaming: records added one by one in a shuffled harvest
order, as the store will call it, end to end and with Features precomputed
(clustering alone: the store can persist Features, which depend on the
record only), and (b) rebuild: one batch pass. Each run starts with cold
caches; the best of --repeat runs is shown, as wall-clock and as CPU time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.machine import machine  # noqa: E402
from index.dedup import DedupEngine  # noqa: E402
from index.dedup.engine import paused_gc  # noqa: E402
from index.dedup.evaluation import Labelled, Scores, load_labelled, score  # noqa: E402
from index.dedup.keys import parse_title  # noqa: E402
from index.dedup.signals import features, grams  # noqa: E402
from schemas.record import Record  # noqa: E402
from schemas.text import fold  # noqa: E402


def cold() -> None:
    for cached in (parse_title, fold, grams):
        cached.cache_clear()


class Timing:
    """Best of several runs: wall-clock and this process's CPU time (the
    latter is what to compare on a machine shared with other work)."""

    def __init__(self) -> None:
        self.wall = self.cpu = float("inf")

    def __enter__(self) -> Timing:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = min(self.wall, time.perf_counter() - self._wall)
        self.cpu = min(self.cpu, time.process_time() - self._cpu)

    def rate(self, n: int) -> str:
        return f"{n / self.wall:,.0f} records/s wall, {n / self.cpu:,.0f} records/s CPU ({self.wall:.3f} s)"


def shuffled(items: list[Labelled], seed: int) -> list[Record]:
    order = [i.record for i in items]
    random.Random(seed).shuffle(order)
    return order


def report(name: str, s: Scores, lines: list[str]) -> None:
    print(f"{name}:")
    print(f"  pairwise  P={s.pair_precision:.4f} R={s.pair_recall:.4f} F1={s.pair_f1:.4f}")
    print(f"  B-cubed   P={s.bcubed_precision:.4f} R={s.bcubed_recall:.4f} F1={s.bcubed_f1:.4f}")
    print(f"  hard-negative merges: {s.hard_negative_merges} pairs in {s.hard_negative_clusters} works")
    print(f"  works: {s.predicted_works} predicted / {s.true_works} true")
    for line in lines:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="dedup benchmark")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "dedup_eval.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the fastest is reported")
    parser.add_argument("--seed", type=int, default=7, help="shuffle seed of the streaming order")
    args = parser.parse_args(argv)
    items = load_labelled(args.data)
    n = len(items)
    print(f"machine: {machine()}")
    print(
        f"data: {args.data.name}: {n} records, {len({i.work for i in items})} true works, "
        f"{sum(1 for i in items if i.hn)} records in hard-negative groups"
    )
    order = shuffled(items, args.seed)

    end_to_end, clustering, feats = Timing(), Timing(), Timing()
    for _ in range(args.repeat):
        cold()
        with feats:
            precomputed = [features(r) for r in order]
        engine = DedupEngine()
        with paused_gc(), clustering:
            for record, f in zip(order, precomputed, strict=True):
                engine.add(record, f)
        cold()
        engine = DedupEngine()
        with end_to_end:
            engine.add_many(order)
    predicted = {i.record.id: engine.work_id(i.record.id) for i in items}
    report(
        "streaming add, shuffled harvest order",
        score(predicted, items),
        [
            f"end to end:  {end_to_end.rate(n)}",
            f"clustering:  {clustering.rate(n)} (Features precomputed)",
            f"features:    {feats.rate(n)}",
        ],
    )

    rebuild = Timing()
    for _ in range(args.repeat):
        cold()
        with rebuild:
            engine = DedupEngine.rebuild(i.record for i in items)
    predicted = {i.record.id: engine.work_id(i.record.id) for i in items}
    report("rebuild, one batch pass", score(predicted, items), [f"end to end:  {rebuild.rate(n)}"])


if __name__ == "__main__":
    main()
