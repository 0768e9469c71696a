"""Chaum–Pedersen decryption-share proofs (crypto spec §3.9.1, §5.4, §8.1 weak-FS forgery)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from evote.crypto.elgamal import ZERO_CIPHERTEXT, Ciphertext, encrypt
from evote.crypto.encoding import encode
from evote.crypto.group import (
    IDENTITY,
    Point,
    Scalar,
    base_mul,
    mul,
    small_multiple,
)
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.chaum_pedersen import (
    DecryptionShare,
    prove_decryption_share,
    verify_decryption_share,
)
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.rng import random_scalar
from evote.errors import InvalidInput, ProofError

KEY_SHARE = Scalar(0xDEAD_BEEF_0123_4567_89AB_CDEF)
VERIFICATION_KEY = base_mul(KEY_SHARE)
GUARDIAN = 2
ELECTION_HASH = b"\x33" * 32
TARGET = DecryptionTarget(ELECTION_HASH, b"contest-0/option-1")
#: The joint key; in these single-guardian tests any key encrypts the tally.
KEY = base_mul(Scalar(0x5151_5151))


def _tally() -> Ciphertext:
    return encrypt(2, random_scalar(), KEY) + encrypt(1, random_scalar(), KEY)


def _expect_failure(
    field: str,
    ciphertext: Ciphertext,
    share: DecryptionShare,
    verification_key: Point = VERIFICATION_KEY,
    target: DecryptionTarget = TARGET,
) -> None:
    with pytest.raises(ProofError) as caught:
        verify_decryption_share(ciphertext, share, verification_key, target)
    assert caught.value.proof == "decryption share"
    assert caught.value.field == field


def _proved() -> tuple[Ciphertext, DecryptionShare, CompactProof]:
    ciphertext = _tally()
    share = prove_decryption_share(ciphertext, KEY_SHARE, GUARDIAN, TARGET)
    assert share.proof is not None
    return ciphertext, share, share.proof


# --- honest shares ---------------------------------------------------------------------------


def test_honest_share_verifies() -> None:
    ciphertext, share, _ = _proved()
    assert share.guardian == GUARDIAN
    assert share.share == mul(KEY_SHARE, ciphertext.alpha)
    verify_decryption_share(ciphertext, share, VERIFICATION_KEY, TARGET)


def test_share_decrypts_with_a_single_key() -> None:
    # With one "guardian" holding the whole secret, β − M = tally·B.
    secret = random_scalar()
    ciphertext = encrypt(5, random_scalar(), base_mul(secret))
    share = prove_decryption_share(ciphertext, secret, 1, TARGET)
    verify_decryption_share(ciphertext, share, base_mul(secret), TARGET)
    assert ciphertext.beta - share.share == small_multiple(5)


def test_challenge_is_the_specified_hash() -> None:
    # §5.4: Hq("decrypt-share", H_E, target_id, ℓ, K̂_ℓ, A, Bc, M_ℓ, a, b).
    ciphertext, share, proof = _proved()
    a = base_mul(proof.response) + mul(proof.challenge, VERIFICATION_KEY)
    b = mul(proof.response, ciphertext.alpha) + mul(proof.challenge, share.share)
    expected = hash_to_scalar(
        "decrypt-share",
        ELECTION_HASH,
        TARGET.target_id,
        GUARDIAN,
        VERIFICATION_KEY,
        ciphertext.alpha,
        ciphertext.beta,
        share.share,
        a,
        b,
    )
    assert proof.challenge == expected


def test_proofs_are_fresh() -> None:
    ciphertext = _tally()
    first = prove_decryption_share(ciphertext, KEY_SHARE, GUARDIAN, TARGET)
    second = prove_decryption_share(ciphertext, KEY_SHARE, GUARDIAN, TARGET)
    assert first.share == second.share
    assert first.proof != second.proof


# --- tampering with each field and each hash input -------------------------------------------


def test_challenge_plus_one_fails() -> None:
    ciphertext, share, proof = _proved()
    tampered = CompactProof(proof.challenge + Scalar(1), proof.response)
    _expect_failure("challenge", ciphertext, dataclasses.replace(share, proof=tampered))


def test_response_plus_one_fails() -> None:
    ciphertext, share, proof = _proved()
    tampered = CompactProof(proof.challenge, proof.response + Scalar(1))
    _expect_failure("challenge", ciphertext, dataclasses.replace(share, proof=tampered))


def test_changing_the_election_hash_fails() -> None:
    ciphertext, share, _ = _proved()
    target = dataclasses.replace(TARGET, election_hash=b"\x34" * 32)
    _expect_failure("challenge", ciphertext, share, target=target)


def test_changing_the_target_id_fails() -> None:
    # A share for one option cannot be filed under another option or a spoiled ballot.
    ciphertext, share, _ = _proved()
    for target_id in [b"contest-0/option-2", b"ballot-xyz", b"contest-0/option-1\x00"]:
        target = dataclasses.replace(TARGET, target_id=target_id)
        _expect_failure("challenge", ciphertext, share, target=target)


@pytest.mark.parametrize("guardian", [1, 3, 4])
def test_changing_the_guardian_index_fails(guardian: int) -> None:
    ciphertext, share, _ = _proved()
    _expect_failure("challenge", ciphertext, dataclasses.replace(share, guardian=guardian))


def test_changing_the_verification_key_fails() -> None:
    ciphertext, share, _ = _proved()
    _expect_failure("challenge", ciphertext, share, verification_key=base_mul(random_scalar()))
    _expect_failure("challenge", ciphertext, share, verification_key=-VERIFICATION_KEY)


def test_changing_a_fails() -> None:
    ciphertext, share, _ = _proved()
    other = _tally()
    _expect_failure("challenge", Ciphertext(other.alpha, ciphertext.beta), share)


def test_changing_bc_fails() -> None:
    # Bc enters no verification equation, only the hash: this isolates its hash binding.
    ciphertext, share, _ = _proved()
    _expect_failure("challenge", Ciphertext(ciphertext.alpha, _tally().beta), share)
    _expect_failure(
        "challenge", Ciphertext(ciphertext.alpha, ciphertext.beta + small_multiple(1)), share
    )


def test_changing_the_share_fails() -> None:
    ciphertext, share, _ = _proved()
    for wrong in [
        share.share + small_multiple(1),
        mul(KEY_SHARE + Scalar(1), ciphertext.alpha),
        base_mul(random_scalar()),
    ]:
        _expect_failure("challenge", ciphertext, dataclasses.replace(share, share=wrong))


def test_share_for_another_ciphertext_fails() -> None:
    ciphertext, _, _ = _proved()
    other = prove_decryption_share(_tally(), KEY_SHARE, GUARDIAN, TARGET)
    _expect_failure("challenge", ciphertext, other)


def test_share_from_another_key_share_fails() -> None:
    ciphertext = _tally()
    other = prove_decryption_share(ciphertext, KEY_SHARE + Scalar(1), GUARDIAN, TARGET)
    _expect_failure("challenge", ciphertext, other)


def test_missing_proof_is_rejected() -> None:
    ciphertext, share, _ = _proved()
    _expect_failure("proof", ciphertext, dataclasses.replace(share, proof=None))


def test_identity_share_for_a_non_identity_a_is_rejected() -> None:
    ciphertext, share, _ = _proved()
    _expect_failure("share", ciphertext, dataclasses.replace(share, share=IDENTITY))


def test_decryption_target_validation() -> None:
    with pytest.raises(InvalidInput):
        DecryptionTarget(b"\x00" * 31, b"x")
    with pytest.raises(InvalidInput):
        DecryptionTarget(ELECTION_HASH, b"")


# --- identity aggregates (R5) ----------------------------------------------------------------


def _identity_alpha_tally() -> Ciphertext:
    # Colluding voters: nonces ξ and L − ξ sum to 0, so A = I and Bc = 3·B in clear.
    xi = random_scalar()
    total = encrypt(1, xi, KEY) + encrypt(2, -xi, KEY)
    assert total.alpha.is_identity()
    return total


def test_identity_a_gives_an_unproved_identity_share() -> None:
    ciphertext = _identity_alpha_tally()
    share = prove_decryption_share(ciphertext, KEY_SHARE, GUARDIAN, TARGET)
    assert share == DecryptionShare(GUARDIAN, IDENTITY, None)
    verify_decryption_share(ciphertext, share, VERIFICATION_KEY, TARGET)


def test_zero_ciphertext_gives_an_unproved_identity_share() -> None:
    share = prove_decryption_share(ZERO_CIPHERTEXT, KEY_SHARE, GUARDIAN, TARGET)
    assert share == DecryptionShare(GUARDIAN, IDENTITY, None)
    verify_decryption_share(ZERO_CIPHERTEXT, share, VERIFICATION_KEY, TARGET)


def test_identity_a_accepts_only_the_identity_share_without_proof() -> None:
    ciphertext = _identity_alpha_tally()
    _, honest, proof = _proved()
    # A non-identity share, even with a proof that verifies elsewhere, is refused.
    _expect_failure("share", ciphertext, DecryptionShare(GUARDIAN, honest.share, proof))
    _expect_failure("share", ciphertext, DecryptionShare(GUARDIAN, honest.share, None))
    # The identity share with any proof attached is refused too.
    _expect_failure("share", ciphertext, DecryptionShare(GUARDIAN, IDENTITY, proof))


# --- weak Fiat–Shamir regression (§5.3, §8.1) -------------------------------------------------


def _weak_challenge(a: Point, b: Point) -> Scalar:
    """A Helios-style challenge over the commitments alone."""
    return Scalar.from_digest(hashlib.sha512(encode(["weak-fs-test", a, b])).digest())


def _weak_verify(ciphertext: Ciphertext, share: DecryptionShare, verification_key: Point) -> None:
    """A deliberately weak verifier: same equations, but c = H(a, b) only."""
    proof = share.proof
    if proof is None:
        raise ProofError("weak", "proof", "missing")
    a = base_mul(proof.response) + mul(proof.challenge, verification_key)
    b = mul(proof.response, ciphertext.alpha) + mul(proof.challenge, share.share)
    if _weak_challenge(a, b) != proof.challenge:
        raise ProofError("weak", "challenge", "does not match")


def _weak_prove(ciphertext: Ciphertext, secret: Scalar, guardian: int) -> DecryptionShare:
    """An honest prover for the weak verifier (shows that verifier is not trivially permissive)."""
    u = random_scalar()
    c = _weak_challenge(base_mul(u), mul(u, ciphertext.alpha))
    return DecryptionShare(guardian, mul(secret, ciphertext.alpha), CompactProof(c, u - c * secret))


def _forge(ciphertext: Ciphertext, secret: Scalar, guardian: int) -> DecryptionShare:
    """§8.1: a = w·B, b = w'·A, c = H(a, b), v = w − c·z, M* = c⁻¹(b − v·A)."""
    w, w_prime = random_scalar(), random_scalar()
    a = base_mul(w)
    b = mul(w_prime, ciphertext.alpha)
    c = _weak_challenge(a, b)
    v = w - c * secret
    forged_share = mul(c.inverse(), b - mul(v, ciphertext.alpha))
    return DecryptionShare(guardian, forged_share, CompactProof(c, v))


