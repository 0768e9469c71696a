"""Scheme B end to end: a tiny threshold Paillier mock election runs in process and verifies, and
a corpus of tampered scheme B records, each named after what it breaks, is rejected with the
right check named.

The honest record comes from ``run_mock_election`` with ``scheme="paillier"`` (a simulated
trusted dealer deals a 2048-bit key with fresh safe primes). Tampered records are rebuilt and
re-signed with the simulated parties' real keys, the dealer's included (the toolkit of
``test_verify_records``), so every rejection comes from a check of the record's content.

The tests of ``test_verify_records`` whose tampering and verdict do not depend on the scheme
(ballots, audits, the counted set, the result, rewritten history) are imported below and run
again here, against this module's scheme B record; the tests written here are those of the
dealer's ceremony and of scheme B's own encodings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Final

import pytest

from evote.ceremony.messages import DealtKey, PaillierKeyCheck, SealedKeyShare
from evote.crypto import paillier
from evote.crypto.paillier import PaillierRangeProof
from evote.crypto.signing import SigningKey
from evote.election.contest import EncryptedContest
from evote.election.manifest import DEALER_TRUST
from evote.election.tally import EncryptedTally, GuardianShares, TallyResult
from evote.mock.election import MockOptions, MockResult, run_mock_election
from evote.record import kinds
from evote.verify.report import VerificationReport
from evote.verify.runner import verify_record
from tests.integration.test_verify_records import (  # the toolkit, and the corpus below
    ALL_CHECKS,
    Draft,
    as_guardian,
    assert_rejected,
    failures_of,
    reposted,
    test_a_key_check_posted_after_open,
    test_a_missing_key_check,
    test_a_record_rebuilt_by_the_toolkit_unchanged_verifies,
    test_altered_encrypted_tally,
    test_audit_from_an_unlisted_credential,
    test_audited_ballot_counted,
    test_ballot_after_close,
    test_ballot_copied_under_another_credential,
    test_ballot_from_an_unknown_credential,
    test_ballot_reusing_the_seed_an_audit_revealed,
    test_ballot_with_the_same_ciphertext_twice,
    test_old_ballot_held_back_and_posted_after_the_newer_one,
    test_replayed_earlier_ballot_of_the_same_credential,
    test_result_that_does_not_match,
    test_rewritten_history_under_a_new_checkpoint,
    test_rewritten_history_under_the_old_checkpoints,
    test_too_few_decryption_shares,
    test_wrong_decryption_share,
    verify,
)
from tests.unit.election.paillier_keys import dealt

__all__ = [  # the scheme-independent corpus, collected again in this module
    "test_a_key_check_posted_after_open",
    "test_a_missing_key_check",
    "test_a_record_rebuilt_by_the_toolkit_unchanged_verifies",
    "test_altered_encrypted_tally",
    "test_audit_from_an_unlisted_credential",
    "test_audited_ballot_counted",
    "test_ballot_after_close",
    "test_ballot_copied_under_another_credential",
    "test_ballot_from_an_unknown_credential",
    "test_ballot_reusing_the_seed_an_audit_revealed",
    "test_ballot_with_the_same_ciphertext_twice",
    "test_old_ballot_held_back_and_posted_after_the_newer_one",
    "test_replayed_earlier_ballot_of_the_same_credential",
    "test_result_that_does_not_match",
    "test_rewritten_history_under_a_new_checkpoint",
    "test_rewritten_history_under_the_old_checkpoints",
    "test_too_few_decryption_shares",
    "test_wrong_decryption_share",
]

CONTESTS: Final[list[dict[str, object]]] = [
    {"id": "referendum", "kind": "referendum", "title": "Yes or no?", "max_marks": 1},
]


class PaillierDraft(Draft):
    """The toolkit, for a scheme B record: it also signs as the dealer."""

    FRESH = ("default", {"referendum": ["yes"]})

    def dealer(self) -> SigningKey:
        assert self.secrets.dealer is not None
        return self.secrets.dealer

    def key_entry(self) -> DealtKey:
        return DealtKey.from_tlv(self.entries[self.at(kinds.PAILLIER_KEY)].body)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> MockResult:
    options = MockOptions(
        voters=4,
        guardians=3,
        quorum=2,
        absent_guardians=1,
        audit_rate=0.5,
        revote_rate=0.5,
        seed=b"scheme-b",
        workers=1,
        contests=CONTESTS,
        name="Scheme B verifier election",
        scheme="paillier",
    )
    result = run_mock_election(options, tmp_path_factory.mktemp("honest-b") / "record")
    # The corpus below needs these in the honest record; fail loudly if the seed stops giving them.
    assert result.audits >= 1
    assert result.revotes >= 1
    return result


@pytest.fixture
def draft(honest: MockResult) -> PaillierDraft:
    return PaillierDraft(honest)


def skipped(report: VerificationReport) -> set[str]:
    return {check.name for check in report.checks if check.status == "skipped"}


# --- the honest election -------------------------------------------------------------------------


def test_a_paillier_mock_election_runs_and_verifies(honest: MockResult) -> None:
    report = verify(honest.record, honest.manifest.election_id)
    assert report.passed, report.to_json_text()
    assert honest.manifest.scheme_name == "paillier"
    assert report.check("guardians").checked == 6  # three transport keys, three sealed shares
    assert report.check("joint-key").checked == 1
    assert report.check("key-checks").checked == 3
    assert report.check("ballots").checked == honest.ballots_cast
    assert report.check("audits").checked == honest.audits
    assert any(DEALER_TRUST in note for note in report.notes)
    assert len(honest.secrets.paillier_key_shares) == 3
    assert honest.secrets.key_shares == ()


def test_the_secrets_file_holds_the_dealer_and_the_paillier_shares(
    honest: MockResult, tmp_path: Path
) -> None:
    honest.secrets.write(tmp_path)
    text = (tmp_path / "mock-secrets.json").read_text()
    assert honest.secrets.dealer is not None
    assert honest.secrets.dealer.seed().hex() in text
    assert f"{honest.secrets.paillier_key_shares[0].secret:x}" in text


# --- the dealer's key entry (check 5) ------------------------------------------------------------


def resign_key(draft: PaillierDraft, body: DealtKey, signers: list[SigningKey]) -> int:
    at = draft.at(kinds.PAILLIER_KEY)
    draft.entries[at] = draft.sign(kinds.PAILLIER_KEY, body.to_tlv(), signers)
    return at


def test_a_key_entry_the_officials_did_not_sign(draft: PaillierDraft, tmp_path: Path) -> None:
    at = resign_key(draft, draft.key_entry(), [draft.dealer()])
    report = reposted(draft, tmp_path / "record")
    assert_rejected(report, {"joint-key"}, "joint-key", at, "signed by 0 distinct officials")


def test_a_key_entry_the_dealer_did_not_sign(draft: PaillierDraft, tmp_path: Path) -> None:
    at = resign_key(draft, draft.key_entry(), list(draft.officials()))
    report = reposted(draft, tmp_path / "record")
    assert_rejected(report, {"joint-key"}, "joint-key", at, "not signed by the dealer")


def test_a_key_entry_with_another_elections_base_hash(draft: PaillierDraft, tmp_path: Path) -> None:
    body = dataclasses.replace(draft.key_entry(), base_hash=b"\x07" * 32)
    at = resign_key(draft, body, [draft.dealer(), *draft.officials()])
    report = reposted(draft, tmp_path / "record")
    assert_rejected(report, {"joint-key"}, "joint-key", at, "the key was dealt for another")
    assert failures_of(report, "joint-key")[0][1] == "base_hash"


def test_a_key_for_another_quorum(draft: PaillierDraft, tmp_path: Path) -> None:
    """The dealer posts a key that needs all three guardians: nothing can be verified under it."""
    body = dataclasses.replace(draft.key_entry(), key=dealt(3, 3).public_key)
    at = resign_key(draft, body, [draft.dealer(), *draft.officials()])
    assert draft.write(tmp_path / "record") == []
    report = verify(tmp_path / "record", draft.election_id)
    assert ("joint-key", at, "key.quorum") in {
        ("joint-key", entry, field) for entry, field, _ in failures_of(report, "joint-key")
    }
    assert {"key-checks", "ballots", "audits", "decryption-shares", "result"} <= skipped(report)


def test_a_key_swapped_after_the_guardians_acknowledged(
    draft: PaillierDraft, tmp_path: Path
) -> None:
    """Another valid key of the right shape: the entry itself checks out, but no guardian's key
    check and no ballot proof does under it."""
    body = dataclasses.replace(draft.key_entry(), key=dealt(3, 2).public_key)
    resign_key(draft, body, [draft.dealer(), *draft.officials()])
    assert draft.write(tmp_path / "record") == []
    report = verify(tmp_path / "record", draft.election_id)
    assert report.check("joint-key").status == "pass"
    assert {"key-checks", "ballots"} <= report.failed_checks()


# --- the sealed shares (check 4) -----------------------------------------------------------------


def test_a_share_entry_posted_by_a_guardian(draft: PaillierDraft, tmp_path: Path) -> None:
    at = draft.indices(kinds.PAILLIER_SHARE)[1]
    draft.entries[at] = as_guardian(draft, kinds.PAILLIER_SHARE, draft.entries[at].body, 1)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(report, {"guardians"}, "guardians", at, "must be signed by the dealer")


def test_a_guardian_the_dealer_sealed_no_share_to(draft: PaillierDraft, tmp_path: Path) -> None:
    del draft.entries[draft.indices(kinds.PAILLIER_SHARE)[1]]
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report, {"guardians"}, "guardians", None, "the dealer sealed no share to guardian 2"
    )


def test_a_share_sealed_twice_or_to_nobody(draft: PaillierDraft, tmp_path: Path) -> None:
    first = draft.indices(kinds.PAILLIER_SHARE)[0]
    body = SealedKeyShare.from_tlv(draft.entries[first].body)
    extra = draft.sign(
        kinds.PAILLIER_SHARE,
        dataclasses.replace(body, sealed=body.sealed[::-1]).to_tlv(),
        [draft.dealer()],
    )
    stranger = draft.sign(
        kinds.PAILLIER_SHARE, dataclasses.replace(body, guardian=4).to_tlv(), [draft.dealer()]
    )
    last = draft.indices(kinds.PAILLIER_SHARE)[-1]
    draft.insert(last + 1, stranger)
    draft.insert(last + 1, extra)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(report, {"guardians"}, "guardians", last + 1, "a second share sealed")
    assert_rejected(report, {"guardians"}, "guardians", last + 2, "to guardian 4")


# --- the guardians' acknowledgements (check 14) --------------------------------------------------


def test_a_key_check_with_a_bad_proof(draft: PaillierDraft, tmp_path: Path) -> None:
    at = draft.indices(kinds.PAILLIER_KEY_CHECK)[0]
    key = draft.context.paillier_key
    check = PaillierKeyCheck.from_tlv(draft.entries[at].body, key)
    bad = dataclasses.replace(
        check, share=dataclasses.replace(check.share, response=check.share.response + 1)
    )
    draft.entries[at] = as_guardian(
        draft, kinds.PAILLIER_KEY_CHECK, bad.to_tlv(key), check.guardian
    )
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"key-checks"},
        "key-checks",
        at,
        f"guardian {check.guardian}'s key check does not verify against v_{check.guardian}",
    )


def test_a_key_check_signed_by_another_guardian(draft: PaillierDraft, tmp_path: Path) -> None:
    at = draft.indices(kinds.PAILLIER_KEY_CHECK)[2]
    draft.entries[at] = as_guardian(draft, kinds.PAILLIER_KEY_CHECK, draft.entries[at].body, 1)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report, {"key-checks"}, "key-checks", at, "must be signed by guardian 3's identity key"
    )


def test_a_scheme_a_entry_in_a_scheme_b_record(draft: PaillierDraft, tmp_path: Path) -> None:
    """A log that takes a ``joint-key`` entry into a scheme B election: the record's own rules
    (its scheme's kinds) refuse it when it loads."""
    joint = draft.sign(kinds.JOINT_KEY, b"", list(draft.officials()))
    draft.insert(draft.at(kinds.PAILLIER_KEY) + 1, joint)
    draft.write_as_a_dishonest_log(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert report.failed_checks() == {"record"}
    assert "not declared" in failures_of(report, "record")[0][2]
    assert skipped(report) == ALL_CHECKS - {"record", "manifest"}


# --- ballots, the tally, the shares and the result: the shared checks, scheme B's arithmetic ------


def test_ballot_with_a_bad_range_proof(draft: PaillierDraft, tmp_path: Path) -> None:
    _, latest = draft.revoter()
    ballot = draft.fresh_ballot(draft.ballot(latest).credential, 2)
    contest = ballot.contests[0]
    proof: PaillierRangeProof = contest.selections[0].proof
    n = draft.context.paillier_key.n
    changed = dataclasses.replace(
        proof, responses=(proof.responses[0] * 2 % n, *proof.responses[1:])
    )
    selection = dataclasses.replace(contest.selections[0], proof=changed)
    first = EncryptedContest((selection, *contest.selections[1:]), contest.total_proof)
    bad = dataclasses.replace(ballot, contests=(first,))
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(bad))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(report, {"ballots"}, "ballots", close_at, "paillier range")
    assert str(failures_of(report, "ballots")[0][1]).startswith(
        "contests.referendum.option[0].proof"
    )


def test_audit_that_does_not_re_encrypt(draft: PaillierDraft, tmp_path: Path) -> None:
    audit_at, reveal = draft.audit()
    flipped = tuple(tuple(1 - vote for vote in part) for part in reveal.votes)
    lying = dataclasses.replace(reveal, votes=flipped)
    draft.entries[audit_at] = draft.sign(
        kinds.AUDIT, lying.to_tlv(), [draft.voter(reveal.ballot.credential)]
    )
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(report, {"audits"}, "audits", audit_at, "does not re-encrypt")


def test_worker_processes_verify_scheme_b_proofs(honest: MockResult) -> None:
    """The proof checks travel to worker processes with the dealer's key (``ProofSetup``)."""
    report = verify_record(
        honest.record, election_id=honest.manifest.election_id, workers=2, parallel_threshold=1
    )
    assert report.passed, report.to_json_text()


def test_the_tally_decrypts_to_the_published_counts(draft: PaillierDraft) -> None:
    """What check 13 recomputes, by hand: Shoup's combination of the posted shares."""
    tally = EncryptedTally.from_tlv(draft.entries[draft.at(kinds.TALLY)].body, draft.context)
    shares = [
        GuardianShares.from_tlv(draft.entries[i].body, draft.context)
        for i in draft.indices(kinds.DECRYPTION_SHARE)
    ]
    result = TallyResult.from_tlv(draft.entries[draft.at(kinds.RESULT)].body, draft.manifest)
    for option, aggregate_c in enumerate(tally.totals["referendum"]):
        combined = paillier.combine(
            aggregate_c,
            {entry.guardian: entry.shares["referendum"][option] for entry in shares},
            draft.context.paillier_key,
            len(tally.counted),
        )
        assert combined == result.counts["referendum"][option]
