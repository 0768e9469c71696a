"""The ballot box load benchmark runs end to end and reports every figure (never timings)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from evote.cli import main

#: Figures that are positive in any run that cast at least one ballot.
POSITIVE = (
    "server_workers",
    "cpu_count",
    "wall_seconds",
    "casts_per_second",
    "latency_p50_ms",
    "latency_p99_ms",
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
    p50, p99 = figures["latency_p50_ms"], figures["latency_p99_ms"]
    assert isinstance(p50, float), p50
    assert isinstance(p99, float), p99
    assert p50 <= p99


def test_bench_services_json_reports_every_figure_and_every_receipt() -> None:
    figures = bench_json("--ballots", "16", "--clients", "4", "--proof-workers", "0")
    assert (figures["ballots"], figures["clients"], figures["client_processes"]) == (16, 4, 1)
    assert (figures["tls"], figures["proof_workers"]) == (False, 0)
    assert_complete(figures, 16)


def test_bench_services_over_tls_with_proof_workers_and_two_client_processes() -> None:
    figures = bench_json(
        "--tls",
        "--ballots",
        "8",
        "--clients",
        "2",
        "--client-processes",
        "2",
        "--proof-workers",
        "1",
    )
    assert (figures["ballots"], figures["clients"], figures["client_processes"]) == (8, 2, 2)
    assert (figures["tls"], figures["proof_workers"]) == (True, 1)
    assert_complete(figures, 8)


def test_bench_services_table_names_every_figure() -> None:
    result = CliRunner().invoke(
        main, ["bench", "services", "--tls", "--ballots", "8", "--clients", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "with TLS" in result.stdout
    for label in (
        "casts per second",
        "latency p50",
        "latency p99",
        "failed casts",
        "server proof workers",
        "server process CPU per cast",
        "ceiling, ",
        "casts ÷ ceiling",
    ):
        assert label in result.stdout, label


def test_bench_services_needs_a_client_per_client_process() -> None:
    result = CliRunner().invoke(
        main, ["bench", "services", "--ballots", "4", "--clients", "2", "--client-processes", "3"]
    )
    assert result.exit_code == 2
    assert "--client-processes" in result.output
