"""The key ceremony on the record: its phase order (check 3), the public judgement of every
guardian (check 4) and the key checks before the opening (check 14).

Tampered ceremonies come from the guardians' own rounds (``run_ceremony`` with a ``tamper``
hook: one guardian cheats, the honest ones complain, the accused answers) or from a lying board
that edits an honest record and re-signs with the guardians' keys. Each test is named after what
it breaks; each asserts the check that rejects it, the entry, and the guardian it names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from evote.board.entry import Entry
from evote.ceremony import messages, outcome
from evote.ceremony.messages import (
    Complaint,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    commitment_hash,
)
from evote.ceremony.rounds import Message, Tamper
from evote.ceremony.trustee import Trustee
from evote.crypto import encoding
from evote.crypto.group import BASE, Scalar, mul
from evote.crypto.proofs.compact import CompactProof
from evote.election.context import base_hash
from evote.record import kinds
from evote.verify import checks, runner
from evote.verify.report import VerificationReport, describe_entry
from tests.unit.verify import builder
from tests.unit.verify.builder import ELECTION_ID, MANIFEST, OFFICIALS, entry

E = builder.election()
TRANSPORTS = E.index(kinds.CEREMONY_TRANSPORT)
COMMITS = E.index(kinds.CEREMONY_COMMIT)
REVEALS = E.index(kinds.GUARDIAN_KEY)
SEALED = E.index(kinds.CEREMONY_SHARES)
JOINT_AT = E.at(kinds.JOINT_KEY)
KEY_CHECKS = E.index(kinds.KEY_CHECK)
CREDENTIALS_AT = E.at(kinds.CREDENTIALS)
OPEN_AT = E.at(kinds.OPEN)


def where(findings: checks.Findings) -> list[tuple[int | None, str | None]]:
    return [(failure.entry, failure.field) for failure in findings.failures]


def text(findings: checks.Findings) -> str:
    return "\n".join(str(failure) for failure in findings.failures)


def moved(entries: Sequence[Entry], source: int, target: int) -> list[Entry]:
    """The entries with the one at ``source`` taken out and put back at ``target`` (an index
    into the list without it)."""
    rest = [*entries[:source], *entries[source + 1 :]]
    return [*rest[:target], entries[source], *rest[target:]]


def without(entries: Sequence[Entry], *indices: int) -> list[Entry]:
    return [e for i, e in enumerate(entries) if i not in indices]


def swap(entries: Sequence[Entry], index: int, new: Entry) -> list[Entry]:
    return [*entries[:index], new, *entries[index + 1 :]]


def as_guardian(kind: str, body: bytes, guardian: int) -> Entry:
    return builder.guardian_entry(kind, body, guardian)


def verify(
    tmp_path: Path, entries: Sequence[Entry], election: builder.Election = E
) -> VerificationReport:
    """Verify the record of ``entries``, its tally tail rebuilt if the ballots moved."""
    directory = builder.write_record(builder.retally(election, entries), tmp_path / "record")
    return runner.verify_record(directory, election_id=ELECTION_ID, workers=1)


def failures(report: VerificationReport, check: str) -> list[tuple[int | None, str]]:
    return [(f.entry, f.message) for f in report.check(check).failures]


def rejected(report: VerificationReport, failed: set[str], check: str) -> str:
    """Exactly ``failed`` fail, nothing else fails; the failures of ``check`` as text."""
    assert report.failed_checks() == failed, report.to_json_text()
    assert not report.passed
    return "\n".join(f"{entry}: {message}" for entry, message in failures(report, check))


# --- cheating guardians (tamper hooks for run_ceremony) ------------------------------------------


def chain(*tampers: Tamper) -> Tamper:
    def tamper(kind: str, guardian: int, message: Message) -> Message | None:
        changed: Message | None = message
        for one in tampers:
            if changed is None:
                return None
            changed = one(kind, guardian, changed)
        return changed

    return tamper


def in_round(round_kind: str, cheat: int, change: Callable[[Message], Message | None]) -> Tamper:
    """Guardian ``cheat`` posts ``change(message)`` instead of its honest message (nothing for
    ``None``)."""

    def tamper(kind: str, guardian: int, message: Message) -> Message | None:
        return change(message) if kind == round_kind and guardian == cheat else message

    return tamper


def flip(box: bytes) -> bytes:
    return box[:-1] + bytes([box[-1] ^ 1])


def garbled_shares_to(*recipients: int, dealer: int = 1) -> Tamper:
    """The dealer seals shares its recipients cannot open (so they complain)."""

    def change(message: Message) -> Message:
        assert isinstance(message, SealedShares)
        sealed = tuple((r, flip(box) if r in recipients else box) for r, box in message.sealed)
        return SealedShares(message.guardian, sealed)

    return in_round(messages.SHARES, dealer, change)


def answers(dealer: int, change: Callable[[ShareReveal], Message | None]) -> Tamper:
    def answer(message: Message) -> Message | None:
        assert isinstance(message, ShareReveal)
        return change(message)

    return in_round(messages.SHARE_REVEAL, dealer, answer)


def bad_proof(guardian: int, degree: int) -> Tamper:
    def change(message: Message) -> Message:
        assert isinstance(message, GuardianKey)
        proofs = list(message.proofs)
        proof = proofs[degree]
        proofs[degree] = CompactProof(proof.challenge, proof.response + Scalar(1))
        return dataclasses.replace(message, proofs=tuple(proofs))

    return in_round(messages.REVEAL, guardian, change)


def ceremony_only(tamper: Tamper) -> list[Entry]:
    """The manifest and a ceremony run with ``tamper``: enough for checks 3 and 4."""
    posted, _ = builder.ceremony(tamper)
    return [E.entries[0], *posted]


# --- the honest ceremony -------------------------------------------------------------------------


def test_the_honest_ceremony_passes_checks_3_4_and_14() -> None:
    assert checks.check_phases(E.entries, MANIFEST).passed
    guardians, _ = checks.check_guardians(E.entries, MANIFEST)
    assert guardians.passed
    assert guardians.checked == 12
    keys = checks.check_key_checks(E.entries, E.context)
    assert keys.passed
    assert keys.checked == 3


def test_the_verifier_recomputes_the_ceremony_hashes_and_test_ciphertext() -> None:
    hashed = checks.base_hash(MANIFEST)
    assert hashed == base_hash(MANIFEST)
    for key in E.guardian_keys:
        assert checks.commitment_hash(hashed, key.guardian, key.commitments) == commitment_hash(
            hashed, key.guardian, key.commitments
        )
    trustee = E.ceremony.trustees[0]
    assert trustee.key_share is not None
    ciphertext = checks.key_check_ciphertext(E.context)
    assert ciphertext == outcome.key_check_ciphertext(E.context)
    assert checks.key_check_target(E.context) == outcome.key_check_target(E.context)
    check = KeyCheck.from_tlv(E.entries[KEY_CHECKS[0]].body)
    assert check.share == mul(trustee.key_share, ciphertext.alpha)


# --- 3. the ceremony's phase order ---------------------------------------------------------------


def test_ceremony_rounds_out_of_order() -> None:
    """Guardian 1 commits before guardian 3 posted its transport key."""
    entries = moved(E.entries, COMMITS[0], TRANSPORTS[2])
    findings = checks.check_phases(entries, MANIFEST)
    assert where(findings) == [(TRANSPORTS[2] + 1, "kind")]
    assert f"after the ceremony-commit entry at {TRANSPORTS[2]}" in text(findings)


def test_a_reveal_before_every_commitment_is_in() -> None:
    entries = moved(E.entries, REVEALS[0], COMMITS[2])
    findings = checks.check_phases(entries, MANIFEST)
    assert where(findings) == [(COMMITS[2] + 1, "kind")]


def test_ceremony_rounds_out_of_order_on_the_whole_record(tmp_path: Path) -> None:
    entries = moved(E.entries, SEALED[0], REVEALS[0])  # shares before any reveal
    report = verify(tmp_path, entries)
    assert "after the ceremony-shares entry at" in rejected(report, {"phases"}, "phases")


def complained() -> builder.Election:
    return builder.build(garbled_shares_to(2))


def test_a_complaint_before_every_sealed_share_is_in() -> None:
    election = complained()
    complaint = election.at(kinds.CEREMONY_COMPLAINT)
    sealed = election.index(kinds.CEREMONY_SHARES)
    findings = checks.check_phases(moved(election.entries, complaint, sealed[2]), MANIFEST)
    assert where(findings) == [(sealed[2] + 1, "kind")]


def test_a_complaint_after_the_joint_key(tmp_path: Path) -> None:
    election = complained()
    complaint = election.at(kinds.CEREMONY_COMPLAINT)
    joint = election.at(kinds.JOINT_KEY)
    entries = moved(election.entries, complaint, joint)  # just after the joint key
    report = verify(tmp_path, entries, election)
    assert f"{joint}: " in rejected(report, {"phases", "guardians"}, "phases")
    # the answer now comes before the complaint it answers
    assert "before the complaint it answers" in rejected(
        report, {"phases", "guardians"}, "guardians"
    )


def test_a_key_check_before_the_joint_key() -> None:
    findings = checks.check_phases(moved(E.entries, KEY_CHECKS[0], JOINT_AT), MANIFEST)
    assert where(findings) == [(JOINT_AT + 1, "kind")]


def test_a_key_check_after_the_credentials() -> None:
    findings = checks.check_phases(moved(E.entries, KEY_CHECKS[2], CREDENTIALS_AT), MANIFEST)
    assert where(findings) == [(CREDENTIALS_AT, "kind")]
    assert "after the credentials entry" in text(findings)


def test_a_key_check_posted_after_open(tmp_path: Path) -> None:
    late = OPEN_AT  # guardian 3's key check, just after the open entry
    report = verify(tmp_path, moved(E.entries, KEY_CHECKS[2], late))
    failed = {"phases", "key-checks"}
    assert f"{late}: " in rejected(report, failed, "phases")
    found = rejected(report, failed, "key-checks")
    assert f"{late}: " in found
    assert "guardian 3's key check comes after the election opened" in found


# --- 4. the judgement of every guardian ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (kinds.CEREMONY_TRANSPORT, "transport key"),
        (kinds.CEREMONY_COMMIT, "commitment"),
        (kinds.GUARDIAN_KEY, "reveal"),
        (kinds.CEREMONY_SHARES, "sealed shares"),
    ],
)
def test_a_guardian_who_missed_a_round(kind: str, what: str) -> None:
    entries = without(E.entries, E.index(kind)[1])
    findings, commitments = checks.check_guardians(entries, MANIFEST)
    assert where(findings) == [(None, None)]
    assert f"guardian 2 is disqualified: it missed the {what} round" in text(findings)
    assert (commitments is None) == (kind == kinds.GUARDIAN_KEY)


def test_a_guardian_who_missed_the_commit_round_on_the_whole_record(tmp_path: Path) -> None:
    report = verify(tmp_path, without(E.entries, COMMITS[1]))
    found = rejected(report, {"guardians"}, "guardians")
    assert "guardian 2 is disqualified: it missed the commitment round" in found


def test_a_guardian_who_missed_the_reveal_round_skips_what_needs_the_key(tmp_path: Path) -> None:
    report = verify(tmp_path, without(E.entries, REVEALS[2]))
    assert "guardian 3 is disqualified: it missed the reveal round" in rejected(
        report, {"guardians"}, "guardians"
    )
    for name in ("joint-key", "key-checks", "ballots", "result"):
        assert report.check(name).status == "skipped"
        assert "check 4 (guardians) failed" in (report.check(name).skipped_because or "")


def test_a_guardian_who_missed_the_transport_round_in_the_ceremony(tmp_path: Path) -> None:
    """Guardian 2 posts no transport key: nobody can seal to it, so it complains about every
    dealer (unfounded: their answers check), and both others complain about it (t = 2)."""
    election = builder.build(in_round(messages.TRANSPORT, 2, lambda message: None))
    assert election.ceremony.outcome.disqualified.keys() == {2}
    report = verify(tmp_path, election.entries, election)
    found = rejected(report, {"guardians"}, "guardians")
    assert "None: guardian 2 is disqualified: it missed the transport key round" in found
    assert "guardian 2 is disqualified: 2 guardians (1, 3) complained about it" in found
    assert "guardian 1 is" not in found  # not blamed for sealing nothing to guardian 2
    assert "guardian 3 is" not in found
    assert len(report.notes) == 2
    assert all("complaint about guardian" in note and "unfounded" in note for note in report.notes)


def test_reveal_that_does_not_match_its_commit() -> None:
    """A rushing guardian picks new coefficients after the commit round (its proofs verify)."""

    def rushed(message: Message) -> Message:
        return Trustee(MANIFEST, 2).reveal()

    entries = ceremony_only(in_round(messages.REVEAL, 2, rushed))
    findings, _ = checks.check_guardians(entries, MANIFEST)
    reveal = [i for i, e in enumerate(entries) if e.kind == kinds.GUARDIAN_KEY][1]
    commit = [i for i, e in enumerate(entries) if e.kind == kinds.CEREMONY_COMMIT][1]
    assert (reveal, "commitments") in where(findings)
    assert (
        f"guardian 2 is disqualified: its reveal does not match its commitment h_2 (entry "
        f"{commit}): the commitments changed after the commit round" in text(findings)
    )
    # the honest guardians complained, and the old shares it revealed do not fit the new key
    assert "guardian 2 is disqualified: the share it revealed for guardian 1" in text(findings)
    assert "guardian 2 is disqualified: 2 guardians (1, 3) complained" in text(findings)
    assert not any(
        "guardian 1 is" in str(f) or "guardian 3 is" in str(f) for f in findings.failures
    )


def test_commitment_changed_after_the_reveal_on_the_whole_record(tmp_path: Path) -> None:
    """A lying board replaces guardian 2's commitment (re-signed with its key)."""
    other = Trustee(MANIFEST, 2).commit()
    report = verify(
        tmp_path,
        swap(E.entries, COMMITS[1], as_guardian(kinds.CEREMONY_COMMIT, other.to_tlv(), 2)),
    )
    found = rejected(report, {"guardians"}, "guardians")
    assert (
        f"{REVEALS[1]}: entry {REVEALS[1]} (guardian-key), commitments: guardian 2 is "
        "disqualified: its reveal does not match its commitment h_2" in found
    )


