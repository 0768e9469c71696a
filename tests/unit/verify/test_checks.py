"""Each numbered check of docs/election-record.md on small hand-built inputs.

Every test starts from the honest election of :mod:`tests.unit.verify.builder`, changes one
thing, calls the one check function, and asserts the failure it names (entry and field).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import pytest

from evote.board.entry import ENVELOPE_TAG, Entry
from evote.board.record import ENTRIES_FILE
from evote.ceremony.messages import GuardianKey, JointKey
from evote.crypto import encoding
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import BASE, L, Scalar
from evote.crypto.proofs.range import RangeProof
from evote.crypto.scheme import SCHEME_A
from evote.crypto.signing import VerifyKey
from evote.election import context as prover_context
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.contest import EncryptedContest
from evote.election.encrypt import encrypt_ballot
from evote.election.tally import EncryptedTally, GuardianShares, TallyResult
from evote.errors import CheckFailed, InvalidInput, ProofError, RecordError
from evote.record import kinds
from evote.record.kinds import CredentialList, PhaseMark
from evote.verify import checks
from evote.verify.checks import Findings
from evote.verify.schemes import lagrange_coefficient, record_scheme
from tests.unit.verify import builder
from tests.unit.verify.builder import (
    AUTHORITY,
    GUARDIANS,
    MANIFEST,
    OFFICIALS,
    QUORUM,
    STRANGER,
    VOTERS,
    entry,
)

E = builder.election()
TRANSPORTS = E.index(kinds.CEREMONY_TRANSPORT)
COMMITS = E.index(kinds.CEREMONY_COMMIT)
REVEALS = E.index(kinds.GUARDIAN_KEY)
SEALED = E.index(kinds.CEREMONY_SHARES)
JOINT_AT = E.at(kinds.JOINT_KEY)
KEY_CHECKS = E.index(kinds.KEY_CHECK)
CREDENTIALS_AT = E.at(kinds.CREDENTIALS)
OPEN_AT = E.at(kinds.OPEN)
FIRST, SECOND, THIRD, REVOTE = E.index(kinds.BALLOT)
AUDIT_AT = E.at(kinds.AUDIT)
CLOSE_AT = E.at(kinds.CLOSE)
TALLY_AT = E.at(kinds.TALLY)
SHARE_1, SHARE_3 = E.index(kinds.DECRYPTION_SHARE)
RESULT_AT = E.at(kinds.RESULT)
COUNTED = [SECOND, THIRD, REVOTE]


def where(findings: Findings) -> list[tuple[int | None, str | None]]:
    return [(failure.entry, failure.field) for failure in findings.failures]


def messages(findings: Findings) -> str:
    return "\n".join(str(failure) for failure in findings.failures)


def insert(entries: Sequence[Entry], index: int, *new: Entry) -> list[Entry]:
    return [*entries[:index], *new, *entries[index:]]


def swap(entries: Sequence[Entry], index: int, new: Entry) -> list[Entry]:
    return [*entries[:index], new, *entries[index + 1 :]]


def test_every_check_passes_on_the_honest_election(tmp_path: Path) -> None:
    builder.write_record(E.entries, tmp_path / "record")
    record_findings, record = checks.check_record(tmp_path / "record", MANIFEST)
    assert record_findings.passed
    assert record is not None
    assert record.entries == E.entries
    assert checks.check_closing_checkpoint(record, MANIFEST).passed
    assert checks.check_phases(E.entries, MANIFEST).passed
    guardians, commitments = checks.check_guardians(E.entries, MANIFEST)
    assert guardians.passed
    assert commitments == E.context.commitments
    joint, context = checks.check_joint_key(E.entries, MANIFEST, commitments)
    assert joint.passed
    assert context is not None
    credentials, listed = checks.check_credentials(E.entries, MANIFEST)
    assert credentials.passed
    assert listed == frozenset(v.verify_key for v in VOTERS)


# --- recomputed election hashes agree with the prover's --------------------------------------


def test_recomputed_hashes_and_keys_agree_with_the_election_layer() -> None:
    assert checks.params_hash() == SCHEME_A.params_hash == MANIFEST.scheme
    assert checks.base_hash(MANIFEST) == prover_context.base_hash(MANIFEST)
    derived = checks.derive_context(MANIFEST, E.context.commitments)
    assert derived.joint_key == E.context.joint_key
    assert derived.verification_keys == E.context.verification_keys
    assert derived.extended_hash == E.context.extended_hash
    assert checks.ballot_binding(derived.extended_hash, E.ballots[0]) == E.ballots[0].binding(
        E.context
    )


def test_lagrange_coefficients_interpolate_at_zero() -> None:
    for subset in ([1, 2], [1, 3], [2, 3], [1, 2, 3]):
        assert sum(lagrange_coefficient(g, subset).value for g in subset) % L == 1


# --- 1. record -----------------------------------------------------------------------------------


def test_record_fails_on_a_changed_byte(tmp_path: Path) -> None:
    directory = builder.write_record(E.entries, tmp_path / "record")
    data = bytearray((directory / ENTRIES_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (directory / ENTRIES_FILE).write_bytes(bytes(data))
    findings, record = checks.check_record(directory, MANIFEST)
    assert record is None
    assert isinstance(findings.failures[0].cause, RecordError)


# --- 2. manifest ---------------------------------------------------------------------------------


def test_manifest_passes_with_the_published_id() -> None:
    findings, info = checks.check_manifest(E.entries[0].encoded, MANIFEST.election_id)
    assert findings.passed
    assert info is not None
    assert info.election_id == MANIFEST.election_id


def test_manifest_with_another_published_id_fails_but_is_still_returned() -> None:
    findings, info = checks.check_manifest(E.entries[0].encoded, b"\x07" * 32)
    assert where(findings) == [(0, "body")]
    assert "not the published election id 0707" in messages(findings)
    assert info is not None


def test_entry_zero_must_be_a_manifest() -> None:
    findings, info = checks.check_manifest(E.entries[FIRST].encoded, None)
    assert info is None
    assert where(findings) == [(0, "kind")]


def test_manifest_body_must_parse() -> None:
    bad = entry(kinds.MANIFEST, b"not tlv", QUORUM)
    findings, info = checks.check_manifest(bad.encoded, None)
    assert info is None
    assert where(findings) == [(0, "body")]


def test_manifest_needs_an_official_quorum_and_no_strangers() -> None:
    one = entry(kinds.MANIFEST, MANIFEST.to_tlv(), [OFFICIALS[0], STRANGER])
    findings, info = checks.check_manifest(one.encoded, None)
    assert info is not None
    assert where(findings) == [(0, "signatures"), (0, "signatures")]
    assert "no role here" in messages(findings)
    assert "signed by 1 distinct officials; the quorum is 2" in messages(findings)


def test_manifest_envelope_must_name_its_own_election() -> None:
    other = entry(kinds.MANIFEST, MANIFEST.to_tlv(), QUORUM, election_id=b"\x01" * 32)
    findings, _ = checks.check_manifest(other.encoded, None)
    assert where(findings) == [(0, "election_id")]


def test_manifest_signature_over_something_else_fails() -> None:
    signature = OFFICIALS[0].sign(b"something else")
    forged = encoding.encode(
        [
            ENVELOPE_TAG,
            kinds.MANIFEST,
            MANIFEST.election_id,
            MANIFEST.to_tlv(),
            [
                [OFFICIALS[0].verify_key.encode(), signature],
                [OFFICIALS[1].verify_key.encode(), E.entries[0].signatures[1].signature],
            ],
        ]
    )
    findings, _ = checks.check_manifest(forged, None)
    assert (0, "signatures[0]") in where(findings)


# --- 3. phases -----------------------------------------------------------------------------------


def test_a_ballot_after_close_is_out_of_phase() -> None:
    late = E.ballot_entry(E.new_ballot(2, 1))
    findings = checks.check_phases(insert(E.entries, CLOSE_AT + 1, late), MANIFEST)
    assert where(findings) == [(CLOSE_AT + 1, "kind")]
    assert f"after the close entry at {CLOSE_AT}" in messages(findings)


def test_missing_and_repeated_single_entries() -> None:
    entries = insert(
        list(E.entries[:-1]), FIRST, entry(kinds.OPEN, PhaseMark("open", 1).to_tlv(), QUORUM)
    )
    findings = checks.check_phases(entries, MANIFEST)
    text = messages(findings)
    assert "there is no result entry" in text
    assert f"a second open entry (the first is entry {OPEN_AT})" in text


def test_open_and_close_need_an_official_quorum_and_a_good_body() -> None:
    entries = swap(
        E.entries, OPEN_AT, entry(kinds.OPEN, PhaseMark("open", 1).to_tlv(), [OFFICIALS[2]])
    )
    entries = swap(entries, CLOSE_AT, entry(kinds.CLOSE, PhaseMark("open", 1).to_tlv(), QUORUM))
    findings = checks.check_phases(entries, MANIFEST)
    assert where(findings) == [(OPEN_AT, "signatures"), (CLOSE_AT, "body")]


def test_the_record_must_start_with_the_manifest() -> None:
    entries = [E.entries[1], E.entries[0], *E.entries[2:]]
    findings = checks.check_phases(entries, MANIFEST)
    assert (0, None) in where(findings)
    assert (1, "kind") in where(findings)


# --- 4. guardians --------------------------------------------------------------------------------


def guardian_entry(body: GuardianKey, signer: int) -> Entry:
    return entry(kinds.GUARDIAN_KEY, body.to_tlv(), [GUARDIANS[signer - 1]])


def test_the_honest_ceremony() -> None:
    findings, commitments = checks.check_guardians(E.entries, MANIFEST)
    assert findings.passed
    assert findings.notes == []
    assert findings.checked == 12
    assert commitments == E.context.commitments


def test_a_missing_guardian_leaves_no_commitments() -> None:
    entries = swap(E.entries, REVEALS[1], E.entries[REVEALS[0]])
    findings, commitments = checks.check_guardians(entries, MANIFEST)
    assert commitments is None
    assert "guardian 2 is disqualified: it missed the reveal round" in messages(findings)
    assert (
        f"guardian 1 is disqualified: a second reveal (the first is entry {REVEALS[0]})"
        in messages(findings)
    )


def test_guardian_key_signed_by_another_guardian() -> None:
    """Guardian 3 posts guardian 2's reveal: it is not guardian 2's, and guardian 3 is to blame."""
    wrong = guardian_entry(E.guardian_keys[1], signer=3)
    findings, commitments = checks.check_guardians(swap(E.entries, REVEALS[1], wrong), MANIFEST)
    assert where(findings) == [(REVEALS[1], "signatures"), (None, None)]
    assert (
        "guardian 3 is disqualified: it posted a reveal in the name of guardian 2, who did not "
        "sign it" in messages(findings)
    )
    assert "guardian 2 is disqualified: it missed the reveal round" in messages(findings)
    assert commitments is None


def test_guardian_key_co_signed_by_an_official() -> None:
    cosigned = entry(kinds.GUARDIAN_KEY, E.guardian_keys[1].to_tlv(), [GUARDIANS[1], OFFICIALS[0]])
    findings, commitments = checks.check_guardians(swap(E.entries, REVEALS[1], cosigned), MANIFEST)
    assert where(findings) == [(REVEALS[1], "signatures")]
    assert "guardian 2 is disqualified: its reveal must be signed by its identity key" in messages(
        findings
    )
    assert commitments == E.context.commitments


def test_a_schnorr_proof_copied_to_another_slot_fails() -> None:
    key = E.guardian_keys[1]
    swapped = GuardianKey(2, key.commitments, tuple(reversed(key.proofs)))
    findings, _ = checks.check_guardians(
        swap(E.entries, REVEALS[1], guardian_entry(swapped, 2)), MANIFEST
    )
    assert where(findings) == [(REVEALS[1], "proofs[0]"), (REVEALS[1], "proofs[1]")]
    assert isinstance(findings.failures[0].cause, ProofError)
    assert "guardian 2 is disqualified: its proof of knowledge of coefficient 0 fails" in messages(
        findings
    )


def test_a_proof_for_another_guardian_index_fails() -> None:
    relabelled = dataclasses.replace(E.guardian_keys[1], guardian=3)
    entries = swap(E.entries, REVEALS[1], guardian_entry(relabelled, 3))
    findings, commitments = checks.check_guardians(entries, MANIFEST)
    assert (REVEALS[1], "proofs[0]") in where(findings)
    assert (REVEALS[1], "commitments") in where(findings)  # not guardian 3's commitment
    assert "guardian 2 is disqualified: it missed the reveal round" in messages(findings)
    assert commitments is None


def test_guardian_index_and_commitment_count() -> None:
    unknown = dataclasses.replace(E.guardian_keys[0], guardian=4)
    short = GuardianKey(2, E.guardian_keys[1].commitments[:1], E.guardian_keys[1].proofs[:1])
    entries = swap(
        swap(E.entries, REVEALS[0], guardian_entry(unknown, 1)),
        REVEALS[1],
        guardian_entry(short, 2),
    )
    findings, commitments = checks.check_guardians(entries, MANIFEST)
    assert (REVEALS[0], "guardian") in where(findings)
    assert "guardian 1 is disqualified: its reveal names guardian 4" in messages(findings)
    assert (REVEALS[1], "commitments") in where(findings)
    assert "guardian 2 is disqualified: it revealed 1 commitments; t = 2 needs 2" in messages(
        findings
    )
    assert commitments is None


# --- 5. joint key --------------------------------------------------------------------------------


def joint_entry(body: JointKey, signers: Sequence[object] = ()) -> Entry:
    return entry(kinds.JOINT_KEY, body.to_tlv(), list(signers) or [*QUORUM, *GUARDIANS])  # type: ignore[arg-type]


def honest_joint() -> JointKey:
    return JointKey(E.context.joint_key, E.context.extended_hash, E.context.verification_keys)


def test_joint_key_values_must_recompute() -> None:
    vks = E.context.verification_keys
    bad = JointKey(vks[0], b"\x00" * 32, (vks[2], vks[1], vks[0]))
    findings, context = checks.check_joint_key(
        swap(E.entries, JOINT_AT, joint_entry(bad)), MANIFEST, E.context.commitments
    )
    assert where(findings) == [
        (JOINT_AT, "key"),
        (JOINT_AT, "extended_hash"),
        (JOINT_AT, "verification_keys[0]"),
        (JOINT_AT, "verification_keys[2]"),
    ]
    assert context is not None
    assert context.joint_key == E.context.joint_key


def test_joint_key_needs_every_guardian_and_an_official_quorum() -> None:
    signed = joint_entry(honest_joint(), [OFFICIALS[0], *GUARDIANS[:2]])
    findings, _ = checks.check_joint_key(
        swap(E.entries, JOINT_AT, signed), MANIFEST, E.context.commitments
    )
    assert where(findings) == [(JOINT_AT, "signatures"), (JOINT_AT, "signatures")]
    assert "not signed by guardian(s) 3" in messages(findings)


def test_a_missing_joint_key_entry_still_gives_the_context() -> None:
    entries = [e for e in E.entries if e.kind != kinds.JOINT_KEY]
    findings, context = checks.check_joint_key(entries, MANIFEST, E.context.commitments)
    assert "there is no joint-key entry" in messages(findings)
    assert context is not None


def test_cancelling_constant_terms_give_no_key() -> None:
    c = E.context.commitments
    cancelling = (c[0], c[1], (-(c[0][0] + c[1][0]), c[2][1]))
    findings, context = checks.check_joint_key(E.entries, MANIFEST, cancelling)
    assert context is None
    assert "K is the identity" in messages(findings)


# --- 6. credentials ------------------------------------------------------------------------------


def credentials_entry(keys: Sequence[VerifyKey], signer: object = AUTHORITY) -> Entry:
    return entry(kinds.CREDENTIALS, CredentialList(tuple(keys)).to_tlv(), [signer])  # type: ignore[list-item]


def sorted_voters() -> list[VerifyKey]:
    return sorted((v.verify_key for v in VOTERS), key=lambda k: k.encode())


def test_credentials_must_be_sorted_and_distinct() -> None:
    keys = sorted_voters()
    entries = swap(E.entries, CREDENTIALS_AT, credentials_entry([keys[1], keys[0], keys[0]]))
    findings, listed = checks.check_credentials(entries, MANIFEST)
    assert where(findings) == [
        (CREDENTIALS_AT, "credentials[1]"),
        (CREDENTIALS_AT, "credentials[2]"),
    ]
    assert "sorts before" in messages(findings)
    assert "repeats" in messages(findings)
    assert listed == frozenset({keys[0], keys[1]})


def test_credentials_signed_by_the_authority_alone() -> None:
    findings, _ = checks.check_credentials(
        swap(E.entries, CREDENTIALS_AT, credentials_entry(sorted_voters(), OFFICIALS[0])), MANIFEST
    )
    assert where(findings) == [(CREDENTIALS_AT, "signatures")]


def test_two_credential_lists_give_no_list() -> None:
    second = credentials_entry(sorted_voters()[:1])
    findings, listed = checks.check_credentials(insert(E.entries, OPEN_AT, second), MANIFEST)
    assert listed is None
    assert where(findings) == [(OPEN_AT, None)]


def test_a_malformed_credential_list() -> None:
    findings, listed = checks.check_credentials(
        swap(
            E.entries,
            CREDENTIALS_AT,
            entry(kinds.CREDENTIALS, encoding.encode(["x", []]), [AUTHORITY]),
        ),
        MANIFEST,
    )
    assert listed is None
    assert where(findings) == [(CREDENTIALS_AT, "body")]


# --- 7. ballots ----------------------------------------------------------------------------------


def judge(
    entries: Sequence[Entry], credentials: frozenset[VerifyKey] | None = None
) -> tuple[Findings, dict[int, checks.BallotVerdict]]:
    problems: dict[int, list[checks.ProofProblem]] = {}
    for problem in checks.verify_proofs(
        checks.ProofSetup.of(E.context), checks.proof_jobs(entries)
    ):
        problems.setdefault(problem.index, []).append(problem)
    ballots = checks.parse_all(
        entries, kinds.BALLOT, lambda b: EncryptedBallot.from_tlv(b, MANIFEST)
    )
    audits = checks.parse_all(entries, kinds.AUDIT, lambda b: AuditReveal.from_tlv(b, MANIFEST))
    listed = credentials if credentials is not None else frozenset(sorted_voters())
    seed_derives = functools.partial(checks.seed_derives, E.context)
    return checks.check_ballots(
        entries, MANIFEST, ballots, audits, listed, problems, seed_derives, record_scheme(E.context)
    )


def before_close(*new: Entry) -> list[Entry]:
    return insert(E.entries, CLOSE_AT, *new)


def counted(verdicts: dict[int, checks.BallotVerdict]) -> list[int]:
    return sorted(index for index, _ in checks.counted_ballots(verdicts).values())


def corrupt_first_proof(ballot: EncryptedBallot) -> EncryptedBallot:
    contest = ballot.contests[0]
    selection = contest.selections[0]
    responses = (selection.proof.responses[0] + Scalar(1), *selection.proof.responses[1:])
    proof = RangeProof(selection.proof.challenges, responses)
    selections = (dataclasses.replace(selection, proof=proof), *contest.selections[1:])
    return dataclasses.replace(
        ballot, contests=(EncryptedContest(selections, contest.total_proof), *ballot.contests[1:])
    )


def test_honest_ballots_and_the_counted_set() -> None:
    findings, verdicts = judge(E.entries)
    assert findings.passed
    assert findings.checked == 4
    assert counted(verdicts) == COUNTED


def test_a_ballot_with_a_bad_proof_and_a_good_signature() -> None:
    bad = E.ballot_entry(corrupt_first_proof(E.new_ballot(2, 1)))
    findings, verdicts = judge(before_close(bad))
    assert where(findings) == [(CLOSE_AT, "contests.referendum.option[0].proof.challenge")]
    assert counted(verdicts) == COUNTED


def test_a_contest_proof_is_checked_on_the_recomputed_sum() -> None:
    ballot = E.new_ballot(2, 1)
    contest = ballot.contests[1]
    other = E.ballots[0].contests[1]
    mixed = dataclasses.replace(
        ballot,
        contests=(ballot.contests[0], EncryptedContest(contest.selections, other.total_proof)),
    )
    findings, _ = judge(before_close(E.ballot_entry(mixed)))
    assert where(findings) == [(CLOSE_AT, "contests.council.total_proof.challenge")]


def test_a_ballot_from_an_unknown_credential() -> None:
    ballot = encrypt_ballot(builder.plaintext("yes", []), E.context, STRANGER.verify_key, 0).ballot
    findings, verdicts = judge(before_close(E.ballot_entry(ballot, STRANGER)))
    assert where(findings) == [(CLOSE_AT, "credential")]
    assert not verdicts[CLOSE_AT].valid


def test_a_ballot_signed_by_another_voter() -> None:
    findings, _ = judge(before_close(E.ballot_entry(E.new_ballot(2, 1), VOTERS[1])))
    assert where(findings) == [(CLOSE_AT, "signatures")]


def test_ballots_before_open_and_after_close() -> None:
    early = E.ballot_entry(E.new_ballot(2, 1))
    late = E.ballot_entry(E.new_ballot(1, 1))
    entries = insert(insert(E.entries, CLOSE_AT + 1, late), OPEN_AT, early)
    findings, _ = judge(entries)
    assert where(findings) == [(OPEN_AT, "position"), (CLOSE_AT + 2, "position")]
    assert "cast before the election opened" in messages(findings)
    assert f"cast after the election closed (close is entry {CLOSE_AT + 1})" in messages(findings)


def test_a_ballot_copied_under_another_credential() -> None:
    copy = dataclasses.replace(E.ballots[0], credential=VOTERS[2].verify_key, sequence=1)
    findings, verdicts = judge(before_close(E.ballot_entry(copy)))
    fields = [field for _, field in where(findings)]
    assert all(index == CLOSE_AT for index, _ in where(findings))
    assert "contests.referendum.option[0].proof.challenge" in fields  # bound to D_b
    assert "contests.referendum.option[0].alpha" in fields
    assert "ballot_id" in fields
    assert f"α already in entry {FIRST}" in messages(findings)
    assert counted(verdicts) == COUNTED


def test_an_audited_ballot_cast() -> None:
    audited = E.ballot_entry(E.audit.ballot)
    findings, _ = judge(before_close(audited))
    assert f"this ballot id was audited at entry {AUDIT_AT}" in messages(findings)
    assert (
        f"α already in the ballot audited at entry {AUDIT_AT} (and 4 more of its ciphertexts)"
        in messages(findings)
    )


def test_a_replayed_ballot() -> None:
    findings, verdicts = judge(before_close(E.entries[FIRST]))
    assert f"this ballot id was already cast at entry {FIRST}" in messages(findings)
    assert counted(verdicts) == COUNTED


@pytest.mark.parametrize("sequence", [0, 1])
def test_an_old_sequence_number_after_a_newer_ballot(sequence: int) -> None:
    findings, verdicts = judge(before_close(E.ballot_entry(E.new_ballot(0, sequence))))
    assert where(findings) == [(CLOSE_AT, "sequence")]
    assert f"sequence {sequence} is not above 1" in messages(findings)
    assert f"entry {REVOTE}" in messages(findings)
    assert counted(verdicts) == COUNTED


def test_the_next_sequence_number_counts_instead() -> None:
    findings, verdicts = judge(before_close(E.ballot_entry(E.new_ballot(0, 2))))
    assert findings.passed
    assert counted(verdicts) == [SECOND, THIRD, CLOSE_AT]


@pytest.mark.parametrize("sequence", [3, 1_000_000])
def test_a_jump_in_sequence_numbers_is_a_gap(sequence: int) -> None:
    """Whoever holds a credential cannot cast far ahead: the next ballot must have 2."""
    findings, verdicts = judge(before_close(E.ballot_entry(E.new_ballot(0, sequence))))
    assert where(findings) == [(CLOSE_AT, "sequence")]
    assert f"sequence {sequence} skips 2" in messages(findings)
    assert f"earlier valid ballot at entry {REVOTE} has sequence 1" in messages(findings)
    assert counted(verdicts) == COUNTED  # the highest valid sequence still counts


def test_a_credentials_first_ballot_has_sequence_0() -> None:
    """Voter 2's first ballot replaced by one with sequence 1: nothing came before it."""
    entries = list(E.entries)
    entries[THIRD] = E.ballot_entry(E.new_ballot(2, 1))
    findings, verdicts = judge(entries)
    assert where(findings) == [(THIRD, "sequence")]
    assert "sequence 1, but this is the credential's first valid ballot" in messages(findings)
    assert counted(verdicts) == [SECOND, REVOTE]


