"""The demo generator is deterministic, streams, and changes over ticks the way the docs say."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from harvester.demo.platforms import PLATFORMS, added_per_tick, base_count, count, item, items
from harvester.demo.sites import NATIONAL_ROOT, Site
from harvester.demo.state import DemoState
from harvester.demo.styles import record

BASES = {name: f"http://127.0.0.1:{5101 + n}" for n, name in
         enumerate(("national", "municipal", "haidian", "chaoyang", "library", "partner"))}
PATHS = {
    "national": [f"{NATIONAL_ROOT}/data_version.json", f"{NATIONAL_ROOT}/part_100.json"],
    "haidian": ["/course/list-2.html", "/course/lesson-30007.html", "/sitemap-1.xml", "/robots.txt"],
    "chaoyang": ["/kc/index_2.shtml", "/zyk/list_1.html", "/zyk/show_7003.html"],
    "library": ["/export/catalogue.xml", "/opac/item/HD900003"],
    "partner": ["/dump/resources.ttl"],
}


def state(seed: int = 7, size: int = 600, ticks: int = 0) -> DemoState:
    return DemoState(seed=seed, size=size, ticks=[datetime(2025, 9, 1 + n, 8, tzinfo=UTC).isoformat()
                                                   for n in range(ticks)])


def body(server: str, path: str, st: DemoState) -> bytes:
    reply = Site(server, BASES[server], lambda: BASES).answer(st, path, "")
    assert reply.status == 200, (server, path)
    return reply.body if isinstance(reply.body, bytes) else b"".join(reply.body)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    for server, paths in PATHS.items():
        for path in paths:
            first, again = body(server, path, state()), body(server, path, state())
            assert first == again, (server, path)
            if path != "/robots.txt":
                assert first != body(server, path, state(seed=8)), (server, path)


def test_oai_records_are_deterministic() -> None:
    from lxml import etree

    from harvester.demo.render import oai_record

    def page(st: DemoState) -> list[bytes]:
        return [etree.tostring(oai_record(p, record(st, it, BASES), "2024-01-01T00:00:00Z", "junior", deleted=False))
                for it in items(st, "municipal", 0, 30) for p in ("oai_dc", "lom")]
    assert page(state()) == page(state())


def test_counts_follow_size_and_ticks() -> None:
    st = state(size=5000)
    assert sum(base_count(p.name, 5000) for p in PLATFORMS) == pytest.approx(5000, rel=0.01)
    assert base_count("national", 5000) % 5 == 0
    later = state(size=5000, ticks=2)
    for p in PLATFORMS:
        assert count(p.name, later) == count(p.name, st) + 2 * added_per_tick(p.name, 5000)


def test_ticks_add_edit_and_delete_on_every_platform() -> None:
    before, after = state(ticks=0), state(ticks=1)
    for p in PLATFORMS:
        old = count(p.name, before)
        changed = [item(after, p.name, i) for i in range(old)]
        assert any(it.deleted and it.changed == 1 for it in changed), p.name
        assert any(it.revision and it.changed == 1 for it in changed), p.name
        assert count(p.name, after) > old
        edited = next(it for it in changed if it.revision)
        assert record(after, edited, BASES).description != record(before, item(before, p.name, edited.index),
                                                                   BASES).description
        assert all(it.born == 1 for it in items(after, p.name, old))


def test_a_million_streams_item_by_item() -> None:
    big = state(size=1_000_000)
    assert count("national", big) == 610_000  # its 400,000 and what the capped district sites do not hold
    started = time.monotonic()
    far = item(big, "haidian", count("haidian", big) - 1)
    record(big, far, BASES)
    part = body("national", f"{NATIONAL_ROOT}/part_499.json", big)  # the last part: 1,000 objects
    assert part.count(b'"resource_type_code"') == 1000
    assert time.monotonic() - started < 10  # no pass over the items before it
    version = body("national", f"{NATIONAL_ROOT}/data_version.json", big)
    assert version.count(b"part_") == 610


def test_district_sites_stay_district_sized_and_the_total_holds() -> None:
    for size in (5_000, 125_000, 1_000_000):
        counts = {p.name: base_count(p.name, size) for p in PLATFORMS}
        assert sum(counts.values()) == pytest.approx(size, abs=5)
        for p in PLATFORMS:
            if p.cap is not None:
                assert counts[p.name] <= p.cap
    assert base_count("haidian", 1_000_000) == 15_000 < round(1_000_000 * 0.12)
    assert base_count("haidian", 100_000) == 12_000  # below the caps, every platform has its share


def test_each_platform_republishes_and_owns_lessons() -> None:
    st = state()
    for p in PLATFORMS:
        kinds = {(it.origin[0] if it.origin else "own") for it in items(st, p.name)}
        if p.name == "national":
            assert kinds == {"own"}
        else:
            assert "own" in kinds and kinds - {"own"}, p.name
