r"""Sequential CERTIFY: Cohen et al.'s certificate from fewer samples, with a time-uniform bound.

Selection is CERTIFY's: ``N0`` samples choose ``c_hat``; they are never counted again. Estimation samples
then arrive in rounds ending at ``t_1 < t_2 < ... < t_K = N`` (``N = certify.n``, the cap). After round
``k``, with ``nA_k`` of the ``t_k`` samples in ``c_hat``, the one-sided Clopper-Pearson bounds at level
``alpha_k`` are::

    L_k = Beta^-1(alpha_k;     nA_k,     t_k - nA_k + 1)      (0 when nA_k = 0)
    U_k = Beta^-1(1 - alpha_k; nA_k + 1, t_k - nA_k)          (1 when nA_k = t_k)

**Validity (union bound).** Each ``L_k`` alone fails with probability at most ``alpha_k``, so
``P(exists k: pA < L_k) <= sum_k alpha_k <= alpha``: the running maximum ``max_{j<=k} L_j`` holds at
every round at once (as does the running minimum of the ``U_j``), hence at any stopping round, even one
chosen by looking at the counts. This is the Bonferroni construction of Horvath et al. (ICLR 2022) and the
"union bound" confidence sequence of Voracek (NeurIPS 2024); a betting confidence sequence would save
about 15-20 % of the samples at moderate pA (Voracek, Table 1) but costs more near pA = 1, where its
mixture pays ``0.5 ln(pi t)`` (5.9 at t = 4e4) against the union bound's ``ln(alpha / alpha_k)`` (4.0).
:func:`false_certificate_probability` computes the exact error of the whole procedure (bounds and
stopping rules) by dynamic programming.

**Schedule** (:meth:`Schedule.geometric`). Round ends follow ``first_round * growth**j``: rounded up
below :data:`~insta_rs.certification.noise.NOISE_BLOCK` (those rounds re-draw and slice noise block 0), rounded to
the nearest multiple of ``NOISE_BLOCK`` above it (whole blocks), repeated ends dropped, the last end
``N``. Levels: the cap round gets ``alpha_K = cap_share * alpha``, every earlier round
``alpha_k = (1 - cap_share) * alpha / (K - 1)``. With all ``N`` samples in ``c_hat`` the bound is
``alpha_K**(1/N)``: at ``N = 1e5, alpha = 0.001`` (29 rounds) the radius cap is ``3.7878 sigma``
against fixed-N CERTIFY's ``3.8115 sigma`` (-0.6 %); an earlier round's ``alpha_k = 1.8e-5`` costs
``ln(1/alpha_k) / ln(1/alpha) = 1.58`` times the samples of a fixed-N bound of the same width at pA
near 1, and ``(z_(alpha_k) / z_alpha)**2 = (4.13 / 3.09)**2 = 1.79`` times at moderate pA.

**Stopping** (:meth:`SequentialRule.stop`). Decisions use only the current round's ``(k, nA_k)``, so the
procedure is a Markov chain on (round, count) and the dynamic program is exact.

With ``L_hat(rate) = CP_lower(round(N * rate); N, alpha_K)``, the cap's bound if the remaining samples
came at ``rate``, and ``R(L) = sigma * PhiInv(L)`` for ``L >= 1/2`` (else 0):

- at the cap (``k = K``) stop;
- *futility*: stop when even ``pA = U_k`` would not reach the next certificate at the cap,
  ``L_hat(U_k) < 1/2`` (radius mode; this includes ``U_k < 1/2``, the abstention of the issue) or
  ``L_hat(U_k) < P_c`` (decision mode, below);
- *radius mode*: stop when continuing is not expected to raise the radius by more than the tolerance,
  ``R(L_hat(nA_k / t_k)) - R(L_k) <= tolerance * R(L_hat(nA_k / t_k))`` (relative; a zero predicted
  radius is no reason to stop, since a relative gain from 0 is undefined: futility or the cap decide
  those examples) or ``<= tolerance`` (absolute, radius units);
- *decision mode*, for table radii ``0 = r_0 < r_1 < ... < r_J`` (0 always added) and thresholds
  ``P_j = Phi(r_j / sigma)``: with ``c = #{j: L_k >= P_j}`` radii certified, stop when ``c = J + 1``,
  or when ``r_c`` is decided out: ``min(L_hat(U_k), CP_lower(nA_k + N - t_k; N, alpha_K)) < P_c``
  (futile, which includes ``U_k < P_c``, or out of reach even if every remaining sample is in
  ``c_hat``; the cap round has the largest level, so no earlier round could reach it either).

Futility looks at ``U_k`` rather than the point estimate: stopping when the *estimated* final bound
misses a threshold abandons examples that fixed-N CERTIFY certifies (a biased certified accuracy).

**Readings at other levels** (:class:`Reading`, :meth:`Schedule.scaled`). Readers of a certification that need
its counts at a smaller level ``alpha' = share * alpha`` (the alpha/K envelope, the cascade's ``alpha/(2K)``,
Dual RS's classifier share) recompute the bound from the round the procedure stopped at, ``tau``, with every round's
level scaled by ``share``::

    L'_tau = Beta^-1(share * alpha_tau; nA_tau, t_tau - nA_tau + 1)

*Proof.* ``sum_k share * alpha_k = share * alpha``, so by the union bound ``P(exists k: pA < L'_k) <= alpha'``: the
scaled bounds hold at every round at once, hence at ``tau``, whatever rule chose it (a stopping time of the same
sample path, or any other random round). The certification's TSV records what this needs: ``nA`` and
``n_used = t_tau`` (the round is the index of ``n_used`` among the schedule's ends), ``n``, ``alpha`` and the
procedure's settings (its ``procedure`` column). The same holds for upper bounds at ``share * alpha_k``.
Re-testing at ``alpha'`` itself (``Beta^-1(alpha'; ...)`` at ``tau`` as if N were fixed) is *not* valid: the stop
chose ``tau`` where the bound looked good (``tests/test_sequential.py`` shows it exceeds ``alpha'``).
A reading may shift the certified thresholds (the cascade certifies ``s (PhiInv(L) - PhiInv(p0))``, so radius r needs
``L >= Phi(r / s + PhiInv(p0))``). A certification told its readings settles each one as it settles its own
(``readings`` of :class:`SequentialRule`): it stops when every reading is futile or settled (radius within tolerance,
or every decision of the table radii taken, at that reading's level and thresholds), so a reading's certified
accuracy at the table radii matches fixed-N CERTIFY's at ``alpha'`` as the procedure's own does at ``alpha``.

**Certificate** from ``L = max_{j <= stop} L_j``: abstain (``-1``, radius 0) when ``L < 1/2``, exactly
as CERTIFY. Radius mode reports ``sigma * PhiInv(L)`` (Cohen et al. Theorem 1). Decision mode reports
the largest table radius ``r_j`` with ``L >= P_j``: the decided table radius, not the continuous one,
so its certified accuracy at the table's radii is exact (at alpha) while its ACR is floored to the grid.
No radius exceeds fixed-N CERTIFY's cap ``sigma * PhiInv(alpha**(1/N))``: ``alpha_k**(1/t_k)`` is smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve
from scipy.stats import binom, norm

from insta_rs.certification.noise import NOISE_BLOCK
from insta_rs.certification.sequential_settings import SequentialSettings
from insta_rs.certification.stats import cohen_radius, p_upper_bound, pA_lower_bound


@dataclass(frozen=True, order=True)
class Reading:
    """A level at which a certification's counts are read: ``alpha' = share * alpha``, the radius at a bound L
    being ``sigma (PhiInv(L) - PhiInv(p0))`` (``p0 = 1/2``: Cohen et al.'s; the cascade's threshold otherwise)."""

    share: float = 1.0
    p0: float = 0.5

    def __post_init__(self):
        if not (0 < self.share <= 1 and 0.5 <= self.p0 < 1):
            raise ValueError(f"a reading needs 0 < share <= 1 and 1/2 <= p0 < 1, got share {self.share}, p0 {self.p0}")

    @property
    def label(self) -> str:
        return f"{self.share:g}" + ("" if self.p0 == 0.5 else f"p{self.p0:g}")

    @classmethod
    def from_label(cls, text: str) -> Reading:
        share, _, p0 = text.partition("p")
        return cls(float(share), float(p0) if p0 else 0.5)

    def radius(self, sigma: np.ndarray | float, lower: np.ndarray) -> np.ndarray:
        """``sigma (PhiInv(L) - PhiInv(p0))`` where ``L >= p0``, else 0."""
        lower = np.asarray(lower, dtype=float)
        return np.where(lower >= self.p0, np.asarray(sigma) * (norm.ppf(np.clip(lower, self.p0, 1.0))
                                                                - norm.ppf(self.p0)), 0.0)


OWN_READING = Reading()


@dataclass(frozen=True, eq=False)
class Schedule:
    """Round ends ``t_1 < ... < t_K`` (``ends[-1]`` is the cap N) and per-round levels ``alphas``."""

    ends: np.ndarray
    alphas: np.ndarray

    @classmethod
    def geometric(cls, n: int, alpha: float, first_round: int, growth: float, cap_share: float) -> Schedule:
        """The schedule of the module docstring: geometric ends, ``cap_share * alpha`` at the cap."""
        ends: list[int] = []
        target = float(first_round)
        while target < n:
            end = math.ceil(target) if target < NOISE_BLOCK else NOISE_BLOCK * round(target / NOISE_BLOCK)
            if end < n and (not ends or end > ends[-1]):
                ends.append(end)
            target *= growth
        ends.append(n)
        if len(ends) == 1:
            return cls(np.array(ends), np.array([alpha]))
        earlier = np.full(len(ends) - 1, (1 - cap_share) * alpha / (len(ends) - 1))
        return cls(np.array(ends), np.append(earlier, cap_share * alpha))

    @property
    def cap(self) -> int:
        return int(self.ends[-1])

    def scaled(self, share: float) -> Schedule:
        """The same rounds with every level times ``share``: levels summing to ``share * alpha`` (a reading)."""
        return Schedule(self.ends, self.alphas * share)

    def round_of(self, n_used: np.ndarray | int) -> np.ndarray:
        """The round (0-based) that ends at ``n_used`` samples; ValueError where no round ends there."""
        n_used = np.asarray(n_used)
        k = np.minimum(np.searchsorted(self.ends, n_used), len(self.ends) - 1)
        if np.any(self.ends[k] != n_used):
            bad = np.asarray(n_used)[self.ends[k] != n_used].ravel()[:5].tolist()
            raise ValueError(f"n_used {bad} is not a round end of the schedule {self.ends.tolist()}: the certification "
                             "was not made with these settings")
        return k

    def lower(self, k: int, nA: np.ndarray | int) -> np.ndarray:
        """``L_k``: the Clopper-Pearson lower bound of round ``k`` (0-based) at level ``alphas[k]``."""
        return pA_lower_bound(nA, self.ends[k], self.alphas[k])

    def upper(self, k: int, nA: np.ndarray | int) -> np.ndarray:
        """``U_k``: the Clopper-Pearson upper bound of round ``k`` at level ``alphas[k]``."""
        return p_upper_bound(nA, self.ends[k], self.alphas[k])


class SequentialRule:
    """The stopping rule and certificate of one sequential certification (a schedule and settings), settling
    the certification's own reading and ``readings`` at other levels (module docstring)."""

    def __init__(self, schedule: Schedule, settings: SequentialSettings = SequentialSettings(),
                 readings: tuple[Reading, ...] = ()):
        self.schedule = schedule
        self.settings = settings
        self.readings = tuple(sorted({OWN_READING, *readings}, reverse=True))

    @classmethod
    def from_settings(cls, settings: SequentialSettings, n: int, alpha: float,
                      readings: tuple[Reading, ...] = ()) -> SequentialRule:
        return cls(Schedule.geometric(n, alpha, settings.first_round, settings.growth, settings.cap_share),
                   settings, readings)

    def thresholds(self, sigma: float, reading: Reading = OWN_READING) -> np.ndarray:
        """``P_j = Phi(r_j / sigma + PhiInv(p0))`` of the table radii (``P_0 = p0``)."""
        return norm.cdf(np.asarray(self.settings.radii) / sigma + norm.ppf(reading.p0))

    def stop(self, k: int, nA: np.ndarray | int, sigma: float) -> np.ndarray:
        """Whether to stop after round ``k`` (0-based) with ``nA`` successes (vectorized over ``nA``): at the cap,
        or when every reading is settled (:meth:`settled`)."""
        nA = np.asarray(nA)
        if k == len(self.schedule.ends) - 1:
            return np.ones(nA.shape, dtype=bool)
        return np.logical_and.reduce([self.settled(k, nA, sigma, reading) for reading in self.readings])

    def settled(self, k: int, nA: np.ndarray, sigma: float, reading: Reading = OWN_READING) -> np.ndarray:
        """Whether ``reading`` needs no more samples after round ``k``: futility, then the tolerance (radius mode)
        or the decided table radius (decision mode), at the reading's level and thresholds (module docstring)."""
        schedule = self.schedule.scaled(reading.share)
        lower, upper = schedule.lower(k, nA), schedule.upper(k, nA)
        cap = len(schedule.ends) - 1
        optimistic = schedule.lower(cap, np.rint(schedule.cap * upper))  # the cap's bound if pA were U_k
        if self.settings.mode == "radius":
            predicted = schedule.lower(cap, np.rint(nA * (schedule.cap / schedule.ends[k])))
            final, now = reading.radius(sigma, predicted), reading.radius(sigma, lower)
            if self.settings.tolerance_kind == "relative":
                settled = (final > 0) & (final - now <= self.settings.tolerance * final)
            else:
                settled = final - now <= self.settings.tolerance
            return (optimistic < reading.p0) | settled
        thresholds = self.thresholds(sigma, reading)
        certified = (lower[..., None] >= thresholds).sum(axis=-1)
        following = thresholds[np.minimum(certified, len(thresholds) - 1)]
        all_remaining_in_A = schedule.lower(cap, nA + schedule.cap - schedule.ends[k])
        return (certified == len(thresholds)) | (np.minimum(optimistic, all_remaining_in_A) < following)

    def radius(self, pA_lower: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """The certified radius of the bound at the stop: continuous (radius mode) or the largest table
        radius with ``pA_lower >= Phi(r / sigma)`` (decision mode); 0 where ``pA_lower < 1/2``."""
        pA_lower, sigma = np.asarray(pA_lower, dtype=float), np.asarray(sigma, dtype=float)
        if self.settings.mode == "radius":
            return cohen_radius(sigma, pA_lower)
        radii = np.asarray(self.settings.radii)
        certified = (pA_lower[..., None] >= norm.cdf(radii / sigma[..., None])).sum(axis=-1)
        return np.where(certified > 0, radii[np.maximum(certified - 1, 0)], 0.0)


def false_certificate_probability(p: float, rule: SequentialRule, sigma: float = 1.0, stopping: bool = True,
                                  reading: Reading | None = None, recomputed_with: Schedule | None = None) -> float:
    """Exact ``P(the procedure reports a lower bound above p | pA = p)``, by dynamic programming.

    The chain's state after round ``k`` is the count ``nA_k``; between rounds it gains
    ``Binomial(t_k - t_(k-1), p)``. Probability mass moves round by round over the paths that have
    neither stopped nor crossed: where ``L_k(nA_k) > p`` the running maximum (the reported bound)
    exceeds ``p`` and the mass is counted as a false certificate; where ``rule.stop`` holds it leaves.
    With ``stopping=False`` every path runs to the cap: the error of the bounds alone, an upper bound for
    every stopping rule. With ``reading``, the reported bound is instead that reading's bound recomputed at the
    stopping round (module docstring: ``rule.schedule.scaled(reading.share)`` at ``tau``), or from another
    schedule's levels (``recomputed_with``, scaled the same way) to test another recomputation under the same
    stopping rule. Convolutions go through FFT (errors ~1e-16 per entry, clipped at 0).
    """
    recomputed = (recomputed_with or rule.schedule).scaled(reading.share) if reading else None
    mass = np.ones(1)
    false_certificates, previous_end = 0.0, 0
    last = len(rule.schedule.ends) - 1
    for k, end in enumerate(rule.schedule.ends):
        step = binom.pmf(np.arange(end - previous_end + 1), end - previous_end, p)
        mass = np.clip(fftconvolve(mass, step), 0.0, None)
        counts = np.arange(end + 1)
        stops = rule.stop(k, counts, sigma) if stopping else np.full(len(counts), k == last)
        if reading is None:
            crossed = rule.schedule.lower(k, counts) > p
            false_certificates += float(mass[crossed].sum())
            mass[crossed] = 0.0
        else:
            crossed = stops & (recomputed.lower(k, counts) > p)
            false_certificates += float(mass[crossed].sum())
        mass[stops] = 0.0
        previous_end = int(end)
    return false_certificates
