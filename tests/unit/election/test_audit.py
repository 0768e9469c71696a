"""Benaloh cast-or-audit (crypto spec §3.7): an audited ballot re-encrypts from its seed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from evote.board.entry import Entry
from evote.crypto import encoding
from evote.crypto.elgamal import selection_nonce
from evote.crypto.group import Scalar
from evote.crypto.scheme import SCHEME_A
from evote.crypto.signing import SigningKey
from evote.election.audit import AUDIT_TAG, AuditMismatch, AuditReveal, verify_audit
from evote.election.ballot import EncryptedBallot, ballot_binding, contest_index, verify_ballot
from evote.election.contest import EncryptedContest, EncryptedSelection, range_statement
from evote.election.context import ElectionContext
from evote.election.encrypt import EncryptionResult, PlaintextBallot
from evote.errors import DecodeError, ProofError, VerificationError
from evote.record import kinds
from evote.record.ballot_box import BallotBox, BallotRejected, check_proofs, parse_submission
from tests.unit.election.test_ballot import CONTEXT, VOTER, cast, plaintext, replace_selection
from tests.unit.election.test_manifest import MANIFEST


def reveal_of(result: EncryptionResult, style: str = "north") -> AuditReveal:
    return AuditReveal(result.ballot, result.seed, plaintext(style).votes)


def reuse_nonces(
    audited: EncryptionResult,
    votes: PlaintextBallot,
    context: ElectionContext,
    ballot_id: bytes,
    sequence: int,
) -> EncryptedBallot:
    """What a cheating device does: a new ballot id and valid proofs, the audited nonces reused.

    The ciphertexts are those of the audited ballot, so the audit's seed opens this ballot.
    """
    old_binding = audited.ballot.binding(context)
    credential = audited.ballot.credential
    binding = ballot_binding(context.extended_hash, ballot_id, credential, votes.style, sequence)
    key, election_hash = context.joint_key, context.extended_hash
    contests = []
    for part, values in zip(context.manifest.style(votes.style).parts, votes.votes, strict=True):
        definition, district = context.manifest.part(part)
        shape = definition.shape(district)
        index = contest_index(context.manifest, part)
        selections = []
        nonces = []
        for option, (value, limit) in enumerate(zip(values, shape.option_limits, strict=True)):
            nonce = selection_nonce(election_hash, old_binding, audited.seed, index, option)
            nonces.append(nonce)
            ciphertext = SCHEME_A.encrypt(value, nonce, key)
            statement = range_statement(election_hash, binding, index, option)
            proof = SCHEME_A.prove_range(ciphertext, value, nonce, 0, limit, key, statement)
            selections.append(EncryptedSelection(ciphertext, proof))
        total = SCHEME_A.encrypt(sum(values), Scalar(sum(n.value for n in nonces)), key)
        total_proof = SCHEME_A.prove_range(
            total,
            sum(values),
            Scalar(sum(n.value for n in nonces)),
            shape.min_total,
            shape.max_total,
            key,
            range_statement(election_hash, binding, index, None),
        )
        contests.append(EncryptedContest(tuple(selections), total_proof))
    return EncryptedBallot(ballot_id, credential, sequence, votes.style, tuple(contests))


AUDITED = cast()


@pytest.mark.parametrize("style", ["north", "south"])
def test_an_honest_audit_verifies(style: str) -> None:
    verify_audit(reveal_of(cast(style), style), CONTEXT)


def test_a_blank_ballot_audit_verifies() -> None:
    blank = {"council/north": ["a"]}
    result = cast("north", blank)
    verify_audit(AuditReveal(result.ballot, result.seed, plaintext("north", blank).votes), CONTEXT)


@pytest.mark.parametrize(
    ("claimed", "message"),
    [
        (((0, 1), (0, 1, 0), (0, 0, 1, 0, 0)), "referendum: option 0 does not re-encrypt"),
        (((1, 0), (0, 0, 1), (0, 0, 1, 0, 0)), "head: option 1 does not re-encrypt"),
        (((1, 0), (0, 1, 0), (1, 0, 0, 0, 0)), "council/north: option 0 does not re-encrypt"),
        (((1, 0), (0, 0, 0), (0, 0, 1, 0, 0)), "head: option 1 does not re-encrypt"),
    ],
    ids=["referendum-no", "head-melnyk", "council-party-a", "head-blank"],
)
def test_a_claimed_plaintext_that_differs_fails(
    claimed: tuple[tuple[int, ...], ...], message: str
) -> None:
    reveal = AuditReveal(AUDITED.ballot, AUDITED.seed, claimed)
    with pytest.raises(AuditMismatch, match=message):
        verify_audit(reveal, CONTEXT)


@pytest.mark.parametrize(
    ("claimed", "message"),
    [
        (((1, 0), (0, 1, 0)), "the reveal gives 2 parts for 3"),
        (((1, 0), (0, 1), (0, 0, 1, 0, 0)), "head: the reveal gives 2 option values"),
        (((1, 0), (0, 2, 0), (0, 0, 1, 0, 0)), "head: option 1 claims the impossible value 2"),
    ],
)
def test_a_claimed_plaintext_of_the_wrong_shape_fails(
    claimed: tuple[tuple[int, ...], ...], message: str
) -> None:
    with pytest.raises(AuditMismatch, match=message):
        verify_audit(AuditReveal(AUDITED.ballot, AUDITED.seed, claimed), CONTEXT)


def test_a_different_seed_fails() -> None:
    reveal = dataclasses.replace(reveal_of(AUDITED), seed=cast().seed)
    with pytest.raises(AuditMismatch, match="referendum: option 0 does not re-encrypt"):
        verify_audit(reveal, CONTEXT)


@pytest.mark.parametrize(("part", "option"), [(0, 1), (1, 2), (2, 4)])
def test_a_tampered_ciphertext_fails(part: int, option: int) -> None:
    other = cast().ballot.contests[part].selections[option].ciphertext
    tampered = replace_selection(AUDITED.ballot, part, option, other)
    with pytest.raises(AuditMismatch, match=f"option {option} does not re-encrypt"):
        verify_audit(dataclasses.replace(reveal_of(AUDITED), ballot=tampered), CONTEXT)


def test_a_tampered_proof_fails_even_when_every_ciphertext_re_encrypts() -> None:
    other = cast().ballot
    contests = list(AUDITED.ballot.contests)
    contests[1] = dataclasses.replace(contests[1], total_proof=other.contests[1].total_proof)
    tampered = dataclasses.replace(AUDITED.ballot, contests=tuple(contests))
    with pytest.raises(ProofError) as caught:
        verify_audit(dataclasses.replace(reveal_of(AUDITED), ballot=tampered), CONTEXT)
    assert caught.value.field.startswith("head.")


def test_an_audit_moved_to_another_credential_fails() -> None:
    moved = dataclasses.replace(AUDITED.ballot, credential=SigningKey(b"\x63" * 32).verify_key)
    with pytest.raises(AuditMismatch):
        verify_audit(dataclasses.replace(reveal_of(AUDITED), ballot=moved), CONTEXT)


def test_a_mismatch_is_a_verification_error() -> None:
    assert issubclass(AuditMismatch, VerificationError)


# --- seed reuse: the device must start again with a fresh ballot id and seed ----------------------


def _submit(box: BallotBox, kind: str, body: bytes) -> None:
    entry = Entry.create(kind, MANIFEST.election_id, body, [VOTER])
    submission = parse_submission(entry.encoded, CONTEXT)
    check_proofs(submission, CONTEXT)
    box.admit(submission)


def _open_box() -> BallotBox:
    box = BallotBox(CONTEXT, [VOTER.verify_key])
    box.phase = "open"
    return box


def test_casting_the_audited_ballot_itself_is_refused() -> None:
    box = _open_box()
    _submit(box, kinds.AUDIT, reveal_of(AUDITED).to_tlv())
    with pytest.raises(BallotRejected, match="was already used"):
        _submit(box, kinds.BALLOT, AUDITED.ballot.to_tlv())


def test_reused_nonces_under_a_new_ballot_id_have_valid_proofs_but_the_box_refuses() -> None:
    reused = reuse_nonces(AUDITED, plaintext(), CONTEXT, b"\x42" * 16, 0)
    verify_ballot(reused, CONTEXT)  # the cheating device's proofs are fine ...
    alphas = {s.ciphertext.alpha for c in reused.contests for s in c.selections}
    assert alphas == {s.ciphertext.alpha for c in AUDITED.ballot.contests for s in c.selections}
    box = _open_box()
    _submit(box, kinds.AUDIT, reveal_of(AUDITED).to_tlv())
    with pytest.raises(BallotRejected, match="already submitted"):  # ... but the α are known
        _submit(box, kinds.BALLOT, reused.to_tlv())


# --- canonical form -------------------------------------------------------------------------------


def test_tlv_round_trip() -> None:
    reveal = reveal_of(AUDITED)
    data = reveal.to_tlv()
    decoded = AuditReveal.from_tlv(data, MANIFEST)
    assert decoded == reveal
    assert decoded.to_tlv() == data
    verify_audit(decoded, CONTEXT)


def _value() -> list[encoding.Decoded]:
    value = encoding.decode(reveal_of(AUDITED).to_tlv())
    assert isinstance(value, list)
    return value


def _votes(value: list[encoding.Decoded]) -> list[encoding.Decoded]:
    votes = value[3]
    assert isinstance(votes, list)
    return votes


def _ballot(value: list[encoding.Decoded]) -> list[encoding.Decoded]:
    ballot = value[1]
    assert isinstance(ballot, list)
    return ballot


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.__setitem__(0, "evote/v1/ballot"), "not an evote v1 audit reveal"),
        (lambda v: v.__setitem__(2, b"\x00" * 31), "audit.seed: expected 32 bytes"),
        (lambda v: _votes(v).pop(), "audit.votes: expected 3 items, got 2"),
        (lambda v: _votes(v).__setitem__(0, [b"\x01", 0]), "audit.vote: expected an unsigned"),
        (lambda v: _votes(v).__setitem__(0, 1), "audit.votes: expected a list"),
        (lambda v: _ballot(v).__setitem__(4, "east"), "no ballot style 'east'"),
        (lambda v: v.pop(), "audit: expected 4 items"),
    ],
    ids=["tag", "seed", "parts", "vote-type", "part-type", "ballot-style", "short"],
)
def test_from_tlv_refuses_malformed_reveals(
    change: Callable[[list[encoding.Decoded]], object], message: str
) -> None:
    value = _value()
    change(value)
    with pytest.raises(DecodeError, match=message):
        AuditReveal.from_tlv(encoding.encode(value), MANIFEST)


def test_the_tag_is_the_first_item() -> None:
    assert _value()[0] == AUDIT_TAG