def test_bad_schnorr_proof(tmp_path: Path) -> None:
    election = builder.build(bad_proof(3, 1))
    report = verify(tmp_path, election.entries, election)
    found = rejected(report, {"guardians"}, "guardians")
    reveal = election.index(kinds.GUARDIAN_KEY)[2]
    assert f"{reveal}: entry {reveal} (guardian-key), proofs[1]: guardian 3 is disqualified: " in (
        found
    )
    assert "its proof of knowledge of coefficient 1 fails" in found
    # the other two complained about the public fault, so t = 2 guardians accuse guardian 3
    assert "guardian 3 is disqualified: 2 guardians (1, 2) complained about it" in found
    assert "guardian 1 is" not in found
    assert "guardian 2 is" not in found


def test_sealed_shares_that_skip_a_recipient(tmp_path: Path) -> None:
    def skip_three(message: Message) -> Message:
        assert isinstance(message, SealedShares)
        return SealedShares(1, tuple((r, box) for r, box in message.sealed if r != 3))

    election = builder.build(in_round(messages.SHARES, 1, skip_three))
    report = verify(tmp_path, election.entries, election)
    found = rejected(report, {"guardians"}, "guardians")
    sealed = election.index(kinds.CEREMONY_SHARES)[0]
    assert (
        f"{sealed}: entry {sealed} (ceremony-shares), sealed: guardian 1 is disqualified: its "
        "sealed shares skip guardian 3" in found
    )


