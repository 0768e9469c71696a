"""The election the voter was given, as the public board shows it, checked before anything of
the voter's is sent.

The voter is given an election id out of band: the SHA-256 of the manifest, the fingerprint
officials publish. :func:`fetch_setup` reads the board and checks that entry 0 is the manifest
with that id, that the checkpoint is signed by the log key that manifest names, that the
entries read are the ones that checkpoint commits to (a consistency proof from the prefix
read), and that the key ceremony, the election key and the credential list pass the
independent verifier's own checks (:mod:`evote.verify.checks`, checks 2 and 4-6, picked by the
manifest's scheme in :mod:`evote.client.election_key`: for scheme A the election key is
recomputed from the guardians' ceremony entries and must be the joint-key entry that an official
quorum and every guardian signed; for scheme B it is the dealer's key entry, signed by the dealer
and an official quorum and fitting the manifest). Only then does the device encrypt under that
key.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import MerkleTree, verify_consistency
from evote.client.channels import PAGE
from evote.client.election_key import derive_context, key_kind, label
from evote.client.voter.errors import SetupRefused, VoterError
from evote.crypto.signing import VerifyKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.errors import DecodeError, EntryRejected, EvoteError, VerificationError
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.verify import checks
from evote.verify.checks import Findings


def parse_election_id(text: str) -> bytes:
    """The 32-byte election id from its hex form (spaces and colons are ignored)."""
    cleaned = "".join(text.split()).replace(":", "").lower()
    if len(cleaned) != 64 or any(c not in string.hexdigits for c in cleaned):
        raise VoterError(
            f"{text!r} is not an election id: it is the 64 hex digits (SHA-256 of the "
            "manifest) the election officials publish"
        )
    return bytes.fromhex(cleaned)


class BoardReader(Protocol):
    """What the device reads from the public board
    (:class:`~evote.client.channels.BoardClient` over gRPC)."""

    def checkpoint(self, size: int = 0) -> str: ...

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]: ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...


@dataclass(frozen=True, slots=True)
class ElectionSetup:
    """The election as the public board shows it, every part checked (see the module)."""

    manifest_entry: bytes
    manifest: Manifest
    checkpoint: Checkpoint
    #: ``None`` until the election key (scheme A's joint key, scheme B's dealer's key) is on
    #: the board.
    context: ElectionContext | None
    #: ``None`` until registration closed and the authority posted the list.
    credentials: frozenset[VerifyKey] | None
    opened: bool


def _findings(found: Findings, what: str) -> None:
    """Raise :class:`SetupRefused` with every failure of one of the verifier's checks."""
    if not found.passed:
        reasons = "; ".join(str(failure) for failure in found.failures)
        raise SetupRefused(
            f"{what} on the board does not check out ({reasons}): do not vote with this "
            "server; tell the election officials"
        )


def check_manifest_entry(data: bytes, election_id: bytes) -> Manifest:
    """Entry 0 checked against the election id the voter was given (the verifier's check 2:
    canonical, its SHA-256 is the id, signed by an official quorum)."""
    try:
        found = hashlib.sha256(Entry.decode(data).body).digest()
    except DecodeError as error:
        raise SetupRefused(f"entry 0 of the board is not an entry: {error}") from error
    if found != election_id:
        raise SetupRefused(
            f"this server holds election {found.hex()}, not election {election_id.hex()} (the "
            "id you gave): check the election id and the server address; nothing was sent"
        )
    findings, info = checks.check_manifest(data, election_id)
    _findings(findings, "the manifest")
    if info is None:  # pragma: no cover - a manifest that does not parse is a finding
        raise SetupRefused("entry 0 of the board is not a manifest")
    return info.manifest


def _read_setup_entries(board: BoardReader, size: int, manifest: Manifest) -> list[Entry]:
    """Entries from 0 up to the ``open`` mark (ballots come after it), within ``size``,
    each with a valid envelope (this election, a kind of its scheme) and valid signatures."""
    read: list[Entry] = []
    rules = kinds.entry_rules(manifest.election_id, manifest.scheme_name)
    while len(read) < size:
        page = board.entries(len(read), min(PAGE, size - len(read)))
        if not page:
            raise SetupRefused(
                f"the board's checkpoint covers {size} entries, but the server sent only "
                f"{len(read)}"
            )
        for data in page[: size - len(read)]:
            try:
                entry = rules.check(data)
            except EntryRejected as error:
                raise SetupRefused(f"entry {len(read)} of the board: {error}") from error
            read.append(entry)
            if entry.kind == kinds.OPEN:
                return read
    return read


def _opened(entries: Sequence[Entry], manifest: Manifest) -> bool:
    """Whether the officials opened the election (an ``open`` mark with their quorum)."""
    for index, entry in enumerate(entries):
        if entry.kind != kinds.OPEN:
            continue
        signed = checks.official_signers(entry, manifest)
        if signed < manifest.official_quorum:
            raise SetupRefused(
                f"the opening (entry {index}) is signed by {signed} officials; the manifest "
                f"requires {manifest.official_quorum}: tell the election officials"
            )
        try:
            PhaseMark.from_tlv(entry.body, "open")
        except DecodeError as error:
            raise SetupRefused(f"the opening (entry {index}) does not parse: {error}") from error
        return True
    return False


def fetch_setup(board: BoardReader, election_id: bytes) -> ElectionSetup:
    """Read the election's setup from the board and check it (see the module); raise
    :class:`SetupRefused` for anything that does not check out.

    The key ceremony, the election key and the credential list are judged by the verifier's
    own checks 4, 5 and 6 (:mod:`evote.verify.checks`), once their entries are on the board.
    """
    first = board.entries(0, 1)
    if not first:
        raise SetupRefused("the server's board is empty: it holds no election")
    manifest = check_manifest_entry(first[0], election_id)
    try:
        checkpoint, _ = open_checkpoint(board.checkpoint(), manifest.log_origin, manifest.log_key)
    except EvoteError as error:
        raise SetupRefused(
            f"the board's checkpoint is not signed by this election's log key: {error}"
        ) from error
    if checkpoint.size == 0:
        raise SetupRefused("the board's checkpoint covers no entry, not even the manifest")
    read = _read_setup_entries(board, checkpoint.size, manifest)
    tree = MerkleTree([entry.tracking_code for entry in read])
    proof = []
    if tree.size != checkpoint.size:
        proof = board.consistency_proof(tree.size, checkpoint.size)
    try:
        if read[0].encoded != first[0]:
            raise SetupRefused("entry 0 of the board changed while it was read")
        verify_consistency(tree.size, checkpoint.size, tree.root(), checkpoint.root, proof)
    except VerificationError as error:
        raise SetupRefused(
            f"the entries the server sent are not the ones its signed checkpoint commits to: "
            f"{error}"
        ) from error
    present = {entry.kind for entry in read}
    context = None
    if key_kind(manifest) in present:
        context, findings = derive_context(read, manifest)
        for found in findings:
            _findings(found, f"the key ceremony ({label(found)})")
        if context is None:  # pragma: no cover - a key that gives no context is a finding
            raise SetupRefused("the key ceremony on the board gives no election key")
    credentials = None
    if kinds.CREDENTIALS in present:
        found, credentials = checks.check_credentials(read, manifest)
        _findings(found, "the credential list")
    return ElectionSetup(
        first[0], manifest, checkpoint, context, credentials, _opened(read, manifest)
    )