def test_a_ballot_after_an_invalid_one_of_its_credential_says_why_it_is_first() -> None:
    """Voter 0's first ballot signed by someone else is invalid; its revote (sequence 1) is
    then the credential's first valid ballot, and the finding points at the invalid one."""
    entries = list(E.entries)
    entries[FIRST] = E.ballot_entry(E.ballots[0], VOTERS[1])
    findings, _ = judge(entries)
    assert where(findings) == [(FIRST, "signatures"), (REVOTE, "sequence")]
    assert f"its ballot at entry {FIRST} is invalid" in messages(findings)


def test_a_malformed_ballot_body() -> None:
    findings, verdicts = judge(
        before_close(entry(kinds.BALLOT, b"\x08\x00\x00\x00\x00", [VOTERS[0]]))
    )
    assert where(findings) == [(CLOSE_AT, "body")]
    assert not verdicts[CLOSE_AT].valid


# --- 8. audits -----------------------------------------------------------------------------------


def audits(entries: Sequence[Entry]) -> Findings:
    problems: dict[int, list[checks.ProofProblem]] = {}
    for problem in checks.verify_proofs(
        checks.ProofSetup.of(E.context), checks.proof_jobs(entries)
    ):
        problems.setdefault(problem.index, []).append(problem)
    return checks.check_audits(
        checks.parse_all(entries, kinds.BALLOT, lambda b: EncryptedBallot.from_tlv(b, MANIFEST)),
        checks.parse_all(entries, kinds.AUDIT, lambda b: AuditReveal.from_tlv(b, MANIFEST)),
        problems,
        frozenset(sorted_voters()),
    )


