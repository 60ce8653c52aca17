"""Evidence that two records describe the same resource, and the vetoes that
overrule it.

Everything the clustering needs from a Record is computed once into
`Features` (small, msgspec-encodable, so it can be persisted instead of
recomputed). `compare` turns two Features into a scored `Match`, or None.
"""

from __future__ import annotations

import hashlib
import re
import sys
from datetime import datetime
from functools import lru_cache
from urllib.parse import unquote

import msgspec

from index.dedup.keys import parse_title
from schemas.record import SOURCE_LEVELS, Record
from schemas.text import fold

VETO_FIELDS = ("stage", "grade", "subject", "edition", "volume", "class_hour", "resource_type", "teacher")
"""Curriculum fields, resource type and the teacher: present-but-different means different resources.

The teacher (the first person credited as teacher or author, folded) is what tells the same class hour
taught by two teachers apart when their descriptions are worded from the same phrases: at 1,000,000
demo records, 570 of 665 description matches in one title group were such look-alikes."""
TEACHER = VETO_FIELDS.index("teacher")
_TEACHER_ROLES = frozenset({"teacher", "author"})
_HONORIFIC = re.compile(r"(老师|教师)$")

# Query parameters that only say how a link was shared, never which page it is.
# fmt: off
TRACKING_PARAMS = frozenset({
    "from", "spm", "share", "share_from", "shareid", "share_token", "sharer", "isappinstalled", "scene",
    "clicktime", "enterid", "timestamp", "_t", "ref", "referer", "fbclid", "gclid", "mc_cid", "mc_eid",
    "wxfrom", "chksm", "sessionid",
})
# fmt: on
_TRACKING_PREFIXES = ("utm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Identifier schemes that are only unique inside one source never join records.
_LOCAL_SCHEMES = frozenset({"local", "other"})
_NON_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_ELLIPSIS = re.compile(r"(\.{3,}|…+|。。。)\s*$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
DESC_CHARS = 240
"""Folded description characters kept: enough to compare, small to persist."""


class Features(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What dedup needs from one Record, computed once (gc=False: it holds strings and numbers only, so the
    cyclic GC need not track a million of them)."""

    rid: str
    title_key: str
    desc: str
    fields: tuple[str | None, ...]  # VETO_FIELDS order; "" never, None when absent
    hinted: tuple[str, ...]  # fields filled from title decoration, not the record
    chapter: str
    locators: tuple[int, ...]  # what this record can be pointed at by (hashed: see locator_key)
    refs: tuple[int, ...]  # what its is_based_on points at (hashed)
    level: int  # index in SOURCE_LEVELS; len(SOURCE_LEVELS) when unknown
    completeness: int
    recency: float

    def field(self, name: str) -> str | None:
        return self.fields[VETO_FIELDS.index(name)]


class Match(msgspec.Struct, frozen=True, gc=False):
    """A verified pairwise edge: which signals fired, with what scores (a dict of floats: no cycles)."""

    score: float
    strong: bool
    signals: dict[str, float]


_MATCHES: dict[tuple, Match] = {}


def shared_match(m: Match) -> Match:
    """One object per distinct Match (most edges are alike: same title, description 1.0, 5 fields): a Match
    and its signals dict cost ~300 bytes, and a million records have millions of edges. Matches are never
    changed in place, so sharing is safe."""
    key = (m.score, m.strong, *m.signals.items())
    found = _MATCHES.get(key)
    if found is None:
        if len(_MATCHES) >= 1 << 16:
            _MATCHES.clear()
        found = _MATCHES[key] = m
    return found


# -- URLs and identifiers -------------------------------------------------


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """Scheme-agnostic, case-folded host, no default port, fragment, tracking
    parameters or trailing slash: the forms republishers produce of one URL."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "http", url
    rest = rest.partition("#")[0]
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    host = netloc.rpartition("@")[2].lower().rstrip(".")
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and "]" not in port:
        host = name if int(port) == _DEFAULT_PORTS.get(scheme.lower()) else host
    path = "/" + unquote(path) if slash else "/"
    if "//" in path:
        path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if query:
        # Percent-decoded so 圆 and %E5%9C%86 agree; sorted so parameter order does not matter.
        pieces = (unquote(p) for p in query.split("&") if p)
        query = "&".join(sorted(p for p in pieces if not _is_tracking(p.partition("=")[0])))
    return host + (path if path != "/" or query else "") + ("?" + query if query else "")


def _identifier_locators(scheme: str, value: str) -> list[str]:
    scheme, value = scheme.strip().lower(), value.strip()
    if not value or scheme in _LOCAL_SCHEMES:
        return []
    if scheme == "url":
        return [f"url:{canonical_url(value)}"]
    if scheme == "md5":
        return [f"md5:{value.lower()}"]
    return [f"id:{scheme}:{value.lower()}", f"val:{value.lower()}"]


def _ref_locators(value: str) -> list[str]:
    """Locators an is_based_on value may name (URL, scheme:value, bare id)."""
    value = value.strip()
    if not value:
        return []
    if re.match(r"^https?://", value, re.I) or value.lower().startswith("www."):
        return [f"url:{canonical_url(value)}"]
    if _MD5.match(value.lower()):
        return [f"md5:{value.lower()}", f"val:{value.lower()}"]
    scheme, sep, rest = value.partition(":")
    if sep and scheme.isalpha() and scheme.lower() not in _LOCAL_SCHEMES and rest:
        return [f"id:{scheme.lower()}:{rest.lower()}", f"val:{value.lower()}", f"val:{rest.lower()}"]
    return [f"val:{value.lower()}"]


def record_locators(record: Record) -> tuple[int, ...]:
    found: list[str] = [f"val:{record.id.lower()}"]
    if record.url:
        found.append(f"url:{canonical_url(record.url)}")
    for ident in record.identifiers:
        found += _identifier_locators(ident.scheme, ident.value)
    if record.file_md5:
        found.append(f"md5:{record.file_md5.strip().lower()}")
    return hashed(found)


_KINDS = {"val": 0, "url": 1, "md5": 2, "id": 3}
_VALUE = _KINDS["val"]
_SIGNALS = ("identifier", "url", "file_md5", "identifier")  # by kind


def locator_key(locator: str) -> int:
    """A locator ("url:host/path", "id:scheme:value", ...) as a 62-bit hash with its kind in the two low
    bits (64 in all: what msgpack snapshots carry): what the engine keeps and indexes. As text, a
    million records' locators and references took 380 bytes a record; as numbers, 220. Two different
    locators share a key with odds of 1 in 2^62 per pair: about 1 in 10^6 that any two of the
    3,200,000 locators of a million records do."""
    kind, _, _ = locator.partition(":")
    digest = hashlib.blake2b(locator.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2 << 2 | _KINDS[kind]


def hashed(locators: list[str]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(map(locator_key, locators)))


def is_value(locator: int) -> bool:
    """A bare identifier value ("val:"): it joins only with what names it (is_based_on), never alone."""
    return locator & 3 == _VALUE


def signal_of(locator: int) -> str:
    return _SIGNALS[locator & 3]


# -- features ---------------------------------------------------------------


def _desc_key(description: str | None) -> str:
    if not description:
        return ""
    text = _ELLIPSIS.sub("", description[: DESC_CHARS * 2])
    return _NON_WORD.sub("", fold(text))[:DESC_CHARS]


def _completeness(record: Record) -> int:
    c = record.curriculum
    values = (
        record.description,
        record.url,
        record.identifiers,
        record.keywords,
        record.resource_type,
        record.format,
        record.size,
        record.duration,
        record.thumbnails,
        record.file_md5,
        record.agents,
        record.licence,
        record.created or record.modified,
        c.stage,
        c.grade,
        c.subject,
        c.edition,
        c.volume,
        c.chapter_path,
        c.class_hour,
    )
    return sum(1 for v in values if v)


def teacher_of(record: Record) -> str | None:
    """The first person credited as teacher or author, folded (譚強 = 谭强, "王芳老师" = 王芳); None when none is."""
    for agent in record.agents:
        if agent.kind == "person" and agent.role in _TEACHER_ROLES:
            name = _HONORIFIC.sub("", _NON_WORD.sub("", fold(agent.name)))
            if name:
                return sys.intern(name)
    return None


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


_SHARED: dict[tuple, tuple] = {}
"""One copy of each fields / hinted tuple: a few thousand combinations shared by a million records."""


def features(record: Record) -> Features:
    """Everything compare() and the indexes need, from one record."""
    c = record.curriculum
    parsed = parse_title(record.title)
    own: dict[str, str | None] = {
        "stage": c.stage.code if c.stage else None,
        "grade": str(c.grade) if c.grade else None,
        "subject": c.subject.code if c.subject else None,
        "edition": c.edition.code if c.edition else None,
        "volume": c.volume.code if c.volume else None,
        "class_hour": str(c.class_hour) if c.class_hour else None,
        "resource_type": record.resource_type.code if record.resource_type else None,
        "teacher": teacher_of(record),
    }
    hinted: list[str] = []
    for name in VETO_FIELDS:
        hint = getattr(parsed, name, None)
        if own[name] is None and hint is not None:
            own[name] = str(hint)
            hinted.append(name)
    refs: list[str] = []
    for value in record.is_based_on:
        refs += _ref_locators(value)
    chapter = _NON_WORD.sub("", fold(c.chapter_path[-1])) if c.chapter_path else ""
    level = (
        SOURCE_LEVELS.index(record.source_level)
        if record.source_level in SOURCE_LEVELS
        else len(SOURCE_LEVELS)
    )
    fields = _shared_fields(tuple(own[name] for name in VETO_FIELDS))
    return Features(
        rid=record.id,
        title_key=sys.intern(parsed.key),
        desc=_desc_key(record.description),
        fields=fields,
        hinted=_SHARED.setdefault(tuple(hinted), tuple(hinted)),
        chapter=sys.intern(chapter),
        locators=record_locators(record),
        refs=hashed(refs),
        level=level,
        completeness=_completeness(record),
        recency=max(_timestamp(record.modified), _timestamp(record.created)),
    )


def _shared_fields(fields: tuple[str | None, ...]) -> tuple[str | None, ...]:
    """One copy of each fields tuple, and of each value in it (codes and teachers repeat across tuples)."""
    found = _SHARED.get(fields)
    if found is None:
        found = _SHARED[fields] = tuple(sys.intern(v) if v else v for v in fields)
    return found


def compact(f: Features) -> Features:
    """f sharing the strings and tuples a million records repeat, as features() shares them: Features
    decoded from bytes (a snapshot, a worker's batch) each carry copies of their own."""
    return msgspec.structs.replace(
        f, title_key=sys.intern(f.title_key), chapter=sys.intern(f.chapter),
        fields=_shared_fields(f.fields), hinted=_SHARED.setdefault(f.hinted, f.hinted),
    )


# -- comparison -------------------------------------------------------------


def compatible(name: str, x: str | None, y: str | None) -> bool:
    """Missing never vetoes; editions also match their own base (人教版 ~ 人教A版)."""
    if x is None or y is None or x == y:
        return True
    if name == "edition":
        return x.split("-", 1)[0] == y or y.split("-", 1)[0] == x
    return False


_EDITION = VETO_FIELDS.index("edition")


def veto(a: Features, b: Features) -> tuple[str, str, str] | None:
    """(field, a's value, b's value) of the first present-but-different field."""
    return fields_veto(a.fields, b.fields)


def fields_veto(af: tuple[str | None, ...], bf: tuple[str | None, ...]) -> tuple[str, str, str] | None:
    """veto() on bare VETO_FIELDS tuples (the key index groups records by them)."""
    if af == bf:
        return None
    for i, (x, y) in enumerate(zip(af, bf, strict=True)):
        if x != y and x is not None and y is not None and (i != _EDITION or not compatible("edition", x, y)):
            return VETO_FIELDS[i], x, y
    return None


@lru_cache(maxsize=65536)
def fields_agree(af: tuple[str | None, ...], bf: tuple[str | None, ...]) -> int:
    """Curriculum fields (stage left out) present and equal in both."""
    return sum(1 for x, y in zip(af[1:], bf[1:], strict=True) if x is not None and x == y)


def agreement(a: Features, b: Features) -> int:
    """Curriculum fields and chapter present and equal in both (compare's "fields" signal)."""
    return fields_agree(a.fields, b.fields) + (1 if a.chapter and a.chapter == b.chapter else 0)


@lru_cache(maxsize=4096)  # 32,768 held ~250 MB of bigram sets whatever the size; the hot keys are recent ones
def grams(text: str) -> frozenset[str]:
    """Character bigrams (the whole string when shorter than two)."""
    if len(text) < 2:
        return frozenset((text,)) if text else frozenset()
    return frozenset(map(str.__add__, text[:-1], text[1:]))


def dice(x: frozenset[str], y: frozenset[str]) -> float:
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


def containment(x: frozenset, y: frozenset) -> float:
    """Share of the smaller set found in the larger: truncation-proof."""
    return len(x & y) / min(len(x), len(y)) if x and y else 0.0


def strong_signals(a: Features, b: Features) -> dict[str, float]:
    found: dict[str, float] = {}
    shared = set(a.locators).intersection(b.locators)
    for locator in shared:
        if not is_value(locator):
            found[signal_of(locator)] = 1.0
    if set(a.refs).intersection(b.locators) or set(b.refs).intersection(a.locators):
        found["is_based_on"] = 1.0
    return found


class Thresholds(msgspec.Struct, frozen=True):
    """Verification thresholds; tuned on tests/data/dedup_eval.jsonl."""

    description: float = 0.6  # containment of description bigrams, same title key
    retitled_description: float = 0.9  # ... when one title key holds the other,
    retitled_length_ratio: float = 0.5  # is at least this share of its length,
    retitled_desc_chars: int = 48  # and both descriptions are this long (a truncated head is boilerplate)
    min_desc_chars: int = 12
    fields_without_description: int = 2  # agreeing fields needed when a description is missing


DEFAULT_THRESHOLDS = Thresholds()


def may_be_retitled(a: Features, b: Features, t: Thresholds) -> bool:
    """Could b be a with its title extended (or the reverse)? Needs both descriptions."""
    return (
        len(a.desc) >= t.retitled_desc_chars
        and len(b.desc) >= t.retitled_desc_chars
        and may_retitle(a.title_key, b.title_key, t)
    )


@lru_cache(maxsize=65536)  # title keys repeat: a million records hold tens of thousands
def may_retitle(x: str, y: str, t: Thresholds) -> bool:
    """Could one of two title keys be the other retitled (held whole by it, or all its bigrams)? The
    titles' half of may_be_retitled: the engine asks it of LSH's groups before touching their records."""
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    # a substring's bigrams are all in the longer string: no need to build them (one character is no bigram)
    return len(short) >= t.retitled_length_ratio * len(long) and (
        (len(short) >= 2 and short in long) or grams(short) <= grams(long)
    )


def desc_containment(x: str, y: str) -> float:
    """containment() of the two texts' bigrams, rounded; 1.0 at once when one text holds the other
    (identical and truncated copies: most verified pairs)."""
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    if len(short) >= 2 and short in long:
        return 1.0
    gx, gy = code_grams(x), code_grams(y)
    if gx is None or gy is None:
        gx, gy = grams(x), grams(y)
    return round(containment(gx, gy), 3)


@lru_cache(maxsize=4096)
def code_grams(text: str) -> frozenset[int] | None:
    """grams(text) with each bigram as one int (its two UTF-16 code units): the same sets, one to
    one, built in C, several times faster. None when text has a character outside the BMP, or is
    shorter than a bigram."""
    data = text.encode("utf-16-le")
    if len(text) < 2 or len(data) != 2 * len(text):
        return None
    view = memoryview(data)
    even = len(data) // 4 * 4  # bigrams at characters 0-1, 2-3, ...
    odd = (len(data) - 2) // 4 * 4  # ... and at 1-2, 3-4, ...
    return frozenset(view[:even].cast("I")).union(view[2 : 2 + odd].cast("I"))


def compare(
    a: Features, b: Features, t: Thresholds | None = None, strong: dict[str, float] | None = None
) -> Match | None:
    """Verified edge between a and b, or None (vetoed or not similar enough).

    strong: the identifier signals, when the caller already knows them from
    its locator index (saves recomputing them per candidate).
    """
    t = t or DEFAULT_THRESHOLDS
    if strong is None:
        strong = strong_signals(a, b)
    if not strong and a.title_key != b.title_key and not may_be_retitled(a, b, t):
        return None  # the cheap exit most LSH candidates take
    if veto(a, b):
        return None
    signals: dict[str, float] = dict(strong)
    retitled = False
    if a.title_key == b.title_key:
        title = 1.0
        signals["title_key"] = 1.0
    else:
        # Titles differing by a character are different lessons (加法/减法运算定律,
        # 圆柱/圆锥的体积); only a title that holds the other whole may match,
        # and then on a near-identical description.
        ga, gb = grams(a.title_key), grams(b.title_key)
        title = round(dice(ga, gb), 3)
        signals["title"] = title
        retitled = may_be_retitled(a, b, t)
    desc: float | None = None
    if len(a.desc) >= t.min_desc_chars and len(b.desc) >= t.min_desc_chars:
        desc = desc_containment(a.desc, b.desc)
        signals["description"] = desc
    agree = agreement(a, b)
    if agree:
        signals["fields"] = float(agree)
    if desc is not None:
        weak = (title == 1.0 and desc >= t.description) or (retitled and desc >= t.retitled_description)
        score = 0.4 * title + 0.6 * desc
    else:
        weak = title == 1.0 and agree >= t.fields_without_description
        score = 0.4 * title + 0.3 + 0.02 * min(agree, 5)
    if strong:
        return Match(score=1.0, strong=True, signals=signals)
    if weak:
        return Match(score=round(min(score, 0.999), 4), strong=False, signals=signals)
    return None
