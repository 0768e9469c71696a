"""The verifier on whole election records: honest ones pass, and a corpus of tampered records,
each named after what it breaks, is rejected with the right check named.

Honest records come from the mock election engine. Tampered ones are built from an honest
record and re-signed with the simulated parties' real keys (``MockSecrets``): a dishonest
ballot box, tallier, guardian, official or log can sign whatever it likes with its own key, so
each rejection below comes from a check of the record's content, never from a bad signature.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import pytest
from click.testing import CliRunner

from evote.board.checkpoint import Checkpoint, cosign, cosignature_time, sign_checkpoint
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.merkle import MerkleTree, leaf_hash
from evote.board.record import CHECKPOINTS_FILE, ENTRIES_FILE
from evote.board.store import MemoryStore
from evote.board.witness import Witness, WitnessState
from evote.ceremony.messages import (
    Commit,
    Complaint,
    DealtKey,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    commitment_hash,
)
from evote.cli import main
from evote.crypto import encoding, paillier
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import BASE, Scalar
from evote.crypto.paillier import PaillierCiphertext
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.range import RangeProof
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.contest import EncryptedContest
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot, encrypt_ballot, encrypt_with_seed
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    PerPart,
    TallyResult,
    aggregate,
    combine_counts,
    decrypt_totals,
)
from evote.errors import EvoteError
from evote.mock.election import MockOptions, MockResult, run_mock_election
from evote.record import kinds
from evote.verify.load import load
from evote.verify.report import VerificationReport
from evote.verify.runner import verify_record
from evote.verify.schemes import record_scheme

#: A referendum and an open-list council in two districts, one ballot style per district.
CONTESTS: Final[list[dict[str, object]]] = [
    {"id": "referendum", "kind": "referendum", "title": "Yes or no?", "max_marks": 1},
    {
        "id": "council",
        "kind": "open_list",
        "title": "Council",
        "min_marks": 1,
        "max_marks": 1,
        "parties": [
            {"id": party, "name": f"Party {party}", "first_candidate": f"{party}-lead"}
            for party in ("a", "b")
        ],
        "districts": [
            {"id": d, "lists": {party: [f"{party}-{d}-1", f"{party}-{d}-2"] for party in "ab"}}
            for d in ("d1", "d2")
        ],
        "counting": {"seats": 2},
    },
]
STYLES: Final[list[dict[str, object]]] = [
    {"id": d, "parts": ["referendum", f"council/{d}"]} for d in ("d1", "d2")
]
ALL_CHECKS: Final = {
    "record",
    "manifest",
    "phases",
    "guardians",
    "joint-key",
    "credentials",
    "ballots",
    "audits",
    "counted-set",
    "tally",
    "closing-checkpoint",
    "decryption-shares",
    "result",
    "key-checks",
}


def mock_election(directory: Path, seed: bytes) -> MockResult:
    options = MockOptions(
        voters=6,
        guardians=3,
        quorum=2,
        absent_guardians=1,
        audit_rate=0.5,
        revote_rate=0.5,
        seed=seed,
        workers=1,
        contests=CONTESTS,
        ballot_styles=STYLES,
        name="Verifier integration election",
    )
    return run_mock_election(options, directory)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> MockResult:
    result = mock_election(tmp_path_factory.mktemp("honest") / "record", b"verify-records")
    # The corpus below needs these in the honest record; fail loudly if the seed stops giving them.
    assert result.audits >= 1
    assert result.revotes >= 1
    return result


def verify(directory: Path, election_id: bytes) -> VerificationReport:
    return verify_record(directory, election_id=election_id, workers=1)


def failures_of(report: VerificationReport, check: str) -> list[tuple[int | None, str | None, str]]:
    return [(f.entry, f.field, f.message) for f in report.check(check).failures]


def assert_rejected(
    report: VerificationReport,
    failed: set[str],
    check: str,
    entry: int | None,
    text: str,
) -> None:
    """Exactly the ``failed`` checks fail, the rest pass, and ``check`` names ``entry``/``text``."""
    assert report.failed_checks() == failed, report.to_json_text()
    assert {c.name for c in report.checks if c.status == "pass"} == ALL_CHECKS - failed
    assert not report.passed
    found = failures_of(report, check)
    assert any(e == entry and text in message for e, _, message in found), found


# --- the toolkit of a dishonest party with every key -------------------------------------------


def context_of(manifest: Manifest, entries: Sequence[Entry]) -> ElectionContext:
    """The election context from a record's key entries, in either scheme."""
    if manifest.scheme_name == "paillier":
        (key,) = [DealtKey.from_tlv(e.body).key for e in entries if e.kind == kinds.PAILLIER_KEY]
        return ElectionContext.for_paillier(manifest, key)
    commitments = [
        GuardianKey.from_tlv(e.body).commitments for e in entries if e.kind == kinds.GUARDIAN_KEY
    ]
    return ElectionContext.create(manifest, commitments)


