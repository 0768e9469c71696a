"""The benchmark's counts and output shape (never its timings)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from evote.bench.crypto import _reference_context, count_operations
from evote.cli import main
from evote.crypto import group
from evote.crypto.group import Scalar, base_mul, mul


def test_reference_manifest_has_17_options_and_contest_ranges_of_2_2_4_branches() -> None:
    shapes = [contest.shape() for contest in _reference_context().manifest.contests]
    assert sum(len(shape.option_limits) for shape in shapes) == 17
    assert [shape.max_total - shape.min_total + 1 for shape in shapes] == [2, 2, 4]


def test_operation_counter_counts_and_restores_libsodium_calls() -> None:
    original = group._smul_raw
    with count_operations() as counted:
        point = base_mul(Scalar(5))
        mul(Scalar(3), point)
        mul(Scalar(0), point)  # the identity shortcut performs no multiplication
    counts = counted()
    assert (counts.fixed_base, counts.variable_base) == (1, 1)
    assert group._smul_raw is original


def test_bench_json_has_the_documented_keys_and_the_counted_floor() -> None:
    result = CliRunner().invoke(main, ["bench", "--ballots", "2", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("encrypt_ms_per_ballot", "verify_ms_per_ballot", "floor_verify_ms_per_ballot"):
        assert figures[key] > 0
    # 17 two-branch option proofs (2F + 6V each) and contest proofs of 2, 2 and 4 branches
    # (kF + 3kV each) make 42 fixed-base and 126 variable-base multiplications.
    assert figures["verify_counts"] == {"fixed_base": 42, "variable_base": 126, "validations": 0}
    # 34 ciphertext points and the credential key.
    assert figures["decode_counts"]["validations"] == 35
    # The signed board entry: contests, ballot id, credential, style, sequence and signature.
    assert 3500 < figures["ballot_bytes"] <= 4400
