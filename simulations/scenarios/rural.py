"""rural: a small rural hromada votes remotely over intermittent connectivity and in person on
election day; does every ballot arrive once, and do the counts equal what the voters chose?

Sized with local-elections §3 and §4: ~4,300 residents (S9, small rural hromadas) of whom ~3,400
are registered, turnout 37 % (S10, 2020: 36.88 %), 70 % of voters able to vote remotely (S13:
60–75 % in rural hromadas); the others, and the remote-capable who prefer to, vote in person.

**Remote voting** (Monday 08:00 to Friday 20:00, H3) goes through the real ballot box
(:class:`~evote.record.ballot_station.BallotStation` over a real board, proofs checked by the
box's own checks in worker processes). Each cast attempt fails with probability ``outage``;
a failed attempt either never reached the box, or lost its answer after the box appended the
ballot (``lost-answer``). The voter's device retries the same bytes (evote's voter client keeps
the ballot as pending and sends it again byte for byte), and the box's idempotent cast answers a
retry of an appended ballot with the first receipt: the same leaf and the same checkpoint (the
scenario stops if it ever differs, or if a ballot lands twice). After ``attempts`` failures the
voter gives up and votes in person on Sunday.

**In person** (Sunday 08:00–20:00): on paper, or at the poll-worker client's booth, which casts an
encrypted ballot into the same ballot box (H2). evote has no poll-worker client yet, so this
scenario models one (and says so): it works offline, keeps signed records (the booth's ballots,
signed with one-time credentials the station hands out from a batch on the published list, and
"voted in person" marks for voters on the e-voter list), and syncs them every ``sync-minutes``,
each sync failing with probability ``station-outage``, until ``deadline-hours`` after the polls
close (H9: late sync of signed offline records). The booth's ballots go through the same real
ballot box when they sync. **In person overrides remote** (H3): a voter whose remote ballot is
on the board and who votes in person has the remote ballot cancelled before the tally; evote has
no cancellation entry yet, so the cancellations are applied to the set of ballots tallied here,
and counted in the published per-channel counts. The tally, the guardians' decryption and the
result are evote's; the paper ballots are counted by hand and added.

Measured against the analytical figures: first attempts that fail (o), voters who give up
(o^A), retries that find their ballot already on the board (the lost answers), remote ballots
cancelled by in-person votes ((1 − o^A)·v + o^A·(1 − (1 − ℓ)^A)), and poll-worker clients' syncs
by the deadline: each sync attempt fails with probability s, and a record made with k attempts
left is still pending at the deadline with probability s^k (the expected number pending is
reported; the records of one station share its syncs, so they are not independent trials). One
election day per run; the proportions are over its voters and sync attempts (``--trials`` does
not apply).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib.figure import Figure

from evote.crypto.signing import SigningKey
from evote.election.encrypt import PlaintextBallot
from evote.election.manifest import Manifest
from evote.errors import InvalidInput
from evote.record.ballot_box import parse_submission
from evote.record.ballot_station import BallotStation
from simulations.election import (
    PRESET_NAMES,
    SimElection,
    VoterTask,
    failed_checks,
    prechecked,
    random_choices,
)
from simulations.runner import (
    Cell,
    Comparison,
    Context,
    Outcome,
    Scenario,
    SimulationError,
    Table,
    param,
)

#: Hours from Monday 00:00 of election week.
REMOTE_DAYS: Final = 5  # Monday to Friday
DAY_OPENS: Final = 8.0
DAY_CLOSES: Final = 20.0
SUNDAY: Final = 6 * 24.0
POLLS_OPEN: Final = SUNDAY + DAY_OPENS
POLLS_CLOSE: Final = SUNDAY + DAY_CLOSES
#: Minutes between a remote voter's attempts (the device retries soon).
RETRY_MINUTES: Final = 10.0
CHANNELS: Final = ("remote", "booth", "paper")


@dataclass(frozen=True, slots=True)
class Rural:
    residents: int = param(4300, "Residents of the hromada (S9: small rural ones 4,300–4,500).")
    registered: float = param(0.79, "Registered voters per resident (about 3,400 of 4,300).")
    turnout: float = param(0.37, "Share of registered voters who vote (S10: 36.88 % in 2020).")
    digital: float = param(
        0.70, "Share of voters able to vote remotely (S13: 60–75 % in rural hromadas)."
    )
    uptake: float = param(0.6, "Share of the voters able to vote remotely who do.")
    override: float = param(
        0.03, "Share of remote voters who also vote in person on Sunday (v; H3)."
    )
    booth: float = param(
        0.4, "Share of in-person voters who use the poll-worker client's booth, not paper (H2)."
    )
    outage: float = param(0.2, "Probability that a remote cast attempt fails (o).")
    lost_answer: float = param(
        0.5,
        "Share of failed attempts whose answer was lost after the box appended the ballot (ℓ); "
        "the rest never reached it.",
    )
    attempts: int = param(
        4, "Cast attempts before a remote voter gives up and votes in person (A)."
    )
    stations: int = param(5, "Polling stations, each with a poll-worker client.")
    station_outage: float = param(
        0.5, "Probability that a poll-worker client's sync attempt fails (s)."
    )
    sync_minutes: float = param(60.0, "Minutes between a poll-worker client's sync attempts.")
    deadline_hours: float = param(
        12.0, "Hours after the polls close during which late syncs are accepted (H9)."
    )
    preset: str = param("referendum", "The ballot's contests.", choices=PRESET_NAMES)

    def __post_init__(self) -> None:
        if self.residents < 10:
            raise InvalidInput("--residents: at least 10")
        for name in (
            "registered",
            "turnout",
            "digital",
            "uptake",
            "override",
            "booth",
            "outage",
            "lost_answer",
            "station_outage",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"--{name.replace('_', '-')} is a share in [0, 1], not {value}")
        if self.outage >= 1.0 or self.station_outage >= 1.0:
            raise InvalidInput(
                "--outage and --station-outage must stay below 1: nothing would sync"
            )
        if self.attempts < 1:
            raise InvalidInput("--attempts must be at least 1")
        if self.attempts * RETRY_MINUTES / 60 > DAY_CLOSES - DAY_OPENS - 1:
            raise InvalidInput(f"--attempts: {self.attempts} retries do not fit in a voting day")
        if self.stations < 1:
            raise InvalidInput("--stations must be at least 1")
        if self.sync_minutes <= 0 or self.deadline_hours < 0:
            raise InvalidInput("--sync-minutes must be positive and --deadline-hours ≥ 0")

    @property
    def electorate(self) -> int:
        return round(self.residents * self.registered)

    @property
    def deadline(self) -> float:
        return POLLS_CLOSE + self.deadline_hours

    def sync_times(self) -> np.ndarray:
        """Every poll-worker client's sync attempts: from the polls opening to the deadline."""
        step = self.sync_minutes / 60.0
        count = int(np.floor((self.deadline - POLLS_OPEN) / step + 1e-9))
        return POLLS_OPEN + step * np.arange(1, count + 1)


