"""Shelf order: the embedded index's full rebuild adds works grouped by subject, stage and grade."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import tantivy

from index import shelf_order
from index.documents import work_document
from index.shelf_order import shelf_key, shelved
from index.tantivy_backend import TantivyBackend, _decode
from tests.index.synthetic import synthetic_works


def test_lines_come_back_grouped_by_shelf_in_key_order_and_arrival_order_within(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shelf_order, "FLUSH_BYTES", 64)  # spill to files every few lines
    rng = random.Random(3)
    keys = [("math", "junior", 8), ("chinese", "primary", 3), ("", "", -1), ("math", "junior", 7)]
    items = [(rng.choice(keys), f'{{"n": {i}, "t": "勾股定理\\n\u2028\r"}}') for i in range(400)]
    out = list(shelved(items, tmp_path))
    expected = [line for key in sorted(keys) for k, line in items if k == key]
    assert out == expected
    assert list(tmp_path.iterdir()) == []  # spill folder removed


def test_small_input_never_touches_the_disk(tmp_path: Path) -> None:
    items = [(("b", "", 1), "x"), (("a", "", 2), "y"), (("b", "", 1), "z")]
    assert list(shelved(items, tmp_path)) == ["y", "x", "z"]
    assert list(tmp_path.iterdir()) == []


def test_closing_early_removes_the_spill_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shelf_order, "FLUSH_BYTES", 10)
    lines = shelved(((("s", "", i % 5), f"line {i}") for i in range(100)), tmp_path)
    assert next(lines) == "line 0"
    assert len(list(tmp_path.iterdir())) == 1
    lines.close()
    assert list(tmp_path.iterdir()) == []


def test_shelf_key_orders_unknowns_first() -> None:
    assert shelf_key({}) == ("", "", -1)
    assert shelf_key({"subject": "math", "stage": "junior", "grade": 8}) == ("math", "junior", 8)
    assert shelf_key({"subject": "math", "grade": "8"})[2] == -1  # only an integer grade is a grade


def test_rebuild_numbers_documents_shelf_by_shelf(tmp_path: Path) -> None:
    """What makes filtered searches cheap: each shelf is one run of document numbers."""
    docs = [work_document(*w) for w in synthetic_works(400, seed=2)]
    random.Random(1).shuffle(docs)
    backend = TantivyBackend(tmp_path / "index", heap_size=50_000_000, writer_threads=1)
    try:
        assert backend.rebuild(docs) == len(docs)
        searcher = backend._index.searcher()
        found = searcher.search(tantivy.Query.all_query(), limit=len(docs)).hits
        by_id = {doc["id"]: doc for doc in docs}
        in_order = sorted(found, key=lambda hit: (hit[1].segment_ord, hit[1].doc))
        keys = [shelf_key(by_id[_decode(searcher.doc(address).get_first("_source"))["id"]]) for _, address in in_order]
        assert len({address.segment_ord for _, address in in_order}) == 1
        assert keys == sorted(keys)
        assert len(set(keys)) > 10
    finally:
        backend.close()
