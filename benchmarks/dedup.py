"""Dedup quality and speed on the labelled evaluation set.

    .venv/bin/python benchmarks/dedup.py [--data tests/data/dedup_eval.jsonl] [--repeat 3]

Prints pairwise and B-cubed precision/recall/F1, hard-negative merges, and
records/s for (a) streaming: records added one by one in a shuffled harvest
order, as the store will call it, end to end and with Features precomputed
(clustering alone: the store can persist Features, which depend on the
record only), and (b) rebuild: one batch pass. Each run starts with cold
caches; the best of --repeat runs is shown, as wall-clock and as CPU time.

    .venv/bin/python benchmarks/dedup.py --scale 200000

instead rebuilds the engine from N records replicated from the data set
(replica k of a record gets a two-character tag glued after its title key,
at the head of its description and on its identifiers, so each replica
clusters as the data set does and replicas never meet), records not kept
(as `huiju dedupe` runs it, decoding each from msgpack as the store does),
and prints records/s (CPU) and the engine's memory per record (RSS growth
over the rebuild; the encoded records are made beforehand) and peak RSS.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import random
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.machine import machine  # noqa: E402
from index.dedup import DedupEngine  # noqa: E402
from index.dedup.engine import paused_gc  # noqa: E402
from index.dedup.evaluation import Labelled, Scores, load_labelled, score  # noqa: E402
from index.dedup.keys import _fold_keep_spaces, parse_title  # noqa: E402
from index.dedup.signals import features, grams  # noqa: E402
from schemas.record import Identifier, Record  # noqa: E402
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


TAG_CHARS = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"


def tag(k: int) -> str:
    """Two characters (three from k = 484): no tag's bigrams hold another's."""
    n = len(TAG_CHARS)
    return TAG_CHARS[k % n] + TAG_CHARS[(k // n) % n] + ("" if k < n * n else TAG_CHARS[k // (n * n) % n])


def retitle(title: str, word: str) -> str | None:
    """title with word glued after its key, or None when that would change more than the key."""
    parsed = parse_title(title)
    folded = _fold_keep_spaces(title)
    at = folded.find(parsed.key)
    if len(folded) != len(title) or at < 0:
        return None
    end = at + len(parsed.key)
    new = title[:end] + word + title[end:]
    return new if parse_title(new) == msgspec.structs.replace(parsed, key=parsed.key + word) else None


def _suffixed(value: str, k: int) -> str:
    v = value.strip()
    if len(v) == 32 and all(c in "0123456789abcdef" for c in v.lower()):
        return hashlib.md5(f"{v.lower()}-{k}".encode()).hexdigest()  # still an md5
    return f"{v}-{k}"


def replicas(base: list[Record], n: int) -> Iterator[Record]:
    """n records from replicas 1, 2, ... of base (records whose title cannot take a tag are left out)."""
    made, k = 0, 1
    while True:
        word = tag(k)
        for r in base:
            title = retitle(r.title, word)
            if title is None:
                continue
            yield msgspec.structs.replace(
                r,
                id=f"{r.id}-{k}",
                source_record_id=f"{r.source_record_id}-{k}",
                title=title,
                description=(word + r.description) if r.description else r.description,
                url=f"{r.url}-{k}" if r.url else r.url,
                identifiers=[Identifier(i.scheme, _suffixed(i.value, k)) for i in r.identifiers],
                is_based_on=[_suffixed(v, k) for v in r.is_based_on],
                file_md5=_suffixed(r.file_md5, k) if r.file_md5 else r.file_md5,
            )
            made += 1
            if made >= n:
                return
        k += 1


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scale(items: list[Labelled], n: int) -> None:
    """Rebuild from n replicated records: records/s and memory per record."""
    encoded = [msgspec.msgpack.encode(r) for r in replicas([i.record for i in items], n)]
    decoder = msgspec.msgpack.Decoder(Record)
    cold()
    gc.collect()
    before = rss_mb()
    cpu = time.process_time()
    engine = DedupEngine.rebuild((decoder.decode(e) for e in encoded), loader=lambda rid: None)
    cpu = time.process_time() - cpu
    gc.collect()
    after = rss_mb()
    print(f"scale: {n:,} records in {len(engine.works()):,} works")
    print(f"  rebuild: {n / cpu:,.0f} records/s CPU ({cpu:.1f} s, decoding the records included)")
    print(f"  memory: engine {(after - before) * 2**20 / n:,.0f} bytes/record (RSS {before:.0f} → {after:.0f} MB), "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="dedup benchmark")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "dedup_eval.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the fastest is reported")
    parser.add_argument("--seed", type=int, default=7, help="shuffle seed of the streaming order")
    parser.add_argument("--scale", type=int, metavar="N", help="only: rebuild from N replicated records")
    args = parser.parse_args(argv)
    items = load_labelled(args.data)
    n = len(items)
    print(f"machine: {machine()}")
    if args.scale:
        scale(items, args.scale)
        return
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
