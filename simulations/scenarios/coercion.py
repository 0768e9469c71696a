"""coercion: how often does a coercer get the ballot that counts, when the last vote counts and
a coerced voter revotes with probability r once the coercer is gone?

A coercer arrives at a uniform time in the remote voting period (``--period`` hours, D) and
either **watches** the voter cast the coercer's choice on the voter's own device (``watch``) or
takes the voter's **credential** and casts the coercer's choice from its own device
(``credential``); either way it stays, or holds the credential, for w hours (``--windows``).
Once it is gone the voter revotes with probability r (``--revote-rates``), an exponential time of
mean ``--delay`` hours later, if that is before the close. The simple model: the coercer
succeeds with probability 1 − r·P(the revote lands after the coercer leaves and before the
close), P = (L − m(1 − e^(−L/m)))/D with L = D − w and m the mean delay.

Which ballot counts is decided by the real code: each story (the coerced ballot alone, or
followed by the voter's revote) runs once per voter of a small pool through the real ballot box
(:class:`~evote.record.ballot_box.BallotBox`: signatures, proofs, sequence numbers 0, 1, 2, …
per credential) onto a real board, and the counted set is the real tally rule
(:func:`evote.election.tally.counted_ballots`: each credential's ballot with the highest
sequence number). The sequence number of the revote is the device's:

* ``board``, evote's voter client: it reads the credential's ballots on the board (the real
  :func:`evote.client.voter.setup.fetch_setup` and :func:`evote.client.voter.history.read_ballots`
  over the story's board) and casts with the highest + 1, naming the coercer's ballot to the
  voter. After ``watch`` or ``credential`` that is 1, and the revote counts.
* ``receipts``, the modelled old client (evote's before the box and the device changed): one
  above the device's own last receipt. After ``watch`` that is 1. After ``credential`` the
  device holds no receipt, casts sequence 0 again, and the box refuses it (the box expects 1):
  the coercer's ballot counts whatever r, and the voter is told the revote was refused
  (``alerted``).

**Re-sampled per trial**: the voter (from the pool), the coercer's arrival, whether the voter
revotes and after what delay; the story that follows is looked up in the real box's verdicts.
The Estonian repeat-vote rate (2023: 10,787 of 324,301 i-votes, 3.3 %; 2013: 2.3 %) is the
reference line: a coercer's success if coerced voters revoted no more often than voters do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib.figure import Figure

from evote.board.log import BulletinBoard
from evote.client.channels import PAGE
from evote.client.voter.history import read_ballots, sequence_after
from evote.client.voter.setup import fetch_setup
from evote.election.ballot import EncryptedBallot
from evote.election.encrypt import PlaintextBallot
from evote.election.tally import counted_ballots
from evote.errors import InvalidInput
from evote.record.ballot_box import BallotBox, BallotRejected, check_proofs, parse_submission
from simulations import stats
from simulations.election import (
    PRESET_NAMES,
    SimElection,
    VoterTask,
    encrypt_tasks,
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
)

ATTACKS: Final = ("watch", "credential")
DEVICES: Final = ("board", "receipts")
#: Estonia 2023: 10,787 repeat i-votes of 324,301 (local-elections §3, S6).
ESTONIA_2023: Final = 10_787 / 324_301
#: Estonia 2013: 2.3 % repeat i-votes.
ESTONIA_2013: Final = 0.023


@dataclass(frozen=True, slots=True)
class Coercion:
    revote_rates: tuple[float, ...] = param(
        (0.25, 0.5, 0.75, 1.0),
        "Probabilities that a coerced voter revotes once the coercer is gone (r).",
    )
    windows: tuple[float, ...] = param(
        (1.0, 24.0, 72.0, 120.0),
        "Hours the coercer stays after the vote, or holds the credential (w).",
    )
    period: float = param(144.0, "Hours the remote channel is open (D; Estonia: 6 days).")
    delay: float = param(
        12.0, "Mean hours from the coercer leaving to the voter's revote (exponential; 0: at once)."
    )
    attacks: tuple[str, ...] = param(
        ATTACKS,
        "What the coercer does: watch the voter cast, or take the credential and cast itself.",
        choices=ATTACKS,
    )
    devices: tuple[str, ...] = param(
        DEVICES,
        "How the voter's device numbers a revote after a credential was taken: board (evote's "
        "client: one above the credential's last ballot on the board) or receipts (the old "
        "client, modelled: one above its own last receipt).",
        choices=DEVICES,
    )
    pool: int = param(12, "Coerced voters whose real stories run through the ballot box.")
    preset: str = param("referendum", "The ballot's contests.", choices=PRESET_NAMES)

    def __post_init__(self) -> None:
        if not self.revote_rates or not all(0.0 <= rate <= 1.0 for rate in self.revote_rates):
            raise InvalidInput("--revote-rates: give probabilities between 0 and 1")
        if self.period <= 0:
            raise InvalidInput(f"--period is a positive number of hours, not {self.period}")
        if not self.windows or not all(0.0 <= window <= self.period for window in self.windows):
            raise InvalidInput(f"--windows: give hours between 0 and the period, {self.period:g}")
        if self.delay < 0:
            raise InvalidInput(f"--delay is a number of hours ≥ 0, not {self.delay}")
        if not self.attacks:
            raise InvalidInput(f"--attacks: name at least one of {', '.join(ATTACKS)}")
        if "credential" in self.attacks and not self.devices:
            raise InvalidInput(f"--devices: name at least one of {', '.join(DEVICES)}")
        if self.pool < 1:
            raise InvalidInput("--pool must be at least 1")


class _BoardReader:
    """The story's board as the voter's device reads one over the network."""

    def __init__(self, board: BulletinBoard) -> None:
        self.board = board

    def checkpoint(self, size: int = 0) -> str:
        return self.board.latest_checkpoint()

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        return self.board.entries(start, start + limit)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return self.board.consistency_proof(old_size, new_size)


@dataclass(frozen=True, slots=True)
class _Verdicts:
    """The real box's verdicts per pool voter: [without revote, with revote]."""

    attack: str
    device: str | None
    coerced_counts: np.ndarray  # (pool, 2) bool
    refused: np.ndarray  # (pool, 2) bool
    sequences: tuple[int, ...]  # the revote's sequence number, per voter


