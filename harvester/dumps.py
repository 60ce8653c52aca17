"""Dump files (MARCXML, Turtle) read piece by piece, so their size is bounded by disk, not memory.

A library's MARCXML export or a partner's Turtle dump of 80,000 records is a
few hundred megabytes: held as bytes, parsed as one lxml tree or one rdflib
graph, it costs gigabytes (rdflib alone ~90 KB a record). Here the file is
spooled to disk (hashed as it arrives) and cut into small documents of
``PER_PIECE`` records, each a complete document the format's own reader maps
as it would the whole file:

* MARCXML: the collection's opening tag (with its namespace declarations)
  + N ``<record>`` elements + the closing tag. A file with a DTD is not cut
  (the reader refuses declared entities with its own reason).
* Turtle: the prefix header + N top-level statements. Cutting is only safe
  when each statement stands alone, so the file is first scanned and cut
  only when every statement starts at column 0 and ends with " .", no blank
  node label (``_:``) or long literal (triple quotes) appears, no subject is
  described twice, and no statement refers to another statement's subject
  (whose description its mapping would need). Anything else: None, and the
  caller reads the file whole, as before, within HARVEST_MAX_BYTES.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PER_PIECE = 500  # records per document: small enough for memory, large enough to amortise a parse
_BLOCK = 1 << 20
_COLLECTION = re.compile(rb"<(?:([\w.-]+):)?collection[\s>]")
_DECLARATION = re.compile(rb"\s*<\?xml[^>]*\?>")


@dataclass
class Spooled:
    """A file on disk with the digest and size of its bytes."""

    path: Path
    sha256: str
    size: int


def spool_file(path: Path) -> Spooled:
    """A local file as it is (not copied): its digest, read in blocks."""
    with path.open("rb") as fh:
        digest, size = digest_of(fh)
    return Spooled(path, digest, size)


def digest_of(handle: BinaryIO) -> tuple[str, int]:
    """sha256 and size of an open file, read from its start."""
    handle.seek(0)
    digest, size = hashlib.sha256(), 0
    while block := handle.read(_BLOCK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


# -- MARCXML --------------------------------------------------------------------------------------

def marcxml_pieces(path: Path, per: int = PER_PIECE) -> Iterator[bytes] | None:
    """Documents of ``per`` records each; None when the file is not a <collection> of records."""
    with path.open("rb") as fh:
        head_block = fh.read(_BLOCK)
    opening = _COLLECTION.search(head_block)
    if opening is None or b"<!doctype" in head_block[:opening.start()].lower():
        return None  # a DTD (entities!) goes to the reader whole, which refuses it with its reason
    end = head_block.find(b">", opening.start())
    if end < 0:
        return None
    declaration = _DECLARATION.match(head_block)
    head = (declaration.group(0) if declaration else b"") + head_block[opening.start():end + 1]
    prefix = opening.group(1) or b""
    tail = b"</" + (prefix + b":" if prefix else b"") + b"collection>"
    record = re.compile(rb"<" + (re.escape(prefix) + rb":" if prefix else b"") + rb"record[\s>].*?</"
                        + (re.escape(prefix) + rb":" if prefix else b"") + rb"record\s*>", re.S)
    return _marc_documents(path, end + 1, head, tail, record, per)


def _marc_documents(path: Path, start: int, head: bytes, tail: bytes, record: re.Pattern[bytes],
                    per: int) -> Iterator[bytes]:
    pending: list[bytes] = []
    buffer = b""
    with path.open("rb") as fh:
        fh.seek(start)
        while True:
            block = fh.read(_BLOCK)
            buffer += block
            position = 0
            for match in record.finditer(buffer):
                pending.append(match.group(0))
                position = match.end()
                if len(pending) == per:
                    yield head + b"".join(pending) + tail
                    pending = []
            buffer = buffer[position:]
            if not block:
                break
    if pending:
        yield head + b"".join(pending) + tail
    rest = buffer.strip().removesuffix(tail).strip()
    if rest:  # e.g. an unclosed record at the end: the reader rejects it with its reason, never dropped
        yield head + rest + tail


# -- Turtle ---------------------------------------------------------------------------------------

_HEADER = re.compile(rb"^\s*(@prefix|@base|PREFIX|BASE)\b", re.I)
_IRI = re.compile(rb"<[^<>\s]*>")


def turtle_pieces(path: Path, per: int = PER_PIECE) -> Iterator[bytes] | None:
    """Documents of ``per`` statements each, or None when the file cannot be cut safely (see above)."""
    header = _turtle_header_and_check(path)
    if header is None:
        return None
    return _turtle_documents(path, header, per)


def _statements(path: Path) -> Iterator[tuple[str, bytes]]:
    """("header", line) for prefix lines, ("statement", text) per top-level statement,
    ("bad", reason) when the layout is not one this module cuts."""
    with path.open("rb") as fh:
        current: list[bytes] = []
        in_header = True
        for line in fh:
            stripped = line.strip()
            if in_header:
                if not stripped or stripped.startswith(b"#"):
                    continue
                if _HEADER.match(line):
                    yield "header", line
                    continue
                in_header = False
            if not line[:1].isspace() and not stripped.startswith(b"#") and stripped:
                if current:
                    yield "statement", b"".join(current)
                current = [line]
            elif current:
                current.append(line)
            elif stripped and not stripped.startswith(b"#"):
                yield "bad", b"an indented line before the first statement"
                return
        if current:
            yield "statement", b"".join(current)


def _last_code_line(statement: bytes) -> bytes:
    for line in reversed(statement.splitlines()):
        text = line.strip()
        if text and not text.startswith(b"#"):
            return text
    return b""


def _subject(statement: bytes) -> bytes | None:
    """The statement's subject when it is an IRI (<…>), else None."""
    end = statement.find(b">") if statement.startswith(b"<") else -1
    return statement[:end + 1] if end > 0 else None


def _turtle_header_and_check(path: Path) -> bytes | None:
    """The prefix header when every statement can stand alone; None otherwise."""
    header: list[bytes] = []
    subjects: set[bytes] = set()
    referenced: set[bytes] = set()
    for kind, text in _statements(path):
        if kind == "header":
            if subjects:
                return None  # a prefix declared after statements: later pieces would miss it
            header.append(text)
            continue
        if kind == "bad" or b"_:" in text or b'"""' in text or b"'''" in text:
            return None
        if not _last_code_line(text).endswith(b"."):
            return None
        subject = _subject(text)
        if subject is None or subject in subjects:
            return None  # a prefixed-name subject could be referenced by prefixed name: not checked
        subjects.add(subject)
        referenced.update(iri for iri in _IRI.findall(text, len(subject)) if iri != subject)  # schema:url: itself
    if not subjects or subjects & referenced:
        return None
    return b"".join(header)


def _turtle_documents(path: Path, header: bytes, per: int) -> Iterator[bytes]:
    pending: list[bytes] = []
    for kind, text in _statements(path):
        if kind != "statement":
            continue
        pending.append(text)
        if len(pending) == per:
            yield header + b"".join(pending)
            pending = []
    if pending:
        yield header + b"".join(pending)
