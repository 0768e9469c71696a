"""The ceremony's rounds over the board (crypto spec §3.5, §3.9.2): an honest run gives every
guardian a working key share; each kind of cheating guardian is detected and named, and the
honest ones restart without it."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from evote.ceremony import messages
from evote.ceremony.messages import (
    Complaint,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
)
from evote.ceremony.outcome import CeremonyOutcome, verify_key_check
from evote.ceremony.rounds import CeremonyRun, Message, Tamper, post_key_checks, run_ceremony
from evote.ceremony.trustee import Trustee
from evote.crypto.elgamal import encrypt
from evote.crypto.group import IDENTITY, Scalar, base_mul, small_multiple
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.schnorr import prove_coefficient
from evote.crypto.rng import random_bytes, random_scalar
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext, base_hash
from evote.errors import CeremonyError, ProofError
from tests.unit.ceremony import (
    PARSERS,
    BoardRecorder,
    Rehearsal,
    ceremony_manifest,
    decrypt_with,
    guardian_keys,
    share_plaintext,
)

KEYS = guardian_keys(5)
MANIFEST = ceremony_manifest(KEYS, 3)
#: What a guardian "posts" in a round it misses: no message of that round's type.
NOTHING = Complaint(0, 0, "nothing posted")


@pytest.fixture(scope="module")
def honest() -> tuple[BoardRecorder, CeremonyRun]:
    board = BoardRecorder()
    return board, run_ceremony(MANIFEST, board.post)


def _context(run: CeremonyRun) -> ElectionContext:
    return run.outcome.require_context()


def _run(tamper: Tamper) -> tuple[BoardRecorder, CeremonyRun]:
    board = BoardRecorder()
    return board, run_ceremony(MANIFEST, board.post, tamper)


def _assert_restart(run: CeremonyRun, cheater: int, reason: str) -> None:
    """The cheater is named with its reason; nobody finishes; the ceremony must restart."""
    outcome = run.outcome
    assert outcome.disqualified == {cheater: reason}
    assert outcome.qualified == tuple(i for i in range(1, 6) if i != cheater)
    assert outcome.context is None
    with pytest.raises(CeremonyError, match=rf"restart without guardians \[{cheater}\]"):
        outcome.require_context()
    assert all(trustee.key_share is None for trustee in run.trustees)


# --- an honest ceremony ---------------------------------------------------------------------------


def test_an_honest_ceremony_posts_four_rounds_each_body_signed_by_the_guardian_it_names(
    honest: tuple[BoardRecorder, CeremonyRun],
) -> None:
    board, run = honest
    rounds = [messages.TRANSPORT, messages.COMMIT, messages.REVEAL, messages.SHARES]
    assert board.kinds() == [kind for kind in rounds for _ in range(5)]
    for kind, body, guardian in board.entries:
        parsed = PARSERS[kind](body)
        assert isinstance(parsed, TransportKey | messages.Commit | GuardianKey | SealedShares)
        assert parsed.guardian == guardian
        assert parsed.to_tlv() == body
    assert [guardian for _, _, guardian in board.entries] == [1, 2, 3, 4, 5] * 4
    assert run.complaints == ()


def test_an_honest_ceremony_gives_every_guardian_a_key_share_matching_its_verification_key(
    honest: tuple[BoardRecorder, CeremonyRun],
) -> None:
    _, run = honest
    assert run.outcome.qualified == (1, 2, 3, 4, 5)
    assert run.outcome.disqualified == {}
    context = _context(run)
    assert [t.index for t in run.trustees] == [1, 2, 3, 4, 5]
    for trustee in run.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)
    assert len({t.key_share for t in run.trustees}) == 5


def test_the_joint_key_is_the_sum_of_the_revealed_constant_commitments(
    honest: tuple[BoardRecorder, CeremonyRun],
) -> None:
    board, run = honest
    reveals = [GuardianKey.from_tlv(body) for _, body in board.bodies(messages.REVEAL)]
    total = IDENTITY
    for reveal in reveals:
        total = total + reveal.commitments[0]
    context = _context(run)
    assert context.joint_key == total
    assert context.commitments == tuple(r.commitments for r in reveals)
    assert context.base_hash == base_hash(MANIFEST)


def test_after_the_ceremony_no_trustee_keeps_coefficients_or_its_transport_key(
    honest: tuple[BoardRecorder, CeremonyRun],
) -> None:
    board, run = honest
    posted = [TransportKey.from_tlv(body).key for _, body in board.bodies(messages.TRANSPORT)]
    for trustee, transport in zip(run.trustees, posted, strict=True):
        assert trustee.polynomial is None
        assert trustee.transport.public_key != transport
        with pytest.raises(CeremonyError, match="deleted its coefficients"):
            trustee.reveal()


@pytest.mark.parametrize("subset", list(itertools.combinations(range(1, 6), 3)))
def test_every_quorum_of_key_shares_decrypts(
    honest: tuple[BoardRecorder, CeremonyRun], subset: tuple[int, ...]
) -> None:
    _, run = honest
    context = _context(run)
    ciphertext = encrypt(7, random_scalar(), context.joint_key)
    trustees = [run.trustees[i - 1] for i in subset]
    assert decrypt_with(trustees, context, ciphertext) == small_multiple(7)


def test_more_than_a_quorum_decrypts_too(honest: tuple[BoardRecorder, CeremonyRun]) -> None:
    _, run = honest
    context = _context(run)
    ciphertext = encrypt(3, random_scalar(), context.joint_key)
    for size in (4, 5):
        for subset in itertools.combinations(run.trustees, size):
            assert decrypt_with(subset, context, ciphertext) == small_multiple(3)


@pytest.mark.parametrize("subset", list(itertools.combinations(range(1, 6), 2)))
def test_no_set_below_the_quorum_decrypts(
    honest: tuple[BoardRecorder, CeremonyRun], subset: tuple[int, ...]
) -> None:
    _, run = honest
    context = _context(run)
    ciphertext = encrypt(7, random_scalar(), context.joint_key)
    trustees = [run.trustees[i - 1] for i in subset]
    recovered = decrypt_with(trustees, context, ciphertext)
    assert recovered not in {small_multiple(v) for v in range(100)}


def test_every_finished_guardian_posts_a_key_check_that_verifies(
    honest: tuple[BoardRecorder, CeremonyRun],
) -> None:
    _, run = honest
    context = _context(run)
    board = BoardRecorder()
    post_key_checks(run.trustees, context, board.post)
    assert board.kinds() == [messages.KEY_CHECK] * 5
    for guardian, body in board.bodies(messages.KEY_CHECK):
        check = KeyCheck.from_tlv(body)
        assert check.guardian == guardian
        verify_key_check(check, context)
        tampered = KeyCheck(guardian, check.share, CompactProof(check.proof.challenge, Scalar(1)))
        with pytest.raises(ProofError):
            verify_key_check(tampered, context)


def test_key_checks_need_finished_guardians(honest: tuple[BoardRecorder, CeremonyRun]) -> None:
    board = BoardRecorder()
    with pytest.raises(CeremonyError, match="guardian 1 has no key share yet"):
        post_key_checks([Trustee(MANIFEST, 1)], _context(honest[1]), board.post)
    assert board.entries == []


@pytest.mark.parametrize(("guardians", "quorum"), [(1, 1), (2, 1), (2, 2), (4, 4)])
def test_small_and_unanimous_ceremonies_finish(guardians: int, quorum: int) -> None:
    run = run_ceremony(ceremony_manifest(guardians, quorum), BoardRecorder().post)
    context = _context(run)
    for trustee in run.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)
    ciphertext = encrypt(1, random_scalar(), context.joint_key)
    assert decrypt_with(run.trustees[:quorum], context, ciphertext) == small_multiple(1)


def test_the_tamper_hook_sees_every_round_of_every_guardian() -> None:
    seen: list[tuple[str, int]] = []

    def record(kind: str, guardian: int, message: Message) -> Message:
        seen.append((kind, guardian))
        return message

    run_ceremony(MANIFEST, BoardRecorder().post, record)
    rounds = [messages.TRANSPORT, messages.COMMIT, messages.REVEAL, messages.SHARES]
    assert seen == [(kind, g) for kind in rounds for g in range(1, 6)]


# --- cheating guardians ---------------------------------------------------------------------------


def _only(guardian: int, kind: str, change: Callable[[Message], Message]) -> Tamper:
    def tamper(k: str, g: int, message: Message) -> Message:
        return change(message) if (k, g) == (kind, guardian) else message

    return tamper


def _both(first: Tamper, second: Tamper) -> Tamper:
    def tamper(kind: str, guardian: int, message: Message) -> Message | None:
        changed = first(kind, guardian, message)
        return None if changed is None else second(kind, guardian, changed)

    return tamper


def _garble(dealer: int, *recipients: int) -> Tamper:
    """Dealer replaces its boxes for ``recipients`` with random bytes (nobody can open them)."""

    def change(message: Message) -> Message:
        assert isinstance(message, SealedShares)
        return SealedShares(
            dealer,
            tuple(
                (r, random_bytes(len(box)) if r in recipients else box) for r, box in message.sealed
            ),
        )

    return _only(dealer, messages.SHARES, change)


def _answers(dealer: int, change: Callable[[ShareReveal], Message]) -> Tamper:
    def tamper(kind: str, guardian: int, message: Message) -> Message:
        if (kind, guardian) != (messages.SHARE_REVEAL, dealer):
            return message
        assert isinstance(message, ShareReveal)
        return change(message)

    return tamper


def test_a_bad_schnorr_proof_is_detected_and_named() -> None:
    def bad_proof(message: Message) -> Message:
        assert isinstance(message, GuardianKey)
        proof = message.proofs[1]
        forged = CompactProof(proof.challenge, proof.response + Scalar(1))
        return GuardianKey(2, message.commitments, (message.proofs[0], forged, message.proofs[2]))

    board, run = _run(_only(2, messages.REVEAL, bad_proof))
    _assert_restart(run, 2, "its proof of knowledge of coefficient 1 fails")
    assert [(c.complainer, c.accused) for c in run.complaints] == [(1, 2), (3, 2), (4, 2), (5, 2)]
    posted = [Complaint.from_tlv(body) for _, body in board.bodies(messages.COMPLAINT)]
    assert posted == list(run.complaints)
    assert [g for g, _ in board.bodies(messages.COMPLAINT)] == [1, 3, 4, 5]


def test_commitments_changed_after_the_commit_are_detected_and_named() -> None:
    hashed = base_hash(MANIFEST)

    def other_polynomial(message: Message) -> Message:
        pairs = [prove_coefficient(random_scalar(), hashed, 3, j) for j in range(3)]
        return GuardianKey(3, tuple(c for c, _ in pairs), tuple(p for _, p in pairs))

    _, run = _run(_only(3, messages.REVEAL, other_polynomial))
    _assert_restart(run, 3, "its reveal does not match its commitment")


def test_a_commit_that_does_not_hash_the_reveal_is_detected_and_named() -> None:
    _, run = _run(_only(4, messages.COMMIT, lambda m: messages.Commit(4, bytes(32))))
    _assert_restart(run, 4, "its reveal does not match its commitment")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (messages.COMMIT, "commitment"),
        (messages.REVEAL, "reveal"),
        (messages.SHARES, "sealed shares"),
    ],
)
def test_a_missing_round_is_detected_and_named(kind: str, name: str) -> None:
    _, run = _run(_only(5, kind, lambda m: NOTHING))
    _assert_restart(run, 5, f"missed the {name} round")
    assert {c.accused for c in run.complaints} == {5}
    assert {c.complainer for c in run.complaints} == {1, 2, 3, 4}


def test_a_dealer_who_does_not_answer_a_complaint_is_detected_and_named() -> None:
    board, run = _run(_both(_garble(2, 4), _answers(2, lambda r: NOTHING)))
    assert [(c.complainer, c.accused) for c in run.complaints] == [(4, 2)]
    assert "cannot open the sealed message" in run.complaints[0].reason
    assert board.bodies(messages.SHARE_REVEAL) == []
    _assert_restart(run, 2, "did not answer the complaint of guardian 4")


def test_a_dealer_who_answers_with_a_wrong_share_is_detected_and_named() -> None:
    wrong = _answers(2, lambda r: ShareReveal(2, 4, r.share + Scalar(1)))
    board, run = _run(_both(_garble(2, 4), wrong))
    assert [g for g, _ in board.bodies(messages.SHARE_REVEAL)] == [2]
    _assert_restart(run, 2, "the share it revealed for guardian 4 is wrong")


def test_t_complaints_about_one_dealer_disqualify_it_even_if_every_answer_checks() -> None:
    board, run = _run(_garble(3, 1, 2, 5))
    assert [(c.complainer, c.accused) for c in run.complaints] == [(1, 3), (2, 3), (5, 3)]
    reveals = [ShareReveal.from_tlv(body) for _, body in board.bodies(messages.SHARE_REVEAL)]
    assert [(r.dealer, r.recipient) for r in reveals] == [(3, 1), (3, 2), (3, 5)]
    _assert_restart(run, 3, "3 guardians complained (at least one is honest)")


def _assert_finished(run: CeremonyRun) -> ElectionContext:
    context = _context(run)
    for trustee in run.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)
        verify_key_check(trustee.key_check(context), context)
    ciphertext = encrypt(5, random_scalar(), context.joint_key)
    for subset in itertools.combinations(run.trustees, 3):
        assert decrypt_with(subset, context, ciphertext) == small_multiple(5)
    return context


def test_an_unfounded_complaint_disqualifies_nobody_and_the_complainer_finishes() -> None:
    board, run = _run(_garble(2, 4))
    (complaint,) = run.complaints
    assert (complaint.complainer, complaint.accused) == (4, 2)
    outcome = run.outcome
    assert outcome.disqualified == {}
    assert outcome.unfounded_complaints == (complaint,)
    (reveal,) = outcome.revealed_shares
    assert (reveal.dealer, reveal.recipient) == (2, 4)
    assert [ShareReveal.from_tlv(body) for _, body in board.bodies(messages.SHARE_REVEAL)] == [
        reveal
    ]
    complainer = run.trustees[3]
    assert 2 not in complainer.received  # it could not open the box: it used the answer
    _assert_finished(run)


def test_fewer_than_t_unfounded_complaints_disqualify_nobody() -> None:
    _, run = _run(_garble(1, 2, 5))
    assert [(c.complainer, c.accused) for c in run.complaints] == [(2, 1), (5, 1)]
    assert run.outcome.disqualified == {}
    assert len(run.outcome.unfounded_complaints) == 2
    _assert_finished(run)


# --- forged sealed shares (only the dealer can seal them, so the test plays the trustees) -----


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        ("bad-value", "does not match the dealer's commitments"),
        ("other-recipient", "context is for another ceremony, dealer or recipient"),
        ("other-ceremony", "context is for another ceremony, dealer or recipient"),
    ],
)
def test_a_forged_sealed_share_repeated_in_answer_is_detected_and_named(
    forge: str, reason: str
) -> None:
    rehearsal = Rehearsal.deal(MANIFEST)
    dealer = rehearsal.trustee(2)
    if forge == "bad-value":
        share = dealer.share_for(4) + Scalar(1)
        plaintext = share_plaintext(rehearsal.base_hash, 2, 4, share)
    elif forge == "other-recipient":
        share = dealer.share_for(5)
        plaintext = share_plaintext(rehearsal.base_hash, 2, 5, share)
    else:
        other = Rehearsal.deal(ceremony_manifest(KEYS, 3, name="Another ceremony"))
        share = other.trustee(2).share_for(4)
        plaintext = share_plaintext(other.base_hash, 2, 4, share)
    rehearsal.reseal(2, 4, plaintext)

    def repeat(trustee: Trustee, complaint: Complaint) -> ShareReveal:
        return ShareReveal(trustee.index, complaint.complainer, share)

    complaints, outcome = rehearsal.run(repeat)
    (complaint,) = complaints
    assert (complaint.complainer, complaint.accused) == (4, 2)
    assert reason in complaint.reason
    _assert_outcome_restart(outcome, 2, "the share it revealed for guardian 4 is wrong")
    assert all(t.key_share is None for t in rehearsal.trustees)


def _assert_outcome_restart(outcome: CeremonyOutcome, cheater: int, reason: str) -> None:
    assert outcome.disqualified == {cheater: reason}
    assert outcome.context is None
    with pytest.raises(CeremonyError, match=rf"without guardians \[{cheater}\].*{reason}"):
        outcome.require_context()


@pytest.mark.parametrize("forge", ["other-recipient", "other-ceremony"])
def test_a_good_share_in_a_wrong_context_answered_in_clear_is_an_unfounded_complaint(
    forge: str,
) -> None:
    # The context check rejects the box even though the value inside is right; the dealer's
    # answer then checks out, so the complainer finishes with the revealed share.
    rehearsal = Rehearsal.deal(MANIFEST)
    share = rehearsal.trustee(2).share_for(4)
    if forge == "other-recipient":
        plaintext = share_plaintext(rehearsal.base_hash, 2, 5, share)
    else:
        other_ceremony = base_hash(ceremony_manifest(KEYS, 3, name="Another ceremony"))
        plaintext = share_plaintext(other_ceremony, 2, 4, share)
    rehearsal.reseal(2, 4, plaintext)
    complaints, outcome = rehearsal.run()
    assert [(c.complainer, c.accused) for c in complaints] == [(4, 2)]
    assert outcome.disqualified == {}
    assert outcome.unfounded_complaints == tuple(complaints)
    context = outcome.require_context()
    for trustee in rehearsal.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)


# --- the restart rule -----------------------------------------------------------------------------


def test_the_honest_guardians_restart_without_the_cheater_under_a_new_base_hash() -> None:
    _, first = _run(_only(2, messages.COMMIT, lambda m: NOTHING))
    assert set(first.outcome.disqualified) == {2}
    remaining: list[SigningKey] = [
        key for index, key in enumerate(KEYS, start=1) if index in first.outcome.qualified
    ]
    manifest = ceremony_manifest(remaining, 3)
    assert len(manifest.guardians) == 4
    assert base_hash(manifest) != base_hash(MANIFEST)
    board = BoardRecorder()
    second = run_ceremony(manifest, board.post)
    assert second.outcome.qualified == (1, 2, 3, 4)
    context = _context(second)
    assert context.base_hash == base_hash(manifest)
    for trustee in second.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)
    ciphertext = encrypt(2, random_scalar(), context.joint_key)
    for subset in itertools.combinations(second.trustees, 3):
        assert decrypt_with(subset, context, ciphertext) == small_multiple(2)
