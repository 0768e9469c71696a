"""Hypothesis properties of scheme B, threshold Paillier (crypto spec §4, §7).

One small key per module (288-bit safe primes, so κ = 256 stays below both; see the unit
tests' docstring), with ``phe.PaillierPrivateKey`` as the known-answer oracle. Every property
runs as many examples as the active Hypothesis profile asks (tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import phe
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evote.crypto.encoding import Decoded, Value, decode, encode
from evote.crypto.paillier import (
    KAPPA,
    MIN_PRIME_BITS,
    PaillierCiphertext,
    PaillierDecryptionShare,
    PaillierKeyShare,
    PaillierPublicKey,
    PaillierRangeProof,
    add,
    combine,
    deal_from_primes,
    encrypt,
    partial_decrypt,
    prove_range,
    safe_prime,
    sum_ciphertexts,
    verify_partial,
    verify_range,
)
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.rng import random_unit
from evote.errors import DecodeError, ProofError, TallyOutOfRange

P = safe_prime(MIN_PRIME_BITS)
Q = safe_prime(MIN_PRIME_BITS)
while Q == P:
    Q = safe_prime(MIN_PRIME_BITS)
DEALT = deal_from_primes(P, Q, 5, 3)
KEY = DEALT.public_key
N, N2 = KEY.n, KEY.n_squared
ORACLE = phe.PaillierPrivateKey(phe.PaillierPublicKey(N), P, Q)
TARGET = DecryptionTarget(b"\x77" * 32, b"property-tally")

hashes = st.binary(min_size=32, max_size=32)
indices = st.integers(min_value=0, max_value=50)
plaintexts = st.integers(min_value=0, max_value=10**4)


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


def _encrypt(value: int) -> tuple[PaillierCiphertext, int]:
    nonce = random_unit(N)
    return encrypt(value, nonce, KEY), nonce


def _decrypt(ciphertext: PaillierCiphertext, guardians: list[int], bound: int) -> int:
    shares = {}
    for index in guardians:
        share = partial_decrypt(ciphertext, DEALT.share_for(index), KEY, TARGET)
        verify_partial(ciphertext, share, KEY, TARGET)
        shares[index] = share
    return combine(ciphertext, shares, KEY, bound)


decrypting_sets = st.lists(
    st.integers(min_value=1, max_value=5), min_size=3, max_size=5, unique=True
)


# --- encryption and decryption -------------------------------------------------------------------


@given(value=plaintexts, guardians=decrypting_sets)
def test_threshold_decryption_inverts_encryption(value: int, guardians: list[int]) -> None:
    ciphertext, nonce = _encrypt(value)
    assert ciphertext.value == (1 + value * N) * pow(nonce, N, N2) % N2
    assert ORACLE.raw_decrypt(ciphertext.value) == value
    assert _decrypt(ciphertext, guardians, 10**4) == value


@given(a=plaintexts, b=plaintexts, guardians=decrypting_sets)
def test_addition_is_homomorphic(a: int, b: int, guardians: list[int]) -> None:
    total = add(_encrypt(a)[0], _encrypt(b)[0], KEY)
    assert ORACLE.raw_decrypt(total.value) == a + b
    assert _decrypt(total, guardians, 2 * 10**4) == a + b


@st.composite
def rosters(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """Random 1 ≤ t ≤ N ≤ 7 and a random decrypting set S with |S| ≥ t."""
    guardians = draw(st.integers(min_value=1, max_value=7), label="N")
    quorum = draw(st.integers(min_value=1, max_value=guardians), label="t")
    chosen = draw(
        st.lists(
            st.integers(min_value=1, max_value=guardians),
            min_size=quorum,
            max_size=guardians,
            unique=True,
        ),
        label="S",
    )
    return guardians, quorum, chosen


@given(roster=rosters(), value=plaintexts, data=st.data())
def test_any_t_of_n_decrypt_and_t_minus_one_do_not(
    roster: tuple[int, int, list[int]], value: int, data: st.DataObject
) -> None:
    guardians, quorum, chosen = roster
    dealt = deal_from_primes(P, Q, guardians, quorum)
    key = dealt.public_key
    ciphertext = encrypt(value, random_unit(N), key)
    shares = {
        index: partial_decrypt(ciphertext, dealt.share_for(index), key, TARGET)
        for index in range(1, guardians + 1)
    }
    for share in shares.values():
        verify_partial(ciphertext, share, key, TARGET)
    assert combine(ciphertext, {i: shares[i] for i in chosen}, key, 10**4) == value
    if quorum >= 2:
        fewer = data.draw(
            st.lists(
                st.sampled_from(sorted(shares)),
                min_size=quorum - 1,
                max_size=quorum - 1,
                unique=True,
            ),
            label="t-1 guardians",
        )
        weakened = dataclasses.replace(key, quorum=quorum - 1)
        with pytest.raises(TallyOutOfRange):
            combine(ciphertext, {i: shares[i] for i in fewer}, weakened, N - 1)


# --- range proofs --------------------------------------------------------------------------------


@given(selection=selections(), statement=statements(contest=False))
def test_honest_selection_proof_verifies(
    selection: tuple[int, int], statement: RangeStatement
) -> None:
    limit, value = selection
    ciphertext, nonce = _encrypt(value)
    proof = prove_range(ciphertext, value, nonce, 0, limit, KEY, statement)
    verify_range(ciphertext, proof, 0, limit, KEY, statement)


@given(data=st.data(), statement=statements(contest=True))
def test_honest_contest_proof_on_a_product_verifies(
    data: st.DataObject, statement: RangeStatement
) -> None:
    hi = data.draw(st.integers(min_value=0, max_value=6), label="hi")
    lo = data.draw(st.integers(min_value=0, max_value=hi), label="lo")
    total = data.draw(st.integers(min_value=lo, max_value=hi), label="total")
    options = data.draw(st.integers(min_value=max(total, 1), max_value=8), label="options")
    votes = data.draw(st.permutations([1] * total + [0] * (options - total)), label="votes")
    encrypted = [_encrypt(v) for v in votes]
    summed = sum_ciphertexts([c for c, _ in encrypted], KEY)
    nonce = math.prod(r for _, r in encrypted) % N
    proof = prove_range(summed, total, nonce, lo, hi, KEY, statement)
    verify_range(summed, proof, lo, hi, KEY, statement)


@given(selection=selections(), statement=statements(), data=st.data())
def test_tampering_with_any_challenge_or_response_fails(
    selection: tuple[int, int], statement: RangeStatement, data: st.DataObject
) -> None:
    limit, value = selection
    ciphertext, nonce = _encrypt(value)
    proof = prove_range(ciphertext, value, nonce, 0, limit, KEY, statement)
    branch = data.draw(st.integers(min_value=0, max_value=limit), label="branch")
    challenges, responses = list(proof.challenges), list(proof.responses)
    if data.draw(st.booleans(), label="tamper challenge"):
        delta = data.draw(st.integers(min_value=1, max_value=(1 << KAPPA) - 1), label="delta")
        challenges[branch] = (challenges[branch] + delta) % (1 << KAPPA)
        expected = "challenge"
    else:
        factor = data.draw(st.integers(min_value=2, max_value=N - 1), label="factor")
        assume(math.gcd(factor, N) == 1)
        responses[branch] = responses[branch] * factor % N
        expected = f"branch[{branch}]"
    tampered = dataclasses.replace(proof, challenges=tuple(challenges), responses=tuple(responses))
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, tampered, 0, limit, KEY, statement)
    assert caught.value.field == expected


@given(selection=selections(), statement=statements(), other=hashes)
def test_proof_under_another_binding_fails(
    selection: tuple[int, int], statement: RangeStatement, other: bytes
) -> None:
    assume(other != statement.binding)
    limit, value = selection
    ciphertext, nonce = _encrypt(value)
    proof = prove_range(ciphertext, value, nonce, 0, limit, KEY, statement)
    replayed = dataclasses.replace(statement, binding=other)
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, proof, 0, limit, KEY, replayed)
    assert caught.value.field == "challenge"


# --- decoders ------------------------------------------------------------------------------------


residues = st.one_of(
    st.integers(min_value=0, max_value=(1 << (8 * KEY.residue_bytes)) - 1),
    st.sampled_from([0, 1, N, P, Q, N2 - 1, N2, N2 - N, P * Q * Q, N2 + 1 - N]),
)


def _is_unit(value: int, modulus: int) -> bool:
    return 0 < value < modulus and math.gcd(value, N) == 1


@given(value=residues)
def test_ciphertext_decoder_accepts_exactly_z_star_n_squared(value: int) -> None:
    data = decode(encode(value.to_bytes(KEY.residue_bytes, "big")))
    if _is_unit(value, N2):
        assert PaillierCiphertext.from_value(data, KEY).value == value
    else:
        with pytest.raises(DecodeError):
            PaillierCiphertext.from_value(data, KEY)


@given(
    commitment=residues,
    challenge=st.integers(min_value=0, max_value=(1 << KAPPA) - 1),
    response=st.one_of(
        st.integers(min_value=0, max_value=(1 << (8 * KEY.unit_bytes)) - 1),
        st.sampled_from([0, 1, N - 1, N, P, Q]),
    ),
)
def test_range_proof_decoder_accepts_exactly_the_ranges_of_section_4_4(
    commitment: int, challenge: int, response: int
) -> None:
    value: Value = [
        [commitment.to_bytes(KEY.residue_bytes, "big")],
        [challenge.to_bytes(KAPPA // 8, "big")],
        [response.to_bytes(KEY.unit_bytes, "big")],
    ]
    data = decode(encode(value))
    if _is_unit(commitment, N2) and _is_unit(response, N):
        proof = PaillierRangeProof.from_value(data, KEY, 1)
        assert proof == PaillierRangeProof((commitment,), (challenge,), (response,))
        assert encode(proof.to_value(KEY)) == encode(value)
    else:
        with pytest.raises(DecodeError):
            PaillierRangeProof.from_value(data, KEY, 1)


@given(
    guardian=st.integers(min_value=0, max_value=7),
    share=residues,
    response_bits=st.integers(min_value=0, max_value=KEY.response_bits + 64),
    data=st.data(),
)
def test_share_decoder_accepts_exactly_its_ranges(
    guardian: int, share: int, response_bits: int, data: st.DataObject
) -> None:
    response = data.draw(
        st.integers(
            min_value=(1 << (response_bits - 1)) if response_bits else 0,
            max_value=(1 << response_bits) - 1 if response_bits else 0,
        ),
        label="response",
    )
    a, b = _encrypt(1)[0].value, _encrypt(2)[0].value
    width = KEY.residue_bytes
    value: Value = [
        guardian,
        share.to_bytes(width, "big"),
        a.to_bytes(width, "big"),
        b.to_bytes(width, "big"),
        response,
    ]
    decoded = decode(encode(value))
    if (
        1 <= guardian <= KEY.guardians
        and _is_unit(share, N2)
        and response_bits <= (KEY.response_bits)
    ):
        parsed = PaillierDecryptionShare.from_value(decoded, KEY)
        assert parsed == PaillierDecryptionShare(guardian, share, a, b, response)
    else:
        with pytest.raises(DecodeError):
            PaillierDecryptionShare.from_value(decoded, KEY)


@given(v=residues)
def test_public_key_decoder_accepts_exactly_units_of_order_above_two(v: int) -> None:
    value: Value = [
        "evote/v1/paillier-key",
        N,
        KEY.quorum,
        v.to_bytes(KEY.residue_bytes, "big"),
        [key.to_bytes(KEY.residue_bytes, "big") for key in KEY.verification_keys],
    ]
    decoded = decode(encode(value))
    if _is_unit(v, N2) and v * v % N2 != 1:
        assert PaillierPublicKey.from_value(decoded).v == v
    else:
        with pytest.raises(DecodeError):
            PaillierPublicKey.from_value(decoded)


decoded_values: st.SearchStrategy[Decoded] = st.recursive(
    st.one_of(
        st.binary(max_size=40),
        st.integers(min_value=0, max_value=1 << 1300),
        st.text(alphabet=st.characters(codec="ascii"), max_size=8),
        st.sampled_from(["evote/v1/paillier-key", "evote/v1/paillier-key-share"]),
    ),
    lambda children: st.lists(children, max_size=6),
    max_leaves=20,
)


@given(value=decoded_values)
def test_decoders_refuse_arbitrary_values_with_decode_error(value: Decoded) -> None:
    # Anything a decoder does not refuse must re-encode to exactly what it read.
    decoders: list[Callable[[Decoded], Value]] = [
        (lambda v: PaillierPublicKey.from_value(v).to_value()),
        (lambda v: PaillierKeyShare.from_value(v, KEY).to_value()),
        (lambda v: PaillierCiphertext.from_value(v, KEY).to_value(KEY)),
        (lambda v: PaillierRangeProof.from_value(v, KEY, 1).to_value(KEY)),
        (lambda v: PaillierDecryptionShare.from_value(v, KEY).to_value(KEY)),
    ]
    for decoder in decoders:
        try:
            reencoded = decoder(value)
        except DecodeError:
            continue
        assert encode(reencoded) == encode(value)
