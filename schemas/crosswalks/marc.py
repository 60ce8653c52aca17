"""MARC 21 crosswalk for files of unknown serialisation: binary ISO 2709
(tolerant), MARC-in-JSON, line-based MARC text exports, and MARCXML (handed
to the marcxml crosswalk). Anything else is rejected with a one-line reason.

Binary records are framed here rather than by pymarc's MARCReader, which
stops at the first bad length: we trust the leader's length when it lands on
an end-of-record byte and otherwise resynchronise on the next 0x1D, so one
broken record never hides the rest of the file. pymarc then decodes each
record, in the character encoding the bytes really have (leader/09 is
trusted but checked: real files lie in both directions).
"""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from collections.abc import Iterator

import pymarc
from pymarc import Field, Indicators, Subfield
from pymarc.marc8_mapping import CODESETS

from schemas.crosswalks import ReadResult, Rejected, marcxml
from schemas.crosswalks.marc_map import to_record
from schemas.record import Unmapped

END_OF_RECORD = 0x1D
MAX_RECORD = 99_999  # the leader's five-digit length field
_ANSEL = set(CODESETS[0x45])  # MARC-8 default G1 (ANSEL) byte values
_NON_ANSEL = re.compile(
    b"[%s]" % b"".join(re.escape(bytes([b])) for b in range(0x80, 0x100) if b not in _ANSEL)
)
# MARC-8 diacritics precede their base letter; before a space or end they mean Latin-1, not MARC-8
_LOOSE_DIACRITIC = re.compile(rb"[\xe0-\xfe](?![\xe0-\xfeA-Za-z0-9\xa1-\xc8])")
_ODD_SUBFIELD_CODE = re.compile(rb"\x1f[\x80-\xff]")
_LINE_LEADER = re.compile(rb"^LDR(?:[\t ]|\xe2\x80\xa1)", re.M)  # ‡ in UTF-8
_LINE = re.compile(r"^(LDR|[0-9A-Za-z]{3})(.*)$")
_REPLACED = Unmapped("encoding", "invalid UTF-8 bytes replaced with U+FFFD")

# pymarc logs every odd indicator at WARNING; without logging configured that
# floods stderr on big files. A NullHandler keeps it quiet but still propagating.
logging.getLogger("pymarc").addHandler(logging.NullHandler())


def read(data: bytes, *, source: str, encoding: str | None = None) -> Iterator[ReadResult]:
    """Records of a MARC payload in any serialisation we know.

    `encoding` names a legacy code page (cp1251, cp866 …) to use for binary
    records whose bytes are neither UTF-8 nor MARC-8; without it they are
    rejected rather than decoded into garbage.
    """
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64]
    if not head:
        return
    if head.startswith(b"<"):
        yield from marcxml.read(data, source=source)
    elif head[:1] in (b"{", b"["):
        yield from read_json(data, source=source)
    elif head[:5].isdigit():
        yield from read_iso2709(data, source=source, encoding=encoding)
    elif _LINE_LEADER.search(data[:65536]):
        yield from read_lines(data, source=source)
    else:
        yield Rejected(
            reason="not MARC: neither ISO 2709 (no 5-digit record length), MARCXML, MARC-in-JSON "
            "nor line-based MARC text (no LDR line)",
            locator="document",
            raw=data[:4096],
            stage="parse",
        )


# --- binary ISO 2709 ----------------------------------------------------


def split_records(data: bytes) -> Iterator[bytes]:
    """Raw records: by the leader's length when it ends on 0x1D, else up to
    the next 0x1D (or the end: a truncated last record)."""
    pos, size = 0, len(data)
    while pos < size:
        while pos < size and data[pos] in b"\r\n\x00 ":  # separators some exporters add
            pos += 1
        if pos >= size:
            return
        head = data[pos : pos + 5]
        length = int(head) if head.isdigit() else 0
        if length >= 24 and pos + length <= size and data[pos + length - 1] == END_OF_RECORD:
            end = pos + length
        else:
            terminator = data.find(b"\x1d", pos)
            end = size if terminator < 0 else terminator + 1
        yield data[pos:end]
        pos = end


def detect_encoding(chunk: bytes, fallback: str | None = None) -> tuple[str | None, bool]:
    """("utf-8" | "marc-8" | fallback | None, lossy) for one raw record.

    ESC sequences only occur in MARC-8; non-ASCII bytes that are valid UTF-8
    are UTF-8 whatever leader/09 says (MARC-8 text almost never is); invalid
    UTF-8 made only of ANSEL bytes, diacritics before letters, is MARC-8.
    What is left is UTF-8 with bad bytes (leader 'a': replaced, flagged) or
    a legacy code page (`fallback`, else None: reject).
    """
    body = chunk[24:]
    if b"\x1b" in body:
        return "marc-8", False
    if body.isascii():
        return "utf-8", False
    try:
        body.decode("utf-8")
        return "utf-8", False
    except UnicodeDecodeError:
        pass
    if not _NON_ANSEL.search(body) and not _LOOSE_DIACRITIC.search(body):
        return "marc-8", False
    if fallback:
        return fallback, False
    if chunk[9:10] == b"a":
        return "utf-8", True
    return None, False


