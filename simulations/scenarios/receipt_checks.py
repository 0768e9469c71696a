"""receipt-checks (local-elections §3, S1–S4): how likely is a ballot box that drops or alters
k ballots to be caught, when a share of the voters check their receipts?

The election is real: n voters' devices encrypt, prove and sign their ballots, and the real
ballot box admits them (every proof checked). The ballot box is then corrupt in the way that
hides best: it holds the log key, so it can sign checkpoints of two histories. It keeps a
*shadow* log with every ballot and gives each of the k victims the receipt of their ballot on
that shadow log (a valid signed checkpoint and inclusion proof), while the log it publishes
leaves their ballots out (``drop``) or carries, in their place, a ballot for other choices
signed with the victim's credential (``alter``: the credential is taken to be stolen, the
strongest case; without it the forged ballot fails its signature check in the verifier).
Every other voter gets an honest receipt on the published log. The published record is then
completed (close, witnessed checkpoint, tally, decryption shares, result) and, for the largest
k, the independent verifier runs on it: it passes, because the record is consistent in itself.

A voter who checks runs the real checks of ``evote receipt check``: offline
(:func:`evote.client.receipt.check_receipt`), then against the published board (the latest
signed checkpoint extends the receipt's, and the entry at the receipt's place is still the
voter's): :func:`simulations.election.check_receipt_published`. Every voter's check is run once
per published record; a victim's fails and is the evidence (two checkpoints signed by the same
log key that no consistency proof joins).

Re-sampled per trial: which voters check. Either each voter independently with probability
``rate × success`` (S1, S3, S4; the exact figure is 1 − (1 − p)^k), or exactly f voters drawn
without replacement (S2; exact 1 − C(n−k, f)/C(n, f), approximated by 1 − (1 − f/n)^k). The
victims are drawn once per attack, nested (the k victims are the first k of one random order
of the voters); since checkers are drawn uniformly and independently of them, the detection
probability depends on k alone, so re-drawing them per trial would not change it.
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

from evote.board.log import BulletinBoard
from evote.client.receipt import Receipt, ReceiptRefused
from evote.election.ballot import EncryptedBallot
from evote.errors import InvalidInput
from evote.record.ballot_box import parse_submission
from simulations import stats
from simulations.election import (
    BATCH,
    PRESET_NAMES,
    SimElection,
    VoterTask,
    append_with_receipts,
    check_receipt_published,
    failed_checks,
    latest_checkpoint,
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
    Table,
    error_bars,
    param,
    plain_numbers,
)

ATTACKS: Final = ("drop", "alter")
#: Trials drawn at once (a trials × voters array of uniform draws).
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class ReceiptChecks:
    voters: int = param(3000, "Voters; each casts one ballot and keeps its receipt (n).")
    rates: tuple[float, ...] = param(
        (0.01, 0.04, 0.10, 0.20),
        "Probabilities that a voter checks the receipt, each voter independently (p).",
    )
    success: float = param(
        1.0,
        "Share of attempted checks that a voter completes (S4: about 0.47); a voter detects "
        "with probability rate × success.",
    )
    affected: tuple[int, ...] = param(
        (1, 10, 31, 74, 113, 299), "Ballots the ballot box drops or alters (k)."
    )
    checkers: tuple[int, ...] = param(
        (120,),
        "Exact numbers of voters who check, drawn without replacement (S2, f); empty for none.",
    )
    attacks: tuple[str, ...] = param(ATTACKS, "What the ballot box does.", choices=ATTACKS)
    preset: str = param("referendum", "The ballot's contests.", choices=PRESET_NAMES)
    verify: bool = param(
        True, "Run the verifier on the published record with the most ballots affected."
    )

    def __post_init__(self) -> None:
        if self.voters < 2:
            raise InvalidInput("--voters: a receipt-check election needs at least 2 voters")
        if not self.rates and not self.checkers:
            raise InvalidInput("give --rates or --checkers (or both): who checks?")
        if not self.affected or min(self.affected) < 1 or max(self.affected) > self.voters:
            raise InvalidInput(f"--affected: each k lies between 1 and the {self.voters} voters")
        for rate in self.rates:
            if not 0.0 <= rate <= 1.0:
                raise InvalidInput(f"--rates: {rate} is not a probability")
        if not 0.0 < self.success <= 1.0:
            raise InvalidInput(f"--success lies in (0, 1], not {self.success}")
        for count in self.checkers:
            if not 0 <= count <= self.voters:
                raise InvalidInput(f"--checkers: {count} is not between 0 and {self.voters}")
        if not self.attacks:
            raise InvalidInput("--attacks: name at least one of drop, alter")


@dataclass(frozen=True, slots=True)
class _Published:
    """One corrupt publication: every voter's receipt and whether its check caught the box."""

    attack: str
    affected: int
    caught: np.ndarray
    victims: np.ndarray
    verifier: str | None


