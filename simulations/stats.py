"""The statistics every scenario shares: confidence intervals and the analytical detection
figures the measurements are compared with (local-elections §3: S1–S4, the Benaloh audit, S6
revoting under coercion, S7 guardian key loss).

Intervals are Wilson score intervals for a proportion: unlike the normal approximation they
stay inside [0, 1] and keep their coverage near 0 and 1, where detection curves spend most of
their length. A scenario compares many points at once, so the runner widens each interval with
a Bonferroni correction (:func:`bonferroni_z`): if every analytical value is right, all of a
scenario's intervals cover it together with at least the stated confidence.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from evote.errors import InvalidInput


def _probability(value: float, what: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{what} is a probability between 0 and 1, not {value}")


def bonferroni_z(confidence: float, comparisons: int) -> float:
    """The normal quantile that makes ``comparisons`` two-sided intervals hold together with
    probability at least ``confidence`` (each at level ``1 − (1 − confidence)/comparisons``)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"a confidence level lies strictly between 0 and 1, not {confidence}")
    alpha = (1.0 - confidence) / max(1, comparisons)
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``trials`` at normal quantile ``z``."""
    if trials < 1 or not 0 <= successes <= trials:
        raise InvalidInput(f"{successes} successes out of {trials} trials is not a proportion")
    share = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def detect_independent(rate: float, affected: int) -> float:
    """1 − (1 − p)^k: some of ``affected`` items is examined when each is, independently, with
    probability ``rate`` (S1: a voter checks a receipt; Benaloh: a voter challenges)."""
    _probability(rate, "the rate")
    if affected < 0:
        raise InvalidInput("the number of affected items cannot be negative")
    return 1.0 - (1.0 - rate) ** affected


def detect_without_replacement(population: int, affected: int, examined: int) -> float:
    """1 − C(n−k, f)/C(n, f): some of ``affected`` of ``population`` items is among ``examined``
    drawn without replacement (S2, exactly f voters check)."""
    if not (0 <= affected <= population and 0 <= examined <= population):
        raise InvalidInput(
            f"{affected} affected and {examined} examined items do not fit in {population}"
        )
    return 1.0 - math.comb(population - affected, examined) / math.comb(population, examined)


def binomial_pmf(trials: int, probability: float, successes: int) -> float:
    """P(X = successes) for X ~ Binomial(trials, probability), in logs so large ``trials`` are
    safe."""
    _probability(probability, "the probability")
    if not 0 <= successes <= trials:
        return 0.0
    if probability in (0.0, 1.0):
        return float(successes == (0 if probability == 0.0 else trials))
    log = (
        math.lgamma(trials + 1)
        - math.lgamma(successes + 1)
        - math.lgamma(trials - successes + 1)
        + successes * math.log(probability)
        + (trials - successes) * math.log1p(-probability)
    )
    return math.exp(log)


def detect_capped(population: int, chance: float, cap: int, rate: float) -> float:
    """E[1 − (1 − rate)^M] with M = min(cap, Binomial(population, chance)): detection when an
    attacker wants ``cap`` items but finds only the M of ``population`` that suit it (each
    with probability ``chance``), and each item taken is examined with probability ``rate``."""
    _probability(chance, "the chance")
    total = 0.0
    for found in range(population + 1):
        weight = binomial_pmf(population, chance, found)
        total += weight * detect_independent(rate, min(cap, found))
    return total


def key_loss(guardians: int, quorum: int, loss: float) -> float:
    """P(fewer than ``quorum`` of ``guardians`` keep their key) when each loses it independently
    with probability ``loss``: Σ_{k<t} C(n, k)(1 − q)^k q^(n−k) (S7: the tally cannot be
    decrypted)."""
    _probability(loss, "the loss probability")
    if not 1 <= quorum <= guardians:
        raise InvalidInput(f"a quorum of {quorum} of {guardians} guardians is impossible")
    return math.fsum(binomial_pmf(guardians, 1.0 - loss, kept) for kept in range(quorum))


def revote_lands(period: float, window: float, delay: float) -> float:
    """P(a coerced voter's revote lands before the close) when the coercer arrives uniformly in
    a voting period of length ``period``, stays ``window``, and the voter revotes an
    exponential time of mean ``delay`` after the coercer leaves (``delay`` 0: at once).

    With L = D − w ≥ 0: (1/D)·∫₀^L (1 − e^(−x/m)) dx = (L − m(1 − e^(−L/m)))/D (S6).
    """
    if period <= 0 or window < 0 or delay < 0:
        raise InvalidInput(
            f"a voting period > 0, a window ≥ 0 and a delay ≥ 0 are needed, not {period}, "
            f"{window}, {delay}"
        )
    free = max(0.0, period - window)
    if delay == 0.0:
        return free / period
    return (free - delay * -math.expm1(-free / delay)) / period
