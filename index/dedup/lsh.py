"""MinHash LSH over character shingles of title key + description head.

Only candidates come from here; `signals.compare` verifies them exactly, so
a small sketch (64 permutations, 8 bands of 8 rows: candidate threshold
near Jaccard 0.75, since identical title keys are found by the key index
and LSH only has to add near-identical texts) is enough. The index state is the sketch of each record;
`to_bytes` stores those and `from_bytes` re-inserts them, so no pickled
datasketch object ever has to survive a datasketch upgrade.

The band tables are plain dicts keyed by each band's bytes: the same buckets
as datasketch's MinHashLSH (two sketches share a bucket exactly when a band
is equal), without its per-band byte swapping and hashing, which were a sixth
of a streaming add.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import numpy as np
from datasketch import MinHash

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
    num_perm: int
    bands: int
    rows: int
    seed: int
    keys: list[str]
    sketches: list[bytes]


class ShingleLSH:
    """datasketch MinHashLSH plus the per-record sketches needed to rebuild it."""

    def __init__(self, num_perm: int = 64, bands: int = 8, rows: int = 8, seed: int = 1) -> None:
        if bands * rows > num_perm:
            raise ValueError("bands * rows must not exceed num_perm")
        self.num_perm, self.bands, self.rows, self.seed = num_perm, bands, rows, seed
        self._work = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME, hashfunc=bigram_hash)
        self._permutations = self._work.permutations
        # a bucket is the one key it holds (most do) or a set of them: a set per band per record was
        # the LSH's main cost in memory (~1.2 KB a record)
        self._tables: list[dict[bytes, str | set[str]]] = [{} for _ in range(bands)]
        self._sketches: dict[str, np.ndarray] = {}
        self._recent: dict[str, np.ndarray] = {}  # shingle text -> sketch, bounded

    def __len__(self) -> int:
        return len(self._sketches)

    def __contains__(self, key: str) -> bool:
        return key in self._sketches

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
        return (hashed * a + b).min(axis=0)

    def _bands(self, sketch: np.ndarray) -> list[bytes]:
        raw = sketch.astype(np.uint32, copy=False).tobytes()
        step = self.rows * 4
        return [raw[i * step : (i + 1) * step] for i in range(self.bands)]

    def insert(self, key: str, sketch: np.ndarray) -> None:
        if key in self._sketches:
            self.remove(key)
        for table, band in zip(self._tables, self._bands(sketch), strict=True):
            bucket = table.get(band)
            if bucket is None:
                table[band] = key
            elif isinstance(bucket, str):
                table[band] = {bucket, key}
            else:
                bucket.add(key)
        self._sketches[key] = sketch

    def remove(self, key: str) -> None:
        sketch = self._sketches.pop(key, None)
        if sketch is None:
            return
        for table, band in zip(self._tables, self._bands(sketch), strict=True):
            bucket = table.get(band)
            if bucket == key:
                del table[band]
            elif isinstance(bucket, set):
                bucket.discard(key)
                if len(bucket) == 1:
                    table[band] = bucket.pop()

    def query(self, sketch: np.ndarray) -> list[str]:
        found: set[str] = set()
        for table, band in zip(self._tables, self._bands(sketch), strict=True):
            bucket = table.get(band)
            if isinstance(bucket, str):
                found.add(bucket)
            elif bucket:
                found |= bucket
        return list(found)

    def estimate(self, sketch: np.ndarray, key: str) -> float:
        return float(np.count_nonzero(sketch == self._sketches[key])) / self.num_perm

    # -- persistence --------------------------------------------------------

    def to_bytes(self) -> bytes:
        keys = list(self._sketches)
        return msgspec.msgpack.encode(
            _State(
                self.num_perm,
                self.bands,
                self.rows,
                self.seed,
                keys,
                [self._sketches[k].tobytes() for k in keys],
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ShingleLSH:
        state = msgspec.msgpack.decode(data, type=_State)
        lsh = cls(state.num_perm, state.bands, state.rows, state.seed)
        for key, raw in zip(state.keys, state.sketches, strict=True):
            lsh.insert(key, np.frombuffer(raw, dtype=np.uint32).copy())
        return lsh

    @classmethod
    def rebuild(cls, items: Iterable[Features], **params: int) -> ShingleLSH:
        """The index from features alone (the path when no state was saved)."""
        lsh = cls(**params)
        for f in items:
            lsh.insert(f.rid, lsh.sketch(f))
        return lsh
