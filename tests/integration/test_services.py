"""The gRPC services end to end: real in-process servers on free loopback ports over a SQLite
board in a temporary directory, set up like a real election (manifest, ceremony, joint key,
key checks, credentials, open)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from evote.board.checkpoint import Checkpoint, cosignature_time, open_checkpoint, sign_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from evote.board.note import NoteSignature, parse_note
from evote.board.witness import Witness
from evote.crypto.signing import SigningKey
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.services.server import (
    BALLOT_BOX_SERVICE,
    BOARD_SERVICE,
    Running,
    serve,
    serve_election,
)
from evote.wire.v1 import (
    ballot_box_pb2,
    ballot_box_pb2_grpc,
    board_pb2,
    board_pb2_grpc,
    witness_pb2,
    witness_pb2_grpc,
)

#: One yes/no contest keeps ballots small and proofs quick.
CONTESTS = [REFERENCE_CONTESTS[0]]
TIMEOUT = 10.0


#: The services tests' election: a staged board with every party's key.
Election = StagedElection


def make_election(data_dir: Path, voters: int) -> Election:
    """An election whose SQLite board holds manifest, ceremony, keys, credentials and open."""
    return stage_election(data_dir, "Services test", CONTESTS, voters=voters)


def check_receipt(election: Election, receipt: board_pb2.Receipt, entry: bytes) -> Checkpoint:
    """The receipt's checkpoint is signed by the log and its tree holds ``entry`` at its index."""
    checkpoint, _ = open_checkpoint(
        receipt.checkpoint, election.origin, election.log_key.verify_key
    )
    assert receipt.election_id == election.manifest.election_id
    assert receipt.tracking_code == leaf_hash(entry)
    verify_inclusion(
        receipt.leaf_index,
        checkpoint.size,
        receipt.tracking_code,
        list(receipt.inclusion_proof),
        checkpoint.root,
    )
    return checkpoint


def cosignature_from_line(checkpoint: str, line: str) -> NoteSignature:
    return parse_note(checkpoint + line + "\n").signatures[-1]


@pytest.fixture
def election(tmp_path: Path) -> Election:
    return make_election(tmp_path / "election", voters=6)


@pytest.fixture
def running(election: Election) -> Iterator[Running]:
    server = serve_election(election.data_dir, election.log_key)
    yield server
    server.stop(None)


@pytest.fixture
def channel(running: Running) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(running.address) as opened:
        yield opened


def test_cast_returns_a_receipt_that_verifies(election: Election, channel: grpc.Channel) -> None:
    box = ballot_box_pb2_grpc.BallotBoxStub(channel)
    board = board_pb2_grpc.BoardStub(channel)
    before = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
    entry = election.ballot(0)
    receipt = box.Cast(ballot_box_pb2.CastRequest(entry=entry), timeout=TIMEOUT)
    checkpoint = check_receipt(election, receipt, entry)
    old, _ = open_checkpoint(before, election.origin, election.log_key.verify_key)
    assert receipt.leaf_index == old.size
    assert checkpoint.size == old.size + 1
    # The receipt can be fetched again by tracking code, and it verifies too.
    again = board.GetReceipt(
        board_pb2.GetReceiptRequest(tracking_code=receipt.tracking_code), timeout=TIMEOUT
    )
    check_receipt(election, again, entry)
    assert again.leaf_index == receipt.leaf_index
    # An audit goes through the other RPC and gets a receipt as well.
    audit = election.audit(1)
    audited = box.Audit(ballot_box_pb2.AuditRequest(entry=audit), timeout=TIMEOUT)
    check_receipt(election, audited, audit)
    assert audited.leaf_index == receipt.leaf_index + 1


def test_a_retried_cast_returns_the_same_receipt(election: Election, channel: grpc.Channel) -> None:
    box = ballot_box_pb2_grpc.BallotBoxStub(channel)
    board = board_pb2_grpc.BoardStub(channel)
    entry = election.ballot(0)
    first = box.Cast(ballot_box_pb2.CastRequest(entry=entry), timeout=TIMEOUT)
    box.Cast(ballot_box_pb2.CastRequest(entry=election.ballot(1)), timeout=TIMEOUT)
    retried = box.Cast(ballot_box_pb2.CastRequest(entry=entry), timeout=TIMEOUT)
    assert retried == first
    latest = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
    size = open_checkpoint(latest, election.origin, election.log_key.verify_key)[0].size
    assert size == first.leaf_index + 2


