"""Fingerprints of a set of rows: the cheap first tier of a verification.

Per (point, window) a verification compares the source's events with the store's rows. Counts
alone cannot see a lost row and a doubled row in the same window; the exact check (group every
``(ts, source_address, seq)`` key) costs as much as a third of the backfill. A ``Tally`` is the
count plus a fingerprint of the row keys, computed in one linear pass on both sides (numpy here,
SQL in the store) with exactly the same integer arithmetic:

* key ``K = (ts_us − grid_start_us) · 65536 + seq`` (ts in µs relative to the grid's start, so
  ``K ≥ 0`` for every row of the grid; ``0 ≤ seq < 2^15``), injective on (ts, seq);
* two lanes, primes ``P0 = 2^31 − 1`` and ``P1 = 2^31 − 19``: ``u_i = K mod P_i``;
* fingerprint = ``(Σ u_0, Σ u_0² mod P0, Σ u_1, Σ u_1² mod P1)``, the ``Σ u_i`` exact integers
  (not reduced: the sum of residues is not a polynomial in K, so equal-power-sum patterns of K
  do not carry over).

What it proves (docs/verify.md): equal (count, fingerprint) with any change of at most one lost
and one added key — e.g. a lost row and a doubled row — is impossible while the window spans
less than ``P0 · P1 / 65536`` µs (≈ 2.2 years): the two keys differ modulo P0 or P1, so
``Σ u`` differs in that lane. A change touching at most 3 distinct keys is seen whenever they are
distinct modulo one lane's prime (count and the first two power sums form a Vandermonde
system). Larger changes are seen unless all four sums coincide; no proof, a random model puts
that at about 2^-120. A window whose tally differs is then counted exactly (second tier).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

P0 = 2_147_483_647
P1 = 2_147_483_629
PRIMES = (P0, P1)
SEQ_BITS = 16
SEQ_SHIFT = 1 << SEQ_BITS
MAX_DIRECT_SPAN_US = ((1 << 63) - SEQ_SHIFT) // SEQ_SHIFT
"""Below this grid span K fits a signed 64-bit integer: SQL may form it directly; above, it
reduces ``ts − start`` modulo the prime first (the same residue, one operation more)."""

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Tally:
    """Rows of one (point, window): how many, and the fingerprint of their keys."""

    count: int
    fingerprint: tuple[int, int, int, int]

    def __add__(self, other: Tally) -> Tally:
        a, b = self.fingerprint, other.fingerprint
        return Tally(
            self.count + other.count,
            (a[0] + b[0], (a[1] + b[1]) % P0, a[2] + b[2], (a[3] + b[3]) % P1),
        )


EMPTY = Tally(0, (0, 0, 0, 0))


def tally_of(count: int, sums: tuple[int, int, int, int]) -> Tally:
    """A Tally from raw sums (Σu0, Σu0² terms, Σu1, Σu1² terms), the squares reduced."""
    return Tally(int(count), (int(sums[0]), int(sums[1]) % P0, int(sums[2]), int(sums[3]) % P1))


def row_terms(rel_us: I64, seq: npt.NDArray[np.integer]) -> tuple[I64, I64, I64, I64]:
    """Per row: u0, u0² mod P0, u1, u1² mod P1 for ``rel_us = ts_us − grid_start_us ≥ 0``."""
    s = seq.astype(np.int64)
    out: list[I64] = []
    for p in PRIMES:
        u = ((rel_us % p) * SEQ_SHIFT + s) % p
        out += [u, (u * u) % p]
    return out[0], out[1], out[2], out[3]


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


def progression_tally(n: int, a: int, b: int) -> Tally:
    """The tally of the n keys ``K_j = a·j + b`` (j = 0 … n−1, seq 0), in closed form:
    ``Σ (K mod P) = Σ K − P · Σ floor(K / P)``, ``Σ K² = a²·S2 + 2ab·S1 + n·b²``."""
    if n <= 0:
        return EMPTY
    s1 = n * (n - 1) // 2
    s2 = (n - 1) * n * (2 * n - 1) // 6
    total = a * s1 + n * b
    squares = a * a * s2 + 2 * a * b * s1 + n * b * b
    sums = [v for p in PRIMES for v in (total - p * floor_sum(n, p, a, b), squares % p)]
    return tally_of(n, (sums[0], sums[1], sums[2], sums[3]))