class _Stories:
    """A pool of coerced voters, their ballots made on demand, and one real run per story."""

    def __init__(self, options: Coercion, context: Context, scratch: Path) -> None:
        self.election = SimElection(
            scratch / "staged", credentials=options.pool, preset=options.preset, workers=1
        )
        manifest = self.election.manifest
        rng = context.rng("choices")
        self.coerced: list[PlaintextBallot] = []
        self.own: list[PlaintextBallot] = []
        for _ in self.election.credentials:
            wanted = random_choices(manifest, rng)
            self.coerced.append(wanted)
            self.own.append(other_choices(manifest, wanted, rng))
        self.listed = [credential.verify_key for credential in self.election.credentials]
        self.opening = self.election.mark("open")
        self._ballots: dict[tuple[int, str, int], bytes] = {}

    def close(self) -> None:
        self.election.close()

    def ballot(self, voter: int, whose: str, sequence: int) -> bytes:
        """Voter ``voter``'s credential signs the coercer's or the voter's own choices with
        ``sequence`` (a real encryption, made once)."""
        key = (voter, whose, sequence)
        if key not in self._ballots:
            plaintext = (self.coerced if whose == "coerced" else self.own)[voter]
            task = VoterTask(self.election.credentials[voter].seed(), plaintext, sequence)
            self._ballots[key] = encrypt_tasks(self.election.context, [task])[0]
        return self._ballots[key]

    def run(
        self, attack: str, device: str | None, voter: int, revote: bool
    ) -> tuple[bool, bool, int]:
        """One story on a fresh board and box: the coerced ballot, then perhaps the revote.
        Returns (the coerced ballot counts, the revote was refused, the revote's sequence)."""
        election = self.election
        board = election.opened_board(self.listed, self.opening)
        box = election.ballot_box(self.listed)
        cast: dict[int, EncryptedBallot] = {}
        coerced_index = self._submit(board, box, cast, self.ballot(voter, "coerced", 0))
        if coerced_index is None:
            raise SimulationError("the ballot box refused the coerced ballot of a fresh voter")
        # The voter's device: after ``watch`` it holds the receipt of sequence 0.
        device_next = 1 if attack == "watch" else 0
        sequence = device_next
        if attack == "credential" and device == "board":
            sequence = self._board_sequence(board, voter)
        refused = False
        if revote:
            revoted = self._submit(board, box, cast, self.ballot(voter, "own", sequence))
            refused = revoted is None
        counted = counted_ballots(cast)
        board.close()
        return coerced_index in counted, refused, sequence

    def _board_sequence(self, board: BulletinBoard, voter: int) -> int:
        """evote's voter client: read the setup and the credential's ballots from the board,
        and number the revote one above the highest there."""
        credential = self.election.credentials[voter].verify_key
        reader = _BoardReader(board)
        setup = fetch_setup(reader, self.election.manifest.election_id)
        return sequence_after(read_ballots(reader, setup, credential))

    def _submit(
        self, board: BulletinBoard, box: BallotBox, cast: dict[int, EncryptedBallot], data: bytes
    ) -> int | None:
        """The ballot box's checks, then the append: the board index, or None if the box
        refused the ballot."""
        context = self.election.context
        submission = parse_submission(data, context)
        try:
            check_proofs(submission, context)
            box.admit(submission)
        except BallotRejected:
            return None
        index = board.append([data]).first_index
        cast[index] = submission.ballot
        return index

    def verdicts(self, attack: str, device: str | None, pool: int) -> _Verdicts:
        coerced = np.zeros((pool, 2), dtype=bool)
        refused = np.zeros((pool, 2), dtype=bool)
        sequences = []
        for voter in range(pool):
            for revote in (False, True):
                counts, was_refused, sequence = self.run(attack, device, voter, revote)
                coerced[voter, int(revote)] = counts
                refused[voter, int(revote)] = was_refused
            sequences.append(sequence)
        if not coerced[:, 0].all():
            raise SimulationError("without a revote the coerced ballot must count, and did not")
        return _Verdicts(attack, device, coerced, refused, tuple(sequences))


