"""The credential authority's registry: who may enroll, and the public credentials enrolled.

Belenios-style (design ``board-services-storage.md`` §1.3): the credential authority is an
operator separate from the ballot box. It holds the roll of eligible voters as SHA-256 hashes
of one-time enrollment codes (the codes themselves are never stored); a voter enrolls once
with a code and the Ed25519 public credential made on their own device. When registration
closes, the sorted list of enrolled credentials becomes the ``credentials`` entry body, which
the authority signs and posts on the board. Counts are public: ``eligible`` (codes on the
roll), ``enrolled``, and whether registration is closed; ``enrolled ≤ eligible`` always
holds, since each code carries at most one credential.

Rules:

* a code enrolls once; repeating the *same* (code, credential) pair is an idempotent retry
  (the caller may have lost the answer) and changes nothing; the same code with another
  credential is refused (:class:`CodeAlreadyUsed`);
* a credential already enrolled under another code is refused (:class:`CredentialTaken`);
* an unknown code is refused (:class:`UnknownCode`);
* nothing is imported or enrolled after :meth:`Registry.close`.

Storage: one SQLite file (``registry.sqlite3`` in the election's data dir) in WAL mode with
``synchronous=FULL``. Each enrollment is one transaction, committed (fsync'd) before
:meth:`Registry.enroll` returns, so an acknowledged enrollment survives a crash or restart.
The file is bound to one election id (checked on open).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from evote.board.sqlite_errors import roll_back, sqlite_error
from evote.crypto import encoding
from evote.crypto.signing import VERIFY_KEY_BYTES, VerifyKey
from evote.errors import DecodeError, EvoteError, InvalidInput, StoreCorrupted
from evote.record.kinds import CredentialList

REGISTRY_FILE: Final = "registry.sqlite3"
MAX_CODE_CHARS: Final = 256
_CODE_TAG: Final = "evote/v1/enrollment-code"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS roll (
    code_hash BLOB PRIMARY KEY,
    credential BLOB UNIQUE
) STRICT;
"""


class RegistryError(EvoteError):
    """The registry refused an operation; nothing was changed."""


class UnknownCode(RegistryError):
    """The enrollment code is not on the roll."""


class CodeAlreadyUsed(RegistryError):
    """The enrollment code was already used, with another credential."""


class CredentialTaken(RegistryError):
    """The credential is already enrolled under another code."""


class RegistrationClosed(RegistryError):
    """Registration is closed: the roll and the credentials are final."""


@dataclass(frozen=True, slots=True)
class Counts:
    """The registry's public counts."""

    eligible: int
    enrolled: int
    closed: bool


def code_hash(code: str) -> bytes:
    """What the roll stores for an enrollment code: SHA-256 of a domain-tagged encoding."""
    if not code or len(code) > MAX_CODE_CHARS:
        raise InvalidInput(f"an enrollment code is 1-{MAX_CODE_CHARS} characters")
    return hashlib.sha256(encoding.encode([_CODE_TAG, code])).digest()


class Registry:
    """The roll and the enrolled credentials of one election, kept in a SQLite file."""

    def __init__(self, path: str | Path, election_id: bytes) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'election'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('election', ?)", (election_id,)
                )
            elif row[0] != election_id:
                raise StoreCorrupted(f"the registry in {self.path} belongs to another election")
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_dir(cls, data_dir: str | Path, election_id: bytes) -> Registry:
        return cls(Path(data_dir) / REGISTRY_FILE, election_id)

    def close_db(self) -> None:
        with self._lock:
            self._db.close()

    # reading ----------------------------------------------------------------------------------

    def _closed(self) -> bool:
        return self._db.execute("SELECT 1 FROM meta WHERE key = 'closed'").fetchone() is not None

    def counts(self) -> Counts:
        with self._lock:
            eligible, enrolled = self._db.execute(
                "SELECT COUNT(*), COUNT(credential) FROM roll"
            ).fetchone()
            return Counts(int(eligible), int(enrolled), self._closed())

    def credential_list(self) -> CredentialList:
        """The enrolled credentials, sorted by their bytes (unlinked from the codes)."""
        with self._lock:
            return self._credential_list()

    def _credential_list(self) -> CredentialList:
        rows = self._db.execute(
            "SELECT credential FROM roll WHERE credential IS NOT NULL ORDER BY credential"
        ).fetchall()
        return CredentialList(tuple(VerifyKey.decode(bytes(row[0])) for row in rows))

    # changing ---------------------------------------------------------------------------------

    def import_roll(self, codes: Iterable[str]) -> Counts:
        """Add enrollment codes to the roll (as hashes); codes already there are kept as they
        are, so a roll may be imported in batches and an import retried."""
        hashes = {code_hash(code) for code in codes}
        with self._writing("the roll import"):
            if self._closed():
                raise RegistrationClosed("registration is closed: the roll is final")
            self._db.executemany(
                "INSERT OR IGNORE INTO roll (code_hash) VALUES (?)",
                [(h,) for h in sorted(hashes)],
            )
        return self.counts()

    def enroll(self, code: str, credential: bytes) -> Counts:
        """Record ``credential`` for ``code``, durably, before returning."""
        hashed = code_hash(code)
        if len(credential) != VERIFY_KEY_BYTES:
            raise DecodeError(f"a credential is a {VERIFY_KEY_BYTES}-byte Ed25519 public key")
        VerifyKey.decode(credential)  # a valid point, or DecodeError
        with self._writing("the enrollment"):
            if self._closed():
                raise RegistrationClosed("registration is closed")
            row = self._db.execute(
                "SELECT credential FROM roll WHERE code_hash = ?", (hashed,)
            ).fetchone()
            if row is None:
                raise UnknownCode("this enrollment code is not on the roll")
            if row[0] is not None:
                if bytes(row[0]) != credential:
                    raise CodeAlreadyUsed("this enrollment code was already used")
            else:
                taken = self._db.execute(
                    "SELECT 1 FROM roll WHERE credential = ?", (credential,)
                ).fetchone()
                if taken is not None:
                    raise CredentialTaken("this credential is already enrolled")
                self._db.execute(
                    "UPDATE roll SET credential = ? WHERE code_hash = ?", (credential, hashed)
                )
        return self.counts()

    def close(self) -> bytes:
        """Close registration (durably) and return the ``credentials`` entry body: the
        sorted :class:`CredentialList`. Closing again returns the same body."""
        with self._writing("the close of registration"):
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('closed', x'01')")
            return self._credential_list().to_tlv()

    @contextlib.contextmanager
    def _writing(self, doing: str) -> Iterator[None]:
        """One durable transaction under the lock. An SQLite failure becomes
        :class:`~evote.errors.StoreWriteFailed` (the disk cannot write: retry later) or
        :class:`StoreCorrupted`, and nothing of the transaction stays."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                roll_back(self._db)
                raise sqlite_error(
                    self.path, doing, error, writing=True, store="the registry"
                ) from error
            except BaseException:
                roll_back(self._db)
                raise