# --- the analytical figures ------------------------------------------------------------------


def gives_up(outage: float, attempts: int) -> float:
    """P(every one of A attempts fails) = o^A."""
    return outage**attempts


def retry_found_on_board(outage: float, lost: float, attempts: int) -> float:
    """P(the attempt that succeeds finds the ballot already appended | it is not the first):
    Σ_{k=2..A} o^(k−1)·(1 − (1 − ℓ)^(k−1)) / Σ_{k=2..A} o^(k−1)."""
    weights = [outage ** (k - 1) for k in range(2, attempts + 1)]
    if not weights or sum(weights) == 0.0:
        return 0.0
    found = [w * (1 - (1 - lost) ** (k - 1)) for k, w in enumerate(weights, 2)]
    return sum(found) / sum(weights)


def cancelled_share(outage: float, lost: float, attempts: int, override: float) -> float:
    """P(a remote voter's ballot is on the board and the voter votes in person): the voter
    succeeds and overrides, or gives up (and votes in person) after some lost answer put the
    ballot on the board: (1 − o^A)·v + o^A·(1 − (1 − ℓ)^A)."""
    failed = gives_up(outage, attempts)
    return (1 - failed) * override + failed * (1 - (1 - lost) ** attempts)


# --- the electorate and what each voter does -------------------------------------------------


