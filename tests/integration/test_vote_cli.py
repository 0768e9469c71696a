"""`evote enroll`, `evote vote` and `evote receipt check` against the real services over TLS on
free loopback ports (the election of ``test_registry_control``: manifest, key ceremony, joint
key and key checks on the board; the authority imports a roll of one-time codes here, then
closes registration, and officials open and close through the control port).

Covered: enroll, vote with ``--choice`` and through the prompts, a Benaloh challenge then the
cast, a revote, receipts checked offline and online; and every refusal a voter can meet, each
with nothing written: a wrong election id (refused before the code is sent), a bad choice
(naming the contest), an unknown or used code, voting before the opening or after the close,
a tampered receipt, and a server that is down (with the unanswered ballot sent again later).
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import grpc
import pytest
from click.testing import CliRunner, Result

from evote.board.entry import Entry
from evote.cli import main
from evote.client.channels import BallotBoxClient, RegistryClient, secure_channel
from evote.client.receipt import Receipt, ReceiptRefused
from evote.client.voter.choices import make_plaintext
from evote.client.voter.directory import StoredReceipt, VoterDir
from evote.client.voter.errors import (
    BallotRefused,
    EnrollmentRefused,
    InvalidChoice,
    NotOpenForVoting,
    ServerUnavailable,
    SetupRefused,
    VoterError,
)
from evote.client.voter.voting import VotingSession
from evote.crypto.keystore import INTERACTIVE
from evote.election.audit import AuditReveal, verify_audit
from evote.election.ballot import EncryptedBallot
from evote.election.encrypt import encrypt_ballot
from evote.mock.staging import StagedElection
from evote.record import kinds
from evote.services.ca import Role
from evote.wire.v1 import control_pb2, control_pb2_grpc
from tests.integration import test_registry_control as registry_tests
from tests.integration.test_registry_control import TIMEOUT, Client

# The registry tests' election and servers, as fixtures of this module too.
setup = registry_tests.setup
start = registry_tests.start

PASSPHRASE = "a voter's long passphrase"  # noqa: S105 - a test passphrase
ENV = {"EVOTE_PASSPHRASE": PASSPHRASE}
CODES = [f"code-{number}-{number * 7919:06d}" for number in range(4)]


@dataclass
class Election:
    setup: StagedElection
    client: Client
    authority: control_pb2_grpc.ControlStub
    official: control_pb2_grpc.ControlStub

    @property
    def server(self) -> str:
        return self.client.servers.public.address

    @property
    def ca(self) -> Path:
        return self.setup.data_dir / "ca.pem"

    @property
    def election_id(self) -> bytes:
        return self.setup.manifest.election_id

    def close_registration(self) -> None:
        """The authority closes the registry and posts the list it answered, signed."""
        closed = self.authority.CloseRegistration(control_pb2.Empty(), timeout=TIMEOUT)
        listed = self.setup.entry(kinds.CREDENTIALS, closed.credential_list, [self.setup.authority])
        self.authority.Post(control_pb2.PostRequest(entry=listed), timeout=TIMEOUT)

    def post_mark(self, phase: Literal["open", "close"]) -> None:
        entry = self.setup.mark(phase, self.setup.officials)
        self.official.Post(control_pb2.PostRequest(entry=entry), timeout=TIMEOUT)

    def entries(self) -> list[Entry]:
        return registry_tests.board_entries(self.client.public())

    def registration(self) -> tuple[int, int, bool]:
        return registry_tests.status(self.client.registry())


@pytest.fixture
def election(setup: StagedElection, start: Callable[[], Client]) -> Election:
    """The servers running, the roll of :data:`CODES` imported; registration still open."""
    client = start()
    authority = client.control(Role.credential_authority())
    authority.ImportRoll(control_pb2.ImportRollRequest(enrollment_codes=CODES), timeout=TIMEOUT)
    return Election(setup, client, authority, client.control(Role.official()))


def evote(*args: object, user_input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], env=ENV, input=user_input)


def enroll(
    election: Election, voter_dir: Path, code: str, election_id: bytes | None = None
) -> Result:
    return evote(
        "enroll",
        "--voter-dir",
        voter_dir,
        "--server",
        election.server,
        "--ca",
        election.ca,
        "--election-id",
        (election_id or election.election_id).hex(),
        "--code",
        code,
        "--kdf",
        "interactive",
    )


def vote(voter_dir: Path, *args: object, user_input: str | None = None) -> Result:
    return evote("vote", "--voter-dir", voter_dir, *args, user_input=user_input)


def check(voter_dir: Path, *args: object) -> Result:
    return evote("receipt", "check", "--voter-dir", voter_dir, *args)


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def refused(result: Result, error: type[Exception], *fragments: str) -> str:
    """The command failed with ``error`` whose message holds every fragment."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, error), (result.exception, result.output)
    message = str(result.exception)
    for fragment in fragments:
        assert fragment in message, message
    return message


