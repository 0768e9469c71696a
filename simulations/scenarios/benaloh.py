"""benaloh: how likely is a voting client that alters the voter's choices to be caught by
Benaloh cast-or-audit challenges, for a challenge rate a and c altered ballots?

The device encrypts before it knows whether the voter will cast or challenge. A challenged
encryption is posted as an audit: the device reveals the seed and the choices it claims to
have encrypted (the voter's own, or the voter would see the lie at once), and the ballot box
re-encrypts from the seed (:func:`evote.record.ballot_box.check_proofs`, which runs
:func:`evote.election.audit.verify_audit`): an altered encryption does not re-encrypt to the
claimed choices and is refused with :class:`~evote.election.audit.AuditMismatch`, the evidence.
After a challenge the device encrypts afresh.

Three client strategies:

* ``blind``: alters the first encryption of c voters picked at random. Each is challenged with
  probability a: detection 1 − (1 − a)^c.
* ``predictive``: guesses whether the voter will challenge, right with probability q, and
  alters the first encryption of the first c voters it guesses will not. The voters it alters
  challenge with probability a' = a(1−q) / (a(1−q) + (1−a)q): detection 1 − (1 − a')^c (exact:
  averaged over how many such voters the electorate holds, at most c).
* ``after-challenge``: alters only the fresh encryption that follows a challenge. Against
  voters who challenge at most once (``once``: ``evote vote --challenge`` without the
  interactive prompt), that encryption is always cast: it is never caught. Against voters who
  challenge each fresh encryption again with probability a (``repeat``: the interactive prompt
  allows it), it is caught as a blind client is: 1 − (1 − a)^c (exact: averaged over how many
  voters challenge at all, at most c).

Real encryptions: a pool of honest and of altered encryptions is made by the devices and
checked once by the ballot box's audit check. Re-sampled per trial: which voters challenge
(each encryption independently with probability a), whom the client alters (its strategy), the
client's guesses, and which pooled encryption stands for each challenged one; an honest
challenged encryption that failed its check would count as a false alarm.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from evote.errors import InvalidInput
from simulations import stats
from simulations.election import (
    PRESET_NAMES,
    AuditTask,
    SimElection,
    other_choices,
    random_choices,
)
from simulations.runner import (
    Cell,
    Comparison,
    Context,
    Measured,
    Outcome,
    Scenario,
    SimulationError,
    Table,
    error_bars,
    param,
    plain_numbers,
)

STRATEGIES: Final = ("blind", "predictive", "after-challenge")
POLICIES: Final = ("once", "repeat")
#: Trials simulated at once (trials × voters arrays).
_CHUNK: Final = 250


@dataclass(frozen=True, slots=True)
class Benaloh:
    voters: int = param(2000, "Voters in the election (N); the client alters some ballots.")
    rates: tuple[float, ...] = param(
        (0.02, 0.05, 0.10, 0.20), "Probabilities that a voter challenges an encryption (a)."
    )
    cheats: tuple[int, ...] = param((1, 5, 20, 50), "Ballots the client alters (c).")
    strategies: tuple[str, ...] = param(STRATEGIES, "Client strategies.", choices=STRATEGIES)
    accuracy: float = param(
        0.9, "How often a predictive client guesses right whether the voter will challenge (q)."
    )
    pool: int = param(
        32, "Real encryptions of each kind (honest, altered) the trials draw challenges from."
    )
    preset: str = param("referendum", "The ballot's contests.", choices=PRESET_NAMES)

    def __post_init__(self) -> None:
        if self.voters < 1:
            raise InvalidInput("--voters must be at least 1")
        if not self.rates or not all(0.0 <= rate <= 1.0 for rate in self.rates):
            raise InvalidInput("--rates: give challenge probabilities between 0 and 1")
        if not self.cheats or not all(1 <= count <= self.voters for count in self.cheats):
            raise InvalidInput(f"--cheats: each c lies between 1 and the {self.voters} voters")
        if not self.strategies:
            raise InvalidInput(f"--strategies: name at least one of {', '.join(STRATEGIES)}")
        if not 0.0 <= self.accuracy <= 1.0:
            raise InvalidInput(f"--accuracy is a probability, not {self.accuracy}")
        if self.pool < 1:
            raise InvalidInput("--pool must be at least 1")


@dataclass(frozen=True, slots=True)
class _Pool:
    """The ballot box's verdicts on the real challenged encryptions: True where refused."""

    honest_refused: np.ndarray
    altered_refused: np.ndarray
    reason: str