class Draft:
    """An honest record's entries, to edit and re-sign with the simulated parties' keys (either
    scheme: the guardians' shares are scheme A's key shares or scheme B's Paillier shares)."""

    #: The choices of :meth:`fresh_ballot`: a style of the election's manifest and its marks.
    FRESH: tuple[str, dict[str, list[str]]] = ("d1", {"referendum": ["yes"], "council/d1": ["a"]})

    def __init__(self, honest: MockResult) -> None:
        self.honest = honest
        self.manifest: Manifest = honest.manifest
        self.secrets = honest.secrets
        self.election_id = self.manifest.election_id
        self.entries: list[Entry] = list(load(honest.record).record.entries)
        self.context = context_of(self.manifest, self.entries)

    # reading

    def indices(self, kind: str) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.kind == kind]

    def at(self, kind: str) -> int:
        (index,) = self.indices(kind)
        return index

    def ballot(self, index: int) -> EncryptedBallot[Any, Any]:
        return EncryptedBallot.from_tlv(self.entries[index].body, self.context)

    def ballots(self) -> dict[int, EncryptedBallot[Any, Any]]:
        return {i: self.ballot(i) for i in self.indices(kinds.BALLOT)}

    def audit(self) -> tuple[int, AuditReveal]:
        index = self.indices(kinds.AUDIT)[0]
        return index, AuditReveal.from_tlv(self.entries[index].body, self.context)

    def counted(self) -> list[int]:
        """The honest rule: each credential's ballot with the highest sequence number."""
        best: dict[VerifyKey, tuple[int, int]] = {}
        for index, ballot in self.ballots().items():
            if ballot.credential not in best or best[ballot.credential][0] < ballot.sequence:
                best[ballot.credential] = (ballot.sequence, index)
        return sorted(index for _, index in best.values())

    def revoter(self) -> tuple[int, int]:
        """The indices of the sequence-0 and sequence-1 ballots of a voter who voted twice."""
        by_credential: dict[VerifyKey, dict[int, int]] = {}
        for index, ballot in self.ballots().items():
            by_credential.setdefault(ballot.credential, {})[ballot.sequence] = index
        return next((s[0], s[1]) for s in by_credential.values() if 1 in s and 0 in s)

    # signing

    def voter(self, credential: VerifyKey) -> SigningKey:
        return next(k for k in self.secrets.credentials if k.verify_key == credential)

    def officials(self) -> tuple[SigningKey, ...]:
        return self.secrets.officials[: self.manifest.official_quorum]

    def sign(self, kind: str, body: bytes, signers: Iterable[SigningKey]) -> Entry:
        return Entry.create(kind, self.election_id, body, signers)

    def cast(self, ballot: EncryptedBallot[Any, Any], signer: SigningKey | None = None) -> Entry:
        return self.sign(kinds.BALLOT, ballot.to_tlv(), [signer or self.voter(ballot.credential)])

    def fresh_ballot(self, credential: VerifyKey, sequence: int) -> EncryptedBallot[Any, Any]:
        style, choices = self.FRESH
        plaintext = PlaintextBallot.from_choices(self.manifest, style, choices)
        return encrypt_ballot(plaintext, self.context, credential, sequence).ballot

    def one_more(self, aggregate: Any) -> Any:
        """An aggregate with one more vote added: what a dishonest tallier would post."""
        if self.manifest.scheme_name == "paillier":
            key = self.context.paillier_key
            return PaillierCiphertext(aggregate.value * (1 + key.n) % key.n_squared)
        return Ciphertext(aggregate.alpha, aggregate.beta + BASE)

    def moved(self, share: Any) -> Any:
        """A decryption share moved off its true value (its proof kept)."""
        if self.manifest.scheme_name == "paillier":
            key = self.context.paillier_key
            return dataclasses.replace(share, share=share.share * (1 + key.n) % key.n_squared)
        return dataclasses.replace(share, share=share.share + BASE)

    def key_check_kind(self) -> str:
        """The kind of the guardians' key checks in this scheme."""
        if self.manifest.scheme_name == "paillier":
            return kinds.PAILLIER_KEY_CHECK
        return kinds.KEY_CHECK

    def fingerprint_name(self) -> str:
        """What the verifier calls a ciphertext's weeding fingerprint in this scheme."""
        return record_scheme(self.context).fingerprint_name

    def decrypter(self, guardian: int) -> Callable[[Any, DecryptionTarget], Any]:
        """Guardian ``guardian``'s proved partial decryption, with its mock-only key share."""
        if self.manifest.scheme_name == "paillier":
            held = self.secrets.paillier_key_shares[guardian - 1]
            key = self.context.paillier_key
            return lambda ct, goal: paillier.partial_decrypt(ct, held, key, goal)
        share = self.secrets.key_shares[guardian - 1]
        return lambda ct, goal: prove_decryption_share(ct, share, guardian, goal)

    def insert(self, index: int, entry: Entry) -> None:
        self.entries.insert(index, entry)

    # a dishonest tallier: tally, shares and result recomputed to agree with each other

    def retally(
        self,
        counted: Sequence[int] | None = None,
        totals: PerPart | None = None,
    ) -> None:
        tally_at = self.at(kinds.TALLY)
        posted = EncryptedTally.from_tlv(self.entries[tally_at].body, self.context)
        guardians = [
            GuardianShares.from_tlv(self.entries[i].body, self.context).guardian
            for i in self.indices(kinds.DECRYPTION_SHARE)
        ]
        chosen = list(posted.counted if counted is None else counted)
        if totals is None:
            totals = aggregate(self.context, [self.ballot(i) for i in chosen])
        shares = {g: decrypt_totals(self.context, g, totals, self.decrypter(g)) for g in guardians}
        counts = combine_counts(
            totals,
            shares,
            self.manifest.guardian_quorum,
            len(chosen) + 2,
            codec=self.context.scheme,
        )
        lines = outcome_lines(
            self.manifest,
            counts,
            registered=len(self.secrets.credentials),
            participants=len(chosen),
        )
        tally = EncryptedTally(tuple(chosen), totals, self.context.scheme)
        self.entries[tally_at:] = [
            self.sign(kinds.TALLY, tally.to_tlv(), self.officials()),
            *(
                self.sign(
                    kinds.DECRYPTION_SHARE, shares[g].to_tlv(), [self.secrets.guardians[g - 1]]
                )
                for g in guardians
            ),
            self.sign(
                kinds.RESULT,
                TallyResult(tuple(guardians), counts, lines).to_tlv(),
                self.officials(),
            ),
        ]

    # publishing

    def witnesses(self) -> list[Witness]:
        return [
            Witness(name, key, self.manifest.log_origin, self.secrets.log.verify_key)
            for name, key in self.secrets.witnesses
        ]

    def write(self, directory: Path, witnesses: list[Witness] | None = None) -> list[EvoteError]:
        """Append every entry to a fresh board under the log key and export it. The witnesses
        are asked to cosign just after the close entry and at the end; refusals are returned."""
        board = BulletinBoard(
            MemoryStore(),
            self.secrets.log,
            self.manifest.log_origin,
            kinds.entry_rules(self.election_id, self.manifest.scheme_name),
            self.manifest.witness_keys(),
        )
        asked = self.witnesses() if witnesses is None else witnesses
        refusals: list[EvoteError] = []

        def witness_round(now: int) -> None:
            latest, size = board.latest_checkpoint(), board.size
            for witness in asked:
                try:
                    proof = board.consistency_proof(witness.state.size, size)
                    signature = witness.add_checkpoint(latest, witness.state.size, proof, now)
                except EvoteError as error:
                    refusals.append(error)
                    continue
                latest = board.add_cosignature(size, signature)

        close_at = self.indices(kinds.CLOSE)[0]
        for index, entry in enumerate(self.entries):
            board.append([entry.encoded])
            if index == close_at:
                witness_round(2_000_000_000)
        witness_round(2_000_000_100)
        export_record(board, directory)
        return refusals

    def write_as_a_dishonest_log(self, directory: Path) -> None:
        """Write the files directly, as a log that skips the board's duplicate check would; one
        checkpoint over everything, cosigned (witnesses check growth, not content)."""
        tree = MerkleTree()
        for entry in self.entries:
            tree.append(leaf_hash(entry.encoded))
        checkpoint = Checkpoint(self.manifest.log_origin, tree.size, tree.root())
        note = sign_checkpoint(checkpoint, self.secrets.log)
        for name, key in self.secrets.witnesses:
            note = note.with_signature(cosign(note, name, key, 2_000_000_000))
        directory.mkdir(parents=True)
        (directory / ENTRIES_FILE).write_bytes(
            encoding.encode("evote-record/v1/entries") + b"".join(e.encoded for e in self.entries)
        )
        (directory / CHECKPOINTS_FILE).write_bytes(
            encoding.encode("evote-record/v1/checkpoints") + encoding.encode(note.text().encode())
        )