@dataclass(frozen=True, slots=True)
class _Trials:
    success: int
    alerted: int
    landed: int


def _trials(
    verdicts: _Verdicts, options: Coercion, rate: float, window: float, context: Context
) -> _Trials:
    """Draw the trials' stories and look up the real verdicts."""
    rng = context.rng("coercion", verdicts.attack, verdicts.device, rate, window)
    trials = context.trials
    voters = rng.integers(options.pool, size=trials)
    arrival = rng.random(trials) * options.period
    revotes = rng.random(trials) < rate
    delay = rng.exponential(options.delay, trials) if options.delay > 0 else np.zeros(trials)
    lands = revotes & (arrival + window + delay < options.period)
    column = lands.astype(np.int64)
    return _Trials(
        int(verdicts.coerced_counts[voters, column].sum()),
        int(verdicts.refused[voters, column].sum()),
        int(lands.sum()),
    )


def _label(attack: str, device: str | None) -> str:
    return attack if device is None else f"{attack}, {device} device"


def run(options: Coercion, context: Context) -> Outcome:
    combos: list[tuple[str, str | None]] = []
    for attack in options.attacks:
        if attack == "watch":
            combos.append((attack, None))
        else:
            combos.extend((attack, device) for device in options.devices)
    context.tracker.phase("real stories through the ballot box", len(combos))
    with tempfile.TemporaryDirectory(prefix="evote-sim-coercion-") as scratch:
        stories = _Stories(options, context, Path(scratch))
        try:
            all_verdicts = []
            for attack, device in combos:
                all_verdicts.append(stories.verdicts(attack, device, options.pool))
                context.tracker.advance()
        finally:
            stories.close()
    comparisons = []
    points = len(all_verdicts) * len(options.revote_rates) * len(options.windows)
    context.tracker.phase("coercers and revotes", points)
    for verdicts in all_verdicts:
        story = _story(verdicts)
        evote_refuses = bool(verdicts.refused[:, 1].all())
        for rate in options.revote_rates:
            for window in options.windows:
                lands = stats.revote_lands(options.period, window, options.delay)
                measured = _trials(verdicts, options, rate, window, context)
                key = {
                    "attack": verdicts.attack,
                    "device": verdicts.device,
                    "revote_rate": rate,
                    "window_h": window,
                }
                extra: dict[str, Cell] = {
                    "revote_sequence": verdicts.sequences[0],
                    "revotes_landed": measured.landed,
                    "story": story,
                }
                name = _label(verdicts.attack, verdicts.device)
                comparisons.append(
                    Comparison(
                        {**key, "measure": "coercer succeeds"},
                        measured.success,
                        context.trials,
                        analytical=1.0 - rate * lands,
                        exact=1.0 if evote_refuses else None,
                        extra=extra,
                        text=f"{name}: coercer succeeds, r = {rate:g}, w = {window:g} h",
                    )
                )
                if evote_refuses:
                    comparisons.append(
                        Comparison(
                            {**key, "measure": "revote refused"},
                            measured.alerted,
                            context.trials,
                            analytical=rate * lands,
                            extra=extra,
                            text=f"{name}: revote refused, r = {rate:g}, w = {window:g} h",
                        )
                    )
                context.tracker.advance()
    calibration = Table(
        "Reference: coerced voters who revote as often as Estonian i-voters (S6)",
        ("w (hours)", "P(revote lands | revote)", "coercer, r = 3.3 % (2023)", "r = 2.3 % (2013)"),
        tuple(_calibration_row(options, window) for window in options.windows),
    )
    stories_table = Table(
        "The real ballot box's verdicts per story (every voter of the pool)",
        ("coercer", "revote's sequence", "without revote", "with revote"),
        tuple(
            (_label(v.attack, v.device), str(v.sequences[0]), "coerced counts", _story(v))
            for v in all_verdicts
        ),
    )
    return Outcome(
        comparisons,
        lambda figure, measured: _draw(figure, measured, options),
        tables=(stories_table, calibration),
        notes=(
            f"period D = {options.period:g} h, coercer arrives uniformly in it, mean revote delay "
            f"{options.delay:g} h; the model is 1 − r·P(revote lands)",
            "'credential, receipts device' is the old client (modelled): the exact figure is 1, "
            "since the box refuses the revote; the model's figure is in the analytical column",
        ),
        size=(12.0, 4.8),
    )