def audit_entry(reveal: AuditReveal, signer: object = VOTERS[1]) -> Entry:
    return entry(kinds.AUDIT, reveal.to_tlv(), [signer])  # type: ignore[list-item]


def test_honest_audit() -> None:
    findings = audits(E.entries)
    assert findings.passed
    assert findings.checked == 1


@pytest.mark.parametrize(
    "reveal",
    [
        dataclasses.replace(E.audit, seed=b"\x01" * 32),
        dataclasses.replace(E.audit, votes=((1, 0), (0, 1, 0))),
    ],
    ids=["another-seed", "other-claimed-votes"],
)
def test_an_audit_that_does_not_re_encrypt(reveal: AuditReveal) -> None:
    findings = audits(swap(E.entries, AUDIT_AT, audit_entry(reveal)))
    assert where(findings) == [(AUDIT_AT, "reveal")]
    assert "re-encrypt" in messages(findings)


def test_an_audited_ballot_id_that_is_cast() -> None:
    findings = audits(before_close(E.ballot_entry(E.audit.ballot)))
    assert where(findings) == [(AUDIT_AT, "ballot.ballot_id")]


def test_an_audit_signed_by_another_voter() -> None:
    findings = audits(swap(E.entries, AUDIT_AT, audit_entry(E.audit, VOTERS[2])))
    assert where(findings) == [(AUDIT_AT, "signatures")]