@pytest.fixture
def draft(honest: MockResult) -> Draft:
    return Draft(honest)


# --- honest records ------------------------------------------------------------------------------


def test_the_honest_record_verifies(honest: MockResult) -> None:
    report = verify(honest.record, honest.manifest.election_id)
    assert report.passed, report.to_json_text()
    assert report.check("ballots").checked == honest.ballots_cast
    assert report.check("counted-set").checked == honest.ballots_counted
    assert report.check("audits").checked == honest.audits
    guardians = len(honest.manifest.guardians)
    assert report.check("guardians").checked == 4 * guardians  # four rounds, no complaint
    assert report.check("key-checks").checked == guardians


def test_a_record_rebuilt_by_the_toolkit_unchanged_verifies(draft: Draft, tmp_path: Path) -> None:
    """The negative control: every rejection below comes from the change, not the rebuild."""
    assert draft.write(tmp_path / "record") == []
    assert verify(tmp_path / "record", draft.election_id).passed
    draft.retally()
    assert draft.write(tmp_path / "retallied") == []
    assert verify(tmp_path / "retallied", draft.election_id).passed


def test_the_cli_verifies_the_honest_record_with_worker_processes(honest: MockResult) -> None:
    result = CliRunner().invoke(
        main,
        [
            "verify",
            str(honest.record),
            "--election-id",
            honest.manifest.election_id.hex(),
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.stdout


# --- the tampered corpus -------------------------------------------------------------------------


def corrupt_first_proof(ballot: EncryptedBallot) -> EncryptedBallot:
    contest = ballot.contests[0]
    selection = contest.selections[0]
    proof = selection.proof
    changed = RangeProof(proof.challenges, (proof.responses[0] + Scalar(1), *proof.responses[1:]))
    selections = (dataclasses.replace(selection, proof=changed), *contest.selections[1:])
    first = EncryptedContest(selections, contest.total_proof)
    return dataclasses.replace(ballot, contests=(first, *ballot.contests[1:]))


def test_ballot_with_a_bad_proof_but_a_valid_signature(draft: Draft, tmp_path: Path) -> None:
    _, latest = draft.revoter()
    credential = draft.ballot(latest).credential
    bad = corrupt_first_proof(draft.fresh_ballot(credential, 2))
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(bad))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report, {"ballots"}, "ballots", close_at, "range proof: challenge: the challenges do not"
    )
    assert failures_of(report, "ballots")[0][1] == "contests.referendum.option[0].proof.challenge"


