"""The bulletin board as a state machine: whatever is thrown at it, it only grows.

Rules append valid batches, throw invalid entries and duplicates at it, have a witness cosign
the newest checkpoint (and refuse a stale one), and reopen the board over its store.
Invariants: the board only grows; every checkpoint it handed out stays consistent with the
current tree; every earlier inclusion bundle still verifies against the newest checkpoint
through a consistency proof; duplicates are always refused.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from evote.board.checkpoint import Checkpoint, open_checkpoint, verify_witnessed
from evote.board.entry import ENVELOPE_TAG, Entry, EntryKind, EntryRules
from evote.board.log import BulletinBoard, InclusionBundle
from evote.board.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from evote.board.note import parse_note
from evote.board.store import MemoryStore
from evote.board.witness import Witness
from evote.crypto import encoding
from evote.crypto.signing import SigningKey
from evote.errors import ConsistencyError, DuplicateEntry, EntryRejected

ELECTION_ID = hashlib.sha256(b"stateful board election").digest()
RULES = EntryRules.of(ELECTION_ID, [EntryKind("ballot"), EntryKind("official", 2)])
ORIGIN = "evote.test/stateful"
LOG_KEY = SigningKey(b"\x81" * 32)
VOTER = SigningKey(b"\x82" * 32)
OFFICIALS = [SigningKey(b"\x83" * 32), SigningKey(b"\x84" * 32)]
WITNESS_NAME = "witness.test/w1"
WITNESS_KEY = SigningKey(b"\x85" * 32)
WITNESSES = {WITNESS_NAME: WITNESS_KEY.verify_key}


def invalid_entry(kind: str, label: bytes) -> bytes:
    """One entry that breaks the envelope rules in the named way."""
    if kind == "other-election":
        return Entry.create("ballot", hashlib.sha256(b"other").digest(), label, [VOTER]).encoded
    if kind == "undeclared-kind":
        return Entry.create("tally", ELECTION_ID, label, [VOTER]).encoded
    if kind == "too-few-signatures":
        return Entry.create("official", ELECTION_ID, label, OFFICIALS[:1]).encoded
    if kind == "same-signer-twice":
        return Entry.create("official", ELECTION_ID, label, [OFFICIALS[0]] * 2).encoded
    if kind == "tampered-body":
        good = Entry.create("ballot", ELECTION_ID, label, [VOTER])
        pairs = [[s.signer.encode(), s.signature] for s in good.signatures]
        return encoding.encode([ENVELOPE_TAG, "ballot", ELECTION_ID, label + b"!", pairs])
    if kind == "replayed-kind":
        good = Entry.create("official", ELECTION_ID, label, OFFICIALS)
        pairs = [[s.signer.encode(), s.signature] for s in good.signatures]
        return encoding.encode([ENVELOPE_TAG, "ballot", ELECTION_ID, label, pairs])
    assert kind == "garbage"
    return label


INVALID_KINDS = [
    "other-election",
    "undeclared-kind",
    "too-few-signatures",
    "same-signer-twice",
    "tampered-body",
    "replayed-kind",
    "garbage",
]


class BoardMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.board = BulletinBoard(self.store, LOG_KEY, ORIGIN, RULES, WITNESSES)
        self.witness = Witness(WITNESS_NAME, WITNESS_KEY, ORIGIN, LOG_KEY.verify_key)
        self.clock = 1_700_000_000
        self.labels = 0
        self.appended: list[bytes] = []
        #: (size, root, note body) of every checkpoint the board handed out, as verified then.
        self.handed_out: list[tuple[int, bytes, str]] = []
        self.receipts: list[tuple[InclusionBundle, Checkpoint]] = []
        self.largest_size_seen = 0

    def fresh(self) -> bytes:
        self.labels += 1
        label = f"entry {self.labels}".encode()
        if self.labels % 5 == 0:
            return Entry.create("official", ELECTION_ID, label, OFFICIALS).encoded
        return Entry.create("ballot", ELECTION_ID, label, [VOTER]).encoded

    def snapshot(self) -> tuple[int, list[str]]:
        return self.board.size, self.board.checkpoints()

    def latest(self) -> Checkpoint:
        return open_checkpoint(self.board.latest_checkpoint(), ORIGIN, LOG_KEY.verify_key)[0]

    # --- rules ----------------------------------------------------------------------------------

    @rule(count=st.integers(min_value=1, max_value=4), prove=st.integers(min_value=0))
    def append_batch(self, count: int, prove: int) -> None:
        batch = [self.fresh() for _ in range(count)]
        result = self.board.append(batch)
        assert (result.first_index, result.count) == (len(self.appended), count)
        self.appended.extend(batch)
        checkpoint = open_checkpoint(result.checkpoint, ORIGIN, LOG_KEY.verify_key)[0]
        assert checkpoint.size == len(self.appended)
        assert checkpoint.root == MerkleTree([leaf_hash(e) for e in self.appended]).root()
        self.handed_out.append(
            (checkpoint.size, checkpoint.root, parse_note(result.checkpoint).body)
        )
        # A receipt for one entry of this batch, against the checkpoint handed out now.
        bundle = self.board.prove(result.first_index + prove % count)
        assert bundle.entry == batch[prove % count]
        self.receipts.append((bundle, checkpoint))

    @rule(
        kind=st.sampled_from(INVALID_KINDS),
        good_before=st.integers(min_value=0, max_value=2),
        good_after=st.integers(min_value=0, max_value=2),
        label=st.binary(min_size=1, max_size=40),
    )
    def try_invalid_entry(self, kind: str, good_before: int, good_after: int, label: bytes) -> None:
        batch = [self.fresh() for _ in range(good_before)]
        batch.append(invalid_entry(kind, label))
        batch.extend(self.fresh() for _ in range(good_after))
        before = self.snapshot()
        with pytest.raises(EntryRejected):
            self.board.append(batch)
        assert self.snapshot() == before
        for data in batch:
            assert self.board.find(leaf_hash(data)) is None

    @precondition(lambda self: self.appended)
    @rule(data=st.data(), inside_batch=st.booleans())
    def try_duplicate(self, data: st.DataObject, inside_batch: bool) -> None:
        before = self.snapshot()
        if inside_batch:
            fresh = self.fresh()
            with pytest.raises(EntryRejected, match="same entry twice"):
                self.board.append([fresh, self.fresh(), fresh])
        else:
            index = data.draw(st.integers(min_value=0, max_value=len(self.appended) - 1))
            with pytest.raises(DuplicateEntry) as raised:
                self.board.append([self.fresh(), self.appended[index]])
            assert raised.value.index == index
        assert self.snapshot() == before

    @precondition(lambda self: self.appended)
    @rule(advance=st.integers(min_value=0, max_value=30))
    def witness_cosigns(self, advance: int) -> None:
        latest = self.latest()
        if latest.size == self.witness.state.size:
            return  # already cosigned; the board keeps one line per witness
        self.clock += advance
        proof = self.board.consistency_proof(self.witness.state.size, latest.size)
        text = self.board.latest_checkpoint()
        signature = self.witness.add_checkpoint(text, self.witness.state.size, proof, self.clock)
        assert (self.witness.state.size, self.witness.state.root) == (latest.size, latest.root)
        cosigned = self.board.add_cosignature(latest.size, signature)
        assert self.board.latest_checkpoint() == cosigned
        verify_witnessed(cosigned, ORIGIN, LOG_KEY.verify_key, WITNESSES, 1)

    @precondition(lambda self: self.witness.state.size > 0)
    @rule(data=st.data())
    def witness_refuses_a_stale_checkpoint(self, data: st.DataObject) -> None:
        older = [size for size, _, _ in self.handed_out if size < self.witness.state.size]
        if not older:
            return
        size = data.draw(st.sampled_from(older))
        state = self.witness.state
        with pytest.raises(ConsistencyError):
            self.witness.add_checkpoint(self.board.checkpoint_at(size), state.size, [], self.clock)
        assert self.witness.state == state

    @rule()
    def reopen(self) -> None:
        before = self.snapshot()
        self.board = BulletinBoard(self.store, LOG_KEY, ORIGIN, RULES, WITNESSES)
        assert self.snapshot() == before

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def only_grows(self) -> None:
        size = self.board.size
        assert size == len(self.appended) >= self.largest_size_seen
        self.largest_size_seen = size
        sizes = [s for s, _ in self.store.checkpoints()]
        assert sizes == sorted(set(sizes)) == [s for s, _, _ in self.handed_out]

    @invariant()
    def handed_out_checkpoints_stay_consistent(self) -> None:
        if not self.handed_out:
            return
        latest = self.latest()
        assert latest.size == self.board.size
        for size, root, body in self.handed_out:
            # The stored note for that size still has the same body (cosignatures may be added).
            assert parse_note(self.board.checkpoint_at(size)).body == body
            proof = self.board.consistency_proof(size, latest.size)
            verify_consistency(size, latest.size, root, latest.root, proof)

    @invariant()
    def earlier_bundles_still_verify(self) -> None:
        if not self.receipts:
            return
        latest = self.latest()
        for bundle, checkpoint in self.receipts:
            leaf = leaf_hash(bundle.entry)
            verify_inclusion(bundle.index, checkpoint.size, leaf, bundle.path, checkpoint.root)
            proof = self.board.consistency_proof(checkpoint.size, latest.size)
            verify_consistency(checkpoint.size, latest.size, checkpoint.root, latest.root, proof)
            assert self.board.entry(bundle.index) == bundle.entry
            path = self.board.inclusion_proof(bundle.index, latest.size)
            verify_inclusion(bundle.index, latest.size, leaf, path, latest.root)


TestBoardStateMachine = BoardMachine.TestCase
