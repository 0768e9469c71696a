"""Sustained load on the deployed ballot box: many voters cast concurrently over TLS for a
bounded time, and afterwards nothing is lost (design: board-services-storage.md §3.2, §4).

The load is ``evote bench services --tls --clients N --seconds S`` itself
(:func:`evote.bench.services.measure`): an election on the reference manifest in a data dir of
the test, the real ballot box served over TLS under the election CA, ``N`` voters (threads with
a TLS channel each, in client processes of their own) casting pre-encrypted ballots until
``S`` seconds have passed. The voters here keep the whole receipt the ballot box answers.

Then the election is closed (the officials' close, cosigned by both witnesses) and the record
is checked as voters, witnesses and auditors check it, asserting correctness only, never
timings: every acknowledged receipt passes the voter's offline check and its ballot is on the
board at its index; every receipt's checkpoint is consistent with the witnessed closing
checkpoint, whose root is the tree of the board's entries; the board holds exactly the
acknowledged ballots, each once. The officials tally, two guardians decrypt, the result is
posted, and the exported record passes the independent verifier (all 14 checks).

The negative control gives the same checks a board whose operator dropped one acknowledged
ballot and signed (and had cosigned by fresh witnesses) a log without it: the receipts must
expose it.

Small form (``make test``): 8 clients for 6 s; full form (``make suite``): 32 clients in 2
client processes for 120 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest

from evote.bench.services import Acknowledged, Measured, ServicesFigures, measure
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.store import MemoryStore
from evote.board.witness import Witness
from evote.client.channels import BallotBoxClient, secure_channel
from evote.client.receipt import Receipt
from evote.election.ballot import EncryptedBallot
from evote.election.tally import GuardianShares, encrypted_tally, tally_result
from evote.errors import InvalidInput
from evote.mock.staging import StagedElection
from evote.record import kinds
from evote.services.server import PROOF_WORKERS
from evote.verify.runner import verify_record
from tests.suite import reconciling
from tests.suite.reconciling import LOST
from tests.suite.sizing import size

CLIENTS = size(8, 32)
SECONDS = float(size(6, 120))
CLIENT_PROCESSES = size(1, 2)


class ReceiptVoter:
    """A voter's device under load: a TLS channel of its own to the ballot box, trusting only
    the election CA; a cast answers the whole receipt (``None`` on any failure, which the
    benchmark counts). Pickled to the benchmark's client processes by reference."""

    def __init__(self, box: BallotBoxClient) -> None:
        self._box = box

    @classmethod
    def connect(cls, address: str, timeout: float, *, ca_pem: bytes | None = None) -> ReceiptVoter:
        if ca_pem is None:
            raise InvalidInput("the load test casts over TLS only: give the election CA")
        box = BallotBoxClient(secure_channel(address, ca_pem, own_connection=True))
        try:
            box.wait_ready(timeout)
        except BaseException:
            box.close()
            raise
        return cls(box)

    def cast(self, entry: bytes, deadline: float) -> Receipt | None:
        try:
            return self._box.cast(entry, deadline)
        except grpc.RpcError:
            return None

    def close(self) -> None:
        self._box.close()


def close_and_cosign(board: BulletinBoard, election: StagedElection) -> None:
    """The officials' close, then every witness (fresh: it cosigns the whole log as its first
    tree) cosigns the closing checkpoint."""
    board.append([election.mark("close", election.officials)])
    note = board.latest_checkpoint()
    for name, key in election.witnesses:
        witness = Witness(name, key, election.origin, election.log_key.verify_key)
        board.add_cosignature(board.size, witness.add_checkpoint(note, 0, [], int(time.time())))


def reconcile(
    board: BulletinBoard, election: StagedElection, acknowledged: Sequence[Acknowledged]
) -> list[str]:
    """Everything a voter, a witness and an auditor check after the close; the problems."""
    receipts = {ballot.entry: ballot.receipt for ballot in acknowledged if ballot.receipt}
    problems = ["a ballot was acknowledged without a receipt"] * (len(acknowledged) - len(receipts))
    entries = board.entries(0, board.size)
    opened = next(i for i, entry in enumerate(entries) if Entry.decode(entry).kind == kinds.OPEN)
    return problems + reconciling.reconcile(
        election.manifest,
        board.latest_checkpoint(),
        entries,
        board.consistency_proof,
        receipts,
        [ballot.entry for ballot in acknowledged],
        opened,
    )


