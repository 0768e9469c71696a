"""stuffing: which public check catches a ballot box that stuffs ballots, or a registry that
adds credentials?

One real election per variant: the credential authority's registry (evote's
:class:`~evote.record.registry.Registry`: the roll of one-time enrollment codes, one credential
per code) enrolls the voters who enroll, closes and publishes the credential list; the voters
who vote cast through the real ballot box; the officials close, tally, the guardians decrypt,
the result is posted, and the independent verifier reads the exported record. The attacker of
each variant then does one thing:

==================  ============================================================================
``honest``          nothing (the baseline: no check may fire)
``box-unlisted``    the ballot box appends s ballots signed by credentials that are not on the
                    list, and the officials' tally counts them
``box-forged``      the ballot box appends s ballots in the names of listed voters who did not
                    vote, signed with its own key (it never holds their credentials), counted
``registry-beyond-roll``  the registry puts s codes of its own on the roll and enrolls ghost
                    credentials with them; the ghosts vote through the honest ballot box
``registry-unlisted-codes``  the authority adds s ghost credentials to the list it publishes
                    without any code; the ghosts vote
``registry-abstainers``  the registry enrolls s ghosts with the codes of eligible voters who never
                    enrolled (it printed the codes); the ghosts vote
==================  ============================================================================

Three public channels are checked: the verifier (its failed checks, by name); the public counts
(the registry's roll against the official number of eligible voters, the credential list
against the registry's count of enrolled credentials, the list against the eligible voters);
and the roll audit: each eligible voter who never enrolled asks the registry, with probability
``audit-rate``, whether their code is still unused (evote's registry answers a used code with
:class:`~evote.record.registry.CodeAlreadyUsed`). The verifier and the counts are deterministic
for a given record; the roll audit is re-sampled per trial over the real registry's answers,
and compared with 1 − (1 − p)^g for g stolen codes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib.figure import Figure

from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.errors import InvalidInput
from evote.record.ballot_box import parse_submission
from evote.record.kinds import CredentialList
from evote.record.registry import CodeAlreadyUsed, Counts, Registry
from simulations import stats
from simulations.election import (
    PRESET_NAMES,
    SimElection,
    VoterTask,
    failed_checks,
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

VARIANTS: Final = (
    "honest",
    "box-unlisted",
    "box-forged",
    "registry-beyond-roll",
    "registry-unlisted-codes",
    "registry-abstainers",
)
_ATTACKER: Final = {
    "honest": "nobody",
    "box-unlisted": "ballot box: ballots of unlisted credentials, counted",
    "box-forged": "ballot box: ballots in abstainers' names, its own signature, counted",
    "registry-beyond-roll": "registry: ghost codes on the roll, ghost credentials vote",
    "registry-unlisted-codes": "authority: ghost credentials listed without codes, they vote",
    "registry-abstainers": "registry: abstainers' codes enrol ghosts, they vote",
}
_COUNTS: Final = ("roll = eligible", "list = enrolled", "list ≤ eligible")


@dataclass(frozen=True, slots=True)
class Stuffing:
    eligible: int = param(200, "Eligible voters on the official roll (E).")
    enrolment: float = param(0.8, "Share of the eligible voters who enrol a credential.")
    turnout: float = param(0.75, "Share of the enrolled voters who vote.")
    stuffed: int = param(20, "Ballots stuffed, or ghost credentials added (s).")
    audit_rates: tuple[float, ...] = param(
        (0.05, 0.20),
        "Probabilities that an eligible voter who never enrolled checks their code is unused (p).",
    )
    variants: tuple[str, ...] = param(VARIANTS, "Attacks to run.", choices=VARIANTS)
    preset: str = param("referendum", "The ballot's contests.", choices=PRESET_NAMES)

    @property
    def enrolled(self) -> int:
        return round(self.eligible * self.enrolment)

    @property
    def voting(self) -> int:
        return round(self.enrolled * self.turnout)

    def __post_init__(self) -> None:
        if self.eligible < 2:
            raise InvalidInput("--eligible: at least 2 eligible voters")
        if not 0.0 < self.enrolment <= 1.0 or not 0.0 < self.turnout <= 1.0:
            raise InvalidInput("--enrolment and --turnout are shares in (0, 1]")
        if self.stuffed < 1:
            raise InvalidInput("--stuffed must be at least 1")
        if "box-forged" in self.variants and self.stuffed > self.enrolled - self.voting:
            raise InvalidInput(
                f"--stuffed: box-forged needs {self.stuffed} enrolled voters who did not vote; "
                f"there are {self.enrolled - self.voting} (lower --turnout or --stuffed)"
            )
        if "registry-abstainers" in self.variants and self.stuffed > self.eligible - self.enrolled:
            raise InvalidInput(
                f"--stuffed: registry-abstainers needs {self.stuffed} eligible voters who never "
                f"enrolled; there are {self.eligible - self.enrolled} (lower --enrolment)"
            )
        if not all(0.0 <= rate <= 1.0 for rate in self.audit_rates):
            raise InvalidInput("--audit-rates are probabilities between 0 and 1")
        if not self.variants:
            raise InvalidInput(f"--variants: name at least one of {', '.join(VARIANTS)}")


@dataclass(frozen=True, slots=True)
class _Result:
    variant: str
    verifier_failed: tuple[str, ...]
    counts_failed: tuple[str, ...]
    stolen: np.ndarray  # per voter who never enrolled: the registry says the code was used
    listed: int
    counts: Counts
    counted: int


def count_checks(listed: int, counts: Counts, eligible: int) -> tuple[str, ...]:
    """The public counts that disagree: the registry's roll vs the official number of eligible
    voters, the credential list vs the registry's enrolled count, the list vs the eligible."""
    failed = []
    if counts.eligible != eligible:
        failed.append(_COUNTS[0])
    if listed != counts.enrolled:
        failed.append(_COUNTS[1])
    if listed > eligible:
        failed.append(_COUNTS[2])
    return tuple(failed)


