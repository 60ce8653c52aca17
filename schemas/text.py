"""Text folding shared by the normaliser, dedup and search analysis.

Folding happens in one place so that "數學", "数学" and "数 学" compare equal
everywhere in Huiju.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_t2s = opencc.OpenCC("t2s")
_space = re.compile(r"\s+")
_CONTROL = dict.fromkeys(
    c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)
)  # XML-illegal C0 controls
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
"""Embeddings, overrides and isolates: a harvested U+202E can make "exe.文课" display as
"课文.exe" (spoofing), and one left open reorders the rest of the page. Stored text does not need them:
the Unicode bidi algorithm lays out Arabic or Hebrew without them. Plain marks (U+200E/U+200F) stay."""


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (OpenCC t2s)."""
    return _t2s.convert(text)


def strip_controls(text: str) -> str:
    """Drop C0 control characters that XML 1.0 cannot carry."""
    return text.translate(_CONTROL)


def strip_bidi_controls(text: str) -> str:
    """Drop bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069)."""
    return text.translate(_BIDI_CONTROLS)


_UNTIDY = re.compile("[\x00-\x1f\u202a-\u202e\u2066-\u2069]|[^\\S ]|  |^ | $")
"""Anything clean() would change besides normalisation: controls, bidi controls, whitespace other
than single inner spaces. One search of the string is cheaper than the full pass, and most
harvested strings are already tidy."""


def clean(text: str | None) -> str:
    """Tidy a harvested string for storage: NFC, no controls or bidi overrides, single spaces."""
    if not text:
        return ""
    if not _UNTIDY.search(text) and unicodedata.is_normalized("NFC", text):
        return text if type(text) is str else str(text)  # a str subclass (e.g. a tagged literal) → plain str
    text = unicodedata.normalize("NFC", strip_bidi_controls(strip_controls(text)))
    return _space.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Comparison key: full-width → half-width (NFKC), Simplified, lower case,
    whitespace and middle dots removed."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    text = text.replace("•", "·").replace("・", "·")
    return _space.sub("", text)