@dataclass(slots=True)
class _Voter:
    """One voter who votes: what they do (drawn first), and what happens to them."""

    number: int
    remote: bool
    #: The first attempt's hour, and per attempt: "ok", "lost-request" or "lost-answer".
    first_attempt: float = 0.0
    outcomes: tuple[str, ...] = ()
    #: "booth" or "paper" for a voter who votes in person (overriders and fallbacks included).
    in_person: str | None = None
    arrival: float = 0.0
    station: int = 0
    remote_choice: PlaintextBallot | None = None
    person_choice: PlaintextBallot | None = None
    #: The one-time credential the station hands a booth voter (an index into the list).
    booth_credential: int | None = None
    #: What happened: the remote ballot's board index and checkpoint, a receipt, a retry that
    #: found the ballot on the board, the booth ballot's board index.
    remote_index: int | None = None
    remote_checkpoint: str | None = None
    receipt: bool = False
    found_on_board: bool = False
    booth_index: int | None = None

    @property
    def gave_up(self) -> bool:
        return self.remote and "ok" not in self.outcomes

    def remote_plaintext(self) -> PlaintextBallot:
        if self.remote_choice is None:
            raise SimulationError(f"voter {self.number} votes remotely and was given no choices")
        return self.remote_choice

    def booth_task(self, keys: Sequence[SigningKey]) -> VoterTask:
        """The booth's encryption of this voter's in-person choices, signed with the one-time
        credential the station handed out."""
        if self.booth_credential is None or self.person_choice is None:
            raise SimulationError(f"voter {self.number} was handed no booth credential")
        return VoterTask(keys[self.booth_credential].seed(), self.person_choice)

    @property
    def final_choice(self) -> PlaintextBallot:
        """What this voter's vote should count as: in person overrides remote."""
        choice = self.person_choice if self.in_person is not None else self.remote_choice
        if choice is None:
            raise SimulationError(f"voter {self.number} was given no choices")
        return choice


def _electorate(options: Rural, context: Context) -> list[_Voter]:
    """Who votes, how and when (the simulation's own draws; choices come later)."""
    rng = context.rng("electorate")
    voting = int((rng.random(options.electorate) < options.turnout).sum())
    latest = DAY_CLOSES - 1.0 - options.attempts * RETRY_MINUTES / 60
    voters = []
    for number in range(voting):
        remote = bool(rng.random() < options.digital) and bool(rng.random() < options.uptake)
        voter = _Voter(number, remote)
        person = not remote
        if remote:
            day = int(rng.integers(REMOTE_DAYS))
            voter.first_attempt = (
                24.0 * day + DAY_OPENS + float(rng.random()) * (latest - DAY_OPENS)
            )
            outcomes = []
            for _ in range(options.attempts):
                if rng.random() >= options.outage:
                    outcomes.append("ok")
                    break
                outcomes.append(
                    "lost-answer" if rng.random() < options.lost_answer else "lost-request"
                )
            voter.outcomes = tuple(outcomes)
            person = voter.gave_up or bool(rng.random() < options.override)
        if person:
            voter.in_person = "booth" if rng.random() < options.booth else "paper"
            voter.arrival = POLLS_OPEN + float(rng.random()) * (POLLS_CLOSE - POLLS_OPEN)
            voter.station = int(rng.integers(options.stations))
        voters.append(voter)
    return voters


def _choose(voters: Sequence[_Voter], manifest: Manifest, context: Context) -> None:
    """Each voter's choices: remote, and (for who votes in person) in person."""
    rng = context.rng("choices")
    for voter in voters:
        if voter.remote:
            voter.remote_choice = random_choices(manifest, rng)
        if voter.in_person is not None:
            voter.person_choice = random_choices(manifest, rng)