def directory_ok(chunk: bytes) -> bool:
    """Does every directory entry end on a field terminator?"""
    try:
        base = int(chunk[12:17])
        directory = chunk[24 : base - 1]
        for i in range(0, len(directory) - 11, 12):
            length, offset = int(directory[i + 3 : i + 7]), int(directory[i + 7 : i + 12])
            if chunk[base + offset + length - 1] != 0x1E:
                return False
    except (ValueError, IndexError):
        return False
    return True


def _tidy(tag: bytes, body: bytes) -> bytes:
    """Drop bytes between the two indicators and the first subfield (real
    files carry bidi marks there, which pymarc cannot decode)."""
    head, sep, rest = body.partition(b"\x1f")
    if sep and len(head) > 2 and not (tag < b"010" and tag.isdigit()):
        return (head[:2] if head[:2].isascii() else b"  ") + sep + rest
    return body


def rebuild_directory(chunk: bytes, tidy: bool = False) -> bytes | None:
    """The record with lengths and offsets recomputed from the field
    terminators, for writers that counted characters instead of bytes
    (and, with tidy, stray bytes after the indicators removed). Only when
    the leader's base address and the entry count are right."""
    end = chunk.find(b"\x1e", 24)
    if end < 0 or (end - 24) % 12 or chunk[12:17] != b"%05d" % (end + 1):
        return None
    tags = [chunk[i : i + 3] for i in range(24, end, 12)]
    fields = chunk[end + 1 : -1].split(b"\x1e")
    if fields[-1:] == [b""]:
        fields.pop()
    if len(fields) != len(tags):
        return None
    if tidy:
        fields = [_tidy(tag, body) for tag, body in zip(tags, fields, strict=False)]
    entries, offset = [], 0
    for tag, body in zip(tags, fields, strict=False):
        if len(body) >= 9999:
            return None
        entries.append(tag + b"%04d%05d" % (len(body) + 1, offset))
        offset += len(body) + 1
    data = b"".join(f + b"\x1e" for f in fields)
    total = end + 1 + len(data) + 1
    if offset > 99_999 or total > MAX_RECORD:
        return None
    return b"%05d" % total + chunk[5:24] + b"".join(entries) + b"\x1e" + data + b"\x1d"


def decode_record(chunk: bytes, encoding: str) -> pymarc.Record:
    """pymarc's ISO 2709 parse of one record in the given encoding."""
    utf8 = encoding == "utf-8"
    if chunk[9:10] == b"a" and not utf8:  # a lying leader: stop pymarc forcing UTF-8
        chunk = chunk[:9] + b" " + chunk[10:]
    options = dict(force_utf8=utf8, utf8_handling="replace", hide_utf8_warnings=True,
                   file_encoding="iso8859-1" if encoding == "marc-8" or utf8 else encoding)
    if not _ODD_SUBFIELD_CODE.search(chunk):
        return pymarc.Record(chunk, **options)
    with warnings.catch_warnings():  # (global state: only for the rare records that need it)
        warnings.simplefilter("ignore")  # BadSubfieldCodeWarning: pymarc recovers the code itself
        return pymarc.Record(chunk, **options)


def _decode_tolerant(chunk: bytes, encoding: str) -> pymarc.Record:
    """decode_record, after repairing a directory that misses the field
    terminators; on failure once more with stray indicator bytes removed.
    Raises the first error when no repair helps."""
    fixed = chunk if directory_ok(chunk) else (rebuild_directory(chunk) or chunk)
    try:
        return decode_record(fixed, encoding)
    except Exception as exc:
        tidied = rebuild_directory(chunk, tidy=True)
        if tidied is None or tidied == fixed:
            raise
        try:
            return decode_record(tidied, encoding)
        except Exception:
            raise exc from None


def _describe(exc: Exception) -> str:
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def read_iso2709(data: bytes, *, source: str, encoding: str | None = None) -> Iterator[ReadResult]:
    """Binary MARC: one Record or Rejected per raw record, in file order."""
    for number, chunk in enumerate(split_records(data.removeprefix(b"\xef\xbb\xbf")), start=1):
        locator = f"record {number}"

        def reject(reason: str, stage: str = "parse", locator: str = locator, chunk: bytes = chunk) -> Rejected:
            return Rejected(reason=reason, locator=locator, raw=chunk, stage=stage)

        if len(chunk) > MAX_RECORD:
            yield reject(f"record of {len(chunk)} bytes: ISO 2709 cannot describe records over 99,999 bytes")
            continue
        if chunk[-1] != END_OF_RECORD:
            yield reject(f"truncated record: no end-of-record byte (0x1D) in the last {len(chunk)} bytes")
            continue
        if len(chunk) < 25 or not chunk[:5].isdigit():
            yield reject(f"bad leader: record length {chunk[:5]!r} is not 5 digits")
            continue
        chosen, lossy = detect_encoding(chunk, encoding)
        if chosen is None:
            yield reject("bytes are neither UTF-8 nor MARC-8 (a legacy code page? read with encoding=...)")
            continue
        try:
            rec = _decode_tolerant(chunk, chosen)
        except Exception as exc:  # pymarc raises many types for broken records
            yield reject(f"unreadable record ({chosen}): {_describe(exc)}")
            continue
        yield from _mapped(rec, source, locator, chunk, [_REPLACED] if lossy else [])


