"""What every check shares: findings as stable codes with data, results, the batch context.

A finding is a code (``required.missing``) plus a few named values; the pages
translate it through the i18n catalogue (key ``check.<code>``), so nothing
stored depends on the page's language and old results stay readable when
wording changes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.record import Record
from schemas.text import fold

PASS, WARN, FAIL = "pass", "warn", "fail"
SEVERITY = {PASS: 0, WARN: 1, FAIL: 2}


def _noise_pattern() -> re.Pattern[str]:
    """One character class of the BMP's punctuation, symbols, separators and control/format characters
    (zero-width spaces too), as code point ranges: a regex removes them three times faster than
    str.translate with a 65,536-entry table (which looks up every character in a dict)."""
    noise = [cp for cp in range(0x10000) if unicodedata.category(chr(cp))[0] in "PSZC"]
    ranges: list[list[int]] = []
    for cp in noise:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


_NOISE = _noise_pattern()
_AS_NFKC = (("，", ","), ("（", "("), ("）", ")"), ("：", ":"), ("；", ";"), ("！", "!"), ("？", "?"), ("…", "..."),
            ("\u3000", " "))
"""The compatibility characters commonest in harvested Chinese text, each with its NFKD decomposition. Replaced
before fold(), they leave its NFKC result unchanged (NFKC composes the same decomposed text) but let the text
pass the NFKC quick check, which otherwise makes unicodedata re-normalise every character (2x slower)."""


_HAS_COMPAT = re.compile("[" + "".join(compatible for compatible, _ in _AS_NFKC) + "]")


def folded(text: str) -> str:
    """fold(text), the same string, sooner (see _AS_NFKC); cached by fold for the text with them replaced."""
    if _HAS_COMPAT.search(text):  # one scan: names, schools and keywords seldom have any
        for compatible, decomposed in _AS_NFKC:
            text = text.replace(compatible, decomposed)
    return fold(text)


def squeeze(text: str) -> str:
    """Folded text (schemas.text.fold) without punctuation, symbols, spaces or invisible characters: the form
    in which placeholders and sensitive terms are compared, so 【暂无简介】 and 扫 码 添 加 do not hide."""
    return without_noise(folded(text))


def without_noise(folded_text: str) -> str:
    """squeeze() of text already folded."""
    return _NOISE.sub("", folded_text)


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
        if not findings:
            return PASSED  # most results: one shared instance
        worst = max((f.outcome for f in findings), key=SEVERITY.__getitem__)
        return cls(worst, tuple(findings))

    def detail(self) -> str:
        """The stored form: a compact JSON list of {"code": …, **args}."""
        if not self.findings:
            return ""
        items = [{"code": f.code, **f.args} for f in self.findings]
        return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


PASSED = Result(PASS)


def parse_detail(detail: str) -> list[tuple[str, dict[str, Any]]]:
    """(code, args) pairs back from a stored detail; unreadable text becomes one 'unreadable' entry."""
    if not detail:
        return []
    try:
        items = json.loads(detail)
        return [(str(item.pop("code")), item) for item in items]
    except (ValueError, TypeError, KeyError, AttributeError):
        return [("unreadable", {})]


class Row(NamedTuple):
    """The store's view of a record being checked (what context checks need besides the Record);
    a named tuple: built from every selected row, where a frozen dataclass's __init__ showed in profiles."""

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
    squeezed: dict[str, str] = field(default_factory=dict, repr=False)  # text -> squeeze(text), for the batch

    def squeeze(self, text: str) -> str:
        """squeeze(text), remembered for the batch: the title and sensitive checks share one normalisation
        per field, and agents' names and schools, repeated across a page, are normalised once."""
        found = self.squeezed.get(text)
        if found is None:
            found = self.squeezed[text] = squeeze(text)
        return found


CheckFunction = Callable[[Record, Row, Context], Result]


@dataclass(frozen=True)
class Check:
    """A named check. ``codes`` lists every finding code it can emit (the catalogue must have them all)."""

    name: str
    run: CheckFunction
    codes: tuple[str, ...]
    network: bool = False  # needs the network: run only when asked (`--links`)
    key: Callable[[Row, Context], str] | None = None  # what invalidates a stored result; default content_hash
    reads_record: bool = True  # False: judges the Row and Context alone, so the runner need not decode the record
    applies: Callable[[Row], bool] | None = None  # False: nothing to say about this row yet, no result is stored

    def key_of(self, row: Row, context: Context) -> str:
        return row.content_hash if self.key is None else self.key(row, context)