def _count(manifest: Manifest, choices: Sequence[PlaintextBallot]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for contest in manifest.contests:
        for part in contest.parts():
            _, district = manifest.part(part)
            counts[part] = [0] * len(contest.options(district))
    for choice in choices:
        for part, votes in zip(manifest.style(choice.style).parts, choice.votes, strict=True):
            for option, vote in enumerate(votes):
                counts[part][option] += vote
    return counts


# --- the week, through the real ballot box ---------------------------------------------------


def _remote_week(
    remote: Sequence[_Voter],
    entries: dict[int, bytes],
    station: BallotStation,
    accepted: dict[str, list[float]],
    context: Context,
) -> None:
    """Every remote attempt in time order: a lost request reaches nothing; a lost answer and a
    success reach the real ballot box, whose idempotent cast must give a retry the first
    answer's leaf and checkpoint."""
    attempts = sorted(
        (voter.first_attempt + k * RETRY_MINUTES / 60, voter.number, k, voter)
        for voter in remote
        for k in range(len(voter.outcomes))
    )
    for hour, _, k, voter in attempts:
        outcome = voter.outcomes[k]
        if outcome == "lost-request":
            continue
        admitted = station.submit(entries[voter.number], "ballot")
        if voter.remote_index is None:
            if not admitted.fresh:
                raise SimulationError(f"voter {voter.number}'s first ballot was already there")
            voter.remote_index, voter.remote_checkpoint = admitted.index, admitted.checkpoint
            accepted["remote"].append(hour)
        elif admitted.fresh or (admitted.index, admitted.checkpoint) != (
            voter.remote_index,
            voter.remote_checkpoint,
        ):
            raise SimulationError(
                f"a retry of voter {voter.number}'s ballot got another answer than the first: "
                f"leaf {admitted.index} (fresh: {admitted.fresh}) after leaf {voter.remote_index}"
            )
        elif outcome == "ok":
            voter.found_on_board = True
        if outcome == "ok":
            voter.receipt = True
        if k == len(voter.outcomes) - 1:
            context.tracker.advance()


@dataclass(frozen=True, slots=True)
class _Records:
    """What the poll-worker clients synced, when, and what was still pending at the deadline."""

    cancelled: frozenset[int]  # voters whose remote ballot an in-person vote cancelled
    cancelled_at: tuple[float, ...]
    records: int
    pending: int
    #: Σ over records of s^(sync attempts left after it was made): the expected number pending
    #: (the records of one station share its syncs, so they are not independent trials).
    expected_pending: float
    #: Every station's sync attempts, and how many failed (independent trials).
    syncs: int
    failed_syncs: int


def _sunday(
    voters: Sequence[_Voter],
    entries: dict[int, bytes],
    station: BallotStation,
    options: Rural,
    context: Context,
    accepted: dict[str, list[float]],
) -> _Records:
    """In-person votes: paper is counted by hand; each poll-worker client keeps signed records
    (booth ballots, and "voted in person" marks for voters on the e-voter list, made from the
    board at the remote close) and syncs them at its first successful attempt after each."""
    times = options.sync_times()
    syncs: list[tuple[float, int, str, _Voter]] = []
    expected = 0.0
    pending = records = 0
    successful = {
        number: times[context.rng("sync", number).random(times.size) >= options.station_outage]
        for number in range(options.stations)
    }
    failed_syncs = sum(times.size - ok.size for ok in successful.values())
    for voter in sorted((v for v in voters if v.in_person is not None), key=lambda v: v.arrival):
        made: list[str] = []
        if voter.remote_index is not None:  # on the e-voter list: in person overrides it
            made.append("cancel")
        if voter.in_person == "booth":
            made.append("ballot")
        else:
            accepted["paper"].append(voter.arrival)
        ok = successful[voter.station]
        later = ok[ok > voter.arrival]
        left = int((times > voter.arrival).sum())
        for kind in made:
            records += 1
            expected += options.station_outage**left
            if later.size == 0:
                pending += 1
            else:
                syncs.append((float(later[0]), voter.number, kind, voter))
    cancelled: set[int] = set()
    cancelled_at = []
    for hour, _, kind, voter in sorted(syncs, key=lambda item: item[:3]):
        if kind == "cancel":
            cancelled.add(voter.number)
            cancelled_at.append(hour)
            continue
        admitted = station.submit(entries[voter.number], "ballot")
        if not admitted.fresh:
            raise SimulationError(f"the booth ballot of voter {voter.number} was synced twice")
        voter.booth_index = admitted.index
        accepted["booth"].append(hour)
    return _Records(
        frozenset(cancelled),
        tuple(cancelled_at),
        records,
        pending,
        expected,
        times.size * options.stations,
        failed_syncs,
    )


@dataclass(frozen=True, slots=True)
class _Day:
    voters: list[_Voter]
    accepted: dict[str, list[float]]
    records: _Records
    ballots_on_board: int
    result_counts: dict[str, tuple[int, ...]]
    paper_counts: dict[str, list[int]]
    truth: dict[str, list[int]]
    verifier_failed: tuple[str, ...]


def _election_day(options: Rural, context: Context, scratch: Path) -> _Day:
    tracker = context.tracker
    voters = _electorate(options, context)
    booth = [voter for voter in voters if voter.in_person == "booth"]
    for batch, voter in enumerate(booth):
        voter.booth_credential = options.electorate + batch
    tracker.phase("stage the hromada's election (ceremony, credentials)", 1)
    with SimElection(
        scratch / "staged",
        credentials=options.electorate + len(booth),
        preset=options.preset,
        workers=context.workers,
    ) as election:
        tracker.advance()
        manifest = election.manifest
        _choose(voters, manifest, context)
        keys = election.credentials
        remote = [voter for voter in voters if voter.remote]
        tasks = [VoterTask(keys[v.number].seed(), v.remote_plaintext()) for v in remote]
        tasks += [voter.booth_task(keys) for voter in booth]
        entries = election.encrypt(tasks, tracker)
        if any(verdict is not None for verdict in election.check(entries, tracker)):
            raise SimulationError("the ballot box refused an honest ballot")
        listed = [key.verify_key for key in keys]
        board = election.opened_board(listed)
        station = BallotStation(board, proofs=prechecked(entries))
        accepted: dict[str, list[float]] = {channel: [] for channel in CHANNELS}
        tracker.phase("remote week: casts, outages, retries", len(remote))
        remote_entries = dict(zip((v.number for v in remote), entries, strict=False))
        _remote_week(remote, remote_entries, station, accepted, context)
        tracker.phase("Sunday: in person; poll-worker clients sync until the deadline", 1)
        booth_entries = dict(zip((v.number for v in booth), entries[len(remote) :], strict=True))
        records = _sunday(voters, booth_entries, station, options, context, accepted)
        tracker.advance()
        tracker.phase("tally (cancellations applied), decrypt, verify", 2)
        on_board = [v.remote_index for v in voters] + [v.booth_index for v in voters]
        indices = sorted(index for index in on_board if index is not None)
        cast = {i: parse_submission(board.entry(i), election.context).ballot for i in indices}
        on_the_board = board.size - len(election.setup_entries) - 2  # after the list and open
        if on_the_board != len(cast):
            raise SimulationError(
                f"the board holds {on_the_board} ballots for {len(cast)} cast: one landed twice"
            )
        cancelled = {
            v.remote_index
            for v in voters
            if v.number in records.cancelled and v.remote_index is not None
        }
        tallied = {index: ballot for index, ballot in cast.items() if index not in cancelled}
        result = election.finish(board, tallied, registered=len(listed))
        tracker.advance()
        report = election.verify(board, scratch / "record")
        board.close()
        tracker.advance()
        paper = [voter.final_choice for voter in voters if voter.in_person == "paper"]
        truth = _count(manifest, [voter.final_choice for voter in voters])
        paper_counts = _count(manifest, paper)
    return _Day(
        voters,
        accepted,
        records,
        len(cast),
        result.counts,
        paper_counts,
        truth,
        failed_checks(report),
    )


# --- what was measured -----------------------------------------------------------------------


def run(options: Rural, context: Context) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="evote-sim-rural-") as scratch:
        day = _election_day(options, context, Path(scratch))
    voters = day.voters
    remote = [voter for voter in voters if voter.remote]
    retried = [voter for voter in remote if voter.receipt and len(voter.outcomes) > 1]
    records = day.records
    comparisons = [
        Comparison(
            {"measure": "first remote attempt fails"},
            sum(voter.outcomes[0] != "ok" for voter in remote),
            max(1, len(remote)),
            analytical=options.outage,
            text="remote voters whose first cast attempt failed (o)",
        ),
        Comparison(
            {"measure": "remote voter gives up"},
            sum(voter.gave_up for voter in remote),
            max(1, len(remote)),
            analytical=gives_up(options.outage, options.attempts),
            text=f"remote voters who gave up after {options.attempts} attempts (o^A)",
        ),
        Comparison(
            {"measure": "retry finds the ballot on the board"},
            sum(voter.found_on_board for voter in retried),
            max(1, len(retried)),
            analytical=retry_found_on_board(options.outage, options.lost_answer, options.attempts),
            text="retried casts answered with the receipt of a ballot already appended",
        ),
        Comparison(
            {"measure": "remote ballot cancelled in person"},
            len(records.cancelled),
            max(1, len(remote)),
            analytical=cancelled_share(
                options.outage, options.lost_answer, options.attempts, options.override
            ),
            text="remote voters whose ballot an in-person vote cancelled (H3)",
        ),
        Comparison(
            {"measure": "poll-worker sync attempt fails"},
            records.failed_syncs,
            max(1, records.syncs),
            analytical=options.station_outage,
            text="poll-worker clients' sync attempts that failed (s)",
        ),
    ]
    electronic = {part: list(counts) for part, counts in day.result_counts.items()}
    combined = {
        part: [e + p for e, p in zip(electronic[part], day.paper_counts[part], strict=True)]
        for part in electronic
    }
    equal = combined == day.truth
    if not equal and records.pending == 0:
        raise SimulationError(
            f"the counts {combined} differ from what the voters chose {day.truth}, and no "
            "record was left pending"
        )
    counts = _channel_counts(day)
    tables = (
        Table(
            f"Ballots per channel ({options.electorate:,} registered, {len(voters):,} voted)",
            ("channel", "ballots accepted", "cancelled (in person overrides)", "counted"),
            tuple((name, *(f"{count:,}" for count in numbers)) for name, *numbers in counts),
        ),
        Table(
            "Counts: electronic tally (guardians' decryption) + paper, vs what the voters chose",
            ("part", "electronic", "paper", "total", "voters chose", "equal"),
            tuple(
                (
                    part,
                    str(electronic[part]),
                    str(day.paper_counts[part]),
                    str(combined[part]),
                    str(day.truth[part]),
                    "yes" if combined[part] == day.truth[part] else "NO",
                )
                for part in electronic
            ),
        ),
        Table(
            "Retries and late syncs",
            ("what", "count"),
            (
                ("remote voters", f"{len(remote):,}"),
                ("ballots on the board, each once", f"{day.ballots_on_board:,}"),
                ("cast attempts", f"{sum(len(voter.outcomes) for voter in remote):,}"),
                (
                    "remote voters who needed a retry",
                    f"{sum(len(v.outcomes) > 1 for v in remote):,}",
                ),
                ("gave up and voted in person", f"{sum(voter.gave_up for voter in remote):,}"),
                ("poll-worker records (booth ballots, cancellations)", f"{records.records:,}"),
                (
                    "records still pending at the deadline",
                    f"{records.pending:,} (expected {records.expected_pending:.3g})",
                ),
                ("verifier: failed checks", ", ".join(day.verifier_failed) or "none"),
            ),
        ),
    )
    rows: list[dict[str, Cell]] = [
        {"channel": channel, "accepted": accepted, "cancelled": cancelled, "counted": counted}
        for channel, accepted, cancelled, counted in counts
    ]
    notes = [
        f"counts equal what the voters chose: {'yes' if equal else 'no'}",
        "the poll-worker client and the cancellation of remote ballots by in-person votes are "
        "modelled in this scenario: evote has neither yet",
    ]
    if day.verifier_failed:
        notes.append(
            "the verifier recomputes the counted set from every ballot on the board and knows "
            "no cancellation entry, so it reports "
            f"{', '.join(day.verifier_failed)}: H3 needs a signed cancellation entry in evote"
        )
    return Outcome(
        comparisons,
        lambda figure, measured: _draw(figure, day, options),
        rows=rows,
        tables=tables,
        notes=notes,
        size=(12.0, 4.8),
    )


