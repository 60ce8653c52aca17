"""Which records of one large title group can match at all, found without comparing every pair.

Records with the same title key are compared pairwise (`signals.compare`),
which grows with the square of a group: the same class hour taught by many
teachers puts thousands of look-alikes under one title (the demo's 1,000,000
records hold 475 title keys). Between two records that both have a
description, a same-title match needs the bigrams of the smaller description
to be at least `Thresholds.description` contained in the larger one. That is
an overlap join, done here as one sparse matrix product per pair of
compatible field signatures (records × description bigrams, times its
transpose: every pair's shared bigram count at once, in C). Records that
vetoing fields keep apart are never multiplied.

Records without a description match on agreeing fields instead, so they stay
candidates of the whole group. The result is a superset of the pairs
`compare` accepts on title, description and fields (strong and retitled
matches come from the locator index and LSH, as always): edges, works and
their ids are exactly those of the all-pairs scan, which
tests/index/test_dedup_blocking.py checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix

from index.dedup.signals import TEACHER, Features, Thresholds, fields_veto

LARGE_GROUP = 64
"""Title groups from this size on are joined; below it comparing all pairs costs less."""

_SLACK = 0.001
"""compare() rounds the containment to 3 decimals (0.5995 counts as 0.6): keep a little more."""


def _bigram_matrix(texts: Sequence[str]) -> csr_matrix:
    """One row per text, one column per distinct character bigram (the sets grams() builds), 1 where present.

    Built in numpy: a bigram is its two code points in one integer; texts are joined by NUL, which
    folded descriptions never hold, and bigrams touching it are dropped.
    """
    codes = np.frombuffer("\0".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    pairs = (codes[:-1] << np.uint64(21)) | codes[1:]
    inside = (codes[:-1] != 0) & (codes[1:] != 0)
    rows = np.cumsum(codes == 0)[:-1][inside]
    vocabulary, columns = np.unique(pairs[inside], return_inverse=True)
    ones = np.ones(len(columns), dtype=np.int32)
    matrix = csr_matrix((ones, (rows, columns.ravel())), shape=(len(texts), len(vocabulary)))
    matrix.sum_duplicates()
    matrix.data[:] = 1  # a set, not a multiset
    return matrix


def same_title_partners(group: Sequence[Features], t: Thresholds) -> dict[str, set[str]]:
    """For each record of one title group, the others `compare` could accept without a strong signal.

    Symmetric: y is in partners[x] exactly when x is in partners[y].
    """
    partners: dict[str, set[str]] = {f.rid: set() for f in group}
    described = [f for f in group if len(f.desc) >= t.min_desc_chars]
    for bare in (f for f in group if len(f.desc) < t.min_desc_chars):  # fields decide, against anyone
        for other in group:
            if other is not bare and fields_veto(bare.fields, other.fields) is None:
                partners[bare.rid].add(other.rid)
                partners[other.rid].add(bare.rid)
    if len(described) < 2:
        return partners
    matrix = _bigram_matrix([f.desc for f in described])
    sizes = np.diff(matrix.indptr)
    # Signatures without the teacher: one per teacher would make hundreds of blocks to pair up, and
    # compare() vetoes another teacher's lesson at once.
    by_signature: dict[tuple[str | None, ...], list[int]] = {}
    for i, f in enumerate(described):
        by_signature.setdefault(f.fields[:TEACHER], []).append(i)
    signatures = list(by_signature)
    floor = t.description - _SLACK
    for a, sa in enumerate(signatures):
        rows = np.array(by_signature[sa])
        for sb in signatures[a:]:
            if fields_veto(sa, sb) is not None:
                continue
            cols = np.array(by_signature[sb])
            shared = (matrix[rows] @ matrix[cols].T).tocoo()
            i, j = rows[shared.row], cols[shared.col]
            keep = (shared.data >= floor * np.minimum(sizes[i], sizes[j])) & (i != j)
            for x, y in zip(i[keep].tolist(), j[keep].tolist(), strict=True):
                partners[described[x].rid].add(described[y].rid)
                partners[described[y].rid].add(described[x].rid)
    return partners
