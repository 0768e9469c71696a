"""scale: what does an election cost as it grows, per phase and per ballot, with 1 or more
worker processes?

For each number of voters N (every voter votes once) and each number of worker processes W, one
real election (the guardians' ceremony is staged beforehand and not timed), in four timed
phases:

==========  =====================================================================================
encrypt     the voters' devices encrypt, prove and sign their ballots (W processes)
cast        the ballot box: each ballot admitted by the real :class:`~evote.record.
            ballot_station.BallotStation` and appended, one by one, to a durable SQLite board
            (one signed checkpoint and one commit per ballot, as the service acknowledges a
            cast); the station checks the proofs itself with W = 1, and with W > 1 they are
            checked in W processes first (as ``evote serve --proof-workers W``)
tally       close under a witnessed checkpoint, the encrypted tally, the guardians' decryption
            shares with proofs, the combination and the result
verify      the record exported and checked by the independent verifier (W processes)
==========  =====================================================================================

Wall time (``time.perf_counter``) and CPU time (user + system, of this process and every process
it started, from ``/proc``: the worker processes are not children of this one, they come from
the fork server) per phase; per-ballot costs; a line fitted to log(time) against log(N) per phase
and W (a slope of 1 is linear growth). The worker pool is started and warmed before the timed
phases (the verifier starts its own, inside its timing). In the same run, at its start and at
its end, ``evote bench``'s own measurement (:func:`evote.bench.crypto.measure_ballots`, the
reference manifest) gives its per-ballot figures, compared with the devices', the ballot box's
and the verifier's CPU per ballot.

Nothing is re-sampled: each point is one real election, so the times are single measurements
on a shared machine (``--trials`` does not apply).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from evote.bench.crypto import measure_ballots
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.store import SqliteStore
from evote.election.context import ElectionContext
from evote.errors import InvalidInput
from evote.record.ballot_box import check_proofs, parse_submission
from evote.record.ballot_station import BallotStation, ProofCheck
from evote.verify.runner import verify_record
from evote.workers import process_pool
from simulations.election import (
    PRESET_NAMES,
    SimElection,
    VoterTask,
    check_entries,
    encrypt_tasks,
    prechecked,
    random_choices,
)
from simulations.runner import (
    Cell,
    Context,
    Measured,
    Outcome,
    Scenario,
    SimulationError,
    Table,
    param,
    plain_numbers,
)

PHASES: Final = ("encrypt", "cast", "tally", "verify")
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class Scale:
    voters: tuple[int, ...] = param(
        (100, 300, 1000), "Numbers of voters (N), each casting one ballot."
    )
    processes: tuple[int, ...] = param(
        (1, 2), "Worker processes that encrypt, check proofs and verify (W; 1: in this process)."
    )
    preset: str = param(
        "reference",
        "The ballot's contests (reference: evote bench's ballot, 17 options, 3 contests).",
        choices=PRESET_NAMES,
    )
    bench_ballots: int = param(
        20, "Ballots evote bench's own measurement encrypts and verifies, in the same run."
    )

    def __post_init__(self) -> None:
        if not self.voters or not all(count >= 2 for count in self.voters):
            raise InvalidInput("--voters: give electorate sizes of at least 2")
        if len(set(self.voters)) != len(self.voters):
            raise InvalidInput("--voters: each size once")
        if not self.processes or not all(count >= 1 for count in self.processes):
            raise InvalidInput("--processes: give numbers of worker processes, each at least 1")
        if self.bench_ballots < 1:
            raise InvalidInput("--bench-ballots must be at least 1")


# --- CPU time of a process tree --------------------------------------------------------------


def _stat_times(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system + reaped children's CPU seconds) of ``pid`` from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds() -> float:
    """CPU seconds used by this process and every live process descended from it, including
    what the processes they reaped used (Linux ``/proc``). Where there is no ``/proc``: this
    process and its reaped children only (``os.times``)."""
    if not Path("/proc/self/stat").exists():
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system
    parents: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        found = _stat_times(int(name))
        if found is not None:
            parents.setdefault(found[0], []).append(int(name))
            used[int(name)] = found[1]
    total = 0.0
    pending = [os.getpid()]
    while pending:
        pid = pending.pop()
        total += used.get(pid, 0.0)
        pending.extend(parents.get(pid, ()))
    return total


@dataclass(frozen=True, slots=True)
class Cost:
    wall: float
    cpu: float


class _Clock:
    """Wall and tree CPU time of a block."""

    def __enter__(self) -> _Clock:
        self._wall = time.perf_counter()
        self._cpu = tree_cpu_seconds()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cost = Cost(time.perf_counter() - self._wall, tree_cpu_seconds() - self._cpu)


# --- worker processes ------------------------------------------------------------------------


class _Processes:
    """W worker processes (none for W = 1), started and warmed before anything is timed."""

    def __init__(self, workers: int, context: ElectionContext, sample: VoterTask) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            self._pool = process_pool(workers)
            # Every worker imports evote, unpickles a context and fills the group's caches by
            # encrypting and checking a throwaway ballot, outside the timing.
            warm = [[sample]] * (2 * workers)
            made = [
                entries[0] for entries in self._pool.map(encrypt_tasks, [context] * len(warm), warm)
            ]
            list(self._pool.map(check_entries, [context] * len(made), [[entry] for entry in made]))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def map(
        self,
        work: Callable[[ElectionContext, Sequence[ItemT]], list[ResultT]],
        context: ElectionContext,
        items: Sequence[ItemT],
    ) -> list[ResultT]:
        """``work`` over ``items`` in chunks (four per worker, at most 64 items each)."""
        if self._pool is None:
            return work(context, items)
        size = max(1, min(64, math.ceil(len(items) / (4 * self.workers))))
        chunks = [list(items[start : start + size]) for start in range(0, len(items), size)]
        results: list[ResultT] = []
        for done in self._pool.map(work, [context] * len(chunks), chunks):
            results.extend(done)
        return results


# --- one election ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Point:
    voters: int
    workers: int
    costs: dict[str, Cost]
    verifier_passed: bool


def _election(voters: int, workers: int, options: Scale, context: Context, scratch: Path) -> _Point:
    tracker = context.tracker
    tracker.phase(f"N = {voters}, W = {workers}: encrypt, cast, tally, verify", 4)
    folder = scratch / f"n{voters}-w{workers}"
    with SimElection(folder / "staged", credentials=voters, preset=options.preset) as election:
        rng = context.rng("choices", voters)
        manifest = election.manifest
        tasks = [
            VoterTask(key.seed(), random_choices(manifest, rng)) for key in election.credentials
        ]
        listed = [key.verify_key for key in election.credentials]
        board = election.opened_board(listed, store=SqliteStore(folder / "board.sqlite3"))
        processes = _Processes(workers, election.context, tasks[0])
        costs: dict[str, Cost] = {}
        try:
            with _Clock() as clock:
                entries = processes.map(encrypt_tasks, election.context, tasks)
            costs["encrypt"] = clock.cost
            tracker.advance()
            with _Clock() as clock:
                indices = _cast(board, processes, election.context, entries)
            costs["cast"] = clock.cost
            tracker.advance()
        finally:
            processes.close()
        with _Clock() as clock:
            _tally(election, board, indices)
        costs["tally"] = clock.cost
        tracker.advance()
        with _Clock() as clock:
            export_record(board, folder / "record")
            report = verify_record(
                folder / "record",
                election_id=manifest.election_id,
                workers=workers,
                parallel_threshold=1,
            )
        costs["verify"] = clock.cost
        board.close()
        tracker.advance()
    return _Point(voters, workers, costs, report.passed)


def _cast(
    board: BulletinBoard,
    processes: _Processes,
    context: ElectionContext,
    entries: Sequence[bytes],
) -> list[int]:
    """The ballot box: each ballot admitted and appended by the station, one commit each.
    With one process the station checks the proofs itself, as ``evote serve`` without proof
    workers; with more, every proof is checked in the worker processes first (a worker
    decodes the entry again, as evote's proof workers do). Returns the board indices."""
    proofs: ProofCheck = check_proofs
    if processes.workers > 1:
        verdicts = processes.map(check_entries, context, entries)
        refused = [verdict for verdict in verdicts if verdict is not None]
        if refused:
            raise SimulationError(f"the ballot box refused an honest ballot: {refused[0]}")
        proofs = prechecked(entries)
    station = BallotStation(board, proofs=proofs)
    indices = []
    for data in entries:
        admitted = station.submit(data, "ballot")
        if not admitted.fresh:
            raise SimulationError("a fresh ballot was found on the board already")
        indices.append(admitted.index)
    return indices


def _tally(election: SimElection, board: BulletinBoard, indices: Sequence[int]) -> None:
    """The officials read the ballots back from the board, tally, and the guardians decrypt."""
    context = election.context
    cast = {index: parse_submission(board.entry(index), context).ballot for index in indices}
    election.finish(board, cast, registered=len(election.credentials))


# --- the run, the fits and the comparison with evote bench -----------------------------------


@dataclass(frozen=True, slots=True)
class _Fit:
    phase: str
    workers: int
    slope: float
    intercept: float

    def at(self, voters: float) -> float:
        return float(math.exp(self.intercept) * voters**self.slope)


def _fits(points: Sequence[_Point]) -> list[_Fit]:
    """log(wall) = intercept + slope·log(N), least squares, per phase and W (two sizes or more)."""
    fits = []
    for workers in sorted({point.workers for point in points}):
        mine = [point for point in points if point.workers == workers]
        if len(mine) < 2:
            continue
        xs = np.log([point.voters for point in mine])
        for phase in PHASES:
            ys = np.log([max(point.costs[phase].wall, 1e-6) for point in mine])
            slope, intercept = np.polyfit(xs, ys, 1)
            fits.append(_Fit(phase, workers, float(slope), float(intercept)))
    return fits


@dataclass(frozen=True, slots=True)
class _Bench:
    """``evote bench``'s per-ballot CPU figures (ms), measured at the start and at the end of
    the run: a shared machine's load drifts, and the mean of the two is what the run's figures
    are compared with."""

    encrypt_ms: tuple[float, float]
    verify_ms: tuple[float, float]
    decode_ms: tuple[float, float]

    @property
    def encrypt(self) -> float:
        return sum(self.encrypt_ms) / 2

    @property
    def checked(self) -> float:
        """Decode and verify a ballot: what the ballot box and the verifier do per ballot."""
        return (sum(self.verify_ms) + sum(self.decode_ms)) / 2

    def checked_at(self, moment: int) -> float:
        return self.verify_ms[moment] + self.decode_ms[moment]


def _measure_bench(ballots: int) -> tuple[float, float, float]:
    _, figures = measure_ballots(ballots, rounds=3)
    return (
        figures.encrypt_ms_per_ballot,
        figures.verify_ms_per_ballot,
        figures.decode_ms_per_ballot,
    )


def run(options: Scale, context: Context) -> Outcome:
    context.tracker.phase("evote bench: per-ballot encrypt and verify (start)", 1)
    start = _measure_bench(options.bench_ballots)
    context.tracker.advance()
    points = []
    with tempfile.TemporaryDirectory(prefix="evote-sim-scale-") as scratch:
        for workers in options.processes:
            for voters in sorted(options.voters):
                points.append(_election(voters, workers, options, context, Path(scratch)))
    context.tracker.phase("evote bench: per-ballot encrypt and verify (end)", 1)
    end = _measure_bench(options.bench_ballots)
    context.tracker.advance()
    bench = _Bench(*zip(start, end, strict=True))
    failed = [point for point in points if not point.verifier_passed]
    if failed:
        raise SimulationError(
            f"the verifier failed an honest record (N = {failed[0].voters}, W = "
            f"{failed[0].workers})"
        )
    fits = _fits(points)
    rows: list[dict[str, Cell]] = []
    for point in points:
        for phase in PHASES:
            cost = point.costs[phase]
            rows.append(
                {
                    "voters": point.voters,
                    "workers": point.workers,
                    "phase": phase,
                    "wall_s": round(cost.wall, 4),
                    "cpu_s": round(cost.cpu, 4),
                    "wall_ms_per_ballot": round(1e3 * cost.wall / point.voters, 4),
                    "cpu_ms_per_ballot": round(1e3 * cost.cpu / point.voters, 4),
                }
            )
    for fit in fits:
        rows.append(
            {
                "workers": fit.workers,
                "phase": fit.phase,
                "fit_slope": round(fit.slope, 4),
                "fit_intercept": round(fit.intercept, 4),
            }
        )
    for moment, name in enumerate(("start", "end")):
        rows.append(
            {
                "phase": f"evote bench (reference ballot), {name} of the run",
                "bench_encrypt_ms": round(bench.encrypt_ms[moment], 4),
                "bench_verify_ms": round(bench.verify_ms[moment], 4),
                "bench_decode_ms": round(bench.decode_ms[moment], 4),
            }
        )
    return Outcome(
        (),
        lambda figure, measured: _draw(figure, measured, points, fits, bench, options),
        rows=rows,
        tables=(_cost_table(points), _fit_table(fits), _bench_table(points, bench, options)),
        notes=_notes(points, options),
        size=(12.0, 4.8),
    )


def _cost_table(points: Sequence[_Point]) -> Table:
    return Table(
        "Wall seconds (CPU seconds) per phase",
        ("W", "N", *PHASES, "total"),
        tuple(
            (
                str(point.workers),
                f"{point.voters:,}",
                *(f"{point.costs[p].wall:.2f} ({point.costs[p].cpu:.2f})" for p in PHASES),
                f"{sum(c.wall for c in point.costs.values()):.1f}",
            )
            for point in points
        ),
    )


def _fit_table(fits: Sequence[_Fit]) -> Table:
    return Table(
        "Fitted wall time = a·N^b per phase (b = 1: linear)",
        ("phase", "W", "b", "a·1000^b (s)", "a·10⁴^b (s, extrapolated)"),
        tuple(
            (
                fit.phase,
                str(fit.workers),
                f"{fit.slope:.2f}",
                f"{fit.at(1e3):.1f}",
                f"{fit.at(1e4):.0f}",
            )
            for fit in fits
        ),
    )


def _bench_table(points: Sequence[_Point], bench: _Bench, options: Scale) -> Table:
    """CPU per ballot at the largest N with one process, against evote bench's figures."""
    single = [point for point in points if point.workers == 1] or list(points)
    largest = max(single, key=lambda point: point.voters)
    per = {phase: 1e3 * largest.costs[phase].cpu / largest.voters for phase in PHASES}
    shape = "" if options.preset == "reference" else f" (this run: {options.preset} ballots)"
    encrypt = f"{bench.encrypt_ms[0]:.2f} / {bench.encrypt_ms[1]:.2f} (encrypt)"
    checked = f"{bench.checked_at(0):.2f} / {bench.checked_at(1):.2f} (decode + verify)"
    return Table(
        f"CPU ms per ballot at N = {largest.voters:,}, W = {largest.workers}, vs evote bench "
        f"(reference ballot){shape}",
        ("phase", "this run", "evote bench, start / end of the run", "ratio to their mean"),
        (
            ("encrypt", f"{per['encrypt']:.2f}", encrypt, f"{per['encrypt'] / bench.encrypt:.2f}"),
            ("cast", f"{per['cast']:.2f}", checked, f"{per['cast'] / bench.checked:.2f}"),
            ("verify", f"{per['verify']:.2f}", checked, f"{per['verify'] / bench.checked:.2f}"),
        ),
    )


def _notes(points: Sequence[_Point], options: Scale) -> tuple[str, ...]:
    notes = [
        "CPU counts this process and every process it started (the fork server's workers "
        "included); a phase's CPU above its wall time is parallel work",
        "the worker pool is started and warmed before the timed phases; the verifier starts "
        "its own pool inside its timing",
    ]
    by_key = {(point.voters, point.workers): point for point in points}
    for voters in sorted(options.voters):
        one, two = by_key.get((voters, 1)), by_key.get((voters, max(options.processes)))
        if one is not None and two is not None and two.workers > 1:
            total_one = sum(cost.wall for cost in one.costs.values())
            total_two = sum(cost.wall for cost in two.costs.values())
            notes.append(
                f"N = {voters:,}: {total_one:.1f} s with 1 process, {total_two:.1f} s with "
                f"{two.workers} (speed-up {total_one / total_two:.2f}×)"
            )
    return tuple(notes)


_STYLES: Final = {1: "-", 2: "--", 3: "-.", 4: ":"}


def _draw(
    figure: Figure,
    measured: Sequence[Measured],
    points: Sequence[_Point],
    fits: Sequence[_Fit],
    bench: _Bench,
    options: Scale,
) -> None:
    times, per_ballot = figure.subplots(1, 2)
    sizes = sorted(options.voters)
    grid = np.geomspace(sizes[0], sizes[-1], 50)
    for number, phase in enumerate(PHASES):
        colour = f"C{number}"
        for workers in sorted(options.processes):
            mine = sorted(
                (point for point in points if point.workers == workers), key=lambda p: p.voters
            )
            style = _STYLES.get(workers, "-")
            times.plot(
                [p.voters for p in mine],
                [p.costs[phase].wall for p in mine],
                "o" if workers == 1 else "s",
                color=colour,
                markersize=4,
                fillstyle="full" if workers == 1 else "none",
            )
            fit = next((f for f in fits if f.phase == phase and f.workers == workers), None)
            if fit is not None:
                times.plot(
                    grid,
                    [fit.at(float(n)) for n in grid],
                    style,
                    color=colour,
                    linewidth=1,
                    label=f"{phase}, W = {workers}: N^{fit.slope:.2f}",
                )
            per_ballot.plot(
                [p.voters for p in mine],
                [1e3 * p.costs[phase].cpu / p.voters for p in mine],
                style,
                marker="o" if workers == 1 else "s",
                color=colour,
                markersize=4,
                label=f"{phase}, W = {workers}",
            )
    checked = (bench.checked_at(0), bench.checked_at(1))
    bands = (
        (min(bench.encrypt_ms), max(bench.encrypt_ms), "evote bench: encrypt"),
        (min(checked), max(checked), "evote bench: decode + verify"),
    )
    for low, high, text in bands:
        per_ballot.axhspan(low, high, color="grey", alpha=0.15)
        per_ballot.axhline((low + high) / 2, color="grey", linestyle=":", linewidth=1)
        per_ballot.text(sizes[0], high * 1.02, text, fontsize="x-small", color="grey")
    for axis in (times, per_ballot):
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(FuncFormatter(plain_numbers))
        axis.grid(True, which="both", alpha=0.3)
        axis.set_xlabel("voters (N), one ballot each")
    times.set_yscale("log")
    times.yaxis.set_major_formatter(FuncFormatter(plain_numbers))
    times.set_ylabel("wall seconds")
    times.set_title(f"Wall time per phase ({options.preset} ballot), fitted a·N^b")
    if times.get_legend_handles_labels()[0]:  # no fitted line with a single size
        times.legend(fontsize="xx-small", ncol=2)
    per_ballot.set_ylim(bottom=0)
    per_ballot.set_ylabel("CPU ms per ballot (all processes)")
    per_ballot.set_title("CPU per ballot; evote bench at the start and end of the run")
    per_ballot.legend(fontsize="xx-small", ncol=2)


SCENARIO: Final = Scenario(
    name="scale",
    title="The cost of an election vs voters and worker processes",
    question="How do the wall time and CPU of encrypting, casting, tallying and verifying grow "
    "with the number of voters, and with 1 or 2 worker processes; what does a ballot cost?",
    params=Scale,
    run=run,
)
