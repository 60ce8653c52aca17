"""Import every record-holding file of ../shared/corpus and summarise the run.

    .venv/bin/python tools/corpus_report.py [--corpus ../shared/corpus] [--out docs/corpus-import.md]

Each file is imported with the same pipeline as `huiju import` into a
throwaway SQLite store; the Markdown report lists, per folder and per file,
the records mapped and the records rejected with their reasons.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from repository.ingest import import_payload  # noqa: E402
from repository.store import Store  # noqa: E402

SKIP_DIRS = {"xsd"}
SKIP_NAMES = {"SOURCES.md", "mapping.txt"}
RECORD_FOLDERS = ("oai-pmh", "lom", "lrmi", "marc", "rdf", "zh")


def guess_format(path: Path, head: bytes) -> str:
    """Pick the reader a person would pick for this file."""
    suffix = path.suffix.lower()
    parts = path.parts
    if "smartedu" in parts:
        return "smartedu"
    if suffix in (".ttl", ".nt", ".rdf", ".owl", ".n3", ".jsonld") or "rdf" in parts:
        return "rdf"
    if "marc" in parts:
        return "marcxml" if head.lstrip().startswith(b"<") else "marc"
    if "lrmi" in parts:
        return "lrmi"
    if b"http://www.loc.gov/MARC21/slim" in head or b"<marc:" in head:
        return "marcxml"
    if b"ltsc.ieee.org/xsd/LOM" in head or b"imsmd" in head or "lom" in parts:
        return "lom"
    return "oai_dc"


@dataclass
class FileResult:
    path: str
    format: str
    mapped: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    crash: str = ""


def run(corpus: Path) -> list[FileResult]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/corpus.db")
        store.init()
        for path in sorted(corpus.rglob("*")):
            rel = path.relative_to(corpus)
            if not path.is_file() or rel.parts[0] not in RECORD_FOLDERS or path.name in SKIP_NAMES:
                continue
            if path.suffix in (".md", ".yaml", ".xsd"):
                continue
            data = path.read_bytes()
            fmt = guess_format(rel, data[:4096])
            result = FileResult(str(rel), fmt)
            try:
                report = import_payload(store, data, format=fmt, source_name=str(rel), location=str(path))
                result.mapped = report.added + report.updated + report.unchanged + report.deleted
                result.rejected = report.rejected
                result.reasons = report.reasons
            except Exception as exc:  # the report must show crashes, not hide them
                result.crash = f"{type(exc).__name__}: {exc}"
            results.append(result)
    return results


def _short(reason: str) -> str:
    return reason.replace("|", "\\|").replace("\n", " ")[:110]


def markdown(results: list[FileResult]) -> str:
    lines = ["# Importing the shared corpus", "",
             "Every record-holding file of `../shared/corpus` (OAI-PMH pages, LOM, LRMI, MARC, RDF,",
             "Chinese national-platform JSON) imported with `huiju import`'s pipeline by",
             "`tools/corpus_report.py`. A file either maps records or each of its records (or the",
             "whole payload) is rejected with a one-line reason; a crash would be listed as such.", ""]
    by_folder: dict[str, list[FileResult]] = {}
    for r in results:
        by_folder.setdefault(r.path.split("/")[0], []).append(r)
    lines += ["| folder | files | records mapped | rejected | crashes |", "|---|---:|---:|---:|---:|"]
    for folder, rs in by_folder.items():
        lines.append(f"| {folder} | {len(rs)} | {sum(r.mapped for r in rs)} | {sum(r.rejected for r in rs)} | "
                     f"{sum(1 for r in rs if r.crash)} |")
    total = Counter()
    for r in results:
        total.update(r.reasons)
    lines += ["", "## Rejections by reason", "", "| reason | records |", "|---|---:|"]
    for reason, count in total.most_common():
        lines.append(f"| {_short(reason)} | {count} |")
    lines += ["", "## Per file", "", "| file | format | mapped | rejected | main reason |", "|---|---|---:|---:|---|"]
    for r in results:
        main = r.crash or (_short(r.reasons.most_common(1)[0][0]) if r.reasons else "")
        lines.append(f"| `{r.path}` | {r.format} | {r.mapped} | {r.rejected} | {main} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "corpus-import.md")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    results = run(args.corpus)
    args.out.write_text(markdown(results), "utf-8")
    crashes = [r for r in results if r.crash]
    print(f"{len(results)} files, {sum(r.mapped for r in results)} records mapped, "
          f"{sum(r.rejected for r in results)} rejected, {len(crashes)} crashes → {args.out}")
    for r in crashes:
        print(f"CRASH {r.path}: {r.crash}", file=sys.stderr)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
