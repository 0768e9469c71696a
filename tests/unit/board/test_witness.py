"""The witness cosigns only a log that grows: forks, shrinks and rewrites are refused."""

from __future__ import annotations

import hashlib

import pytest

from evote.board.checkpoint import (
    Checkpoint,
    cosignature_time,
    open_checkpoint,
    sign_checkpoint,
    verify_witnessed,
)
from evote.board.entry import Entry, EntryKind, EntryRules
from evote.board.log import BulletinBoard
from evote.board.merkle import EMPTY_ROOT
from evote.board.note import parse_note
from evote.board.store import MemoryStore
from evote.board.witness import Witness, WitnessState
from evote.crypto.signing import SigningKey
from evote.errors import CheckpointError, ConsistencyError

ELECTION_ID = hashlib.sha256(b"witness test election").digest()
RULES = EntryRules.of(ELECTION_ID, [EntryKind("ballot")])
ORIGIN = "evote.test/witnessed"
LOG_KEY = SigningKey(b"\x51" * 32)
VOTER = SigningKey(b"\x52" * 32)
WITNESS_NAME = "witness.test/w1"
WITNESS_KEY = SigningKey(b"\x53" * 32)


def ballot(label: str) -> bytes:
    return Entry.create("ballot", ELECTION_ID, label.encode(), [VOTER]).encoded


def new_board(key: SigningKey = LOG_KEY, origin: str = ORIGIN) -> BulletinBoard:
    return BulletinBoard(MemoryStore(), key, origin, RULES, {WITNESS_NAME: WITNESS_KEY.verify_key})


def grow(board: BulletinBoard, labels: list[str]) -> str:
    return board.append([ballot(label) for label in labels]).checkpoint


def new_witness() -> Witness:
    return Witness(WITNESS_NAME, WITNESS_KEY, ORIGIN, LOG_KEY.verify_key)


def present(witness: Witness, board: BulletinBoard, timestamp: int) -> str:
    """Hand the board's latest checkpoint to the witness as the protocol does."""
    text = board.latest_checkpoint()
    size = Checkpoint.parse(parse_note(text).body).size
    proof = board.consistency_proof(witness.state.size, size)
    signature = witness.add_checkpoint(text, witness.state.size, proof, timestamp)
    return parse_note(text).with_signature(signature).text()


def test_a_new_witness_starts_from_the_empty_tree() -> None:
    assert new_witness().state == WitnessState(0, EMPTY_ROOT, 0)


def test_cosigns_a_growing_log() -> None:
    board = new_board()
    witness = new_witness()
    for step, labels in enumerate([["a"], ["b", "c"], ["d"], ["e", "f", "g", "h", "i"]]):
        grow(board, labels)
        timestamp = 1000 + step
        text = present(witness, board, timestamp)
        checkpoint = verify_witnessed(
            text, ORIGIN, LOG_KEY.verify_key, {WITNESS_NAME: WITNESS_KEY.verify_key}, 1
        )
        assert cosignature_time(parse_note(text), WITNESS_NAME, WITNESS_KEY.verify_key) == (
            timestamp
        )
        assert witness.state == WitnessState(checkpoint.size, checkpoint.root, timestamp)
        # The board accepts the witness's cosignature.
        board.add_cosignature(checkpoint.size, parse_note(text).signatures[-1])
    assert witness.state.size == board.size == 9


def test_cosigns_the_same_checkpoint_again() -> None:
    board = new_board()
    grow(board, ["a", "b"])
    witness = new_witness()
    present(witness, board, 10)
    text = board.latest_checkpoint()
    witness.add_checkpoint(text, 2, [], 10)
    assert witness.state.size == 2


def test_a_fresh_witness_cosigns_an_existing_log_from_size_zero() -> None:
    board = new_board()
    grow(board, ["a", "b", "c"])
    signature = new_witness().add_checkpoint(board.latest_checkpoint(), 0, [], 5)
    note = parse_note(board.latest_checkpoint()).with_signature(signature)
    assert cosignature_time(note, WITNESS_NAME, WITNESS_KEY.verify_key) == 5


