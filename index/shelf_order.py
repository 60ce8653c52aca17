"""Shelve documents by subject, stage and grade before a full rebuild of the embedded index.

Why: a teacher's search nearly always filters by subject and grade. Tantivy numbers documents
in the order they are added, and intersecting a word's postings with a filter's costs a seek
per candidate wherever the filter's documents are scattered; when each (subject, stage, grade)
shelf is one run of document numbers, the intersection skips whole blocks and the facet
counts visit only the matches. At 1,000,000 works that made free text + 2 filters 8× cheaper
to search and its facets 2.5× cheaper to count (benchmarks/search_tantivy.py; benchmarks/README.md, "Shelf order").

How, in flat memory: documents arrive in store order. Their encoded lines are spilled to one
file per shelf in a temporary folder (a few MB buffered, never the whole index), then read
back shelf by shelf. Updates after the rebuild are appended wherever they land: ranking never
depends on the order, and the next `huiju reindex` shelves everything again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

FLUSH_BYTES = 8 * 1024 * 1024
"""Lines buffered across all shelves before they are appended to their files."""
Shelf = tuple[str, str, int]


def shelf_key(doc: Mapping[str, Any]) -> Shelf:
    """Where a work document stands: subject, then stage, then grade (unknowns shelve first)."""
    grade = doc.get("grade")
    return (str(doc.get("subject") or ""), str(doc.get("stage") or ""), grade if isinstance(grade, int) else -1)


def shelved(items: Iterable[tuple[Shelf, str]], folder: str | Path | None = None) -> Generator[str, None, None]:
    """The lines of (shelf key, line) items, grouped by shelf in key order; arrival order within a shelf.

    Lines must hold no newline (JSON encoders escape it). Spill files live in a temporary folder
    inside `folder` (default: the system's) and are gone when the iterator finishes or is closed."""
    with tempfile.TemporaryDirectory(dir=folder, prefix=".huiju-shelves-") as tmp:
        files: dict[Shelf, Path] = {}
        pending: dict[Shelf, list[str]] = {}
        buffered = 0

        def flush() -> None:
            for key, lines in pending.items():
                path = files.setdefault(key, Path(tmp) / f"{len(files)}.jsonl")
                with path.open("ab") as fh:
                    fh.write("\n".join(lines).encode("utf-8"))
                    fh.write(b"\n")
            pending.clear()

        for key, line in items:
            pending.setdefault(key, []).append(line)
            buffered += len(line)
            if buffered >= FLUSH_BYTES:
                flush()
                buffered = 0
        if not files:  # everything fitted in the buffer: no file needed
            for key in sorted(pending):
                yield from pending[key]
            return
        flush()
        for key in sorted(files):
            with files[key].open("rb") as fh:  # binary: only "\n" ends a line
                for line in fh:
                    yield line[:-1].decode("utf-8")