def test_sealed_shares_to_itself_twice_and_to_nobody() -> None:
    body = SealedShares.from_tlv(E.entries[SEALED[0]].body)
    box = body.sealed[0][1]
    odd = SealedShares(1, (*body.sealed, (1, box), (2, box), (9, box)))
    entries = swap(E.entries, SEALED[0], as_guardian(kinds.CEREMONY_SHARES, odd.to_tlv(), 1))
    findings, _ = checks.check_guardians(entries, MANIFEST)
    assert where(findings) == [(SEALED[0], "sealed")] * 3
    assert "guardian 1 is disqualified: it sealed a share to itself" in text(findings)
    assert "it sealed 2 shares to guardian 2; one is allowed" in text(findings)
    assert "it sealed a share to guardian 9, who does not exist" in text(findings)


def test_an_unanswered_complaint(tmp_path: Path) -> None:
    election = builder.build(chain(garbled_shares_to(2), answers(1, lambda answer: None)))
    assert election.index(kinds.CEREMONY_SHARE_REVEAL) == []
    report = verify(tmp_path, election.entries, election)
    found = rejected(report, {"guardians"}, "guardians")
    complaint = election.at(kinds.CEREMONY_COMPLAINT)
    assert (
        f"{complaint}: entry {complaint} (ceremony-complaint), accused: guardian 1 is "
        f"disqualified: it did not answer the complaint of guardian 2 (entry {complaint})" in found
    )


