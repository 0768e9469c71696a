"""scale, small: every phase of a real election is timed for each size and number of worker
processes, a line is fitted per phase, and evote bench's figures are measured at the start and at
the end of the same run."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from evote.errors import InvalidInput
from simulations import runner
from simulations.scenarios.scale import PHASES, tree_cpu_seconds
from tests.simulations.helpers import read_csv, run_small


def test_each_phase_is_timed_fitted_and_compared_with_the_bench(tmp_path: Path) -> None:
    report = run_small(
        "scale",
        tmp_path,
        trials=1,
        voters=(6, 12),
        processes=(1,),
        preset="referendum",
        bench_ballots=2,
    )
    assert report.measured == ()
    rows = read_csv(report.csv_path)
    timed = [row for row in rows if row.get("voters")]
    assert {(row["voters"], row["workers"], row["phase"]) for row in timed} == {
        (str(n), "1", phase) for n in (6, 12) for phase in PHASES
    }
    for row in timed:
        assert float(row["wall_s"]) > 0
        assert float(row["cpu_s"]) >= 0
        expected = 1e3 * float(row["wall_s"]) / int(row["voters"])
        assert float(row["wall_ms_per_ballot"]) == pytest.approx(expected, rel=1e-2, abs=0.01)
    fits = [row for row in rows if row.get("fit_slope")]
    assert len(fits) == len(PHASES)
    assert all(math.isfinite(float(row["fit_slope"])) for row in fits)
    bench = [row for row in rows if row.get("bench_verify_ms")]
    assert [row["phase"].rsplit(", ", 1)[1] for row in bench] == [
        "start of the run",
        "end of the run",
    ]
    assert all(float(row["bench_verify_ms"]) > 0 for row in bench)
    titles = [table.title for table in report.outcome.tables]
    assert any("vs evote bench" in title for title in titles)
    assert report.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_worker_processes_encrypt_check_and_verify(tmp_path: Path) -> None:
    report = run_small(
        "scale",
        tmp_path,
        trials=1,
        voters=(8,),
        processes=(2,),
        preset="referendum",
        bench_ballots=1,
    )
    rows = [row for row in read_csv(report.csv_path) if row.get("voters")]
    assert {(row["workers"], row["phase"]) for row in rows} == {("2", phase) for phase in PHASES}
    # The verifier's own worker processes are counted in its CPU time.
    verify = next(row for row in rows if row["phase"] == "verify")
    assert float(verify["cpu_s"]) > 0


def test_cpu_time_of_the_process_tree_grows_with_work() -> None:
    before = tree_cpu_seconds()
    digest = b""
    for _ in range(200_000):
        digest = hashlib.sha256(digest).digest()
    assert tree_cpu_seconds() > before


def test_bad_options_are_refused_with_the_option_named() -> None:
    scenario = runner.get("scale")
    with pytest.raises(InvalidInput, match="--voters"):
        scenario.options({"voters": (1,)})
    with pytest.raises(InvalidInput, match="--processes"):
        scenario.options({"processes": (0,)})