def forked_pair() -> tuple[BulletinBoard, BulletinBoard]:
    """Two boards under the same log key that agree on two entries, then diverge."""
    honest, fork = new_board(), new_board()
    for board in (honest, fork):
        grow(board, ["a", "b"])
    grow(honest, ["c"])
    grow(fork, ["c-forged"])
    return honest, fork


def test_refuses_a_fork_of_the_same_size() -> None:
    honest, fork = forked_pair()
    witness = new_witness()
    present(witness, honest, 1)
    before = witness.state
    with pytest.raises(ConsistencyError, match="two different roots for the same size 3"):
        witness.add_checkpoint(fork.latest_checkpoint(), 3, [], 2)
    assert witness.state == before


def test_refuses_a_fork_that_grew_past_what_it_cosigned() -> None:
    honest, fork = forked_pair()
    witness = new_witness()
    present(witness, honest, 1)
    before = witness.state
    grow(fork, ["d", "e"])
    proof = fork.consistency_proof(3, 5)
    with pytest.raises(ConsistencyError):
        witness.add_checkpoint(fork.latest_checkpoint(), 3, proof, 2)
    # The honest log's proof does not help the fork either.
    grow(honest, ["d", "e"])
    with pytest.raises(ConsistencyError):
        witness.add_checkpoint(fork.latest_checkpoint(), 3, honest.consistency_proof(3, 5), 2)
    assert witness.state == before


def test_refuses_a_rewritten_prefix() -> None:
    honest = new_board()
    grow(honest, ["a", "b", "c", "d"])
    witness = new_witness()
    present(witness, honest, 1)
    before = witness.state
    # The rewritten log changed entry 0 and then grew: every proof from size 4 fails.
    rewritten = new_board()
    grow(rewritten, ["A", "b", "c", "d"])
    grow(rewritten, ["e", "f", "g"])
    with pytest.raises(ConsistencyError):
        witness.add_checkpoint(
            rewritten.latest_checkpoint(), 4, rewritten.consistency_proof(4, 7), 2
        )
    assert witness.state == before


def test_refuses_a_shrink() -> None:
    board = new_board()
    grow(board, ["a", "b", "c"])
    grow(board, ["d", "e"])
    witness = new_witness()
    present(witness, board, 1)
    before = witness.state
    older = board.checkpoint_at(3)
    with pytest.raises(ConsistencyError, match="cannot shrink from size 5 to size 3"):
        witness.add_checkpoint(older, 5, [], 2)
    assert witness.state == before


def test_refuses_the_wrong_old_size() -> None:
    board = new_board()
    grow(board, ["a", "b", "c"])
    witness = new_witness()
    present(witness, board, 1)
    before = witness.state
    grow(board, ["d"])
    for old_size in (0, 2, 4):
        proof = board.consistency_proof(old_size, 4)
        with pytest.raises(CheckpointError, match="last cosigned size 3, not"):
            witness.add_checkpoint(board.latest_checkpoint(), old_size, proof, 2)
    assert witness.state == before
    # From the right size it goes through.
    witness.add_checkpoint(board.latest_checkpoint(), 3, board.consistency_proof(3, 4), 2)
    assert witness.state.size == 4


def test_refuses_a_bad_proof_from_the_right_size() -> None:
    board = new_board()
    grow(board, ["a", "b", "c"])
    witness = new_witness()
    present(witness, board, 1)
    grow(board, ["d", "e"])
    proof = board.consistency_proof(3, 5)
    tampered = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    before = witness.state
    for bad in ([], tampered, proof[:-1], [*proof, proof[0]]):
        with pytest.raises(ConsistencyError):
            witness.add_checkpoint(board.latest_checkpoint(), 3, bad, 2)
    assert witness.state == before


def test_refuses_a_clock_going_backwards() -> None:
    board = new_board()
    grow(board, ["a"])
    witness = new_witness()
    present(witness, board, 100)
    before = witness.state
    grow(board, ["b"])
    with pytest.raises(CheckpointError, match=r"clock went backwards \(99 < 100\)"):
        witness.add_checkpoint(board.latest_checkpoint(), 1, board.consistency_proof(1, 2), 99)
    assert witness.state == before
    # The same second is not going backwards.
    witness.add_checkpoint(board.latest_checkpoint(), 1, board.consistency_proof(1, 2), 100)
    assert witness.state.size == 2