# --- 9. counted set and 10. tally ----------------------------------------------------------------


def tallies(entries: Sequence[Entry]) -> list[checks.Parsed[EncryptedTally]]:
    return checks.parse_all(entries, kinds.TALLY, lambda b: EncryptedTally.from_tlv(b, MANIFEST))


def honest_tally() -> EncryptedTally:
    return EncryptedTally.from_tlv(E.entries[TALLY_AT].body, MANIFEST)


def with_tally(tally: EncryptedTally, signers: Sequence[object] = QUORUM) -> list[Entry]:
    return swap(E.entries, TALLY_AT, entry(kinds.TALLY, tally.to_tlv(), list(signers)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ((SECOND, THIRD), f"entry {REVOTE}, the last valid ballot of credential"),
        ((FIRST, *COUNTED), f"entry {FIRST} is counted, but credential"),
        (
            (AUDIT_AT, *COUNTED),
            f"entry {AUDIT_AT} is counted, but it is an entry of kind 'audit', not a ballot",
        ),
        ((*COUNTED, 99), "entry 99 is counted, but there is no such entry"),
        ((THIRD, SECOND, REVOTE), f"counted[1] = {SECOND} does not follow {THIRD}"),
    ],
)
def test_the_counted_set(listed: tuple[int, ...], message: str) -> None:
    entries = with_tally(dataclasses.replace(honest_tally(), counted=listed))
    _, verdicts = judge(entries)
    findings = checks.check_counted_set(entries, tallies(entries), verdicts)
    assert message in messages(findings)
    assert {index for index, _ in where(findings)} == {TALLY_AT}


