"""Sensitive-term screening against a configurable term list.

The list is a UTF-8 file, one term per line (setting CHECKS_SENSITIVE_TERMS;
empty: the small list shipped beside this module, sensitive_terms.txt). Text
and terms are compared folded (schemas/text.fold: Traditional → Simplified,
full-width → half-width, lower case) and without spaces, punctuation or
symbols, so 「掃 碼 添 加 微 信」 or "加ＱＱ" do not escape. One alternation
regex matches all terms in one pass over each text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from repository.checks.base import Context, Finding, Result, Row, squeeze
from schemas.record import Record

CODES = ("sensitive.term",)
DEFAULT_TERMS = Path(__file__).with_name("sensitive_terms.txt")
MAX_REPORTED = 5


@dataclass(frozen=True)
class TermList:
    """The screened terms, squeezed, and one regex over them (longest first)."""

    terms: tuple[str, ...]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, terms: list[str]) -> TermList:
        squeezed = sorted({s for s in (squeeze(t) for t in terms) if s}, key=lambda s: (-len(s), s))
        pattern = re.compile("|".join(map(re.escape, squeezed))) if squeezed else None
        return cls(tuple(squeezed), pattern)

    def find(self, text: str) -> list[str]:
        return self.find_squeezed([squeeze(text)])

    def find_squeezed(self, texts: list[str]) -> list[str]:
        """The terms in already squeezed texts, first found first, each once. One regex pass over all of
        them joined by NUL: squeezing removes NUL, so no term spans two texts."""
        if self.pattern is None:
            return []
        return list(dict.fromkeys(self.pattern.findall("\0".join(texts))))


def read_terms(path: Path) -> list[str]:
    """Terms of a list file; raises OSError or UnicodeDecodeError with the path for a bad file."""
    lines = path.read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> TermList:
    return TermList.of(read_terms(Path(path)))


def load_terms(setting: str = "") -> TermList:
    """The term list named by the setting (default: the shipped list); re-read when the file changes."""
    path = Path(setting) if setting else DEFAULT_TERMS
    try:
        return _load(str(path.resolve()), path.stat().st_mtime)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"sensitive-term list {path}: {exc}") from exc


def texts(record: Record) -> list[str]:
    return [record.title, record.description or "", *record.alt_titles, *record.keywords,
            *(a.name for a in record.agents), *(a.school for a in record.agents)]


def check(record: Record, row: Row, context: Context) -> Result:
    terms: TermList = context.terms or load_terms()
    found = terms.find_squeezed([context.squeeze(text) for text in texts(record)])
    if not found:
        return Result.of([])
    return Result.of([Finding("sensitive.term", {"terms": found[:MAX_REPORTED]})])
