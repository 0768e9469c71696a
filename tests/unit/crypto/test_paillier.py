"""Scheme B, threshold Paillier (crypto spec §4, §5.4, §7 Paillier tests).

Keys are small so that the suite stays fast, but never so small that the challenge space
reaches a prime factor: κ = 256 must stay below both primes (§4.4, §5.1 rule 7), and the
design allows no smaller κ, so the test primes have ``MIN_PRIME_BITS`` = 288 bits (a 576-bit
``n``). The primes are generated here and passed to ``deal_from_primes``, so that
``phe.PaillierPrivateKey(pk, p, q)`` can serve as a known-answer oracle; the dealer's own
``deal`` never exposes them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

import gmpy2
import phe
import pytest

from evote.crypto import paillier
from evote.crypto.encoding import Decoded, Value, decode, encode
from evote.crypto.hashing import hash32
from evote.crypto.paillier import (
    KAPPA,
    MAX_BRANCHES,
    MAX_GUARDIANS,
    MIN_MODULUS_BITS,
    MIN_PRIME_BITS,
    ZERO_CIPHERTEXT,
    DealerOutput,
    PaillierCiphertext,
    PaillierDecryptionShare,
    PaillierKeyShare,
    PaillierPublicKey,
    PaillierRangeProof,
    ThresholdPaillier,
    add,
    check_key_share,
    combine,
    deal,
    deal_from_primes,
    encrypt,
    paillier_scheme_for,
    partial_decrypt,
    prove_range,
    safe_prime,
    sum_ciphertexts,
    verify_partial,
    verify_range,
)
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.rng import random_below, random_unit
from evote.crypto.scheme import PROTOCOL_VERSION
from evote.errors import (
    DecodeError,
    InvalidInput,
    ProofError,
    ShareError,
    TallyOutOfRange,
    VerificationError,
)

GUARDIANS = 5
QUORUM = 3
ELECTION_HASH = b"\x11" * 32
BINDING = b"\xaa" * 32
SELECTION = RangeStatement(ELECTION_HASH, BINDING, contest_index=1, selection_index=2)
CONTEST = RangeStatement(ELECTION_HASH, BINDING, contest_index=1, selection_index=None)
TARGET = DecryptionTarget(ELECTION_HASH, b"contest-1/option-2")


def _two_safe_primes(bits: int = MIN_PRIME_BITS) -> tuple[int, int]:
    first = safe_prime(bits)
    while True:
        second = safe_prime(bits)
        if second != first:
            return first, second


P, Q = _two_safe_primes()
DEALT = deal_from_primes(P, Q, GUARDIANS, QUORUM)
KEY = DEALT.public_key
N, N2 = KEY.n, KEY.n * KEY.n
ORACLE = phe.PaillierPrivateKey(phe.PaillierPublicKey(N), P, Q)
# A second, unrelated key: the "n" input of every statement.
OTHER = deal_from_primes(*_two_safe_primes(), GUARDIANS, QUORUM)
SCHEME = ThresholdPaillier(KEY)


def _encrypt(value: int, key: PaillierPublicKey = KEY) -> tuple[PaillierCiphertext, int]:
    nonce = random_unit(key.n)
    return encrypt(value, nonce, key), nonce


def _shares(
    ciphertext: PaillierCiphertext, guardians: tuple[int, ...]
) -> dict[int, PaillierDecryptionShare]:
    shares = {}
    for index in guardians:
        share = partial_decrypt(ciphertext, DEALT.share_for(index), KEY, TARGET)
        verify_partial(ciphertext, share, KEY, TARGET)
        shares[index] = share
    return shares


def _roundtrip(value: Value) -> Decoded:
    return decode(encode(value))


def _short(value: object) -> str | None:
    """Readable test ids for parameters holding big integers or long byte strings."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"{'-' if value < 0 else ''}int{value.bit_length()}b"
    if isinstance(value, bytes) and len(value) > 8:
        return f"bytes{len(value)}"
    return None


# --- dealer and keys (§4.2) ----------------------------------------------------------------------


def test_dealt_key_has_the_published_shape() -> None:
    assert N == P * Q
    assert N.bit_length() == MIN_MODULUS_BITS
    assert min(P, Q) > 1 << KAPPA  # the challenge space stays below both primes
    assert KEY.guardians == GUARDIANS
    assert KEY.quorum == QUORUM
    assert KEY.delta == math.factorial(GUARDIANS)
    assert [s.guardian for s in DEALT.shares] == list(range(1, GUARDIANS + 1))


def test_every_share_matches_its_verification_key() -> None:
    for share in DEALT.shares:
        check_key_share(share, KEY)
        assert pow(KEY.v, KEY.delta * share.secret, N2) == KEY.verification_key(share.guardian)


def test_shares_interpolate_to_delta_times_d() -> None:
    # With p, q known here: d ≡ 0 (mod m), d ≡ 1 (mod n), and for every t-subset the integer
    # weights λ_i = Δ·Π j/(j − i) give Σ λ_i·s_i ≡ Δ·d (mod nm).
    m = (P - 1) // 2 * ((Q - 1) // 2)
    d = m * pow(m, -1, N)
    assert d % m == 0
    assert d % N == 1
    for indices in itertools.combinations(range(1, GUARDIANS + 1), QUORUM):
        total = 0
        for i in indices:
            numerator, denominator = KEY.delta, 1
            for j in indices:
                if j != i:
                    numerator *= j
                    denominator *= j - i
            assert numerator % denominator == 0  # Δ makes every λ_i an integer
            total += numerator // denominator * DEALT.share_for(i).secret
        assert total % (N * m) == KEY.delta * d % (N * m)


@pytest.mark.parametrize(
    "share",
    [
        pytest.param(lambda: PaillierKeyShare(1, DEALT.shares[0].secret + 1), id="secret+1"),
        pytest.param(lambda: PaillierKeyShare(2, DEALT.shares[0].secret), id="other-guardian"),
        pytest.param(lambda: PaillierKeyShare(1, OTHER.shares[0].secret), id="other-key"),
        pytest.param(lambda: PaillierKeyShare(1, N2), id="oversized"),
    ],
)
def test_a_wrong_key_share_fails_the_guardian_check(share: Callable[[], PaillierKeyShare]) -> None:
    with pytest.raises(ShareError, match="does not match"):
        check_key_share(share(), KEY)


