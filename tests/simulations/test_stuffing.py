"""stuffing, small: ballots stuffed by the ballot box fail the verifier's ballot checks; ghost
credentials pass the verifier and are caught by the public counts, or only by voters auditing
the roll, at the rate 1 − (1 − p)^g."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.errors import InvalidInput
from evote.record.registry import Counts
from simulations import runner
from simulations.scenarios.stuffing import count_checks
from tests.simulations.helpers import assert_written, read_csv, run_small


def test_each_attack_is_caught_by_the_expected_check(tmp_path: Path) -> None:
    report = run_small(
        "stuffing",
        tmp_path,
        trials=3000,
        eligible=30,
        enrolment=0.6,
        turnout=0.5,
        stuffed=5,
        audit_rates=(0.1, 0.4),
    )
    caught = {row[0]: row[2:] for row in report.outcome.tables[0].rows}
    assert caught["honest"] == ("nothing (all pass)", "none", "nothing found")
    for variant in ("box-unlisted", "box-forged"):
        verifier, counts, audit = caught[variant]
        assert "ballots" in verifier.split(", ")
        assert (counts, audit) == ("none", "nothing found")
    assert caught["registry-beyond-roll"] == (
        "nothing (all pass)",
        "roll = eligible",
        "nothing found",
    )
    assert caught["registry-unlisted-codes"] == (
        "nothing (all pass)",
        "list = enrolled",
        "nothing found",
    )
    assert caught["registry-abstainers"] == ("nothing (all pass)", "none", "5 codes found used")
    # The roll audit: 6 variants × 2 rates, measured against 1 − (1 − p)^g.
    assert len(report.measured) == 12
    for point in report.measured:
        assert point.agrees, (point.comparison.label, point.comparison.measured)
    abstainers = [
        p for p in report.measured if p.comparison.key["variant"] == "registry-abstainers"
    ]
    assert [round(p.comparison.analytical or 0, 4) for p in abstainers] == [0.4095, 0.9222]
    assert_written(report, rows=12 + 2 * 6)
    rows = read_csv(report.csv_path)
    verifier_rows = {r["variant"]: r for r in rows if r["channel"] == "verifier"}
    assert verifier_rows["box-forged"]["detected"] == "True"
    assert verifier_rows["registry-abstainers"]["detected"] == "False"


def test_public_counts_name_what_disagrees() -> None:
    assert count_checks(10, Counts(12, 10, True), 12) == ()
    assert count_checks(10, Counts(13, 10, True), 12) == ("roll = eligible",)
    assert count_checks(11, Counts(12, 10, True), 12) == ("list = enrolled",)
    assert count_checks(14, Counts(14, 14, True), 12) == ("roll = eligible", "list ≤ eligible")


def test_impossible_variants_are_refused_before_anything_runs() -> None:
    scenario = runner.get("stuffing")
    with pytest.raises(InvalidInput, match="box-forged needs 30"):
        scenario.options({"eligible": 100, "enrolment": 0.5, "turnout": 1.0, "stuffed": 30})
    with pytest.raises(InvalidInput, match="registry-abstainers needs 30"):
        scenario.options({"eligible": 100, "enrolment": 0.9, "turnout": 0.5, "stuffed": 30})
