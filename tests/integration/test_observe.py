"""Observers and witnesses over real gRPC with TLS on free loopback ports: they follow a live
election to its result (voters cast over the public port, officials and guardians post over
the control port, witnesses hand their cosignatures back with a witness role certificate),
their mirrors pass `evote verify`, `evote observe` resumes from its mirror, and a board served
again with a rewritten history is caught. `evote observe` also compares the registry's public
counts with the credential list (a registry that added a ghost credential, or left a voter
off, is reported), and a checkpoint it is shown (a voter's receipt, another observer's note)
with its mirror (one from a forked board is a split view)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evote.board.checkpoint import verify_witnessed
from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.merkle import leaf_hash
from evote.board.store import SqliteStore
from evote.cli import main
from evote.client.channels import BallotBoxClient, BoardClient, ControlClient, secure_channel
from evote.client.observer.following import Observer
from evote.client.observer.gossip import ShownCheckpointRefused, read_shown_checkpoint
from evote.client.observer.reports import PollReport
from evote.client.receipt import Receipt
from evote.client.voter.directory import StoredReceipt
from evote.crypto.signing import SigningKey
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.registry import Registry
from evote.services.ca import Role
from evote.services.server import (
    BOARD_FILE,
    ElectionServers,
    serve_election_tls,
    setup_data_dir,
)
from tests.unit.client.test_observer import board_entries, finish_election

CONTESTS = [REFERENCE_CONTESTS[0]]
VOTERS = 3


def evote(*args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def serve(staged: StagedElection, data_dir: Path | None = None) -> ElectionServers:
    return serve_election_tls(data_dir or staged.data_dir, staged.log_key, proof_workers=0)


@pytest.fixture
def staged(tmp_path: Path) -> StagedElection:
    return stage_election(tmp_path / "election", "Observe test", CONTESTS, voters=VOTERS)


class Connections:
    """Clients of one pair of servers, with role certificates from the data dir's CA; all
    closed, and the servers stopped, at the end."""

    def __init__(self, staged: StagedElection, servers: ElectionServers, stack: ExitStack) -> None:
        self.staged = staged
        self.servers = servers
        self.ca = setup_data_dir(staged.data_dir)
        self._stack = stack
        stack.callback(servers.stop, None)

    def board(self) -> BoardClient:
        channel = secure_channel(self.servers.public.address, self.servers.ca_pem)
        return self._stack.enter_context(BoardClient(channel))

    def ballot_box(self) -> BallotBoxClient:
        channel = secure_channel(self.servers.public.address, self.servers.ca_pem)
        return self._stack.enter_context(BallotBoxClient(channel))

    def control(self, role: Role) -> ControlClient:
        leaf = self.ca.issue_client(role)
        channel = secure_channel(self.servers.control.address, self.servers.ca_pem, leaf)
        return self._stack.enter_context(ControlClient(channel))

    def poster(self, entry: bytes) -> ControlClient:
        """The control client of the party that signed ``entry``: a guardian or an official."""
        signer = Entry.decode(entry).signers[0]
        guardians = [key.verify_key for key in self.staged.guardians]
        if signer in guardians:
            return self.control(Role.for_guardian(guardians.index(signer) + 1))
        return self.control(Role.official())


@pytest.fixture
def connections(staged: StagedElection) -> Iterator[Connections]:
    with ExitStack() as stack:
        yield Connections(staged, serve(staged), stack)


def test_observers_and_witnesses_follow_a_live_election(
    staged: StagedElection, connections: Connections, tmp_path: Path
) -> None:
    election_id = staged.manifest.election_id
    observer = Observer(connections.board(), election_id, tmp_path / "observer")
    witnesses = [
        Observer(
            connections.board(),
            election_id,
            tmp_path / name,
            witness_key=key,
            send_cosignature=connections.control(Role.for_witness(name)).add_cosignature,
        )
        for name, key in staged.witnesses
    ]
    everyone = [*witnesses, observer]

    def poll() -> list[PollReport]:
        return [party.poll() for party in everyone]

    # The staged board: manifest, ceremony, joint key, key checks, credentials, open.
    reports = poll()
    size = reports[0].size
    assert [(r.size, r.new_entries, r.failures) for r in reports] == [(size, size, 0)] * 3
    assert [r.cosigned for r in reports] == [size, size, None]

    # Voters cast over the public port.
    box = connections.ballot_box()
    for voter in range(VOTERS):
        box.cast(staged.ballot(voter))
    reports = poll()
    assert [(r.new_entries, r.ballots, r.failures) for r in reports] == [(VOTERS, VOTERS, 0)] * 3

    # The officials close: the record checks run; the witnesses cosign the closing checkpoint.
    connections.control(Role.official()).post(staged.mark("close", staged.officials))
    reports = poll()
    for report in reports:
        assert report.verification is not None
        assert report.verification.passed, report.verification.problems()
    assert [r.cosigned for r in reports] == [size + VOTERS + 1] * 2 + [None]

    # The tally, the guardians' decryption shares and the result, over the control port.
    for entry in finish_election(staged, list(connections.board().all_entries())):
        connections.poster(entry).post(entry)
    reports = poll()
    for party in everyone:
        assert party.verification is not None
        assert party.verification.complete
        assert (party.finished, party.passed) == (True, True), party.verification.problems()

    # The board's latest checkpoint carries both witnesses' cosignatures, handed in by them.
    latest = connections.board().checkpoint()
    manifest = staged.manifest
    witnessed = verify_witnessed(
        latest, manifest.log_origin, manifest.log_key, manifest.witness_keys(), 2
    )
    assert witnessed.size == observer.size

    for mirror in ("observer", *(name for name, _ in staged.witnesses)):
        verified = evote("verify", tmp_path / mirror, "--election-id", election_id.hex())
        assert verified.exit_code == 0, verified.output


def test_evote_observe_follows_resumes_and_catches_a_rewrite(
    staged: StagedElection, tmp_path: Path
) -> None:
    # The whole election is on the board before anyone observes it; the registry's counts
    # match the credential list and the official roll.
    register(staged, roll=VOTERS, enrolled=staged.credentials)
    append(staged, [staged.ballot(voter) for voter in range(VOTERS)])
    staged.close()
    append(staged, finish_election(staged, board_entries(staged)))
    election_id = staged.manifest.election_id.hex()
    (witness_name, witness_key), (other_name, other_key) = staged.witnesses
    key_file = tmp_path / "witness.key"
    key_file.write_text(witness_key.seed().hex())
    mirror = tmp_path / "mirror"

    with ExitStack() as stack:
        connections = Connections(staged, serve(staged), stack)
        address = connections.servers.public.address
        # The other witness cosigns first, so the closing quorum can be met.
        other = Observer(
            connections.board(),
            staged.manifest.election_id,
            tmp_path / other_name,
            witness_key=other_key,
            send_cosignature=connections.control(Role.for_witness(other_name)).add_cosignature,
        )
        other.poll()
        issued = evote(
            "ca",
            "issue",
            "--data-dir",
            staged.data_dir,
            "--role",
            f"witness:{witness_name}",
            "--out",
            tmp_path / "role",
        )
        assert issued.exit_code == 0, issued.output
        common = ["--ca", staged.data_dir / "ca.pem", "--election-id", election_id]
        common += ["--mirror", mirror, "--interval", 0, "--workers", 1]
        observed = evote(
            "observe",
            "--server",
            address,
            *common,
            "--until",
            "result",
            "--polls",
            3,
            "--witness-key",
            key_file,
            "--role-dir",
            tmp_path / "role",
            "--control",
            connections.servers.control.address,
            "--roll",
            VOTERS,
        )
        assert observed.exit_code == 0, observed.output
        assert "registration" not in observed.output
        size = len(board_entries_of(connections.board()))
        assert f"size {size} (+{size})" in observed.output
        assert f"cosigned {size}" in observed.output
        assert "OBSERVED" in observed.output
        verified = evote("verify", mirror, "--election-id", election_id)
        assert verified.exit_code == 0, verified.output

        # Resumed from the mirror: nothing new, still everything passes.
        resumed = evote("observe", "--server", address, *common, "--polls", 1)
        assert resumed.exit_code == 0, resumed.output
        assert f"size {size} (+0)" in resumed.output

        # A witness option alone is refused before anything is read.
        lonely = evote("observe", "--server", address, *common, "--witness-key", key_file)
        assert lonely.exit_code == 2
        assert "together" in lonely.output

    # The same log key serves a board whose history was rewritten: one ballot re-cast.
    forked = tmp_path / "forked"
    forked.mkdir()
    entries = board_entries(staged)
    first_ballot = next(
        index for index, data in enumerate(entries) if Entry.decode(data).kind == kinds.BALLOT
    )
    entries[first_ballot] = staged.ballot(0)
    board = BulletinBoard(
        SqliteStore(forked / BOARD_FILE),
        staged.log_key,
        staged.origin,
        kinds.entry_rules(staged.manifest.election_id),
        staged.manifest.witness_keys(),
    )
    try:
        for data in entries:
            board.append([data])
    finally:
        board.close()
    with ExitStack() as stack:
        servers = serve(staged, forked)
        stack.callback(servers.stop, None)
        caught = evote(
            "observe",
            "--server",
            servers.public.address,
            "--ca",
            forked / "ca.pem",
            "--election-id",
            election_id,
            "--mirror",
            mirror,
            "--interval",
            0,
            "--polls",
            1,
        )
    assert caught.exit_code == 1, caught.output
    assert "rewrote its history" in caught.output
    assert f"another root for size {len(entries)}" in caught.output
    verified = evote("verify", mirror, "--election-id", election_id)
    assert verified.exit_code == 0, verified.output  # the mirror kept the honest history


def board_entries_of(board: BoardClient) -> list[bytes]:
    return list(board.all_entries())


def append(staged: StagedElection, entries: list[bytes]) -> None:
    """Append signed entries straight to the staged board (no server holds it meanwhile)."""
    board = staged.open_board()
    try:
        for entry in entries:
            board.append([entry])
    finally:
        board.close()


def register(staged: StagedElection, *, roll: int, enrolled: Sequence[SigningKey]) -> None:
    """Give the staged data dir the registry a registration would have left: ``roll``
    enrollment codes on the roll, ``enrolled`` credentials enrolled with the first of them,
    closed. (Staging puts its credential list on the board without a registry.)"""
    registry = Registry.in_dir(staged.data_dir, staged.manifest.election_id)
    try:
        codes = [f"observe-code-{number:04d}" for number in range(roll)]
        registry.import_roll(codes)
        for code, credential in zip(codes, enrolled, strict=False):
            registry.enroll(code, credential.verify_key.encode())
        registry.close()
    finally:
        registry.close_db()


@pytest.mark.parametrize(
    ("roll", "enrolled", "official", "reported"),
    [
        # The list holds a credential the registry never enrolled: a ghost, who can vote.
        (VOTERS, VOTERS - 1, VOTERS, "1 listed credentials were never enrolled with a code"),
        # The registry gave itself a code beyond the official roll.
        (VOTERS + 1, VOTERS, VOTERS, "codes beyond the roll"),
        # A voter enrolled, and was left off the list.
        (VOTERS + 1, VOTERS + 1, VOTERS + 1, "1 enrolled voters were left off the list"),
    ],
    ids=["ghost", "beyond-roll", "left-off"],
)
def test_evote_observe_reports_a_registry_that_disagrees_with_the_list(
    staged: StagedElection, tmp_path: Path, roll: int, enrolled: int, official: int, reported: str
) -> None:
    """The credential list on the board holds the staged voters' credentials; the registry's
    public counts say something else. Every other check passes (each listed credential is a
    valid one): only the observer's comparison with the counts catches it."""
    credentials = [*staged.credentials, SigningKey.generate()][:enrolled]
    register(staged, roll=roll, enrolled=credentials)
    with ExitStack() as stack:
        servers = serve(staged)
        stack.callback(servers.stop, None)
        observed = evote(
            "observe",
            *("--server", servers.public.address, "--ca", staged.data_dir / "ca.pem"),
            *("--election-id", staged.manifest.election_id.hex()),
            *("--mirror", tmp_path / "mirror", "--interval", 0, "--polls", 1),
            *("--workers", 1, "--roll", official),
        )
    assert observed.exit_code == 1, observed.output
    output = " ".join(observed.output.split())  # unwrapped
    findings = [line for line in output.split("- ") if line.startswith("registration: ")]
    assert len(findings) == 1, output
    assert reported in findings[0]
    assert "FAILED: 1 failure(s)" in output  # every other check passed


