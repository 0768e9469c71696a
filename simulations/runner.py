"""The scenario runner: find the scenarios, run one with its options, write its CSV and its
plot, and say how the measurements compare with the analytical figures.

A scenario is a module in :mod:`simulations.scenarios` that defines ``SCENARIO``, a
:class:`Scenario`: a name, a one-line question, a frozen dataclass of its own options (each a
field made with :func:`param`, which is all ``evote simulate NAME --help`` needs) and a ``run``
function. ``run`` gets the options and a :class:`Context` (the common settings, a progress
tracker, and seeded generators for the simulation's own draws) and returns an :class:`Outcome`:
the measured proportions, each a :class:`Comparison` with the analytical figure it should match,
a function that draws the plot, and optional extra CSV rows, tables and notes. The runner does
the rest the same way for every scenario (:func:`run`): it turns the comparisons into Wilson
intervals (Bonferroni-corrected over the scenario's comparisons, so that they hold together at
the stated confidence), writes ``<out>/<name>.csv`` and ``<out>/<name>.png`` (matplotlib's Agg
canvas, no display needed), and :func:`print_summary` prints the measured-vs-analytical table.

The simulation's own draws (who checks a receipt, which ballots an attacker alters) come from
:meth:`Context.rng`, numpy generators seeded from ``--seed`` and a label, so a run's measured
figures are reproducible. Keys, ballot ids and nonces come from evote's own randomness
(``evote.crypto.rng``), which is never seeded: runs repeat statistically, not byte for byte.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import importlib
import pkgutil
import time
import typing
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Generic, Literal, Protocol, TypeVar

import numpy as np
from matplotlib.figure import Figure
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table as RichTable

from evote.errors import EvoteError, InvalidInput
from simulations import defaults, stats

SCENARIO_PACKAGE: Final = "simulations.scenarios"

P = TypeVar("P")
T = TypeVar("T")
Cell = str | int | float | bool | None
ParamKind = Literal["int", "float", "str", "bool", "ints", "floats", "strs"]


class SimulationError(EvoteError):
    """A simulation cannot run as asked, or its honest baseline did not behave honestly."""


# --- settings and the context a scenario runs in ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """The options every scenario takes."""

    seed: int = defaults.SEED
    trials: int = defaults.TRIALS
    out: Path = defaults.OUT
    workers: int = field(default_factory=defaults.workers)
    confidence: float = defaults.CONFIDENCE

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise InvalidInput(f"--seed is a non-negative integer, not {self.seed}")
        if self.trials < 1:
            raise InvalidInput(f"--trials must be at least 1, not {self.trials}")
        if self.workers < 1:
            raise InvalidInput(f"--workers must be at least 1, not {self.workers}")
        if not 0.0 < self.confidence < 1.0:
            raise InvalidInput(f"--confidence lies strictly between 0 and 1, not {self.confidence}")


class Tracker(Protocol):
    """Where a scenario reports progress: a phase with a number of steps, then steps done."""

    def phase(self, label: str, total: int) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class QuietTracker:
    """Reports nothing (tests, library use)."""

    def phase(self, label: str, total: int) -> None:
        """Report nothing."""

    def advance(self, steps: int = 1) -> None:
        """Report nothing."""


class RichTracker:
    """A rich progress bar on standard error, one line per phase."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID | None = None
        self._total = 0

    def __enter__(self) -> RichTracker:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._finish_task()
        self._progress.stop()

    def _finish_task(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._total)
            self._task = None

    def phase(self, label: str, total: int) -> None:
        self._finish_task()
        self._total = max(1, total)
        self._task = self._progress.add_task(label, total=self._total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)


@dataclass(frozen=True, slots=True)
class Context:
    """What a scenario's ``run`` gets besides its own options."""

    settings: Settings
    tracker: Tracker

    @property
    def trials(self) -> int:
        return self.settings.trials

    @property
    def workers(self) -> int:
        return self.settings.workers

    def rng(self, *labels: object) -> np.random.Generator:
        """A generator for the simulation's own draws, seeded from ``--seed`` and ``labels``:
        the same labels give the same stream, different labels independent ones, so adding a
        draw in one place does not shift every draw after it."""
        words = [zlib.crc32(repr(label).encode()) for label in labels]
        return np.random.default_rng(np.random.SeedSequence([self.settings.seed, *words]))


