"""The voter's device without a network: choices checked against the manifest (every refusal
names its contest), the advice given for each failed call, the files of a voter directory, and
the checks of an election's setup read from a board (served here from a local board, with
single parts tampered with)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest

from evote.board.checkpoint import Checkpoint, sign_checkpoint
from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.note import parse_note
from evote.board.store import SqliteStore
from evote.ceremony.messages import JointKey
from evote.client.channels import PAGE
from evote.client.receipt import Receipt, ReceiptRefused
from evote.client.voter.calls import Action, rpc_failure
from evote.client.voter.choices import chosen_options, make_plaintext, parse_choices
from evote.client.voter.directory import PendingCast, StoredReceipt, VoterDir, VoterState
from evote.client.voter.enrollment import check_code
from evote.client.voter.errors import (
    BallotRefused,
    EnrollmentRefused,
    InvalidChoice,
    NotOpenForVoting,
    ServerUnavailable,
    SetupRefused,
    VoterError,
)
from evote.client.voter.history import foreign_ballot_notice, read_ballots, sequence_after
from evote.client.voter.setup import fetch_setup, parse_election_id
from evote.client.voter.voting import revote_allowed
from evote.crypto.keystore import INTERACTIVE
from evote.crypto.signing import SigningKey
from evote.election.manifest import REVOTE_LAST_COUNTS, Manifest
from evote.errors import DecodeError, KeystoreError
from evote.mock.defaults import PRESETS, REFERENCE_CONTESTS
from evote.mock.election import mock_manifest
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.kinds import CredentialList, PhaseMark

PASSPHRASE = b"a voter's long passphrase"


def manifest_with(
    contests: Sequence[dict[str, object]], styles: Sequence[dict[str, object]] | None = None
) -> Manifest:
    return mock_manifest(
        "Voter test",
        contests,
        ballot_styles=styles,
        officials=(SigningKey.generate(),),
        official_quorum=1,
        authority=SigningKey.generate(),
        guardians=(SigningKey.generate(),),
        guardian_quorum=1,
        log_key=SigningKey.generate(),
        witnesses=(("witness-1.evote.test", SigningKey.generate()),),
        witness_quorum=1,
    )


REFERENCE = manifest_with(REFERENCE_CONTESTS)
COMMUNITY = manifest_with(
    PRESETS["community"]["contests"], PRESETS["community"].get("ballot_styles")
)


# --- parsing and choosing ----------------------------------------------------------------------


def test_election_ids_are_64_hex_digits() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert parse_election_id(digest.hex()) == digest
    spaced = " ".join(digest.hex().upper()[i : i + 8] for i in range(0, 64, 8))
    assert parse_election_id(spaced) == digest
    assert parse_election_id(":".join(digest.hex()[i : i + 2] for i in range(0, 64, 2))) == digest
    for bad in ("", digest.hex()[:-1], digest.hex() + "00", "g" * 64):
        with pytest.raises(VoterError, match="64 hex digits"):
            parse_election_id(bad)


def test_choices_are_parsed_per_contest() -> None:
    parsed = parse_choices(["referendum=yes", "council=moroz, lysenko", "council=kravets", "head="])
    assert parsed == {
        "referendum": ["yes"],
        "council": ["moroz", "lysenko", "kravets"],
        "head": [],
    }
    for bad in ("head", "=koval", " =koval"):
        with pytest.raises(InvalidChoice, match="CONTEST=OPTION"):
            parse_choices([bad])


def test_a_valid_choice_becomes_the_plaintext_and_left_out_contests_are_blank() -> None:
    plaintext = make_plaintext(
        REFERENCE, "default", {"head": ["koval"], "council": ["moroz", "ivanenko"]}
    )
    assert chosen_options(REFERENCE, plaintext) == [
        ("referendum", []),
        ("head", ["koval"]),
        ("council", ["ivanenko", "moroz"]),
    ]
    assert plaintext.votes[1] == (0, 0, 1, 0, 0)


def test_an_open_list_is_chosen_by_its_contest_id_or_its_part() -> None:
    by_contest = make_plaintext(COMMUNITY, "td2", {"council": ["b"], "mayor": ["oliinyk"]})
    by_part = make_plaintext(COMMUNITY, "td2", {"council/td2": ["b"], "mayor": ["oliinyk"]})
    assert by_contest == by_part
    assert ("council/td2", ["b"]) in chosen_options(COMMUNITY, by_contest)
    with pytest.raises(InvalidChoice, match="no option 'a/a-td1-1'"):
        make_plaintext(COMMUNITY, "td2", {"council": ["a/a-td1-1"]})  # a candidate of td1
    with pytest.raises(InvalidChoice, match=r"council/td2 .* chosen twice"):
        make_plaintext(COMMUNITY, "td2", {"council": ["b"], "council/td2": ["c"]})
    with pytest.raises(InvalidChoice, match="no ballot style 'td3'; its styles are: td1, td2"):
        make_plaintext(COMMUNITY, "td3", {})


@pytest.mark.parametrize(
    ("choices", "fragments"),
    [
        ({"mayor": ["koval"]}, ["no contest 'mayor'", "referendum, head, council"]),
        ({"head": ["nobody"]}, ["contest head (Head of the community)", "no option 'nobody'"]),
        ({"referendum": ["yes", "no"]}, ["contest referendum", "at most 1 mark"]),
        (
            {"council": ["moroz", "lysenko", "kravets", "rudenko"]},
            ["contest council", "at most 3 mark(s); you chose 4"],
        ),
        ({"council": ["moroz", "moroz"]}, ["contest council", "moroz marked more than once"]),
    ],
)
def test_a_bad_choice_names_its_contest(
    choices: dict[str, list[str]], fragments: list[str]
) -> None:
    with pytest.raises(InvalidChoice) as refused:
        make_plaintext(REFERENCE, "default", choices)
    for fragment in fragments:
        assert fragment in str(refused.value)


def test_a_contest_that_needs_a_mark_cannot_be_left_blank() -> None:
    contest = {**REFERENCE_CONTESTS[1], "min_marks": 1}
    manifest = manifest_with([REFERENCE_CONTESTS[0], contest])
    with pytest.raises(InvalidChoice, match=r"contest head .* needs at least 1 mark"):
        make_plaintext(manifest, "default", {"referendum": ["yes"]})
    make_plaintext(manifest, "default", {"head": ["melnyk"]})


def test_revoting_follows_the_manifests_policy() -> None:
    assert revote_allowed(REVOTE_LAST_COUNTS)
    assert not revote_allowed("first-counts")


def test_enrollment_codes_are_checked_before_sending() -> None:
    check_code("ABCD-EFGH")
    for bad in ("", "   ", "x" * 257):
        with pytest.raises(EnrollmentRefused, match="copy it from your letter"):
            check_code(bad)


# --- what a failed call tells the voter ----------------------------------------------------------

Code = grpc.StatusCode


@pytest.mark.parametrize(
    ("code", "action", "error", "fragment"),
    [
        (Code.UNAVAILABLE, "cast", ServerUnavailable, "is not reachable"),
        (Code.UNAVAILABLE, "enroll", ServerUnavailable, "the retry is safe"),
        (Code.DEADLINE_EXCEEDED, "read", ServerUnavailable, "did not answer"),
        (Code.PERMISSION_DENIED, "enroll", EnrollmentRefused, "does not know this enrollment"),
        (Code.ALREADY_EXISTS, "enroll", EnrollmentRefused, "already used"),
        (Code.FAILED_PRECONDITION, "enroll", EnrollmentRefused, "registration is closed"),
        (Code.FAILED_PRECONDITION, "cast", NotOpenForVoting, "not open (it is closed)"),
        (Code.FAILED_PRECONDITION, "audit", NotOpenForVoting, "not taking ballots"),
        (Code.INVALID_ARGUMENT, "cast", BallotRefused, "refused your ballot: the election"),
        (Code.INVALID_ARGUMENT, "audit", BallotRefused, "refused your challenged ballot"),
        (Code.INTERNAL, "cast", VoterError, "answered INTERNAL"),
        (Code.PERMISSION_DENIED, "read", VoterError, "answered PERMISSION_DENIED"),
    ],
)
def test_each_failed_call_gets_advice(
    code: grpc.StatusCode, action: Action, error: type[VoterError], fragment: str
) -> None:
    details = "the election is not open (it is closed)"
    failure = rpc_failure(code, details, server="vote.example:50051", action=action)
    assert type(failure) is error
    assert fragment in str(failure)


# --- the voter directory's files -----------------------------------------------------------------


def receipt_of(leaf_index: int) -> StoredReceipt:
    receipt = Receipt(b"\x01" * 32, b"\x02" * 32, leaf_index, "origin\n1\nroot\n", (b"\x03" * 32,))
    return StoredReceipt("cast", receipt, b"entry bytes", b"\x04" * 32, 2)


def test_state_receipts_and_pending_casts_survive_a_round_trip(tmp_path: Path) -> None:
    state = VoterState(b"\x05" * 32, "127.0.0.1:1", SigningKey.generate().verify_key, 3, "td1")
    assert VoterState.from_json(state.to_json()) == state
    stored = receipt_of(7)
    assert StoredReceipt.from_json(stored.to_json(), "r.json") == stored
    pending = PendingCast(b"entry", b"\x06" * 32, 4)
    assert PendingCast.from_json(pending.to_json()) == pending

    voter = VoterDir(tmp_path / "voter")
    assert voter.receipts() == []
    for index in (12, 3):
        voter.write_receipt(receipt_of(index))
    voter.write_receipt(dataclasses.replace(receipt_of(5), kind="audit"))
    assert [p.name for p in voter.receipts()] == [
        "00000003-cast.json",
        "00000005-audit.json",
        "00000012-cast.json",
    ]
    assert voter.latest_cast().name == "00000012-cast.json"
    assert voter.read_receipt(voter.latest_cast()) == receipt_of(12)
    voter.set_pending(pending)
    assert voter.pending() == pending
    voter.set_pending(None)
    assert voter.pending() is None


def test_damaged_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="not an evote voter state"):
        VoterState.from_json(b'{"format": "other"}')
    with pytest.raises(DecodeError, match="next_sequence"):
        VoterState.from_json(
            VoterState(b"\x05" * 32, "s", SigningKey.generate().verify_key)
            .to_json()
            .replace(b'"next_sequence": 0', b'"next_sequence": -1')
        )
    nested = b"[" * 100_000 + b"]" * 100_000
    for data in (b"[]", b"{", b'{"format": "evote-receipt/v1", "kind": "spoiled"}', nested):
        with pytest.raises(ReceiptRefused, match="not a readable receipt"):
            StoredReceipt.from_json(data, "r.json")
    voter = VoterDir(tmp_path / "nobody")
    with pytest.raises(VoterError, match="Enroll first"):
        voter.load_state()


def test_the_credential_is_sealed_for_one_election(tmp_path: Path) -> None:
    voter = VoterDir(tmp_path / "voter")
    election_id = b"\x07" * 32
    made = voter.new_credential(election_id, PASSPHRASE, INTERACTIVE)
    assert voter.key_path.stat().st_mode & 0o077 == 0
    assert made.seed() not in voter.key_path.read_bytes()
    assert voter.credential(election_id, PASSPHRASE).verify_key == made.verify_key
    with pytest.raises(KeystoreError):
        voter.credential(election_id, b"another passphrase")
    with pytest.raises(VoterError, match="made for election 0707"):
        voter.credential(b"\x08" * 32, PASSPHRASE)


# --- the election's setup as a board shows it --------------------------------------------------


class LocalBoard:
    """A board read in-process, as :class:`~evote.client.channels.BoardClient` reads one;
    ``swap`` serves other bytes for some entries, ``note`` another checkpoint."""

    def __init__(self, board: BulletinBoard) -> None:
        self.board = board
        self.swap: dict[int, bytes] = {}
        self.note: str | None = None

    def checkpoint(self, size: int = 0) -> str:
        return self.board.latest_checkpoint() if self.note is None else self.note

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        page = self.board.entries(start, start + limit)
        return [self.swap.get(start + offset, data) for offset, data in enumerate(page)]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return self.board.consistency_proof(old_size, new_size)


@pytest.fixture
def setup(tmp_path: Path) -> StagedElection:
    """A board with the manifest, the key ceremony, the joint key and the key checks."""
    return stage_election(
        tmp_path / "election", "Voter test", [REFERENCE_CONTESTS[0]], voters=0, until="keys"
    )


@pytest.fixture
def board(setup: StagedElection) -> Iterator[BulletinBoard]:
    opened = setup.open_board()
    yield opened
    opened.close()


def post(
    board: BulletinBoard,
    setup: StagedElection,
    kind: str,
    body: bytes,
    signers: Sequence[SigningKey],
) -> None:
    board.append([setup.entry(kind, body, signers)])


def test_the_setup_of_a_good_board_checks_out(setup: StagedElection, board: BulletinBoard) -> None:
    read = fetch_setup(LocalBoard(board), setup.manifest.election_id)
    assert read.manifest == setup.manifest
    assert read.context is not None
    assert read.context.joint_key == setup.context.joint_key
    assert read.context.extended_hash == setup.context.extended_hash
    assert (read.credentials, read.opened) == (None, False)

    voters = sorted((SigningKey.generate().verify_key for _ in range(3)), key=lambda k: k.encode())
    post(board, setup, kinds.CREDENTIALS, CredentialList(tuple(voters)).to_tlv(), [setup.authority])
    post(board, setup, kinds.OPEN, PhaseMark("open", 1).to_tlv(), setup.officials)
    post(board, setup, kinds.CLOSE, PhaseMark("close", 2).to_tlv(), setup.officials)
    read = fetch_setup(LocalBoard(board), setup.manifest.election_id)
    assert read.credentials == frozenset(voters)
    assert read.opened
    assert read.checkpoint.size == board.size


def test_another_elections_board_is_refused(setup: StagedElection, board: BulletinBoard) -> None:
    with pytest.raises(SetupRefused, match="nothing was sent"):
        fetch_setup(LocalBoard(board), hashlib.sha256(b"elsewhere").digest())


def test_a_checkpoint_by_another_key_is_refused(
    setup: StagedElection, board: BulletinBoard
) -> None:
    local = LocalBoard(board)
    honest = Checkpoint.parse(parse_note(board.latest_checkpoint()).body)
    local.note = sign_checkpoint(honest, SigningKey.generate()).text()
    with pytest.raises(SetupRefused, match="not signed by this election's log key"):
        fetch_setup(local, setup.manifest.election_id)


def test_entries_that_the_checkpoint_does_not_commit_to_are_refused(
    setup: StagedElection, board: BulletinBoard
) -> None:
    local = LocalBoard(board)
    local.swap = {1: board.entry(2), 2: board.entry(1)}  # two ceremony entries swapped
    with pytest.raises(SetupRefused, match="not the ones its signed checkpoint commits to"):
        fetch_setup(local, setup.manifest.election_id)


def test_a_second_joint_key_is_refused(setup: StagedElection, board: BulletinBoard) -> None:
    context = setup.context
    other = JointKey(context.verification_keys[0], context.extended_hash, context.verification_keys)
    post(board, setup, kinds.JOINT_KEY, other.to_tlv(), [*setup.officials, *setup.guardians])
    with pytest.raises(SetupRefused, match="a second joint-key entry"):
        fetch_setup(LocalBoard(board), setup.manifest.election_id)


def test_an_opening_without_the_official_quorum_is_refused(
    setup: StagedElection, board: BulletinBoard
) -> None:
    post(board, setup, kinds.OPEN, PhaseMark("open", 1).to_tlv(), setup.officials[:1])
    with pytest.raises(SetupRefused, match=r"the opening \(entry \d+\) is signed by 1 officials"):
        fetch_setup(LocalBoard(board), setup.manifest.election_id)


def test_a_credential_list_by_someone_else_is_refused(
    setup: StagedElection, board: BulletinBoard
) -> None:
    post(board, setup, kinds.CREDENTIALS, CredentialList(()).to_tlv(), setup.officials)
    with pytest.raises(SetupRefused, match="must be signed by the credential authority"):
        fetch_setup(LocalBoard(board), setup.manifest.election_id)


def test_a_joint_key_the_ceremony_does_not_give_is_refused(
    setup: StagedElection, board: BulletinBoard, tmp_path: Path
) -> None:
    entries = board.entries(0, board.size)
    joint_at = next(
        i for i, data in enumerate(entries) if Entry.decode(data).kind == kinds.JOINT_KEY
    )
    fresh = BulletinBoard(
        SqliteStore(tmp_path / "other.sqlite3"),
        setup.log_key,
        setup.manifest.log_origin,
        kinds.entry_rules(setup.manifest.election_id),
        setup.manifest.witness_keys(),
    )
    try:
        fresh.append(entries[:joint_at])
        context = setup.context
        wrong = JointKey(context.joint_key, b"\x00" * 32, context.verification_keys)
        post(fresh, setup, kinds.JOINT_KEY, wrong.to_tlv(), [*setup.officials, *setup.guardians])
        with pytest.raises(SetupRefused, match=r"H_E is 0+, but recomputes to"):
            fetch_setup(LocalBoard(fresh), setup.manifest.election_id)
    finally:
        fresh.close()


# --- the credential's ballots as the board shows them ------------------------------------------


def test_the_credentials_ballots_on_the_board_give_the_next_sequence(
    setup: StagedElection, board: BulletinBoard
) -> None:
    mine, other = SigningKey.generate(), SigningKey.generate()
    voters = sorted((mine.verify_key, other.verify_key), key=lambda k: k.encode())
    post(board, setup, kinds.CREDENTIALS, CredentialList(tuple(voters)).to_tlv(), [setup.authority])
    post(board, setup, kinds.OPEN, PhaseMark("open", 1).to_tlv(), setup.officials)
    election_id = setup.manifest.election_id

    read = fetch_setup(LocalBoard(board), election_id)
    assert read_ballots(LocalBoard(board), read, mine.verify_key) == ()
    assert sequence_after(()) == 0

    board.append([setup.ballot_by(mine, 0), setup.ballot_by(other, 0)])
    elsewhere = setup.ballot_by(mine, 1)  # cast by whoever else holds the credential
    board.append([elsewhere])
    read = fetch_setup(LocalBoard(board), election_id)
    ballots = read_ballots(LocalBoard(board), read, mine.verify_key)
    first = board.size - 3
    assert [(b.index, b.sequence) for b in ballots] == [(first, 0), (first + 2, 1)]
    assert ballots[1].tracking_code == Entry.decode(elsewhere).tracking_code
    assert sequence_after(ballots) == 2
    notice = foreign_ballot_notice(ballots[1])
    assert notice.startswith(
        "a ballot you did not cast on this device was cast with your credential at board "
        f"entry {first + 2} (sequence 1, tracking code "
    )
    assert "this ballot replaces it" in notice


def test_ballots_the_checkpoint_does_not_commit_to_are_refused(
    setup: StagedElection, board: BulletinBoard
) -> None:
    mine = SigningKey.generate()
    post(
        board,
        setup,
        kinds.CREDENTIALS,
        CredentialList((mine.verify_key,)).to_tlv(),
        [setup.authority],
    )
    post(board, setup, kinds.OPEN, PhaseMark("open", 1).to_tlv(), setup.officials)
    board.append([setup.ballot_by(mine, 0)])
    local = LocalBoard(board)
    read = fetch_setup(local, setup.manifest.election_id)
    local.swap = {board.size - 1: setup.ballot_by(mine, 0)}  # the server hides the real one
    with pytest.raises(SetupRefused, match="not the ones its signed checkpoint commits to"):
        read_ballots(local, read, mine.verify_key)
