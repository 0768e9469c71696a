"""One guardian's side of the key ceremony (crypto spec §3.5): its rounds, its checks of the
other dealers, its answers to complaints, its finish and its key check."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import nacl.bindings
import pytest

from evote.ceremony import messages
from evote.ceremony.messages import (
    SHARE_PLAINTEXT_TAG,
    Complaint,
    GuardianKey,
    KeyCheck,
    TransportKey,
    commitment_hash,
)
from evote.ceremony.outcome import key_check_ciphertext, verify_key_check
from evote.ceremony.rounds import Message, run_ceremony
from evote.ceremony.trustee import Trustee
from evote.crypto import encoding, threshold
from evote.crypto.group import Scalar, base_mul, mul
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.schnorr import verify_coefficient
from evote.crypto.rng import random_bytes
from evote.crypto.sealing import TransportPrivateKey, TransportPublicKey, open_sealed, seal
from evote.election.context import ElectionContext, base_hash
from evote.errors import CeremonyError, InvalidInput, ProofError, SealingError
from tests.unit.ceremony import Rehearsal, ceremony_manifest, share_plaintext

MANIFEST = ceremony_manifest(5, 3)
OTHER_MANIFEST = ceremony_manifest(5, 3, name="Another ceremony")


@pytest.fixture
def rehearsal() -> Rehearsal:
    return Rehearsal.deal(MANIFEST)


def _polynomial(trustee: Trustee) -> threshold.Polynomial:
    assert trustee.polynomial is not None
    return trustee.polynomial


def _key_share(trustee: Trustee) -> Scalar:
    assert trustee.key_share is not None
    return trustee.key_share


# --- construction and rounds 0–3 ------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 6, -1, 1000])
def test_an_index_outside_1_to_n_is_refused(index: int) -> None:
    with pytest.raises(InvalidInput, match=f"there is no guardian {index} in this manifest"):
        Trustee(MANIFEST, index)


@pytest.mark.parametrize("index", [1, 5])
def test_the_first_and_last_index_are_accepted(index: int) -> None:
    assert Trustee(MANIFEST, index).index == index


def test_a_new_trustee_draws_t_non_zero_coefficients_of_its_own() -> None:
    first, second = Trustee(MANIFEST, 1), Trustee(MANIFEST, 2)
    for trustee in (first, second):
        coefficients = _polynomial(trustee).coefficients
        assert len(coefficients) == MANIFEST.guardian_quorum == 3
        assert not any(c.is_zero() for c in coefficients)
        assert trustee.key_share is None
        assert trustee.received == {}
    assert set(_polynomial(first).coefficients).isdisjoint(_polynomial(second).coefficients)
    assert first.transport.public_key != second.transport.public_key


def test_the_base_hash_is_the_manifests() -> None:
    assert Trustee(MANIFEST, 1).base_hash == base_hash(MANIFEST)
    assert base_hash(MANIFEST) != base_hash(OTHER_MANIFEST)


def test_the_transport_key_is_ceremony_only_not_the_identity_key() -> None:
    trustee = Trustee(MANIFEST, 2)
    posted = trustee.transport_key()
    assert posted.guardian == 2
    assert posted.key == trustee.transport.public_key
    identity = MANIFEST.guardians[1].encode()
    converted = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(identity)
    assert posted.key.encode() not in (identity, converted)


def test_commit_hashes_the_commitments_it_will_reveal() -> None:
    trustee = Trustee(MANIFEST, 4)
    commit = trustee.commit()
    assert commit.guardian == 4
    assert commit.digest == commitment_hash(
        base_hash(MANIFEST), 4, _polynomial(trustee).commitments()
    )
    assert commit.digest == commitment_hash(base_hash(MANIFEST), 4, trustee.reveal().commitments)


def test_reveal_proves_knowledge_of_every_coefficient_bound_to_ceremony_guardian_and_slot() -> None:
    trustee = Trustee(MANIFEST, 3)
    reveal = trustee.reveal()
    hashed = base_hash(MANIFEST)
    assert reveal.guardian == 3
    assert reveal.commitments == tuple(base_mul(a) for a in _polynomial(trustee).coefficients)
    assert len(reveal.proofs) == 3
    for j, (commitment, proof) in enumerate(zip(reveal.commitments, reveal.proofs, strict=True)):
        verify_coefficient(commitment, proof, hashed, 3, j)
        for wrong in [(hashed, 2, j), (hashed, 3, (j + 1) % 3), (base_hash(OTHER_MANIFEST), 3, j)]:
            with pytest.raises(ProofError):
                verify_coefficient(commitment, proof, *wrong)


def test_sealed_shares_go_one_to_every_other_guardian_with_their_context(
    rehearsal: Rehearsal,
) -> None:
    dealer = rehearsal.trustee(2)
    sealed = dealer.seal_shares(rehearsal.transport)
    assert sealed.guardian == 2
    assert [recipient for recipient, _ in sealed.sealed] == [1, 3, 4, 5]
    for recipient, box in sealed.sealed:
        plaintext = open_sealed(
            rehearsal.trustee(recipient).transport, dealer.transport.public_key, box
        )
        share = dealer.share_for(recipient)
        assert encoding.decode(plaintext) == [
            SHARE_PLAINTEXT_TAG,
            rehearsal.base_hash,
            2,
            recipient,
            share,
        ]
        assert share.encode() not in box
        threshold.verify_share(share, recipient, dealer.reveal().commitments)
        for other in (1, 3, 4, 5):
            if other != recipient:
                with pytest.raises(SealingError):
                    open_sealed(
                        rehearsal.trustee(other).transport, dealer.transport.public_key, box
                    )


def test_sealing_twice_uses_fresh_nonces(rehearsal: Rehearsal) -> None:
    first = rehearsal.trustee(1).seal_shares(rehearsal.transport)
    second = rehearsal.trustee(1).seal_shares(rehearsal.transport)
    assert first.for_recipient(2) != second.for_recipient(2)


def test_sealing_skips_a_guardian_without_a_usable_transport_key(rehearsal: Rehearsal) -> None:
    # That guardian is disqualified on its own account; the dealer is not blamed for it.
    transport = dict(rehearsal.transport)
    del transport[3]
    transport[4] = TransportKey(4, TransportPublicKey(bytes(32)))  # small order: unusable
    sealed = rehearsal.trustee(1).seal_shares(transport)
    assert [recipient for recipient, _ in sealed.sealed] == [2, 5]


def test_a_guardian_with_an_unusable_transport_key_is_disqualified_alone() -> None:
    def small_order_key(kind: str, guardian: int, message: Message) -> Message | None:
        if kind == messages.TRANSPORT and guardian == 2:
            return TransportKey(2, TransportPublicKey(bytes(32)))
        return message

    run = run_ceremony(MANIFEST, lambda kind, body, guardian: None, small_order_key)
    assert dict(run.outcome.disqualified) == {2: "posted an unusable transport key"}


def test_a_trustee_repr_shows_no_secret() -> None:
    trustee = Trustee(MANIFEST, 1)
    coefficient = _polynomial(trustee).coefficients[0]
    assert f"{coefficient.value:064x}" not in repr(trustee)
    assert "polynomial" not in repr(trustee)


def test_share_for_is_the_polynomial_at_the_index() -> None:
    trustee = Trustee(MANIFEST, 1)
    a = [c.value for c in _polynomial(trustee).coefficients]
    for index in range(1, 6):
        assert trustee.share_for(index) == Scalar(a[0] + a[1] * index + a[2] * index * index)


# --- round 4: checking the other dealers ----------------------------------------------------------


def test_an_honest_ceremony_raises_no_complaint_and_keeps_every_share(
    rehearsal: Rehearsal,
) -> None:
    assert rehearsal.complaints() == []
    for trustee in rehearsal.trustees:
        assert trustee.received == {
            dealer.index: dealer.share_for(trustee.index) for dealer in rehearsal.trustees
        }


def _complaints_of(rehearsal: Rehearsal, recipient: int) -> list[Complaint]:
    trustee = rehearsal.trustee(recipient)
    return trustee.receive(
        rehearsal.transport, rehearsal.commits, rehearsal.reveals, rehearsal.sealed
    )


def _assert_only_complaint(
    rehearsal: Rehearsal, recipient: int, dealer: int, reason: str
) -> Complaint:
    (complaint,) = _complaints_of(rehearsal, recipient)
    assert (complaint.complainer, complaint.accused) == (recipient, dealer)
    assert reason in complaint.reason
    assert dealer not in rehearsal.trustee(recipient).received
    assert len(rehearsal.trustee(recipient).received) == 4
    for other in (1, 2, 3, 4, 5):
        if other != recipient:
            assert _complaints_of(rehearsal, other) == []
    return complaint


def test_a_share_inconsistent_with_the_commitments_draws_a_complaint(
    rehearsal: Rehearsal,
) -> None:
    wrong = rehearsal.trustee(2).share_for(4) + Scalar(1)
    rehearsal.reseal(2, 4, share_plaintext(rehearsal.base_hash, 2, 4, wrong))
    _assert_only_complaint(rehearsal, 4, 2, "does not match the dealer's commitments")


def test_a_share_sealed_for_another_recipient_draws_a_complaint(rehearsal: Rehearsal) -> None:
    # Guardian 2 seals to guardian 4 a plaintext naming guardian 5, even with 4's right share.
    share = rehearsal.trustee(2).share_for(4)
    rehearsal.reseal(2, 4, share_plaintext(rehearsal.base_hash, 2, 5, share))
    _assert_only_complaint(rehearsal, 4, 2, "context is for another ceremony, dealer or recipient")


def test_another_recipients_share_replayed_draws_a_complaint(rehearsal: Rehearsal) -> None:
    share = rehearsal.trustee(2).share_for(5)
    rehearsal.reseal(2, 4, share_plaintext(rehearsal.base_hash, 2, 5, share))
    _assert_only_complaint(rehearsal, 4, 2, "context is for another ceremony")


def test_a_share_sealed_under_another_ceremonys_base_hash_draws_a_complaint(
    rehearsal: Rehearsal,
) -> None:
    share = rehearsal.trustee(2).share_for(4)
    rehearsal.reseal(2, 4, share_plaintext(base_hash(OTHER_MANIFEST), 2, 4, share))
    _assert_only_complaint(rehearsal, 4, 2, "context is for another ceremony")


def _tag_of_another_body(r: Rehearsal) -> encoding.Value:
    return ["evote/v1/ceremony-shares", r.base_hash, 2, 4, r.trustee(2).share_for(4)]


def _another_dealer(r: Rehearsal) -> encoding.Value:
    return [SHARE_PLAINTEXT_TAG, r.base_hash, 3, 4, r.trustee(2).share_for(4)]


def _short(r: Rehearsal) -> encoding.Value:
    return [SHARE_PLAINTEXT_TAG, r.base_hash, 2, 4]


def _not_a_list(r: Rehearsal) -> encoding.Value:
    return "a text, not a list"


def _share_as_int(r: Rehearsal) -> encoding.Value:
    return [SHARE_PLAINTEXT_TAG, r.base_hash, 2, 4, r.trustee(2).share_for(4).value]


def _share_as_point(r: Rehearsal) -> encoding.Value:
    return [SHARE_PLAINTEXT_TAG, r.base_hash, 2, 4, base_mul(r.trustee(2).share_for(4))]


@pytest.mark.parametrize(
    ("plaintext", "reason"),
    [
        (_tag_of_another_body, "context is for another ceremony, dealer or recipient"),
        (_another_dealer, "context is for another ceremony, dealer or recipient"),
        (_short, "share: expected 5 items, got 4"),
        (_not_a_list, "share: expected a list"),
        (_share_as_int, "share: expected a scalar, got int"),
        (_share_as_point, "share: expected a scalar, got Point"),
    ],
    ids=["tag", "dealer", "short", "not-a-list", "share-int", "share-point"],
)
def test_a_malformed_plaintext_draws_a_complaint(
    rehearsal: Rehearsal, plaintext: Callable[[Rehearsal], encoding.Value], reason: str
) -> None:
    rehearsal.reseal(2, 4, plaintext(rehearsal))
    _assert_only_complaint(rehearsal, 4, 2, reason)


def test_a_plaintext_that_is_not_tlv_draws_a_complaint(rehearsal: Rehearsal) -> None:
    box = seal(rehearsal.trustee(2).transport, rehearsal.transport[4].key, b"not TLV")
    rehearsal.replace_box(2, 4, box)
    _assert_only_complaint(rehearsal, 4, 2, "TLV")


@pytest.mark.parametrize("how", ["garbage", "short", "stranger", "swapped"])
def test_a_box_that_does_not_open_draws_a_complaint(rehearsal: Rehearsal, how: str) -> None:
    dealer = rehearsal.trustee(2)
    plaintext = encoding.encode(share_plaintext(rehearsal.base_hash, 2, 4, dealer.share_for(4)))
    box = {
        "garbage": random_bytes(len(rehearsal.sealed[2].for_recipient(4) or b"")),
        "short": b"\x00" * 39,
        "stranger": seal(TransportPrivateKey.generate(), rehearsal.transport[4].key, plaintext),
        "swapped": rehearsal.sealed[2].for_recipient(5) or b"",
    }[how]
    rehearsal.replace_box(2, 4, box)
    _assert_only_complaint(rehearsal, 4, 2, "sealed message")


def test_every_guardian_complains_about_a_dealer_with_a_public_fault(rehearsal: Rehearsal) -> None:
    reveal = rehearsal.reveals[2]
    bad = CompactProof(reveal.proofs[1].challenge + Scalar(1), reveal.proofs[1].response)
    rehearsal.reveals[2] = GuardianKey(
        2, reveal.commitments, (reveal.proofs[0], bad, *reveal.proofs[2:])
    )
    complaints = rehearsal.complaints()
    assert [(c.complainer, c.accused) for c in complaints] == [(1, 2), (3, 2), (4, 2), (5, 2)]
    for complaint in complaints:
        assert complaint.reason == "guardian 2 its proof of knowledge of coefficient 1 fails"


def test_every_guardian_complains_about_a_dealer_who_missed_a_round(rehearsal: Rehearsal) -> None:
    del rehearsal.sealed[3]
    complaints = rehearsal.complaints()
    assert [(c.complainer, c.accused) for c in complaints] == [(1, 3), (2, 3), (4, 3), (5, 3)]
    assert all(c.reason == "guardian 3 missed the sealed shares round" for c in complaints)
    assert all(3 not in t.received for t in rehearsal.trustees if t.index != 3)


# --- answers --------------------------------------------------------------------------------------


def test_answer_reveals_the_disputed_share_in_clear(rehearsal: Rehearsal) -> None:
    dealer = rehearsal.trustee(2)
    reveal = dealer.answer(Complaint(4, 2, "bad share"))
    assert (reveal.dealer, reveal.recipient, reveal.share) == (2, 4, dealer.share_for(4))
    threshold.verify_share(reveal.share, 4, rehearsal.reveals[2].commitments)


def test_answer_refuses_a_complaint_against_someone_else(rehearsal: Rehearsal) -> None:
    with pytest.raises(InvalidInput, match="accuses guardian 3, not me"):
        rehearsal.trustee(2).answer(Complaint(4, 3, "bad share"))


# --- round 5: finish ------------------------------------------------------------------------------


def test_finish_keeps_z_with_z_b_equal_to_its_verification_key(rehearsal: Rehearsal) -> None:
    complaints = rehearsal.complaints()
    outcome = rehearsal.judge(complaints, [])
    for trustee in rehearsal.trustees:
        expected = Scalar(sum(s.value for s in trustee.received.values()))
        context = trustee.finish(outcome)
        assert context is outcome.context
        assert trustee.key_share == expected
        assert base_mul(expected) == context.verification_key(trustee.index)


def test_finish_deletes_the_coefficients_and_replaces_the_transport_key(
    rehearsal: Rehearsal,
) -> None:
    outcome = rehearsal.judge(rehearsal.complaints(), [])
    trustee = rehearsal.trustee(3)
    old_transport = trustee.transport.public_key
    trustee.finish(outcome)
    assert trustee.polynomial is None
    assert trustee.transport.public_key != old_transport
    assert trustee.transport.public_key != rehearsal.transport[3].key
    for round_ in (trustee.commit, trustee.reveal, lambda: trustee.share_for(1)):
        with pytest.raises(CeremonyError, match="guardian 3 has deleted its coefficients"):
            round_()
    with pytest.raises(CeremonyError, match="deleted its coefficients"):
        trustee.seal_shares(rehearsal.transport)
    with pytest.raises(CeremonyError, match="deleted its coefficients"):
        trustee.answer(Complaint(1, 3, "late complaint"))
    # The shares sealed to it can no longer be opened with what it keeps.
    box = rehearsal.sealed[1].for_recipient(3)
    assert box is not None
    with pytest.raises(SealingError):
        open_sealed(trustee.transport, rehearsal.transport[1].key, box)


def test_finish_refuses_when_shares_are_missing(rehearsal: Rehearsal) -> None:
    outcome = rehearsal.judge(rehearsal.complaints(), [])
    trustee = rehearsal.trustee(4)
    del trustee.received[2]
    del trustee.received[5]
    with pytest.raises(CeremonyError, match=r"guardian 4 lacks valid shares from \[2, 5\]"):
        trustee.finish(outcome)
    assert trustee.key_share is None
    assert trustee.polynomial is not None


def test_finish_refuses_a_key_share_that_does_not_match_its_verification_key(
    rehearsal: Rehearsal,
) -> None:
    outcome = rehearsal.judge(rehearsal.complaints(), [])
    trustee = rehearsal.trustee(1)
    trustee.received[3] = trustee.received[3] + Scalar(1)
    with pytest.raises(CeremonyError, match="guardian 1's key share does not match"):
        trustee.finish(outcome)
    assert trustee.key_share is None
    assert trustee.polynomial is not None


def test_finish_refuses_an_outcome_that_requires_a_restart(rehearsal: Rehearsal) -> None:
    del rehearsal.commits[5]
    complaints = rehearsal.complaints()
    outcome = rehearsal.judge(complaints, rehearsal.answers(complaints))
    for trustee in rehearsal.trustees:
        with pytest.raises(CeremonyError, match=r"restart without guardians \[5\]"):
            trustee.finish(outcome)
        assert trustee.key_share is None


def test_the_complainer_finishes_with_the_share_revealed_in_answer(rehearsal: Rehearsal) -> None:
    # The sealed share was bad, but the dealer answered with the good one: the complaint is
    # unfounded, nobody is disqualified, and the complainer uses the revealed share.
    good = rehearsal.trustee(2).share_for(4)
    expected = Scalar(sum(t.share_for(4).value for t in rehearsal.trustees))
    rehearsal.reseal(2, 4, share_plaintext(rehearsal.base_hash, 2, 4, good + Scalar(1)))
    complaints, outcome = rehearsal.run()
    assert [(c.complainer, c.accused) for c in complaints] == [(4, 2)]
    assert outcome.disqualified == {}
    assert outcome.revealed_shares_for(4) == {2: good}
    complainer = rehearsal.trustee(4)
    assert 2 not in complainer.received
    assert base_mul(_key_share(complainer)) == outcome.require_context().verification_key(4)
    assert complainer.key_share == expected


# --- the key check --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Finished:
    trustees: tuple[Trustee, ...]
    context: ElectionContext


@pytest.fixture(scope="module")
def finished() -> Finished:
    rehearsal = Rehearsal.deal(ceremony_manifest(4, 2))
    complaints, outcome = rehearsal.run()
    assert complaints == []
    return Finished(rehearsal.trustees, outcome.require_context())


def test_every_finished_trustees_key_check_verifies(finished: Finished) -> None:
    for trustee in finished.trustees:
        check = trustee.key_check(finished.context)
        assert check.guardian == trustee.index
        assert check.share == mul(_key_share(trustee), key_check_ciphertext(finished.context).alpha)
        verify_key_check(check, finished.context)
        verify_key_check(KeyCheck.from_tlv(check.to_tlv()), finished.context)


def test_a_trustee_without_a_key_share_cannot_post_a_key_check(finished: Finished) -> None:
    with pytest.raises(CeremonyError, match="guardian 2 has no key share yet"):
        Trustee(finished.context.manifest, 2).key_check(finished.context)


def _tampered_checks(check: KeyCheck) -> dict[str, KeyCheck]:
    proof = check.proof
    return {
        "share": dataclasses.replace(check, share=check.share + base_mul(Scalar(1))),
        "challenge": dataclasses.replace(
            check, proof=CompactProof(proof.challenge + Scalar(1), proof.response)
        ),
        "response": dataclasses.replace(
            check, proof=CompactProof(proof.challenge, proof.response + Scalar(1))
        ),
        "guardian": dataclasses.replace(check, guardian=check.guardian % 4 + 1),
    }


@pytest.mark.parametrize("field", ["share", "challenge", "response", "guardian"])
def test_a_tampered_key_check_fails(finished: Finished, field: str) -> None:
    check = finished.trustees[1].key_check(finished.context)
    with pytest.raises(ProofError):
        verify_key_check(_tampered_checks(check)[field], finished.context)


def test_a_key_check_of_another_ceremony_fails(finished: Finished) -> None:
    other = Rehearsal.deal(ceremony_manifest(4, 2))
    _, outcome = other.run()
    check = other.trustee(2).key_check(outcome.require_context())
    verify_key_check(check, outcome.require_context())
    with pytest.raises(ProofError):
        verify_key_check(check, finished.context)


def test_a_key_check_with_a_wrong_key_share_fails(finished: Finished) -> None:
    impostor = Trustee(finished.context.manifest, 3)
    impostor.key_share = _key_share(finished.trustees[2]) + Scalar(1)
    with pytest.raises(ProofError):
        verify_key_check(impostor.key_check(finished.context), finished.context)