# --- what a scenario returns -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """A measured proportion (``successes`` of ``trials``) and the analytical figure for it.

    ``key`` names the point (its coordinates, as CSV columns); ``analytical`` is the published
    or textbook figure (e.g. 1 − (1 − p)^k); ``exact`` the exact figure for what was simulated
    where it differs (e.g. the hypergeometric form). The measurement agrees when its interval
    covers ``exact`` if given, else ``analytical``; with neither, it is reported only.
    """

    key: Mapping[str, Cell]
    successes: int
    trials: int
    analytical: float | None = None
    exact: float | None = None
    extra: Mapping[str, Cell] = field(default_factory=dict)
    text: str = ""

    def __post_init__(self) -> None:
        if self.trials < 1 or not 0 <= self.successes <= self.trials:
            raise SimulationError(
                f"{self.label}: {self.successes} of {self.trials} trials is not a proportion"
            )

    @property
    def label(self) -> str:
        """``text`` if given, else the key's non-empty coordinates."""
        if self.text:
            return self.text
        return ", ".join(f"{name}={value}" for name, value in self.key.items() if value is not None)

    @property
    def measured(self) -> float:
        return self.successes / self.trials

    @property
    def reference(self) -> float | None:
        return self.exact if self.exact is not None else self.analytical


@dataclass(frozen=True, slots=True)
class Measured:
    """A comparison with its confidence interval (at ``level`` for this one interval)."""

    comparison: Comparison
    low: float
    high: float
    level: float

    @property
    def agrees(self) -> bool | None:
        reference = self.comparison.reference
        if reference is None:
            return None
        return self.low <= reference <= self.high


def plain_numbers(value: float, position: int) -> str:
    """A tick label without scientific notation or trailing zeros (for log axes)."""
    return f"{value:g}"


def error_bars(points: Sequence[Measured]) -> list[list[float]]:
    """The intervals as matplotlib's ``yerr`` (distances below and above each measurement)."""
    return [
        [max(0.0, point.comparison.measured - point.low) for point in points],
        [max(0.0, point.high - point.comparison.measured) for point in points],
    ]


@dataclass(frozen=True, slots=True)
class Table:
    """An extra table a scenario prints after the summary (and the README may quote)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Draw = Callable[[Figure, Sequence[Measured]], None]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a scenario measured. ``draw`` fills the figure (the measured points come with
    their intervals, in the order of ``comparisons``); ``rows`` are further CSV rows."""

    comparisons: Sequence[Comparison]
    draw: Draw
    rows: Sequence[Mapping[str, Cell]] = ()
    tables: Sequence[Table] = ()
    notes: Sequence[str] = ()
    size: tuple[float, float] = (10.0, 4.8)


# --- scenario options ------------------------------------------------------------------------


def param(default: T, help: str, *, choices: Sequence[str] | None = None) -> T:
    """A scenario option: a dataclass field with its default, its help, and for a text
    option the values it may take. Supported types: int, float, str, bool and tuples of
    int, float or str (given on the command line separated by commas)."""
    metadata = {"help": help, "choices": None if choices is None else tuple(choices)}
    return field(default=default, metadata=metadata)