def snapshot(directory: Path) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def ready_voter(election: Election, voter_dir: Path, code: str = CODES[0]) -> None:
    """Enroll one voter, close registration and open the election."""
    ok(enroll(election, voter_dir, code))
    election.close_registration()
    election.post_mark("open")


def ballot_of(stored: StoredReceipt, election: Election) -> EncryptedBallot:
    return EncryptedBallot.from_tlv(Entry.decode(stored.entry).body, election.setup.manifest)


def test_enroll_vote_and_check_receipts(election: Election, tmp_path: Path) -> None:
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    output = ok(enroll(election, alice, CODES[0]))
    assert f"enrolled in election {election.election_id.hex()}" in output
    assert "registration: 1 of 4 voters enrolled" in output
    state = VoterDir(alice).load_state()
    assert (state.election_id, state.server, state.next_sequence) == (
        election.election_id,
        election.server,
        0,
    )
    assert CODES[0].encode() not in b"".join(snapshot(alice).values())  # the code is not kept
    assert election.registration() == (4, 1, False)
    kept = snapshot(alice)
    refused(enroll(election, alice, CODES[0]), VoterError, "already holds an enrollment")
    assert snapshot(alice) == kept

    # Before registration closes there is no credential list: nothing is encrypted or sent.
    refused(vote(alice, "--choice", "referendum=yes"), NotOpenForVoting, "registration")
    assert snapshot(alice) == kept

    ok(enroll(election, bob, CODES[1]))
    election.close_registration()
    refused(vote(alice, "--choice", "referendum=yes"), NotOpenForVoting, "not opened yet")
    election.post_mark("open")

    output = ok(vote(alice, "--choice", "referendum=yes"))
    assert "confirmation code" in output
    assert "tracking code" in output
    (first,) = VoterDir(alice).receipts("cast")
    stored = VoterDir(alice).read_receipt(first)
    assert stored.receipt.tracking_code.hex() in output
    assert stored.confirmation_code.hex() in output
    assert ballot_of(stored, election).sequence == 0
    on_board = election.entries()[stored.receipt.leaf_index]
    assert on_board.encoded == stored.entry
    assert on_board.signers == (VoterDir(alice).load_state().credential,)
    assert VoterDir(alice).load_state().next_sequence == 1

    # Bob answers the prompt, challenges the device once, then casts.
    output = ok(vote(bob, user_input="1\nchallenge\ncast\n"))
    assert "challenged" in output
    assert output.count("confirmation code  ") == 2
    (audit,) = VoterDir(bob).receipts("audit")
    assert len(VoterDir(bob).receipts("cast")) == 1
    reveal = AuditReveal.from_tlv(
        Entry.decode(VoterDir(bob).read_receipt(audit).entry).body, election.setup.manifest
    )
    assert reveal.votes == ((1, 0),)  # option 1 is yes
    verify_audit(reveal, election.setup.context)

    # Alice's receipt, offline and against the board as it is now (it grew since).
    assert "offline: the cast receipt checks" in ok(check(alice))
    output = ok(check(alice, "--online"))
    assert f"the board now has {len(election.entries())} entries" in output
    ok(check(bob, audit, "--server", election.server, "--ca", election.ca))

    # Alice votes again through the prompts (a blank ballot): the next sequence number.
    output = ok(vote(alice, user_input="\n\n"))
    assert "replaces the one you cast before" in output
    casts = VoterDir(alice).receipts("cast")
    assert len(casts) == 2
    latest = VoterDir(alice).read_receipt(casts[-1])
    assert ballot_of(latest, election).sequence == 1
    assert VoterDir(alice).load_state().next_sequence == 2
    assert f"entry {latest.receipt.leaf_index}" in ok(check(alice, "--online"))
    ok(check(alice, casts[0], "--online"))  # the first receipt still proves its entry


