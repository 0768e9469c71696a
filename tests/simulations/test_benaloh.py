"""benaloh, small: altered encryptions are refused by the ballot box's audit check, honest ones
are not, and detection follows 1 − (1 − a)^c and its variants within the stated intervals."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.errors import InvalidInput
from simulations import runner
from tests.simulations.helpers import assert_written, run_small


def test_detection_matches_the_analytical_figures(tmp_path: Path) -> None:
    report = run_small(
        "benaloh",
        tmp_path,
        trials=3000,
        voters=120,
        rates=(0.05, 0.3),
        cheats=(2, 12),
        pool=3,
    )
    # blind, predictive, after-challenge once, after-challenge repeat: 4 × 2 rates × 2 cheats
    assert len(report.measured) == 16
    for point in report.measured:
        comparison = point.comparison
        assert comparison.extra["false_alarms"] == 0, comparison.label
        assert point.agrees, (comparison.label, comparison.measured, point.low, point.high)
    once = [p for p in report.measured if p.comparison.key["policy"] == "once"]
    cheating_after = [p for p in once if p.comparison.key["strategy"] == "after-challenge"]
    assert [p.comparison.successes for p in cheating_after] == [0, 0, 0, 0]
    # With a = 0.05 only about 6 of 120 voters challenge: the exact figure caps c at them.
    capped = [
        p
        for p in report.measured
        if p.comparison.key
        == {
            "strategy": "after-challenge",
            "policy": "repeat",
            "rate": 0.05,
            "accuracy": None,
            "cheats": 12,
        }
    ]
    exact, textbook = capped[0].comparison.exact, capped[0].comparison.analytical
    assert exact is not None
    assert textbook is not None
    assert exact < textbook - 0.05
    assert any("refused every altered one" in note for note in report.outcome.notes)
    assert_written(report, rows=16)


def test_bad_options_are_refused_with_the_option_named() -> None:
    scenario = runner.get("benaloh")
    with pytest.raises(InvalidInput, match="--cheats"):
        scenario.options({"voters": 5, "cheats": (6,)})
    with pytest.raises(InvalidInput, match="--accuracy"):
        scenario.options({"accuracy": 2.0})