def test_a_complaint_answered_with_a_wrong_share(tmp_path: Path) -> None:
    def wrong(answer: ShareReveal) -> Message:
        return dataclasses.replace(answer, share=answer.share + Scalar(1))

    election = builder.build(chain(garbled_shares_to(2), answers(1, wrong)))
    report = verify(tmp_path, election.entries, election)
    found = rejected(report, {"guardians"}, "guardians")
    answer = election.at(kinds.CEREMONY_SHARE_REVEAL)
    assert (
        f"{answer}: entry {answer} (ceremony-share-reveal), share: guardian 1 is disqualified: "
        "the share it revealed for guardian 2 does not check against its commitments" in found
    )


def test_a_complaint_answered_with_a_good_share_is_unfounded(tmp_path: Path) -> None:
    """The record verifies: the complaint stays on the record against the complainer."""
    election = complained()
    complaint = election.at(kinds.CEREMONY_COMPLAINT)
    answer = election.at(kinds.CEREMONY_SHARE_REVEAL)
    assert election.ceremony.outcome.unfounded_complaints  # the guardians' own judgement agrees
    report = verify(tmp_path, election.entries, election)
    assert report.passed, report.to_json_text()
    assert report.check("guardians").checked == 14
    assert report.notes == (
        f"check 4 (guardians): guardian 2's complaint about guardian 1 (entry {complaint}) was "
        f"unfounded: the share revealed at entry {answer} checks against guardian 1's "
        "commitments; the complaint stays on the record against guardian 2",
    )


