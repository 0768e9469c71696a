"""The board benchmark runs end to end and reports every figure (never asserts timings)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from evote.cli import main


def test_bench_board_json_reports_every_figure() -> None:
    result = CliRunner().invoke(main, ["bench", "board", "--entries", "64", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["entries"] == 64
    for key in (
        "appends_per_second_single",
        "entries_per_second_batch_32",
        "inclusion_proofs_generated_per_second",
        "inclusion_proofs_verified_per_second",
        "consistency_proofs_generated_per_second",
        "consistency_proofs_verified_per_second",
    ):
        assert figures[key] > 0, key
