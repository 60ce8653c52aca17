"""Who publishes what: the six platforms, their item counts, republications and changes over ticks.

Item ``i`` of a platform is a pure function of (seed, size, tick, i): which
lesson and package part it is, which other platform's item it republishes
(municipal republishes national lessons; Haidian republishes some of those
municipal republications, so one lesson reaches three platforms), when it
was added, edited or deleted, and which quality defect it carries. Counts
grow with each tick (additions); a small share of items is edited or deleted
per tick, and each tick always deletes and edits at least one item per
platform, so a re-harvest has something to report even at the smallest size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from harvester.demo.catalogue import Lesson, chance, digest, lesson
from harvester.demo.state import DemoState


@dataclass(frozen=True)
class Platform:
    name: str  # the source name Huiju registers
    label: str
    level: str
    kind: str  # Huiju source kind
    share: float  # of the demo size
    server: str  # which HTTP server serves it
    parts: tuple[int, ...] = (0, 1, 2, 3, 4)  # package parts it publishes of its own lessons
    cap: int | None = None  # most items before any tick: a district's site stays district-sized


PLATFORMS: tuple[Platform, ...] = (
    Platform("national", "国家中小学智慧教育平台", "national", "smartedu", 0.40, "national"),
    Platform("municipal", "北京市基础教育资源平台", "municipal", "oai", 0.20, "municipal"),
    Platform("haidian", "海淀区智慧课程平台", "district", "crawl", 0.12, "haidian", cap=15_000),
    Platform("chaoyang", "朝阳区教育资源网", "district", "crawl", 0.08, "chaoyang", cap=10_000),
    Platform("chaoyang-archive", "朝阳区教育资源网·教研资源库", "district", "crawl", 0.04, "chaoyang", (2, 3),
             cap=5_000),
    Platform("library", "海淀区教师发展中心图书馆", "district", "marc", 0.08, "library", (2, 3, 4)),
    Platform("partner", "粤港澳大湾区基础教育资源共享联盟", "provincial", "rdf", 0.08, "partner"),
)
BY_NAME = {p.name: p for p in PLATFORMS}
SERVERS = ("national", "municipal", "haidian", "chaoyang", "library", "partner")
TRUSTED = ("national", "municipal")
"""Sources whose records are approved without review (the auto-approval policy)."""

MINIMUM = 12  # items per platform at tick 0, so every planted defect exists at any size
DELETE, EDIT = 0.012, 0.03  # per item and tick
BASE_DATE = datetime(2023, 3, 1, 8, tzinfo=UTC)

# Republication plan: (share of the platform's items, platform republished) in order; the rest is its own.
PLAN: dict[str, tuple[tuple[float, str], ...]] = {
    "municipal": ((0.6, "national"),),
    "haidian": ((0.25, "municipal"), (0.25, "national")),
    "chaoyang": ((0.4, "national"),),
    "chaoyang-archive": ((0.5, "national"),),
    "library": ((0.6, "national"),),
    "partner": ((0.5, "national"), (0.2, "municipal")),
}
# Planted quality defects: platform -> ((offset into its own items, defect), ...).
DEFECTS: dict[str, tuple[tuple[int, str], ...]] = {
    "haidian": ((1, "sensitive"), (3, "dead-link"), (5, "placeholder")),
    "chaoyang": ((0, "placeholder"), (2, "sensitive")),
    "chaoyang-archive": ((0, "missing"), (2, "unmapped")),
    "library": ((1, "dead-link"), (4, "missing")),
    "partner": ((0, "missing"), (3, "placeholder")),
}
RANDOM_DEFECTS = ("placeholder", "missing", "sensitive")
DEFECT_RATE = 0.01  # of own items beyond the planted ones


@lru_cache(maxsize=256)
def base_count(name: str, size: int) -> int:
    """Items of a platform before any tick.

    Each platform holds its share of the size, but a district site at most its cap (a real
    district pooled some 10,000 items; no district runs a 100,000-lesson site): beyond the caps
    the national platform, the largest in life too, publishes what the districts do not, so the
    federation still holds ``size`` records. Up to a size of 125,000 no cap applies.
    """
    if name == "national":
        beyond = sum(_share(p.name, size) - _capped(p.name, size) for p in PLATFORMS if p.cap is not None)
        return math.ceil((_share(name, size) + beyond) / 5) * 5
    return _capped(name, size)


def _share(name: str, size: int) -> int:
    return max(MINIMUM, round(size * BY_NAME[name].share))


def _capped(name: str, size: int) -> int:
    cap = BY_NAME[name].cap
    return _share(name, size) if cap is None else min(cap, _share(name, size))


def added_per_tick(name: str, size: int) -> int:
    base = base_count(name, size)
    return max(5, round(base / 500) * 5) if name == "national" else max(1, round(base / 100))


def count(name: str, state: DemoState) -> int:
    """Items of a platform now (deleted ones included: they keep their index)."""
    return base_count(name, state.size) + state.tick * added_per_tick(name, state.size)


@lru_cache(maxsize=256)
def republished(name: str, size: int) -> tuple[tuple[int, int, str], ...]:
    """(first index, end index, platform republished) ranges of a platform's base items."""
    ranges, start, base = [], 0, base_count(name, size)
    for share, other in PLAN.get(name, ()):
        end = start + min(int(base * share), _pool(other, size))
        ranges.append((start, end, other))
        start = end
    return tuple(ranges)


