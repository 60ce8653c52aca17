"""User query text → engine-neutral analysed query, and snippet highlighting.

The user's text is ours to parse: plain words plus optional "quoted
phrases". Nothing the user typed ever reaches an engine's own query parser,
so engine syntax can neither break a search nor be injected into one.
Backends translate `AnalysedQuery` into their own query objects.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from index.analysis import (
    STOPWORDS,
    Alternative,
    expand_words,
    fold_text,
    implied_words,
    is_weak,
    pinyin_query,
    word_pinyin,
    words,
)
from index.backend import QuerySyntaxError
from schemas.text import strip_controls, to_simplified

MAX_QUERY_CHARS = 256
"""Plain text beyond this is ignored (pasted pages): keeps latency bounded."""
MAX_PHRASES = 8
MAX_GROUPS = 24

_QUOTES = str.maketrans({"“": '"', "”": '"', "＂": '"', "„": '"'})
_PHRASE = re.compile(r'"([^"]*)"')
_OPERATORS = frozenset({"AND", "OR", "NOT", "&&", "||"})
_FIELD_SYNTAX = re.compile(r"(?:^|\s)([A-Za-z_]+):\S")
_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]")


@dataclass(frozen=True)
class TermGroup:
    """One query word. It matches when any alternative matches (a tuple of
    several tokens must match as a phrase), a pinyin/initials term does, or
    one of `chars` appears character by character in the `chars` field."""

    alternatives: tuple[Alternative, ...]
    pinyin: tuple[str, ...] = ()
    initials: tuple[str, ...] = ()
    chars: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalysedQuery:
    """What a backend needs: term groups (all must match), phrases (all must
    match) and surface terms for highlighting.

    When all groups find nothing, a backend retries once with only
    `relaxed_match` of them required (a pasted title with one stray word).
    Requiring all words first keeps every query an intersection, which the
    engines run far faster than "k of n" matching.
    """

    groups: tuple[TermGroup, ...]
    phrases: tuple[tuple[str, ...], ...]
    relaxed_match: int
    highlight_terms: tuple[str, ...]
    phrase_chars: tuple[str, ...] = ()
    """Each phrase folded, character for character: a phrase matches as words
    *or* as these characters in a row, whatever the segmenter made of it."""

    @property
    def pinyin_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for g in self.groups for t in (*g.pinyin, *g.initials)))

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to match on: browse by filters only."""
        return not self.groups and not self.phrases


def split_query(text: str) -> tuple[str, list[str]]:
    """(plain text, phrases) from the user's text; QuerySyntaxError if malformed."""
    text = strip_controls(text or "").translate(_QUOTES)
    quotes = [i for i, c in enumerate(text) if c == '"']
    if len(quotes) % 2:
        raise QuerySyntaxError(
            'Unbalanced quotes: a phrase opened with " is never closed. '
            'Put phrases between a pair of quotes, like "勾股定理".',
            text,
            quotes[-1],
            key="query.unbalanced_quotes",
        )
    phrases = [p.strip() for p in _PHRASE.findall(text) if p.strip()]
    plain = _PHRASE.sub(" ", text)
    for token in plain.split():
        if token in _OPERATORS:
            raise QuerySyntaxError(
                f"“{token}” is not supported: type the words you want (all of them must match) "
                'and put exact phrases in "quotes".',
                text,
                text.find(token),
                key="query.unsupported_operator",
                values={"operator": token},
            )
    field = _FIELD_SYNTAX.search(plain)
    if field:
        raise QuerySyntaxError(
            f"Field searches such as “{field.group(1)}:…” are not supported: "
            "use the filters (subject, grade, edition…) instead.",
            text,
            field.start(1),
            key="query.field_search",
            values={"field": field.group(1)},
        )
    return plain, phrases


def _pinyin_run(groups: list[list[Alternative]]) -> list[str | None]:
    """For each group, the joined letters of the run of letter-only words it is in
    (gou gu → gougu), so spaced pinyin still meets the unspaced index terms."""
    joined: list[str | None] = [None] * len(groups)
    i = 0
    while i < len(groups):
        j = i
        while j < len(groups) and groups[j] and len(groups[j][0]) == 1 and pinyin_query(groups[j][0][0])[0]:
            j += 1
        if j - i >= 2:
            run = "".join(g[0][0] for g in groups[i:j])
            for k in range(i, j):
                joined[k] = run
        i = max(j, i + 1)
    return joined


def _merge_weak(groups: list[list[Alternative]]) -> list[tuple[list[Alternative], str]]:
    """Join runs of weak words (费马 小) into one group: those words as a phrase,
    or their characters in a row (费马小), since documents may segment them
    differently. Returns (alternatives, chars) pairs."""
    out: list[tuple[list[Alternative], str]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) == 1:
            out.append(([tuple(run)], run[0]))
        elif run:  # the characters in a row subsume the words as a phrase, at a fraction of the cost
            out.append(([], "".join(run)))
        run.clear()

    for group in groups:
        if len(group) == 1 and len(group[0]) == 1 and is_weak(group[0][0]):
            run.append(group[0][0])
            continue
        flush()
        out.append((group, ""))
    flush()
    return out


def _covers(word: str, alternative: Alternative) -> bool:
    """True when every document matching `alternative` (in any field) holds the token `word` in that field."""
    return any(token == word or word in implied_words(token) for token in alternative)


