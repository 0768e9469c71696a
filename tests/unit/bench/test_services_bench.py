"""The ballot box load benchmark runs end to end and reports every figure (never timings)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from evote.bench import services as services_bench
from evote.board.merkle import leaf_hash
from evote.cli import main
from evote.client.channels import CastClient
from evote.errors import InvalidInput

#: Figures that are positive in any run that cast at least one ballot.
POSITIVE = (
    "server_workers",
    "cpu_count",
    "wall_seconds",
    "casts_per_second",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "server_process_cpu_ms_per_cast",
    "client_cpu_ms_per_cast",
    "ceiling_sample",
    "verify_ms_per_ballot",
    "ceiling_per_core_per_second",
    "ceiling_machine_per_second",
    "casts_over_ceiling",
)


def bench_json(*options: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["bench", "services", *options, "--json"])
    assert result.exit_code == 0, result.output
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def assert_complete(figures: dict[str, object], ballots: int) -> None:
    assert figures["receipts"] == ballots, "every cast got a receipt"
    assert figures["failed_casts"] == 0
    for key in POSITIVE:
        value = figures[key]
        assert isinstance(value, int | float), key
        assert value > 0, key
    names = ("p50", "p95", "p99", "max")
    latencies = [
        value for name in names if isinstance(value := figures[f"latency_{name}_ms"], float)
    ]
    assert len(latencies) == len(names), figures
    assert latencies == sorted(latencies), latencies


def test_bench_services_json_reports_every_figure_and_every_receipt() -> None:
    figures = bench_json("--ballots", "16", "--clients", "4", "--proof-workers", "0")
    assert (figures["ballots"], figures["clients"], figures["client_processes"]) == (16, 4, 1)
    assert (figures["tls"], figures["proof_workers"]) == (False, 0)
    assert (figures["seconds"], figures["pool_exhausted"]) == (None, False)
    assert_complete(figures, 16)


def test_bench_services_over_tls_with_proof_workers_and_two_client_processes() -> None:
    # With more time than the pool lasts, both processes cast their whole share and say so.
    figures = bench_json(
        "--tls",
        "--ballots",
        "8",
        "--seconds",
        "600",
        "--clients",
        "2",
        "--client-processes",
        "2",
        "--proof-workers",
        "1",
    )
    assert (figures["ballots"], figures["clients"], figures["client_processes"]) == (8, 2, 2)
    assert (figures["tls"], figures["proof_workers"]) == (True, 1)
    assert (figures["seconds"], figures["pool_exhausted"]) == (600.0, True)
    assert_complete(figures, 8)


def test_bench_services_table_names_every_figure() -> None:
    result = CliRunner().invoke(
        main,
        ["bench", "services", "--tls", "--ballots", "8", "--clients", "2", "--seconds", "600"],
    )
    assert result.exit_code == 0, result.output
    assert "with TLS" in result.stdout
    for label in (
        "casts per second",
        "latency p50",
        "latency p95",
        "latency p99",
        "latency max",
        "failed casts",
        "server proof workers",
        "server process CPU per cast",
        "ceiling, ",
        "casts ÷ ceiling",
    ):
        assert label in result.stdout, label
    shown = " ".join(result.stdout.split())  # the table's title and the note may wrap
    assert "8 of 8 ballots cast in 600 s by 2 clients" in shown
    assert "The 8 ballots were all cast before 600 s had passed" in shown


def test_bench_services_for_a_time_sizes_its_pool_from_the_ceiling_and_casts_until_then() -> None:
    figures = bench_json("--seconds", "0.5", "--clients", "2", "--proof-workers", "1")
    assert (figures["seconds"], figures["clients"]) == (0.5, 2)
    ceiling, pool = figures["ceiling_machine_per_second"], figures["ballots"]
    assert isinstance(ceiling, float), ceiling
    assert pool == max(
        services_bench.CEILING_SAMPLE, min(services_bench.MAX_POOL, math.ceil(ceiling * 0.5) + 2)
    )
    receipts, wall = figures["receipts"], figures["wall_seconds"]
    assert isinstance(receipts, int), receipts
    assert isinstance(wall, float), wall
    assert 0 < receipts <= pool
    assert figures["failed_casts"] == 0
    # The clients stop only when the time is up or the pool is cast.
    assert figures["pool_exhausted"] or wall >= 0.5, figures


def test_measure_answers_each_acknowledged_ballot_and_leaves_the_election(tmp_path: Path) -> None:
    measured = services_bench.measure(
        tmp_path, CastClient.connect, 3, ballots=7, client_processes=2
    )
    assert measured.figures.receipts == len(measured.acknowledged) == 7
    # A client that answers only tracking codes gives no receipts; each entry is its own.
    assert all(ballot.receipt is None for ballot in measured.acknowledged)
    entries = {ballot.entry for ballot in measured.acknowledged}
    assert len(entries) == 7
    assert measured.election.data_dir == tmp_path
    assert len(measured.election.credentials) == 7
    board = measured.election.open_board()
    try:
        assert all(board.find(leaf_hash(entry)) is not None for entry in entries)
    finally:
        board.close()


def test_measure_refuses_a_bad_run_before_staging_anything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    connect = CastClient.connect
    with pytest.raises(InvalidInput, match="at least 1 ballot"):
        services_bench.measure(data_dir, connect, 2, ballots=0)
    for seconds in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(InvalidInput, match="positive number of seconds"):
            services_bench.measure(data_dir, connect, 2, seconds=seconds)
    with pytest.raises(InvalidInput, match="between 1 and the number of clients"):
        services_bench.measure(data_dir, connect, 2, client_processes=3)
    with pytest.raises(InvalidInput, match="at least 1 client"):
        services_bench.measure(data_dir, connect, 0)
    assert not data_dir.exists()


def test_bench_services_needs_a_client_per_client_process() -> None:
    result = CliRunner().invoke(
        main, ["bench", "services", "--ballots", "4", "--clients", "2", "--client-processes", "3"]
    )
    assert result.exit_code == 2
    assert "--client-processes" in result.output


def test_bench_services_needs_a_positive_time() -> None:
    result = CliRunner().invoke(main, ["bench", "services", "--seconds", "0"])
    assert result.exit_code == 2
    assert "--seconds" in result.output