def test_an_invalid_ballot_counted() -> None:
    bad = E.ballot_entry(corrupt_first_proof(E.new_ballot(2, 1)))
    entries = before_close(bad)
    _, verdicts = judge(entries)
    listed = dataclasses.replace(honest_tally(), counted=(SECOND, REVOTE, CLOSE_AT))
    entries = swap(entries, TALLY_AT + 1, entry(kinds.TALLY, listed.to_tlv(), QUORUM))
    findings = checks.check_counted_set(entries, tallies(entries), verdicts)
    assert f"entry {CLOSE_AT} is counted, but it is not a valid ballot" in messages(findings)
    assert f"entry {THIRD}, the last valid ballot" in messages(findings)


def test_no_tally_to_compare_with() -> None:
    entries = [e for e in E.entries if e.kind != kinds.TALLY]
    _, verdicts = judge(entries)
    assert not checks.check_counted_set(entries, tallies(entries), verdicts).passed


def test_the_tally_equals_the_recomputed_aggregates() -> None:
    _, verdicts = judge(E.entries)
    findings = checks.check_tally(MANIFEST, tallies(E.entries), verdicts, record_scheme(E.context))
    assert findings.passed
    assert findings.checked == 5


def test_an_altered_aggregate_and_a_short_quorum() -> None:
    tally = honest_tally()
    yes, no = tally.totals["referendum"]
    altered = dict(tally.totals, referendum=(Ciphertext(yes.alpha, yes.beta + BASE), no))
    entries = with_tally(dataclasses.replace(tally, totals=altered), [OFFICIALS[1]])
    _, verdicts = judge(entries)
    findings = checks.check_tally(MANIFEST, tallies(entries), verdicts, record_scheme(E.context))
    assert where(findings) == [(TALLY_AT, "signatures"), (TALLY_AT, "totals.referendum[0]")]


