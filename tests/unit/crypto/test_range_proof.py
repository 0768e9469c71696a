"""Disjunctive Chaum–Pedersen range proofs (crypto spec §3.6.3, §5.1, §5.4, §7 negative tests)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Literal

import pytest

from evote.crypto.elgamal import Ciphertext, encrypt
from evote.crypto.group import (
    IDENTITY,
    SCALAR_BYTES,
    L,
    Point,
    Scalar,
    base_mul,
    mul,
    small_multiple,
)
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.range import (
    BRANCH_BYTES,
    MAX_BRANCHES,
    RangeProof,
    prove_range,
    verify_range,
)
from evote.crypto.proofs.statements import RangeStatement
from evote.crypto.rng import random_scalar
from evote.errors import DecodeError, InvalidInput, NonCanonicalScalar, ProofError

SECRET = Scalar(0xC0FFEE_0000_1111_2222_3333_4444_5555)
KEY = base_mul(SECRET)
ELECTION_HASH = b"\x11" * 32
BINDING_A = b"\xaa" * 32
BINDING_B = b"\xbb" * 32
SELECTION = RangeStatement(ELECTION_HASH, BINDING_A, contest_index=1, selection_index=2)
CONTEST = RangeStatement(ELECTION_HASH, BINDING_A, contest_index=1, selection_index=None)


@dataclasses.dataclass(frozen=True)
class Proved:
    ciphertext: Ciphertext
    proof: RangeProof
    nonce: Scalar
    lo: int
    hi: int
    statement: RangeStatement

    def verify(
        self,
        *,
        ciphertext: Ciphertext | None = None,
        proof: RangeProof | None = None,
        lo: int | None = None,
        hi: int | None = None,
        key: Point = KEY,
        statement: RangeStatement | None = None,
    ) -> None:
        verify_range(
            self.ciphertext if ciphertext is None else ciphertext,
            self.proof if proof is None else proof,
            self.lo if lo is None else lo,
            self.hi if hi is None else hi,
            key,
            self.statement if statement is None else statement,
        )


def _prove(value: int, lo: int, hi: int, statement: RangeStatement = SELECTION) -> Proved:
    nonce = random_scalar()
    ciphertext = encrypt(value, nonce, KEY)
    proof = prove_range(ciphertext, value, nonce, lo, hi, KEY, statement)
    return Proved(ciphertext, proof, nonce, lo, hi, statement)


def _expect_failure(field: str, proved: Proved, **changes: object) -> None:
    with pytest.raises(ProofError) as caught:
        proved.verify(**changes)  # type: ignore[arg-type]
    assert caught.value.proof == "range"
    assert caught.value.field == field


def _challenge(
    statement: RangeStatement,
    lo: int,
    hi: int,
    ciphertext: Ciphertext,
    a: list[Point],
    b: list[Point],
) -> Scalar:
    """The challenge exactly as §5.4 lists its inputs, independently of the implementation."""
    label: Literal["range-selection", "range-contest"] = (
        "range-contest" if statement.selection_index is None else "range-selection"
    )
    position: int | str = (
        "contest" if statement.selection_index is None else statement.selection_index
    )
    return hash_to_scalar(
        label,
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        position,
        lo,
        hi,
        KEY,
        ciphertext.alpha,
        ciphertext.beta,
        a,
        b,
    )


def _run_prover(
    ciphertext: Ciphertext,
    value: int,
    nonce: Scalar,
    lo: int,
    hi: int,
    statement: RangeStatement,
    real_branch: int,
) -> RangeProof:
    """The prover algorithm of §3.6.3 written out by hand, with no check that σ ∈ [lo, hi].

    ``real_branch`` is the branch that absorbs the challenge (honestly, ``value − lo``).
    """
    nonces: list[Scalar] = []
    challenges: list[Scalar] = []
    a: list[Point] = []
    b: list[Point] = []
    for branch, j in enumerate(range(lo, hi + 1)):
        u = random_scalar()
        nonces.append(u)
        a.append(base_mul(u))
        if branch == real_branch:
            challenges.append(Scalar(0))
            b.append(mul(u, KEY))
        else:
            c_j = random_scalar()
            challenges.append(c_j)
            b.append(mul(u, KEY) + base_mul(c_j * Scalar(value - j)))
    total = _challenge(statement, lo, hi, ciphertext, a, b)
    others = Scalar(sum(c.value for i, c in enumerate(challenges) if i != real_branch))
    challenges[real_branch] = total - others
    responses = tuple(u - c * nonce for u, c in zip(nonces, challenges, strict=True))
    return RangeProof(tuple(challenges), responses)


def _with_branch(
    proof: RangeProof, index: int, *, c: Scalar | None = None, v: Scalar | None = None
) -> RangeProof:
    challenges = list(proof.challenges)
    responses = list(proof.responses)
    if c is not None:
        challenges[index] = c
    if v is not None:
        responses[index] = v
    return RangeProof(tuple(challenges), tuple(responses))


# --- honest proofs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "lo", "hi"), [(0, 0, 1), (1, 0, 1), (0, 0, 3), (2, 0, 3), (3, 0, 3)]
)
def test_honest_selection_proof_verifies(value: int, lo: int, hi: int) -> None:
    _prove(value, lo, hi).verify()


@pytest.mark.parametrize(
    ("value", "lo", "hi"), [(0, 0, 3), (3, 0, 3), (1, 1, 1), (2, 2, 4), (4, 2, 4)]
)
def test_honest_contest_proof_on_a_sum_verifies(value: int, lo: int, hi: int) -> None:
    # A contest proof is made on the homomorphic sum with the summed nonce (§3.6.3).
    votes = [1] * value + [0] * (5 - value)
    nonces = [random_scalar() for _ in votes]
    ciphertexts = [encrypt(v, n, KEY) for v, n in zip(votes, nonces, strict=True)]
    total = ciphertexts[0]
    for ciphertext in ciphertexts[1:]:
        total = total + ciphertext
    total_nonce = Scalar(sum(n.value for n in nonces))
    proof = prove_range(total, value, total_nonce, lo, hi, KEY, CONTEST)
    verify_range(total, proof, lo, hi, KEY, CONTEST)


def test_proof_has_one_branch_per_value() -> None:
    proved = _prove(2, 0, 5)
    assert len(proved.proof.challenges) == len(proved.proof.responses) == 6
    assert len(proved.proof.encode()) == 6 * BRANCH_BYTES


def test_challenges_sum_to_the_specified_hash() -> None:
    # Every input of §5.4 in the listed order: a hand-written hash over the recomputed
    # commitments must equal Σ c_j. This pins the hash inputs to the spec.
    for proved in [_prove(1, 0, 2, SELECTION), _prove(2, 1, 3, CONTEST)]:
        a = [
            base_mul(v) + mul(c, proved.ciphertext.alpha)
            for c, v in zip(proved.proof.challenges, proved.proof.responses, strict=True)
        ]
        b = [
            mul(v, KEY) + mul(c, proved.ciphertext.beta - small_multiple(j))
            for j, c, v in zip(
                range(proved.lo, proved.hi + 1),
                proved.proof.challenges,
                proved.proof.responses,
                strict=True,
            )
        ]
        expected = _challenge(proved.statement, proved.lo, proved.hi, proved.ciphertext, a, b)
        assert Scalar(sum(c.value for c in proved.proof.challenges)) == expected


def test_proof_nonces_are_fresh() -> None:
    # Re-proving the same witness must not reuse u (v − v' = (c' − c)·ξ would reveal ξ).
    nonce = random_scalar()
    ciphertext = encrypt(1, nonce, KEY)
    first = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    second = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    assert first.challenges != second.challenges
    assert set(first.responses).isdisjoint(second.responses)
    verify_range(ciphertext, first, 0, 1, KEY, SELECTION)
    verify_range(ciphertext, second, 0, 1, KEY, SELECTION)


def test_hand_written_prover_matches_the_real_one() -> None:
    # Makes the forgery tests below meaningful: with an in-range σ this prover is accepted.
    for value, lo, hi in [(0, 0, 1), (1, 0, 1), (2, 1, 4)]:
        nonce = random_scalar()
        ciphertext = encrypt(value, nonce, KEY)
        proof = _run_prover(ciphertext, value, nonce, lo, hi, SELECTION, value - lo)
        verify_range(ciphertext, proof, lo, hi, KEY, SELECTION)


# --- values outside the range ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "lo", "hi"), [(2, 0, 1), (7, 0, 6), (0, 1, 3), (5, 1, 3)])
def test_prove_range_refuses_a_value_outside_the_range(value: int, lo: int, hi: int) -> None:
    nonce = random_scalar()
    ciphertext = encrypt(value, nonce, KEY)
    with pytest.raises(InvalidInput, match="outside the range"):
        prove_range(ciphertext, value, nonce, lo, hi, KEY, SELECTION)


@pytest.mark.parametrize("real_branch", [0, 1])
def test_forged_proof_for_two_in_zero_one_fails(real_branch: int) -> None:
    # σ = 2 with R = 1: running the prover anyway (either branch absorbing the challenge)
    # gives a proof the verifier rejects.
    nonce = random_scalar()
    ciphertext = encrypt(2, nonce, KEY)
    forged = _run_prover(ciphertext, 2, nonce, 0, 1, SELECTION, real_branch)
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, forged, 0, 1, KEY, SELECTION)
    assert caught.value.field == "challenge"


def test_forged_contest_proof_above_the_maximum_fails() -> None:
    nonce = random_scalar()
    ciphertext = encrypt(4, nonce, KEY)
    for real_branch in range(4):
        forged = _run_prover(ciphertext, 4, nonce, 0, 3, CONTEST, real_branch)
        with pytest.raises(ProofError):
            verify_range(ciphertext, forged, 0, 3, KEY, CONTEST)


def test_proof_for_one_range_does_not_prove_a_narrower_range() -> None:
    # An honest proof of 2 ∈ [0, 2] with its last branch dropped is not a proof of 2 ∈ [0, 1].
    proved = _prove(2, 0, 2)
    truncated = RangeProof(proved.proof.challenges[:2], proved.proof.responses[:2])
    _expect_failure("challenge", proved, proof=truncated, hi=1)


# --- bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [(-1, 1), (2, 1), (0, MAX_BRANCHES), (5, 5 + MAX_BRANCHES)])
def test_invalid_bounds_are_refused(lo: int, hi: int) -> None:
    nonce = random_scalar()
    ciphertext = encrypt(0, nonce, KEY)
    with pytest.raises(InvalidInput):
        prove_range(ciphertext, max(lo, 0), nonce, lo, hi, KEY, SELECTION)
    proof = RangeProof((Scalar(1),), (Scalar(1),))
    with pytest.raises(InvalidInput):
        verify_range(ciphertext, proof, lo, hi, KEY, SELECTION)


def test_the_largest_allowed_range_works() -> None:
    _prove(MAX_BRANCHES - 1, 0, MAX_BRANCHES - 1, CONTEST).verify()


# --- tampering with each field ---------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("which", ["challenge", "response"])
def test_each_scalar_plus_one_fails(index: int, which: str) -> None:
    proved = _prove(1, 0, 2)
    if which == "challenge":
        tampered = _with_branch(proved.proof, index, c=proved.proof.challenges[index] + Scalar(1))
    else:
        tampered = _with_branch(proved.proof, index, v=proved.proof.responses[index] + Scalar(1))
    _expect_failure("challenge", proved, proof=tampered)


def test_moving_challenge_mass_between_branches_fails() -> None:
    # Σ c_j is preserved but the per-branch equations break.
    proved = _prove(0, 0, 1)
    one = Scalar(1)
    tampered = _with_branch(
        _with_branch(proved.proof, 0, c=proved.proof.challenges[0] + one),
        1,
        c=proved.proof.challenges[1] - one,
    )
    _expect_failure("challenge", proved, proof=tampered)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(range(4), 2)))
def test_swapping_two_branches_fails(first: int, second: int) -> None:
    proved = _prove(1, 0, 3)
    challenges = list(proved.proof.challenges)
    responses = list(proved.proof.responses)
    challenges[first], challenges[second] = challenges[second], challenges[first]
    responses[first], responses[second] = responses[second], responses[first]
    _expect_failure("challenge", proved, proof=RangeProof(tuple(challenges), tuple(responses)))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_dropping_a_branch_fails(index: int) -> None:
    proved = _prove(1, 0, 2)
    keep = [i for i in range(3) if i != index]
    dropped = RangeProof(
        tuple(proved.proof.challenges[i] for i in keep),
        tuple(proved.proof.responses[i] for i in keep),
    )
    _expect_failure("branch_count", proved, proof=dropped)


def test_adding_a_branch_fails() -> None:
    proved = _prove(1, 0, 1)
    extra = RangeProof(
        (*proved.proof.challenges, Scalar(0)),
        (*proved.proof.responses, random_scalar()),
    )
    _expect_failure("branch_count", proved, proof=extra)


def test_mismatched_challenge_and_response_counts_fail() -> None:
    proved = _prove(1, 0, 1)
    fewer_responses = RangeProof(proved.proof.challenges, proved.proof.responses[:1])
    fewer_challenges = RangeProof(proved.proof.challenges[:1], proved.proof.responses)
    _expect_failure("branch_count", proved, proof=fewer_responses)
    _expect_failure("branch_count", proved, proof=fewer_challenges)


def test_empty_proof_fails() -> None:
    _expect_failure("branch_count", _prove(0, 0, 1), proof=RangeProof((), ()))


def test_replacing_alpha_or_beta_with_another_ciphertexts_fails() -> None:
    proved = _prove(1, 0, 1)
    other = encrypt(1, random_scalar(), KEY)
    _expect_failure("challenge", proved, ciphertext=Ciphertext(other.alpha, proved.ciphertext.beta))
    _expect_failure("challenge", proved, ciphertext=Ciphertext(proved.ciphertext.alpha, other.beta))
    _expect_failure("challenge", proved, ciphertext=other)


def test_proof_does_not_transfer_to_a_mauled_ciphertext() -> None:
    # (α, β + B) would encrypt σ + 1; the old proof must not carry over.
    proved = _prove(0, 0, 1)
    mauled = Ciphertext(proved.ciphertext.alpha, proved.ciphertext.beta + small_multiple(1))
    _expect_failure("challenge", proved, ciphertext=mauled)


def test_alpha_identity_is_rejected() -> None:
    proved = _prove(1, 0, 1)
    forged = Ciphertext(IDENTITY, proved.ciphertext.beta)
    _expect_failure("alpha", proved, ciphertext=forged)
    # Even a ciphertext that is "1 in clear" (β = B) with α = I is refused.
    _expect_failure("alpha", proved, ciphertext=Ciphertext(IDENTITY, small_multiple(1)))


@pytest.mark.parametrize(("lo", "hi"), [(1, 2), (2, 3)])
def test_shifting_the_range_fails(lo: int, hi: int) -> None:
    # Same number of branches, different [lo, hi]: the statement changed.
    _expect_failure("challenge", _prove(1, 0, 1), lo=lo, hi=hi)


def test_changing_lo_or_hi_alone_fails() -> None:
    proved = _prove(1, 0, 2)
    _expect_failure("branch_count", proved, lo=1)
    _expect_failure("branch_count", proved, hi=1)
    _expect_failure("branch_count", proved, hi=3)


def test_contest_range_with_same_width_but_other_bounds_fails() -> None:
    # A contest "exactly 1" proof is a single branch; it is not a proof of "exactly 0".
    proved = _prove(1, 1, 1, CONTEST)
    proved.verify()
    _expect_failure("challenge", proved, lo=0, hi=0)
    _expect_failure("challenge", proved, lo=2, hi=2)


def test_changing_the_key_fails() -> None:
    _expect_failure("challenge", _prove(1, 0, 1), key=base_mul(random_scalar()))


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"election_hash": b"\x12" * 32}, id="election_hash"),
        pytest.param({"binding": BINDING_B}, id="binding"),
        pytest.param({"contest_index": 0}, id="contest_index"),
        pytest.param({"contest_index": 2}, id="contest_index+1"),
        pytest.param({"selection_index": 0}, id="selection_index"),
        pytest.param({"selection_index": 3}, id="selection_index+1"),
        pytest.param({"selection_index": None}, id="selection_as_contest"),
    ],
)
def test_changing_a_selection_statement_element_fails(changed: dict[str, object]) -> None:
    proved = _prove(1, 0, 1, SELECTION)
    statement = dataclasses.replace(SELECTION, **changed)  # type: ignore[arg-type]
    _expect_failure("challenge", proved, statement=statement)


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"election_hash": b"\x12" * 32}, id="election_hash"),
        pytest.param({"binding": BINDING_B}, id="binding"),
        pytest.param({"contest_index": 2}, id="contest_index"),
        pytest.param({"selection_index": 0}, id="contest_as_selection"),
    ],
)
def test_changing_a_contest_statement_element_fails(changed: dict[str, object]) -> None:
    proved = _prove(1, 0, 1, CONTEST)
    statement = dataclasses.replace(CONTEST, **changed)  # type: ignore[arg-type]
    _expect_failure("challenge", proved, statement=statement)


def test_statement_labels_and_positions() -> None:
    assert SELECTION.label == "range-selection"
    assert SELECTION.position == 2
    assert CONTEST.label == "range-contest"
    assert CONTEST.position == "contest"


@pytest.mark.parametrize(
    "arguments",
    [
        (b"\x00" * 31, BINDING_A, 0, 0),
        (ELECTION_HASH, b"\x00" * 33, 0, 0),
        (ELECTION_HASH, BINDING_A, -1, 0),
        (ELECTION_HASH, BINDING_A, 0, -1),
    ],
)
def test_malformed_statements_are_refused(arguments: tuple[bytes, bytes, int, int]) -> None:
    with pytest.raises(InvalidInput):
        RangeStatement(*arguments)


# --- replay ----------------------------------------------------------------------------------


def test_ballot_a_proof_under_ballot_b_binding_fails() -> None:
    # Cortier–Smyth: copying A's ciphertext and proof into ballot B must not verify.
    ballot_a = _prove(1, 0, 1, dataclasses.replace(SELECTION, binding=BINDING_A))
    ballot_b_statement = dataclasses.replace(SELECTION, binding=BINDING_B)
    ballot_a.verify()
    _expect_failure("challenge", ballot_a, statement=ballot_b_statement)
    # B's own honest proof for the same position does verify under B.
    _prove(1, 0, 1, ballot_b_statement).verify()


def test_copied_contest_proof_under_another_binding_fails() -> None:
    ballot_a = _prove(1, 0, 1, CONTEST)
    _expect_failure(
        "challenge", ballot_a, statement=dataclasses.replace(CONTEST, binding=BINDING_B)
    )


# --- encoding --------------------------------------------------------------------------------


def test_encode_decode_round_trip() -> None:
    proved = _prove(2, 0, 3)
    data = proved.proof.encode()
    assert RangeProof.decode(data, 4) == proved.proof
    proved.verify(proof=RangeProof.decode(data, 4))


def _replace_scalar(data: bytes, slot: int, value: int) -> bytes:
    start = slot * SCALAR_BYTES
    return data[:start] + value.to_bytes(SCALAR_BYTES, "little") + data[start + SCALAR_BYTES :]


@pytest.mark.parametrize("branch", [0, 1])
@pytest.mark.parametrize("which", ["challenge", "response"])
def test_non_canonical_scalar_plus_l_is_rejected_by_decode(branch: int, which: str) -> None:
    # R3: c_j + L or v_j + L would verify the same in libsodium; decode must refuse it.
    proved = _prove(1, 0, 1)
    scalar = (
        proved.proof.challenges[branch] if which == "challenge" else proved.proof.responses[branch]
    )
    slot = 2 * branch + (0 if which == "challenge" else 1)
    with pytest.raises(NonCanonicalScalar):
        RangeProof.decode(_replace_scalar(proved.proof.encode(), slot, scalar.value + L), 2)


def test_scalar_equal_to_l_or_all_ones_is_rejected_by_decode() -> None:
    data = _prove(0, 0, 1).proof.encode()
    for value in [L, 2**256 - 1]:
        with pytest.raises(NonCanonicalScalar):
            RangeProof.decode(_replace_scalar(data, 1, value), 2)


def test_decode_rejects_a_length_that_does_not_match_the_branch_count() -> None:
    data = _prove(1, 0, 2).proof.encode()
    with pytest.raises(DecodeError):
        RangeProof.decode(data, 2)
    with pytest.raises(DecodeError):
        RangeProof.decode(data, 4)
    with pytest.raises(DecodeError):
        RangeProof.decode(data[:-1], 3)
    with pytest.raises(DecodeError):
        RangeProof.decode(data + b"\x00", 3)


@pytest.mark.parametrize("branches", [0, -1, MAX_BRANCHES + 1])
def test_decode_rejects_a_branch_count_outside_the_cap(branches: int) -> None:
    with pytest.raises(DecodeError):
        RangeProof.decode(b"\x00" * (max(branches, 0) * BRANCH_BYTES), branches)