def _publish(
    election: SimElection,
    entries: list[bytes],
    parsed: dict[bytes, EncryptedBallot],
    substitutes: dict[int, bytes],
    victims: np.ndarray,
    attack: str,
) -> tuple[BulletinBoard, list[Receipt]]:
    """The corrupt box at work: each arrival batch goes whole onto the shadow log and, without
    (or with altered) victims' ballots, onto the published log; victims keep shadow receipts."""
    listed = [credential.verify_key for credential in election.credentials]
    opening = election.mark("open")
    shadow = election.opened_board(listed, opening)
    published = election.opened_board(listed, opening)
    receipts: list[Receipt] = []
    cast: dict[int, EncryptedBallot] = {}
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        voters = range(start, start + len(batch))
        forked = append_with_receipts(shadow, batch)
        shown = [
            substitutes[voter] if victims[voter] else entry
            for voter, entry in zip(voters, batch, strict=True)
            if attack == "alter" or not victims[voter]
        ]
        public = iter(append_with_receipts(published, shown))
        for position, voter in enumerate(voters):
            if attack == "alter" or not victims[voter]:
                receipt = next(public)
                cast[receipt.leaf_index] = parsed[published.entry(receipt.leaf_index)]
                if not victims[voter]:
                    receipts.append(receipt)
                    continue
            receipts.append(forked[position])
    election.finish(published, cast, registered=len(listed))
    shadow.close()
    return published, receipts


def _checks_catch(
    election: SimElection, published: BulletinBoard, receipts: list[Receipt], entries: list[bytes]
) -> np.ndarray:
    """Every voter's real receipt check against the published board: True where it fails."""
    caught = np.zeros(len(entries), dtype=bool)
    latest = latest_checkpoint(published, election.manifest)
    for voter, (receipt, entry) in enumerate(zip(receipts, entries, strict=True)):
        try:
            check_receipt_published(receipt, entry, election.manifest, published, latest)
        except ReceiptRefused:
            caught[voter] = True
    return caught


def _rate_trials(
    context: Context, caught: np.ndarray, rate: float, success: float, label: tuple[object, ...]
) -> int:
    """Trials in which some voter who checks (independently, ``rate × success``) is caught."""
    rng = context.rng("checkers", *label)
    detected = 0
    for start in range(0, context.trials, _CHUNK):
        rows = min(_CHUNK, context.trials - start)
        checks = rng.random((rows, caught.size)) < rate
        if success < 1.0:
            checks &= rng.random((rows, caught.size)) < success
        detected += int((checks & caught).any(axis=1).sum())
    return detected


def _fixed_trials(
    context: Context, caught: np.ndarray, checkers: int, label: tuple[object, ...]
) -> int:
    """Trials in which one of exactly ``checkers`` voters (drawn without replacement) is caught."""
    if checkers == 0:
        return 0
    rng = context.rng("fixed", *label)
    detected = 0
    for start in range(0, context.trials, _CHUNK):
        rows = min(_CHUNK, context.trials - start)
        keys = rng.random((rows, caught.size))
        chosen = np.argpartition(keys, checkers - 1, axis=1)[:, :checkers]
        detected += int(caught[chosen].any(axis=1).sum())
    return detected


def run(options: ReceiptChecks, context: Context) -> Outcome:
    with (
        tempfile.TemporaryDirectory(prefix="evote-sim-receipts-") as scratch,
        SimElection(
            Path(scratch) / "staged",
            credentials=options.voters,
            preset=options.preset,
            workers=context.workers,
        ) as election,
    ):
        publications = _publications(options, context, election, Path(scratch))
    return _outcome(options, context, publications)


