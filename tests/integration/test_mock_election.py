"""A whole mock election, end to end, re-checked from its exported record.

Everything below reads the record with :func:`evote.board.record.load_record` and the entry
kinds' decoders, recomputes what an observer can (counted set, aggregates, shares, outcome
lines), and decrypts each counted ballot on its own with the joint secret rebuilt from the
mock-only secrets: the ground truth the homomorphic tally and the guardians' shares must match.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evote.board.entry import Entry
from evote.board.record import ENTRIES_FILE, Record, load_record
from evote.ceremony.messages import GuardianKey, JointKey
from evote.cli import main
from evote.crypto import dlog, encoding, threshold
from evote.crypto.elgamal import decrypt_to_point
from evote.crypto.group import Scalar, base_mul
from evote.crypto.proofs.chaum_pedersen import verify_decryption_share
from evote.crypto.proofs.schnorr import verify_coefficient
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal, verify_audit
from evote.election.ballot import EncryptedBallot, verify_ballot
from evote.election.context import ElectionContext, base_hash
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.election.tally import EncryptedTally, GuardianShares, TallyResult, aggregate, target
from evote.errors import InvalidInput
from evote.mock.election import MockOptions, MockResult, run_mock_election
from evote.record import kinds
from evote.record.kinds import CredentialList, PhaseMark

OPTIONS = MockOptions(
    voters=12,
    guardians=3,
    quorum=2,
    absent_guardians=1,
    audit_rate=0.3,
    revote_rate=0.3,
    workers=1,
    seed=b"integration",
)


@dataclass(frozen=True)
class Reread:
    """What an observer reads back from the exported record."""

    record: Record
    manifest: Manifest
    context: ElectionContext
    credentials: CredentialList
    ballots: dict[int, EncryptedBallot]
    audits: dict[int, AuditReveal]
    tally: EncryptedTally
    shares: dict[int, GuardianShares]
    result: TallyResult


def reread(record_dir: Path, manifest: Manifest) -> Reread:
    record = load_record(
        record_dir,
        manifest.log_origin,
        manifest.log_key,
        kinds.entry_rules(manifest.election_id),
        manifest.witness_keys(),
    )
    entries = record.entries
    assert entries[0].body == manifest.to_tlv()
    keys = [GuardianKey.from_tlv(e.body) for e in entries if e.kind == kinds.GUARDIAN_KEY]
    context = ElectionContext.create(manifest, [k.commitments for k in keys])
    (credentials,) = [CredentialList.from_tlv(e.body) for e in entries if e.kind == "credentials"]
    ballots = {
        index: EncryptedBallot.from_tlv(e.body, manifest)
        for index, e in enumerate(entries)
        if e.kind == kinds.BALLOT
    }
    audits = {
        index: AuditReveal.from_tlv(e.body, manifest)
        for index, e in enumerate(entries)
        if e.kind == kinds.AUDIT
    }
    (tally,) = [EncryptedTally.from_tlv(e.body, manifest) for e in entries if e.kind == "tally"]
    shares = {
        s.guardian: s
        for s in (
            GuardianShares.from_tlv(e.body, manifest)
            for e in entries
            if e.kind == kinds.DECRYPTION_SHARE
        )
    }
    (result,) = [TallyResult.from_tlv(e.body, manifest) for e in entries if e.kind == "result"]
    return Reread(record, manifest, context, credentials, ballots, audits, tally, shares, result)


def _first_body(record_dir: Path) -> bytes:
    """The manifest (entry 0's body) straight from ``entries.tlv``; load_record checks it."""
    header, first, *_ = encoding.split_values((record_dir / ENTRIES_FILE).read_bytes())
    assert encoding.decode(header) == "evote-record/v1/entries"
    return Entry.decode(first).body


def counted_indices(ballots: dict[int, EncryptedBallot]) -> tuple[int, ...]:
    """Per credential, the ballot with the highest sequence number."""
    last: dict[bytes, tuple[int, int]] = {}
    for index, ballot in ballots.items():
        credential = ballot.credential.encode()
        if credential not in last or last[credential][0] < ballot.sequence:
            last[credential] = (ballot.sequence, index)
    return tuple(sorted(index for _, index in last.values()))


def joint_secret(result: MockResult, guardians: tuple[int, ...]) -> Scalar:
    """``z = Σ w_ℓ·z_ℓ`` over a quorum of the mock-only key shares."""
    total = 0
    for guardian in guardians:
        weight = threshold.lagrange_coefficient(guardian, guardians)
        total += (weight * result.secrets.key_shares[guardian - 1]).value
    return Scalar(total)


def ground_truth(seen: Reread, secret: Scalar) -> dict[str, tuple[int, ...]]:
    """Decrypt every counted ballot on its own and add the votes up per part and option."""
    counts = {part: [0] * len(values) for part, values in seen.tally.totals.items()}
    for index in seen.tally.counted:
        ballot = seen.ballots[index]
        parts = seen.manifest.style(ballot.style).parts
        for part, contest in zip(parts, ballot.contests, strict=True):
            for option, selection in enumerate(contest.selections):
                point = decrypt_to_point(selection.ciphertext, secret)
                counts[part][option] += dlog.discrete_log(point, 1)
    return {part: tuple(values) for part, values in counts.items()}


def check_election(result: MockResult, options: MockOptions) -> Reread:
    """Every recomputation an observer can make agrees with the record and the result."""
    seen = reread(result.record, result.manifest)
    assert seen.result == result.result
    # the counted set, the aggregates, and the decrypted counts
    assert seen.tally.counted == counted_indices(seen.ballots)
    assert len(seen.tally.counted) == options.voters
    assert seen.tally.totals == aggregate(
        seen.manifest, (seen.ballots[i] for i in seen.tally.counted)
    )
    present = seen.result.guardians
    assert len(present) == options.guardians - options.absent_guardians
    assert sorted(seen.shares) == sorted(present)
    assert seen.result.counts == ground_truth(seen, joint_secret(result, present))
    assert seen.result.outcomes == outcome_lines(
        seen.manifest,
        seen.result.counts,
        registered=options.voters,
        participants=options.voters,
    )
    # every ballot and audit verifies
    for ballot in seen.ballots.values():
        verify_ballot(ballot, seen.context)
    for reveal in seen.audits.values():
        verify_audit(reveal, seen.context)
    # the engine's own figures
    assert result.ballots_cast == len(seen.ballots) == options.voters + result.revotes
    assert result.ballots_counted == options.voters
    assert result.audits == len(seen.audits)
    return seen


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> MockResult:
    return run_mock_election(OPTIONS, tmp_path_factory.mktemp("mock") / "record")


@pytest.fixture(scope="module")
def seen(election: MockResult) -> Reread:
    return reread(election.record, election.manifest)


def test_the_story_has_audits_revotes_and_an_absent_guardian(election: MockResult) -> None:
    assert election.audits > 0
    assert election.revotes > 0
    assert len(election.result.guardians) == 2
    assert set(election.seconds) >= {"setup", "tally and decryption", "export"}


def test_the_result_equals_the_ground_truth_and_the_record(election: MockResult) -> None:
    check_election(election, OPTIONS)


def test_the_record_is_in_phase_order(seen: Reread) -> None:
    order = [entry.kind for entry in seen.record.entries]
    guardians = len(seen.manifest.guardians)
    setup = [
        kinds.MANIFEST,
        *[kinds.CEREMONY_TRANSPORT] * guardians,
        *[kinds.CEREMONY_COMMIT] * guardians,
        *[kinds.GUARDIAN_KEY] * guardians,
        *[kinds.CEREMONY_SHARES] * guardians,
        kinds.JOINT_KEY,
        *[kinds.KEY_CHECK] * guardians,
        kinds.CREDENTIALS,
        kinds.OPEN,
    ]
    opened_at = len(setup) - 1
    closed_at = order.index(kinds.CLOSE)
    assert order[: len(setup)] == setup  # honest guardians: no complaint, no share revealed
    assert set(order[len(setup) : closed_at]) == {kinds.BALLOT, kinds.AUDIT}
    assert order[closed_at:] == [
        kinds.CLOSE,
        kinds.TALLY,
        kinds.DECRYPTION_SHARE,
        kinds.DECRYPTION_SHARE,
        kinds.RESULT,
    ]
    opened = PhaseMark.from_tlv(seen.record.entries[opened_at].body, "open")
    closed = PhaseMark.from_tlv(seen.record.entries[closed_at].body, "close")
    assert opened.timestamp <= closed.timestamp


def test_the_key_ceremony_checks_out(seen: Reread) -> None:
    hashed_base = base_hash(seen.manifest)
    guardian_entries = [e for e in seen.record.entries if e.kind == kinds.GUARDIAN_KEY]
    for index, (entry, identity) in enumerate(
        zip(guardian_entries, seen.manifest.guardians, strict=True), 1
    ):
        body = GuardianKey.from_tlv(entry.body)
        assert body.guardian == index
        assert entry.signers == (identity,)
        for j, (commitment, proof) in enumerate(zip(body.commitments, body.proofs, strict=True)):
            verify_coefficient(commitment, proof, hashed_base, index, j)
    (joint,) = [JointKey.from_tlv(e.body) for e in seen.record.entries if e.kind == "joint-key"]
    assert joint == JointKey(
        seen.context.joint_key, seen.context.extended_hash, seen.context.verification_keys
    )


def test_every_entry_is_signed_by_the_right_parties(seen: Reread) -> None:
    officials = set(seen.manifest.officials)
    for entry in seen.record.entries:
        if entry.kind in (kinds.MANIFEST, kinds.OPEN, kinds.CLOSE, kinds.TALLY, kinds.RESULT):
            assert set(entry.signers) <= officials
            assert len(entry.signers) >= seen.manifest.official_quorum
        elif entry.kind == kinds.CREDENTIALS:
            assert entry.signers == (seen.manifest.credential_authority,)
        elif entry.kind in (kinds.BALLOT, kinds.AUDIT):
            (signer,) = entry.signers
            assert signer in seen.credentials.credentials


def test_the_last_ballot_of_a_revoting_voter_counts(seen: Reread) -> None:
    per_voter = Counter(ballot.credential for ballot in seen.ballots.values())
    revoters = {credential for credential, number in per_voter.items() if number > 1}
    assert revoters
    for index in seen.tally.counted:
        ballot = seen.ballots[index]
        assert ballot.sequence == (1 if ballot.credential in revoters else 0)


def test_audited_ballots_are_never_cast(seen: Reread) -> None:
    cast_ids = {ballot.ballot_id for ballot in seen.ballots.values()}
    assert seen.audits
    assert all(reveal.ballot.ballot_id not in cast_ids for reveal in seen.audits.values())


def test_every_decryption_share_verifies(seen: Reread) -> None:
    for guardian, entry in seen.shares.items():
        for part, ciphertexts in seen.tally.totals.items():
            for option, ciphertext in enumerate(ciphertexts):
                verify_decryption_share(
                    ciphertext,
                    entry.shares[part][option],
                    seen.context.verification_key(guardian),
                    target(seen.context, part, option),
                )


def test_the_secrets_file_is_marked_mock_only_and_holds_the_keys(
    election: MockResult, tmp_path: Path
) -> None:
    election.secrets.write(tmp_path / "secrets")
    document = json.loads((tmp_path / "secrets" / "mock-secrets.json").read_text())
    assert document["warning"].startswith("MOCK ONLY")
    manifest = election.manifest

    def verify_key(seed: str) -> object:
        return SigningKey(bytes.fromhex(seed)).verify_key

    assert tuple(verify_key(s) for s in document["officials"]) == manifest.officials
    assert verify_key(document["credential_authority"]) == manifest.credential_authority
    assert tuple(verify_key(s) for s in document["guardians"]) == manifest.guardians
    assert verify_key(document["log"]) == manifest.log_key
    assert {n: verify_key(s) for n, s in document["witnesses"].items()} == dict(manifest.witnesses)
    assert len(document["credentials"]) == OPTIONS.voters
    context = reread(election.record, manifest).context
    for guardian, share in enumerate(document["guardian_key_shares"], 1):
        assert base_mul(Scalar(int(share, 16))) == context.verification_key(guardian)


def test_the_joint_secret_from_any_quorum_opens_the_joint_key(
    election: MockResult, seen: Reread
) -> None:
    for quorum in ((1, 2), (1, 3), (2, 3)):
        assert base_mul(joint_secret(election, quorum)) == seen.context.joint_key
    assert base_mul(joint_secret(election, (2,))) != seen.context.joint_key


def test_two_worker_processes_give_a_consistent_election(tmp_path: Path) -> None:
    options = MockOptions(
        voters=6,
        guardians=3,
        quorum=2,
        audit_rate=0.5,
        revote_rate=0.5,
        workers=2,
        seed=b"two workers",
    )
    result = run_mock_election(options, tmp_path / "record")
    seen = check_election(result, options)
    assert seen.result.guardians == (1, 2, 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"voters": 0}, "at least one voter"),
        ({"quorum": 4}, "quorum 4 of 3 guardians is impossible"),
        ({"quorum": 0}, "quorum 0 of 3 guardians is impossible"),
        ({"absent_guardians": 2}, "at most 1 may be absent"),
        ({"absent_guardians": -1}, "at most 1 may be absent"),
        ({"audit_rate": 1.5}, "the audit rate is a probability between 0 and 1"),
        ({"audit_rate": -0.1}, "the audit rate is a probability"),
        ({"revote_rate": 2.0}, "the revote rate is a probability between 0 and 1"),
        ({"scheme": "rsa"}, "unknown scheme 'rsa'"),
    ],
)
def test_invalid_options_are_refused(changes: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"voters": 4, "guardians": 3, "quorum": 2, "workers": 1}
    arguments.update(changes)
    with pytest.raises(InvalidInput, match=message):
        MockOptions(**arguments)


