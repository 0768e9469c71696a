"""SIGKILL the ballot box server at random moments while voters cast; lose no acknowledged
ballot (design: board-services-storage.md §3.2–3.3).

A subprocess serves the election's SQLite board; a few threads cast pre-made signed ballots
and keep every receipt; unacknowledged ballots go back into the queue and are retried after
the restart (some were committed before the kill: the idempotent path must answer them with
their leaf). At the end every receipt's entry is on the board at its index, every receipt's
checkpoint is signed and consistent with the closing checkpoint, and the witnesses cosign
that closing checkpoint.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from evote.board.checkpoint import open_checkpoint, verify_witnessed
from evote.board.merkle import verify_consistency
from evote.board.witness import Witness
from evote.services.server import serve
from evote.wire.v1 import (
    ballot_box_pb2,
    ballot_box_pb2_grpc,
    board_pb2,
    witness_pb2,
    witness_pb2_grpc,
)
from tests.integration.test_services import (
    Election,
    check_receipt,
    cosignature_from_line,
    make_election,
)

REPOSITORY = Path(__file__).resolve().parents[2]
KILLS = 12
BALLOTS = 1500
CASTERS = 4
RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
)
SERVER = """
import sys
from pathlib import Path
from evote.crypto.signing import SigningKey
from evote.services.server import serve_election

