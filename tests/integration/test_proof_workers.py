"""A ballot box checking proofs in worker processes answers every submission exactly as one
checking them in its handler threads: two servers over copies of the same board get the same
submissions, in the same order."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from evote.board.entry import Entry
from evote.crypto.elgamal import new_ballot_seed
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.errors import InvalidInput
from evote.record import kinds
from evote.services.server import Running, serve, serve_election
from evote.wire.v1 import ballot_box_pb2, ballot_box_pb2_grpc
from tests.integration.test_services import TIMEOUT, Election, check_receipt, make_election


@dataclass(frozen=True)
class Answer:
    """What a server answered: a receipt's leaf and tracking code, or a status and details."""

    leaf_index: int | None
    tracking_code: bytes | None
    code: grpc.StatusCode | None = None
    details: str | None = None


def submit(running: Running, election: Election, kind: str, data: bytes) -> Answer:
    with grpc.insecure_channel(running.address) as channel:
        box = ballot_box_pb2_grpc.BallotBoxStub(channel)
        try:
            if kind == kinds.AUDIT:
                receipt = box.Audit(ballot_box_pb2.AuditRequest(entry=data), timeout=TIMEOUT)
            else:
                receipt = box.Cast(ballot_box_pb2.CastRequest(entry=data), timeout=TIMEOUT)
        except grpc.RpcError as error:
            return Answer(None, None, error.code(), error.details())
    check_receipt(election, receipt, data)
    return Answer(receipt.leaf_index, receipt.tracking_code)


def submissions(election: Election) -> list[tuple[str, bytes]]:
    """Good casts and audits, a retry, a replay, and every kind of bad submission."""
    good = election.ballot(0, sequence=0)
    parsed = Entry.decode(good)
    bad_proof = Entry.create(
        kinds.BALLOT,
        parsed.election_id,
        parsed.body[:-1] + bytes([parsed.body[-1] ^ 1]),
        [election.credentials[0]],
    ).encoded
    stranger = Entry.create(kinds.BALLOT, parsed.election_id, parsed.body, [SigningKey.generate()])
    audit = election.audit(1)
    revealed = AuditReveal.from_tlv(Entry.decode(audit).body, election.manifest)
    lying = AuditReveal(revealed.ballot, new_ballot_seed(), revealed.votes)  # another seed
    return [
        (kinds.BALLOT, good),
        (kinds.BALLOT, good),  # a retry: the same receipt
        (kinds.BALLOT, election.ballot(0, sequence=0)),  # a used sequence number, fresh bytes
        (kinds.BALLOT, bad_proof),
        (kinds.BALLOT, stranger.encoded),
        (kinds.BALLOT, b"not an entry"),
        (kinds.AUDIT, audit),
        (kinds.AUDIT, good),  # a ballot sent as an audit
        (kinds.BALLOT, audit),  # an audit sent as a ballot
        (
            kinds.AUDIT,
            Entry.create(
                kinds.AUDIT, parsed.election_id, lying.to_tlv(), [election.credentials[1]]
            ).encoded,
        ),
        (kinds.BALLOT, election.ballot(2)),
        (kinds.BALLOT, election.ballot(0, sequence=1)),
    ]


def test_proof_workers_accept_and_refuse_what_handler_threads_do(tmp_path: Path) -> None:
    election = make_election(tmp_path / "in-thread", voters=3)
    copy = tmp_path / "workers"
    shutil.copytree(election.data_dir, copy)
    sent = submissions(election)
    answers: dict[int, list[Answer]] = {}
    for proof_workers, data_dir in ((0, election.data_dir), (2, copy)):
        running = serve_election(data_dir, election.log_key, proof_workers=proof_workers)
        try:
            assert running.station is not None
            if proof_workers:
                assert running.proof_workers is not None
                assert running.station.proofs == running.proof_workers.check
            else:
                assert running.proof_workers is None
            answers[proof_workers] = [submit(running, election, *each) for each in sent]
        finally:
            running.stop(None)
    assert answers[2] == answers[0]
    codes = [answer.code for answer in answers[0]]
    assert codes.count(None) == 5, "two casts, their retry, an audit and a later revote"
    assert answers[0][0] == answers[0][1]
    assert {code for code in codes if code is not None} == {grpc.StatusCode.INVALID_ARGUMENT}
    assert "sequence" in (answers[0][2].details or "")
    assert (answers[0][3].details or "").startswith("ballot refused:")
    assert (answers[0][9].details or "").startswith("audit refused:")


def test_proof_workers_need_a_ballot_box() -> None:
    with pytest.raises(InvalidInput, match="need a ballot box"):
        serve(proof_workers=1)
    with pytest.raises(InvalidInput, match="0 \\(in-thread\\) or more"):
        serve(proof_workers=-1)


#: A server process's proof workers, started and then left running until the process is killed.
_HOLD_WORKERS = """
import time
from evote.record.proof_workers import ProofWorkers

pool = ProofWorkers(2)._current()
for done in [pool.submit(time.sleep, 0.2) for _ in range(2)]:
    done.result()
print(*pool._processes, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited, unreaped one is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_proof_workers_exit_when_their_server_is_killed() -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WORKERS], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        workers = [int(pid) for pid in server.stdout.readline().split()]
    finally:
        server.kill()
        server.wait()
    assert len(workers) == 2
    deadline = time.monotonic() + 60  # generous: they exit within milliseconds
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers), "orphaned proof workers keep running"