class _Variants:
    """The shared part (keys, the honest voters' and the ghosts' ballots) and one run per
    variant."""

    def __init__(self, options: Stuffing, context: Context, scratch: Path) -> None:
        self.options = options
        self.context = context
        self.scratch = scratch
        self.election = SimElection(
            scratch / "staged",
            credentials=options.eligible + options.stuffed,
            preset=options.preset,
            workers=context.workers,
        )
        keys = self.election.credentials
        self.voters = keys[: options.eligible]
        self.ghosts = keys[options.eligible :]
        rng = context.rng("codes")
        self.codes = [f"code-{number}-{rng.bytes(8).hex()}" for number in range(options.eligible)]
        choices = context.rng("choices")
        manifest = self.election.manifest
        voting = self.voters[: options.voting]
        tracker = context.tracker
        honest = [VoterTask(key.seed(), random_choices(manifest, choices)) for key in voting]
        ghostly = [VoterTask(key.seed(), random_choices(manifest, choices)) for key in self.ghosts]
        box_key = SigningKey.generate()
        abstainers = self.voters[options.voting : options.voting + options.stuffed]
        forged = [
            VoterTask(key.seed(), random_choices(manifest, choices), signer_seed=box_key.seed())
            for key in (abstainers if "box-forged" in options.variants else ())
        ]
        made = self.election.encrypt([*honest, *ghostly, *forged], tracker)
        self.honest_entries = made[: len(honest)]
        self.ghost_entries = made[len(honest) : len(honest) + len(ghostly)]
        self.forged_entries = made[len(honest) + len(ghostly) :]

    def close(self) -> None:
        self.election.close()

    def registry(self, variant: str) -> tuple[Registry, list[VerifyKey]]:
        """The registry after enrollment (the variant's ghosts included), and the ghost
        credentials the authority lists without any code."""
        options = self.options
        registry = Registry(
            self.scratch / f"registry-{variant}.sqlite3", self.election.manifest.election_id
        )
        roll = list(self.codes)
        ghost_codes: list[str] = []
        if variant == "registry-beyond-roll":
            ghost_codes = [f"ghost-{number}" for number in range(options.stuffed)]
            roll += ghost_codes
        elif variant == "registry-abstainers":
            ghost_codes = self.codes[options.enrolled : options.enrolled + options.stuffed]
        registry.import_roll(roll)
        for code, key in zip(self.codes[: options.enrolled], self.voters, strict=False):
            registry.enroll(code, key.verify_key.encode())
        for code, key in zip(ghost_codes, self.ghosts[: len(ghost_codes)], strict=True):
            registry.enroll(code, key.verify_key.encode())
        extra = (
            [key.verify_key for key in self.ghosts] if variant == "registry-unlisted-codes" else []
        )
        return registry, extra

    def roll_audit(self, registry: Registry, variant: str) -> np.ndarray:
        """Every eligible voter who never enrolled tries their code on a copy of the registry
        before it closes: True where the registry answers that it was used."""
        options = self.options
        copy = self.scratch / f"audit-{variant}.sqlite3"
        registry.close_db()
        shutil.copyfile(registry.path, copy)
        audit = Registry(copy, self.election.manifest.election_id)
        used = []
        try:
            for code in self.codes[options.enrolled :]:
                try:
                    audit.enroll(code, SigningKey.generate().verify_key.encode())
                    used.append(False)
                except CodeAlreadyUsed:
                    used.append(True)
        finally:
            audit.close_db()
        return np.array(used, dtype=bool)

    def run(self, variant: str) -> _Result:
        options = self.options
        election = self.election
        tracker = self.context.tracker
        tracker.phase(f"{variant}: enrol, vote, tally, verify", 4)
        registry, extra = self.registry(variant)
        stolen = self.roll_audit(registry, variant)
        registry = Registry(registry.path, election.manifest.election_id)
        try:
            body = registry.close()
            counts = registry.counts()
        finally:
            registry.close_db()
        listed = [*CredentialList.from_tlv(body).credentials, *extra]
        tracker.advance()
        board = election.opened_board(listed)
        box = election.ballot_box(listed)
        entries = list(self.honest_entries)
        if variant.startswith("registry-"):
            entries += self.ghost_entries
        cast: dict[int, EncryptedBallot] = {}
        admitted = election.admit(box, entries, tracker)
        appended = board.append([item.entry.encoded for item in admitted])
        for index, item in enumerate(admitted, appended.first_index):
            cast[index] = item.ballot
        stuffed = {"box-unlisted": self.ghost_entries, "box-forged": self.forged_entries}
        if variant in stuffed:
            appended = board.append(stuffed[variant])
            for index, data in enumerate(stuffed[variant], appended.first_index):
                cast[index] = parse_submission(data, election.context).ballot
        tracker.advance()
        election.finish(board, cast, registered=len(listed))
        tracker.advance()
        report = election.verify(board, self.scratch / f"record-{variant}")
        board.close()
        tracker.advance()
        return _Result(
            variant,
            failed_checks(report),
            count_checks(len(set(listed)), counts, options.eligible),
            stolen,
            len(set(listed)),
            counts,
            len(cast),
        )