def log_in(staged: StagedElection, directory: Path) -> BulletinBoard:
    """A new board in ``directory`` under the staged election's log key (close it after use)."""
    directory.mkdir()
    return BulletinBoard(
        SqliteStore(directory / BOARD_FILE),
        staged.log_key,
        staged.origin,
        kinds.entry_rules(staged.manifest.election_id),
        staged.manifest.witness_keys(),
    )


def fork(staged: StagedElection, directory: Path) -> tuple[Path, Path]:
    """The same log key signs another history in ``directory``: the honest board's entries
    up to its first ballot, then that voter's ballot encrypted again. Returns the voter's
    receipt file from that board and the board's latest checkpoint note, as another observer
    of it would keep it."""
    entries = board_entries(staged)
    first_ballot = next(
        index for index, data in enumerate(entries) if Entry.decode(data).kind == kinds.BALLOT
    )
    board = log_in(staged, directory)
    try:
        for data in entries[:first_ballot]:
            board.append([data])
        ballot = staged.ballot(0)
        appended = board.append([ballot])
        for data in entries[first_ballot + 1 :]:
            board.append([data])
        note = board.latest_checkpoint()
        proof = board.inclusion_proof(first_ballot, first_ballot + 1)
    finally:
        board.close()
    receipt = Receipt(
        election_id=staged.manifest.election_id,
        tracking_code=leaf_hash(ballot),
        leaf_index=first_ballot,
        checkpoint=appended.checkpoint,
        inclusion_proof=tuple(proof),
    )
    stored = StoredReceipt("cast", receipt, ballot, bytes(32), 0)
    receipt_file = directory / stored.file_name
    receipt_file.write_bytes(stored.to_json())
    note_file = directory / "checkpoint.note"
    note_file.write_text(note)
    return receipt_file, note_file