def test_an_aggregate_of_the_wrong_ballots() -> None:
    wrong = builder.tally_entries(
        E.context, E.key_shares, [FIRST, SECOND, THIRD], [E.ballots[0], *E.ballots[1:3]]
    )
    entries = swap(E.entries, TALLY_AT, wrong[0])
    _, verdicts = judge(entries)
    findings = checks.check_tally(MANIFEST, tallies(entries), verdicts, record_scheme(E.context))
    assert {field for _, field in where(findings)} >= {"totals.referendum[0]", "totals.council[0]"}


# --- 11. closing checkpoint ----------------------------------------------------------------------


def test_the_closing_checkpoint_needs_a_witness_quorum(tmp_path: Path) -> None:
    directory = builder.write_record(E.entries, tmp_path / "record", witness=False)
    _, record = checks.check_record(directory, MANIFEST)
    assert record is not None
    findings = checks.check_closing_checkpoint(record, MANIFEST)
    assert where(findings) == [(CLOSE_AT, None)]
    assert "has 0 valid cosignatures, needs 2" in messages(findings)
    assert findings.checked == len(E.entries) - CLOSE_AT


def test_no_close_no_closing_checkpoint(tmp_path: Path) -> None:
    directory = builder.write_record(E.entries[:CLOSE_AT], tmp_path / "record")
    _, record = checks.check_record(directory, MANIFEST)
    assert record is not None
    assert "there is no close entry" in messages(checks.check_closing_checkpoint(record, MANIFEST))