def test_ballot_from_an_unknown_credential(draft: Draft, tmp_path: Path) -> None:
    stranger = SigningKey(hashlib.sha256(b"not a registered voter").digest())
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(draft.fresh_ballot(stranger.verify_key, 0), stranger))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(report, {"ballots"}, "ballots", close_at, "is not in the list")


def test_ballot_copied_under_another_credential(draft: Draft, tmp_path: Path) -> None:
    counted = draft.counted()
    original, thief = draft.ballot(counted[0]), draft.ballot(counted[1])
    copy = dataclasses.replace(original, credential=thief.credential, sequence=thief.sequence + 1)
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(copy))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    copied = f"{draft.fingerprint_name()} already in entry {counted[0]}"
    assert_rejected(report, {"ballots"}, "ballots", close_at, copied)
    fields = {field for _, field, _ in failures_of(report, "ballots")}
    assert "contests.referendum.option[0].proof.challenge" in fields  # the proofs bind D_b
    assert "ballot_id" in fields


def test_replayed_earlier_ballot_of_the_same_credential(draft: Draft, tmp_path: Path) -> None:
    first, _ = draft.revoter()
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.entries[first])  # the very same bytes, again
    draft.write_as_a_dishonest_log(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report,
        {"ballots"},
        "ballots",
        close_at,
        f"this ballot id was already cast at entry {first}",
    )


def test_old_ballot_held_back_and_posted_after_the_newer_one(draft: Draft, tmp_path: Path) -> None:
    """In board order the newer ballot (sequence 1) now comes first, with no sequence 0
    before it: that is the ballot the box could not have admitted. The tally counts the held
    back one, the credential's only valid ballot, so ``ballots`` alone fails."""
    first, second = draft.revoter()
    old = draft.entries.pop(first)
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, old)
    newer = second - 1
    draft.retally(sorted((set(draft.counted()) - {newer}) | {close_at}))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report,
        {"ballots"},
        "ballots",
        newer,
        "sequence 1, but this is the credential's first valid ballot: a credential's first "
        "ballot has sequence 0",
    )
    assert [(e, f) for e, f, _ in failures_of(report, "ballots")] == [(newer, "sequence")]


