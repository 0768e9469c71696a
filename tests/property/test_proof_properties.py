"""Hypothesis properties of the proofs (crypto spec §7): honest ones verify, tampered ones fail."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evote.crypto.elgamal import encrypt
from evote.crypto.group import L, Point, Scalar, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share, verify_decryption_share
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.range import RangeProof, prove_range, verify_range
from evote.crypto.proofs.schnorr import prove_coefficient, verify_coefficient
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.rng import random_scalar
from evote.errors import InvalidInput, ProofError

nonzero_scalars = st.integers(min_value=1, max_value=L - 1).map(Scalar)
hashes = st.binary(min_size=32, max_size=32)
indices = st.integers(min_value=0, max_value=50)
guardian_indices = st.integers(min_value=1, max_value=1000)


@st.composite
def statements(draw: st.DrawFn, *, contest: bool | None = None) -> RangeStatement:
    is_contest = draw(st.booleans()) if contest is None else contest
    return RangeStatement(
        draw(hashes), draw(hashes), draw(indices), None if is_contest else draw(indices)
    )


@st.composite
def selections(draw: st.DrawFn) -> tuple[int, int]:
    """An option limit R ∈ [1, 6] and a value σ ∈ [0, R]."""
    limit = draw(st.integers(min_value=1, max_value=6))
    return limit, draw(st.integers(min_value=0, max_value=limit))


@given(
    selection=selections(),
    nonce=nonzero_scalars,
    secret=nonzero_scalars,
    statement=statements(contest=False),
)
def test_honest_selection_proof_verifies(
    selection: tuple[int, int], nonce: Scalar, secret: Scalar, statement: RangeStatement
) -> None:
    limit, value = selection
    key = base_mul(secret)
    ciphertext = encrypt(value, nonce, key)
    proof = prove_range(ciphertext, value, nonce, 0, limit, key, statement)
    verify_range(ciphertext, proof, 0, limit, key, statement)


@given(data=st.data(), secret=nonzero_scalars, statement=statements(contest=True))
def test_honest_contest_proof_verifies(
    data: st.DataObject, secret: Scalar, statement: RangeStatement
) -> None:
    # A random contest [lo, hi] and 0/1 selections whose sum lies in it; the proof is made on
    # the homomorphic sum with the summed nonce.
    hi = data.draw(st.integers(min_value=0, max_value=6), label="hi")
    lo = data.draw(st.integers(min_value=0, max_value=hi), label="lo")
    total = data.draw(st.integers(min_value=lo, max_value=hi), label="total")
    options = data.draw(st.integers(min_value=max(total, 1), max_value=8), label="options")
    votes = data.draw(st.permutations([1] * total + [0] * (options - total)), label="votes")
    nonces = data.draw(st.lists(nonzero_scalars, min_size=options, max_size=options))
    key = base_mul(secret)
    ciphertexts = [encrypt(v, n, key) for v, n in zip(votes, nonces, strict=True)]
    summed = ciphertexts[0]
    for ciphertext in ciphertexts[1:]:
        summed = summed + ciphertext
    summed_nonce = Scalar(sum(n.value for n in nonces))
    assume(not summed_nonce.is_zero())
    proof = prove_range(summed, total, summed_nonce, lo, hi, key, statement)
    verify_range(summed, proof, lo, hi, key, statement)


@given(
    selection=selections(),
    nonce=nonzero_scalars,
    statement=statements(),
    data=st.data(),
)
def test_tampering_with_any_scalar_fails(
    selection: tuple[int, int], nonce: Scalar, statement: RangeStatement, data: st.DataObject
) -> None:
    limit, value = selection
    key = base_mul(Scalar(0xABCDEF))
    ciphertext = encrypt(value, nonce, key)
    proof = prove_range(ciphertext, value, nonce, 0, limit, key, statement)
    branch = data.draw(st.integers(min_value=0, max_value=limit), label="branch")
    delta = data.draw(nonzero_scalars, label="delta")
    challenges, responses = list(proof.challenges), list(proof.responses)
    if data.draw(st.booleans(), label="tamper challenge"):
        challenges[branch] = challenges[branch] + delta
    else:
        responses[branch] = responses[branch] + delta
    tampered = RangeProof(tuple(challenges), tuple(responses))
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, tampered, 0, limit, key, statement)
    assert caught.value.field == "challenge"


@given(selection=selections(), nonce=nonzero_scalars, statement=statements(), other=hashes)
def test_proof_under_another_binding_fails(
    selection: tuple[int, int], nonce: Scalar, statement: RangeStatement, other: bytes
) -> None:
    assume(other != statement.binding)
    limit, value = selection
    key = base_mul(Scalar(0x1234567))
    ciphertext = encrypt(value, nonce, key)
    proof = prove_range(ciphertext, value, nonce, 0, limit, key, statement)
    replayed = dataclasses.replace(statement, binding=other)
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, proof, 0, limit, key, replayed)
    assert caught.value.field == "challenge"


def _prove_regardless(
    ciphertext_value: int,
    nonce: Scalar,
    limit: int,
    key: Point,
    statement: RangeStatement,
    real: int,
) -> RangeProof:
    """The §3.6.3 prover without its range check; ``real`` absorbs the challenge."""
    ciphertext = encrypt(ciphertext_value, nonce, key)
    us = [random_scalar() for _ in range(limit + 1)]
    cs = [random_scalar() for _ in range(limit + 1)]
    a = [base_mul(u) for u in us]
    b = [
        mul(u, key) if j == real else mul(u, key) + base_mul(c * Scalar(ciphertext_value - j))
        for j, (u, c) in enumerate(zip(us, cs, strict=True))
    ]
    total = hash_to_scalar(
        statement.label,
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        statement.position,
        0,
        limit,
        key,
        ciphertext.alpha,
        ciphertext.beta,
        a,
        b,
    )
    cs[real] = total - Scalar(sum(c.value for j, c in enumerate(cs) if j != real))
    return RangeProof(tuple(cs), tuple(u - c * nonce for u, c in zip(us, cs, strict=True)))


@given(data=st.data(), nonce=nonzero_scalars, statement=statements())
def test_value_outside_the_range_has_no_accepted_proof(
    data: st.DataObject, nonce: Scalar, statement: RangeStatement
) -> None:
    limit = data.draw(st.integers(min_value=1, max_value=6), label="R")
    value = data.draw(st.integers(min_value=limit + 1, max_value=limit + 10), label="σ")
    real = data.draw(st.integers(min_value=0, max_value=limit), label="real branch")
    key = base_mul(Scalar(0x7777))
    ciphertext = encrypt(value, nonce, key)
    with pytest.raises(InvalidInput):
        prove_range(ciphertext, value, nonce, 0, limit, key, statement)
    forged = _prove_regardless(value, nonce, limit, key, statement, real)
    with pytest.raises(ProofError):
        verify_range(ciphertext, forged, 0, limit, key, statement)
    # Control: the same hand-written prover is accepted for an in-range value.
    in_range = data.draw(st.integers(min_value=0, max_value=limit), label="in-range σ")
    honest = _prove_regardless(in_range, nonce, limit, key, statement, in_range)
    verify_range(encrypt(in_range, nonce, key), honest, 0, limit, key, statement)


@given(
    secret=nonzero_scalars,
    base_hash=hashes,
    guardian=guardian_indices,
    coefficient=st.integers(min_value=0, max_value=10),
    other_guardian=guardian_indices,
)
def test_schnorr_honest_verifies_and_is_bound_to_its_guardian(
    secret: Scalar, base_hash: bytes, guardian: int, coefficient: int, other_guardian: int
) -> None:
    commitment, proof = prove_coefficient(secret, base_hash, guardian, coefficient)
    verify_coefficient(commitment, proof, base_hash, guardian, coefficient)
    assume(other_guardian != guardian)
    with pytest.raises(ProofError) as caught:
        verify_coefficient(commitment, proof, base_hash, other_guardian, coefficient)
    assert caught.value.field == "challenge"


@given(
    key_share=nonzero_scalars,
    nonce=nonzero_scalars,
    value=st.integers(min_value=0, max_value=100),
    guardian=guardian_indices,
    election_hash=hashes,
    target_id=st.binary(min_size=1, max_size=40),
    delta=nonzero_scalars,
)
def test_decryption_share_honest_verifies_and_wrong_share_fails(
    key_share: Scalar,
    nonce: Scalar,
    value: int,
    guardian: int,
    election_hash: bytes,
    target_id: bytes,
    delta: Scalar,
) -> None:
    target = DecryptionTarget(election_hash, target_id)
    ciphertext = encrypt(value, nonce, base_mul(Scalar(99)))
    share = prove_decryption_share(ciphertext, key_share, guardian, target)
    verify_decryption_share(ciphertext, share, base_mul(key_share), target)
    wrong = dataclasses.replace(share, share=share.share + base_mul(delta))
    with pytest.raises(ProofError) as caught:
        verify_decryption_share(ciphertext, wrong, base_mul(key_share), target)
    assert caught.value.field in {"challenge", "share"}
    assert share.proof is not None
    bumped = CompactProof(share.proof.challenge, share.proof.response + delta)
    with pytest.raises(ProofError) as caught:
        verify_decryption_share(
            ciphertext, dataclasses.replace(share, proof=bumped), base_mul(key_share), target
        )
    assert caught.value.field == "challenge"
