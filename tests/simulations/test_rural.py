"""rural, small: remote casts over failing connections are retried and land exactly once (the
box answers a retry with the first receipt), in-person votes cancel remote ballots, the counts
equal what the voters chose, and the measured shares match their analytical figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.errors import InvalidInput
from simulations import runner
from simulations.runner import Table
from simulations.scenarios.rural import cancelled_share, gives_up, retry_found_on_board
from tests.simulations.helpers import assert_written, run_small


def _column(table: Table) -> dict[str, str]:
    """A two-column table as a mapping from its first column to its second."""
    return {row[0]: row[1] for row in table.rows}


def test_every_ballot_lands_once_and_the_counts_equal_the_voters_choices(tmp_path: Path) -> None:
    report = run_small(
        "rural",
        tmp_path,
        trials=1,
        residents=500,
        turnout=0.6,
        digital=0.8,
        uptake=0.8,
        override=0.1,
        outage=0.4,
        attempts=3,
        stations=2,
    )
    assert len(report.measured) == 5
    for point in report.measured:
        assert point.agrees, (point.comparison.label, point.comparison.measured)
    channels = {row[0]: row[1:] for row in report.outcome.tables[0].rows}
    remote, cancelled = int(channels["remote"][0]), int(channels["remote"][1])
    assert cancelled > 0
    voted = int(report.outcome.tables[0].title.split(", ")[1].split(" ")[0])
    assert int(channels["total"][2].replace(",", "")) == voted
    assert remote > 0
    assert int(channels["poll-worker booth"][0]) > 0
    counts = report.outcome.tables[1].rows
    assert counts
    assert all(row[-1] == "yes" for row in counts)
    assert "counts equal what the voters chose: yes" in report.outcome.notes
    retried = [p for p in report.measured if str(p.comparison.key["measure"]).startswith("retry")]
    assert retried[0].comparison.successes > 0
    # The verifier knows no cancellation entry: it recomputes the counted set without them.
    failed = _column(report.outcome.tables[2])["verifier: failed checks"]
    assert "counted-set" in failed.split(", ")
    assert_written(report, rows=5 + 4)


def test_records_left_unsynced_at_the_deadline_are_reported(tmp_path: Path) -> None:
    report = run_small(
        "rural",
        tmp_path,
        trials=1,
        residents=300,
        turnout=0.6,
        digital=0.3,
        booth=1.0,
        stations=3,
        station_outage=0.9,
        sync_minutes=240.0,
        deadline_hours=0.0,
    )
    pending = _column(report.outcome.tables[2])["records still pending at the deadline"]
    assert int(pending.split(" ")[0]) > 0
    assert "counts equal what the voters chose: no" in report.outcome.notes
    syncs = [p for p in report.measured if "sync" in str(p.comparison.key["measure"])]
    assert syncs[0].agrees


def test_the_analytical_figures() -> None:
    assert gives_up(0.2, 3) == pytest.approx(0.008)
    # With two attempts, the second finds the ballot exactly when the first lost its answer.
    assert retry_found_on_board(0.3, 0.25, 2) == pytest.approx(0.25)
    assert retry_found_on_board(0.3, 0.25, 1) == 0.0
    assert cancelled_share(0.0, 0.5, 3, 0.07) == pytest.approx(0.07)
    assert cancelled_share(0.5, 1.0, 1, 0.0) == pytest.approx(0.5)


def test_bad_options_are_refused_with_the_option_named() -> None:
    scenario = runner.get("rural")
    with pytest.raises(InvalidInput, match="--turnout"):
        scenario.options({"turnout": 1.5})
    with pytest.raises(InvalidInput, match="--outage"):
        scenario.options({"outage": 1.0})
    with pytest.raises(InvalidInput, match="--attempts"):
        scenario.options({"attempts": 0})