@pytest.mark.parametrize("shown", ["receipt", "note"])
def test_evote_observe_reports_a_checkpoint_from_a_forked_board_as_a_split_view(
    staged: StagedElection, tmp_path: Path, shown: str
) -> None:
    """A voter's receipt (or another observer's checkpoint) from a board that showed them
    another history than the one this observer mirrors: a split view, with both signed
    checkpoints in the report. A checkpoint of the honest board is consistent."""
    register(staged, roll=VOTERS, enrolled=staged.credentials)
    append(staged, [staged.ballot(voter) for voter in range(VOTERS)])
    receipt_file, note_file = fork(staged, tmp_path / "forked")
    forked = receipt_file if shown == "receipt" else note_file
    honest = tmp_path / "honest.note"
    board = staged.open_board()
    try:
        honest.write_text(board.latest_checkpoint())
    finally:
        board.close()
    with ExitStack() as stack:
        servers = serve(staged)
        stack.callback(servers.stop, None)
        common = [
            *("--server", servers.public.address, "--ca", staged.data_dir / "ca.pem"),
            *("--election-id", staged.manifest.election_id.hex()),
            *("--interval", 0, "--polls", 1, "--workers", 1, "--roll", VOTERS),
        ]
        consistent = evote("observe", *common, "--mirror", tmp_path / "one", "--compare", honest)
        assert consistent.exit_code == 0, consistent.output
        assert "OBSERVED" in consistent.output
        split = evote(
            "observe",
            *common,
            *("--mirror", tmp_path / "other", "--compare", honest, "--compare", forked),
        )
    assert split.exit_code == 1, split.output
    assert "split view" in split.output
    assert f"the checkpoint from the {shown if shown == 'receipt' else 'checkpoint note'}" in (
        " ".join(split.output.split())
    )
    other_note = (
        json.loads(receipt_file.read_text())["checkpoint"]
        if shown == "receipt"
        else note_file.read_text()
    )
    assert other_note in split.output  # the other board's signed checkpoint, as evidence
    assert "this observer's checkpoint:" in split.output
    assert "FAILED: the log signed two histories" in " ".join(split.output.split())


