"""A process that appends to a SQLite board in a loop, printing one line per acknowledged batch.

Run by ``test_crash.py`` and killed with SIGKILL at random moments. Each line is written only
after ``BulletinBoard.append`` has returned, i.e. after the commit:

    ACK <first index> <tracking code hex>,<tracking code hex>,... <checkpoint note, base64>

With ``--ack-before-commit`` (the negative control) it prints the line *before* appending and
then waits, which is the bug the crash test must catch.
"""

from __future__ import annotations

import argparse
import base64
import sys
import time

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.store import SqliteStore
from evote.crypto.rng import random_below, random_bytes
from evote.crypto.signing import SigningKey
from tests.integration.crash_setup import ELECTION_ID, ORIGIN, log_key, rules


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("--ack-before-commit", action="store_true")
    arguments = parser.parse_args()
    board = BulletinBoard(SqliteStore(arguments.database), log_key(), ORIGIN, rules())
    voter = SigningKey.generate()
    print("READY", flush=True)
    while True:
        batch = [
            Entry.create("ballot", ELECTION_ID, random_bytes(64), [voter]).encoded
            for _ in range(1 + random_below(8))
        ]
        codes = ",".join(Entry.decode(data).tracking_code.hex() for data in batch)
        if arguments.ack_before_commit:
            _ack(board.size, codes, "")
            time.sleep(0.3)
            board.append(batch)
            continue
        appended = board.append(batch)
        _ack(appended.first_index, codes, appended.checkpoint)


def _ack(first_index: int, codes: str, checkpoint: str) -> None:
    encoded = base64.b64encode(checkpoint.encode()).decode() or "-"
    sys.stdout.write(f"ACK {first_index} {codes} {encoded}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
