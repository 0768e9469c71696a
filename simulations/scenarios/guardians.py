"""guardians: how often is the election key lost when each guardian may lose its key share, for
t-of-n guardians; and can a minority of t − 1 colluding guardians decrypt anything?

Both parts run on one real election per configuration: the guardians' whole key ceremony
(evote's :class:`~evote.ceremony.trustee.Trustee`, n guardians, quorum t), a few real ballots
admitted by the ballot box, and the encrypted tally over them.

**Key loss (S7).** Each guardian computes its decryption shares of the tally once
(:meth:`Trustee.decrypt_tally`, with proofs, checked by
:func:`~evote.election.tally.check_guardian_shares`). Then every one of the 2^n − 1 non-empty
sets of guardians tries to decrypt with the real combination (:func:`~evote.election.tally.
tally_result`): it must give the true counts for t or more guardians and be refused below. That
is done once per set; **re-sampled per trial** is only which guardians lose their key (each
independently with probability q): the trial fails when the set left cannot decrypt. Measured
against the binomial tail P(fail) = Σ_{k<t} C(n, k)(1 − q)^k q^(n−k), and the reference values
of local-elections §3 (S7).

**Collusion.** Every coalition of t − 1 guardians (and, as the control, every coalition of t)
pools what its members hold: their key shares z_ℓ and their decryption shares z_ℓ·α of each
ballot's first ciphertext (made with the real partial decryption and its proof). The coalition
does the best the shares allow: Lagrange interpolation at 0 over its own members, as if they
were a quorum. It recovers the key if Σ w_ℓ·z_ℓ times the base point is the joint key, and
decrypts a ballot if β − Σ w_ℓ·M_ℓ is the plaintext times the base point. Analytically (Shamir
over a degree t − 1 polynomial): t shares determine the secret, so a coalition of t always
succeeds; t − 1 shares are consistent with every secret, so the interpolated value is a random
scalar, and it decrypts with probability at most (options)/L ≈ 2^−251, i.e. 0. Every coalition
and every ballot is tried (no sampling).
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from evote.ceremony.trustee import Trustee
from evote.crypto import dlog, threshold
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import L, Point, Scalar, base_mul
from evote.crypto.proofs.chaum_pedersen import DecryptionShare
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.scheme import SCHEME_A
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot
from evote.election.manifest import Manifest
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    check_guardian_shares,
    encrypted_tally,
    tally_result,
)
from evote.errors import InvalidInput, TallyOutOfRange
from simulations import stats
from simulations.election import PRESET_NAMES, SimElection, VoterTask, random_choices
from simulations.runner import (
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

_CONFIG: Final = re.compile(r"^\s*(\d+)\s*-of-\s*(\d+)\s*$")
#: Every subset of the guardians is decrypted once: 2^n of them.
MAX_GUARDIANS: Final = 10
#: Reference values of local-elections §3, S7 (P(the tally cannot be decrypted)), as published.
REFERENCE: Final[Mapping[tuple[str, float], float]] = {
    ("3-of-3", 0.02): 0.059,
    ("2-of-3", 0.02): 0.0012,
    ("3-of-5", 0.02): 0.00008,
    ("3-of-3", 0.05): 0.143,
    ("2-of-3", 0.05): 0.0073,
    ("3-of-5", 0.05): 0.0012,
}
#: Trials drawn at once (trials × guardians arrays).
_CHUNK: Final = 250_000


def parse_config(text: str) -> tuple[int, int]:
    """``"t-of-n"`` as ``(t, n)``; :class:`InvalidInput` unless 1 ≤ t ≤ n ≤ 10."""
    match = _CONFIG.match(text)
    if match is None:
        raise InvalidInput(f"--configs: {text!r} is not of the form t-of-n (e.g. 3-of-5)")
    quorum, guardians = int(match.group(1)), int(match.group(2))
    if not 1 <= quorum <= guardians <= MAX_GUARDIANS:
        raise InvalidInput(
            f"--configs: {text!r} needs 1 ≤ t ≤ n ≤ {MAX_GUARDIANS} (every set of guardians is "
            "decrypted once)"
        )
    return quorum, guardians


@dataclass(frozen=True, slots=True)
class Guardians:
    configs: tuple[str, ...] = param(
        ("3-of-3", "2-of-3", "3-of-5", "4-of-7"),
        "Guardian configurations, each t-of-n (t guardians of n needed to decrypt).",
    )
    losses: tuple[float, ...] = param(
        (0.01, 0.02, 0.05, 0.10),
        "Probabilities that a guardian loses its key share (q); each over --trials trials, "
        "which cost a lookup each (10^6 take about a second; rare losses need them).",
    )
    ballots: int = param(
        40, "Real ballots in each tally; the colluding coalitions try to decrypt every one."
    )
    preset: str = param("referendum", "The ballot's contests.", choices=PRESET_NAMES)

    def __post_init__(self) -> None:
        if not self.configs:
            raise InvalidInput("--configs: give at least one t-of-n configuration")
        names = [f"{t}-of-{n}" for t, n in map(parse_config, self.configs)]
        if len(set(names)) != len(names):
            raise InvalidInput(f"--configs: {', '.join(self.configs)} names one twice")
        if not self.losses or not all(0.0 <= loss <= 1.0 for loss in self.losses):
            raise InvalidInput("--losses: give loss probabilities between 0 and 1")
        if self.ballots < 1:
            raise InvalidInput("--ballots must be at least 1")


@dataclass(frozen=True, slots=True)
class _Attempts:
    """What the coalitions of one size achieved: keys recovered and ballots decrypted."""

    size: int
    coalitions: int
    keys: int
    decrypted: int
    tried: int


@dataclass(frozen=True, slots=True)
class _Config:
    """One configuration's real verdicts."""

    name: str
    quorum: int
    guardians: int
    #: decryptable[mask]: the guardians in ``mask`` (bit i − 1 for guardian i) decrypt the
    #: tally to the true counts.
    decryptable: np.ndarray
    attempts: tuple[_Attempts, ...]