def test_bad_submissions_get_invalid_argument_and_change_nothing(
    election: Election, channel: grpc.Channel
) -> None:
    box = ballot_box_pb2_grpc.BallotBoxStub(channel)
    board = board_pb2_grpc.BoardStub(channel)
    before = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
    good = Entry.decode(election.ballot(0))
    stranger = SigningKey.generate()
    not_listed = Entry.create(kinds.BALLOT, good.election_id, good.body, [stranger]).encoded
    flipped = bytearray(good.encoded)
    flipped[-1] ^= 1  # the credential's signature no longer verifies
    # The last byte of the body is the top byte of the last proof response: flipping its lowest
    # bit always changes the proof (setting it to 0 would not, when it already is 0).
    bad_body = Entry.create(
        kinds.BALLOT,
        good.election_id,
        good.body[:-1] + bytes([good.body[-1] ^ 1]),
        [election.credentials[0]],
    ).encoded
    for data in (b"", b"not an entry", not_listed, bytes(flipped), bad_body, election.audit(2)):
        with pytest.raises(grpc.RpcError) as caught:
            box.Cast(ballot_box_pb2.CastRequest(entry=data), timeout=TIMEOUT)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        box.Audit(ballot_box_pb2.AuditRequest(entry=good.encoded), timeout=TIMEOUT)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
    assert after == before


def test_board_pages_and_proofs(election: Election, channel: grpc.Channel) -> None:
    box = ballot_box_pb2_grpc.BallotBoxStub(channel)
    board = board_pb2_grpc.BoardStub(channel)
    key = election.log_key.verify_key
    first_note = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
    for voter in range(3):
        box.Cast(ballot_box_pb2.CastRequest(entry=election.ballot(voter)), timeout=TIMEOUT)
    note = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
    old, _ = open_checkpoint(first_note, election.origin, key)
    new, _ = open_checkpoint(note, election.origin, key)
    # Pages: small ones cover the board, and the entries recompute the signed root.
    entries: list[bytes] = []
    while len(entries) < new.size:
        page = board.GetEntries(
            board_pb2.GetEntriesRequest(start=len(entries), limit=4), timeout=TIMEOUT
        )
        assert page.start == len(entries)
        assert 0 < len(page.entries) <= 4
        entries.extend(page.entries)
    assert MerkleTree([leaf_hash(e) for e in entries]).root() == new.root
    whole = board.GetEntries(board_pb2.GetEntriesRequest(start=0), timeout=TIMEOUT)
    assert list(whole.entries) == entries  # the default page holds this small board
    end = board.GetEntries(board_pb2.GetEntriesRequest(start=new.size), timeout=TIMEOUT)
    assert list(end.entries) == []
    # Inclusion of every entry in the latest tree, consistency from the older checkpoint.
    for index, entry in enumerate(entries):
        proof = board.GetInclusionProof(
            board_pb2.GetInclusionProofRequest(index=index, tree_size=new.size), timeout=TIMEOUT
        )
        verify_inclusion(index, new.size, leaf_hash(entry), list(proof.path), new.root)
    consistency = board.GetConsistencyProof(
        board_pb2.GetConsistencyProofRequest(old_size=old.size, new_size=new.size),
        timeout=TIMEOUT,
    )
    verify_consistency(old.size, new.size, old.root, new.root, list(consistency.path))
    at_old = board.GetCheckpoint(board_pb2.GetCheckpointRequest(size=old.size), timeout=TIMEOUT)
    assert at_old.note == first_note
    # Out of range and unknown requests get the specific codes.
    refused: list[Callable[[], object]] = [
        (lambda: board.GetEntries(board_pb2.GetEntriesRequest(start=new.size + 1))),
        (
            lambda: board.GetInclusionProof(
                board_pb2.GetInclusionProofRequest(index=new.size, tree_size=new.size)
            )
        ),
        (
            lambda: board.GetInclusionProof(
                board_pb2.GetInclusionProofRequest(index=0, tree_size=new.size + 1)
            )
        ),
        (
            lambda: board.GetConsistencyProof(
                board_pb2.GetConsistencyProofRequest(old_size=new.size, new_size=old.size)
            )
        ),
        (lambda: board.GetCheckpoint(board_pb2.GetCheckpointRequest(size=new.size + 1))),
    ]
    for call in refused:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE
    with pytest.raises(grpc.RpcError) as caught:
        board.GetReceipt(board_pb2.GetReceiptRequest(tracking_code=b"\x00" * 32))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_witness_cosigns_only_consistent_checkpoints(
    election: Election, running: Running, channel: grpc.Channel
) -> None:
    name, key = election.witnesses[0]
    witness_server = serve(witness=Witness(name, key, election.origin, election.log_key.verify_key))
    try:
        with grpc.insecure_channel(witness_server.address) as witness_channel:
            witness = witness_pb2_grpc.WitnessStub(witness_channel)
            board = board_pb2_grpc.BoardStub(channel)
            box = ballot_box_pb2_grpc.BallotBoxStub(channel)
            first = board.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT).note
            cosigned = witness.AddCheckpoint(
                witness_pb2.AddCheckpointRequest(old_size=0, checkpoint=first), timeout=TIMEOUT
            )
            note = parse_note(first).with_signature(cosignature_from_line(first, cosigned.line))
            cosignature_time(note, name, key.verify_key)
            old, _ = open_checkpoint(first, election.origin, election.log_key.verify_key)

            receipt = box.Cast(
                ballot_box_pb2.CastRequest(entry=election.ballot(0)), timeout=TIMEOUT
            )
            new, _ = open_checkpoint(
                receipt.checkpoint, election.origin, election.log_key.verify_key
            )
            proof = board.GetConsistencyProof(
                board_pb2.GetConsistencyProofRequest(old_size=old.size, new_size=new.size)
            ).path
            # A fork: a checkpoint of the same size over another root, signed by the log key.
            fork = sign_checkpoint(
                Checkpoint(election.origin, new.size, b"\x01" * 32), election.log_key
            ).text()
            with pytest.raises(grpc.RpcError) as caught:
                witness.AddCheckpoint(
                    witness_pb2.AddCheckpointRequest(
                        old_size=old.size, consistency_proof=proof, checkpoint=fork
                    ),
                    timeout=TIMEOUT,
                )
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            # A stale old size: ABORTED, with the size the witness knows.
            with pytest.raises(grpc.RpcError) as caught:
                witness.AddCheckpoint(
                    witness_pb2.AddCheckpointRequest(old_size=0, checkpoint=receipt.checkpoint),
                    timeout=TIMEOUT,
                )
            assert caught.value.code() == grpc.StatusCode.ABORTED
            metadata = {item.key: item.value for item in caught.value.trailing_metadata()}
            # grpcio gives text values as str; the stubs say bytes.
            assert metadata["evote-witness-size"] in (str(old.size), str(old.size).encode())
            # The consistent one is cosigned.
            line = witness.AddCheckpoint(
                witness_pb2.AddCheckpointRequest(
                    old_size=old.size, consistency_proof=proof, checkpoint=receipt.checkpoint
                ),
                timeout=TIMEOUT,
            ).line
            signed = parse_note(receipt.checkpoint).with_signature(
                cosignature_from_line(receipt.checkpoint, line)
            )
            cosignature_time(signed, name, key.verify_key)
    finally:
        witness_server.stop(None)