def test_challenge_then_cast(election: Election, tmp_path: Path) -> None:
    voter = tmp_path / "voter"
    ready_voter(election, voter)
    output = ok(vote(voter, "--choice", "referendum=no", "--challenge"))
    assert "challenged" in output
    (audit_file,) = VoterDir(voter).receipts("audit")
    (cast_file,) = VoterDir(voter).receipts("cast")
    audit = VoterDir(voter).read_receipt(audit_file)
    cast = VoterDir(voter).read_receipt(cast_file)
    assert audit.receipt.leaf_index < cast.receipt.leaf_index
    assert audit.confirmation_code != cast.confirmation_code
    manifest = election.setup.manifest
    reveal = AuditReveal.from_tlv(Entry.decode(audit.entry).body, manifest)
    assert reveal.votes == make_plaintext(manifest, "default", {"referendum": ["no"]}).votes
    ballot = ballot_of(cast, election)
    assert ballot.ballot_id != reveal.ballot.ballot_id
    assert ballot.sequence == reveal.ballot.sequence == 0
    kinds_on_board = [entry.kind for entry in election.entries()]
    assert kinds_on_board[-2:] == [kinds.AUDIT, kinds.BALLOT]
    assert "offline: the audit receipt checks" in ok(check(voter, audit_file))
    ok(check(voter, "--online"))


def test_a_wrong_election_id_is_refused_before_anything_is_sent(
    election: Election, tmp_path: Path
) -> None:
    voter = tmp_path / "voter"
    other = hashlib.sha256(b"another election").digest()
    refused(enroll(election, voter, CODES[0], other), SetupRefused, other.hex(), "nothing was sent")
    assert not voter.exists()
    assert election.registration() == (4, 0, False)  # the code never reached the registry
    result = evote("enroll", "--voter-dir", voter, "--server", election.server, "--ca", election.ca)
    assert result.exit_code == 2  # click: missing options
    refused(
        evote(
            "enroll",
            *("--voter-dir", voter, "--server", election.server, "--ca", election.ca),
            *("--election-id", "not-hex", "--code", CODES[0]),
        ),
        VoterError,
        "64 hex digits",
    )
    assert not voter.exists()


def test_a_bad_choice_names_the_contest_and_changes_nothing(
    election: Election, tmp_path: Path
) -> None:
    voter = tmp_path / "voter"
    ready_voter(election, voter)
    kept, size = snapshot(voter), len(election.entries())
    refused(vote(voter, "--choice", "referendum=maybe"), InvalidChoice, "referendum", "maybe")
    refused(vote(voter, "--choice", "referendum=yes,no"), InvalidChoice, "referendum", "at most 1")
    refused(vote(voter, "--choice", "head=koval"), InvalidChoice, "no contest 'head'")
    refused(vote(voter, "--choice", "referendum"), InvalidChoice, "CONTEST=OPTION")
    refused(vote(voter, "--style", "district-9"), InvalidChoice, "no ballot style")
    assert snapshot(voter) == kept
    assert len(election.entries()) == size
    # At the prompt, a bad answer is explained and asked again.
    output = ok(vote(voter, user_input="maybe\n1,2\nno\ncast\n"))
    assert output.count("referendum (") >= 3
    assert "no option 'maybe'" in output
    assert "at most 1 mark" in output