@lru_cache(maxsize=256)
def _pool(other: str, size: int) -> int:
    """How many items a republisher chooses from: national lessons, or municipal's republications
    (so a lesson republished from municipal is on three platforms)."""
    if other == "national":
        return base_count(other, size)
    return republished(other, size)[0][1]


def own_start(name: str, size: int) -> int:
    ranges = republished(name, size)
    return ranges[-1][1] if ranges else 0


def spread(seed: int, key: str, i: int, n: int) -> int:
    """i -> a distinct index below n (an affine permutation), so republications are scattered."""
    step = 1 + digest(seed, "step", key, n) % max(1, n - 1)
    while math.gcd(step, n) != 1:
        step += 1
    return (i * step + digest(seed, "shift", key, n)) % n


@dataclass(frozen=True)
class Item:
    """One record of one platform at the state's tick."""

    platform: str
    index: int
    lesson: Lesson
    part: int  # index into catalogue.PART_TYPES
    origin: tuple[str, int] | None  # the item it republishes
    national: int | None  # index of the national original, when it descends from one
    born: int  # tick that added it (0: there from the start)
    revision: int  # edits so far
    changed: int  # tick of the last edit or the deletion (0: never)
    deleted: bool
    defect: str | None


def item(state: DemoState, name: str, i: int) -> Item:
    seed, size = state.seed, state.size
    base = base_count(name, size)
    born = 0 if i < base else 1 + (i - base) // added_per_tick(name, size)
    origin: tuple[str, int] | None = None
    if i < base:
        for start, end, other in republished(name, size):
            if start <= i < end:
                parts = BY_NAME[name].parts
                if other == "national" and len(parts) < 5:  # e.g. a library keeps the documents of a package
                    k = spread(seed, name, i - start, _pool(other, size) // 5) * 5 + parts[
                        digest(seed, "part", name, i) % len(parts)]
                else:
                    k = spread(seed, name, i - start, _pool(other, size))
                origin = (other, k)
    if origin is not None:
        source = item(state.__class__(seed=seed, size=size), *origin)  # the original as first published
        found = Item(name, i, source.lesson, source.part, origin, source.national if origin[0] != "national"
                     else origin[1], born, 0, 0, False, None)
    elif name == "national":
        found = Item(name, i, lesson(seed, name, i // 5), i % 5, None, i, born, 0, 0, False, None)
    else:
        parts = BY_NAME[name].parts
        found = Item(name, i, lesson(seed, name, i), parts[digest(seed, "part", name, i) % len(parts)], None, None,
                     born, 0, 0, False, _defect(seed, name, i, size))
    return _history(state, found)


def _defect(seed: int, name: str, i: int, size: int) -> str | None:
    offset = i - own_start(name, size)
    for at, kind in DEFECTS.get(name, ()):
        if offset == at:
            return kind
    if name in DEFECTS and offset > 8 and chance(seed, "defect", name, i) < DEFECT_RATE:
        return RANDOM_DEFECTS[digest(seed, "defect-kind", name, i) % len(RANDOM_DEFECTS)]
    return None


@lru_cache(maxsize=4096)
def forced(seed: int, size: int, name: str, tick: int) -> tuple[int, int]:
    """(deleted, edited) item of a tick: each tick changes at least these two (among older items)."""
    before = base_count(name, size) + (tick - 1) * added_per_tick(name, size)
    first = digest(seed, "forced-delete", name, tick) % before
    second = digest(seed, "forced-edit", name, tick) % before
    return first, second if second != first else (second + 1) % before


def _history(state: DemoState, found: Item) -> Item:
    revision = changed = 0
    deleted = False
    for tick in range(found.born + 1, state.tick + 1):
        u = chance(state.seed, "tick", found.platform, found.index, tick)
        gone, edited = forced(state.seed, state.size, found.platform, tick)
        if u < DELETE or found.index == gone:
            deleted, changed = True, tick
            break
        if u < DELETE + EDIT or found.index == edited:
            revision, changed = revision + 1, tick
    if not (revision or deleted):
        return found
    return Item(found.platform, found.index, found.lesson, found.part, found.origin, found.national, found.born,
                revision, changed, deleted, found.defect)


def items(state: DemoState, name: str, start: int = 0, stop: int | None = None):  # noqa: ANN201 - generator
    """Items start..stop (all by default), deleted ones included, generated one at a time."""
    end = count(name, state) if stop is None else min(stop, count(name, state))
    for i in range(start, end):
        yield item(state, name, i)


def created(state: DemoState, it: Item) -> datetime:
    if it.born:
        return state.tick_time(it.born)
    return BASE_DATE + timedelta(minutes=digest(state.seed, "created", it.platform, it.index) % (840 * 24 * 60))


def modified(state: DemoState, it: Item) -> datetime:
    """When the item last changed at its platform (its OAI-PMH datestamp)."""
    if it.changed:
        return state.tick_time(it.changed)
    first = created(state, it)
    return first + timedelta(minutes=digest(state.seed, "modified", it.platform, it.index) % (40 * 24 * 60))