def _publications(
    options: ReceiptChecks, context: Context, election: SimElection, scratch: Path
) -> list[_Published]:
    """The honest part once (devices encrypt, the ballot box admits), then every corrupt
    publication, with every voter's receipt checked against it."""
    tracker = context.tracker
    n = options.voters
    manifest = election.manifest
    choices = context.rng("choices")
    plaintexts = [random_choices(manifest, choices) for _ in range(n)]
    tasks = [
        VoterTask(credential.seed(), plaintext)
        for credential, plaintext in zip(election.credentials, plaintexts, strict=True)
    ]
    entries = election.encrypt(tasks, tracker)
    listed = [credential.verify_key for credential in election.credentials]
    admitted = election.admit(election.ballot_box(listed), entries, tracker)
    parsed = {item.entry.encoded: item.ballot for item in admitted}

    publications: list[_Published] = []
    largest = max(options.affected)
    for attack in options.attacks:
        order = context.rng("victims", attack).permutation(n)
        substitutes: dict[int, bytes] = {}
        if attack == "alter":
            swap = context.rng("substitutes")
            chosen = [int(voter) for voter in order[:largest]]
            made = election.encrypt(
                [
                    VoterTask(
                        election.credentials[voter].seed(),
                        other_choices(manifest, plaintexts[voter], swap),
                    )
                    for voter in chosen
                ],
                tracker,
            )
            substitutes = dict(zip(chosen, made, strict=True))
            parsed.update({data: parse_submission(data, election.context).ballot for data in made})
        for k in sorted(options.affected):
            victims = np.zeros(n, dtype=bool)
            victims[order[:k]] = True
            tracker.phase(f"{attack} {k}: publish, then every voter checks", n)
            published, receipts = _publish(election, entries, parsed, substitutes, victims, attack)
            caught = _checks_catch(election, published, receipts, entries)
            tracker.advance(n)
            verdict = None
            if options.verify and k == largest:
                tracker.phase(f"verifier on the {attack} record (k = {k})", 1)
                report = election.verify(published, scratch / f"record-{attack}-{k}")
                verdict = (
                    f"all {len(report.checks)} checks pass"
                    if report.passed
                    else "fails " + ", ".join(failed_checks(report))
                )
                tracker.advance()
            published.close()
            publications.append(_Published(attack, k, caught, victims, verdict))
    return publications


def _outcome(options: ReceiptChecks, context: Context, publications: list[_Published]) -> Outcome:
    """Re-sample who checks, trial after trial, over each publication's real verdicts."""
    tracker = context.tracker
    n = options.voters
    comparisons: list[Comparison] = []
    for item in publications:
        extra: dict[str, Cell] = {
            "false_alarms": int((item.caught & ~item.victims).sum()),
            "victims_missed": int((item.victims & ~item.caught).sum()),
        }
        tracker.phase(
            f"{item.attack} {item.affected}: trials", len(options.rates) + len(options.checkers)
        )
        for rate in options.rates:
            label = (item.attack, item.affected, rate, options.success)
            comparisons.append(
                Comparison(
                    {
                        "attack": item.attack,
                        "mode": "rate",
                        "rate": rate,
                        "success": options.success,
                        "checkers": None,
                        "affected": item.affected,
                    },
                    _rate_trials(context, item.caught, rate, options.success, label),
                    context.trials,
                    analytical=stats.detect_independent(rate * options.success, item.affected),
                    extra=extra,
                    text=f"{item.attack}, p = {rate * options.success:.4g}, k = {item.affected}",
                )
            )
            tracker.advance()
        for count in options.checkers:
            comparisons.append(
                Comparison(
                    {
                        "attack": item.attack,
                        "mode": "fixed",
                        "rate": None,
                        "success": None,
                        "checkers": count,
                        "affected": item.affected,
                    },
                    _fixed_trials(context, item.caught, count, (item.attack, item.affected, count)),
                    context.trials,
                    analytical=stats.detect_independent(count / n, item.affected),
                    exact=stats.detect_without_replacement(n, item.affected, count),
                    extra=extra,
                    text=f"{item.attack}, f = {count} of {n}, k = {item.affected}",
                )
            )
            tracker.advance()

    alarms = sum(int((item.caught & ~item.victims).sum()) for item in publications)
    missed = sum(int((item.victims & ~item.caught).sum()) for item in publications)
    verified = [item for item in publications if item.verifier is not None]
    notes = [
        f"{n} voters, {options.preset} ballots; every voter's receipt checked against each of "
        f"the {len(publications)} published records: {missed} victims' checks passed, "
        f"{alarms} honest voters' checks failed",
    ]
    if missed or alarms:
        notes.append("a check misjudged a receipt: the detection figures above are not valid")
    table = Table(
        "The independent verifier on the corrupt published records",
        ("attack", "ballots affected", "verifier"),
        tuple((item.attack, str(item.affected), item.verifier or "") for item in verified),
    )
    return Outcome(
        comparisons,
        lambda figure, measured: _draw(figure, measured, options),
        tables=(table,) if verified else (),
        notes=notes,
    )