def _channel_counts(day: _Day) -> tuple[tuple[str, int, int, int], ...]:
    """Per channel: ballots accepted, remote ballots cancelled by in-person votes, counted."""
    voters = day.voters
    remote = sum(voter.remote_index is not None for voter in voters)
    cancelled = len(day.records.cancelled)
    booth = sum(voter.booth_index is not None for voter in voters)
    paper = sum(voter.in_person == "paper" for voter in voters)
    return (
        ("remote", remote, cancelled, remote - cancelled),
        ("poll-worker booth", booth, 0, booth),
        ("paper", paper, 0, paper),
        ("total", remote + booth + paper, cancelled, remote - cancelled + booth + paper),
    )


_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Mon")


def _draw(figure: Figure, day: _Day, options: Rural) -> None:
    week, sunday = figure.subplots(1, 2, width_ratios=(3, 2))
    end = options.deadline + 1.0
    for axis, start in ((week, 0.0), (sunday, SUNDAY + 6.0)):
        for number, channel in enumerate(CHANNELS):
            hours = sorted(day.accepted[channel])
            label = {
                "remote": "remote (ballot box)",
                "booth": "poll-worker booth (synced)",
                "paper": "paper (in the urn)",
            }[channel]
            axis.step(
                [start, *hours, end],
                [0, *range(1, len(hours) + 1), len(hours)],
                where="post",
                color=f"C{number}",
                label=label,
            )
        cancelled = list(day.records.cancelled_at)
        axis.step(
            [start, *cancelled, end],
            [0, *range(1, len(cancelled) + 1), len(cancelled)],
            where="post",
            color="C3",
            linestyle="--",
            label="remote ballots cancelled (H3)",
        )
        axis.axvspan(DAY_OPENS, 4 * 24.0 + DAY_CLOSES, color="C0", alpha=0.05)
        axis.axvspan(POLLS_OPEN, POLLS_CLOSE, color="C1", alpha=0.07)
        axis.axvline(options.deadline, color="grey", linestyle=":", linewidth=1)
        axis.set_xlim(start, end)
        axis.grid(True, alpha=0.3)
        axis.set_ylabel("ballots accepted (cumulative)")
    week.set_xticks([24.0 * d for d in range(8)], _DAYS)
    week.set_title("Accepted ballots over election week, by channel")
    week.legend(fontsize="x-small", loc="upper left")
    ticks = np.arange(SUNDAY + 6.0, end, 2.0)
    sunday.set_xticks(ticks, [f"{int(t - SUNDAY) % 24:02d}:00" for t in ticks], rotation=45)
    sunday.set_title(
        f"Sunday: poll-worker clients sync every {options.sync_minutes:g} min,\n"
        f"each sync fails w.p. {options.station_outage:g}; the dotted line is the deadline",
        fontsize="medium",
    )


SCENARIO: Final = Scenario(
    name="rural",
    title="A rural hromada: remote and in-person voting over intermittent connectivity",
    question="When a small rural hromada votes remotely over failing connections and in person "
    "on election day, does every ballot arrive exactly once, and do the counts equal what the "
    "voters chose?",
    params=Rural,
    run=run,
)