def test_unknown_and_used_codes(election: Election, tmp_path: Path) -> None:
    alice, mallory, carol = tmp_path / "alice", tmp_path / "mallory", tmp_path / "carol"
    refused(
        enroll(election, alice, "not-a-code"),
        EnrollmentRefused,
        "does not know this enrollment code",
    )
    assert not alice.exists()
    ok(enroll(election, alice, CODES[0]))
    refused(enroll(election, mallory, CODES[0]), EnrollmentRefused, "already used")
    assert not mallory.exists()
    assert election.registration() == (4, 1, False)

    # A first attempt whose answer was lost left its credential; the retry sends it again.
    voter = VoterDir(carol)
    credential = voter.new_credential(election.election_id, PASSPHRASE.encode(), INTERACTIVE)
    with RegistryClient(secure_channel(election.server, election.ca.read_bytes())) as registry:
        registry.enroll(CODES[2], credential.verify_key.encode())
    ok(enroll(election, carol, CODES[2]))
    assert voter.load_state().credential == credential.verify_key
    assert election.registration() == (4, 2, False)


def test_casting_after_the_close_is_refused(election: Election, tmp_path: Path) -> None:
    voter = tmp_path / "voter"
    ready_voter(election, voter)
    election.post_mark("close")
    kept, size = snapshot(voter), len(election.entries())
    refused(vote(voter, "--choice", "referendum=yes"), NotOpenForVoting, "not open", "closed")
    assert snapshot(voter) == kept
    assert len(election.entries()) == size


