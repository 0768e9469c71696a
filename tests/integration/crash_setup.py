"""The fixed board configuration shared by the crash test and its appender process."""

from __future__ import annotations

import hashlib

from evote.board.entry import EntryKind, EntryRules
from evote.crypto.signing import SigningKey

ELECTION_ID = hashlib.sha256(b"crash test election").digest()
ORIGIN = "evote.test/crash"


def log_key() -> SigningKey:
    # A fixed key, so that the test process can check the checkpoints its child signed.
    return SigningKey(hashlib.sha256(b"crash test log key").digest())


def rules() -> EntryRules:
    return EntryRules.of(ELECTION_ID, [EntryKind("ballot")])
