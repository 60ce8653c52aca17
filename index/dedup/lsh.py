"""MinHash LSH over character shingles of title key + description head.

Only candidates come from here; `signals.compare` verifies them exactly, so
a small sketch (64 permutations, 8 bands of 8 rows: candidate threshold
near Jaccard 0.75, since identical title keys are found by the key index
and LSH only has to add near-identical texts) is enough. The index state is the sketch of each record;
`to_bytes` stores those and `from_bytes` re-inserts them, so no pickled
datasketch object ever has to survive a datasketch upgrade.

Candidates are the records sharing a band with the query, the same buckets
as datasketch's MinHashLSH (two sketches share a bucket exactly when a band
is equal), kept in numpy arrays rather than per-band dicts (see ShingleLSH).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import msgspec
import numpy as np
from datasketch import MinHash

from index.dedup.frames import read_frames, write_frame, write_frame_parts
from index.dedup.signals import Features

SCHEME = "affine32"
_MULT = np.uint32(0x9E3779B1)
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def bigram_hash(data: bytes) -> int:
    """32-bit hash of a bigram given as 8 bytes of UTF-32-LE (4 when one character)."""
    first = int.from_bytes(data[:4], "little")
    second = int.from_bytes(data[4:8], "little") if len(data) >= 8 else 0
    return (first * 0x9E3779B1 + second) & 0xFFFFFFFF


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, as datasketch's affine schemes apply it."""
    s1, m1, s2, m2 = _FMIX
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s1)


DESC_HEAD = 64
"""Description characters shingled: truncated copies keep at least this."""


class _State(msgspec.Struct, array_like=True):
    """The index's parameters, keys and their groups; the sketches follow as one raw frame (row i: keys[i])."""

    num_perm: int
    bands: int
    rows: int
    seed: int
    keys: list[str]
    groups: list[str]  # keys[i]'s group is groups[group_of[i]]
    group_of: list[int]


_SLICE = 65_536  # sketches copied per write when saving
MERGE_EVERY = 32768
"""Records inserted into the small dict before it is merged into the sorted arrays."""