@pytest.mark.parametrize("sequence", [3, 1_000_000])
def test_ballot_that_jumps_ahead_in_sequence(draft: Draft, tmp_path: Path, sequence: int) -> None:
    """Whoever holds a credential (a coercer) casts far ahead of its last ballot, so that the
    voter's device could never cast a later one: the jump is rejected as a gap, and the
    credential's last ballot in order (sequence 1) still counts."""
    _, latest = draft.revoter()
    jump = draft.fresh_ballot(draft.ballot(latest).credential, sequence)
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(jump))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report,
        {"ballots"},
        "ballots",
        close_at,
        f"sequence {sequence} skips 2: the credential's earlier valid ballot at entry {latest} "
        "has sequence 1, so the next must have 2",
    )
    assert [(e, f) for e, f, _ in failures_of(report, "ballots")] == [(close_at, "sequence")]


def test_jump_in_sequence_counted_by_the_tallier(draft: Draft, tmp_path: Path) -> None:
    """A dishonest tallier who counts the jumped ballot instead of the voter's fails the
    counted set too."""
    _, latest = draft.revoter()
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(draft.fresh_ballot(draft.ballot(latest).credential, 7)))
    draft.retally(sorted((set(draft.counted()) - {latest}) | {close_at}))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert {"ballots", "counted-set"} <= report.failed_checks()
    assert (close_at, "sequence") in [(e, f) for e, f, _ in failures_of(report, "ballots")]


def test_ballot_that_repeats_a_sequence(draft: Draft, tmp_path: Path) -> None:
    _, latest = draft.revoter()
    repeat = draft.fresh_ballot(draft.ballot(latest).credential, 1)
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(repeat))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report,
        {"ballots"},
        "ballots",
        close_at,
        f"sequence 1 is not above 1, that of the credential's earlier valid ballot at entry "
        f"{latest}: a repeated, replayed or reordered old ballot",
    )


def test_ballot_after_close(draft: Draft, tmp_path: Path) -> None:
    _, latest = draft.revoter()
    late = draft.fresh_ballot(draft.ballot(latest).credential, 2)
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at + 1, draft.cast(late))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report, {"phases", "ballots"}, "ballots", close_at + 1, "cast after the election closed"
    )
    assert_rejected(
        report, {"phases", "ballots"}, "phases", close_at + 1, "comes after the close entry"
    )


def test_audited_ballot_counted(draft: Draft, tmp_path: Path) -> None:
    audit_at, reveal = draft.audit()
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(reveal.ballot))
    own = next(i for i in draft.counted() if draft.ballot(i).credential == reveal.ballot.credential)
    draft.retally(sorted({*draft.counted(), close_at} - {own}))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    failed = {"ballots", "audits", "counted-set", "tally"}
    assert_rejected(
        report, failed, "ballots", close_at, f"this ballot id was audited at entry {audit_at}"
    )
    assert_rejected(report, failed, "audits", audit_at, f"is cast at entry {close_at}")
    tally_at = draft.at(kinds.TALLY)
    assert_rejected(
        report,
        failed,
        "counted-set",
        tally_at,
        f"entry {close_at} is counted, but it is not a valid",
    )


def test_altered_encrypted_tally(draft: Draft, tmp_path: Path) -> None:
    totals = aggregate(draft.context, [draft.ballot(i) for i in draft.counted()])
    yes, no = totals["referendum"]
    totals["referendum"] = (draft.one_more(yes), no)
    draft.retally(totals=totals)  # shares and result made to agree with the altered tally
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    tally_at = draft.at(kinds.TALLY)
    assert_rejected(report, {"tally"}, "tally", tally_at, "not the sum of the counted ballots")
    assert failures_of(report, "tally")[0][1] == "totals.referendum[0]"


def test_wrong_decryption_share(draft: Draft, tmp_path: Path) -> None:
    share_at = draft.indices(kinds.DECRYPTION_SHARE)[-1]
    body = GuardianShares.from_tlv(draft.entries[share_at].body, draft.context)
    body.shares["referendum"] = (
        draft.moved(body.shares["referendum"][0]),
        *body.shares["referendum"][1:],
    )
    draft.entries[share_at] = draft.sign(
        kinds.DECRYPTION_SHARE, body.to_tlv(), [draft.secrets.guardians[body.guardian - 1]]
    )
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    failed = {"decryption-shares", "result"}
    assert_rejected(report, failed, "decryption-shares", share_at, "decryption share proof")
    assert failures_of(report, "decryption-shares")[0][1] == "shares.referendum[0]"
    result_at = draft.at(kinds.RESULT)
    assert_rejected(
        report, failed, "result", result_at, f"guardian {body.guardian}'s decryption shares did"
    )


