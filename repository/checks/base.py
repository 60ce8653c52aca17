"""What every check shares: findings as stable codes with data, results, the batch context.

A finding is a code (``required.missing``) plus a few named values; the pages
translate it through the i18n catalogue (key ``check.<code>``), so nothing
stored depends on the page's language and old results stay readable when
wording changes.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.record import Record
from schemas.text import fold

PASS, WARN, FAIL = "pass", "warn", "fail"
SEVERITY = {PASS: 0, WARN: 1, FAIL: 2}


_NOISE = dict.fromkeys(cp for cp in range(0x10000) if unicodedata.category(chr(cp))[0] in "PSZC")
"""Punctuation, symbols, separators and control/format characters of the BMP (zero-width spaces too)."""


def squeeze(text: str) -> str:
    """Folded text (schemas.text.fold) without punctuation, symbols, spaces or invisible characters: the form
    in which placeholders and sensitive terms are compared, so 【暂无简介】 and 扫 码 添 加 do not hide."""
    return fold(text).translate(_NOISE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or note) a check found: a stable code and its values (str or int)."""

    code: str
    args: dict[str, Any] = field(default_factory=dict)
    outcome: str = FAIL  # what this finding alone makes of the check


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    findings: tuple[Finding, ...] = ()

    @classmethod
    def of(cls, findings: list[Finding]) -> Result:
        """The worst outcome of the findings (pass when there are none)."""
        worst = max((f.outcome for f in findings), key=SEVERITY.__getitem__, default=PASS)
        return cls(worst, tuple(findings))

    def detail(self) -> str:
        """The stored form: a compact JSON list of {"code": …, **args}."""
        if not self.findings:
            return ""
        items = [{"code": f.code, **f.args} for f in self.findings]
        return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def parse_detail(detail: str) -> list[tuple[str, dict[str, Any]]]:
    """(code, args) pairs back from a stored detail; unreadable text becomes one 'unreadable' entry."""
    if not detail:
        return []
    try:
        items = json.loads(detail)
        return [(str(item.pop("code")), item) for item in items]
    except (ValueError, TypeError, KeyError, AttributeError):
        return [("unreadable", {})]


@dataclass(frozen=True, slots=True)
class Row:
    """The store's view of a record being checked (what context checks need besides the Record)."""

    id: str
    source_id: int
    content_hash: str
    work_id: str | None


@dataclass
class Context:
    """What a batch of checks may look up: built once per batch by the runner."""

    terms: Any = None  # sensitive.TermList
    members: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # work id -> [(record id, source id)]
    links: dict[str, Result] = field(default_factory=dict)  # record id -> link result, filled by the runner


CheckFunction = Callable[[Record, Row, Context], Result]


@dataclass(frozen=True)
class Check:
    """A named check. ``codes`` lists every finding code it can emit (the catalogue must have them all)."""

    name: str
    run: CheckFunction
    codes: tuple[str, ...]
    network: bool = False  # needs the network: run only when asked (`--links`)
    key: Callable[[Row, Context], str] | None = None  # what invalidates a stored result; default content_hash

    def key_of(self, row: Row, context: Context) -> str:
        return row.content_hash if self.key is None else self.key(row, context)
