"""Setting up a fresh election's data dir, and issuing the parties' role certificates.

A data dir is ready to serve (:func:`evote.services.server.serve_election_tls`, ``evote serve``)
once it holds the board with the manifest as entry 0 and the election CA with the server's
certificate. :func:`create_election_dir` makes both from the manifest entry the officials
signed (``evote manifest sign``, merged with ``evote ceremony merge-signatures`` when they sign
apart) and the log's key, which must be the one the manifest names. Nothing is written unless
every check passes; repeating the same setup changes nothing.

:func:`issue_role` gives a party (an official, a guardian, a witness, the credential authority)
the mutual-TLS certificate its client presents on the control port.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.store import SqliteStore
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import DecodeError, EntryRejected, InvalidInput
from evote.record import kinds
from evote.services.ca import ElectionCA, Role, write_role_dir
from evote.services.server import BOARD_FILE, CA_CERT_FILE, CA_KEY_FILE, setup_data_dir


class SetupRefused(InvalidInput):
    """The data dir cannot be set up with this manifest entry and log key."""


def check_manifest_entry(data: bytes) -> Manifest:
    """The manifest in ``data``, an entry signed by a quorum of the officials it names."""
    try:
        entry = Entry.decode(data)
    except DecodeError as error:
        raise SetupRefused(f"not a board entry: {error}") from None
    if entry.kind != kinds.MANIFEST:
        raise SetupRefused(f"this is a {entry.kind!r} entry, not the manifest")
    manifest = Manifest.from_tlv(entry.body)
    try:
        kinds.entry_rules(manifest.election_id, manifest.scheme_name).check(data)  # signed, ours
    except EntryRejected as error:
        raise SetupRefused(str(error)) from None
    signers = set(entry.signers)
    if not signers <= set(manifest.officials):
        raise SetupRefused("the manifest entry is signed by keys that are not its officials'")
    if len(signers) < manifest.official_quorum:
        raise SetupRefused(
            f"the manifest entry needs {manifest.official_quorum} officials' signatures, "
            f"has {len(signers)}"
        )
    return manifest


def create_election_dir(directory: Path, manifest_entry: bytes, log_key: SigningKey) -> Manifest:
    """Put ``manifest_entry`` on a new board in ``directory`` and make the CA there.

    Raises :class:`SetupRefused` (and writes nothing) if the entry is not a manifest signed by
    a quorum of its officials, if ``log_key`` is not the manifest's log key, or if the
    directory already holds a board that starts with another entry. Repeating a setup that
    was done is harmless.
    """
    manifest = check_manifest_entry(manifest_entry)
    if log_key.verify_key != manifest.log_key:
        raise SetupRefused("this log key is not the one the manifest names")
    directory.mkdir(parents=True, exist_ok=True)
    board = BulletinBoard(
        SqliteStore(directory / BOARD_FILE),
        log_key,
        manifest.log_origin,
        kinds.entry_rules(manifest.election_id, manifest.scheme_name),
        manifest.witness_keys(),
    )
    try:
        if board.size == 0:
            board.append([manifest_entry])
        elif board.entry(0) != manifest_entry:
            raise SetupRefused(f"{directory} already holds the board of another election")
    finally:
        board.close()
    setup_data_dir(directory, ca_name=f"evote election {manifest.election_id.hex()[:16]}")
    return manifest


def issue_role(data_dir: Path, role: Role, out: Path, *, days: int = 3) -> None:
    """Issue ``role``'s client certificate from the CA in ``data_dir`` into ``out``."""
    try:
        ca = ElectionCA.from_pem(
            (data_dir / CA_KEY_FILE).read_bytes(), (data_dir / CA_CERT_FILE).read_bytes()
        )
    except OSError as error:
        raise InvalidInput(
            f"no election CA in {data_dir} ({error.strerror or error}): run `evote setup` first"
        ) from None
    write_role_dir(out, ca.issue_client(role, lifetime=timedelta(days=days)))
