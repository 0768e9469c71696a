"""A split view: the board's log key signs two histories that share a prefix and then fork.

Two servers run the same election from one data dir copied after some common ballots: each
accepts other ballots, and each signs its checkpoints with the election's log key under its
origin, so every checkpoint of either history is "the board's". Observer A follows one,
observer B the other; on its own each sees a board that checks out. Then:

* **witnesses** (the C2SP witness service over gRPC, and an observer cosigning as a witness)
  refuse to cosign a checkpoint that does not extend the one they cosigned, so neither
  history can gather the witnesses' quorum;
* **observers that gossip** each other's checkpoints report the split view with both signed
  checkpoints as evidence (:meth:`evote.client.observer.following.Observer.compare_checkpoint`);
* **one observer at two times** (its board answers with the other history later) reports
  that the board rewrote its history, and as a witness cosigns nothing of it;
* **the verifier**, given a record of one history holding a checkpoint of the other, fails
  check ``record``.

The honest control is one board read by both observers: everything agrees and is cosigned.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from evote.board.checkpoint import open_checkpoint, verify_witnessed
from evote.board.export import export_record
from evote.board.note import parse_note
from evote.board.record import read_checkpoints, write_checkpoints
from evote.board.witness import Witness
from evote.client.observer.following import Observer
from evote.client.observer.reports import HistoryRewritten, SplitView
from evote.errors import CheckpointError, ConsistencyError, InvalidInput
from evote.mock.staging import StagedElection
from evote.services.ca import Role
from evote.services.server import serve
from evote.verify.runner import verify_record
from evote.wire.v1 import witness_pb2, witness_pb2_grpc
from tests.suite.adversary_election import Board, Services, ballot, copy_of, failed, stage
from tests.suite.sizing import size

#: Ballots before the fork, and on each side after it (B's side is one longer).
COMMON = size(2, 8)
AFTER = size(2, 8)
VOTERS = COMMON + 2 * AFTER + 1


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    return stage(tmp_path_factory.mktemp("split") / "staged", VOTERS)


@pytest.fixture
def boards(
    template: StagedElection, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Services, Services]]:
    """Two boards of the election after ``COMMON`` common ballots: forked (a split view)
    unless the test is the honest control, where both names are one board."""
    base = copy_of(template, tmp_path / "base")
    common = Services(base)
    for voter in range(COMMON):
        common.cast(ballot(base, base.credentials[voter], 0))
    common.stop()
    left = Services(copy_of(base, tmp_path / "left"))
    forked = request.node.callspec.params["case"] != "honest"
    right = Services(copy_of(base, tmp_path / "right")) if forked else left
    for voter in range(COMMON, COMMON + AFTER):
        left.cast(ballot(left.staged, left.staged.credentials[voter], 0))
    for voter in range(COMMON + AFTER, VOTERS if forked else COMMON + AFTER + 1):
        right.cast(ballot(right.staged, right.staged.credentials[voter], 1))
    yield left, right
    left.stop()
    if forked:
        right.stop()


def _size(services: Services) -> int:
    manifest = services.staged.manifest
    return open_checkpoint(services.board.checkpoint(), manifest.log_origin, manifest.log_key)[
        0
    ].size


def _witnessed(note: str, services: Services) -> bool:
    manifest = services.staged.manifest
    try:
        verify_witnessed(
            note,
            manifest.log_origin,
            manifest.log_key,
            manifest.witness_keys(),
            manifest.witness_quorum,
        )
    except CheckpointError:
        return False
    return True


@pytest.mark.parametrize("case", ["honest", "split"])
def test_witnesses_refuse_the_other_history(boards: tuple[Services, Services], case: str) -> None:
    left, right = boards
    staged = left.staged
    manifest = staged.manifest
    (name_1, key_1), (name_2, key_2) = staged.witnesses
    witness_1 = Witness(name_1, key_1, manifest.log_origin, manifest.log_key)
    server = serve(witness=witness_1)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = witness_pb2_grpc.WitnessStub(channel)
            # Witness 1 (the gRPC witness service) cosigns the left board's checkpoint.
            note_left = left.board.checkpoint()
            line = stub.AddCheckpoint(
                witness_pb2.AddCheckpointRequest(old_size=0, checkpoint=note_left), timeout=10
            ).line
            note_left = left.control(Role.for_witness(name_1)).add_cosignature(_size(left), line)
            # The right board asks it to cosign its own, larger, checkpoint, with a proof
            # from the size witness 1 knows computed over the right board's tree.
            old, new = _size(left), _size(right)
            note_right = right.board.checkpoint()
            request = witness_pb2.AddCheckpointRequest(
                old_size=old,
                consistency_proof=right.board.consistency_proof(old, new) if new > old else [],
                checkpoint=note_right,
            )
            if case == "honest":
                # One board: witness 2 cosigns the same checkpoint and the quorum is there.
                witness_2 = Witness(name_2, key_2, manifest.log_origin, manifest.log_key)
                line_2 = witness_2.add_checkpoint(note_right, 0, [], int(time.time()))
                witnessed = right.control(Role.for_witness(name_2)).add_cosignature(
                    new, line_2.line().rstrip("\n")
                )
                assert _witnessed(witnessed, right)
                return
            with pytest.raises(grpc.RpcError) as refused:
                stub.AddCheckpoint(request, timeout=10)
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert witness_1.state.size == old  # it still stands by the left history
    finally:
        server.stop(None)
    # Witness 2 cosigns the right history first; then it refuses the left one (smaller, and
    # not a prefix of what it cosigned).
    witness_2 = Witness(name_2, key_2, manifest.log_origin, manifest.log_key)
    now = int(time.time())
    cosigned = witness_2.add_checkpoint(note_right, 0, [], now)
    note_right = right.control(Role.for_witness(name_2)).add_cosignature(
        new, cosigned.line().rstrip("\n")
    )
    with pytest.raises(ConsistencyError, match="cannot shrink"):
        witness_2.add_checkpoint(note_left, new, [], now)
    # Neither history gathers the witnesses' quorum (both of the two must cosign).
    assert not _witnessed(note_left, left)
    assert not _witnessed(note_right, right)
    print("\nadversary split view: both witnesses refused the other history; no quorum")


@pytest.mark.parametrize("case", ["honest", "split"])
def test_gossiping_observers_report_the_split_view(
    boards: tuple[Services, Services], tmp_path: Path, case: str
) -> None:
    left, right = boards
    election_id = left.staged.manifest.election_id
    observer_a = Observer(Board(left.board), election_id, tmp_path / "a", workers=1)
    observer_b = Observer(Board(right.board), election_id, tmp_path / "b", workers=1)
    observer_a.poll()
    observer_b.poll()
    # On its own, each board checks out.
    assert observer_a.passed
    assert observer_b.passed
    note_a, note_b = left.board.checkpoint(), right.board.checkpoint()
    proof = right.board.consistency_proof(observer_a.size, observer_b.size)
    if case == "honest":
        assert observer_a.compare_checkpoint(note_b, source="observer B", proof=proof)
        assert observer_b.compare_checkpoint(note_a, source="observer A")
        return
    # A is told B's larger checkpoint, with B's board's consistency proof from A's size.
    with pytest.raises(SplitView) as at_a:
        observer_a.compare_checkpoint(note_b, source="observer B", proof=proof)
    # B is told A's smaller checkpoint: B holds another root at that size.
    with pytest.raises(SplitView) as at_b:
        observer_b.compare_checkpoint(note_a, source="observer A")
    for split, mine, theirs, observer in (
        (at_a.value, note_a, note_b, observer_a),
        (at_b.value, note_b, note_a, observer_b),
    ):
        assert observer.rewrite is split
        assert not observer.passed
        assert split.later == theirs
        assert split.earlier is not None
        # The evidence: the observer's own checkpoint and the other, both the log's.
        assert parse_note(split.earlier).body in {
            parse_note(mine).body,
            *(parse_note(n).body for n in _notes(observer)),
        }
        assert "split view" in split.diagnostics()
    with pytest.raises(InvalidInput, match="rewrote its history"):
        observer_a.poll()  # a stopped observer does not go on
    print("\nadversary split view: both gossiping observers report it, with both checkpoints")


def _notes(observer: Observer) -> list[str]:
    return read_checkpoints(observer.mirror)


@pytest.mark.parametrize("case", ["honest", "split"])
def test_one_observer_at_two_times_refuses_to_cosign(
    boards: tuple[Services, Services], tmp_path: Path, case: str
) -> None:
    left, right = boards
    staged = left.staged
    name, key = staged.witnesses[0]
    board = Board(left.board)
    sender = left.control(Role.for_witness(name))
    witness = Observer(
        board,
        staged.manifest.election_id,
        tmp_path / "witness",
        witness_key=key,
        send_cosignature=lambda size, line: sender.add_cosignature(size, line),
        workers=1,
    )
    witness.poll()
    cosigned = witness.witness_state
    assert cosigned is not None
    assert cosigned.size == _size(left)
    board.client = right.board  # later, the board answers with the other history
    if case == "honest":
        witness.poll()
        assert witness.passed
        return
    with pytest.raises(HistoryRewritten) as rewritten:
        witness.poll()
    manifest = staged.manifest
    for note in (rewritten.value.earlier, rewritten.value.later):  # the evidence: the log's
        assert note is not None
        open_checkpoint(note, manifest.log_origin, manifest.log_key)
    assert parse_note(rewritten.value.later).body == parse_note(right.board.checkpoint()).body
    assert witness.witness_state == cosigned  # nothing of the other history cosigned
    assert not witness.passed
    print("\nadversary split view: the witnessing observer saw the rewrite and cosigned nothing")


@pytest.mark.parametrize("case", ["honest", "split"])
def test_the_verifier_fails_a_record_holding_both_histories(
    boards: tuple[Services, Services], tmp_path: Path, case: str
) -> None:
    left, right = boards
    record = tmp_path / "record"
    export_record(left.servers.board, record)
    notes = read_checkpoints(record)
    # The other board's checkpoint at the largest size both histories reached.
    shared = min(_size(left), _size(right))
    other = right.board.checkpoint(shared)
    by_size = {
        open_checkpoint(note, left.staged.manifest.log_origin, left.staged.manifest.log_key)[
            0
        ].size: note
        for note in notes
    }
    by_size[shared] = other
    write_checkpoints(record, [by_size[size] for size in sorted(by_size)])
    report = verify_record(record, election_id=left.staged.manifest.election_id, workers=1)
    failures = failed(report)
    if case == "honest":
        assert "record" not in failures, failures
        return
    assert "record" in failures, failures
    print("\nadversary split view: the verifier fails check record on the mixed record")