def test_t_guardians_complaining_about_one_dealer(tmp_path: Path) -> None:
    """Both answers check, but t = 2 complaints mean one of them is honest (GJKR)."""
    election = builder.build(garbled_shares_to(2, 3))
    assert election.ceremony.outcome.disqualified.keys() == {1}
    report = verify(tmp_path, election.entries, election)
    found = rejected(report, {"guardians"}, "guardians")
    second = election.index(kinds.CEREMONY_COMPLAINT)[1]
    assert (
        f"{second}: entry {second} (ceremony-complaint), accused: guardian 1 is disqualified: "
        "2 guardians (2, 3) complained about it; t = 2 or more complaints mean at least one of "
        "them is honest" in found
    )
    assert len(report.check("guardians").failures) == 1
    assert report.notes == ()


def test_a_share_revealed_without_a_complaint() -> None:
    """The complaint taken off the record: guardian 1's share for guardian 2 answers nothing."""
    election = complained()
    entries = without(election.entries, election.at(kinds.CEREMONY_COMPLAINT))
    leaked = election.at(kinds.CEREMONY_SHARE_REVEAL) - 1
    findings, _ = checks.check_guardians(entries, MANIFEST)
    assert where(findings) == [(leaked, "recipient")]
    assert (
        "guardian 1 is disqualified: it revealed its share for guardian 2 in clear, but guardian "
        "2 did not complain about it" in text(findings)
    )