def _truth(manifest: Manifest, plaintexts: Sequence[PlaintextBallot]) -> dict[str, list[int]]:
    """The true counts per part and option of ``plaintexts``."""
    counts: dict[str, list[int]] = {}
    for plaintext in plaintexts:
        for part, votes in zip(manifest.style(plaintext.style).parts, plaintext.votes, strict=True):
            sums = counts.setdefault(part, [0] * len(votes))
            for option, vote in enumerate(votes):
                sums[option] += vote
    return counts


def _members(mask: int, guardians: int) -> list[int]:
    return [guardian for guardian in range(1, guardians + 1) if mask >> (guardian - 1) & 1]


def _subset_verdicts(
    context: ElectionContext,
    tally_shares: Mapping[int, GuardianShares],
    tally: EncryptedTally,
    registered: int,
    truth: Mapping[str, list[int]],
) -> np.ndarray:
    """Every non-empty set of guardians tries the real combination of its shares once: True
    where it gives the true counts. Below the quorum the combination must refuse; at or above
    it, it must give the true counts (anything else stops the simulation)."""
    manifest = context.manifest
    guardians = len(manifest.guardians)
    verdicts = np.zeros(1 << guardians, dtype=bool)
    for mask in range(1, 1 << guardians):
        members = _members(mask, guardians)
        try:
            result = tally_result(
                context, tally, {g: tally_shares[g] for g in members}, registered=registered
            )
        except InvalidInput as refused:
            if len(members) >= manifest.guardian_quorum:
                raise SimulationError(
                    f"guardians {members} are a quorum and could not decrypt: {refused}"
                ) from refused
            continue
        if len(members) < manifest.guardian_quorum:
            raise SimulationError(f"guardians {members}, fewer than the quorum, decrypted")
        if {part: list(values) for part, values in result.counts.items()} != truth:
            raise SimulationError(f"guardians {members} decrypted the tally to wrong counts")
        verdicts[mask] = True
    return verdicts