def _audits(context: Context, stolen: np.ndarray, rate: float, variant: str) -> int:
    """Trials in which some voter who never enrolled checks their code and finds it used."""
    rng = context.rng("roll-audit", variant, rate)
    checks = rng.random((context.trials, stolen.size)) < rate
    return int((checks & stolen).any(axis=1).sum())


def run(options: Stuffing, context: Context) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="evote-sim-stuffing-") as scratch:
        variants = _Variants(options, context, Path(scratch))
        try:
            results = [variants.run(variant) for variant in options.variants]
        finally:
            variants.close()
    honest = [result for result in results if result.variant == "honest"]
    if honest and (honest[0].verifier_failed or honest[0].counts_failed or honest[0].stolen.any()):
        raise SimulationError(
            f"the honest election raised an alarm: verifier {honest[0].verifier_failed}, "
            f"counts {honest[0].counts_failed}"
        )
    comparisons = []
    rows: list[dict[str, Cell]] = []
    for result in results:
        stolen = int(result.stolen.sum())
        for rate in options.audit_rates:
            comparisons.append(
                Comparison(
                    {"variant": result.variant, "channel": "roll audit", "audit_rate": rate},
                    _audits(context, result.stolen, rate, result.variant),
                    context.trials,
                    analytical=stats.detect_independent(rate, stolen),
                    extra={"stolen_codes": stolen},
                    text=f"{result.variant}: roll audit, p = {rate:g} ({stolen} codes used)",
                )
            )
        rows.append(
            {
                "variant": result.variant,
                "channel": "verifier",
                "detected": bool(result.verifier_failed),
                "failed": " ".join(result.verifier_failed),
            }
        )
        rows.append(
            {
                "variant": result.variant,
                "channel": "public counts",
                "detected": bool(result.counts_failed),
                "failed": " ".join(result.counts_failed),
                "listed": result.listed,
                "registry_eligible": result.counts.eligible,
                "registry_enrolled": result.counts.enrolled,
                "eligible": options.eligible,
                "counted": result.counted,
            }
        )
    table = Table(
        f"Who catches it ({options.eligible} eligible, {options.enrolled} enrolled, "
        f"{options.voting} vote, s = {options.stuffed})",
        ("variant", "attacker", "verifier fails", "public counts that disagree", "roll audit"),
        tuple(
            (
                result.variant,
                _ATTACKER[result.variant],
                ", ".join(result.verifier_failed) or "nothing (all pass)",
                ", ".join(result.counts_failed) or "none",
                f"{int(result.stolen.sum())} codes found used"
                if result.stolen.any()
                else "nothing found",
            )
            for result in results
        ),
    )
    notes = [
        "counts: 'roll = eligible' compares the registry's roll with the official number of "
        "eligible voters; 'list = enrolled' the published credential list with the registry's "
        "enrolled count; 'list ≤ eligible' the list with the eligible voters",
    ]
    return Outcome(
        comparisons,
        lambda figure, measured: _draw(figure, measured, results, options),
        rows=rows,
        tables=(table,),
        notes=notes,
    )