def test_complaints_about_itself_about_nobody_and_twice() -> None:
    election = complained()
    at = election.at(kinds.CEREMONY_COMPLAINT)
    extra = [
        as_guardian(kinds.CEREMONY_COMPLAINT, Complaint(3, 3, "me").to_tlv(), 3),
        as_guardian(kinds.CEREMONY_COMPLAINT, Complaint(3, 7, "who").to_tlv(), 3),
        election.entries[at],
        as_guardian(kinds.CEREMONY_COMPLAINT, Complaint(8, 1, "x").to_tlv(), 3),
    ]
    entries = [*election.entries[: at + 1], *extra, *election.entries[at + 1 :]]
    findings, _ = checks.check_guardians(entries, MANIFEST)
    assert where(findings) == [
        (at + 1, "accused"),
        (at + 2, "accused"),
        (at + 3, "accused"),
        (at + 4, "complainer"),
    ]
    assert "guardian 3 is disqualified: it complained about itself" in text(findings)
    assert "guardian 3 is disqualified: its complaint accuses guardian 7" in text(findings)
    assert f"guardian 2 is disqualified: it already complained about guardian 1 at entry {at}" in (
        text(findings)
    )
    assert "guardian 3 is disqualified: its complaint names complainer 8" in text(findings)


def test_a_complaint_signed_by_another_guardian() -> None:
    """Guardian 3 complains in guardian 2's name: the complaint is not guardian 2's, so the
    share guardian 1 revealed to answer it answers nothing."""
    election = complained()
    at = election.at(kinds.CEREMONY_COMPLAINT)
    forged = as_guardian(kinds.CEREMONY_COMPLAINT, election.entries[at].body, 3)
    findings, _ = checks.check_guardians(swap(election.entries, at, forged), MANIFEST)
    assert where(findings) == [(at, "signatures"), (at + 1, "recipient")]
    assert (
        "guardian 3 is disqualified: it posted a complaint in the name of guardian 2, who did "
        "not sign it" in text(findings)
    )


def test_ceremony_entries_signed_by_others_repeated_or_malformed() -> None:
    by_official = entry(kinds.CEREMONY_TRANSPORT, E.entries[TRANSPORTS[0]].body, [OFFICIALS[0]])
    garbage = as_guardian(kinds.CEREMONY_COMMIT, encoding.encode(["x"]), 2)
    entries = swap(swap(E.entries, TRANSPORTS[0], by_official), COMMITS[1], garbage)
    entries = [*entries[: COMMITS[2] + 1], E.entries[COMMITS[2]], *entries[COMMITS[2] + 1 :]]
    findings, _ = checks.check_guardians(entries, MANIFEST)
    assert where(findings) == [
        (TRANSPORTS[0], "signatures"),
        (None, None),
        (COMMITS[1], "body"),
        (COMMITS[2] + 1, "guardian"),
        (None, None),
    ]
    assert (
        f"an entry signed by {OFFICIALS[0].verify_key.encode().hex()[:16]}…: it posted a "
        "transport key in the name of guardian 1" in text(findings)
    )
    assert "guardian 1 is disqualified: it missed the transport key round" in text(findings)
    assert "guardian 2 is disqualified: its commitment does not parse" in text(findings)
    assert f"guardian 3 is disqualified: a second commitment (the first is entry {COMMITS[2]})" in (
        text(findings)
    )
    assert "guardian 2 is disqualified: it missed the commitment round" in text(findings)