def _mapped(
    rec: pymarc.Record, source: str, locator: str, raw: bytes, notes: list[Unmapped]
) -> Iterator[ReadResult]:
    try:
        result = to_record(rec, source)
    except Exception as exc:  # the contract: bad input never raises
        yield Rejected(reason=f"mapping failed: {_describe(exc)}", locator=locator, raw=raw, stage="map")
        return
    if isinstance(result, str):
        yield Rejected(reason=result, locator=locator, raw=raw, stage="map")
        return
    if notes:
        result.unmapped = [*notes, *result.unmapped]
    yield result


# --- MARC-in-JSON -------------------------------------------------------


def read_json(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """MARC-in-JSON (one object or an array) through pymarc's JSONReader,
    which also takes the raw control characters real files contain."""
    try:
        reader = pymarc.JSONReader(io.StringIO(data.decode("utf-8-sig")))
    except (UnicodeDecodeError, ValueError) as exc:
        reason = f"invalid MARC-in-JSON: {_describe(exc)}"
        yield Rejected(reason=reason, locator="document", raw=data, stage="parse")
        return
    objects = reader.records if isinstance(reader.records, list) else [reader.records]
    records = iter(reader)
    for number, obj in enumerate(objects, start=1):
        locator = f"record {number}"
        raw = json.dumps(obj, ensure_ascii=False).encode()
        try:
            rec = next(records)
        except StopIteration:
            return
        except Exception as exc:  # a malformed object: KeyError, TypeError, RecordLeaderInvalid …
            reason = f"invalid MARC-in-JSON record: {_describe(exc)}"
            yield Rejected(reason=reason, locator=locator, raw=raw, stage="parse")
            continue
        yield from _mapped(rec, source, locator, raw, [])


# --- line-based MARC text -----------------------------------------------


def _indicators(prefix: str) -> Indicators:
    chars = (prefix[1:3] if prefix.startswith("\t") else prefix[:2]).replace("_", " ").replace("#", " ")
    chars = "".join(c if c.isalnum() and c.isascii() else " " for c in chars.ljust(2))
    return Indicators(chars[0], chars[1])


def parse_lines(lines: list[str], delimiter: str) -> pymarc.Record:
    """One record of a line-based export ("245 10 |a …", "24510‡a…^", fixed
    columns): tag, optional indicators, then delimited subfields."""
    rec = pymarc.Record()
    for line in lines:
        m = _LINE.match(line.rstrip())
        if not m:
            continue
        tag, rest = m.group(1), m.group(2)
        if delimiter == "‡":
            rest = rest.removesuffix("^")
        if tag == "LDR" or (tag < "010" and tag.isdigit()):
            value = rest.lstrip("\t ‡")
            if tag == "LDR":
                rec.leader = pymarc.Leader(value[:24].ljust(24))
            else:
                rec.add_field(Field(tag, data=value))
            continue
        start = rest.find(delimiter)
        if start < 0:
            continue  # local fields without subfields (SYS 002249954)
        subfields = [Subfield(piece[0], piece[1:].strip()) for piece in rest[start:].split(delimiter)[1:]
                     if piece[:1].strip()]
        if subfields:
            rec.add_field(Field(tag, _indicators(rest[:start]), subfields))
    return rec


def read_lines(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Line-based MARC (Alma, GeniePlus, ILS e-mail exports): a record starts
    at each LDR line; text before the first one is a header and skipped."""
    content = data.decode("utf-8", errors="replace")
    delimiter = "‡" if "‡" in content else "$$" if "$$" in content else "|"
    groups: list[list[str]] = []
    for line in content.splitlines():
        if line.startswith("LDR"):
            groups.append([])
        if groups and line.strip():
            groups[-1].append(line)
    for number, lines in enumerate(groups, start=1):
        raw = "\n".join(lines).encode()
        try:
            rec = parse_lines(lines, delimiter)
        except Exception as exc:  # a line pymarc refuses (bad tag or indicators)
            reason = f"unreadable line-based record: {_describe(exc)}"
            yield Rejected(reason=reason, locator=f"record {number}", raw=raw, stage="parse")
            continue
        yield from _mapped(rec, source, f"record {number}", raw, [])


__all__ = ["read", "read_iso2709", "read_json", "read_lines", "split_records", "detect_encoding"]