def prune_alternatives(alternatives: list[Alternative]) -> list[Alternative]:
    """The alternatives minus those another one already matches in full, the typed word kept first.

    A synonym that contains the typed word or another synonym as a search-mode
    sub-word (微课 → 微课视频, 生物 → 生物学, 统编 → 部编版 beside 部编) finds no
    document the shorter one does not: in the index a word always comes with
    its sub-words (index.analysis.implied_words), and a phrase with its words.
    It only doubled the union an engine walks for the group (the commonest
    words' postings twice over), and its tie-breaker share lifted works that
    happen to spell the longer form. Matching is unchanged; ranking loses that
    share. Both backends build their queries from these groups, so Tantivy and
    Elasticsearch drop the same alternatives.
    """
    singles = [a[0] for a in alternatives[1:] if len(a) == 1]
    if alternatives and len(alternatives[0]) == 1:
        singles.insert(0, alternatives[0][0])
    kept = alternatives[:1]
    for alternative in alternatives[1:]:
        if not any((word,) != alternative and _covers(word, alternative) for word in singles):
            kept.append(alternative)
    return kept


@lru_cache(maxsize=1024)
def analyse_query(text: str) -> AnalysedQuery:
    """Parse and analyse the user's text once, for any backend.

    Cached (the result is immutable; ~50 µs of segmenting, synonyms and pinyin saved per repeated query):
    the same queries come back page after page and user after user. Text the user must fix raises every time."""
    plain, phrase_texts = split_query(text)
    expanded = expand_words(words(plain[:MAX_QUERY_CHARS]))
    content = [g for g in expanded if len(g[0]) > 1 or g[0][0] not in STOPWORDS]
    merged = _merge_weak((content or expanded)[:MAX_GROUPS])
    expanded = [alternatives for alternatives, _ in merged]
    runs = _pinyin_run(expanded)
    groups: list[TermGroup] = []
    highlight: list[str] = []
    for (alternatives, chars), run in zip(merged, runs, strict=True):
        pinyin: list[str] = []
        initials: list[str] = []
        single = [alternatives[0][0]] if alternatives and len(alternatives[0]) == 1 else []
        for candidate in single + ([run] if run else []):
            full, initial = pinyin_query(candidate)
            pinyin += [full] if full else []
            initials += [initial] if initial else []
        groups.append(
            TermGroup(
                tuple(prune_alternatives(alternatives)),
                tuple(dict.fromkeys(pinyin)),
                tuple(dict.fromkeys(initials)),
                (chars,) if chars else (),
            )
        )
        highlight += [token for alternative in alternatives for token in alternative]
        highlight += [chars] if chars else []
    highlight += [fold_text(piece) for piece in plain[:MAX_QUERY_CHARS].split() if len(piece) > 1]
    phrases: list[tuple[str, ...]] = []
    phrase_chars: list[str] = []
    for phrase in phrase_texts[:MAX_PHRASES]:
        tokens = tuple(words(phrase[:MAX_QUERY_CHARS]))
        if tokens:
            phrases.append(tokens)
            phrase_chars.append(fold_text(phrase[:MAX_QUERY_CHARS]))
            highlight += [phrase_chars[-1], "".join(tokens), *tokens]
    if not groups and not phrases and (plain.strip() or phrase_texts):
        raise QuerySyntaxError("The query has no words to search for.", text, key="query.no_words")
    n = len(groups)
    relaxed = n if n <= 3 else n - n // 4
    return AnalysedQuery(
        tuple(groups), tuple(phrases), relaxed, tuple(dict.fromkeys(highlight)), tuple(phrase_chars)
    )


# --- highlighting -----------------------------------------------------------


@lru_cache(maxsize=4096)
def _search_view(text: str) -> str:
    """Text folded character for character (same length), to find terms in it.
    Cached: the same popular works come back page after page."""
    view = to_simplified(text)
    if len(view) != len(text):  # a rare many-to-one conversion: fall back to the text
        view = text
    view = _FULLWIDTH.sub(lambda m: unicodedata.normalize("NFKC", m.group()), view)
    return view.lower() if len(view.lower()) == len(view) else view


@lru_cache(maxsize=1024)
def _search_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The terms worth marking, longest first: sorted once per query, not twice per hit."""
    return tuple(sorted({t for t in terms if t and not (t.isascii() and len(t) < 2)}, key=len, reverse=True))


def _spans(view: str, terms: tuple[str, ...]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for term in _search_terms(terms):
        start = view.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = view.find(term, start + len(term))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def pinyin_matches(text: str, pinyin_terms: Iterable[str]) -> list[str]:
    """Words of `text` that pinyin query terms matched (gougu → 勾股定理), to highlight them."""
    terms = [t for t in pinyin_terms if t]
    if not terms:
        return []
    text_words = [w for w in words(text) if not w.isascii()]
    found: list[str] = []
    for i in range(len(text_words)):
        full = initials = ""
        for j in range(i, min(i + 3, len(text_words))):
            f, n = word_pinyin(text_words[j])
            full, initials = full + f, initials + n
            span = "".join(text_words[i : j + 1])
            for term in terms:
                if (full.startswith(term) or initials.startswith(term)) and span not in found:
                    found.append(span)
    return found


def highlight(text: str | None, terms: Iterable[str], max_chars: int = 120) -> str:
    """HTML-escaped fragment of `text` (≤ max_chars) around the first match,
    matches wrapped in <mark>; the text's start when nothing matches."""
    text = (text or "")[:4000]
    spans = _spans(_search_view(text), tuple(terms))
    start = 0
    if spans and spans[0][0] > max_chars // 3 and len(text) > max_chars:
        start = min(spans[0][0] - max_chars // 4, len(text) - max_chars)
    end = min(len(text), start + max_chars)
    out = ["…"] if start > 0 else []
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out += [html.escape(text[pos:s]), "<mark>", html.escape(text[s:e]), "</mark>"]
        pos = e
    out.append(html.escape(text[pos:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)