def _draw(
    figure: Figure, measured: Sequence[Measured], results: Sequence[_Result], options: Stuffing
) -> None:
    axis = figure.subplots()
    names = [result.variant for result in results]
    channels = 2 + len(options.audit_rates)
    width = 0.8 / channels
    positions = np.arange(len(names))
    for offset, label, colour, failures in (
        (0.5, "verifier", "C0", [result.verifier_failed for result in results]),
        (1.5, "public counts", "C1", [result.counts_failed for result in results]),
    ):
        xs = positions - 0.4 + offset * width
        axis.bar(xs, [float(bool(failed)) for failed in failures], width, label=label, color=colour)
        for x, failed in zip(xs, failures, strict=True):
            if failed:
                axis.text(
                    x,
                    0.5,
                    ", ".join(failed),
                    rotation=90,
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color="white",
                )
    for index, rate in enumerate(options.audit_rates):
        points = [
            next(
                point
                for point in measured
                if point.comparison.key["variant"] == name
                and point.comparison.key["audit_rate"] == rate
            )
            for name in names
        ]
        axis.bar(
            positions - 0.4 + (2.5 + index) * width,
            [point.comparison.measured for point in points],
            width,
            yerr=error_bars(points),
            capsize=2,
            label=f"roll audit, p = {rate:g}",
            color=f"C{2 + index}",
        )
    axis.set_xticks(positions, [name.replace("-", "-\n", 1) for name in names])
    axis.set_ylabel("P(detected)")
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize="small", loc="upper left")
    axis.grid(True, axis="y", alpha=0.3)
    axis.set_title(
        f"Ballot stuffing and ghost credentials: who catches them (s = {options.stuffed}, "
        f"{options.eligible} eligible voters)"
    )


SCENARIO: Final = Scenario(
    name="stuffing",
    title="Ballot stuffing by the ballot box, ghost credentials by the registry",
    question="Which public check catches a ballot box that stuffs ballots, or a registry that "
    "adds credentials: the verifier, the public counts, or voters auditing the roll?",
    params=Stuffing,
    run=run,
)