_KINDS: Final[dict[object, ParamKind]] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    tuple[int, ...]: "ints",
    tuple[float, ...]: "floats",
    tuple[str, ...]: "strs",
}


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One option of a scenario, as the command line shows and parses it."""

    name: str
    kind: ParamKind
    default: object
    help: str
    choices: tuple[str, ...] | None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def shown_default(self) -> str:
        if isinstance(self.default, tuple):
            return ",".join(str(value) for value in self.default)
        return str(self.default)

    def parse(self, text: str) -> object:
        """The option's value from its command-line text (a list may be empty: ``""``);
        :class:`InvalidInput` if it is not one."""
        try:
            if self.kind in ("ints", "floats", "strs"):
                items = [item.strip() for item in text.split(",") if item.strip()]
                convert: Callable[[str], object] = {"ints": int, "floats": float, "strs": str}[
                    self.kind
                ]
                values = tuple(convert(item) for item in items)
                for value in values:
                    self._check_choice(value)
                return values
            if self.kind == "bool":
                lowered = text.strip().lower()
                if lowered not in ("true", "false", "yes", "no", "1", "0"):
                    raise InvalidInput(f"{self.option} is yes or no, not {text!r}")
                return lowered in ("true", "yes", "1")
            value = {"int": int, "float": float, "str": str}[self.kind](text)
        except ValueError:
            raise InvalidInput(f"{self.option}: {text!r} is not {_DESCRIBE[self.kind]}") from None
        self._check_choice(value)
        return value

    def _check_choice(self, value: object) -> None:
        if self.choices is not None and value not in self.choices:
            raise InvalidInput(f"{self.option}: {value!r} is not one of {', '.join(self.choices)}")


_DESCRIBE: Final[dict[ParamKind, str]] = {
    "int": "an integer",
    "float": "a number",
    "str": "a text",
    "bool": "yes or no",
    "ints": "integers separated by commas",
    "floats": "numbers separated by commas",
    "strs": "values separated by commas",
}


def param_specs(params: type[object]) -> tuple[ParamSpec, ...]:
    """The options of a scenario's options dataclass, in field order."""
    if not dataclasses.is_dataclass(params):
        raise SimulationError(f"{params.__name__} is not a dataclass of scenario options")
    hints = typing.get_type_hints(params)
    specs = []
    for item in dataclasses.fields(params):
        kind = _KINDS.get(hints[item.name])
        if kind is None:
            raise SimulationError(
                f"option {item.name} of {params.__name__} has unsupported type {hints[item.name]}"
            )
        if item.default is dataclasses.MISSING:
            raise SimulationError(f"option {item.name} of {params.__name__} needs a default")
        specs.append(
            ParamSpec(
                item.name,
                kind,
                item.default,
                str(item.metadata.get("help", "")),
                item.metadata.get("choices"),
            )
        )
    return tuple(specs)