def test_evote_observe_refuses_a_file_that_is_no_checkpoint(
    staged: StagedElection, tmp_path: Path
) -> None:
    """A --compare file that is not a receipt or a checkpoint note, or one the election's log
    did not sign: refused before the board is read, and no mirror is left behind."""
    junk = tmp_path / "junk.note"
    junk.write_text("not a checkpoint\n")
    other = stage_election(tmp_path / "other", "Another election", CONTESTS, voters=1)
    board = other.open_board()
    try:
        foreign = tmp_path / "foreign.note"
        foreign.write_text(board.latest_checkpoint())
    finally:
        board.close()
    with ExitStack() as stack:
        servers = serve(staged)
        stack.callback(servers.stop, None)
        common = [
            *("--server", servers.public.address, "--ca", staged.data_dir / "ca.pem"),
            *("--election-id", staged.manifest.election_id.hex()),
            *("--mirror", tmp_path / "mirror", "--polls", 1),
        ]
        unreadable = evote("observe", *common, "--compare", junk)
        assert unreadable.exit_code == 2, unreadable.output
        assert "neither an evote receipt nor a signed checkpoint note" in unreadable.output
        unsigned = evote("observe", *common, "--compare", foreign)
        assert unsigned.exit_code == 1, unsigned.output
        assert "not signed by this election's log" in " ".join(unsigned.output.split())
    assert not (tmp_path / "mirror").exists()


