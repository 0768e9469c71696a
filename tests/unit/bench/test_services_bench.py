"""The ballot box load benchmark runs end to end and reports every figure (never timings)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from evote.cli import main


def test_bench_services_json_reports_every_figure_and_every_receipt() -> None:
    result = CliRunner().invoke(
        main, ["bench", "services", "--ballots", "16", "--clients", "4", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["ballots"], figures["clients"]) == (16, 4)
    assert figures["receipts"] == 16, "every cast got a receipt"
    assert figures["failed_casts"] == 0
    for key in (
        "server_workers",
        "cpu_count",
        "wall_seconds",
        "casts_per_second",
        "latency_p50_ms",
        "latency_p99_ms",
        "ceiling_sample",
        "verify_ms_per_ballot",
        "ceiling_per_core_per_second",
        "ceiling_machine_per_second",
        "casts_over_ceiling",
    ):
        assert figures[key] > 0, key
    assert figures["latency_p50_ms"] <= figures["latency_p99_ms"]


def test_bench_services_table_names_every_figure() -> None:
    result = CliRunner().invoke(main, ["bench", "services", "--ballots", "4", "--clients", "2"])
    assert result.exit_code == 0, result.output
    for label in ("casts per second", "latency p50", "latency p99", "ceiling", "casts ÷ ceiling"):
        assert label in result.stdout, label