def forged_without(board: BulletinBoard, election: StagedElection, dropped: bytes) -> BulletinBoard:
    """A dishonest operator's board (the log key is the operator's): the honest board's entries
    but ``dropped``, in a log signed afresh and cosigned by witnesses who never saw the honest
    one."""
    forged = BulletinBoard(
        MemoryStore(),
        election.log_key,
        election.origin,
        kinds.entry_rules(election.manifest.election_id),
        election.manifest.witness_keys(),
    )
    kept = [entry for entry in board.entries(0, board.size) if entry != dropped]
    forged.append(kept)
    note = forged.latest_checkpoint()
    for name, key in election.witnesses:
        witness = Witness(name, key, election.origin, election.log_key.verify_key)
        forged.add_cosignature(forged.size, witness.add_checkpoint(note, 0, [], int(time.time())))
    return forged


def tally_and_result(board: BulletinBoard, election: StagedElection) -> int:
    """The officials' encrypted tally of the closed board's ballots, a quorum of guardians'
    decryption shares and the result, posted in order; returns the ballots counted."""
    context = election.context
    cast = {
        index: EncryptedBallot.from_tlv(entry.body, context)
        for index, entry in enumerate(Entry.decode(data) for data in board.entries(0, board.size))
        if entry.kind == kinds.BALLOT
    }
    tally = encrypted_tally(context, cast)
    board.append([election.entry(kinds.TALLY, tally.to_tlv(), election.officials)])
    shares: dict[int, GuardianShares] = {}
    for guardian in range(1, election.manifest.guardian_quorum + 1):
        shares[guardian] = election.trustees[guardian - 1].decrypt_tally(context, tally.totals)
        board.append(
            [
                election.entry(
                    kinds.DECRYPTION_SHARE,
                    shares[guardian].to_tlv(),
                    [election.guardians[guardian - 1]],
                )
            ]
        )
    result = tally_result(context, tally, shares, registered=len(election.credentials))
    board.append([election.entry(kinds.RESULT, result.to_tlv(), election.officials)])
    return len(tally.counted)


def summary(figures: ServicesFigures) -> str:
    return (
        f"load: {figures.clients} clients over TLS for {figures.seconds:g} s "
        f"({figures.wall_seconds:.1f} s to the last answer): {figures.receipts} casts, "
        f"{figures.casts_per_second:.1f} casts/s ({figures.casts_over_ceiling:.2f} of the "
        f"{figures.ceiling_machine_per_second:.0f}/s proof ceiling), latency p50 "
        f"{figures.latency_p50_ms:.0f} ms, p95 {figures.latency_p95_ms:.0f} ms, p99 "
        f"{figures.latency_p99_ms:.0f} ms, max {figures.latency_max_ms:.0f} ms, "
        f"{figures.failed_casts} failures; pool {figures.ballots}"
        f"{' (ran out)' if figures.pool_exhausted else ''}"
    )


@pytest.mark.slow
def test_sustained_casting_over_tls_loses_nothing(tmp_path: Path) -> None:
    measured: Measured = measure(
        tmp_path / "data",
        ReceiptVoter.connect,
        CLIENTS,
        seconds=SECONDS,
        tls=True,
        proof_workers=PROOF_WORKERS,
        client_processes=CLIENT_PROCESSES,
    )
    figures, election, acknowledged = measured.figures, measured.election, measured.acknowledged
    print(summary(figures))
    assert figures.failed_casts == 0, summary(figures)
    assert figures.receipts == len(acknowledged) > 0
    receipts = [(ballot, ballot.receipt) for ballot in acknowledged if ballot.receipt is not None]
    assert len(receipts) == len(acknowledged), "every acknowledgement carries its receipt"

    board = election.open_board()
    try:
        close_and_cosign(board, election)
        assert reconcile(board, election, acknowledged) == []

        # Negative control: an operator who drops the first acknowledged ballot and re-signs
        # the log without it is caught by that ballot's receipt, and every receipt's
        # checkpoint (all signed after that ballot) contradicts the forged closing one.
        first, first_receipt = min(receipts, key=lambda pair: pair[1].leaf_index)
        problems = reconcile(forged_without(board, election, first.entry), election, acknowledged)
        assert f"ballot {first_receipt.leaf_index} {LOST}" in problems, problems[:5]
        assert "1 acknowledged ballots are missing from the board" in problems, problems[:5]
        inconsistent = [problem for problem in problems if "is inconsistent" in problem]
        assert len(inconsistent) == len(acknowledged), problems[:5]

        counted = tally_and_result(board, election)
        record = tmp_path / "record"
        export_record(board, record)
    finally:
        board.close()
    assert counted == len(acknowledged)
    report = verify_record(record, election_id=election.manifest.election_id)
    assert report.passed, report.failed_checks()
    print(
        f"record: {len(acknowledged)} receipts checked offline, on the board at their index "
        f"and consistent with the witnessed close; {counted} ballots counted; the verifier "
        f"passed {len(report.checks)} checks; negative control: a dropped ballot caught by "
        f"{len(problems)} findings ({len(inconsistent)} inconsistent receipt checkpoints)"
    )
