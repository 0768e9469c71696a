"""The benchmark's counts, output shape and self-checks (never its timings)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from evote.bench import crypto as crypto_bench
from evote.bench.crypto import _reference_context, count_operations
from evote.cli import main
from evote.crypto import group
from evote.crypto.group import Scalar, base_mul, mul
from evote.crypto.paillier import DealerOutput, PaillierKeyShare
from evote.errors import InvalidInput
from tests.unit.election.paillier_keys import dealt


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


def _invoke(*arguments: str) -> str:
    """``evote bench ARGUMENTS``'s standard output, on a console wide enough not to wrap."""
    result = CliRunner().invoke(main, ["bench", *arguments], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _bench_json(*arguments: str) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(_invoke(*arguments, "--json"))
    return figures


@pytest.fixture(scope="module")
def compared() -> tuple[crypto_bench.Comparison, dict[str, Any]]:
    """One real ``evote bench --compare`` of one ballot each (scheme B's key from the fixed
    test primes through the bench's dealing hook): the comparison and its JSON."""
    made: list[crypto_bench.Comparison] = []
    measure = crypto_bench.compare

    def keeping(*arguments: Any, **options: Any) -> crypto_bench.Comparison:
        made.append(measure(*arguments, **options))
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crypto_bench, "deal_paillier_key", dealt)
        patch.setattr(crypto_bench, "compare", keeping)
        figures = _bench_json("--compare", "--ballots", "1", "--rounds", "1")
    return made[0], figures


def test_bench_json_has_the_documented_keys_and_the_counted_floor() -> None:
    figures = _bench_json("--ballots", "2", "--rounds", "1")
    assert figures["scheme"] == "elgamal"
    for key in ("encrypt_ms_per_ballot", "verify_ms_per_ballot", "floor_verify_ms_per_ballot"):
        assert figures[key] > 0
    # 17 two-branch option proofs (2F + 6V each) and contest proofs of 2, 2 and 4 branches
    # (kF + 3kV each) make 42 fixed-base and 126 variable-base multiplications.
    assert figures["verify_counts"] == {"fixed_base": 42, "variable_base": 126, "validations": 0}
    # 34 ciphertext points and the credential key.
    assert figures["decode_counts"] == {"fixed_base": 0, "variable_base": 0, "validations": 35}
    # The signed board entry: contests, ballot id, credential, style, sequence and signature.
    assert 3500 < figures["ballot_bytes"] <= 4400
    assert {"fixed_base_mul_us", "variable_base_mul_us"} <= set(figures["primitives"])
    decryption = figures["decryption"]
    assert (decryption["guardians"], decryption["quorum"], decryption["aggregates"]) == (5, 3, 17)
    assert decryption["tally_ballots"] == 2
    # 17 shares: a point and a 64-byte proof each, in a signed entry.
    assert 17 * 96 < decryption["shares_entry_bytes"] < 17 * 96 + 1000


def test_compare_measures_scheme_b_without_a_floor_and_both_with_ratios(
    compared: tuple[crypto_bench.Comparison, dict[str, Any]],
) -> None:
    _, figures = compared
    elgamal, paillier, ratios = figures["elgamal"], figures["paillier"], figures["ratios"]
    assert (elgamal["scheme"], paillier["scheme"]) == ("elgamal", "paillier")
    assert (elgamal["key_bits"], paillier["key_bits"]) == (256, 2048)
    assert paillier["verify_ms_per_ballot"] > 0
    # No libsodium floor and no primitive costs for scheme B.
    assert paillier["floor_verify_ms_per_ballot"] is None
    assert paillier["verify_counts"] is None
    assert "primitives" not in paillier
    assert elgamal["verify_counts"]["variable_base"] == 126
    # 17 residues of n² (512 B) with 2-branch proofs (2 residues, 2 challenges, 2 responses)
    # and the contest sums' proofs of 2, 2 and 4 branches: about 44 KB.
    assert 40_000 < paillier["ballot_bytes"] < 48_000
    # Each of the 17 shares: c_i, a and b as residues of n², and a response z.
    assert paillier["decryption"]["aggregates"] == 17
    assert 17 * 3 * 512 < paillier["decryption"]["shares_entry_bytes"] < 17 * 5 * 512
    assert set(ratios) == {label for label, _, _ in crypto_bench.COMPARED}
    size = "ballot (signed board entry)"
    assert ratios[size] == pytest.approx(paillier["ballot_bytes"] / elgamal["ballot_bytes"])


def test_compare_prints_both_schemes_side_by_side(
    compared: tuple[crypto_bench.Comparison, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    comparison, _ = compared
    monkeypatch.setattr(crypto_bench, "compare", lambda *arguments, **options: comparison)
    shown = _invoke("--compare")
    for words in ("A: elgamal (Ed25519)", "B: paillier (2048-bit n)", "B ÷ A"):
        assert words in shown
    for label, _, _ in crypto_bench.COMPARED:
        assert label in shown


def test_scheme_b_prints_its_ballot_and_decryption_tables(
    compared: tuple[crypto_bench.Comparison, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    comparison, _ = compared
    asked: list[tuple[object, ...]] = []

    def run(*arguments: object) -> crypto_bench.SchemeBenchmark:
        asked.append(arguments)
        return comparison.paillier

    monkeypatch.setattr(crypto_bench, "run", run)
    shown = _invoke("--scheme", "paillier", "--ballots", "3")
    assert asked == [("paillier", 3, None)]
    assert "Scheme B (paillier, 2048-bit key)" in shown
    assert "Decryption: 5 guardians, quorum 3, 17 aggregates" in shown
    assert "safe primes" in shown
    assert "Primitive costs" not in shown


def test_compare_with_a_scheme_is_refused() -> None:
    result = CliRunner().invoke(main, ["bench", "--compare", "--scheme", "paillier"])
    assert result.exit_code == 2
    assert "leave out --scheme" in result.output


def test_a_dealer_whose_share_does_not_match_its_key_fails_the_benchmark() -> None:
    honest = dealt(3, 2)

    def cheating(guardians: int, quorum: int) -> DealerOutput:
        first, *others = honest.shares
        return DealerOutput(honest.public_key, (PaillierKeyShare(1, first.secret + 1), *others))

    # The benchmark checks the shares as a verifier does: the wrong share's proof fails.
    with pytest.raises(InvalidInput, match="guardian 1's share of referendum"):
        crypto_bench.run("paillier", 1, 1, guardians=3, quorum=2, dealer=cheating)