def _calibration_row(options: Coercion, window: float) -> tuple[str, ...]:
    lands = stats.revote_lands(options.period, window, options.delay)
    return (
        f"{window:g}",
        f"{lands:.3f}",
        f"{1 - ESTONIA_2023 * lands:.3f}",
        f"{1 - ESTONIA_2013 * lands:.3f}",
    )


def _story(verdicts: _Verdicts) -> str:
    """What the box did with a revote, the same for every pool voter (else it stops)."""
    refused = verdicts.refused[:, 1]
    counts = verdicts.coerced_counts[:, 1]
    if refused.all() and counts.all():
        return "revote refused, coerced counts"
    if not refused.any() and not counts.any():
        return "revote counts"
    raise SimulationError(f"{_label(verdicts.attack, verdicts.device)}: pool voters differ")


#: Marker and horizontal offset (a share of the axis) of each story, so that points at the same
#: coordinates stay apart.
_MARKERS: Final = {
    ("watch", None): ("o", -0.008),
    ("credential", "board"): ("s", 0.0),
    ("credential", "receipts"): ("^", 0.008),
}


def _draw(figure: Figure, measured: Sequence[Measured], options: Coercion) -> None:
    by_rate, by_window = figure.subplots(1, 2)
    successes = [p for p in measured if p.comparison.key["measure"] == "coercer succeeds"]
    rates = np.linspace(0.0, 1.0, 51)
    for number, window in enumerate(options.windows):
        colour = f"C{number}"
        lands = stats.revote_lands(options.period, window, options.delay)
        by_rate.plot(
            rates, 1.0 - rates * lands, color=colour, linewidth=1, label=f"model, w = {window:g} h"
        )
        for (attack, device), (marker, shift) in _MARKERS.items():
            points = [
                p
                for p in successes
                if p.comparison.key["window_h"] == window
                and p.comparison.key["attack"] == attack
                and p.comparison.key["device"] == device
            ]
            if points:
                by_rate.errorbar(
                    [float(p.comparison.key["revote_rate"] or 0) + shift for p in points],
                    [p.comparison.measured for p in points],
                    yerr=error_bars(points),
                    fmt=marker,
                    color=colour,
                    markersize=4,
                    capsize=2,
                    label=_label(attack, device) if number == 0 else None,
                    fillstyle="none" if marker != "o" else "full",
                )
    for value in (ESTONIA_2013, ESTONIA_2023):
        by_rate.axvline(value, color="grey", linestyle="--", linewidth=0.8)
    by_rate.text(
        ESTONIA_2023 + 0.01,
        0.24,
        "Estonia's repeat i-votes: 2.3 % (2013), 3.3 % (2023)",
        rotation=90,
        fontsize="x-small",
        color="grey",
        va="bottom",
    )
    by_rate.set_xlabel("r: probability that a coerced voter revotes")
    by_rate.set_ylabel("P(the coerced ballot counts)")
    by_rate.set_ylim(-0.02, 1.05)
    by_rate.set_title("Coercer's success vs revote rate (markers: measured)")
    by_rate.grid(True, alpha=0.3)
    by_rate.legend(fontsize="x-small", ncol=2, loc="lower left")

    windows = np.linspace(0.0, options.period, 97)
    curve = [stats.revote_lands(options.period, float(w), options.delay) for w in windows]
    for number, rate in enumerate(options.revote_rates):
        colour = f"C{number}"
        by_window.plot(
            windows,
            [1.0 - rate * lands for lands in curve],
            color=colour,
            linewidth=1,
            label=f"model, r = {rate:g}",
        )
        for (attack, device), (marker, shift) in _MARKERS.items():
            points = [
                p
                for p in successes
                if p.comparison.key["revote_rate"] == rate
                and p.comparison.key["attack"] == attack
                and p.comparison.key["device"] == device
            ]
            if points:
                by_window.errorbar(
                    [
                        float(p.comparison.key["window_h"] or 0) + shift * options.period
                        for p in points
                    ],
                    [p.comparison.measured for p in points],
                    yerr=error_bars(points),
                    fmt=marker,
                    color=colour,
                    markersize=4,
                    capsize=2,
                    fillstyle="none" if marker != "o" else "full",
                )
    by_window.set_xlabel(
        f"w: hours the coercer stays or holds the credential (of D = {options.period:g} h)"
    )
    by_window.set_ylabel("P(the coerced ballot counts)")
    by_window.set_ylim(-0.02, 1.05)
    by_window.set_title(f"Coercer's success vs its window (mean revote delay {options.delay:g} h)")
    by_window.grid(True, alpha=0.3)
    by_window.legend(fontsize="x-small", loc="lower right")


SCENARIO: Final = Scenario(
    name="coercion",
    title="Revoting under coercion (the last vote counts)",
    question="How often does a coercer who watches a vote, or holds a credential for a while, "
    "get the ballot that counts, when coerced voters revote with probability r?",
    params=Coercion,
    run=run,
)