def test_refuses_a_checkpoint_not_signed_by_the_log() -> None:
    impostor = new_board(key=SigningKey(b"\x5f" * 32))
    grow(impostor, ["a"])
    witness = new_witness()
    with pytest.raises(CheckpointError, match="no signature from"):
        witness.add_checkpoint(impostor.latest_checkpoint(), 0, [], 1)
    assert witness.state == WitnessState(0, EMPTY_ROOT, 0)


def test_refuses_a_checkpoint_with_a_forged_body() -> None:
    board = new_board()
    grow(board, ["a"])
    note = parse_note(board.latest_checkpoint())
    checkpoint = Checkpoint.parse(note.body)
    forged_body = Checkpoint(ORIGIN, checkpoint.size, bytes(32)).body()
    forged = note.text().replace(note.body, forged_body)
    witness = new_witness()
    with pytest.raises(CheckpointError, match="does not verify"):
        witness.add_checkpoint(forged, 0, [], 1)
    assert witness.state.size == 0


def test_refuses_another_log() -> None:
    other = new_board(origin="evote.test/other")
    grow(other, ["a"])
    witness = new_witness()
    with pytest.raises(CheckpointError, match=r"not 'evote\.test/witnessed'"):
        witness.add_checkpoint(other.latest_checkpoint(), 0, [], 1)
    assert witness.state.size == 0


def test_refuses_malformed_text() -> None:
    witness = new_witness()
    with pytest.raises(CheckpointError):
        witness.add_checkpoint("not a note", 0, [], 1)
    assert witness.state.size == 0


def test_resumes_from_a_persisted_state() -> None:
    board = new_board()
    grow(board, ["a", "b"])
    first = new_witness()
    present(first, board, 7)
    resumed = Witness(WITNESS_NAME, WITNESS_KEY, ORIGIN, LOG_KEY.verify_key, first.state)
    grow(board, ["c"])
    with pytest.raises(CheckpointError, match="last cosigned size 2"):
        resumed.add_checkpoint(board.latest_checkpoint(), 0, [], 8)
    with pytest.raises(CheckpointError, match="clock went backwards"):
        resumed.add_checkpoint(board.latest_checkpoint(), 2, board.consistency_proof(2, 3), 6)
    resumed.add_checkpoint(board.latest_checkpoint(), 2, board.consistency_proof(2, 3), 8)
    assert resumed.state.size == 3


def test_a_witnessed_fork_cannot_gather_the_same_witness() -> None:
    # The split-view defence end to end: once the witness cosigned one branch, the other
    # branch's checkpoint cannot get its cosignature, so it cannot reach a quorum.
    honest, fork = forked_pair()
    witness = new_witness()
    witnessed_text = present(witness, honest, 1)
    witnesses = {WITNESS_NAME: WITNESS_KEY.verify_key}
    verify_witnessed(witnessed_text, ORIGIN, LOG_KEY.verify_key, witnesses, 1)
    with pytest.raises(ConsistencyError):
        present(witness, fork, 2)
    with pytest.raises(CheckpointError, match="0 valid cosignatures"):
        verify_witnessed(fork.latest_checkpoint(), ORIGIN, LOG_KEY.verify_key, witnesses, 1)


def test_the_witness_name_is_checked() -> None:
    with pytest.raises(CheckpointError, match="invalid key name"):
        Witness("bad name", WITNESS_KEY, ORIGIN, LOG_KEY.verify_key)


def test_signed_checkpoint_of_another_size_under_the_same_key_is_still_checked() -> None:
    # A log that signs a checkpoint for a size it never had (a lie about the root) is caught
    # by the proof from what the witness cosigned.
    board = new_board()
    grow(board, ["a", "b"])
    witness = new_witness()
    present(witness, board, 1)
    lie = sign_checkpoint(Checkpoint(ORIGIN, 4, hashlib.sha256(b"lie").digest()), LOG_KEY)
    grow(board, ["c", "d"])
    with pytest.raises(ConsistencyError):
        witness.add_checkpoint(lie.text(), 2, board.consistency_proof(2, 4), 2)
    assert open_checkpoint(lie.text(), ORIGIN, LOG_KEY.verify_key)[0].size == 4
    assert witness.state.size == 2