def _collude(
    context: ElectionContext,
    trustees: Sequence[Trustee],
    ballots: Sequence[tuple[EncryptedBallot, int]],
    size: int,
) -> _Attempts:
    """Every coalition of ``size`` guardians pools its key shares and its members' decryption
    shares of each ballot's first ciphertext, and interpolates at 0 over its own members."""
    guardians = len(trustees)
    key_shares: dict[int, Scalar] = {}
    for trustee in trustees:
        if trustee.key_share is None:
            raise SimulationError(f"guardian {trustee.index} finished the ceremony without a key")
        key_shares[trustee.index] = trustee.key_share
    # Each guardian's proved partial decryption of each ballot's first ciphertext, once.
    partials: list[tuple[Ciphertext, int, dict[int, DecryptionShare]]] = []
    for number, (ballot, plaintext) in enumerate(ballots):
        ciphertext = ballot.contests[0].selections[0].ciphertext
        goal = DecryptionTarget(context.extended_hash, f"simulation/collusion/{number}".encode())
        shares = {}
        for guardian, key_share in key_shares.items():
            share = SCHEME_A.partial_decrypt(ciphertext, key_share, guardian, goal)
            SCHEME_A.verify_partial(ciphertext, share, context.verification_key(guardian), goal)
            shares[guardian] = share
        partials.append((ciphertext, plaintext, shares))
    coalitions = list(itertools.combinations(range(1, guardians + 1), size))
    keys = decrypted = 0
    for coalition in coalitions:
        secret = 0
        for guardian in coalition:
            weight = threshold.lagrange_coefficient(guardian, coalition).value
            secret = (secret + weight * key_shares[guardian].value) % L
        keys += base_mul(Scalar(secret)) == context.joint_key
        for ciphertext, plaintext, shares in partials:
            combined = threshold.combine_shares(
                {guardian: shares[guardian].share for guardian in coalition}, len(coalition)
            )
            decrypted += _opens(ciphertext, combined, plaintext)
    return _Attempts(size, len(coalitions), keys, decrypted, len(coalitions) * len(partials))


def _opens(ciphertext: Ciphertext, combined: Point, plaintext: int) -> bool:
    """Whether ``β − combined`` is ``plaintext·B``: the combination decrypted the selection (a
    value that is no selection's, 0 or 1, is not a decryption)."""
    try:
        return dlog.discrete_log(ciphertext.beta - combined, 1) == plaintext
    except TallyOutOfRange:
        return False


def _measure(name: str, options: Guardians, context: Context, scratch: Path) -> _Config:
    """One configuration's real election: ceremony, ballots, tally, shares, combinations."""
    quorum, guardians = parse_config(name)
    tracker = context.tracker
    with SimElection(
        scratch / name,
        credentials=options.ballots,
        preset=options.preset,
        workers=1,
        guardians=guardians,
        quorum=quorum,
    ) as election:
        manifest = election.manifest
        rng = context.rng("ballots", name)
        plaintexts = [random_choices(manifest, rng) for _ in election.credentials]
        tasks = [
            VoterTask(credential.seed(), plaintext)
            for credential, plaintext in zip(election.credentials, plaintexts, strict=True)
        ]
        listed = [credential.verify_key for credential in election.credentials]
        entries = election.encrypt(tasks, tracker)
        board = election.opened_board(listed)
        admitted = election.admit(election.ballot_box(listed), entries, tracker)
        appended = board.append([item.entry.encoded for item in admitted])
        cast = {index: item.ballot for index, item in enumerate(admitted, appended.first_index)}
        board.close()
        tally = encrypted_tally(election.context, cast)
        trustees = election.staged.trustees
        tracker.phase(f"{name}: guardians decrypt, every set combines", 2)
        tally_shares = {}
        for trustee in trustees:
            made = trustee.decrypt_tally(election.context, tally.totals)
            tally_shares[trustee.index] = check_guardian_shares(
                made.to_tlv(), (manifest.guardians[trustee.index - 1],), election.context, tally
            )
        decryptable = _subset_verdicts(
            election.context, tally_shares, tally, len(listed), _truth(manifest, plaintexts)
        )
        tracker.advance()
        first_votes = [plaintext.votes[0][0] for plaintext in plaintexts]
        ballots = [(item.ballot, vote) for item, vote in zip(admitted, first_votes, strict=True)]
        sizes = [size for size in (quorum - 1, quorum) if size >= 1]
        attempts = tuple(_collude(election.context, trustees, ballots, size) for size in sizes)
        tracker.advance()
    return _Config(name, quorum, guardians, decryptable, attempts)