def test_a_tampered_receipt_fails_the_check(election: Election, tmp_path: Path) -> None:
    voter = tmp_path / "voter"
    ready_voter(election, voter)
    ok(vote(voter, "--choice", "referendum=yes"))
    (path,) = VoterDir(voter).receipts("cast")
    original = json.loads(path.read_text())
    forged_entry = bytearray(bytes.fromhex(original["entry"]))
    forged_entry[-1] ^= 1
    changes: list[tuple[str, object, str]] = [
        ("entry", forged_entry.hex(), "tracking code"),
        ("leaf_index", original["leaf_index"] - 1, "inclusion proof"),
        ("checkpoint", original["checkpoint"].replace("\n", "\n\n", 1), "checkpoint"),
        ("election_id", "00" * 32, "another election"),
        ("inclusion_proof", [], "inclusion proof"),
    ]
    for field, value, reason in changes:
        tampered = tmp_path / f"tampered-{field}.json"
        tampered.write_text(json.dumps({**original, field: value}))
        refused(check(voter, tampered), ReceiptRefused, reason)
        refused(check(voter, tampered, "--online"), ReceiptRefused, reason)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    refused(check(voter, garbage), ReceiptRefused, "not a readable receipt")
    ok(check(voter, path, "--online"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_server_that_is_down_gives_an_actionable_error(
    election: Election, start: Callable[[], Client], tmp_path: Path
) -> None:
    voter = tmp_path / "voter"
    down = f"127.0.0.1:{free_port()}"
    result = evote(
        *("enroll", "--voter-dir", voter, "--server", down, "--ca", election.ca),
        *("--election-id", election.election_id.hex(), "--code", CODES[0], "--kdf", "interactive"),
    )
    refused(result, ServerUnavailable, down, "not reachable", "the retry is safe")
    assert not voter.exists()

    # A cast whose answer never comes is kept, and sent again byte for byte later.
    ready_voter(election, voter)
    manifest = election.setup.manifest
    with VotingSession.open(voter, PASSPHRASE.encode()) as session:
        prepared = session.prepare(make_plaintext(manifest, "default", {"referendum": ["yes"]}))
        election.client.servers.stop(None)
        with pytest.raises(ServerUnavailable, match=r"pending-cast\.json"):
            session.cast(prepared)
    pending = VoterDir(voter).pending()
    assert pending is not None
    assert not VoterDir(voter).receipts()
    assert VoterDir(voter).load_state().next_sequence == 0
    refused(vote(voter, "--choice", "referendum=no"), ServerUnavailable, "not reachable")
    assert VoterDir(voter).pending() == pending

    election.client = start()  # served again, on another port
    output = ok(vote(voter, "--server", election.server, "--choice", "referendum=no"))
    assert "sending it again" in output
    assert VoterDir(voter).pending() is None
    (cast,) = VoterDir(voter).receipts("cast")
    assert VoterDir(voter).read_receipt(cast).entry == pending.entry
    assert VoterDir(voter).load_state().next_sequence == 1
    ok(check(voter, "--server", election.server))


def test_the_evote_command_prints_the_error_and_exits_1(election: Election, tmp_path: Path) -> None:
    down = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "evote", "enroll", "--voter-dir", str(tmp_path / "voter")]
    command += ["--server", down, "--ca", str(election.ca), "--code", CODES[0]]
    command += ["--election-id", election.election_id.hex()]
    finished = subprocess.run(
        command, capture_output=True, text=True, env={**ENV, "PATH": ""}, timeout=60, check=False
    )
    assert finished.returncode == 1
    assert finished.stderr.startswith(f"error: the election server {down} is not reachable")


def test_a_revote_replaces_a_ballot_cast_elsewhere_with_the_credential(
    election: Election, tmp_path: Path
) -> None:
    """A coercer who took the credential casts with it; the voter's device reads the board,
    names that ballot, and casts with the next sequence number, so the voter's ballot counts.
    A coercer's jump ahead in sequence numbers is refused with the number expected."""
    voter = tmp_path / "voter"
    ready_voter(election, voter)
    ok(vote(voter, "--choice", "referendum=yes"))  # sequence 0, on this device
    manifest, context = election.setup.manifest, election.setup.context
    stolen = VoterDir(voter).credential(election.election_id, PASSPHRASE.encode())
    coerced = make_plaintext(manifest, "default", {"referendum": ["no"]})

    def coercer_casts(sequence: int) -> Receipt:
        ballot = encrypt_ballot(coerced, context, stolen.verify_key, sequence).ballot
        entry = Entry.create(kinds.BALLOT, election.election_id, ballot.to_tlv(), [stolen])
        with BallotBoxClient(secure_channel(election.server, election.ca.read_bytes())) as box:
            return box.cast(entry.encoded)

    with pytest.raises(grpc.RpcError) as jump:
        coercer_casts(1000)
    assert "sequence 1000 refused: expected sequence 1" in (jump.value.details() or "")
    theirs = coercer_casts(1)

    output = ok(vote(voter, "--choice", "referendum=yes"))
    assert (
        "warning: a ballot you did not cast on this device was cast with your credential at "
        f"board entry {theirs.leaf_index} (sequence 1, tracking code "
        f"{theirs.tracking_code.hex()}); this ballot replaces it"
    ) in output
    latest = VoterDir(voter).read_receipt(VoterDir(voter).latest_cast())
    assert ballot_of(latest, election).sequence == 2
    assert latest.receipt.leaf_index > theirs.leaf_index
    assert VoterDir(voter).load_state().next_sequence == 3
    # The voter's own ballots are never named: only the coercer's, once more.
    output = ok(vote(voter, "--choice", "referendum=yes"))
    assert output.count("warning: a ballot you did not cast") == 1
    assert (
        ballot_of(VoterDir(voter).read_receipt(VoterDir(voter).latest_cast()), election).sequence
        == 3
    )


def test_a_ballot_cast_elsewhere_while_voting_is_explained(
    election: Election, tmp_path: Path
) -> None:
    """The coercer casts between the device reading the board and casting: the box refuses
    the device's ballot (its number is taken), the device names the coercer's ballot, and the
    next ballot it prepares has the next number."""
    voter = tmp_path / "voter"
    ready_voter(election, voter)
    manifest, context = election.setup.manifest, election.setup.context
    choice = make_plaintext(manifest, "default", {"referendum": ["yes"]})
    with VotingSession.open(voter, PASSPHRASE.encode()) as session:
        prepared = session.prepare(choice)
        assert (prepared.sequence, session.foreign_ballots) == (0, ())
        stolen = session.credential
        ballot = encrypt_ballot(choice, context, stolen.verify_key, 0).ballot
        entry = Entry.create(kinds.BALLOT, election.election_id, ballot.to_tlv(), [stolen])
        with BallotBoxClient(secure_channel(election.server, election.ca.read_bytes())) as box:
            theirs = box.cast(entry.encoded)
        with pytest.raises(BallotRefused) as caught:
            session.cast(prepared)
        message = str(caught.value)
        assert "expected sequence 1" in message
        assert f"at board entry {theirs.leaf_index}" in message
        assert "run `evote vote` again" in message
        assert VoterDir(voter).pending() is None
        assert session.prepare(choice).sequence == 1
        stored = session.cast(session.prepare(choice))
    assert ballot_of(stored, election).sequence == 1
