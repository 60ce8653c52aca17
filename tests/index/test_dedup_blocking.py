"""Large title groups: the prefix join finds every pair compare() accepts, so rebuild = all pairs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from index.dedup import DedupEngine
from index.dedup.blocking import LARGE_GROUP, same_title_partners
from index.dedup.signals import DEFAULT_THRESHOLDS, Features, compare
from schemas.normalise import build_curriculum
from schemas.record import Record

ALPHABET = "圆的面积公式推导长方形转化学生生活实际问题老师执教本节课通过运用解决"


def feature(
    rid: str, desc: str, grade: str | None = "6", edition: str | None = "pep", teacher: str | None = None
) -> Features:
    fields = ("primary", grade, "math", edition, "a", None, "micro-lecture", teacher)
    return Features(rid, "圆的面积", desc, fields, (), "", (f"val:{rid}",), (), 0, 10, 0.0)


def edited(text: str, rng: random.Random, share: float) -> str:
    """text with about `share` of its characters replaced, maybe truncated: a copy near the threshold."""
    chars = [rng.choice(ALPHABET) if rng.random() < share else c for c in text]
    return "".join(chars[: rng.randint(len(chars) // 2, len(chars))])


def group(rng: random.Random, size: int) -> list[Features]:
    bases = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(12, 90))) for _ in range(max(1, size // 4))]
    out = []
    for i in range(size):
        roll = rng.random()
        if roll < 0.05:
            desc = "" if roll < 0.03 else "短描述"
        else:
            desc = edited(rng.choice(bases), rng, rng.choice([0.0, 0.1, 0.2, 0.3, 0.5]))
        grade = rng.choice(["6", "6", None, "5"])
        edition, teacher = rng.choice(["pep", "pep", None]), rng.choice([None, None, "王芳", "李丹"])
        out.append(feature(f"r{i:04d}", desc, grade=grade, edition=edition, teacher=teacher))
    return out


def accepted_pairs(members: list[Features]) -> set[frozenset[str]]:
    """Every pair compare() accepts, by brute force."""
    return {
        frozenset((a.rid, b.rid))
        for i, a in enumerate(members)
        for b in members[i + 1 :]
        if compare(a, b, DEFAULT_THRESHOLDS, {}) is not None
    }


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 120))
def test_partners_hold_every_pair_compare_accepts(seed: int, size: int) -> None:
    members = group(random.Random(seed), size)
    partners = same_title_partners(members, DEFAULT_THRESHOLDS)
    for pair in accepted_pairs(members):
        a, b = sorted(pair)
        assert b in partners[a] and a in partners[b]


def test_partners_are_few_when_descriptions_differ() -> None:
    """The point of the join: 200 teachers' own descriptions of one class hour are not 200² candidates."""
    rng = random.Random(7)
    common = [chr(0x4E00 + i) for i in range(2000)]
    members = [feature(f"r{i:03d}", "".join(rng.choice(common) for _ in range(60))) for i in range(200)]
    members += [feature("copy", members[0].desc[:40])]
    partners = same_title_partners(members, DEFAULT_THRESHOLDS)
    assert "copy" in partners["r000"]
    assert sum(map(len, partners.values())) < 4 * len(members)


def test_rebuild_of_a_large_group_keeps_the_edges_and_works_of_the_all_pairs_scan() -> None:
    rng = random.Random(11)
    members = group(rng, 3 * LARGE_GROUP)
    curriculum, _ = build_curriculum({"grade": "六年级", "subject": "数学"})
    records = [
        Record(source="s", source_record_id=f.rid, title="圆的面积", description=f.desc or None, curriculum=curriculum)
        for f in members
    ]
    rebuilt = DedupEngine.rebuild(records)
    incremental = DedupEngine()  # add() compares against every earlier record of the group
    incremental.add_many(records)
    assert any(len(ms) > 1 for ms in rebuilt.works().values())
    assert {r: set(e) for r, e in rebuilt.edges.items()} == {r: set(e) for r, e in incremental.edges.items()}
    assert rebuilt.edges == incremental.edges