def _failures(config: _Config, loss: float, context: Context) -> int:
    """Trials in which the guardians left after independent losses cannot decrypt."""
    rng = context.rng("loss", config.name, loss)
    weights = 1 << np.arange(config.guardians)
    failed = 0
    for start in range(0, context.trials, _CHUNK):
        count = min(_CHUNK, context.trials - start)
        kept = rng.random((count, config.guardians)) >= loss
        failed += int((~config.decryptable[kept.astype(np.int64) @ weights]).sum())
    return failed


def run(options: Guardians, context: Context) -> Outcome:
    names = [f"{t}-of-{n}" for t, n in map(parse_config, options.configs)]
    with tempfile.TemporaryDirectory(prefix="evote-sim-guardians-") as scratch:
        configs = [_measure(name, options, context, Path(scratch)) for name in names]
    comparisons: list[Comparison] = []
    context.tracker.phase("guardians lose keys", len(configs) * len(options.losses))
    for config in configs:
        sets = int(config.decryptable.sum())
        for loss in options.losses:
            comparisons.append(
                Comparison(
                    {"part": "key-loss", "config": config.name, "loss": loss, "coalition": None},
                    _failures(config, loss, context),
                    context.trials,
                    analytical=stats.key_loss(config.guardians, config.quorum, loss),
                    extra={
                        "guardians": config.guardians,
                        "quorum": config.quorum,
                        "reference": REFERENCE.get((config.name, loss)),
                        "sets_that_decrypt": sets,
                    },
                    text=f"{config.name}: key lost, q = {loss:g}",
                )
            )
            context.tracker.advance()
    for config in configs:
        for attempt in config.attempts:
            expected = 1.0 if attempt.size >= config.quorum else 0.0
            for what, successes, trials in (
                ("recover-key", attempt.keys, attempt.coalitions),
                ("decrypt-ballot", attempt.decrypted, attempt.tried),
            ):
                comparisons.append(
                    Comparison(
                        {
                            "part": what,
                            "config": config.name,
                            "loss": None,
                            "coalition": attempt.size,
                        },
                        successes,
                        trials,
                        analytical=expected,
                        extra={"guardians": config.guardians, "quorum": config.quorum},
                        text=f"{config.name}: {attempt.size} guardians {what.replace('-', ' ')}",
                    )
                )
    return Outcome(
        comparisons,
        lambda figure, measured: _draw(figure, measured, configs, options),
        tables=(_reference_table(comparisons),),
        notes=(
            "key loss: every set of guardians combined its real decryption shares once "
            f"({sum(1 << c.guardians for c in configs) - len(configs)} sets); the trials "
            "re-draw only who loses a key",
            "collusion: every coalition of t − 1 (and of t) guardians interpolated its pooled "
            "key shares and decryption shares at 0; 'recover-key' counts coalitions whose "
            "secret times B is the joint key, 'decrypt-ballot' ballots whose first ciphertext "
            "they decrypted",
        ),
        size=(12.0, 4.8),
    )


def _reference_table(comparisons: Sequence[Comparison]) -> Table:
    rows = []
    for comparison in comparisons:
        reference = comparison.extra.get("reference")
        if comparison.key["part"] != "key-loss" or not isinstance(reference, float):
            continue
        rows.append(
            (
                str(comparison.key["config"]),
                f"{comparison.key['loss']:g}",
                f"{reference:.4%}",
                f"{comparison.analytical or 0.0:.4%}",
                f"{comparison.measured:.4%} ({comparison.successes:,} of {comparison.trials:,})",
            )
        )
    return Table(
        "S7 reference values (local-elections §3): P(the tally cannot be decrypted)",
        ("config", "q", "reference", "binomial", "measured"),
        tuple(rows),
    )


def _percent(value: float, position: int) -> str:
    """A probability as a percentage without scientific notation (log axes reach 1e-7)."""
    return f"{100 * value:.8f}".rstrip("0").rstrip(".") + " %"