def test_a_damaged_receipt_or_note_is_refused_or_shows_the_same_checkpoint(
    staged: StagedElection, tmp_path: Path
) -> None:
    """A flipped bit in each byte of a receipt file or a checkpoint note: refused as not one
    (ShownCheckpointRefused, which `evote observe` reports as a clear error), or still the
    very checkpoint the log signed (a flip in a field the comparison does not use)."""
    append(staged, [staged.ballot(voter) for voter in range(VOTERS)])
    for original in fork(staged, tmp_path / "forked"):
        valid = read_shown_checkpoint(original).check(staged.manifest)
        data = original.read_bytes()
        damaged = tmp_path / f"damaged{original.suffix}"
        refused = 0
        for position in range(len(data)):
            flipped = data[position] ^ (1 << (position % 8))
            damaged.write_bytes(data[:position] + bytes([flipped]) + data[position + 1 :])
            try:
                checkpoint = read_shown_checkpoint(damaged).check(staged.manifest)
            except ShownCheckpointRefused:
                refused += 1
                continue
            assert checkpoint == valid, (original.name, position)
        assert refused > len(data) // 2, original.name


def test_evote_observe_without_a_registry_and_with_a_checkpoint_ahead_of_it(
    staged: StagedElection, tmp_path: Path
) -> None:
    """The registry is not served (its file is gone once the list is on the board): the
    counts are not checked, which the observer says without failing. A checkpoint beyond the
    mirror (the board grew since the observer's poll) is not compared yet, which it says too."""
    append(staged, [staged.ballot(voter) for voter in range(VOTERS)])
    board = log_in(staged, tmp_path / "ahead")
    try:
        for data in [*board_entries(staged), staged.ballot(0, sequence=1)]:
            board.append([data])
        ahead = tmp_path / "ahead.note"
        ahead.write_text(board.latest_checkpoint())
    finally:
        board.close()
    with ExitStack() as stack:
        servers = serve(staged)
        stack.callback(servers.stop, None)
        observed = evote(
            "observe",
            *("--server", servers.public.address, "--ca", staged.data_dir / "ca.pem"),
            *("--election-id", staged.manifest.election_id.hex()),
            *("--mirror", tmp_path / "mirror", "--interval", 0, "--polls", 2),
            *("--workers", 1, "--roll", VOTERS, "--compare", ahead),
        )
    assert observed.exit_code == 0, observed.output
    output = " ".join(observed.output.split())
    assert output.count("the registry's counts could not be read (UNIMPLEMENTED") == 2, output
    assert "registration not checked" in output
    assert f"not compared yet: the checkpoint note {ahead} is beyond the mirror's" in output
    assert "OBSERVED" in output
