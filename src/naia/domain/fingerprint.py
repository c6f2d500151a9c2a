"""Fingerprints of a set of rows: the cheap first tier of a verification.

Per (point, window) a verification compares the source's events with the store's rows. Counts
alone cannot see a lost row and a doubled row in the same window; the exact check (group every
``(ts, source_address, seq)`` key) costs as much as a third of the backfill. A ``Tally`` is the
count plus a fingerprint of the row keys, computed in one linear pass on both sides (numpy here,
SQL in the store) with exactly the same integer arithmetic. For each row, with
``x = ts_us − grid_start_us`` (≥ 0 for every row of the grid) and ``0 ≤ seq < 2^15``:

* ``K = x · 65536 + seq`` — injective on (ts, seq);
* ``u = K mod P``, ``P = 2^31 − 1``;

and the fingerprint of a set of rows is ``(Σ x, Σ seq, Σ u, Σ u² mod P)``, the first three exact
integers (Σ u is a sum of residues, not reduced: it is not a polynomial in K, so sets of keys
with equal power sums do not fool it).

What it proves (docs/verify.md): two sets with equal count and fingerprint that differ by one
key lost and one key added — e.g. a lost row and a doubled row — do not exist: the two keys
differ in x or in seq, so Σ x or Σ seq differs. Any change touching at most 3 distinct keys
whose K differ modulo P is seen (count, Σ u and Σ u² form a Vandermonde system modulo P).
Larger count-preserving changes are seen unless they keep all four sums equal at once; there is
no proof for them, only a model: modelling u as random, about one such change in P² ≈ 2^62
goes unseen. A window whose tally differs is then counted exactly (the second tier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

P = 2_147_483_647
SEQ_SHIFT = 1 << 16
MAX_DIRECT_SPAN_US = ((1 << 63) - SEQ_SHIFT) // SEQ_SHIFT
"""Below this grid span K fits a signed 64-bit integer: SQL may form it directly; above, it
reduces x modulo P first (the same residue, one operation more)."""

I64 = npt.NDArray[np.int64]
Sums = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Tally:
    """Rows of one (point, window): how many, and the fingerprint of their keys."""

    count: int
    fingerprint: Sums


EMPTY = Tally(0, (0, 0, 0, 0))


def tally_of(count: int, sums: Sums) -> Tally:
    """A Tally from raw sums (Σx, Σseq, Σu, Σ(u² mod P)), the last one reduced modulo P."""
    return Tally(int(count), (int(sums[0]), int(sums[1]), int(sums[2]), int(sums[3]) % P))


def row_terms(rel_us: I64, seq: npt.NDArray[np.integer]) -> tuple[I64, I64, I64, I64]:
    """Per row: x, seq, u, u² mod P for ``rel_us = x = ts_us − grid_start_us ≥ 0``."""
    s = seq.astype(np.int64)
    u = ((rel_us % P) * SEQ_SHIFT + s) % P
    return rel_us, s, u, (u * u) % P


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """Σ_{j=0}^{n-1} floor((a·j + b) / m) for n ≥ 0, m ≥ 1, a ≥ 0, b ≥ 0 (Euclid-like, exact)."""
    total = 0
    while n > 0:
        if a >= m:
            total += (n - 1) * n // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            break
        n, b, m, a = y_max // m, y_max % m, a, m
    return total


def progression_tally(n: int, step: int, first: int) -> Tally:
    """The tally of the n rows ``x_j = first + j·step`` (j = 0 … n−1, seq 0), in closed form:
    with ``K_j = a·j + b`` (a = 65536·step, b = 65536·first), ``Σ (K mod P) = Σ K − P ·
    Σ floor(K / P)`` and ``Σ K² = a²·S2 + 2ab·S1 + n·b²``."""
    if n <= 0:
        return EMPTY
    s1 = n * (n - 1) // 2
    s2 = (n - 1) * n * (2 * n - 1) // 6
    a, b = step * SEQ_SHIFT, first * SEQ_SHIFT
    residues = a * s1 + n * b - P * floor_sum(n, P, a, b)
    squares = a * a * s2 + 2 * a * b * s1 + n * b * b
    return tally_of(n, (n * first + step * s1, 0, residues, squares))
