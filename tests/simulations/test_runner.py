"""The scenario runner and `evote simulate`: discovery, options, files, the summary, and the
analytical figures of local-elections §3 that the scenarios are compared with."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from evote.cli import main
from evote.errors import InvalidInput
from simulations import runner, stats
from tests.simulations.helpers import read_csv

SCENARIOS = ("benaloh", "receipt-checks", "stuffing")


def test_every_scenario_is_found_and_listed() -> None:
    assert set(SCENARIOS) <= set(runner.scenarios())
    result = CliRunner().invoke(main, ["simulate", "--list"])
    assert result.exit_code == 0, result.output
    for name in SCENARIOS:
        assert name in result.stdout


def test_a_scenario_runs_from_the_command_line(tmp_path: Path) -> None:
    arguments = [
        "simulate",
        "benaloh",
        "--voters", "40",
        "--rates", "0.3",
        "--cheats", "1,4",
        "--strategies", "blind",
        "--pool", "2",
        "--trials", "400",
        "--workers", "1",
        "--seed", "5",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "measured vs analytical" in result.stdout
    assert "every measurement agrees" in result.stdout
    rows = read_csv(tmp_path / "out" / "benaloh.csv")
    assert [(row["strategy"], row["cheats"]) for row in rows] == [("blind", "1"), ("blind", "4")]
    assert float(rows[1]["analytical"]) == pytest.approx(1 - 0.7**4, abs=1e-6)
    assert (tmp_path / "out" / "benaloh.png").read_bytes()[:4] == b"\x89PNG"


def test_a_bad_option_names_itself_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["simulate", "benaloh", "--strategies", "psychic", "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 2
    assert "'psychic' is not one of blind, predictive, after-challenge" in result.output
    assert not (tmp_path / "out").exists()


@dataclass(frozen=True)
class _Options:
    count: int = runner.param(3, "a count")
    rates: tuple[float, ...] = runner.param((0.5,), "rates")
    mode: str = runner.param("a", "a mode", choices=("a", "b"))
    check: bool = runner.param(True, "a flag")


def test_options_parse_from_their_command_line_text() -> None:
    specs = {spec.name: spec for spec in runner.param_specs(_Options)}
    assert [spec.option for spec in specs.values()] == ["--count", "--rates", "--mode", "--check"]
    assert specs["count"].parse("12") == 12
    assert specs["rates"].parse("0.1, 0.2") == (0.1, 0.2)
    assert specs["rates"].parse("") == ()
    assert specs["rates"].shown_default() == "0.5"
    assert specs["check"].parse("no") is False
    with pytest.raises(InvalidInput, match="--count: 'x' is not an integer"):
        specs["count"].parse("x")
    with pytest.raises(InvalidInput, match="--mode: 'c' is not one of a, b"):
        specs["mode"].parse("c")


def test_settings_refuse_what_cannot_run() -> None:
    with pytest.raises(InvalidInput, match="--trials"):
        runner.Settings(trials=0)
    with pytest.raises(InvalidInput, match="--confidence"):
        runner.Settings(confidence=1.0)
    with pytest.raises(InvalidInput, match="no scenario 'nope'"):
        runner.get("nope")


def test_intervals_widen_with_the_number_of_comparisons() -> None:
    points = [runner.Comparison({"i": i}, 50, 100, analytical=0.5) for i in range(10)]
    one = runner.measure(points[:1], 0.95)[0]
    ten = runner.measure(points, 0.95)[0]
    assert one.level == pytest.approx(0.95)
    assert ten.level == pytest.approx(0.995)
    assert ten.low < one.low < 0.5 < one.high < ten.high
    assert one.agrees is True
    far = runner.measure([runner.Comparison({}, 90, 100, analytical=0.5)], 0.95)[0]
    assert far.agrees is False
    assert runner.measure([runner.Comparison({}, 1, 100)], 0.95)[0].agrees is None


def test_the_reference_values_of_s1_to_s4() -> None:
    # S1: 1 − (1 − p)^k
    assert stats.detect_independent(0.04, 10) == pytest.approx(0.335, abs=5e-4)
    assert stats.detect_independent(0.04, 31) == pytest.approx(0.718, abs=5e-4)
    assert stats.detect_independent(0.04, 100) == pytest.approx(0.983, abs=5e-4)
    assert stats.detect_independent(0.10, 31) == pytest.approx(0.962, abs=5e-4)
    assert min(k for k in range(1, 500) if stats.detect_independent(0.04, k) >= 0.95) == 74
    assert min(k for k in range(1, 500) if stats.detect_independent(0.04, k) >= 0.99) == 113
    assert min(k for k in range(1, 900) if stats.detect_independent(0.01, k) >= 0.95) == 299
    # S2: without replacement, n = 3000, k = 31, f = 120
    assert stats.detect_without_replacement(3000, 31, 120) == pytest.approx(0.720, abs=5e-4)
    # S3: switching a ballot moves the margin by 2, so a margin of 60 needs 31 switched ballots
    assert stats.detect_independent(0.20, 31) == pytest.approx(0.999, abs=5e-4)
    # S4: p_eff = 4 % × 47 % ≈ 1.9 %; 95 % needs k ≥ 158
    assert min(k for k in range(1, 900) if stats.detect_independent(0.04 * 0.47, k) >= 0.95) == 158


def test_wilson_and_the_capped_figure() -> None:
    low, high = stats.wilson(0, 100, 1.96)
    assert low == 0.0
    assert high == pytest.approx(0.037, abs=1e-3)
    assert stats.wilson(100, 100, 1.96)[1] == 1.0
    assert stats.wilson(50, 100, 1.96) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    # Plenty of suitable items: the cap never binds.
    assert stats.detect_capped(400, 0.5, 10, 0.1) == pytest.approx(1 - 0.9**10)
    # None suitable: nothing can be altered, nothing detected.
    assert stats.detect_capped(50, 0.0, 10, 0.1) == 0.0
    assert math.isclose(sum(stats.binomial_pmf(30, 0.3, k) for k in range(31)), 1.0)


@dataclass(frozen=True)
class _Coins:
    chance: tuple[float, ...] = runner.param((0.3, 0.6), "probability of heads")


def _coins(options: _Coins, context: runner.Context) -> runner.Outcome:
    comparisons = []
    for chance in options.chance:
        heads = context.rng("coins", chance).random(context.trials) < chance
        comparisons.append(
            runner.Comparison({"chance": chance}, int(heads.sum()), context.trials, chance)
        )

    def draw(figure: Figure, measured: Sequence[runner.Measured]) -> None:
        axis = figure.subplots()
        axis.errorbar(
            [float(str(point.comparison.key["chance"])) for point in measured],
            [point.comparison.measured for point in measured],
            yerr=runner.error_bars(measured),
        )

    return runner.Outcome(comparisons, draw, rows=[{"chance": "all", "note": "extra row"}])


def test_a_new_scenario_needs_only_its_options_and_a_run_function(tmp_path: Path) -> None:
    scenario = runner.Scenario("coins", "Coins", "Heads?", _Coins, _coins)
    settings = runner.Settings(seed=3, trials=4000, out=tmp_path, workers=1)
    report = runner.run(scenario, settings)
    assert report.all_agree
    assert [point.comparison.successes for point in report.measured] == [
        point.comparison.successes for point in runner.run(scenario, settings).measured
    ]
    rows = read_csv(tmp_path / "coins.csv")
    assert [row["chance"] for row in rows] == ["0.3", "0.6", "all"]
    assert rows[2]["note"] == "extra row"
    assert rows[0]["ci_level"] == "0.975"
    assert (tmp_path / "coins.png").read_bytes()[:4] == b"\x89PNG"
