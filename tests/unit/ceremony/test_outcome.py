"""The public judgement of a key ceremony (crypto spec §3.5 rounds 4–5): who qualified, who is
disqualified and why, and the election context when everyone qualified."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from evote.ceremony.messages import (
    Commit,
    Complaint,
    GuardianKey,
    SealedShares,
    ShareReveal,
    TransportKey,
    commitment_hash,
)
from evote.ceremony.outcome import (
    CeremonyOutcome,
    dealer_problem,
    key_check_ciphertext,
    key_check_target,
    verify_key_check,
)
from evote.crypto import threshold
from evote.crypto.group import IDENTITY, Point, Scalar, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.schnorr import prove_coefficient
from evote.election.context import ElectionContext
from evote.errors import CeremonyError, EvoteError, ProofError
from tests.unit.ceremony import Rehearsal, ceremony_manifest, share_plaintext

MANIFEST = ceremony_manifest(5, 3)


@pytest.fixture
def rehearsal() -> Rehearsal:
    return Rehearsal.deal(MANIFEST)


def _problem(r: Rehearsal, dealer: int) -> str | None:
    return dealer_problem(
        dealer, r.manifest, r.base_hash, r.transport, r.commits, r.reveals, r.sealed
    )


def _forged_reveal(r: Rehearsal, dealer: int, coefficients: list[Scalar]) -> GuardianKey:
    """A reveal of other coefficients, with valid proofs, that the dealer also commits to."""
    pairs = [prove_coefficient(a, r.base_hash, dealer, j) for j, a in enumerate(coefficients)]
    reveal = GuardianKey(dealer, tuple(c for c, _ in pairs), tuple(p for _, p in pairs))
    r.commits[dealer] = Commit(dealer, commitment_hash(r.base_hash, dealer, reveal.commitments))
    return reveal


# --- an honest ceremony ---------------------------------------------------------------------------


def test_an_honest_ceremony_qualifies_everyone_and_derives_the_context(
    rehearsal: Rehearsal,
) -> None:
    outcome = rehearsal.judge([], [])
    assert outcome.qualified == (1, 2, 3, 4, 5)
    assert outcome.disqualified == {}
    assert outcome.unfounded_complaints == ()
    assert outcome.revealed_shares == ()
    context = outcome.require_context()
    commitments = [rehearsal.reveals[i].commitments for i in range(1, 6)]
    assert context == ElectionContext.create(MANIFEST, commitments)
    assert context.manifest == MANIFEST
    assert context.base_hash == rehearsal.base_hash
    assert context.commitments == tuple(commitments)
    total = IDENTITY
    for commitment_set in commitments:
        total = total + commitment_set[0]
    assert context.joint_key == total
    for index in range(1, 6):
        assert context.verification_key(index) == threshold.verification_key(index, commitments)
        z = Scalar(sum(rehearsal.trustee(i).share_for(index).value for i in range(1, 6)))
        assert base_mul(z) == context.verification_key(index)


def test_the_judgement_is_a_function_of_the_public_messages(rehearsal: Rehearsal) -> None:
    decoded = Rehearsal(
        rehearsal.manifest,
        (),
        {i: TransportKey.from_tlv(m.to_tlv()) for i, m in rehearsal.transport.items()},
        {i: Commit.from_tlv(m.to_tlv()) for i, m in rehearsal.commits.items()},
        {i: GuardianKey.from_tlv(m.to_tlv()) for i, m in rehearsal.reveals.items()},
        {i: SealedShares.from_tlv(m.to_tlv()) for i, m in rehearsal.sealed.items()},
    )
    assert decoded.judge([], []) == rehearsal.judge([], [])


def test_every_honest_dealer_has_no_problem(rehearsal: Rehearsal) -> None:
    assert [_problem(rehearsal, i) for i in range(1, 6)] == [None] * 5


# --- public faults of a dealer --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("round_", "name"),
    [
        ("transport", "transport key"),
        ("commits", "commitment"),
        ("reveals", "reveal"),
        ("sealed", "sealed shares"),
    ],
)
def test_a_dealer_who_missed_a_round_is_disqualified(
    rehearsal: Rehearsal, round_: str, name: str
) -> None:
    del getattr(rehearsal, round_)[2]
    assert _problem(rehearsal, 2) == f"missed the {name} round"
    outcome = rehearsal.judge([], [])
    assert outcome.disqualified == {2: f"missed the {name} round"}
    assert outcome.qualified == (1, 3, 4, 5)
    assert outcome.context is None


def test_a_reveal_that_does_not_match_the_commitment_is_disqualified(
    rehearsal: Rehearsal,
) -> None:
    commit = rehearsal.commits[3]
    rehearsal.reveals[3] = _forged_reveal(rehearsal, 3, [Scalar(11), Scalar(12), Scalar(13)])
    rehearsal.commits[3] = commit  # committed to the first polynomial, revealed another
    assert _problem(rehearsal, 3) == "its reveal does not match its commitment"
    assert rehearsal.judge([], []).disqualified == {3: "its reveal does not match its commitment"}


def test_a_commitment_changed_after_the_reveal_is_disqualified(rehearsal: Rehearsal) -> None:
    rehearsal.commits[3] = Commit(3, bytes(32))
    assert _problem(rehearsal, 3) == "its reveal does not match its commitment"


@pytest.mark.parametrize("degree", [0, 1, 2])
@pytest.mark.parametrize("part", ["challenge", "response"])
def test_a_bad_proof_of_knowledge_is_disqualified(
    rehearsal: Rehearsal, degree: int, part: str
) -> None:
    reveal = rehearsal.reveals[4]
    proof = reveal.proofs[degree]
    one = Scalar(1)
    bad = (
        CompactProof(proof.challenge + one, proof.response)
        if part == "challenge"
        else CompactProof(proof.challenge, proof.response + one)
    )
    proofs = list(reveal.proofs)
    proofs[degree] = bad
    rehearsal.reveals[4] = dataclasses.replace(reveal, proofs=tuple(proofs))
    reason = f"its proof of knowledge of coefficient {degree} fails"
    assert _problem(rehearsal, 4) == reason
    assert rehearsal.judge([], []).disqualified == {4: reason}


def test_proofs_swapped_between_slots_are_disqualified(rehearsal: Rehearsal) -> None:
    reveal = rehearsal.reveals[4]
    swapped = (reveal.proofs[1], reveal.proofs[0], reveal.proofs[2])
    rehearsal.reveals[4] = dataclasses.replace(reveal, proofs=swapped)
    assert _problem(rehearsal, 4) == "its proof of knowledge of coefficient 0 fails"


def test_a_guardian_replaying_another_guardians_commitments_and_proofs_is_disqualified(
    rehearsal: Rehearsal,
) -> None:
    # Guardian 3 copies guardian 1's reveal and commits to it under its own index: the
    # proofs hash i = 1, so they fail for guardian 3 (the ElectionGuard issue #278 lesson).
    copied = rehearsal.reveals[1]
    rehearsal.reveals[3] = GuardianKey(3, copied.commitments, copied.proofs)
    rehearsal.commits[3] = Commit(3, commitment_hash(rehearsal.base_hash, 3, copied.commitments))
    assert _problem(rehearsal, 3) == "its proof of knowledge of coefficient 0 fails"
    assert rehearsal.judge([], []).disqualified == {
        3: "its proof of knowledge of coefficient 0 fails"
    }


def test_proofs_from_another_ceremony_are_disqualified(rehearsal: Rehearsal) -> None:
    other = Rehearsal.deal(ceremony_manifest(5, 3, name="Another ceremony"))
    rehearsal.reveals[2] = other.reveals[2]
    rehearsal.commits[2] = Commit(
        2, commitment_hash(rehearsal.base_hash, 2, other.reveals[2].commitments)
    )
    assert _problem(rehearsal, 2) == "its proof of knowledge of coefficient 0 fails"


@pytest.mark.parametrize("count", [2, 4])
def test_a_reveal_of_the_wrong_number_of_commitments_is_disqualified(
    rehearsal: Rehearsal, count: int
) -> None:
    coefficients = [Scalar(7 + j) for j in range(count)]
    rehearsal.reveals[5] = _forged_reveal(rehearsal, 5, coefficients)
    assert _problem(rehearsal, 5) == f"revealed {count} commitments, not 3"


def test_an_identity_commitment_fails_its_proof(rehearsal: Rehearsal) -> None:
    reveal = rehearsal.reveals[5]
    commitments = (reveal.commitments[0], IDENTITY, reveal.commitments[2])
    rehearsal.reveals[5] = GuardianKey(5, commitments, reveal.proofs)
    rehearsal.commits[5] = Commit(5, commitment_hash(rehearsal.base_hash, 5, commitments))
    assert _problem(rehearsal, 5) == "its proof of knowledge of coefficient 1 fails"


@pytest.mark.parametrize(
    "recipients",
    [(1, 3, 4), (1, 3, 4, 5, 5), (1, 2, 3, 4, 5), (1, 3, 4, 5, 6), (5, 1, 3)],
    ids=["missing", "twice", "itself", "stranger", "short-unordered"],
)
def test_a_dealer_who_does_not_seal_exactly_one_share_to_each_other_guardian_is_disqualified(
    rehearsal: Rehearsal, recipients: tuple[int, ...]
) -> None:
    box = rehearsal.sealed[2].for_recipient(1)
    assert box is not None
    rehearsal.sealed[2] = SealedShares(2, tuple((r, box) for r in recipients))
    reason = "did not seal exactly one share to every other guardian"
    assert _problem(rehearsal, 2) == reason
    assert rehearsal.judge([], []).disqualified == {2: reason}


def test_boxes_in_another_order_are_accepted(rehearsal: Rehearsal) -> None:
    sealed = rehearsal.sealed[2]
    rehearsal.sealed[2] = SealedShares(2, sealed.sealed[::-1])
    assert _problem(rehearsal, 2) is None


def test_every_faulty_dealer_is_named(rehearsal: Rehearsal) -> None:
    del rehearsal.commits[1]
    rehearsal.commits[4] = Commit(4, bytes(32))
    outcome = rehearsal.judge([], [])
    assert outcome.disqualified == {
        1: "missed the commitment round",
        4: "its reveal does not match its commitment",
    }
    assert outcome.qualified == (2, 3, 5)


# --- complaints and answers -----------------------------------------------------------------------


def _answer(r: Rehearsal, dealer: int, recipient: int) -> ShareReveal:
    return r.trustee(dealer).answer(Complaint(recipient, dealer, ""))


def test_an_unfounded_complaint_stays_on_the_record_and_disqualifies_nobody(
    rehearsal: Rehearsal,
) -> None:
    complaint = Complaint(4, 2, "I say the share is bad")
    answer = _answer(rehearsal, 2, 4)
    outcome = rehearsal.judge([complaint], [answer])
    assert outcome.disqualified == {}
    assert outcome.unfounded_complaints == (complaint,)
    assert outcome.revealed_shares == (answer,)
    assert outcome.revealed_shares_for(4) == {2: rehearsal.trustee(2).share_for(4)}
    assert outcome.revealed_shares_for(2) == {}
    assert outcome.context is not None


def test_a_complaint_answered_with_a_wrong_share_disqualifies_the_dealer(
    rehearsal: Rehearsal,
) -> None:
    wrong = ShareReveal(2, 4, rehearsal.trustee(2).share_for(4) + Scalar(1))
    outcome = rehearsal.judge([Complaint(4, 2, "bad share")], [wrong])
    assert outcome.disqualified == {2: "the share it revealed for guardian 4 is wrong"}
    assert outcome.unfounded_complaints == ()
    assert outcome.revealed_shares == ()
    assert outcome.context is None


def test_a_complaint_answered_with_another_recipients_share_disqualifies_the_dealer(
    rehearsal: Rehearsal,
) -> None:
    other = ShareReveal(2, 4, rehearsal.trustee(2).share_for(5))
    outcome = rehearsal.judge([Complaint(4, 2, "bad share")], [other])
    assert outcome.disqualified == {2: "the share it revealed for guardian 4 is wrong"}


@pytest.mark.parametrize(
    "answers",
    [[], [ShareReveal(2, 5, Scalar(1))], [ShareReveal(3, 4, Scalar(1))]],
    ids=["none", "to-another-recipient", "from-another-dealer"],
)
def test_an_unanswered_complaint_disqualifies_the_dealer(
    rehearsal: Rehearsal, answers: list[ShareReveal]
) -> None:
    outcome = rehearsal.judge([Complaint(4, 2, "bad share")], answers)
    assert outcome.disqualified[2] == "did not answer the complaint of guardian 4"
    assert outcome.context is None
    # A share revealed without a complaint behind it disqualifies its dealer too.
    for answer in answers:
        if answer.dealer != 2:
            assert outcome.disqualified[answer.dealer] == (
                f"revealed its share for guardian {answer.recipient} unasked"
            )


def test_the_bad_share_path_end_to_end(rehearsal: Rehearsal) -> None:
    # Dealer 2 seals a share inconsistent with its commitments and, asked, reveals it again.
    wrong = rehearsal.trustee(2).share_for(4) + Scalar(1)
    rehearsal.reseal(2, 4, share_plaintext(rehearsal.base_hash, 2, 4, wrong))
    complaints = rehearsal.complaints()
    assert [(c.complainer, c.accused) for c in complaints] == [(4, 2)]
    outcome = rehearsal.judge(complaints, [ShareReveal(2, 4, wrong)])
    assert outcome.disqualified == {2: "the share it revealed for guardian 4 is wrong"}


@pytest.mark.parametrize("complainers", list(itertools.combinations([1, 3, 4, 5], 3)))
def test_t_distinct_complaints_disqualify_even_when_every_answer_checks_out(
    rehearsal: Rehearsal, complainers: tuple[int, ...]
) -> None:
    complaints = [Complaint(c, 2, "bad share") for c in complainers]
    answers = [_answer(rehearsal, 2, c) for c in complainers]
    outcome = rehearsal.judge(complaints, answers)
    assert outcome.disqualified == {2: "3 guardians complained (at least one is honest)"}
    assert outcome.context is None


def test_t_minus_one_complaints_answered_well_disqualify_nobody(rehearsal: Rehearsal) -> None:
    complaints = [Complaint(1, 2, "bad share"), Complaint(5, 2, "bad share")]
    answers = [_answer(rehearsal, 2, 1), _answer(rehearsal, 2, 5)]
    outcome = rehearsal.judge(complaints, answers)
    assert outcome.disqualified == {}
    assert outcome.unfounded_complaints == tuple(complaints)


def test_a_complaint_filed_twice_disqualifies_its_complainer(rehearsal: Rehearsal) -> None:
    # One guardian cannot reach the t-complaints threshold alone by repeating itself.
    complaints = [Complaint(1, 2, f"bad share, again ({k})") for k in range(3)]
    outcome = rehearsal.judge(complaints, [_answer(rehearsal, 2, 1)])
    assert outcome.disqualified == {1: "filed a complaint that names no other guardian once"}


def test_four_complaints_are_counted_in_the_reason(rehearsal: Rehearsal) -> None:
    complainers = [1, 3, 4, 5]
    complaints = [Complaint(c, 2, "bad share") for c in complainers]
    outcome = rehearsal.judge(complaints, [_answer(rehearsal, 2, c) for c in complainers])
    assert outcome.disqualified == {2: "4 guardians complained (at least one is honest)"}


def test_with_quorum_one_a_single_complaint_disqualifies() -> None:
    rehearsal = Rehearsal.deal(ceremony_manifest(3, 1))
    outcome = rehearsal.judge([Complaint(3, 1, "bad share")], [_answer(rehearsal, 1, 3)])
    assert outcome.disqualified == {1: "1 guardians complained (at least one is honest)"}


def test_complaints_about_several_dealers_are_judged_separately(rehearsal: Rehearsal) -> None:
    complaints = [
        Complaint(1, 2, "bad share"),
        Complaint(1, 3, "bad share"),
        Complaint(4, 5, "bad share"),
    ]
    answers = [_answer(rehearsal, 2, 1), ShareReveal(3, 1, Scalar(5))]
    outcome = rehearsal.judge(complaints, answers)
    assert outcome.disqualified == {
        3: "the share it revealed for guardian 1 is wrong",
        5: "did not answer the complaint of guardian 4",
    }
    assert outcome.unfounded_complaints == (complaints[0],)
    assert outcome.qualified == (1, 2, 4)


@pytest.mark.parametrize(
    "complaint",
    [
        Complaint(2, 2, "myself"),
        Complaint(0, 2, "nobody"),
        Complaint(6, 2, "a stranger"),
        Complaint(4, 0, "nobody"),
        Complaint(4, 6, "a stranger"),
    ],
    ids=["self", "complainer-0", "complainer-6", "accused-0", "accused-6"],
)
def test_complaints_against_oneself_or_nobody_disqualify_the_complainer(
    rehearsal: Rehearsal, complaint: Complaint
) -> None:
    outcome = rehearsal.judge([complaint] * 3, [])
    assert outcome.unfounded_complaints == ()
    if 1 <= complaint.complainer <= 5:
        assert outcome.disqualified == {
            complaint.complainer: "filed a complaint that names no other guardian once"
        }
    else:  # no guardian to hold to account: the board refuses such entries anyway
        assert outcome.disqualified == {}
        assert outcome.context is not None


def test_a_public_fault_keeps_its_reason_despite_complaints(rehearsal: Rehearsal) -> None:
    del rehearsal.sealed[2]
    complaints = [Complaint(c, 2, "no share") for c in (1, 3, 4, 5)]
    outcome = rehearsal.judge(complaints, [])
    assert outcome.disqualified == {2: "missed the sealed shares round"}
    assert outcome.unfounded_complaints == ()


# --- the restart rule -----------------------------------------------------------------------------


def test_require_context_names_every_disqualified_guardian_and_why(rehearsal: Rehearsal) -> None:
    del rehearsal.reveals[5]
    outcome = rehearsal.judge([Complaint(1, 2, "bad share")], [])
    assert outcome.context is None
    with pytest.raises(CeremonyError) as raised:
        outcome.require_context()
    assert str(raised.value) == (
        "the ceremony must restart without guardians [2, 5] (a new manifest): "
        "guardian 2: did not answer the complaint of guardian 1; "
        "guardian 5: missed the reveal round"
    )


def test_require_context_returns_the_context_when_everyone_qualified(
    rehearsal: Rehearsal,
) -> None:
    outcome = rehearsal.judge([], [])
    assert outcome.context is not None
    assert outcome.require_context() is outcome.context


def test_revealed_shares_for_picks_the_recipients_answers() -> None:
    reveals = (ShareReveal(1, 2, Scalar(10)), ShareReveal(3, 2, Scalar(30)))
    outcome = CeremonyOutcome((1, 2, 3), {}, (), (*reveals, ShareReveal(1, 3, Scalar(13))), None)
    assert outcome.revealed_shares_for(2) == {1: Scalar(10), 3: Scalar(30)}
    assert outcome.revealed_shares_for(3) == {1: Scalar(13)}
    assert outcome.revealed_shares_for(1) == {}


# --- the key check's public parts -----------------------------------------------------------------


@pytest.fixture(scope="module")
def finished() -> tuple[Rehearsal, ElectionContext]:
    rehearsal = Rehearsal.deal(ceremony_manifest(4, 3))
    _, outcome = rehearsal.run()
    return rehearsal, outcome.require_context()


def test_the_key_check_ciphertext_is_a_public_encryption_of_zero(
    finished: tuple[Rehearsal, ElectionContext],
) -> None:
    rehearsal, context = finished
    ciphertext = key_check_ciphertext(context)
    nonce = hash_to_scalar("key-check", context.extended_hash)
    assert ciphertext.alpha == base_mul(nonce)
    assert ciphertext.beta == mul(nonce, context.joint_key)
    assert key_check_ciphertext(context) == ciphertext
    shares: dict[int, Point] = {}
    for trustee in rehearsal.trustees[:3]:
        check = trustee.key_check(context)
        verify_key_check(check, context)
        shares[check.guardian] = check.share
    assert ciphertext.beta - threshold.combine_shares(shares, 3) == IDENTITY


def test_the_key_check_target_binds_the_extended_hash(
    finished: tuple[Rehearsal, ElectionContext],
) -> None:
    _, context = finished
    target = key_check_target(context)
    assert target.election_hash == context.extended_hash
    assert target.target_id == b"key-check"


def test_a_key_check_naming_a_guardian_outside_the_roster_is_refused(
    finished: tuple[Rehearsal, ElectionContext],
) -> None:
    rehearsal, context = finished
    check = rehearsal.trustee(1).key_check(context)
    with pytest.raises(EvoteError):
        verify_key_check(dataclasses.replace(check, guardian=5), context)
    with pytest.raises(ProofError):
        verify_key_check(dataclasses.replace(check, guardian=2), context)