def test_too_few_decryption_shares(draft: Draft, tmp_path: Path) -> None:
    shares = draft.indices(kinds.DECRYPTION_SHARE)
    kept = GuardianShares.from_tlv(draft.entries[shares[0]].body, draft.context).guardian
    result = TallyResult.from_tlv(draft.entries[draft.at(kinds.RESULT)].body, draft.manifest)
    for index in reversed(shares[1:]):
        del draft.entries[index]
    result_at = draft.at(kinds.RESULT)
    draft.entries[result_at] = draft.sign(
        kinds.RESULT,
        dataclasses.replace(result, guardians=(kept,)).to_tlv(),
        draft.officials(),
    )
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report,
        {"result"},
        "result",
        result_at,
        "1 guardian(s) combined; decryption needs at least t = 2",
    )


def test_result_that_does_not_match(draft: Draft, tmp_path: Path) -> None:
    result_at = draft.at(kinds.RESULT)
    result = TallyResult.from_tlv(draft.entries[result_at].body, draft.manifest)
    yes, no = result.counts["referendum"]
    changed = dict(result.counts, referendum=(yes + 1, max(no - 1, 0)))
    draft.entries[result_at] = draft.sign(
        kinds.RESULT, dataclasses.replace(result, counts=changed).to_tlv(), draft.officials()
    )
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report, {"result"}, "result", result_at, f"count {yes + 1} does not decrypt the aggregate"
    )


def honest_witness_states(draft: Draft) -> list[Witness]:
    """The witnesses as they are after the honest election: each remembers the last tree it
    cosigned (the honest record's), so none will cosign a tree that does not extend it."""
    record = load(draft.honest.record).record
    witnesses = []
    for witness, (name, key) in zip(draft.witnesses(), draft.secrets.witnesses, strict=True):
        for checkpoint, note in reversed(record.checkpoints):
            try:
                timestamp = cosignature_time(note, name, key.verify_key)
            except EvoteError:
                continue
            witness.state = WitnessState(checkpoint.size, checkpoint.root, timestamp)
            break
        witnesses.append(witness)
    return witnesses


def censor_a_revote(draft: Draft) -> None:
    """Drop a voter's second ballot after the fact, so that the first one counts instead."""
    _, second = draft.revoter()
    del draft.entries[second]
    draft.retally(draft.counted())


def test_rewritten_history_under_a_new_checkpoint(draft: Draft, tmp_path: Path) -> None:
    censor_a_revote(draft)
    refusals = draft.write(tmp_path / "record", honest_witness_states(draft))
    assert len(refusals) == 2 * len(draft.secrets.witnesses)  # every witness, every round
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report,
        {"closing-checkpoint"},
        "closing-checkpoint",
        draft.at(kinds.CLOSE),
        "no checkpoint covering the close entry carries 2 valid witness cosignatures",
    )


def test_rewritten_history_under_the_old_checkpoints(draft: Draft, tmp_path: Path) -> None:
    censor_a_revote(draft)
    draft.write(tmp_path / "rewritten")
    directory = tmp_path / "record"
    directory.mkdir()
    shutil.copy(tmp_path / "rewritten" / ENTRIES_FILE, directory / ENTRIES_FILE)
    shutil.copy(draft.honest.record / CHECKPOINTS_FILE, directory / CHECKPOINTS_FILE)
    report = verify(directory, draft.election_id)
    assert report.failed_checks() == {"record"}
    assert report.statuses()["manifest"] == "pass"
    assert all(
        status == "skipped"
        for name, status in report.statuses().items()
        if name not in ("record", "manifest")
    )
    assert "the entries do not match its root" in failures_of(report, "record")[0][2]


def test_changed_manifest(draft: Draft, tmp_path: Path) -> None:
    """A changed manifest, and every entry re-signed under its new id: the published id no
    longer matches, and every proof, bound to H_B or H_E, breaks."""
    changed = dataclasses.replace(draft.manifest, name="A quietly different election")
    published = draft.election_id
    draft.manifest, draft.election_id = changed, changed.election_id
    draft.entries = [
        Entry.create(
            e.kind,
            changed.election_id,
            changed.to_tlv() if e.kind == kinds.MANIFEST else e.body,
            [secret_of(draft, key) for key in e.signers],
        )
        for e in draft.entries
    ]
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", published)
    failed = ALL_CHECKS - {"record", "phases", "credentials", "closing-checkpoint"}
    assert_rejected(
        report, failed, "manifest", 0, f"not the published election id {published.hex()}"
    )
    first_reveal = draft.indices(kinds.GUARDIAN_KEY)[0]
    assert_rejected(report, failed, "guardians", first_reveal, "coefficient knowledge proof")
    assert_rejected(report, failed, "guardians", first_reveal, "does not match its commitment")
    assert report.notes  # the report says the other checks ran against the record's manifest


