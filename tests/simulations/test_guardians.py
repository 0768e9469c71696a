"""guardians, small: the tally cannot be decrypted exactly as often as the binomial tail says
when guardians lose their keys, t − 1 colluding guardians decrypt nothing, and t decrypt all."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.errors import InvalidInput
from simulations import runner, stats
from simulations.scenarios.guardians import REFERENCE, parse_config
from tests.simulations.helpers import assert_written, read_csv, run_small


def test_key_loss_and_collusion_match_the_analytical_figures(tmp_path: Path) -> None:
    report = run_small(
        "guardians",
        tmp_path,
        trials=20_000,
        configs=("3-of-3", "2-of-4"),
        losses=(0.05, 0.2),
        ballots=3,
    )
    loss = [p for p in report.measured if p.comparison.key["part"] == "key-loss"]
    assert len(loss) == 4
    for point in report.measured:
        assert point.agrees, (point.comparison.label, point.comparison.measured)
    # 3-of-3 fails whenever any guardian loses its key: 1 − 0.95³ and 1 − 0.8³.
    three = {
        p.comparison.key["loss"]: p.comparison
        for p in loss
        if p.comparison.key["config"] == "3-of-3"
    }
    assert three[0.05].analytical == pytest.approx(1 - 0.95**3)
    assert three[0.2].analytical == pytest.approx(1 - 0.8**3)
    # Every set of guardians decrypted once: 3-of-3 only with all three, 2-of-4 with any two.
    sets = {p.comparison.key["config"]: p.comparison.extra["sets_that_decrypt"] for p in loss}
    assert sets == {"3-of-3": 1, "2-of-4": 11}
    collusion = {
        (p.comparison.key["config"], p.comparison.key["part"], p.comparison.key["coalition"]): (
            p.comparison.successes,
            p.comparison.trials,
        )
        for p in report.measured
        if p.comparison.key["part"] != "key-loss"
    }
    assert collusion == {
        ("3-of-3", "recover-key", 2): (0, 3),
        ("3-of-3", "decrypt-ballot", 2): (0, 9),
        ("3-of-3", "recover-key", 3): (1, 1),
        ("3-of-3", "decrypt-ballot", 3): (3, 3),
        ("2-of-4", "recover-key", 1): (0, 4),
        ("2-of-4", "decrypt-ballot", 1): (0, 12),
        ("2-of-4", "recover-key", 2): (6, 6),
        ("2-of-4", "decrypt-ballot", 2): (18, 18),
    }
    assert_written(report, rows=12)
    rows = read_csv(report.csv_path)
    assert {row["config"] for row in rows} == {"3-of-3", "2-of-4"}


def test_the_binomial_tail_gives_the_design_notes_reference_values() -> None:
    for (config, loss), reference in REFERENCE.items():
        quorum, guardians = parse_config(config)
        computed = stats.key_loss(guardians, quorum, loss)
        assert computed == pytest.approx(reference, rel=0.05), (config, loss)


def test_bad_configurations_are_refused_with_the_option_named() -> None:
    scenario = runner.get("guardians")
    for bad in ("4-of-3", "three of five", "0-of-2", "2-of-11"):
        with pytest.raises(InvalidInput, match="--configs"):
            scenario.options({"configs": (bad,)})
    with pytest.raises(InvalidInput, match="--configs"):
        scenario.options({"configs": ("2-of-3", "2-of-3")})
    with pytest.raises(InvalidInput, match="--losses"):
        scenario.options({"losses": (1.5,)})