# --- 12. decryption shares -----------------------------------------------------------------------


def shares(entries: Sequence[Entry]) -> list[checks.Parsed[GuardianShares]]:
    return checks.parse_all(
        entries, kinds.DECRYPTION_SHARE, lambda b: GuardianShares.from_tlv(b, MANIFEST)
    )


def share_body(index: int) -> GuardianShares:
    return GuardianShares.from_tlv(E.entries[index].body, MANIFEST)


def test_honest_shares_verify() -> None:
    findings, verified = checks.check_decryption_shares(
        E.context, honest_tally(), shares(E.entries)
    )
    assert findings.passed
    assert sorted(verified) == [1, 3]


def test_a_wrong_decryption_share() -> None:
    body = share_body(SHARE_3)
    stolen = share_body(SHARE_1).shares["referendum"][0]
    wrong = dataclasses.replace(body.shares["referendum"][0], share=stolen.share)
    altered = dict(body.shares, referendum=(wrong, body.shares["referendum"][1]))
    changed = entry(kinds.DECRYPTION_SHARE, GuardianShares(3, altered).to_tlv(), [GUARDIANS[2]])
    findings, verified = checks.check_decryption_shares(
        E.context, honest_tally(), shares(swap(E.entries, SHARE_3, changed))
    )
    assert where(findings) == [(SHARE_3, "shares.referendum[0]")]
    assert isinstance(findings.failures[0].cause, ProofError)
    assert sorted(verified) == [1]


def test_shares_signed_by_another_guardian_or_posted_twice() -> None:
    resigned = entry(kinds.DECRYPTION_SHARE, E.entries[SHARE_3].body, [GUARDIANS[0]])
    entries = insert(swap(E.entries, SHARE_3, resigned), SHARE_3 + 1, E.entries[SHARE_1])
    findings, verified = checks.check_decryption_shares(E.context, honest_tally(), shares(entries))
    assert where(findings) == [(SHARE_3, "signatures"), (SHARE_3 + 1, "guardian")]
    assert sorted(verified) == [1]