def secret_of(draft: Draft, key: VerifyKey) -> SigningKey:
    secrets = draft.secrets
    everyone = [
        *secrets.officials,
        secrets.credential_authority,
        *secrets.guardians,
        *secrets.credentials,
    ]
    return next(k for k in everyone if k.verify_key == key)


def test_another_elections_record(honest: MockResult, tmp_path: Path) -> None:
    other = mock_election(tmp_path / "other", b"another election")
    report = verify(other.record, honest.manifest.election_id)
    assert report.failed_checks() == {"manifest"}
    assert "not the published election id" in failures_of(report, "manifest")[0][2]
    assert verify(other.record, other.manifest.election_id).passed


# --- rules the ballot box enforces, checked by the observer too ---------------------------------


def test_ballot_reusing_the_seed_an_audit_revealed(draft: Draft, tmp_path: Path) -> None:
    audit_at, reveal = draft.audit()
    credential = reveal.ballot.credential
    plaintext = PlaintextBallot(reveal.ballot.style, reveal.votes)
    reused = encrypt_with_seed(
        plaintext, draft.context, credential, 7, b"\x42" * 16, reveal.seed
    ).ballot
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(reused))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(
        report, {"ballots"}, "ballots", close_at, f"the audit at entry {audit_at} revealed"
    )


def test_ballot_with_the_same_ciphertext_twice(draft: Draft, tmp_path: Path) -> None:
    _, latest = draft.revoter()
    ballot = draft.fresh_ballot(draft.ballot(latest).credential, 2)
    first = ballot.contests[0]
    doubled = EncryptedContest((first.selections[0], first.selections[0]), first.total_proof)
    twice = dataclasses.replace(ballot, contests=(doubled, *ballot.contests[1:]))
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.cast(twice))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    twice_in = f"the same {draft.fingerprint_name()} appears twice within the ballot"
    assert_rejected(report, {"ballots"}, "ballots", close_at, twice_in)


def test_audit_from_an_unlisted_credential(draft: Draft, tmp_path: Path) -> None:
    stranger = SigningKey(hashlib.sha256(b"an unlisted auditor").digest())
    ballot = draft.fresh_ballot(stranger.verify_key, 0)
    plaintext = PlaintextBallot.from_choices(draft.manifest, *draft.FRESH)
    result = encrypt_with_seed(
        plaintext, draft.context, stranger.verify_key, 0, ballot.ballot_id, b"\x07" * 32
    )
    reveal = AuditReveal(result.ballot, result.seed, plaintext.votes)
    close_at = draft.at(kinds.CLOSE)
    draft.insert(close_at, draft.sign(kinds.AUDIT, reveal.to_tlv(), [stranger]))
    draft.write(tmp_path / "record")
    report = verify(tmp_path / "record", draft.election_id)
    assert_rejected(report, {"audits"}, "audits", close_at, "is not in the list")


# --- the key ceremony: a guardian who cheats, re-signed with its own key ------------------------


def as_guardian(draft: Draft, kind: str, body: bytes, guardian: int) -> Entry:
    return draft.sign(kind, body, [draft.secrets.guardians[guardian - 1]])


def reposted(draft: Draft, directory: Path) -> VerificationReport:
    """Write the edited record, the tally counting the ballots where they now are."""
    draft.retally(draft.counted())
    assert draft.write(directory) == []
    return verify(directory, draft.election_id)


def end_of_ceremony(draft: Draft) -> int:
    """Where the next complaint or answer goes: just before the joint key."""
    return draft.at(kinds.JOINT_KEY)


def test_reveal_that_does_not_match_its_commit(draft: Draft, tmp_path: Path) -> None:
    """Guardian 2's commitment, changed after the reveals were seen, commits to other points."""
    commit_at = draft.indices(kinds.CEREMONY_COMMIT)[1]
    reveal_at = draft.indices(kinds.GUARDIAN_KEY)[1]
    reveal = GuardianKey.from_tlv(draft.entries[reveal_at].body)
    other = commitment_hash(draft.context.base_hash, 2, tuple(reversed(reveal.commitments)))
    draft.entries[commit_at] = as_guardian(
        draft, kinds.CEREMONY_COMMIT, Commit(2, other).to_tlv(), 2
    )
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        reveal_at,
        f"guardian 2 is disqualified: its reveal does not match its commitment h_2 (entry "
        f"{commit_at})",
    )