class ShingleLSH:
    """MinHash LSH over the per-record sketches, compact enough for a million records.

    Sketches are rows of one uint32 matrix. A band is found by a 64-bit key
    (band number, 32-bit hash of the band's values) in one sorted array of
    keys (plus a small dict of the latest inserts, merged in every
    MERGE_EVERY records), and every hit is checked against the band's values
    themselves: the candidates are exactly the records sharing a band, as
    with datasketch's MinHashLSH, at ~100 bytes a record instead of ~1 KB of
    dict entries, bytes keys and sets.
    """

    def __init__(self, num_perm: int = 64, bands: int = 8, rows: int = 8, seed: int = 1) -> None:
        if bands * rows > num_perm:
            raise ValueError("bands * rows must not exceed num_perm")
        self.num_perm, self.bands, self.rows, self.seed = num_perm, bands, rows, seed
        self._work = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME, hashfunc=bigram_hash)
        self._permutations = self._work.permutations
        self._matrix = np.zeros((0, num_perm), dtype=np.uint32)  # row -> sketch
        self._keys: list[str | None] = []  # row -> record id; None once removed
        self._group_of: list[int] = []  # row -> group number (a list: read one row at a time, in Python)
        self._groups: list[str] = []  # group number -> group (the engine's title key)
        self._group_number: dict[str, int] = {}
        self._row: dict[str, int] = {}
        self._band_keys_sorted = np.zeros(0, dtype=np.uint64)
        self._band_rows = np.zeros(0, dtype=np.uint32)  # the row of each band key
        self._delta: dict[int, int | list[int]] = {}  # band key -> row(s), not merged yet
        self._delta_count = 0
        self._recent: dict[str, np.ndarray] = {}  # shingle text -> sketch, bounded
        self._last: tuple[np.ndarray, list[bytes], list[int]] | None = None

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    @staticmethod
    def shingle_text(f: Features) -> str:
        return f.title_key + "|" + f.desc[:DESC_HEAD]

    @staticmethod
    def shingles(f: Features) -> list[bytes]:
        """Character bigrams as UTF-32 bytes: what `bigram_hash` hashes."""
        data = ShingleLSH.shingle_text(f).encode("utf-32-le")
        return [data[i : i + 8] for i in range(0, max(4, len(data) - 4), 4)]

    def sketch(self, f: Features) -> np.ndarray:
        """MinHash values of f's shingles.

        Computes exactly what datasketch's MinHash.update_batch(shingles(f))
        gives with hashfunc=bigram_hash (a test holds the two equal), in one
        numpy pass instead of a Python call per shingle.
        """
        text = self.shingle_text(f)
        cached = self._recent.get(text)
        if cached is not None:  # copies of one resource often share title key and description head
            return cached
        if len(self._recent) >= 4096:
            self._recent.clear()
        self._recent[text] = sketch = self._compute(text)
        return sketch

    def _compute(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        if len(codes) < 2:
            codes = np.append(codes, np.uint32(0))
        hashed = _fmix32(codes[:-1] * _MULT + codes[1:]).reshape(-1, 1)
        a, b = self._permutations
        return (hashed * a + b).min(axis=0).astype(np.uint32, copy=False)

    def _band_bytes(self, sketch: np.ndarray) -> list[bytes]:
        raw = sketch.astype(np.uint32, copy=False).tobytes()
        step = self.rows * 4
        return [raw[i * step : (i + 1) * step] for i in range(self.bands)]

    def _banded(self, sketch: np.ndarray) -> tuple[list[bytes], list[int]]:
        """The sketch's bands and their keys (remembered for the last sketch: a query, then its insert)."""
        last = self._last
        if last is not None and last[0] is sketch:
            return last[1], last[2]
        bands = self._band_bytes(sketch)
        keys = self._band_keys(bands)
        self._last = (sketch, bands, keys)
        return bands, keys

    def _band_keys(self, bands: list[bytes]) -> list[int]:
        """(band number << 32) | 32 bits of the band's hash: equal bands, equal keys (never persisted, so
        Python's per-process hash of bytes will do)."""
        return [i << 32 | (hash(band) & 0xFFFFFFFF) for i, band in enumerate(bands)]

    def insert(self, key: str, sketch: np.ndarray, group: str = "") -> None:
        """Index key's sketch under a group that query(groups=…) can select on (the engine: its title key)."""
        if key in self._row:
            self.remove(key)
        number = self._group_number.get(group)
        if number is None:
            number = self._group_number[group] = len(self._groups)
            self._groups.append(group)
        row = len(self._keys)
        if row == len(self._matrix):
            grown = np.zeros((max(1024, row * 2), self.num_perm), dtype=np.uint32)
            grown[:row] = self._matrix
            self._matrix = grown
        self._matrix[row] = sketch
        self._keys.append(key)
        self._group_of.append(number)
        self._row[key] = row
        for band_key in self._banded(sketch)[1]:
            held = self._delta.get(band_key)
            if held is None:
                self._delta[band_key] = row
            elif isinstance(held, int):
                self._delta[band_key] = [held, row]
            else:
                held.append(row)
        self._delta_count += 1
        if self._delta_count >= MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        """Move the dict's band keys into the sorted arrays (one linear pass)."""
        keys: list[int] = []
        rows: list[int] = []
        for band_key, held in self._delta.items():
            if isinstance(held, int):
                keys.append(band_key)
                rows.append(held)
            else:
                keys += [band_key] * len(held)
                rows += held
        new_keys = np.array(keys, dtype=np.uint64)
        order = np.argsort(new_keys, kind="stable")
        new_keys = new_keys[order]
        at = np.searchsorted(self._band_keys_sorted, new_keys)
        self._band_keys_sorted = np.insert(self._band_keys_sorted, at, new_keys)
        self._band_rows = np.insert(self._band_rows, at, np.array(rows, dtype=np.uint32)[order])
        self._delta = {}
        self._delta_count = 0

    def remove(self, key: str) -> None:
        row = self._row.pop(key, None)
        if row is not None:
            self._keys[row] = None  # its band keys stay behind; queries skip removed rows

    def query(self, sketch: np.ndarray, groups: Callable[[str], bool] | None = None) -> list[str]:
        """Keys sharing a band with sketch; with groups, only keys inserted with a group it accepts (asked
        once per group and query). The engine wants retitled copies alone from LSH (its key index finds a
        record's own title group): at 1,000,000 demo records a query hit ~26 records of other titles, nearly
        all of titles no retitling could explain, and touching each of them was a third of a first dedupe."""
        bands, band_keys = self._banded(sketch)
        accepted: dict[int, bool] = {}  # group number -> groups(its name), for this query
        per_band: list[list[int]] = [[] for _ in bands]  # rows whose band key matched, by band
        if len(self._band_keys_sorted):  # where each key starts and (key + 1) starts: one numpy call
            at = np.searchsorted(self._band_keys_sorted, np.array(band_keys + [k + 1 for k in band_keys],
                                                                  dtype=np.uint64)).tolist()
            n = len(band_keys)
            for i in range(n):
                if at[i + n] > at[i]:
                    per_band[i] = self._band_rows[at[i] : at[i + n]].tolist()
        for i, band_key in enumerate(band_keys):
            held = self._delta.get(band_key)
            if held is not None:
                per_band[i] += (held,) if isinstance(held, int) else held
        found: dict[int, str] = {}
        keys, matrix, width, group_of = self._keys, self._matrix, self.rows, self._group_of
        for i, rows in enumerate(per_band):  # a matching key is a candidate: keep rows whose band is equal
            band, start = bands[i], i * width
            for row in rows:
                if row in found:
                    continue
                if groups is not None:
                    number = group_of[row]
                    ok = accepted.get(number)
                    if ok is None:
                        ok = accepted[number] = groups(self._groups[number])
                    if not ok:
                        continue
                key = keys[row]
                if key is not None and matrix[row, start : start + width].tobytes() == band:
                    found[row] = key
        return list(found.values())

    def estimate(self, sketch: np.ndarray, key: str) -> float:
        return float(np.count_nonzero(sketch == self._matrix[self._row[key]])) / self.num_perm

    def sketch_of(self, key: str) -> np.ndarray:
        return self._matrix[self._row[key]]

    # -- persistence --------------------------------------------------------

    def write_to(self, out: BinaryIO) -> None:
        """Two frames: parameters and keys, then the sketches as raw uint32 rows, copied a slice at a time
        (one bytes object per sketch made the state of a million records ~400 MB of garbage)."""
        keys = list(self._row)
        group_of = [self._group_of[self._row[k]] for k in keys]
        write_frame(out, msgspec.msgpack.encode(_State(self.num_perm, self.bands, self.rows, self.seed, keys,
                                                       self._groups, group_of)))
        rows = np.fromiter((self._row[k] for k in keys), dtype=np.int64, count=len(keys))
        slices = (self._matrix[rows[i : i + _SLICE]].tobytes() for i in range(0, len(rows), _SLICE))
        write_frame_parts(out, len(rows) * self.num_perm * 4, slices)

    @classmethod
    def read_from(cls, frames: Iterator[memoryview]) -> ShingleLSH:
        head, raw = next(frames, None), next(frames, None)
        if head is None or raw is None:
            raise ValueError("LSH state: frames missing")
        state = msgspec.msgpack.decode(head, type=_State)
        sketches = np.frombuffer(raw, dtype=np.uint32)
        if len(sketches) != len(state.keys) * state.num_perm or len(state.group_of) != len(state.keys):
            raise ValueError("LSH state: sketches, keys and groups disagree")
        lsh = cls(state.num_perm, state.bands, state.rows, state.seed)
        rows = sketches.reshape(len(state.keys), state.num_perm)
        for key, sketch, number in zip(state.keys, rows, state.group_of, strict=True):
            lsh.insert(key, sketch.copy(), state.groups[number])  # a view would keep the snapshot buffer alive
        return lsh

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.write_to(out)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ShingleLSH:
        return cls.read_from(read_frames(data))

    @classmethod
    def rebuild(cls, items: Iterable[Features], **params: int) -> ShingleLSH:
        """The index from features alone (the path when no state was saved)."""
        lsh = cls(**params)
        for f in items:
            lsh.insert(f.rid, lsh.sketch(f), f.title_key)
        return lsh
