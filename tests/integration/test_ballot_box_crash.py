"""SIGKILL the deployed ballot box at random moments while voters cast over TLS; lose no
acknowledged ballot (design: board-services-storage.md §3.2–3.3).

The server under test is the real command, ``evote serve``, in a subprocess: the public port
(server-auth TLS: Board, BallotBox) and the control port (mutual TLS with role certificates:
Control) on two loopback ports chosen before the first start and kept across every restart.
The data dir holds the election through to the open phase; the officials open it through the
control port with a certificate from the data dir's CA. Threads then cast pre-made signed
ballots, one TLS channel each; the server is killed with SIGKILL at a random moment of each
round and started again on the same ports; unacknowledged ballots are cast again after the
restart (some were committed before the kill: the idempotent Cast must answer them with
their leaf). The witnesses, clients of the running server, follow the board after every
restart (each restarted log must extend the tree they cosigned before). After the last
restart the officials close through the control port, and the witnesses cosign the closing
checkpoint and hand their cosignatures back through the control port.

At the end every receipt passes the voter's offline check, its ballot is on the board at its
index, its checkpoint is consistent with the closing checkpoint, that checkpoint is cosigned
by a quorum of witnesses, and the board holds exactly the ballots cast, once each. The
negative control runs the same command line over a store that acknowledges ballots before
committing them (``crash_tls_early_ack.py``), and the same checks must find the loss.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import random
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
import pytest

from evote.board.witness import Witness
from evote.client.channels import (
    BallotBoxClient,
    BoardClient,
    secure_channel,
)
from evote.client.receipt import Receipt
from evote.mock.staging import stage_election
from evote.services.ca import Role
from evote.services.server import setup_data_dir
from tests.integration.test_services import CONTESTS, Election
from tests.suite import reconciling
from tests.suite.reconciling import LOST
from tests.suite.served import SERVE, Served, follow, stop_server

KILLS = 12
BALLOTS = 1500
CASTERS = 4
#: The negative control: a smaller run over the store that acknowledges before committing.
CONTROL_KILLS = 3
CONTROL_BALLOTS = 200
SERVE_EARLY_ACK = ("-m", "tests.integration.crash_tls_early_ack", "serve")
#: Seconds a cast may take before the voter gives up on it and casts it again later.
CAST_DEADLINE = 5.0
#: Upper bounds on waits that normally take well under a second (never asserted as timings).
ROUND_WITHIN = 60.0
FINISH_WITHIN = 120.0
RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
)


class Deployment(Served):
    """One election, staged through the credential list, served by a command line."""

    def __init__(self, directory: Path, voters: int, command: Sequence[str]) -> None:
        self.election, self.setup_size = prepare(directory / "data", voters)
        super().__init__(
            directory,
            self.election.data_dir,
            self.election.log_key,
            self.election.origin,
            command=command,
        )


def prepare(data_dir: Path, voters: int) -> tuple[Election, int]:
    """An election staged through the credential list in ``data_dir`` (the officials' open goes
    through the control port here), with the data dir's CA. Returns the election and the
    number of entries set up."""
    election = stage_election(data_dir, "Crash test", CONTESTS, voters=voters, until="credentials")
    board = election.open_board()
    try:
        size = board.size
    finally:
        board.close()
    setup_data_dir(data_dir)
    return election, size


class Voters:
    """Threads casting from a shared queue; a failed cast goes back into the queue."""

    def __init__(self, ballots: Sequence[bytes]) -> None:
        self.pending: queue.Queue[bytes] = queue.Queue()
        for ballot in ballots:
            self.pending.put(ballot)
        self.receipts: dict[bytes, Receipt] = {}
        self.retried: set[bytes] = set()
        #: The round (one server run) of each ballot's last failure and of its acknowledgement.
        self.round = 0
        self.failed_in: dict[bytes, int] = {}
        self.acknowledged_in: dict[bytes, int] = {}
        self.unexpected: list[str] = []
        self.lock = threading.Lock()

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.receipts)

    def wait_acknowledged(self, count: int, within: float) -> bool:
        """Wait until ``count`` ballots are acknowledged (True) or ``within`` seconds have
        passed (False: the checks that follow say what is missing)."""
        deadline = time.monotonic() + within
        while self.acknowledged() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def cast_until(
        self, address: str, ca_pem: bytes, stop: threading.Event
    ) -> list[threading.Thread]:
        """Start the casting threads, each over a TLS channel of its own, until ``stop``."""

        def cast() -> None:
            # The voter itself casts a failed ballot again, after the restart: a channel that
            # also retried would only sit in its backoff while the server is down.
            channel = secure_channel(address, ca_pem, retry=False, own_connection=True)
            with BallotBoxClient(channel, timeout=CAST_DEADLINE) as box:
                while not stop.is_set():
                    try:
                        entry = self.pending.get(timeout=0.02)
                    except queue.Empty:
                        continue
                    try:
                        receipt = box.cast(entry)
                    except grpc.RpcError as error:
                        with self.lock:
                            self.retried.add(entry)
                            self.failed_in[entry] = self.round
                            if error.code() not in RETRYABLE:
                                self.unexpected.append(f"{error.code()}: {error.details()}")
                        self.pending.put(entry)
                        stop.wait(0.01)
                        continue
                    with self.lock:
                        self.receipts[entry] = receipt
                        self.acknowledged_in[entry] = self.round

        threads = [threading.Thread(target=cast, daemon=True) for _ in range(CASTERS)]
        for thread in threads:
            thread.start()
        return threads


def stop_casting(stop: threading.Event, threads: Sequence[threading.Thread]) -> None:
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a casting thread did not stop"


@dataclasses.dataclass
class Outcome:
    voters: Voters
    kills: int
    acknowledged_by_round: list[int]
    problems: list[str]
    #: Board sizes the witnesses saw at each start of the server.
    sizes_at_start: list[int]

    def committed_unacknowledged(self) -> int:
        """Ballots whose cast failed at a kill, were acknowledged only after a restart, and
        got a leaf from before that restart: committed, not acknowledged, then answered by
        the idempotent Cast."""
        voters = self.voters
        return sum(
            1
            for entry, failed in voters.failed_in.items()
            if voters.acknowledged_in.get(entry, failed) > failed
            and voters.receipts[entry].leaf_index < self.sizes_at_start[failed + 1]
        )


def run_election(
    deployment: Deployment, ballots: Sequence[bytes], kills: int, chooser: random.Random
) -> Outcome:
    """Open, cast through ``kills`` SIGKILLs and restarts, close, cosign; check everything."""
    election = deployment.election
    voters = Voters(ballots)
    witnesses = [
        Witness(name, key, election.origin, election.log_key.verify_key)
        for name, key in election.witnesses
    ]
    acknowledged_by_round: list[int] = []
    sizes_at_start: list[int] = []
    problems: list[str] = []
    killed = 0
    for round_number in range(kills):
        child = deployment.start()
        stop = threading.Event()
        threads: list[threading.Thread] = []
        try:
            voters.round = round_number
            sizes_at_start.append(follow(deployment, witnesses, f"after {killed} kills", problems))
            if round_number == 0:
                with deployment.control_client(Role.official()) as officials:
                    officials.post(election.mark("open", election.officials))
            # Kill at a random moment of this round's casting: after a random number of
            # acknowledgements (at most this round's share of what is left, so that every kill
            # hits a box with ballots still coming), then a random fraction of a cast later.
            acknowledged = voters.acknowledged()
            share = (len(ballots) - acknowledged) // (kills - round_number + 1)
            target = acknowledged + chooser.randint(1, max(1, share))
            threads = voters.cast_until(deployment.public, deployment.ca_pem, stop)
            voters.wait_acknowledged(target, ROUND_WITHIN)
            time.sleep(chooser.uniform(0.0, 0.05))
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            killed += 1
        finally:
            stop_server(child)
            stop_casting(stop, threads)
        acknowledged_by_round.append(voters.acknowledged())

    child = deployment.start()
    try:
        voters.round = kills
        sizes_at_start.append(follow(deployment, witnesses, f"after {killed} kills", problems))
        stop = threading.Event()
        threads = voters.cast_until(deployment.public, deployment.ca_pem, stop)
        try:
            voters.wait_acknowledged(len(ballots), FINISH_WITHIN)
        finally:
            stop_casting(stop, threads)
        # Casting an acknowledged ballot again answers its leaf (and appends nothing).
        with BallotBoxClient(secure_channel(deployment.public, deployment.ca_pem)) as box:
            for entry in chooser.sample(sorted(voters.receipts), min(20, len(voters.receipts))):
                again = box.cast(entry)
                if again.leaf_index != voters.receipts[entry].leaf_index:
                    problems.append(
                        f"a retried cast answered leaf {again.leaf_index}, its receipt says "
                        f"{voters.receipts[entry].leaf_index}"
                    )
        with deployment.control_client(Role.official()) as officials:
            officials.post(election.mark("close", election.officials))
        # The witnesses cosign the closing checkpoint and hand their lines in.
        follow(deployment, witnesses, "at the close", problems, hand_in=True)
        with deployment.board_client() as board:
            problems += reconcile(board, election, voters.receipts, ballots, deployment.setup_size)
    finally:
        stop_server(child)
    return Outcome(voters, killed, acknowledged_by_round, problems, sizes_at_start)


def reconcile(
    board: BoardClient,
    election: Election,
    receipts: Mapping[bytes, Receipt],
    ballots: Sequence[bytes],
    setup_size: int,
) -> list[str]:
    """Everything a voter, a witness and an auditor check after the close; the problems."""
    return reconciling.reconcile(
        election.manifest,
        board.checkpoint(),
        list(board.all_entries()),
        board.consistency_proof,
        receipts,
        ballots,
        setup_size,
    )


@pytest.mark.slow
def test_sigkill_during_casting_over_tls_loses_no_receipt(tmp_path: Path) -> None:
    started = time.monotonic()
    deployment = Deployment(tmp_path, BALLOTS, SERVE)
    ballots = [deployment.election.ballot(voter) for voter in range(BALLOTS)]
    outcome = run_election(deployment, ballots, KILLS, random.Random(os.urandom(8)))
    voters = outcome.voters
    assert outcome.problems == []
    assert voters.unexpected == [], "a cast failed with a status that is not transient"
    assert len(voters.receipts) == BALLOTS, "every ballot is acknowledged in the end"
    assert outcome.kills >= KILLS
    assert voters.retried, "some casts were in flight at a kill and were cast again"
    # Every round acknowledged ballots before its kill, and the last kill still hit a server
    # with ballots waiting to be cast.
    rounds = outcome.acknowledged_by_round
    assert all(b > a for a, b in zip([0, *rounds], rounds, strict=False)), rounds
    assert rounds[-1] < BALLOTS, rounds
    print(
        f"{outcome.kills} kills, {len(voters.receipts)} receipts, {len(voters.retried)} retried "
        f"({outcome.committed_unacknowledged()} committed before their kill), acknowledged "
        f"after each kill: {rounds}, {time.monotonic() - started:.1f} s"
    )


@pytest.mark.slow
def test_the_checks_catch_a_box_that_acknowledges_before_commit(tmp_path: Path) -> None:
    deployment = Deployment(tmp_path, CONTROL_BALLOTS, SERVE_EARLY_ACK)
    ballots = [deployment.election.ballot(voter) for voter in range(CONTROL_BALLOTS)]
    outcome = run_election(deployment, ballots, CONTROL_KILLS, random.Random(os.urandom(8)))
    assert outcome.kills == CONTROL_KILLS
    # Every ballot acknowledged in a killed round was lost with its uncommitted transaction,
    # and the checks name each of them.
    lost = [problem for problem in outcome.problems if LOST in problem]
    assert len(lost) == outcome.acknowledged_by_round[-1] > 0, outcome.problems[:5]
    assert any("missing from the board" in problem for problem in outcome.problems)
    print(f"negative control: {outcome.kills} kills, {len(lost)} lost receipts caught")
