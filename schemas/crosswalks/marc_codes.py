"""Small MARC 21 helpers shared by the MARC crosswalks: subfield text
cleaning (ISBD punctuation, mojibake), language and relator codes, dates and
durations, title/name/ISBN field readers. Kept apart from marc_map so the
mapping itself stays readable."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from functools import lru_cache

import pymarc
from pymarc import Field

from schemas.text import clean

# --- text ---------------------------------------------------------------

_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")
_ISBD_TAIL = re.compile(r"\s*[/:;=,]\s*$|(?<![.\s])\.\s*$")
# bidi embedding/isolate controls: unbalanced in real records, and they hide ISBD punctuation
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def repair_mojibake(value: str) -> str:
    """Undo UTF-8 read as Latin-1, however many times it happened (real
    catalogues carry 12-fold Ã sequences); text that is not mojibake stays."""
    for _ in range(16):
        try:
            fixed = value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            break
        if fixed == value:
            break
        value = fixed
    return value


@lru_cache(maxsize=8192)
def text(value: str | None) -> str:
    """A subfield value ready to store: mojibake repaired, cleaned (memoised: mappers ask for the same
    subfields several times, and catalogues repeat publishers, places and subjects)."""
    if not value:
        return ""
    if not value.isascii():
        if _MOJIBAKE.search(value):
            value = repair_mojibake(value)
        value = value.translate(_BIDI_CONTROLS)
    return clean(value)


def strip_isbd(value: str) -> str:
    """Drop ISBD trailing punctuation (" /", " :", " ;", ",", a final ".")."""
    for _ in range(3):
        stripped = _ISBD_TAIL.sub("", value).strip()
        if stripped == value:
            break
        value = stripped
    return value


def xml_text(value: str) -> str:
    """Text XML 1.0 can carry (our writer must never emit an unparsable record)."""
    return _XML_ILLEGAL.sub("", value)


def subs(field: Field, codes: str) -> list[str]:
    return [v for s in field.subfields if s.code in codes and (v := text(s.value))]


def first(field: Field, code: str) -> str:
    return next(iter(subs(field, code)), "")


# --- codes --------------------------------------------------------------

LANGUAGES = {
    "chi": "zh", "zho": "zh", "eng": "en", "jpn": "ja", "kor": "ko", "fre": "fr", "fra": "fr",
    "ger": "de", "deu": "de", "rus": "ru", "spa": "es", "ita": "it", "por": "pt", "ara": "ar",
    "fin": "fi", "swe": "sv", "nor": "no", "dan": "da", "dut": "nl", "nld": "nl", "pol": "pl",
    "cze": "cs", "ces": "cs", "gre": "el", "ell": "el", "lat": "la", "tib": "bo", "bod": "bo",
    "uig": "ug", "mon": "mn", "vie": "vi", "tha": "th", "hin": "hi", "tur": "tr", "heb": "he",
    "per": "fa", "fas": "fa", "ukr": "uk", "hun": "hu", "ind": "id", "may": "ms", "msa": "ms",
    "est": "et", "lav": "lv", "lit": "lt", "rum": "ro", "ron": "ro", "bul": "bg", "hrv": "hr",
    "srp": "sr", "slv": "sl", "slo": "sk", "slk": "sk", "ice": "is", "isl": "is", "kaz": "kk",
    "kir": "ky", "zha": "za", "iii": "ii",
}
MARC_LANGUAGES = {bcp: code for code, bcp in reversed(LANGUAGES.items())}
_NO_LANGUAGE = {"und", "mul", "zxx", "mis", "", "|||", "xxx"}


def bcp47(code: str) -> str | None:
    """MARC language code (chi, eng) → BCP 47 (zh, en); other ISO 639 codes kept."""
    code = code.strip().lower()
    if code in _NO_LANGUAGE or not code.isalpha() or len(code) != 3:
        return None
    return LANGUAGES.get(code, code)


def marc_language(tag: str | None) -> str:
    """BCP 47 → MARC code for 008/35-37 and 041 ("und" when unknown)."""
    base = (tag or "").split("-")[0].lower()
    if len(base) == 3 and base.isalpha():
        return base
    return MARC_LANGUAGES.get(base, "und")


# relator code ($4) and term ($e) → our role; role → ($e term, $4 code) we write
ROLE_CODES = {"tch": "teacher", "aut": "author", "pro": "producer", "pbl": "publisher",
              "dst": "provider", "ctb": "contributor"}
ROLE_WORDS = {"teacher": "teacher", "instructor": "teacher", "lecturer": "teacher", "教师": "teacher",
              "主讲": "teacher", "主讲人": "teacher", "授课教师": "teacher", "author": "author",
              "作者": "author", "著": "author", "编著": "author", "producer": "producer", "制作": "producer",
              "publisher": "publisher", "出版": "publisher", "distributor": "provider",
              "provider": "provider", "提供": "provider", "contributor": "contributor"}
ROLE_OUT = {"teacher": ("teacher", "tch"), "author": ("author", "aut"), "producer": ("producer", "pro"),
            "publisher": ("publisher", "pbl"), "provider": ("distributor", "dst"),
            "contributor": ("contributor", "ctb")}

SCHEMES = ("smartedu", "oai", "isbn", "url", "doi", "md5", "local", "other")

# --- dates and durations ------------------------------------------------

YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
_DURATION_PART = re.compile(
    r"(\d+)\s*(hours?|hrs?|h|小时|时|minutes?|mins?|分钟|分|seconds?|secs?|秒)(?![a-z])", re.I)
_CLOCK = re.compile(r"\b(?:(\d{1,2}):)?(\d{1,2}):(\d{2})\b")
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?)?$")


def year_datetime(year: str | int) -> datetime:
    return datetime(int(year), 1, 1, tzinfo=UTC)


def iso_duration(hours: int, minutes: int, seconds: int) -> str | None:
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        return None
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return "PT" + "".join(f"{n}{u}" for n, u in ((h, "H"), (m, "M"), (s, "S")) if n)


def parse_extent(value: str) -> str | None:
    """Duration from a 300$a extent ("1 video file (10 min)") or 306 hhmmss."""
    if re.fullmatch(r"\d{6}", value):
        return iso_duration(int(value[:2]), int(value[2:4]), int(value[4:]))
    clock = _CLOCK.search(value)
    if clock:
        return iso_duration(int(clock.group(1) or 0), int(clock.group(2)), int(clock.group(3)))
    parts = {"h": 0, "m": 0, "s": 0}
    for number, unit in _DURATION_PART.findall(value):
        unit = unit.lower()
        key = "h" if unit[0] in "h小时" else "m" if unit[0] in "m分" else "s"
        parts[key] += int(number)
    return iso_duration(parts["h"], parts["m"], parts["s"])


def duration_parts(duration: str | None) -> tuple[int, int, int] | None:
    """(hours, minutes, seconds) of an ISO 8601 duration, days folded into hours."""
    m = _ISO_DURATION.match(duration or "")
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return d * 24 + h, mi, s


_STAMP_005 = re.compile(r"([0-9]{4})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])([0-5][0-9])([0-5][0-9])")
"""The usual 005 (yyyymmddhhmmss, every field two digits and in range): the one way strptime reads it too."""


def parse_005(value: str) -> datetime | None:
    usual = _STAMP_005.fullmatch(value[:14])
    if usual:  # strptime costs ~20 µs; anything unusual (or Feb 30) still goes through it
        try:
            return datetime(*map(int, usual.groups()), tzinfo=UTC)
        except ValueError:
            pass
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


# --- fields ---------------------------------------------------------------

Tags = dict[str, list[Field]]


def by_tag(rec: pymarc.Record) -> Tags:
    tags: Tags = defaultdict(list)
    for field in rec.fields:
        tags[field.tag].append(field)
    return tags


def title_of(field: Field, isbd: bool) -> str:
    """245/246 $a $b $n $p as one string; $h (GMD) keeps only its punctuation."""
    out = ""
    for code, value in field.subfields:
        if code == "h":
            m = re.search(r"[:;=/]\s*$", value or "")
            out += f" {m.group(0).strip()}" if m and out else ""
        elif code in "abnp" and (value := text(value)):
            sep = " " if isbd or not out else {"b": " : "}.get(code, ". ")
            out = f"{out}{sep}{value}" if out else value
    return strip_isbd(out) if isbd else out


def vernacular(tags: Tags, field: Field) -> Field | None:
    """The 880 alternate-script field linked to `field` by $6 (e.g. 汉字 for a
    pinyin 245: 245 $6 880-01 ↔ 880 $6 245-01)."""
    link = first(field, "6")
    if not link.startswith("880-"):
        return None
    wanted = f"{field.tag}-{link[4:6]}"
    return next((f for f in tags.get("880", ()) if first(f, "6").startswith(wanted)), None)


def name_of(value: str) -> str:
    value = value.rstrip(" ,;:")
    return value[:-1] if value.endswith(".") and not re.search(r"\b\w\.$", value) else value


def isbn_of(value: str) -> str | None:
    m = re.search(r"[0-9][0-9Xx-]{8,16}", value)
    digits = m.group(0).replace("-", "").upper() if m else ""
    return digits if len(digits) in (10, 13) else None


def values(tags: Tags, tag_list: tuple[str, ...], codes: str) -> list[str]:
    return [v for tag in tag_list for f in tags.get(tag, ()) for v in subs(f, codes)]
