"""receipt-checks, small: a corrupt ballot box's victims are exactly the voters whose receipt
checks fail, the verifier passes its record, and detection follows 1 − (1 − p)^k and the
hypergeometric figure within the stated intervals."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.errors import InvalidInput
from simulations import runner
from tests.simulations.helpers import assert_written, read_csv, run_small


def test_detection_matches_the_analytical_curves(tmp_path: Path) -> None:
    report = run_small(
        "receipt-checks",
        tmp_path,
        trials=3000,
        voters=48,
        rates=(0.05, 0.25),
        affected=(2, 9),
        checkers=(8,),
    )
    # 2 attacks × 2 values of k × (2 rates + 1 fixed number of checkers)
    assert len(report.measured) == 12
    for point in report.measured:
        comparison = point.comparison
        assert comparison.extra["false_alarms"] == 0, comparison.label
        assert comparison.extra["victims_missed"] == 0, comparison.label
        assert point.agrees, (comparison.label, comparison.measured, point.low, point.high)
        assert point.high - point.low < 0.1
    fixed = [p for p in report.measured if p.comparison.key["mode"] == "fixed"]
    assert all(p.comparison.exact is not None for p in fixed)
    verifier = report.outcome.tables[0].rows
    assert verifier == (
        ("drop", "9", "all 14 checks pass"),
        ("alter", "9", "all 14 checks pass"),
    )
    assert_written(report, rows=12)
    rows = read_csv(report.csv_path)
    assert {row["attack"] for row in rows} == {"drop", "alter"}
    assert all(row["agrees"] == "True" for row in rows)


def test_a_fixed_seed_gives_the_same_measurements(tmp_path: Path) -> None:
    runs = [
        run_small(
            "receipt-checks",
            tmp_path / name,
            trials=500,
            voters=24,
            rates=(0.2,),
            affected=(3,),
            checkers=(),
            attacks=("drop",),
            verify=False,
        )
        for name in ("first", "again")
    ]
    first, again = ([p.comparison.successes for p in run.measured] for run in runs)
    assert first == again


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"affected": (0,)}, "--affected"),
        ({"voters": 10, "affected": (11,)}, "--affected"),
        ({"rates": (1.5,)}, "--rates"),
        ({"rates": (), "checkers": ()}, "who checks"),
        ({"success": 0.0}, "--success"),
    ],
)
def test_bad_options_are_refused_with_the_option_named(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        runner.get("receipt-checks").options(values)