def _pool(options: Benaloh, context: Context, scratch: Path) -> _Pool:
    """Devices make honest and altered encryptions, reveal their seeds claiming the voter's
    choices, and the ballot box checks every audit once."""
    with SimElection(
        scratch / "staged",
        credentials=2 * options.pool,
        preset=options.preset,
        workers=context.workers,
    ) as election:
        manifest = election.manifest
        rng = context.rng("pool")
        tasks = []
        for number, credential in enumerate(election.credentials):
            intended = random_choices(manifest, rng)
            encrypted = (
                intended if number < options.pool else other_choices(manifest, intended, rng)
            )
            tasks.append(AuditTask(credential.seed(), encrypted, intended))
        verdicts = election.check(election.audits(tasks, context.tracker), context.tracker)
    refused = np.array([verdict is not None for verdict in verdicts], dtype=bool)
    reasons = [verdict for verdict in verdicts[options.pool :] if verdict is not None]
    return _Pool(refused[: options.pool], refused[options.pool :], reasons[0] if reasons else "")


def _first(mask: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` True entries of each row of ``mask`` (in voter order)."""
    return mask & (np.cumsum(mask, axis=1) <= count)


@dataclass(frozen=True, slots=True)
class _Cell:
    detected: int
    false_alarms: int
    mean_altered: float


def _simulate(
    options: Benaloh,
    context: Context,
    pool: _Pool,
    strategy: str,
    policy: str,
    rate: float,
    cheats: int,
) -> _Cell:
    rng = context.rng("trials", strategy, policy, rate, cheats)
    n = options.voters
    detected = false_alarms = altered_total = 0
    for start in range(0, context.trials, _CHUNK):
        rows = min(_CHUNK, context.trials - start)
        first = rng.random((rows, n)) < rate
        if policy == "repeat":
            second = first & (rng.random((rows, n)) < rate)
        else:
            second = np.zeros((rows, n), dtype=bool)
        nobody = np.zeros((rows, n), dtype=bool)
        if strategy == "blind":
            ranks = rng.random((rows, n)).argsort(axis=1)
            altered_first = ranks < cheats
            altered_second = nobody
        elif strategy == "predictive":
            right = rng.random((rows, n)) < options.accuracy
            guessed_challenge = np.where(right, first, ~first)
            altered_first = _first(~guessed_challenge, cheats)
            altered_second = nobody
        else:
            altered_first = nobody
            altered_second = _first(first, cheats)
        refused = []
        for altered in (altered_first, altered_second):
            drawn = rng.integers(options.pool, size=(rows, n))
            refused.append(
                np.where(altered, pool.altered_refused[drawn], pool.honest_refused[drawn])
            )
        caught = (first & altered_first & refused[0]) | (second & altered_second & refused[1])
        alarms = (first & ~altered_first & refused[0]) | (second & ~altered_second & refused[1])
        detected += int(caught.any(axis=1).sum())
        false_alarms += int(alarms.sum())
        altered_total += int((altered_first | altered_second).sum())
    return _Cell(detected, false_alarms, altered_total / context.trials)


def _figures(
    options: Benaloh, strategy: str, policy: str, rate: float, cheats: int
) -> tuple[float, float]:
    """The textbook figure for c altered ballots, and the exact one for this electorate."""
    n = options.voters
    q = options.accuracy
    if strategy == "blind":
        value = stats.detect_independent(rate, cheats)
        return value, value
    if strategy == "predictive":
        unguessed = rate * (1 - q) + (1 - rate) * q
        effective = rate * (1 - q) / unguessed if unguessed > 0 else 0.0
        return (
            stats.detect_independent(effective, cheats),
            stats.detect_capped(n, unguessed, cheats, effective),
        )
    if policy == "once":
        return 0.0, 0.0
    return stats.detect_independent(rate, cheats), stats.detect_capped(n, rate, cheats, rate)


def run(options: Benaloh, context: Context) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="evote-sim-benaloh-") as scratch:
        pool = _pool(options, context, Path(scratch))
    if pool.honest_refused.any():
        raise SimulationError("the ballot box refused an honest device's audit")
    if not pool.altered_refused.all():
        raise SimulationError("the ballot box accepted an altered encryption's audit")
    cells = _panels(options)
    comparisons = []
    alarms = 0
    context.tracker.phase("trials", len(cells) * len(options.rates) * len(options.cheats))
    for strategy, policy in cells:
        for rate in options.rates:
            for cheats in options.cheats:
                cell = _simulate(options, context, pool, strategy, policy, rate, cheats)
                alarms += cell.false_alarms
                textbook, exact = _figures(options, strategy, policy, rate, cheats)
                key: dict[str, Cell] = {
                    "strategy": strategy,
                    "policy": policy,
                    "rate": rate,
                    "accuracy": options.accuracy if strategy == "predictive" else None,
                    "cheats": cheats,
                }
                comparisons.append(
                    Comparison(
                        key,
                        cell.detected,
                        context.trials,
                        analytical=textbook,
                        exact=exact if abs(exact - textbook) > 5e-7 else None,
                        extra={
                            "mean_altered": round(cell.mean_altered, 3),
                            "false_alarms": cell.false_alarms,
                        },
                        text=(
                            f"{strategy}"
                            + (f" vs {policy}" if strategy == "after-challenge" else "")
                            + f", a = {rate:g}, c = {cheats}"
                        ),
                    )
                )
                context.tracker.advance()
    notes = [
        f"{options.pool} honest and {options.pool} altered encryptions were challenged for real; "
        f"the ballot box refused every altered one ({pool.reason}) and no honest one",
        f"{alarms} honest challenged encryptions failed their check in the trials",
        "where the electorate has fewer voters the client can use than c, it alters fewer "
        "(mean_altered in the CSV) and the exact figure accounts for it",
    ]
    table = Table(
        "Who catches a cheating client",
        ("strategy", "voters who", "caught"),
        (
            ("blind", "challenge with probability a", "1 − (1 − a)^c"),
            ("predictive (q)", "challenge with probability a", "1 − (1 − a')^c, a' < a"),
            ("after-challenge", "challenge at most once", "never"),
            ("after-challenge", "challenge each encryption with probability a", "1 − (1 − a)^c"),
        ),
    )
    return Outcome(
        comparisons,
        lambda figure, measured: _draw(figure, measured, options),
        tables=(table,),
        notes=notes,
        size=(10.0, 8.0) if len(cells) > 2 else (10.0, 4.8),
    )


def _panels(options: Benaloh) -> list[tuple[str, str]]:
    return [
        (strategy, policy)
        for strategy in options.strategies
        for policy in (POLICIES if strategy == "after-challenge" else ("once",))
    ]


_TITLES: Final = {
    ("blind", "once"): "blind: alters c voters' first encryption",
    ("predictive", "once"): "predictive (q = {q:g}): alters voters it guesses won't challenge",
    ("after-challenge", "once"): "alters the encryption after a challenge;\nvoters challenge once",
    ("after-challenge", "repeat"): (
        "alters the encryption after a challenge;\nvoters challenge each with probability a"
    ),
}


def _draw(figure: Figure, measured: Sequence[Measured], options: Benaloh) -> None:
    panels = _panels(options)
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    axes = figure.subplots(rows, columns, sharey=True, squeeze=False).flatten()
    cs = np.unique(np.geomspace(1, max(options.cheats), 60).round().astype(int))
    for axis, (strategy, policy) in zip(axes, panels, strict=False):
        for index, rate in enumerate(options.rates):
            colour = f"C{index % 10}"
            figures = [_figures(options, strategy, policy, rate, int(c)) for c in cs]
            axis.plot(
                cs, [textbook for textbook, _ in figures], color=colour, label=f"a = {rate:g}"
            )
            if any(abs(exact - textbook) > 1e-6 for textbook, exact in figures):
                axis.plot(
                    cs, [exact for _, exact in figures], color=colour, linestyle="--", linewidth=1
                )
            if strategy == "predictive":
                axis.plot(cs, 1 - (1 - rate) ** cs, color=colour, linestyle=":", linewidth=0.8)
            _points(axis, measured, colour, strategy, policy, rate)
        axis.set_title(_TITLES[(strategy, policy)].format(q=options.accuracy), fontsize="medium")
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(FuncFormatter(plain_numbers))
        axis.set_xlabel("ballots the client alters (c)")
        axis.set_ylabel("P(the client is caught)")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small", loc="upper left")
    for axis in axes[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"Benaloh challenges vs a cheating voting client, N = {options.voters} voters\n"
        "lines: analytical; dashed: exact for this electorate; dotted: a blind client"
    )


def _points(
    axis: Axes,
    measured: Sequence[Measured],
    colour: str,
    strategy: str,
    policy: str,
    rate: float,
) -> None:
    chosen = [
        point
        for point in measured
        if point.comparison.key["strategy"] == strategy
        and point.comparison.key["policy"] == policy
        and point.comparison.key["rate"] == rate
    ]
    xs = [float(str(point.comparison.key["cheats"])) for point in chosen]
    ys = [point.comparison.measured for point in chosen]
    axis.errorbar(xs, ys, yerr=error_bars(chosen), fmt="o", color=colour, capsize=2, markersize=4)


SCENARIO: Final = Scenario(
    name="benaloh",
    title="Benaloh challenges vs a cheating voting client",
    question="How likely is a voting client that alters c ballots to be caught when voters "
    "challenge (audit) an encryption with probability a?",
    params=Benaloh,
    run=run,
)