# --- 14. key checks ------------------------------------------------------------------------------


def key_checks(entries: Sequence[Entry]) -> checks.Findings:
    return checks.check_key_checks(entries, E.context)


def test_a_missing_key_check(tmp_path: Path) -> None:
    report = verify(tmp_path, without(E.entries, KEY_CHECKS[1]))
    found = rejected(report, {"key-checks"}, "key-checks")
    assert found == "None: guardian 2 posted no key check: nothing shows it can still decrypt"


def test_a_bad_key_check(tmp_path: Path) -> None:
    body = KeyCheck.from_tlv(E.entries[KEY_CHECKS[0]].body)
    bad = dataclasses.replace(body, share=body.share + BASE)
    report = verify(
        tmp_path, swap(E.entries, KEY_CHECKS[0], as_guardian(kinds.KEY_CHECK, bad.to_tlv(), 1))
    )
    found = rejected(report, {"key-checks"}, "key-checks")
    assert (
        f"{KEY_CHECKS[0]}: entry {KEY_CHECKS[0]} (key-check), proof: guardian 1's key check "
        in (found)
    )
    assert "does not verify against K̂_1" in found


def test_a_key_check_copied_from_another_guardian() -> None:
    """Guardian 1's share and proof, posted by guardian 2 as its own: K̂_2 does not fit."""
    body = KeyCheck.from_tlv(E.entries[KEY_CHECKS[0]].body)
    copied = as_guardian(kinds.KEY_CHECK, dataclasses.replace(body, guardian=2).to_tlv(), 2)
    findings = key_checks(swap(E.entries, KEY_CHECKS[1], copied))
    assert where(findings) == [(KEY_CHECKS[1], "proof")]


def test_key_checks_signed_by_another_repeated_or_malformed() -> None:
    resigned = as_guardian(kinds.KEY_CHECK, E.entries[KEY_CHECKS[1]].body, 3)
    garbage = as_guardian(kinds.KEY_CHECK, b"\x01", 3)
    entries = swap(E.entries, KEY_CHECKS[1], resigned)
    entries = [
        *entries[:CREDENTIALS_AT],
        E.entries[KEY_CHECKS[0]],
        garbage,
        *entries[CREDENTIALS_AT:],
    ]
    findings = key_checks(entries)
    assert where(findings) == [
        (KEY_CHECKS[1], "signatures"),
        (CREDENTIALS_AT, "guardian"),
        (CREDENTIALS_AT + 1, "body"),
    ]
    assert f"guardian 1 already posted its key check at entry {KEY_CHECKS[0]}" in text(findings)


def test_key_checks_are_skipped_without_an_election_key(tmp_path: Path) -> None:
    report = verify(tmp_path, without(E.entries, *REVEALS))
    assert report.check("key-checks").status == "skipped"


# --- the report shows ceremony entries by field ---------------------------------------------------


def test_describe_ceremony_entries() -> None:
    election = complained()
    shown = {e.kind: describe_entry(i, e, MANIFEST)["body"] for i, e in enumerate(election.entries)}
    complaint = shown[kinds.CEREMONY_COMPLAINT]
    assert isinstance(complaint, dict)
    assert (complaint["complainer"], complaint["accused"]) == (2, 1)
    answer = shown[kinds.CEREMONY_SHARE_REVEAL]
    assert isinstance(answer, dict)
    posted = ShareReveal.from_tlv(election.entries[election.at(kinds.CEREMONY_SHARE_REVEAL)].body)
    assert (answer["dealer"], answer["recipient"]) == (1, 2)
    assert answer["share"] == posted.share.encode().hex()
    for kind, field in (
        (kinds.CEREMONY_TRANSPORT, "transport_key"),
        (kinds.CEREMONY_COMMIT, "commitment_hash"),
        (kinds.CEREMONY_SHARES, "sealed"),
        (kinds.KEY_CHECK, "proof"),
    ):
        body = shown[kind]
        assert isinstance(body, dict)
        assert field in body