_MARKERS: Final = {"drop": "o", "alter": "^"}
_SHIFT: Final = {"drop": 0.96, "alter": 1.04}


def _draw(figure: Figure, measured: Sequence[Measured], options: ReceiptChecks) -> None:
    n = options.voters
    ks = np.unique(np.geomspace(1, max(options.affected), 200).round().astype(int))
    panels = 2 if options.checkers and options.rates else 1
    axes = figure.subplots(1, panels, sharey=True, squeeze=False)[0]
    rate_axis = axes[0] if options.rates else None
    fixed_axis = axes[-1] if options.checkers else None
    cycle = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
    if rate_axis is not None:
        for index, rate in enumerate(options.rates):
            p = rate * options.success
            colour = cycle[index % len(cycle)]
            rate_axis.plot(ks, 1 - (1 - p) ** ks, color=colour, label=f"p = {p:.4g}")
            _points(rate_axis, measured, colour, mode="rate", value=("rate", rate))
        rate_axis.set_title(f"each voter checks with probability p (n = {n})")
        rate_axis.set_ylabel("P(the corrupt ballot box is caught)")
    if fixed_axis is not None:
        for index, count in enumerate(options.checkers):
            colour = cycle[(index + len(options.rates)) % len(cycle)]
            exact = [stats.detect_without_replacement(n, int(k), count) for k in ks]
            fixed_axis.plot(ks, exact, color=colour, label=f"f = {count}: exact")
            fixed_axis.plot(
                ks,
                1 - (1 - count / n) ** ks,
                color=colour,
                linestyle="--",
                linewidth=0.8,
                label=f"f = {count}: 1 − (1 − f/n)^k",
            )
            _points(fixed_axis, measured, colour, mode="fixed", value=("checkers", count))
        fixed_axis.set_title(f"exactly f voters check (without replacement, n = {n})")
    for axis in axes:
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(FuncFormatter(plain_numbers))
        axis.set_xlabel("ballots dropped or altered (k)")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small", loc="lower right")
    figure.suptitle("Receipt checks vs a ballot box that drops (●) or alters (▲) k ballots")


def _points(
    axis: Axes,
    measured: Sequence[Measured],
    colour: str,
    *,
    mode: str,
    value: tuple[str, object],
) -> None:
    for attack, marker in _MARKERS.items():
        chosen = [
            point
            for point in measured
            if point.comparison.key["mode"] == mode
            and point.comparison.key[value[0]] == value[1]
            and point.comparison.key["attack"] == attack
        ]
        if not chosen:
            continue
        xs = [float(str(point.comparison.key["affected"])) * _SHIFT[attack] for point in chosen]
        ys = [point.comparison.measured for point in chosen]
        axis.errorbar(
            xs, ys, yerr=error_bars(chosen), fmt=marker, color=colour, capsize=2, markersize=4
        )


SCENARIO: Final = Scenario(
    name="receipt-checks",
    title="Receipt checks vs a ballot box that drops or alters ballots (S1–S4)",
    question="How likely is a ballot box that drops or alters k ballots to be caught when a "
    "share p of voters (or exactly f of them) check their receipts?",
    params=ReceiptChecks,
    run=run,
)
