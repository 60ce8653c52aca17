"""Text analysis done once, in Python, for every search backend.

Documents and queries are folded (schemas.text.fold: Traditional→Simplified,
width, case) and segmented by rjieba with a domain dictionary built from the
vocabularies plus chapter_terms.txt. The engines then only split our tokens
on spaces, so Tantivy and Elasticsearch index and query exactly the same
terms, and Chinese segmentation never has to be configured twice.

Index side: `analyse` (search-mode cut: whole words *and* their dictionary
sub-words, for recall), `pinyin_tokens` (edge prefixes of full pinyin and of
initials, so ``gougu``, ``gougudingli`` and ``ggdl`` all find 勾股定理 by
plain term lookups). Synonyms are expanded on the query side only, so
documents stay small and a vocabulary change needs no re-index.

Query side: `words` (default-mode cut: one token per word, no overlapping
sub-words) and `expand_words` / `expand_query`: edition, stage and grade
names search for all their equivalents (部编版 ⇄ 统编版, 初中七年级 ⇄ 七年级);
subject, resource type and honour synonyms add their canonical label
(math → 数学, 生物 → 生物学); relative grades use the default 六三制
(初一 → 七年级).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

import rjieba
from pypinyin import lazy_pinyin

from schemas.normalise import chinese_number, grade_label, normalise_grade
from schemas.text import fold
from schemas.vocab import grade_entries, load_data, vocabulary

CHAPTER_TERMS = Path(__file__).with_name("chapter_terms.txt")

PINYIN_MAX = 24
"""Longest full-pinyin prefix indexed; longer query strings are cut to it."""
INITIALS_MAX = 12
"""Longest initials prefix indexed (ggdl…)."""
PINYIN_SPAN = 3
"""Pinyin prefixes run across at most this many consecutive words (yuandemianji)."""

# The commonest full-width punctuation (and the ellipsis), mapped as NFKC would map it: text
# without other compatibility characters then passes the NFKC quick check
# inside fold(), which otherwise re-normalises every character (3x slower).
_FULLWIDTH = (("，", ","), ("（", "("), ("）", ")"), ("：", ":"), ("；", ";"), ("！", "!"), ("？", "?"), ("…", "..."))
_fold = getattr(fold, "__wrapped__", fold)  # bypass fold's LRU cache: texts are mostly unique

Alternative = tuple[str, ...]
"""Query words that must all match (in order, as a phrase when more than one)."""

STOPWORDS = frozenset(
    "的 了 和 与 及 之 或 是 在 对 把 被 也 吗 呢 吧 啊 "
    "a an the of and or to in on at for by with from as is are be s "
    "my your his her our their this that what".split()
)
"""Dropped from queries (never from documents) when other words remain."""


def fold_text(text: str) -> str:
    """fold() for running text: the same folding, but word boundaries kept.

    fold() deletes whitespace, which would glue English words together;
    whitespace becomes "|" first, which the segmenter emits as punctuation.
    """
    for full, half in _FULLWIDTH:
        text = text.replace(full, half)
    return _fold("|".join(text.split()))


def is_word(token: str) -> bool:
    """True unless the token is only punctuation, symbols or separators."""
    return token.isalnum() or any(c.isalnum() for c in token)


def _dictionary_word(label: str) -> str | None:
    """The folded label if the segmenter can hold it as one word (CJK, 2+ chars)."""
    word = fold(label)
    if len(word) < 2 or word.isascii() or not word.isalnum():
        return None
    return word


def domain_words() -> list[str]:
    """Vocabulary labels and synonyms plus chapter terms, folded, deduplicated."""
    labels: list[str] = []
    for name in ("subjects", "editions", "stages", "resource_types", "volumes", "honours", "source_levels"):
        for entry in vocabulary(name).entries.values():
            labels += [entry.get("zh", ""), entry.get("label", ""), entry.get("publisher", "")]
            labels += entry.get("synonyms", [])
    for entry in grade_entries().values():
        labels += [entry["zh"], *entry.get("synonyms", [])]
    labels += list(load_data("grades")["junior_relative"]["names"])
    labels += [k for k in load_data("grades")["bands"] if not k.startswith("_")]
    for line in CHAPTER_TERMS.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            labels.append(line)
    words = (_dictionary_word(label) for label in labels if label)
    return list(dict.fromkeys(w for w in words if w))


@cache
def segmenter() -> rjieba.Jieba:
    """Our own rjieba instance (the module default is shared with other code).

    rjieba ≥ 0.2 has add_word(word, freq, tag); freq None lets jieba-rs
    suggest a frequency just high enough to keep the word whole. Words the
    default dictionary already has keep their frequency.
    """
    jieba = rjieba.Jieba()
    for word in domain_words():
        if not jieba.has_word(word):
            jieba.add_word(word, None, None)
    return jieba


def _tokens(folded: str) -> list[str]:
    # A one-character token that is not alphanumeric is punctuation: skip is_word for it.
    return [t for t in segmenter().cut_for_search(folded) if t.isalnum() or (len(t) > 1 and is_word(t))]


def _chars(folded: str) -> str:
    """Every character of the folded text as a token. Punctuation and "|"
    stay in as tokens of their own, so a character phrase never spans them.
    (" ".join(folded), without making a string per character: five times faster.)"""
    return folded.replace("", " ")[1:-1]


def analyse(text: str | None) -> list[str]:
    """Index tokens: folded, search-mode segmented, punctuation dropped."""
    return _tokens(fold_text(text)) if text else []


def analyse_text(text: str) -> tuple[str, str]:
    """(tokens, characters), space-joined, for a document field.

    The characters back up segmentation: the segmenter may cut a word
    differently in running text (介绍费|马|小|定理) than in a query
    (费马|小|定理); query words that are not dictionary words are also
    matched as a character phrase (see `is_weak`).
    """
    folded = fold_text(text)
    return " ".join(_tokens(folded)), _chars(folded)


@lru_cache(maxsize=65_536)
def analyse_title(title: str) -> tuple[str, str, str, str]:
    """(tokens, characters, full-pinyin prefixes, initials prefixes), space-joined.

    Cached: the same title recurs across platforms and teachers (勾股定理
    第一课时), and titles carry the costly pinyin fields.
    """
    folded = fold_text(title)
    full, initials = pinyin_tokens(t for t in segmenter().cut(folded) if is_word(t))
    return " ".join(_tokens(folded)), _chars(folded), " ".join(full), " ".join(initials)


@lru_cache(maxsize=8192)
def implied_words(word: str) -> frozenset[str]:
    """Index tokens that every document holding the token `word` also holds, in the same field.

    Search mode (`analyse`) emits a word together with its dictionary sub-words
    of 2 and 3 characters (微课视频 → 微课, 视频, 微课视频), and a 3-character
    token that is itself a sub-word of a longer word comes with that word's 2-character
    sub-words, its own among them. So a query for any of these sub-words already
    finds every document with `word`. Empty when `word` is not one word to the segmenter.
    """
    if segmenter().cut(word) != [word]:
        return frozenset()
    return frozenset(_tokens(word)) - {word}


def is_weak(word: str) -> bool:
    """A Chinese query word that segmentation may not reproduce in documents:
    a single character, or a word the dictionary does not know (names, 费马)."""
    return _is_chinese(word) and (len(word) == 1 or not segmenter().has_word(word))


def words(text: str | None) -> list[str]:
    """Query/phrase tokens: folded, default-mode segmented (no sub-words).

    Every such word of a text is also among its search-mode `analyse` tokens,
    so a query word always meets the same term in the index.
    """
    if not text:
        return []
    return [t for t in segmenter().cut(fold_text(text)) if is_word(t)]


# --- pinyin -----------------------------------------------------------------


@lru_cache(maxsize=262_144)
def word_pinyin(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of a Chinese word: 勾股定理 → (gougudingli, ggdl)."""
    syllables = [s for s in lazy_pinyin(word, errors="ignore") if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


@lru_cache(maxsize=262_144)
def _span_prefixes(span: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Edge prefixes (2+ letters) of the pinyin of consecutive words."""
    parts = [word_pinyin(w) for w in span]
    full = "".join(p[0] for p in parts)[:PINYIN_MAX]
    initials = "".join(p[1] for p in parts)[:INITIALS_MAX]
    return (
        tuple(full[:k] for k in range(2, len(full) + 1)),
        tuple(initials[:k] for k in range(2, len(initials) + 1)),
    )


def _is_chinese(word: str) -> bool:
    return not word.isascii() and word.isalpha()


def pinyin_tokens(text_words: Iterable[str]) -> tuple[list[str], list[str]]:
    """(full-pinyin prefixes, initials prefixes) for words from `words()`.

    Prefixes start at every Chinese word and run across up to PINYIN_SPAN
    words, so a query is matched by exact term lookup whether it is a prefix
    (gougu), a whole word (gougudingli), initials (ggdl) or crosses words
    (yuandemianji for 圆的面积). Non-Chinese words break the run.
    """
    full: list[str] = []
    initials: list[str] = []
    run: list[str] = []
    for word in [*text_words, ""]:
        if word and _is_chinese(word):
            run.append(word)
            continue
        for i in range(len(run)):
            f, n = _span_prefixes(tuple(run[i : i + PINYIN_SPAN]))
            full += f
            initials += n
        run = []
    return list(dict.fromkeys(full)), list(dict.fromkeys(initials))


def pinyin_query(token: str) -> tuple[str | None, str | None]:
    """Terms to look up in the (full, initials) pinyin fields for a query token."""
    if len(token) < 2 or not token.isascii() or not token.isalpha():
        return None, None
    return token[:PINYIN_MAX], (token if len(token) <= INITIALS_MAX else None)


# --- synonyms ---------------------------------------------------------------

_EQUIVALENT_VOCABS = ("editions", "stages")
"""Every label and synonym names the same thing (部编版 = 统编版): a query for
any of them searches for all of them."""
_CANONICAL_VOCABS = ("subjects", "resource_types", "honours")
"""Synonyms may be broad words (练习, 信息): a query for one also searches the
canonical label (课后练习), never the reverse."""


@cache
def _synonym_table() -> dict[str, tuple[str, ...]]:
    """Folded label → the labels a query for it also searches (canonical first)."""
    table: dict[str, tuple[str, ...]] = {}

    def add(canonical: str, synonyms: Iterable[str], equivalent: bool) -> None:
        labels = [canonical, *(s for s in synonyms if s)]
        for label in labels:
            key = fold(label)
            if len(key) >= 2:
                table.setdefault(key, tuple(dict.fromkeys(labels if equivalent else [canonical])))

    for name in (*_EQUIVALENT_VOCABS, *_CANONICAL_VOCABS):
        for entry in vocabulary(name).entries.values():
            canonical = entry.get("zh") or entry.get("label") or ""
            add(canonical, [entry.get("en", ""), *entry.get("synonyms", [])], name in _EQUIVALENT_VOCABS)
    for entry in grade_entries().values():
        add(entry["zh"], [entry["en"], *entry.get("synonyms", [])], True)
    return table


@lru_cache(maxsize=8192)
def _synonyms_of(key: str) -> tuple[Alternative, ...]:
    """Alternatives (each a tuple of query words) that a folded query word also matches."""
    labels = _synonym_table().get(key)
    if labels is None and len(key) >= 2 and not key.isdigit() and chinese_number(key) is None:
        grade = normalise_grade(key)  # 初一 → 7 under 六三制, the default school system
        labels = (grade_label(grade),) if grade else None
    found = (tuple(words(label)) for label in labels or ())
    return tuple(dict.fromkeys(a for a in found if a and a != (key,)))


def expand_words(tokens: list[str]) -> list[list[Alternative]]:
    """One group of alternatives per query word: the word, then its synonyms.

    Adjacent words whose concatenation is a vocabulary label (lesson plan,
    初中 七年级) become one group: those words as a phrase, or the synonyms.
    """
    groups: list[list[Alternative]] = []
    i = 0
    while i < len(tokens):
        for n in (3, 2, 1):
            if i + n > len(tokens):
                continue
            span = tuple(tokens[i : i + n])
            synonyms = _synonyms_of("".join(span))
            if synonyms or n == 1:
                groups.append([span, *(a for a in synonyms if a != span)])
                i += n
                break
    return groups


def expand_query(text: str) -> list[str]:
    """Query tokens with synonym expansion (flat): 初一数学 → 初一, 七年级, 数学."""
    tokens: list[str] = []
    for group in expand_words(words(text)):
        for alternative in group:
            tokens.extend(alternative)
    return list(dict.fromkeys(tokens))