# --- scenarios and their registry ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario(Generic[P]):
    """A research question, its options (a frozen dataclass made with :func:`param` fields)
    and the function that measures it."""

    name: str
    title: str
    question: str
    params: type[P]
    run: Callable[[P, Context], Outcome]

    def specs(self) -> tuple[ParamSpec, ...]:
        return param_specs(self.params)

    def options(self, values: Mapping[str, object] | None = None) -> P:
        """The options with ``values`` (by field name, already typed) over the defaults; the
        dataclass's own checks raise :class:`InvalidInput` for values out of range."""
        values = dict(values or {})
        known = {spec.name for spec in self.specs()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(f"scenario {self.name} has no options {', '.join(unknown)}")
        return self.params(**values)


@functools.cache
def scenarios() -> dict[str, Scenario[Any]]:
    """Every scenario: each module of :mod:`simulations.scenarios` that defines ``SCENARIO``
    (modules whose names start with ``_`` are helpers), by name."""
    package = importlib.import_module(SCENARIO_PACKAGE)
    found: dict[str, Scenario[Any]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{SCENARIO_PACKAGE}.{info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if not isinstance(scenario, Scenario):
            raise SimulationError(f"{module.__name__} defines no SCENARIO")
        if scenario.name in found:
            raise SimulationError(f"two scenarios are named {scenario.name}")
        found[scenario.name] = scenario
    return dict(sorted(found.items()))


def get(name: str) -> Scenario[Any]:
    """The scenario called ``name``; :class:`InvalidInput` naming the known ones otherwise."""
    known = scenarios()
    if name not in known:
        raise InvalidInput(f"no scenario {name!r}; the scenarios are {', '.join(known)}")
    return known[name]


# --- running one -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    """A finished run: what was measured, where the CSV and the plot are, how long it took."""

    scenario: Scenario[Any]
    options: object
    settings: Settings
    outcome: Outcome
    measured: tuple[Measured, ...]
    csv_path: Path
    png_path: Path
    seconds: float

    @property
    def all_agree(self) -> bool:
        """Every measurement with a reference value covers it with its interval."""
        return all(point.agrees is not False for point in self.measured)


def measure(comparisons: Sequence[Comparison], confidence: float) -> tuple[Measured, ...]:
    """Wilson intervals for every comparison, Bonferroni-corrected over those that have a
    reference value, so that they cover their references together at ``confidence``."""
    compared = sum(comparison.reference is not None for comparison in comparisons)
    z = stats.bonferroni_z(confidence, compared)
    level = 1.0 - (1.0 - confidence) / max(1, compared)
    out = []
    for comparison in comparisons:
        low, high = stats.wilson(comparison.successes, comparison.trials, z)
        out.append(Measured(comparison, low, high, level))
    return tuple(out)


def _csv_rows(
    measured: Sequence[Measured], rows: Sequence[Mapping[str, Cell]]
) -> list[dict[str, Cell]]:
    out: list[dict[str, Cell]] = []
    for point in measured:
        comparison = point.comparison
        out.append(
            {
                **comparison.key,
                "successes": comparison.successes,
                "trials": comparison.trials,
                "measured": round(comparison.measured, 6),
                "ci_low": round(point.low, 6),
                "ci_high": round(point.high, 6),
                "ci_level": round(point.level, 6),
                "analytical": _rounded(comparison.analytical),
                "exact": _rounded(comparison.exact),
                "agrees": point.agrees,
                **comparison.extra,
            }
        )
    out.extend(dict(row) for row in rows)
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def write_csv(path: Path, rows: Sequence[Mapping[str, Cell]]) -> None:
    """One CSV with the union of the rows' columns, in order of first appearance."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({name: "" if value is None else value for name, value in row.items()})


def draw_png(
    path: Path, draw: Draw, measured: Sequence[Measured], size: tuple[float, float]
) -> None:
    """Draw on a matplotlib Figure (``size`` in inches, 100 dpi) with the Agg canvas: no
    display, no pyplot state."""
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    draw(figure, measured)
    figure.savefig(path, format="png")


def run(
    scenario: Scenario[P],
    settings: Settings,
    options: P | None = None,
    tracker: Tracker | None = None,
) -> Report:
    """Run ``scenario`` and write ``<out>/<name>.csv`` and ``<out>/<name>.png``."""
    chosen = scenario.options() if options is None else options
    settings.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcome = scenario.run(chosen, Context(settings, tracker or QuietTracker()))
    measured = measure(outcome.comparisons, settings.confidence)
    csv_path = settings.out / f"{scenario.name}.csv"
    png_path = settings.out / f"{scenario.name}.png"
    write_csv(csv_path, _csv_rows(measured, outcome.rows))
    draw_png(png_path, outcome.draw, measured, outcome.size)
    return Report(
        scenario,
        chosen,
        settings,
        outcome,
        measured,
        csv_path,
        png_path,
        time.perf_counter() - started,
    )


# --- the summary -----------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def print_summary(report: Report, console: Console | None = None) -> None:
    """The measured-vs-analytical table, the scenario's own tables and notes, the files."""
    console = console or Console()
    settings = report.settings
    measured = report.measured
    if measured:
        level = measured[0].level
        table = RichTable(
            title=(
                f"{report.scenario.name}: measured vs analytical, Wilson intervals at "
                f"{level:.4%} each ({settings.confidence:.0%} together, Bonferroni)"
            )
        )
        table.add_column("point")
        table.add_column("trials", justify="right")
        table.add_column("measured", justify="right")
        table.add_column("interval", justify="right")
        table.add_column("analytical", justify="right")
        table.add_column("exact", justify="right")
        table.add_column("agrees", justify="center")
        for point in measured:
            comparison = point.comparison
            agrees = {True: "yes", False: "[red]NO[/red]", None: "—"}[point.agrees]
            table.add_row(
                escape(comparison.label),
                f"{comparison.trials:,}",
                f"{comparison.measured:.3f}",
                f"[{point.low:.3f}, {point.high:.3f}]",
                _figure(comparison.analytical),
                _figure(comparison.exact),
                agrees,
            )
        console.print(table)
    for extra in report.outcome.tables:
        table = RichTable(title=escape(extra.title))
        for column in extra.columns:
            table.add_column(escape(column))
        for row in extra.rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
    for note in report.outcome.notes:
        console.print(f"• {escape(note)}")
    if not any(point.comparison.reference is not None for point in measured):
        verdict = "no measurement here has an analytical figure to agree with"
    elif report.all_agree:
        verdict = "every measurement agrees with its analytical figure"
    else:
        verdict = "[red]some measurements fall outside their intervals[/red]"
    console.print(
        f"{verdict}; seed {settings.seed}, {report.seconds:.1f} s on {settings.workers} "
        f"worker(s)\nwrote {escape(str(report.csv_path))} and {escape(str(report.png_path))}"
    )