def test_the_cli_runs_an_election_and_prints_the_results(tmp_path: Path) -> None:
    record_dir = tmp_path / "record"
    arguments = ["mock-election", "--voters", "8", "--guardians", "3", "--quorum", "2"]
    outcome = CliRunner().invoke(main, [*arguments, "--record", str(record_dir)])
    assert outcome.exit_code == 0, outcome.output
    printed = " ".join(outcome.stdout.split())  # rich wraps long lines
    loaded = reread(record_dir, Manifest.from_tlv(_first_body(record_dir)))
    assert f"election id {loaded.manifest.election_id.hex()}" in printed
    assert f"record: {record_dir}" in printed
    assert "8 counted" in printed
    for line in loaded.result.outcomes:
        assert " ".join(line.split()) in printed
    for part, counts in loaded.result.counts.items():
        contest, district = loaded.manifest.part(part)
        for option, count in zip(contest.options(district), counts, strict=True):
            assert re.search(rf"│ {option} +│ +{count} │", outcome.stdout), (option, count)


def test_the_cli_writes_the_secrets_when_asked(tmp_path: Path) -> None:
    arguments = ["mock-election", "--voters", "2", "--guardians", "1", "--quorum", "1"]
    outcome = CliRunner().invoke(
        main,
        [
            *arguments,
            "--workers",
            "1",
            "--record",
            str(tmp_path / "r"),
            "--secrets",
            str(tmp_path / "s"),
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    document = json.loads((tmp_path / "s" / "mock-secrets.json").read_text())
    assert "MOCK ONLY" in document["warning"]


def test_the_cli_refuses_impossible_options(tmp_path: Path) -> None:
    arguments = ["mock-election", "--voters", "2", "--guardians", "3", "--quorum", "4"]
    outcome = CliRunner().invoke(main, [*arguments, "--record", str(tmp_path / "r")])
    assert outcome.exit_code != 0
    assert isinstance(outcome.exception, InvalidInput)
    assert "quorum 4 of 3 guardians is impossible" in str(outcome.exception)
    assert not (tmp_path / "r").exists()


def test_the_cli_runs_and_verifies_a_paillier_election(tmp_path: Path) -> None:
    """``evote mock-election --scheme paillier``: a trusted dealer's 2048-bit key, the same
    election steps, and the verifier's verdict (two voters on one referendum, to stay quick)."""
    contests = tmp_path / "contests.yaml"
    contests.write_text(
        "contests:\n  - {id: referendum, kind: referendum, title: Build a library, max_marks: 1}\n",
        encoding="utf-8",
    )
    record_dir = tmp_path / "record"
    arguments = ["mock-election", "--scheme", "paillier", "--voters", "2", "--guardians", "2"]
    options = ["--quorum", "2", "--workers", "1", "--contests", str(contests)]
    outcome = CliRunner().invoke(main, [*arguments, *options, "--record", str(record_dir)])
    assert outcome.exit_code == 0, outcome.output
    assert "VERIFIED: all 14 checks pass" in outcome.stdout
    printed = " ".join(outcome.stdout.split())
    assert "threshold Paillier with a trusted dealer" in printed
    manifest = Manifest.from_tlv(_first_body(record_dir))
    assert manifest.scheme_name == "paillier"
    assert manifest.dealer is not None
