"""Bulletin-board figures: durable appends per second, and proofs per second.

Appends go to a temporary SQLite store (WAL, ``synchronous=FULL``): every append commits its
entries and a newly signed checkpoint before returning, as in production. Entries are signed
before timing starts, so the figures are the board's own cost. Wall-clock time is reported
here because the work includes waiting for the disk.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from evote.board.checkpoint import Checkpoint
from evote.board.entry import Entry, EntryKind, EntryRules
from evote.board.log import BulletinBoard
from evote.board.merkle import verify_consistency, verify_inclusion
from evote.board.note import parse_note
from evote.board.store import SqliteStore
from evote.crypto.rng import random_below, random_bytes
from evote.crypto.signing import SigningKey

_ELECTION_ID = hashlib.sha256(b"board benchmark").digest()
_ORIGIN = "evote.bench/board"
_ENTRY_BODY_BYTES = 4096


@dataclass(frozen=True, slots=True)
class BoardFigures:
    entries: int
    entry_bytes: int
    appends_per_second_single: float
    entries_per_second_batch_32: float
    inclusion_proofs_generated_per_second: float
    inclusion_proofs_verified_per_second: float
    consistency_proofs_generated_per_second: float
    consistency_proofs_verified_per_second: float
    reopen_seconds: float

    def as_json_dict(self) -> dict[str, object]:
        return asdict(self)


def _signed_entries(count: int) -> list[bytes]:
    voter = SigningKey.generate()
    return [
        Entry.create("ballot", _ELECTION_ID, random_bytes(_ENTRY_BODY_BYTES), [voter]).encoded
        for _ in range(count)
    ]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(entries: int = 2000, proofs: int = 2000) -> BoardFigures:
    rules = EntryRules.of(_ELECTION_ID, [EntryKind("ballot")])
    log_key = SigningKey.generate()
    single = _signed_entries(entries // 4)
    batched = _signed_entries(entries - len(single))
    with tempfile.TemporaryDirectory(prefix="evote-bench-") as directory:
        database = Path(directory) / "board.sqlite3"
        board = BulletinBoard(SqliteStore(database), log_key, _ORIGIN, rules)
        start = time.perf_counter()
        for data in single:
            board.append([data])
        single_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for first in range(0, len(batched), 32):
            board.append(batched[first : first + 32])
        batch_seconds = time.perf_counter() - start

        size = board.size
        checkpoint = Checkpoint.parse(parse_note(board.latest_checkpoint()).body)
        indices = [random_below(size) for _ in range(proofs)]
        start = time.perf_counter()
        paths = [board.inclusion_proof(index, size) for index in indices]
        inclusion_generate = time.perf_counter() - start
        leaves = [hashlib.sha256(b"\x00" + board.entry(index)).digest() for index in indices]
        start = time.perf_counter()
        for index, leaf, path in zip(indices, leaves, paths, strict=True):
            verify_inclusion(index, size, leaf, path, checkpoint.root)
        inclusion_verify = time.perf_counter() - start

        signed = [Checkpoint.parse(parse_note(text).body) for text in board.checkpoints()]
        earlier = [c for c in signed if c.size < size]
        pairs = [
            (chosen.size, chosen.root)
            for chosen in (earlier[random_below(len(earlier))] for _ in range(proofs))
        ]
        start = time.perf_counter()
        consistency = [board.consistency_proof(old, size) for old, _ in pairs]
        consistency_generate = time.perf_counter() - start
        start = time.perf_counter()
        for (old, root), proof in zip(pairs, consistency, strict=True):
            verify_consistency(old, size, root, checkpoint.root, proof)
        consistency_verify = time.perf_counter() - start
        board.close()

        start = time.perf_counter()
        BulletinBoard(SqliteStore(database), log_key, _ORIGIN, rules).close()
        reopen_seconds = time.perf_counter() - start

    return BoardFigures(
        entries=size,
        entry_bytes=len(single[0]),
        appends_per_second_single=_rate(len(single), single_seconds),
        entries_per_second_batch_32=_rate(len(batched), batch_seconds),
        inclusion_proofs_generated_per_second=_rate(len(paths), inclusion_generate),
        inclusion_proofs_verified_per_second=_rate(len(paths), inclusion_verify),
        consistency_proofs_generated_per_second=_rate(len(pairs), consistency_generate),
        consistency_proofs_verified_per_second=_rate(len(pairs), consistency_verify),
        reopen_seconds=reopen_seconds,
    )