def test_weak_verifier_accepts_honest_weak_proofs_and_rejects_tampering() -> None:
    ciphertext = _tally()
    honest = _weak_prove(ciphertext, KEY_SHARE, GUARDIAN)
    _weak_verify(ciphertext, honest, VERIFICATION_KEY)
    assert honest.proof is not None
    tampered = CompactProof(honest.proof.challenge, honest.proof.response + Scalar(1))
    with pytest.raises(ProofError):
        _weak_verify(ciphertext, dataclasses.replace(honest, proof=tampered), VERIFICATION_KEY)


def test_weak_fs_forgery_is_accepted_by_the_weak_verifier_and_rejected_by_ours() -> None:
    ciphertext = _tally()
    forged = _forge(ciphertext, KEY_SHARE, GUARDIAN)
    # The forged share is wrong: M* = z·A + c⁻¹(w' − w)·A ≠ z·A.
    assert forged.share != mul(KEY_SHARE, ciphertext.alpha)
    # It would shift the decrypted tally away from 3.
    assert ciphertext.beta - forged.share != small_multiple(3)
    # The weak verifier accepts it ...
    _weak_verify(ciphertext, forged, VERIFICATION_KEY)
    # ... ours does not, because c would have to depend on M*.
    _expect_failure("challenge", ciphertext, forged)


def test_every_weak_fs_forgery_is_rejected() -> None:
    # Repeating the forgery gives a different wrong share each time, all weakly "valid".
    ciphertext = _tally()
    forged = [_forge(ciphertext, KEY_SHARE, GUARDIAN) for _ in range(3)]
    assert len({f.share for f in forged}) == 3
    for share in forged:
        _weak_verify(ciphertext, share, VERIFICATION_KEY)
        _expect_failure("challenge", ciphertext, share)
