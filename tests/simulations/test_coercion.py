"""coercion, small: with the last vote counting, a coercer succeeds with probability
1 − r·P(the revote lands) when the voter's device can revote, which evote's client (reading the
credential's ballots on the board) now can after its credential was used by someone else; a
client that numbers from its own receipts (the old one, modelled) is refused, and the coercer
always wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.errors import InvalidInput
from simulations import runner, stats
from tests.simulations.helpers import assert_written, run_small


def test_success_follows_the_revote_model_on_the_real_ballot_box(tmp_path: Path) -> None:
    report = run_small(
        "coercion",
        tmp_path,
        trials=3000,
        revote_rates=(0.5, 1.0),
        windows=(24.0, 96.0),
        pool=2,
    )
    # watch, credential with evote's board-reading client: 4 points each; credential with the
    # old receipts-numbering client: 4 success points and 4 refused-revote points.
    assert len(report.measured) == 16
    for point in report.measured:
        assert point.agrees, (point.comparison.label, point.comparison.measured)
    stories = {row[0]: row[1:] for row in report.outcome.tables[0].rows}
    assert stories == {
        "watch": ("1", "coerced counts", "revote counts"),
        "credential, receipts device": ("0", "coerced counts", "revote refused, coerced counts"),
        "credential, board device": ("1", "coerced counts", "revote counts"),
    }
    old = [
        p.comparison
        for p in report.measured
        if p.comparison.key["device"] == "receipts"
        and p.comparison.key["measure"] == "coercer succeeds"
    ]
    assert all(c.successes == c.trials and c.exact == 1.0 for c in old)
    board = [
        p.comparison
        for p in report.measured
        if p.comparison.key["device"] == "board"
        and p.comparison.key["measure"] == "coercer succeeds"
    ]
    assert len(board) == 4
    assert all(c.exact is None and c.successes < c.trials for c in board)
    watched = [
        p.comparison
        for p in report.measured
        if p.comparison.key["attack"] == "watch"
        and p.comparison.key["revote_rate"] == 1.0
        and p.comparison.key["window_h"] == 24.0
    ]
    assert watched[0].analytical == pytest.approx(1 - stats.revote_lands(144.0, 24.0, 12.0))
    assert_written(report, rows=16)


def test_the_revote_window_model() -> None:
    assert stats.revote_lands(100.0, 25.0, 0.0) == pytest.approx(0.75)
    assert stats.revote_lands(100.0, 100.0, 5.0) == 0.0
    # A long delay makes a landing revote rarer than the window alone says.
    assert stats.revote_lands(100.0, 25.0, 10.0) < 0.75
    with pytest.raises(InvalidInput):
        stats.revote_lands(0.0, 1.0, 1.0)


def test_bad_options_are_refused_with_the_option_named() -> None:
    scenario = runner.get("coercion")
    with pytest.raises(InvalidInput, match="--windows"):
        scenario.options({"windows": (200.0,)})
    with pytest.raises(InvalidInput, match="--revote-rates"):
        scenario.options({"revote_rates": (-0.1,)})
    with pytest.raises(InvalidInput, match="--devices"):
        scenario.options({"devices": ()})
