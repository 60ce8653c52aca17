"""Length-prefixed frames: how a dedup snapshot is written piece by piece instead of as one object.

Why: at 1,000,000 records the snapshot is ~800 MB; encoded as one msgpack object it existed
twice in memory (the Python lists it was built from, then the bytes) on top of the engine, and
that was the dedupe's peak. Frames let each piece be encoded, written and freed in turn; reading
them back slices one buffer without copying it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

_LENGTH = struct.Struct("<Q")


def write_frame(out: BinaryIO, data: bytes | memoryview) -> None:
    out.write(_LENGTH.pack(len(data)))
    out.write(data)


def write_frame_parts(out: BinaryIO, length: int, parts: Iterable[bytes | memoryview]) -> None:
    """One frame of `length` bytes written from several parts (a large array in slices)."""
    out.write(_LENGTH.pack(length))
    written = 0
    for part in parts:
        out.write(part)
        written += len(part)
    if written != length:
        raise ValueError(f"frame announced {length} bytes, parts held {written}")


def read_frames(data: bytes | memoryview) -> Iterator[memoryview]:
    """The frames of `data` in order, as views into it; a truncated frame is an error."""
    view = memoryview(data)
    at = 0
    while at < len(view):
        if at + _LENGTH.size > len(view):
            raise ValueError("truncated frame header")
        (length,) = _LENGTH.unpack_from(view, at)
        at += _LENGTH.size
        if at + length > len(view):
            raise ValueError("truncated frame")
        yield view[at : at + length]
        at += length