def test_health_and_reflection(running: Running, channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", BOARD_SERVICE, BALLOT_BOX_SERVICE):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT
    )
    names = {service.name for r in responses for service in r.list_services_response.service}
    assert {BOARD_SERVICE, BALLOT_BOX_SERVICE, "grpc.health.v1.Health"} <= names


def test_a_restarted_server_keeps_enforcing_the_rules(election: Election) -> None:
    newer, older = election.ballot(0, sequence=0), election.ballot(0, sequence=0)
    server = serve_election(election.data_dir, election.log_key)
    try:
        with grpc.insecure_channel(server.address) as channel:
            box = ballot_box_pb2_grpc.BallotBoxStub(channel)
            first = box.Cast(ballot_box_pb2.CastRequest(entry=newer), timeout=TIMEOUT)
    finally:
        server.stop(None)
    server = serve_election(election.data_dir, election.log_key)
    try:
        with grpc.insecure_channel(server.address) as channel:
            box = ballot_box_pb2_grpc.BallotBoxStub(channel)
            # Another ballot with a sequence number already used (fresh bytes) is refused.
            with pytest.raises(grpc.RpcError) as caught:
                box.Cast(ballot_box_pb2.CastRequest(entry=older), timeout=TIMEOUT)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "sequence" in (caught.value.details() or "")
            # The identical bytes are a retry: the same leaf again.
            again = box.Cast(ballot_box_pb2.CastRequest(entry=newer), timeout=TIMEOUT)
            assert (again.leaf_index, again.tracking_code) == (
                first.leaf_index,
                first.tracking_code,
            )
            later = box.Cast(
                ballot_box_pb2.CastRequest(entry=election.ballot(0, sequence=1)), timeout=TIMEOUT
            )
            check_receipt(election, later, election_entry(channel, later.leaf_index))
    finally:
        server.stop(None)
    election.close()
    server = serve_election(election.data_dir, election.log_key)
    try:
        with grpc.insecure_channel(server.address) as channel:
            box = ballot_box_pb2_grpc.BallotBoxStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                box.Cast(ballot_box_pb2.CastRequest(entry=election.ballot(1)), timeout=TIMEOUT)
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            health = health_pb2_grpc.HealthStub(channel)
            answer = health.Check(
                health_pb2.HealthCheckRequest(service=BALLOT_BOX_SERVICE), timeout=TIMEOUT
            )
            assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        server.stop(None)


def election_entry(channel: grpc.Channel, index: int) -> bytes:
    page = board_pb2_grpc.BoardStub(channel).GetEntries(
        board_pb2.GetEntriesRequest(start=index, limit=1), timeout=TIMEOUT
    )
    return page.entries[0]
