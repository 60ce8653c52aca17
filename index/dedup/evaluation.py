"""Scoring a clustering against labelled works (shared by tests and benchmarks).

Pairwise precision/recall count record pairs; B-cubed averages per record,
so one giant wrong cluster and many small ones weigh as they should. A
hard-negative merge is a pair of records put in one work although they
belong to different works of the same hard-negative group (the 人教版 and
北师大版 圆的面积, 第1 and 第2课时, ...): the error dedup must never make.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from schemas.record import Record, from_dict


class Labelled(msgspec.Struct, frozen=True):
    record: Record
    work: str
    hn: str | None


class Scores(msgspec.Struct):
    pair_precision: float
    pair_recall: float
    pair_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    hard_negative_merges: int  # record pairs
    hard_negative_clusters: int  # predicted works containing such a pair
    records: int
    true_works: int
    predicted_works: int


def load_labelled(path: str | Path) -> list[Labelled]:
    items = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                data = json.loads(line)
                items.append(Labelled(from_dict(data["record"]), data["work"], data.get("hn")))
    return items


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(predicted: Mapping[str, str], labels: Iterable[Labelled]) -> Scores:
    """predicted: record id → predicted work id."""
    labels = list(labels)
    truth = {item.record.id: item.work for item in labels}
    hn = {item.record.id: item.hn for item in labels}
    pred_clusters: dict[str, list[str]] = defaultdict(list)
    for rid in truth:
        pred_clusters[predicted[rid]].append(rid)
    true_sizes = Counter(truth.values())
    tp = 0
    hn_pairs = 0
    hn_clusters = 0
    bp = br = 0.0
    for members in pred_clusters.values():
        by_work = Counter(truth[r] for r in members)
        tp += sum(_pairs(n) for n in by_work.values())
        for r in members:
            overlap = by_work[truth[r]]
            bp += overlap / len(members)
            br += overlap / true_sizes[truth[r]]
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for r in members:
            if hn[r]:
                groups[hn[r]][truth[r]] += 1
        bad = 0
        for works in groups.values():
            total = sum(works.values())
            bad += _pairs(total) - sum(_pairs(n) for n in works.values())
        hn_pairs += bad
        hn_clusters += 1 if bad else 0
    pred_pairs = sum(_pairs(len(m)) for m in pred_clusters.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    p = tp / pred_pairs if pred_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    n = len(truth)
    return Scores(
        pair_precision=p,
        pair_recall=r,
        pair_f1=_f1(p, r),
        bcubed_precision=bp / n,
        bcubed_recall=br / n,
        bcubed_f1=_f1(bp / n, br / n),
        hard_negative_merges=hn_pairs,
        hard_negative_clusters=hn_clusters,
        records=n,
        true_works=len(true_sizes),
        predicted_works=len(pred_clusters),
    )


def errors(
    predicted: Mapping[str, str], labels: Iterable[Labelled]
) -> tuple[list[list[str]], list[list[str]]]:
    """(wrongly merged predicted works, wrongly split true works) as record id lists, for debugging."""
    labels = list(labels)
    truth = {item.record.id: item.work for item in labels}
    pred: dict[str, list[str]] = defaultdict(list)
    true: dict[str, list[str]] = defaultdict(list)
    for rid, work in truth.items():
        pred[predicted[rid]].append(rid)
        true[work].append(rid)
    merged = [m for m in pred.values() if len({truth[r] for r in m}) > 1]
    split = [m for m in true.values() if len({predicted[r] for r in m}) > 1]
    return merged, split
