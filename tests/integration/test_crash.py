"""Kill (SIGKILL) a process appending to a SQLite board at random moments; lose nothing acked.

After each kill the store is reopened, which rebuilds the tree and checks it against every
stored checkpoint, and then every acknowledgement the child printed is reconciled: each
acknowledged entry is at its index with its tracking code, and each checkpoint handed out is
consistent with the recovered log. The negative control (acknowledge before committing) shows
that the reconciliation catches a lost acknowledged entry.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from evote.board.checkpoint import open_checkpoint
from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.merkle import verify_consistency
from evote.board.store import SqliteStore
from tests.integration.crash_setup import ORIGIN, log_key, rules

REPOSITORY = Path(__file__).resolve().parents[2]
KILLS = 20


@dataclass(frozen=True)
class Ack:
    first_index: int
    tracking_codes: tuple[bytes, ...]
    checkpoint: str


def run_and_kill(database: Path, seconds: float, *, ack_before_commit: bool = False) -> list[Ack]:
    """Start the appender, let it run ``seconds`` after it is ready, SIGKILL it, parse acks."""
    command = [sys.executable, "-m", "tests.integration.crash_appender", str(database)]
    if ack_before_commit:
        command.append("--ack-before-commit")
    child = subprocess.Popen(
        command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    ready = child.stdout.readline()
    assert ready == "READY\n", child.stderr.read() if child.stderr else ready
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout or ()), daemon=True)
    reader.start()
    time.sleep(seconds)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    reader.join(timeout=30)
    return [parse_ack(line) for line in lines if line.endswith("\n")]


def parse_ack(line: str) -> Ack:
    _, first, codes, checkpoint = line.split()
    note = "" if checkpoint == "-" else base64.b64decode(checkpoint).decode()
    return Ack(int(first), tuple(bytes.fromhex(c) for c in codes.split(",")), note)


def lost_acknowledged(database: Path, acks: list[Ack], new_acks: list[Ack]) -> list[str]:
    """Reopen the board and list every acknowledged fact it no longer has.

    Opening checks every stored checkpoint against the rebuilt tree. Every acknowledged entry
    (of all runs so far) must be at its index; every checkpoint handed out in the last run must
    be consistent with the recovered log (earlier ones were checked after earlier runs, and
    the log has only grown since, as the reopen's own checks show).
    """
    board = BulletinBoard(SqliteStore(database), log_key(), ORIGIN, rules())
    try:
        stored = [Entry.decode(data).tracking_code for data in board.entries(0, board.size)]
        problems = [
            f"acknowledged entry {ack.first_index + offset} is missing or different"
            for ack in acks
            for offset, code in enumerate(ack.tracking_codes)
            if ack.first_index + offset >= len(stored) or stored[ack.first_index + offset] != code
        ]
        handed_out_notes = [ack.checkpoint for ack in new_acks if ack.checkpoint]
        if not handed_out_notes:
            return problems
        current, _ = open_checkpoint(board.latest_checkpoint(), ORIGIN, log_key().verify_key)
        for note in handed_out_notes:
            handed_out, _ = open_checkpoint(note, ORIGIN, log_key().verify_key)
            if handed_out.size > current.size:
                problems.append(f"a checkpoint of size {handed_out.size} was handed out")
                continue
            verify_consistency(
                handed_out.size,
                current.size,
                handed_out.root,
                current.root,
                board.consistency_proof(handed_out.size, current.size),
            )
        return problems
    finally:
        board.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_acknowledged_append(tmp_path: Path) -> None:
    database = tmp_path / "board.sqlite3"
    chooser = random.Random(os.urandom(8))
    acknowledged: list[Ack] = []
    for _ in range(KILLS):
        acks = run_and_kill(database, chooser.uniform(0.05, 0.6))
        acknowledged.extend(acks)
        assert lost_acknowledged(database, acknowledged, acks) == []
    assert len(acknowledged) > KILLS, "the appender should acknowledge many batches"


@pytest.mark.slow
def test_negative_control_ack_before_commit_is_caught(tmp_path: Path) -> None:
    database = tmp_path / "board.sqlite3"
    # The child acknowledges, then waits 0.3 s before committing: a kill inside that window
    # loses an acknowledged entry, and the reconciliation must say so.
    acks = run_and_kill(database, 0.1, ack_before_commit=True)
    assert acks, "the negative-control child acknowledged nothing"
    assert lost_acknowledged(database, acks, acks) != []
