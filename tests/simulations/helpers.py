"""Shared helpers for the simulation tests: run a scenario small, in this process."""

from __future__ import annotations

import csv
from pathlib import Path

from simulations import runner


def run_small(name: str, out: Path, trials: int, seed: int = 7, **values: object) -> runner.Report:
    """Run scenario ``name`` with ``values`` over its defaults, one worker (no processes)."""
    scenario = runner.get(name)
    settings = runner.Settings(seed=seed, trials=trials, out=out, workers=1)
    return runner.run(scenario, settings, scenario.options(values))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def assert_written(report: runner.Report, rows: int) -> None:
    """The CSV holds ``rows`` rows and the PNG is a PNG."""
    assert report.csv_path.name == f"{report.scenario.name}.csv"
    assert len(read_csv(report.csv_path)) == rows
    assert report.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.png_path.stat().st_size > 10_000