def test_bad_schnorr_proof(draft: Draft, tmp_path: Path) -> None:
    reveal_at = draft.indices(kinds.GUARDIAN_KEY)[2]
    reveal = GuardianKey.from_tlv(draft.entries[reveal_at].body)
    first, second = reveal.proofs
    changed = CompactProof(second.challenge, second.response + Scalar(1))
    body = dataclasses.replace(reveal, proofs=(first, changed))
    draft.entries[reveal_at] = as_guardian(draft, kinds.GUARDIAN_KEY, body.to_tlv(), 3)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        reveal_at,
        "guardian 3 is disqualified: its proof of knowledge of coefficient 1 fails",
    )
    assert failures_of(report, "guardians")[0][1] == "proofs[1]"


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (kinds.CEREMONY_TRANSPORT, "transport key"),
        (kinds.CEREMONY_COMMIT, "commitment"),
        (kinds.CEREMONY_SHARES, "sealed shares"),
    ],
)
def test_a_guardian_who_missed_a_round(draft: Draft, tmp_path: Path, kind: str, what: str) -> None:
    del draft.entries[draft.indices(kind)[1]]
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        None,
        f"guardian 2 is disqualified: it missed the {what} round",
    )


def test_sealed_shares_that_skip_a_recipient(draft: Draft, tmp_path: Path) -> None:
    shares_at = draft.indices(kinds.CEREMONY_SHARES)[0]
    sealed = SealedShares.from_tlv(draft.entries[shares_at].body)
    skipped = SealedShares(1, tuple((r, box) for r, box in sealed.sealed if r != 3))
    draft.entries[shares_at] = as_guardian(draft, kinds.CEREMONY_SHARES, skipped.to_tlv(), 1)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        shares_at,
        "guardian 1 is disqualified: its sealed shares skip guardian 3",
    )


def complain(draft: Draft, complainer: int, accused: int) -> int:
    at = end_of_ceremony(draft)
    complaint = Complaint(complainer, accused, "the share does not open")
    draft.insert(at, as_guardian(draft, kinds.CEREMONY_COMPLAINT, complaint.to_tlv(), complainer))
    return at


def test_an_unanswered_complaint(draft: Draft, tmp_path: Path) -> None:
    at = complain(draft, 2, 1)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        at,
        f"guardian 1 is disqualified: it did not answer the complaint of guardian 2 (entry {at})",
    )


def test_a_complaint_answered_with_a_wrong_share(draft: Draft, tmp_path: Path) -> None:
    complain(draft, 2, 1)
    at = end_of_ceremony(draft)
    wrong = ShareReveal(1, 2, Scalar(12345))
    draft.insert(at, as_guardian(draft, kinds.CEREMONY_SHARE_REVEAL, wrong.to_tlv(), 1))
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        at,
        "guardian 1 is disqualified: the share it revealed for guardian 2 does not check",
    )


def test_t_guardians_complaining_about_one_dealer(draft: Draft, tmp_path: Path) -> None:
    complain(draft, 2, 1)
    second = complain(draft, 3, 1)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"guardians"},
        "guardians",
        second,
        "guardian 1 is disqualified: 2 guardians (2, 3) complained about it; t = 2",
    )
    assert len(report.check("guardians").failures) == 3  # and two complaints unanswered


def test_a_missing_key_check(draft: Draft, tmp_path: Path) -> None:
    del draft.entries[draft.indices(draft.key_check_kind())[2]]
    report = reposted(draft, tmp_path / "record")
    assert_rejected(report, {"key-checks"}, "key-checks", None, "guardian 3 posted no key check")


def test_a_bad_key_check(draft: Draft, tmp_path: Path) -> None:
    at = draft.indices(kinds.KEY_CHECK)[0]
    check = KeyCheck.from_tlv(draft.entries[at].body)
    bad = dataclasses.replace(check, share=check.share + BASE)
    draft.entries[at] = as_guardian(draft, kinds.KEY_CHECK, bad.to_tlv(), check.guardian)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report,
        {"key-checks"},
        "key-checks",
        at,
        f"guardian {check.guardian}'s key check does not verify",
    )


def test_a_key_check_posted_after_open(draft: Draft, tmp_path: Path) -> None:
    late = draft.entries.pop(draft.indices(draft.key_check_kind())[0])
    at = draft.at(kinds.OPEN) + 1
    draft.insert(at, late)
    report = reposted(draft, tmp_path / "record")
    failed = {"phases", "key-checks"}
    assert_rejected(report, failed, "key-checks", at, "key check comes after the election opened")
    assert_rejected(report, failed, "phases", at, "out of phase order")


def test_ceremony_rounds_out_of_order(draft: Draft, tmp_path: Path) -> None:
    """Guardian 3 posts its transport key after guardian 1 committed."""
    late = draft.entries.pop(draft.indices(kinds.CEREMONY_TRANSPORT)[2])
    at = draft.indices(kinds.CEREMONY_COMMIT)[0] + 1
    draft.insert(at, late)
    report = reposted(draft, tmp_path / "record")
    assert_rejected(
        report, {"phases"}, "phases", at, f"after the ceremony-commit entry at {at - 1}"
    )
