"""Observers and witnesses over real gRPC with TLS on free loopback ports: they follow a live
election to its result (voters cast over the public port, officials and guardians post over
the control port, witnesses hand their cosignatures back with a witness role certificate),
their mirrors pass `evote verify`, `evote observe` resumes from its mirror, and a board served
again with a rewritten history is caught."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from evote.board.checkpoint import verify_witnessed
from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.store import SqliteStore
from evote.cli import main
from evote.client.channels import BallotBoxClient, BoardClient, ControlClient, secure_channel
from evote.client.observer.following import Observer
from evote.client.observer.reports import PollReport
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
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
    return serve_election_tls(
        data_dir or staged.data_dir, staged.log_key, authority_key=staged.authority, proof_workers=0
    )


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
    # The whole election is on the board before anyone observes it.
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
        )
        assert observed.exit_code == 0, observed.output
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