data = Path(sys.argv[1])
running = serve_election(data, SigningKey(bytes.fromhex((data / "log.key").read_text())))
print(running.port, flush=True)
running.server.wait_for_termination()
"""


def start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(data_dir)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    port = child.stdout.readline().strip()
    assert port.isdigit(), child.stderr.read() if child.stderr else port
    return child, f"127.0.0.1:{port}"


class Voters:
    """Threads casting from a shared queue; a failed cast goes back into the queue."""

    def __init__(self, ballots: list[bytes]) -> None:
        self.pending: queue.Queue[bytes] = queue.Queue()
        for ballot in ballots:
            self.pending.put(ballot)
        self.receipts: dict[bytes, board_pb2.Receipt] = {}
        self.retried: set[bytes] = set()
        self.unexpected: list[str] = []
        self.lock = threading.Lock()

    def cast_until(self, address: str, stop: threading.Event) -> list[threading.Thread]:
        channel = grpc.insecure_channel(address)
        box = ballot_box_pb2_grpc.BallotBoxStub(channel)

        def cast() -> None:
            while not stop.is_set():
                try:
                    entry = self.pending.get(timeout=0.02)
                except queue.Empty:
                    continue
                try:
                    receipt = box.Cast(ballot_box_pb2.CastRequest(entry=entry), timeout=5)
                except grpc.RpcError as error:
                    with self.lock:
                        self.retried.add(entry)
                        if error.code() not in RETRYABLE:
                            self.unexpected.append(f"{error.code()}: {error.details()}")
                    self.pending.put(entry)
                    time.sleep(0.01)
                    continue
                with self.lock:
                    earlier = self.receipts.setdefault(entry, receipt)
                    assert earlier.leaf_index == receipt.leaf_index

        threads = [threading.Thread(target=cast, daemon=True) for _ in range(CASTERS)]
        for thread in threads:
            thread.start()
        return threads


def witness_round(election: Election, checkpoint: str, old_size: int, proof: list[bytes]) -> str:
    """Each witness (over gRPC) cosigns ``checkpoint``; return it with every cosignature."""
    witnesses = [
        Witness(name, key, election.origin, election.log_key.verify_key)
        for name, key in election.witnesses
    ]
    board = election.open_board()
    try:
        size = open_checkpoint(checkpoint, election.origin, election.log_key.verify_key)[0].size
        text = checkpoint
        for witness in witnesses:
            # The witness first cosigns the earlier tree, then the closing one from it.
            server = serve(witness=witness)
            try:
                with grpc.insecure_channel(server.address) as channel:
                    stub = witness_pb2_grpc.WitnessStub(channel)
                    stub.AddCheckpoint(
                        witness_pb2.AddCheckpointRequest(
                            old_size=0, checkpoint=board.checkpoint_at(old_size)
                        ),
                        timeout=10,
                    )
                    line = stub.AddCheckpoint(
                        witness_pb2.AddCheckpointRequest(
                            old_size=old_size, consistency_proof=proof, checkpoint=checkpoint
                        ),
                        timeout=10,
                    ).line
            finally:
                server.stop(None)
            text = board.add_cosignature(size, cosignature_from_line(checkpoint, line))
        return text
    finally:
        board.close()


@pytest.mark.slow
def test_sigkill_during_casting_loses_no_acknowledged_ballot(tmp_path: Path) -> None:
    election = make_election(tmp_path / "election", voters=BALLOTS)
    (election.data_dir / "log.key").write_text(election.log_key.seed().hex())
    ballots = [election.ballot(voter) for voter in range(BALLOTS)]
    voters = Voters(ballots)
    chooser = random.Random(os.urandom(8))
    kills = 0
    acked_by_round = []
    for _ in range(KILLS):
        child, address = start_server(election.data_dir)
        stop = threading.Event()
        threads = voters.cast_until(address, stop)
        time.sleep(chooser.uniform(0.1, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        kills += 1
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        acked_by_round.append(len(voters.receipts))
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    # A final clean run casts whatever is left; then a retry of acknowledged ballots must
    # give their leaves back.
    child, address = start_server(election.data_dir)
    try:
        stop = threading.Event()
        threads = voters.cast_until(address, stop)
        deadline = time.monotonic() + 60
        while len(voters.receipts) < BALLOTS and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        with grpc.insecure_channel(address) as channel:
            box = ballot_box_pb2_grpc.BallotBoxStub(channel)
            for entry in chooser.sample(sorted(voters.receipts), 20):
                again = box.Cast(ballot_box_pb2.CastRequest(entry=entry), timeout=10)
                assert again.leaf_index == voters.receipts[entry].leaf_index
    finally:
        child.kill()
        child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert voters.unexpected == [], "a cast failed with a status that is not transient"
    assert len(voters.receipts) == BALLOTS, "every ballot is acknowledged in the end"

    # Close (officials post the close mark), then reconcile every receipt with the board.
    election.close()
    board = election.open_board()
    try:
        closing = board.latest_checkpoint()
        final, _ = open_checkpoint(closing, election.origin, election.log_key.verify_key)
        indices = set()
        for entry, receipt in voters.receipts.items():
            assert board.entry(receipt.leaf_index) == entry
            checkpoint = check_receipt(election, receipt, entry)
            assert checkpoint.size <= final.size
            verify_consistency(
                checkpoint.size,
                final.size,
                checkpoint.root,
                final.root,
                board.consistency_proof(checkpoint.size, final.size),
            )
            indices.add(receipt.leaf_index)
        assert len(indices) == BALLOTS
        # No ballot was appended twice: the board holds setup, the ballots and the close.
        setup = min(indices)
        assert final.size == setup + BALLOTS + 1
        middle = board.checkpoint_at(setup + BALLOTS // 2)
        middle_size = setup + BALLOTS // 2
        proof = board.consistency_proof(middle_size, final.size)
    finally:
        board.close()
    assert middle
    witnessed = witness_round(election, closing, middle_size, proof)
    verify_witnessed(
        witnessed,
        election.origin,
        election.log_key.verify_key,
        election.manifest.witness_keys(),
        election.manifest.witness_quorum,
    )
    assert kills >= 10
    assert voters.retried, "some casts were in flight at a kill and were retried"
    # Most kills hit a server under load (ballots were still waiting to be cast).
    assert acked_by_round[-2] < BALLOTS, acked_by_round
    print(
        f"{kills} kills, {len(voters.receipts)} receipts, {len(voters.retried)} retried, "
        f"acknowledged after each kill: {acked_by_round}"
    )