def test_dealer_output_carries_no_dealer_secret() -> None:
    assert {f.name for f in dataclasses.fields(DealerOutput)} == {"public_key", "shares"}
    assert {f.name for f in dataclasses.fields(PaillierPublicKey)} == {
        "n",
        "v",
        "verification_keys",
        "quorum",
    }
    assert {f.name for f in dataclasses.fields(PaillierKeyShare)} == {"guardian", "secret"}
    published = [KEY.n, KEY.v, *KEY.verification_keys, *(s.secret for s in DEALT.shares)]
    for secret in [P, Q, (P - 1) // 2, (Q - 1) // 2]:
        assert all(value != secret for value in published)
    # repr never shows a guardian's secret.
    for share in DEALT.shares:
        assert str(share.secret) not in repr(share)
        assert str(share.secret) not in repr(DEALT)


def test_deal_makes_a_fresh_key_of_the_asked_size() -> None:
    first = deal(3, 2, modulus_bits=MIN_MODULUS_BITS)
    second = deal(3, 2, modulus_bits=MIN_MODULUS_BITS)
    for dealt in (first, second):
        assert dealt.public_key.n.bit_length() == MIN_MODULUS_BITS
        assert dealt.public_key.guardians == 3
        for share in dealt.shares:
            check_key_share(share, dealt.public_key)
    assert first.public_key.n != second.public_key.n
    # Known answer through the threshold decryption: the dealer's key works end to end.
    key = first.public_key
    ciphertext = encrypt(7, random_unit(key.n), key)
    shares = {i: partial_decrypt(ciphertext, first.share_for(i), key, TARGET) for i in (1, 3)}
    assert combine(ciphertext, shares, key, 10) == 7


@pytest.mark.parametrize(
    ("guardians", "quorum", "bits"),
    [
        (3, 2, MIN_MODULUS_BITS - 2),
        (3, 2, MIN_MODULUS_BITS + 1),
        (3, 2, paillier.MAX_MODULUS_BITS + 2),
        (0, 1, MIN_MODULUS_BITS),
        (MAX_GUARDIANS + 1, 2, MIN_MODULUS_BITS),
        (3, 0, MIN_MODULUS_BITS),
        (3, 4, MIN_MODULUS_BITS),
    ],
)
def test_deal_refuses_bad_parameters(guardians: int, quorum: int, bits: int) -> None:
    with pytest.raises(InvalidInput):
        deal(guardians, quorum, modulus_bits=bits)


def test_safe_prime_has_the_asked_shape() -> None:
    prime = safe_prime(MIN_PRIME_BITS)
    assert prime.bit_length() == MIN_PRIME_BITS
    assert prime >> (MIN_PRIME_BITS - 2) == 0b11  # so that n = pq has exactly 2·bits bits
    assert gmpy2.is_prime(prime, 50)
    assert gmpy2.is_prime((prime - 1) // 2, 50)


@pytest.mark.parametrize("bits", [MIN_PRIME_BITS - 1, 64, paillier.MAX_MODULUS_BITS // 2 + 1])
def test_safe_prime_refuses_sizes_outside_the_design(bits: int) -> None:
    with pytest.raises(InvalidInput):
        safe_prime(bits)


def _prime_but_not_safe(bits: int) -> int:
    while True:
        # The top two bits set, as the dealer's primes have: n keeps its full size.
        candidate = int(gmpy2.next_prime(random_below(1 << bits) | (0b11 << (bits - 2))))
        if candidate.bit_length() == bits and not gmpy2.is_prime((candidate - 1) // 2):
            return candidate


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        pytest.param(lambda: P, lambda: P, "differ", id="equal"),
        pytest.param(lambda: P, lambda: _prime_but_not_safe(MIN_PRIME_BITS), "safe", id="unsafe"),
        pytest.param(lambda: P, lambda: (3 << (MIN_PRIME_BITS - 2)) + 3, "safe", id="composite"),
        pytest.param(lambda: 23, lambda: 29, "bits", id="tiny"),
        pytest.param(
            lambda: P, lambda: safe_prime(MIN_PRIME_BITS + 8), "same size", id="unbalanced"
        ),
    ],
)
def test_deal_from_primes_refuses_weak_primes(
    p: Callable[[], int], q: Callable[[], int], message: str
) -> None:
    first, second = p(), q()
    with pytest.raises(InvalidInput, match=message):
        deal_from_primes(first, second, GUARDIANS, QUORUM)


# --- public key validation -----------------------------------------------------------------------


def _large_prime(bits: int) -> int:
    return int(gmpy2.next_prime(random_below(1 << bits) | (1 << (bits - 1))))


@pytest.mark.parametrize(
    ("n", "match"),
    [
        pytest.param(lambda: N + 1, "prime factor below", id="even"),
        pytest.param(lambda: P * 3, "bits", id="too-small"),
        pytest.param(lambda: 3 * _large_prime(600), "prime factor below", id="small-factor"),
        pytest.param(lambda: P * P, "square", id="square"),
        pytest.param(lambda: _large_prime(600), "prime", id="prime"),
        pytest.param(lambda: 1 << 5000 | 1, "bits", id="too-large"),
    ],
)
def test_public_key_refuses_a_bad_modulus(n: Callable[[], int], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        PaillierPublicKey(n(), 4, (16,), 1)


@pytest.mark.parametrize(
    "v",
    [
        pytest.param(0, id="zero"),
        pytest.param(N2, id="n-squared"),
        pytest.param(P * 7, id="multiple-of-p"),
        pytest.param(1, id="one"),
        pytest.param(N2 - 1, id="minus-one"),
        pytest.param(-KEY.v, id="negative"),
    ],
)
def test_public_key_refuses_a_bad_v_or_verification_key(v: int) -> None:
    with pytest.raises(InvalidInput):
        dataclasses.replace(KEY, v=v)
    keys = list(KEY.verification_keys)
    keys[2] = v
    with pytest.raises(InvalidInput):
        dataclasses.replace(KEY, verification_keys=tuple(keys))


@pytest.mark.parametrize(
    ("keys", "quorum"),
    [
        ((), 1),
        (KEY.verification_keys, 0),
        (KEY.verification_keys, GUARDIANS + 1),
        ((KEY.v,) * (MAX_GUARDIANS + 1), 2),
    ],
)
def test_public_key_refuses_a_bad_roster(keys: tuple[int, ...], quorum: int) -> None:
    with pytest.raises(InvalidInput):
        PaillierPublicKey(N, KEY.v, keys, quorum)


def test_verification_key_index_is_checked() -> None:
    for index in (0, GUARDIANS + 1, -1):
        with pytest.raises(InvalidInput):
            KEY.verification_key(index)


# --- canonical encodings -------------------------------------------------------------------------


def test_public_key_round_trips() -> None:
    assert PaillierPublicKey.from_value(_roundtrip(KEY.to_value())) == KEY


def test_key_share_round_trips() -> None:
    for share in DEALT.shares:
        value = _roundtrip(share.to_value())
        assert PaillierKeyShare.from_value(value, KEY) == share


def test_ciphertext_range_proof_and_share_round_trip() -> None:
    ciphertext, nonce = _encrypt(1)
    proof = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    share = _shares(ciphertext, (2,))[2]
    decoded_ct = PaillierCiphertext.from_value(_roundtrip(ciphertext.to_value(KEY)), KEY)
    decoded_proof = PaillierRangeProof.from_value(_roundtrip(proof.to_value(KEY)), KEY, 2)
    decoded_share = PaillierDecryptionShare.from_value(_roundtrip(share.to_value(KEY)), KEY)
    assert (decoded_ct, decoded_proof, decoded_share) == (ciphertext, proof, share)
    verify_range(decoded_ct, decoded_proof, 0, 1, KEY, SELECTION)
    verify_partial(decoded_ct, decoded_share, KEY, TARGET)
    # Residues have the fixed width of n² (or n): the layout the reserved TLV types use.
    assert len(KEY.residue(1)) == (N2.bit_length() + 7) // 8


def _residue(value: int) -> bytes:
    return value.to_bytes(KEY.residue_bytes, "big")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(_residue(0), id="zero"),
        pytest.param(_residue(N), id="n"),
        pytest.param(_residue(N2 - N), id="multiple-of-n"),
        pytest.param(_residue(P * 12345), id="multiple-of-p"),
        pytest.param(_residue(Q), id="q"),
        pytest.param(b"\xff" * KEY.residue_bytes, id="above-n-squared"),
        pytest.param(_residue(5)[1:], id="short"),
        pytest.param(b"\x00" + _residue(5), id="long"),
        pytest.param(5, id="integer"),
        pytest.param([_residue(5)], id="list"),
    ],
)
def test_ciphertext_decoder_rejects(value: Decoded) -> None:
    with pytest.raises(DecodeError):
        PaillierCiphertext.from_value(value, KEY)


def test_n_squared_itself_is_not_a_ciphertext() -> None:
    # n² fits the fixed width; the decoder refuses it by range, not by length.
    assert N2.bit_length() <= 8 * KEY.residue_bytes
    with pytest.raises(DecodeError, match="Z\\*"):
        PaillierCiphertext.from_value(_residue(N2), KEY)


def _proof_value() -> list[list[Value]]:
    """A 2-branch proof's TLV value, built by hand: pins the layout of ``to_value``."""
    ciphertext, nonce = _encrypt(0)
    proof = prove_range(ciphertext, 0, nonce, 0, 1, KEY, SELECTION)
    value: list[list[Value]] = [
        [KEY.residue(a) for a in proof.commitments],
        [e.to_bytes(KAPPA // 8, "big") for e in proof.challenges],
        [z.to_bytes(KEY.unit_bytes, "big") for z in proof.responses],
    ]
    assert encode(value) == encode(proof.to_value(KEY))
    return value


@pytest.mark.parametrize(
    ("part", "index", "replacement"),
    [
        (0, 0, _residue(0)),
        (0, 1, _residue(P * 3)),
        (0, 0, _residue(N2)),
        (0, 1, b"\x01" * (KEY.residue_bytes - 1)),
        (1, 0, b"\x01" * (KAPPA // 8 - 1)),
        (1, 1, b"\x01" * (KAPPA // 8 + 1)),
        (2, 0, (0).to_bytes(KEY.unit_bytes, "big")),
        (2, 1, N.to_bytes(KEY.unit_bytes, "big")),
        (2, 0, Q.to_bytes(KEY.unit_bytes, "big")),
        (2, 1, b"\x01" * (KEY.unit_bytes + 1)),
    ],
    ids=_short,
)
def test_range_proof_decoder_rejects_an_element_out_of_range(
    part: int, index: int, replacement: bytes
) -> None:
    value = _proof_value()
    value[part][index] = replacement
    with pytest.raises(DecodeError):
        PaillierRangeProof.from_value(_roundtrip(value), KEY, 2)


@pytest.mark.parametrize("branches", [0, 1, 3, MAX_BRANCHES + 1])
def test_range_proof_decoder_rejects_a_wrong_branch_count(branches: int) -> None:
    with pytest.raises(DecodeError):
        PaillierRangeProof.from_value(_roundtrip(_proof_value()), KEY, branches)


def test_range_proof_decoder_rejects_uneven_lists() -> None:
    value = _proof_value()
    value[1] = value[1][:1]
    with pytest.raises(DecodeError):
        PaillierRangeProof.from_value(_roundtrip(value), KEY, 2)


def _share_value() -> list[Value]:
    """A share's TLV value, built by hand: pins the layout of ``to_value``."""
    ciphertext, _ = _encrypt(1)
    share = _shares(ciphertext, (4,))[4]
    value: list[Value] = [
        share.guardian,
        KEY.residue(share.share),
        KEY.residue(share.commitment_a),
        KEY.residue(share.commitment_b),
        share.response,
    ]
    assert encode(value) == encode(share.to_value(KEY))
    return value


@pytest.mark.parametrize(
    ("index", "replacement"),
    [
        (0, 0),
        (0, GUARDIANS + 1),
        (0, b"\x01"),
        (1, _residue(0)),
        (1, _residue(P)),
        (2, _residue(N2)),
        (2, _residue(Q * 5)),
        (3, _residue(N)),
        (3, _residue(2)[1:]),
        (4, 1 << KEY.response_bits),
        (4, 1 << (KEY.response_bits + 4000)),
        (4, b"\x01"),
    ],
    ids=_short,
)
def test_share_decoder_rejects(index: int, replacement: Value) -> None:
    value = _share_value()
    value[index] = replacement
    with pytest.raises(DecodeError):
        PaillierDecryptionShare.from_value(_roundtrip(value), KEY)


def test_share_decoder_accepts_the_largest_response() -> None:
    value = _share_value()
    value[4] = (1 << KEY.response_bits) - 1
    decoded = PaillierDecryptionShare.from_value(_roundtrip(value), KEY)
    assert decoded.response.bit_length() == KEY.response_bits


@pytest.mark.parametrize(
    ("index", "replacement"),
    [
        (0, "evote/v1/paillier-key-shares"),
        (1, 0),
        (1, GUARDIANS + 1),
        (2, N2),
        (2, b"\x01"),
    ],
    ids=_short,
)
def test_key_share_decoder_rejects(index: int, replacement: Value) -> None:
    share = DEALT.shares[0]
    value: list[Value] = ["evote/v1/paillier-key-share", share.guardian, share.secret]
    assert encode(value) == encode(share.to_value())
    value[index] = replacement
    with pytest.raises(DecodeError):
        PaillierKeyShare.from_value(_roundtrip(value), KEY)


@pytest.mark.parametrize(
    ("index", "replacement"),
    [
        (0, "evote/v1/paillier"),
        (1, N + 1),
        (1, N * 3),
        (1, P),
        (2, GUARDIANS + 1),
        (2, 0),
        (3, _residue(1)),
        (3, _residue(P)),
        (3, _residue(KEY.v)[1:]),
        (4, []),
        (4, [_residue(KEY.v)] * (MAX_GUARDIANS + 1)),
        (4, [_residue(0)] * GUARDIANS),
        (4, [b"\x01"] * GUARDIANS),
    ],
    ids=_short,
)
def test_public_key_decoder_rejects(index: int, replacement: Value) -> None:
    value: list[Value] = [
        "evote/v1/paillier-key",
        N,
        QUORUM,
        _residue(KEY.v),
        [_residue(v) for v in KEY.verification_keys],
    ]
    assert encode(value) == encode(KEY.to_value())
    value[index] = replacement
    with pytest.raises(DecodeError):
        PaillierPublicKey.from_value(_roundtrip(value))


@pytest.mark.parametrize(
    "decoder",
    [
        lambda v: PaillierPublicKey.from_value(v),
        lambda v: PaillierKeyShare.from_value(v, KEY),
        lambda v: PaillierCiphertext.from_value(v, KEY),
        lambda v: PaillierRangeProof.from_value(v, KEY, 2),
        lambda v: PaillierDecryptionShare.from_value(v, KEY),
    ],
)
@pytest.mark.parametrize("value", [b"", 0, "x", [], [[], [], []], [0, 0, 0, 0, 0]])
def test_every_decoder_rejects_wrongly_shaped_values(
    decoder: Callable[[Decoded], object], value: Decoded
) -> None:
    with pytest.raises(DecodeError):
        decoder(value)


# --- encryption and the phe traps (§4.3) ---------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 7, 10**6])
def test_raw_encrypt_is_one_plus_sigma_n_times_rho_to_the_n(value: int) -> None:
    nonce = random_unit(N)
    ciphertext = encrypt(value, nonce, KEY)
    assert ciphertext.value == (1 + value * N) * pow(nonce, N, N2) % N2
    assert ciphertext.value == phe.PaillierPublicKey(N).raw_encrypt(value, r_value=nonce)
    assert ORACLE.raw_decrypt(ciphertext.value) == value


def test_large_plaintexts_encrypt_through_phes_inverse_path() -> None:
    # phe encrypts plaintexts near n through an inverse; the result must be the same formula.
    for value in [N - 1, N - 2, N // 2, N - N // 3]:
        nonce = random_unit(N)
        ciphertext = encrypt(value, nonce, KEY)
        assert ciphertext.value == (1 + value * N) * pow(nonce, N, N2) % N2
        assert ORACLE.raw_decrypt(ciphertext.value) == value


@pytest.mark.parametrize(
    "nonce",
    [0, N, P, Q * 2, N + 1, -1, 1 << 2000],
    ids=_short,
)
def test_encrypt_refuses_a_nonce_outside_z_star_n(nonce: int) -> None:
    with pytest.raises(InvalidInput, match="nonce"):
        encrypt(1, nonce, KEY)


@pytest.mark.parametrize("value", [-1, N, N + 5], ids=_short)
def test_encrypt_refuses_a_plaintext_outside_zero_to_n(value: int) -> None:
    with pytest.raises(InvalidInput, match="plaintext"):
        encrypt(value, random_unit(N), KEY)


def test_phe_encrypt_cannot_be_proven() -> None:
    # pk.encrypt() encrypts with r = 1 and then multiplies in r'^n for an r' it never reveals:
    # the only randomness a caller could claim is 1, and a proof made with it fails.
    public = phe.PaillierPublicKey(N)
    encrypted = public.encrypt(1)
    ciphertext = PaillierCiphertext(encrypted.ciphertext(be_secure=False))
    assert ciphertext.value != public.raw_encrypt(1, r_value=1)
    assert ORACLE.raw_decrypt(ciphertext.value) == 1
    proof = prove_range(ciphertext, 1, 1, 0, 1, KEY, SELECTION)
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, proof, 0, 1, KEY, SELECTION)
    assert caught.value.field.startswith("branch")


def test_be_secure_ciphertext_no_longer_matches_its_proof() -> None:
    # EncryptedNumber.ciphertext() defaults to be_secure=True and silently re-randomizes a
    # number that was never obfuscated: the value changes and the proof no longer holds.
    ciphertext, nonce = _encrypt(1)
    proof = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    wrapped = phe.EncryptedNumber(phe.PaillierPublicKey(N), ciphertext.value)
    assert wrapped.ciphertext(be_secure=False) == ciphertext.value
    rerandomized = PaillierCiphertext(wrapped.ciphertext())
    assert rerandomized != ciphertext
    assert ORACLE.raw_decrypt(rerandomized.value) == 1
    verify_range(ciphertext, proof, 0, 1, KEY, SELECTION)
    with pytest.raises(ProofError):
        verify_range(rerandomized, proof, 0, 1, KEY, SELECTION)


def test_phe_replaces_a_zero_nonce_by_its_own_randomness() -> None:
    # raw_encrypt(σ, r_value=0) silently draws r itself (``r_value or random``): that is why
    # encrypt() refuses ρ = 0 rather than lose the randomness it must prove with.
    public = phe.PaillierPublicKey(N)
    assert public.raw_encrypt(1, r_value=0) != public.raw_encrypt(1, r_value=0)
    with pytest.raises(InvalidInput):
        encrypt(1, 0, KEY)


def test_add_is_the_product_mod_n_squared_and_homomorphic() -> None:
    a, _ = _encrypt(20)
    b, _ = _encrypt(22)
    total = add(a, b, KEY)
    assert total.value == a.value * b.value % N2
    assert ORACLE.raw_decrypt(total.value) == 42
    assert combine(total, _shares(total, (1, 2, 3)), KEY, 100) == 42
    assert sum_ciphertexts([a, b], KEY) == total
    assert sum_ciphertexts([], KEY) == ZERO_CIPHERTEXT


# --- threshold decryption (§4.5) -----------------------------------------------------------------


def test_every_subset_of_at_least_t_guardians_decrypts() -> None:
    votes = [1, 0, 1, 1, 0, 1]
    total = sum_ciphertexts([_encrypt(v)[0] for v in votes], KEY)
    shares = _shares(total, tuple(range(1, GUARDIANS + 1)))
    subsets = [
        s for size in range(QUORUM, GUARDIANS + 1) for s in itertools.combinations(shares, size)
    ]
    assert len(subsets) == 16
    for subset in subsets:
        assert combine(total, {i: shares[i] for i in subset}, KEY, len(votes)) == 4


def test_threshold_decryption_matches_phes_private_key() -> None:
    for _ in range(5):
        value = random_below(N)
        ciphertext, _ = _encrypt(value)
        expected = ORACLE.raw_decrypt(ciphertext.value)
        assert expected == value
        assert combine(ciphertext, _shares(ciphertext, (2, 4, 5)), KEY, N - 1) == expected


def test_t_minus_one_shares_do_not_decrypt() -> None:
    ciphertext, _ = _encrypt(3)
    shares = _shares(ciphertext, tuple(range(1, GUARDIANS + 1)))
    for subset in itertools.combinations(shares, QUORUM - 1):
        chosen = {i: shares[i] for i in subset}
        with pytest.raises(InvalidInput, match="at least 3"):
            combine(ciphertext, chosen, KEY, 10)
        # Forced through with a key claiming quorum t − 1, the shares combine to garbage.
        weakened = dataclasses.replace(KEY, quorum=QUORUM - 1)
        with pytest.raises(TallyOutOfRange):
            combine(ciphertext, chosen, weakened, N - 1)


def test_combine_beyond_the_bound_raises_tally_out_of_range() -> None:
    total = sum_ciphertexts([_encrypt(1)[0] for _ in range(3)], KEY)
    shares = _shares(total, (1, 2, 3))
    assert combine(total, shares, KEY, 3) == 3
    for bound in (0, 1, 2):
        with pytest.raises(TallyOutOfRange, match=f"\\[0, {bound}\\]"):
            combine(total, shares, KEY, bound)


def test_combine_with_a_wrong_share_raises_tally_out_of_range() -> None:
    ciphertext, _ = _encrypt(2)
    shares = _shares(ciphertext, (1, 2, 3))
    # c_i·(1+n) shifts the total by a huge amount: caught by the bound (shares must be
    # verified before they are combined).
    wrong = dataclasses.replace(shares[2], share=shares[2].share * (1 + N) % N2)
    with pytest.raises(TallyOutOfRange):
        combine(ciphertext, {**shares, 2: wrong}, KEY, 10)
    unrelated = dataclasses.replace(shares[3], share=_encrypt(5)[0].value)
    with pytest.raises(TallyOutOfRange):
        combine(ciphertext, {**shares, 3: unrelated}, KEY, N - 1)


def test_combine_refuses_mislabeled_or_invalid_shares() -> None:
    ciphertext, _ = _encrypt(1)
    shares = _shares(ciphertext, (1, 2, 3))
    with pytest.raises(InvalidInput, match="guardian 4"):
        combine(ciphertext, {1: shares[1], 2: shares[2], 4: shares[3]}, KEY, 1)
    with pytest.raises(InvalidInput):
        combine(ciphertext, {1: shares[2], 2: shares[1], 3: shares[3]}, KEY, 1)
    bad = dataclasses.replace(shares[3], share=P)
    with pytest.raises(InvalidInput, match="Z\\*"):
        combine(ciphertext, {**shares, 3: bad}, KEY, 1)
    for bound in (-1, N):
        with pytest.raises(InvalidInput, match="bound"):
            combine(ciphertext, shares, KEY, bound)
    with pytest.raises(InvalidInput):
        combine(PaillierCiphertext(0), shares, KEY, 1)


def test_zero_ballots_decrypt_to_zero() -> None:
    shares = _shares(ZERO_CIPHERTEXT, (1, 2, 3))
    assert all(share.share == 1 for share in shares.values())
    assert combine(ZERO_CIPHERTEXT, shares, KEY, 0) == 0


# --- range proofs (§4.4) -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Proved:
    ciphertext: PaillierCiphertext
    proof: PaillierRangeProof
    nonce: int
    value: int
    lo: int
    hi: int
    statement: RangeStatement

    def verify(
        self,
        *,
        ciphertext: PaillierCiphertext | None = None,
        proof: PaillierRangeProof | None = None,
        lo: int | None = None,
        hi: int | None = None,
        key: PaillierPublicKey = KEY,
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


def _prove(
    value: int,
    lo: int,
    hi: int,
    statement: RangeStatement = SELECTION,
    key: PaillierPublicKey = KEY,
) -> Proved:
    ciphertext, nonce = _encrypt(value, key)
    proof = prove_range(ciphertext, value, nonce, lo, hi, key, statement)
    return Proved(ciphertext, proof, nonce, value, lo, hi, statement)


def _expect_failure(field: str | None, proved: Proved, **changes: object) -> None:
    with pytest.raises(ProofError) as caught:
        proved.verify(**changes)  # type: ignore[arg-type]
    assert caught.value.proof == "paillier range"
    if field is not None:
        assert caught.value.field == field


def _with(proof: PaillierRangeProof, part: str, index: int, value: int) -> PaillierRangeProof:
    items = list(getattr(proof, part))
    items[index] = value
    return dataclasses.replace(proof, **{part: tuple(items)})


def _challenge(
    statement: RangeStatement,
    lo: int,
    hi: int,
    ciphertext: int,
    commitments: list[int] | tuple[int, ...],
    key: PaillierPublicKey = KEY,
) -> int:
    """``Hint("paillier/range", H_E, D_b, idx, lo, hi, n, c, [A_j])`` written out from §5.4."""
    width = (key.n_squared.bit_length() + 7) // 8
    position: int | str = (
        "contest" if statement.selection_index is None else statement.selection_index
    )
    digest = hash32(
        "paillier/range",
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        position,
        lo,
        hi,
        key.n,
        ciphertext.to_bytes(width, "big"),
        [a.to_bytes(width, "big") for a in commitments],
    )
    return int.from_bytes(digest, "big")


def _run_prover(
    ciphertext: PaillierCiphertext, value: int, nonce: int, lo: int, hi: int, real_branch: int
) -> PaillierRangeProof:
    """The prover of §4.4 written out by hand, with no check that σ ∈ [lo, hi]."""
    modulus = 1 << KAPPA
    commitments, challenges, responses = [], [], []
    omega = random_unit(N)
    for branch, j in enumerate(range(lo, hi + 1)):
        if branch == real_branch:
            commitments.append(pow(omega, N, N2))
            challenges.append(0)
            responses.append(0)
        else:
            e_j = random_below(modulus)
            z_j = random_unit(N)
            u_j = ciphertext.value * (1 - j * N) % N2
            commitments.append(pow(z_j, N, N2) * pow(u_j, -e_j, N2) % N2)
            challenges.append(e_j)
            responses.append(z_j)
    total = _challenge(SELECTION, lo, hi, ciphertext.value, commitments)
    challenges[real_branch] = (total - sum(challenges)) % modulus
    responses[real_branch] = omega * pow(nonce, challenges[real_branch], N) % N
    return PaillierRangeProof(tuple(commitments), tuple(challenges), tuple(responses))


@pytest.mark.parametrize(("lo", "hi"), [(0, 1), (0, 3), (2, 4), (1, 1), (0, 0)])
def test_honest_proof_verifies_for_every_value_in_the_range(lo: int, hi: int) -> None:
    for value in range(lo, hi + 1):
        for statement in (SELECTION, CONTEST):
            proved = _prove(value, lo, hi, statement)
            assert len(proved.proof.commitments) == hi - lo + 1
            proved.verify()


def test_honest_contest_proof_on_a_product_verifies() -> None:
    # §4.4: contest sums use c̄ = Π c_s mod n² and ρ̄ = Π ρ_s mod n.
    votes = [1, 0, 1, 0, 0]
    encrypted = [_encrypt(v) for v in votes]
    total = sum_ciphertexts([c for c, _ in encrypted], KEY)
    nonce = math.prod(r for _, r in encrypted) % N
    proof = prove_range(total, 2, nonce, 0, 3, KEY, CONTEST)
    verify_range(total, proof, 0, 3, KEY, CONTEST)


def test_challenges_sum_to_the_specified_hash() -> None:
    for proved in (_prove(1, 0, 2, SELECTION), _prove(3, 2, 4, CONTEST)):
        expected = _challenge(
            proved.statement,
            proved.lo,
            proved.hi,
            proved.ciphertext.value,
            proved.proof.commitments,
        )
        assert sum(proved.proof.challenges) % (1 << KAPPA) == expected
        for j, a, e, z in zip(
            range(proved.lo, proved.hi + 1),
            proved.proof.commitments,
            proved.proof.challenges,
            proved.proof.responses,
            strict=True,
        ):
            u = proved.ciphertext.value * pow(1 + N, -j, N2) % N2
            assert pow(z, N, N2) == a * pow(u, e, N2) % N2


def test_proof_nonces_are_fresh() -> None:
    ciphertext, nonce = _encrypt(1)
    first = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    second = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    assert set(first.commitments).isdisjoint(second.commitments)
    assert set(first.responses).isdisjoint(second.responses)


def test_hand_written_prover_matches_the_real_one() -> None:
    # Makes the forgery tests meaningful: with an in-range σ this prover is accepted.
    for value, lo, hi in [(0, 0, 1), (1, 0, 1), (3, 1, 4)]:
        ciphertext, nonce = _encrypt(value)
        proof = _run_prover(ciphertext, value, nonce, lo, hi, value - lo)
        verify_range(ciphertext, proof, lo, hi, KEY, SELECTION)


@pytest.mark.parametrize(("value", "lo", "hi"), [(2, 0, 1), (0, 1, 3), (5, 1, 3), (7, 0, 6)])
def test_prove_range_refuses_a_value_outside_the_range(value: int, lo: int, hi: int) -> None:
    ciphertext, nonce = _encrypt(value)
    with pytest.raises(InvalidInput, match="outside the range"):
        prove_range(ciphertext, value, nonce, lo, hi, KEY, SELECTION)


@pytest.mark.parametrize("real_branch", [0, 1])
def test_a_ciphertext_of_two_cannot_prove_zero_or_one(real_branch: int) -> None:
    ciphertext, nonce = _encrypt(2)
    forged = _run_prover(ciphertext, 2, nonce, 0, 1, real_branch)
    with pytest.raises(ProofError) as caught:
        verify_range(ciphertext, forged, 0, 1, KEY, SELECTION)
    assert caught.value.field == f"branch[{real_branch}]"


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(-1, 1), (2, 1), (0, MAX_BRANCHES), (5, 5 + MAX_BRANCHES), (N - 1, N)],
    ids=_short,
)
def test_invalid_bounds_are_refused(lo: int, hi: int) -> None:
    ciphertext, nonce = _encrypt(0)
    with pytest.raises(InvalidInput):
        prove_range(ciphertext, max(lo, 0), nonce, lo, hi, KEY, SELECTION)
    proof = PaillierRangeProof((1,), (1,), (1,))
    with pytest.raises(InvalidInput):
        verify_range(ciphertext, proof, lo, hi, KEY, SELECTION)


def test_prove_range_refuses_bad_witnesses() -> None:
    ciphertext, _ = _encrypt(1)
    for nonce in (0, N, P):
        with pytest.raises(InvalidInput, match="nonce"):
            prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    for value in (0, P, N2):
        with pytest.raises(InvalidInput, match="ciphertext"):
            prove_range(PaillierCiphertext(value), 1, 1, 0, 1, KEY, SELECTION)


def test_the_largest_allowed_range_works() -> None:
    _prove(MAX_BRANCHES - 1, 0, MAX_BRANCHES - 1, CONTEST).verify()


# Tampering with each field of the proof.


@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_commitment_tampered_fails(index: int) -> None:
    proved = _prove(1, 0, 2)
    commitment = proved.proof.commitments[index]
    other = _encrypt(0)[0].value
    for value in (commitment * (1 + N) % N2, other, commitment * commitment % N2):
        _expect_failure("challenge", proved, proof=_with(proved.proof, "commitments", index, value))
    for value in (0, N2, N2 + commitment, P * 9, -commitment):
        _expect_failure(
            f"commitment[{index}]", proved, proof=_with(proved.proof, "commitments", index, value)
        )


@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_challenge_tampered_fails(index: int) -> None:
    proved = _prove(1, 0, 2)
    challenge = proved.proof.challenges[index]
    for value in ((challenge + 1) % (1 << KAPPA), (challenge - 1) % (1 << KAPPA), 0):
        if value != challenge:
            tampered = _with(proved.proof, "challenges", index, value)
            _expect_failure("challenge", proved, proof=tampered)
    # Out of range: the sum mod 2^κ would be unchanged, so the range check must catch it.
    for value in (challenge + (1 << KAPPA), challenge - (1 << KAPPA)):
        tampered = _with(proved.proof, "challenges", index, value)
        _expect_failure(f"challenge[{index}]", proved, proof=tampered)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_response_tampered_fails(index: int) -> None:
    proved = _prove(1, 0, 2)
    response = proved.proof.responses[index]
    for value in ((response + 1) % N or 1, N - response, random_unit(N)):
        tampered = _with(proved.proof, "responses", index, value)
        _expect_failure(f"branch[{index}]", proved, proof=tampered)
    for value in (response + N, 0, N, P * 5, -response):
        tampered = _with(proved.proof, "responses", index, value)
        _expect_failure(f"response[{index}]", proved, proof=tampered)


def test_moving_challenge_mass_between_branches_fails() -> None:
    # Σ e_j is preserved, the hash too, but the per-branch equations break.
    proved = _prove(0, 0, 1)
    e0, e1 = proved.proof.challenges
    modulus = 1 << KAPPA
    tampered = dataclasses.replace(
        proved.proof, challenges=((e0 + 1) % modulus, (e1 - 1) % modulus)
    )
    _expect_failure("branch[0]", proved, proof=tampered)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(range(3), 2)))
def test_swapping_two_branches_fails(first: int, second: int) -> None:
    proved = _prove(1, 0, 2)
    parts = {}
    for part in ("commitments", "challenges", "responses"):
        items = list(getattr(proved.proof, part))
        items[first], items[second] = items[second], items[first]
        parts[part] = tuple(items)
    _expect_failure("challenge", proved, proof=PaillierRangeProof(**parts))


@pytest.mark.parametrize("part", ["commitments", "challenges", "responses"])
def test_dropping_or_adding_a_branch_fails(part: str) -> None:
    proved = _prove(1, 0, 2)
    items = getattr(proved.proof, part)
    for changed in (items[:2], (*items, items[0]), ()):
        tampered = dataclasses.replace(proved.proof, **{part: changed})
        _expect_failure("branch_count", proved, proof=tampered)


def test_a_proof_without_branches_fails() -> None:
    _expect_failure("branch_count", _prove(0, 0, 1), proof=PaillierRangeProof((), (), ()))


# Tampering with each input of the statement.


def test_another_election_hash_fails() -> None:
    proved = _prove(1, 0, 1)
    moved = dataclasses.replace(SELECTION, election_hash=b"\x12" * 32)
    _expect_failure("challenge", proved, statement=moved)


def test_another_ballot_binding_fails() -> None:
    proved = _prove(1, 0, 1)
    _expect_failure(
        "challenge", proved, statement=dataclasses.replace(SELECTION, binding=b"\xab" * 32)
    )


@pytest.mark.parametrize(
    "statement",
    [
        dataclasses.replace(SELECTION, contest_index=2),
        dataclasses.replace(SELECTION, selection_index=3),
        dataclasses.replace(SELECTION, selection_index=None),
        dataclasses.replace(SELECTION, contest_index=2, selection_index=1),
    ],
)
def test_another_index_fails(statement: RangeStatement) -> None:
    _expect_failure("challenge", _prove(1, 0, 1), statement=statement)


def test_a_contest_proof_is_not_a_selection_proof() -> None:
    proved = _prove(1, 0, 1, CONTEST)
    _expect_failure("challenge", proved, statement=dataclasses.replace(CONTEST, selection_index=1))


@pytest.mark.parametrize(("lo", "hi"), [(1, 2), (2, 3), (5, 6)])
def test_shifting_the_range_fails(lo: int, hi: int) -> None:
    _expect_failure("challenge", _prove(1, 0, 1), lo=lo, hi=hi)


def test_changing_lo_or_hi_alone_fails() -> None:
    proved = _prove(1, 0, 2)
    _expect_failure("branch_count", proved, lo=1)
    _expect_failure("branch_count", proved, hi=1)
    _expect_failure("branch_count", proved, hi=3)


def test_another_modulus_fails() -> None:
    # Prove under the smaller modulus and verify under the larger one, so that every element
    # is still in range there and only the statement differs.
    small, large = sorted((DEALT.public_key, OTHER.public_key), key=lambda k: k.n)
    proved = _prove(1, 0, 1, key=small)
    proved.verify(key=small)
    _expect_failure("challenge", proved, key=large)


def test_another_ciphertext_fails() -> None:
    proved = _prove(1, 0, 1)
    _expect_failure("challenge", proved, ciphertext=_encrypt(1)[0])
    # c·(1+n) encrypts σ + 1 with the same ρ: the old proof must not carry over.
    mauled = PaillierCiphertext(proved.ciphertext.value * (1 + N) % N2)
    _expect_failure("challenge", proved, ciphertext=mauled)


@pytest.mark.parametrize("value", [0, N, N2, P * 3, -1], ids=_short)
def test_a_ciphertext_outside_z_star_fails(value: int) -> None:
    _expect_failure("ciphertext", _prove(1, 0, 1), ciphertext=PaillierCiphertext(value))


# --- decryption shares (§4.5) --------------------------------------------------------------------


def _proved_share(guardian: int = 2) -> tuple[PaillierCiphertext, PaillierDecryptionShare]:
    ciphertext = sum_ciphertexts([_encrypt(1)[0], _encrypt(1)[0]], KEY)
    share = partial_decrypt(ciphertext, DEALT.share_for(guardian), KEY, TARGET)
    return ciphertext, share


def _expect_share_failure(
    field: str | None,
    ciphertext: PaillierCiphertext,
    share: PaillierDecryptionShare,
    key: PaillierPublicKey = KEY,
    target: DecryptionTarget = TARGET,
) -> None:
    with pytest.raises(ProofError) as caught:
        verify_partial(ciphertext, share, key, target)
    assert caught.value.proof == "paillier decryption share"
    if field is not None:
        assert caught.value.field == field


def test_honest_shares_verify_and_are_c_to_the_two_delta_s() -> None:
    for guardian in range(1, GUARDIANS + 1):
        ciphertext, share = _proved_share(guardian)
        secret = DEALT.share_for(guardian).secret
        assert share.guardian == guardian
        assert share.share == pow(ciphertext.value, 2 * KEY.delta * secret, N2)
        assert 0 <= share.response < 1 << KEY.response_bits
        verify_partial(ciphertext, share, KEY, TARGET)


def test_share_challenge_binds_every_specified_input() -> None:
    # The response satisfies both equations under the hash of §5.4 written out by hand.
    ciphertext, share = _proved_share(3)
    width = KEY.residue_bytes
    digest = hash32(
        "paillier/decrypt-share",
        TARGET.election_hash,
        TARGET.target_id,
        3,
        N,
        KEY.v.to_bytes(width, "big"),
        KEY.verification_key(3).to_bytes(width, "big"),
        ciphertext.value.to_bytes(width, "big"),
        share.share.to_bytes(width, "big"),
        share.commitment_a.to_bytes(width, "big"),
        share.commitment_b.to_bytes(width, "big"),
    )
    e = int.from_bytes(digest, "big")
    c4 = pow(ciphertext.value, 4, N2)
    assert pow(c4, share.response, N2) == share.commitment_a * pow(share.share, 2 * e, N2) % N2
    assert pow(KEY.v, share.response, N2) == (
        share.commitment_b * pow(KEY.verification_key(3), e, N2) % N2
    )


def test_share_nonces_are_fresh() -> None:
    ciphertext, first = _proved_share(1)
    second = partial_decrypt(ciphertext, DEALT.share_for(1), KEY, TARGET)
    assert first.share == second.share
    assert first.commitment_a != second.commitment_a
    assert first.response != second.response


@pytest.mark.parametrize("guardian", [1, 3])
def test_a_share_relabeled_as_another_guardians_fails(guardian: int) -> None:
    ciphertext, share = _proved_share(2)
    _expect_share_failure(None, ciphertext, dataclasses.replace(share, guardian=guardian))


@pytest.mark.parametrize("guardian", [0, GUARDIANS + 1, -1])
def test_a_guardian_outside_the_roster_fails(guardian: int) -> None:
    ciphertext, share = _proved_share(2)
    _expect_share_failure("guardian", ciphertext, dataclasses.replace(share, guardian=guardian))


@pytest.mark.parametrize("field_name", ["share", "commitment_a", "commitment_b"])
def test_each_residue_of_the_share_tampered_fails(field_name: str) -> None:
    ciphertext, share = _proved_share(2)
    original = getattr(share, field_name)
    for value in (original * (1 + N) % N2, original * 4 % N2, _encrypt(3)[0].value):
        _expect_share_failure(None, ciphertext, dataclasses.replace(share, **{field_name: value}))
    for value in (0, N2, P, original + N2, -original):
        _expect_share_failure(
            field_name, ciphertext, dataclasses.replace(share, **{field_name: value})
        )


def test_a_share_of_the_wrong_value_fails_even_with_a_fresh_hash() -> None:
    # A false c_i is caught by the first equation, whatever the commitments.
    ciphertext, share = _proved_share(2)
    _expect_share_failure(
        "share_equation", ciphertext, dataclasses.replace(share, share=share.share * 4 % N2)
    )


def test_the_response_tampered_fails() -> None:
    ciphertext, share = _proved_share(2)
    for value in (share.response + 1, share.response - 1, share.response ^ (1 << 100)):
        _expect_share_failure(None, ciphertext, dataclasses.replace(share, response=value))


@pytest.mark.parametrize("value", [-1, 1 << KEY.response_bits, 1 << 100_000], ids=_short)
def test_an_oversized_response_is_rejected_before_exponentiation(value: int) -> None:
    ciphertext, share = _proved_share(2)
    _expect_share_failure("response", ciphertext, dataclasses.replace(share, response=value))


def test_share_under_another_election_or_target_fails() -> None:
    ciphertext, share = _proved_share(2)
    for target in (
        DecryptionTarget(b"\x12" * 32, TARGET.target_id),
        DecryptionTarget(ELECTION_HASH, b"contest-1/option-3"),
    ):
        _expect_share_failure(None, ciphertext, share, target=target)


def test_share_for_another_ciphertext_fails() -> None:
    _, share = _proved_share(2)
    _expect_share_failure(None, _encrypt(2)[0], share)
    _expect_share_failure("ciphertext", PaillierCiphertext(P), share)


def test_share_under_another_modulus_fails() -> None:
    small, large = sorted((DEALT, OTHER), key=lambda d: d.public_key.n)
    ciphertext = encrypt(1, random_unit(small.public_key.n), small.public_key)
    share = partial_decrypt(ciphertext, small.share_for(2), small.public_key, TARGET)
    verify_partial(ciphertext, share, small.public_key, TARGET)
    _expect_share_failure(None, ciphertext, share, key=large.public_key)


def test_share_under_another_v_or_verification_key_fails() -> None:
    ciphertext, share = _proved_share(2)
    keys = list(KEY.verification_keys)
    keys[1], keys[2] = keys[2], keys[1]
    _expect_share_failure(
        None, ciphertext, share, key=dataclasses.replace(KEY, verification_keys=tuple(keys))
    )
    other_v = dataclasses.replace(KEY, v=KEY.v * KEY.v % N2)
    _expect_share_failure(None, ciphertext, share, key=other_v)


def test_a_share_made_with_a_wrong_key_share_fails() -> None:
    # A guardian using a wrong s_i gets a share that cannot be proved against its v_i.
    ciphertext, _ = _proved_share(2)
    wrong = PaillierKeyShare(2, DEALT.share_for(2).secret + 1)
    share = partial_decrypt(ciphertext, wrong, KEY, TARGET)
    _expect_share_failure("key_equation", ciphertext, share)


def test_partial_decrypt_refuses_bad_input() -> None:
    with pytest.raises(InvalidInput):
        partial_decrypt(PaillierCiphertext(N), DEALT.share_for(1), KEY, TARGET)
    with pytest.raises(InvalidInput):
        partial_decrypt(_encrypt(1)[0], PaillierKeyShare(GUARDIANS + 1, 5), KEY, TARGET)


# --- the scheme interface ------------------------------------------------------------------------


def test_params_hash_binds_the_key_kappa_hash_and_version() -> None:
    expected = hash32(
        "params",
        "paillier",
        N,
        KEY.v.to_bytes(KEY.residue_bytes, "big"),
        KAPPA,
        "sha512-tlv",
        PROTOCOL_VERSION,
    )
    assert SCHEME.params_hash == expected
    assert len(SCHEME.params_hash) == 32
    assert ThresholdPaillier(OTHER.public_key).params_hash != expected
    assert ThresholdPaillier(dataclasses.replace(KEY, v=KEY.v**2 % N2)).params_hash != expected
    assert SCHEME.name == "threshold-paillier"
    assert SCHEME.public_key is KEY


def test_random_nonces_are_units_and_fresh() -> None:
    nonces = {SCHEME.random_nonce() for _ in range(8)}
    assert len(nonces) == 8
    assert all(0 < r < N and math.gcd(r, N) == 1 for r in nonces)


@pytest.mark.parametrize("guardians", [(1, 2, 3), (3, 4, 5), (1, 3, 5), (1, 2, 3, 4, 5)])
def test_encrypt_prove_tally_decrypt_through_the_interface(guardians: tuple[int, ...]) -> None:
    votes = [1, 1, 0, 1, 0]
    total = ZERO_CIPHERTEXT
    for ballot, vote in enumerate(votes):
        nonce = SCHEME.random_nonce()
        ciphertext = SCHEME.encrypt(vote, nonce, KEY)
        statement = RangeStatement(ELECTION_HASH, bytes([ballot]) * 32, 0, 0)
        proof = SCHEME.prove_range(ciphertext, vote, nonce, 0, 1, KEY, statement)
        SCHEME.verify_range(ciphertext, proof, 0, 1, KEY, statement)
        total = SCHEME.add(total, ciphertext)
    shares = {}
    for index in guardians:
        share = SCHEME.partial_decrypt(total, DEALT.share_for(index), index, TARGET)
        SCHEME.verify_partial(total, share, KEY, TARGET)
        shares[index] = share
    assert SCHEME.combine(total, shares, QUORUM, len(votes)) == 3
    assert ORACLE.raw_decrypt(total.value) == 3


def test_the_interface_refuses_a_foreign_key() -> None:
    other = OTHER.public_key
    ciphertext, nonce = _encrypt(1)
    proof = prove_range(ciphertext, 1, nonce, 0, 1, KEY, SELECTION)
    share = partial_decrypt(ciphertext, DEALT.share_for(1), KEY, TARGET)
    with pytest.raises(InvalidInput, match="another public key"):
        SCHEME.encrypt(1, nonce, other)
    with pytest.raises(InvalidInput, match="another public key"):
        SCHEME.prove_range(ciphertext, 1, nonce, 0, 1, other, SELECTION)
    with pytest.raises(InvalidInput, match="another public key"):
        SCHEME.verify_range(ciphertext, proof, 0, 1, other, SELECTION)
    with pytest.raises(InvalidInput, match="another public key"):
        SCHEME.verify_partial(ciphertext, share, other, TARGET)


def test_the_interface_refuses_mismatched_guardians_and_quorums() -> None:
    ciphertext, _ = _encrypt(1)
    with pytest.raises(InvalidInput, match="guardian 1's"):
        SCHEME.partial_decrypt(ciphertext, DEALT.share_for(1), 2, TARGET)
    shares = _shares(ciphertext, (1, 2, 3))
    with pytest.raises(InvalidInput, match="quorum of 3"):
        SCHEME.combine(ciphertext, {1: shares[1], 2: shares[2]}, QUORUM - 1, 1)
    with pytest.raises(InvalidInput, match="at least 4"):
        SCHEME.combine(ciphertext, shares, QUORUM + 1, 1)
    assert SCHEME.combine(ciphertext, shares, QUORUM, 1) == 1


def _production_sized_key() -> PaillierPublicKey:
    """A 2048-bit key for the lookup only: two random primes, no dealer, no proofs."""
    n = _large_prime(1024) * _large_prime(1024)
    while n.bit_length() != 2048:
        n = _large_prime(1024) * _large_prime(1024)
    n_squared = n * n
    v = random_unit(n_squared) ** 2 % n_squared
    return PaillierPublicKey(n, v, (v * v % n_squared, pow(v, 3, n_squared)), 2)


def test_paillier_scheme_for_accepts_exactly_the_published_key() -> None:
    key = _production_sized_key()
    scheme = paillier_scheme_for(ThresholdPaillier(key).params_hash, key)
    assert scheme.public_key == key
    for wrong in (SCHEME.params_hash, b"\x00" * 32, scheme.params_hash[:31], b""):
        with pytest.raises(VerificationError, match="unknown parameter set"):
            paillier_scheme_for(wrong, key)


def test_paillier_scheme_for_refuses_a_test_sized_key() -> None:
    with pytest.raises(VerificationError, match="test key"):
        paillier_scheme_for(SCHEME.params_hash, KEY)
