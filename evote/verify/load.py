"""Reading an election record from its directory: the only I/O of the verifier.

A record directory holds ``entries.tlv`` and ``checkpoints.tlv`` (README, "The record format").
Its trust roots (log origin and key, witness keys and quorum) are in the manifest, the body of
entry 0, whose SHA-256 is the election id published out of band. So a record is read in two
steps (docs/election-record.md, "Trust roots"):

1. :func:`read_first_entry` takes the raw bytes of entry 0 straight from ``entries.tlv``;
   the caller parses the manifest from it and compares its id with the published one;
2. :func:`load_entries` then hands the manifest's trust roots to
   :func:`evote.board.record.load_record`, which checks every entry's envelope and
   signatures, every checkpoint's signatures and root, and that every byte is covered.

:func:`load` does both for callers that want the checked record or an exception.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from evote.board.entry import Entry
from evote.board.record import ENTRIES_FILE, Record, load_record, read_entries
from evote.election.manifest import Manifest
from evote.errors import DecodeError, RecordError
from evote.record.kinds import MANIFEST, entry_rules


def read_first_entry(directory: str | Path) -> bytes:
    """The stored bytes of entry 0, unchecked; raise :class:`RecordError` if there is none."""
    entries = read_entries(directory)
    if not entries:
        raise RecordError(
            f"{Path(directory) / ENTRIES_FILE} holds no entry: entry 0 must be the manifest"
        )
    return entries[0]


def load_entries(directory: str | Path, manifest: Manifest) -> Record:
    """Load and check the whole record under the manifest's trust roots (check 1).

    Raises :class:`RecordError` naming the first entry or checkpoint that does not check out.
    """
    election_id = hashlib.sha256(manifest.to_tlv()).digest()
    return load_record(
        directory,
        manifest.log_origin,
        manifest.log_key,
        entry_rules(election_id, manifest.scheme_name),
        manifest.witness_keys(),
    )


@dataclass(frozen=True, slots=True)
class LoadedRecord:
    """A record checked under the trust roots of its manifest."""

    manifest: Manifest
    election_id: bytes
    record: Record


def load(directory: str | Path, election_id: bytes | None = None) -> LoadedRecord:
    """Read entry 0's manifest, compare its id with ``election_id`` if given, load the record.

    Raises :class:`RecordError` if entry 0 is not a manifest, if the id differs, or if the
    record does not check out. This is the "it loads" part of verification only: run
    :func:`evote.verify.runner.verify_record` for every check.
    """
    try:
        first = Entry.decode(read_first_entry(directory))
        if first.kind != MANIFEST:
            raise RecordError(f"entry 0 is a {first.kind!r} entry, not the manifest")
        manifest = Manifest.from_tlv(first.body)
    except DecodeError as error:
        raise RecordError(f"entry 0: {error}") from error
    found = hashlib.sha256(first.body).digest()
    if election_id is not None and found != election_id:
        raise RecordError(
            f"the record's manifest has election id {found.hex()}, not {election_id.hex()}"
        )
    return LoadedRecord(manifest, found, load_entries(directory, manifest))