def _draw(
    figure: Figure, measured: Sequence[Measured], configs: Sequence[_Config], options: Guardians
) -> None:
    loss_axis, collusion_axis = figure.subplots(1, 2, width_ratios=(3, 2))
    grid = np.linspace(min(options.losses) * 0.8, max(options.losses) * 1.1, 100)
    for number, config in enumerate(configs):
        colour = f"C{number}"
        loss_axis.plot(
            grid,
            [stats.key_loss(config.guardians, config.quorum, float(q)) for q in grid],
            color=colour,
            linewidth=1,
            label=f"{config.name}: binomial",
        )
        points = [
            point
            for point in measured
            if point.comparison.key["part"] == "key-loss"
            and point.comparison.key["config"] == config.name
        ]
        seen = [point for point in points if point.comparison.successes > 0]
        unseen = [point for point in points if point.comparison.successes == 0]
        if seen:
            loss_axis.errorbar(
                [float(point.comparison.key["loss"] or 0) for point in seen],
                [point.comparison.measured for point in seen],
                yerr=error_bars(seen),
                fmt="o",
                color=colour,
                capsize=3,
                markersize=4,
                label=f"{config.name}: measured",
            )
        if unseen:
            loss_axis.plot(
                [float(point.comparison.key["loss"] or 0) for point in unseen],
                [point.high for point in unseen],
                "v",
                color=colour,
                markersize=5,
                label=f"{config.name}: none seen (upper bound)",
            )
    references = [(name, loss, value) for (name, loss), value in REFERENCE.items()]
    loss_axis.plot(
        [loss for _, loss, _ in references],
        [value for _, _, value in references],
        "kx",
        markersize=7,
        label="local-elections §3, S7",
    )
    loss_axis.set_xscale("log")
    loss_axis.set_yscale("log")
    loss_axis.xaxis.set_major_formatter(FuncFormatter(_percent))
    loss_axis.yaxis.set_major_formatter(FuncFormatter(_percent))
    loss_axis.set_xlabel("q: probability that a guardian loses its key share")
    loss_axis.set_ylabel("P(the tally cannot be decrypted)")
    loss_axis.set_title("Key loss: measured on the real combination vs binomial tail")
    loss_axis.grid(True, which="both", alpha=0.3)
    loss_axis.legend(fontsize="x-small", ncol=2)

    names = [config.name for config in configs]
    positions = np.arange(len(names))
    width = 0.2
    bars = (
        ("decrypt-ballot", "minority", -1.5, "C3", "t − 1 decrypt a ballot"),
        ("recover-key", "minority", -0.5, "C1", "t − 1 recover the key"),
        ("decrypt-ballot", "quorum", 0.5, "C2", "t decrypt a ballot"),
        ("recover-key", "quorum", 1.5, "C0", "t recover the key"),
    )
    for what, who, offset, colour, label in bars:
        points = []
        xs = []
        for index, config in enumerate(configs):
            size = config.quorum - 1 if who == "minority" else config.quorum
            found = [
                point
                for point in measured
                if point.comparison.key["part"] == what
                and point.comparison.key["config"] == config.name
                and point.comparison.key["coalition"] == size
            ]
            if found:
                points.append(found[0])
                xs.append(index + offset * width)
        if points:
            collusion_axis.bar(
                xs,
                [max(point.comparison.measured, 0.005) for point in points],
                width,
                yerr=error_bars(points),
                capsize=2,
                color=colour,
                label=label,
            )
            for x, point in zip(xs, points, strict=True):
                collusion_axis.text(
                    x,
                    0.02 if point.comparison.successes == 0 else 0.5,
                    f"{point.comparison.successes}/{point.comparison.trials}",
                    rotation=90,
                    ha="center",
                    va="bottom" if point.comparison.successes == 0 else "center",
                    fontsize="xx-small",
                )
    collusion_axis.set_xticks(positions, names)
    collusion_axis.set_ylim(0, 1.1)
    collusion_axis.set_ylabel("share of coalitions (keys) or attempts (ballots)")
    collusion_axis.set_title("Collusion: t − 1 guardians pool their shares")
    collusion_axis.legend(fontsize="x-small", loc="center right")
    collusion_axis.grid(True, axis="y", alpha=0.3)


SCENARIO: Final = Scenario(
    name="guardians",
    title="Guardian key loss (t of n) and a colluding minority of guardians",
    question="How often can the tally not be decrypted when each guardian may lose its key, "
    "for t-of-n guardians; and can t − 1 colluding guardians decrypt a ballot?",
    params=Guardians,
    run=run,
)