def test_shares_for_another_tally_fail() -> None:
    tally = honest_tally()
    yes, no = tally.totals["referendum"]
    other = dataclasses.replace(tally, totals=dict(tally.totals, referendum=(no, yes)))
    findings, verified = checks.check_decryption_shares(E.context, other, shares(E.entries))
    assert {field for _, field in where(findings)} == {
        "shares.referendum[0]",
        "shares.referendum[1]",
    }
    assert verified == {}


# --- 13. result ----------------------------------------------------------------------------------


def results(entries: Sequence[Entry]) -> list[checks.Parsed[TallyResult]]:
    return checks.parse_all(entries, kinds.RESULT, lambda b: TallyResult.from_tlv(b, MANIFEST))


def honest_result() -> TallyResult:
    return TallyResult.from_tlv(E.entries[-1].body, MANIFEST)


def check_result(
    result: TallyResult, verified: dict[int, GuardianShares] | None = None
) -> Findings:
    entries = swap(E.entries, len(E.entries) - 1, entry(kinds.RESULT, result.to_tlv(), QUORUM))
    good = verified if verified is not None else {1: share_body(SHARE_1), 3: share_body(SHARE_3)}
    return checks.check_result(
        MANIFEST, honest_tally(), results(entries), good, len(VOTERS), record_scheme(E.context)
    )


def test_the_honest_result() -> None:
    findings = check_result(honest_result())
    assert findings.passed
    assert findings.checked == 5


@pytest.mark.parametrize("guardians", [(1, 2), (2, 3), (1, 2, 3)])
def test_any_quorum_of_guardians_decrypts(guardians: tuple[int, ...]) -> None:
    tail = builder.tally_entries(E.context, E.key_shares, COUNTED, E.ballots[1:], guardians)
    entries = [*E.entries[:TALLY_AT], *tail]
    findings, verified = checks.check_decryption_shares(E.context, honest_tally(), shares(entries))
    assert findings.passed
    result = checks.check_result(
        MANIFEST, honest_tally(), results(entries), verified, len(VOTERS), record_scheme(E.context)
    )
    assert result.passed


def test_too_few_guardians() -> None:
    findings = check_result(dataclasses.replace(honest_result(), guardians=(1,)))
    assert where(findings) == [(RESULT_AT, "guardians")]
    assert "1 guardian(s) combined; decryption needs at least t = 2" in messages(findings)


def test_repeated_or_unverified_guardians() -> None:
    findings = check_result(dataclasses.replace(honest_result(), guardians=(1, 1, 3)))
    assert "repeat a guardian" in messages(findings)
    findings = check_result(honest_result(), verified={1: share_body(SHARE_1)})
    assert "guardian 3's decryption shares did not verify" in messages(findings)


def test_a_count_that_does_not_decrypt() -> None:
    result = honest_result()
    assert result.counts["council"] == (0, 1, 1)
    findings = check_result(
        dataclasses.replace(result, counts=dict(result.counts, council=(1, 0, 1)))
    )
    assert where(findings)[:2] == [
        (RESULT_AT, "counts.council[0]"),
        (RESULT_AT, "counts.council[1]"),
    ]
    assert "count·B ≠ Bc − Σ w_ℓ·M_ℓ" in messages(findings)


def test_counts_out_of_range_or_of_the_wrong_shape() -> None:
    result = honest_result()
    findings = check_result(
        dataclasses.replace(result, counts=dict(result.counts, referendum=(4, 0)))
    )
    assert "count 4 is outside [0, 3]" in messages(findings)
    findings = check_result(
        dataclasses.replace(result, counts=dict(result.counts, referendum=(1,)))
    )
    assert where(findings) == [(RESULT_AT, "body")]
    assert "expected 2 items, got 1" in messages(findings)


def test_outcome_lines_are_recomputed() -> None:
    result = honest_result()
    changed = (result.outcomes[0], "council: elected everybody")
    findings = check_result(dataclasses.replace(result, outcomes=changed))
    assert where(findings) == [(RESULT_AT, "outcomes[1]")]


def test_a_result_signed_by_one_official() -> None:
    entries = swap(
        E.entries, RESULT_AT, entry(kinds.RESULT, E.entries[RESULT_AT].body, [OFFICIALS[0]])
    )
    good = {1: share_body(SHARE_1), 3: share_body(SHARE_3)}
    findings = checks.check_result(
        MANIFEST, honest_tally(), results(entries), good, len(VOTERS), record_scheme(E.context)
    )
    assert where(findings) == [(RESULT_AT, "signatures")]


def test_check_failed_names_check_entry_and_field() -> None:
    failure = CheckFailed("ballots", "bad", entry=3, kind="ballot", field="sequence")
    assert str(failure) == "entry 3 (ballot), sequence: bad"
    assert failure.check == "ballots"
    with pytest.raises(InvalidInput, match="unknown check"):
        Findings("nonsense")
