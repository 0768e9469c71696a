"""The voter directory: everything the voter's device keeps for one election, and the formats
of its files. Every file is written atomically (:func:`evote.files.write_atomically`).

=====================  ==================================================================
``voter.json``         the pinned election id, the server, the public credential, the next
                       ballot sequence number and the ballot style used
``credential.key``     the Ed25519 credential, made on this device and sealed under the
                       voter's passphrase (:mod:`evote.crypto.keystore`)
``manifest.entry``     entry 0 of the board (the checked manifest), for offline checks
``ca.pem``             the election CA the server's certificate must chain to
``receipts/``          one JSON file per cast or audited ballot: the receipt, the entry
                       bytes, the confirmation code (see :class:`StoredReceipt`)
``pending-cast.json``  a ballot sent whose answer did not arrive (removed once answered)
=====================  ==================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from evote.client.receipt import Receipt, ReceiptRefused
from evote.client.voter.errors import SetupRefused, VoterError
from evote.client.voter.setup import check_manifest_entry
from evote.crypto import encoding
from evote.crypto.keystore import KdfLimits, open_with_passphrase, seal_with_passphrase
from evote.crypto.signing import SEED_BYTES, SigningKey, VerifyKey
from evote.election.manifest import Manifest
from evote.errors import DecodeError
from evote.files import write_atomically

STATE_FILE: Final = "voter.json"
KEY_FILE: Final = "credential.key"
MANIFEST_FILE: Final = "manifest.entry"
CA_FILE: Final = "ca.pem"
RECEIPTS_DIR: Final = "receipts"
PENDING_FILE: Final = "pending-cast.json"

STATE_FORMAT: Final = "evote-voter/v1"
RECEIPT_FORMAT: Final = "evote-receipt/v1"
_CREDENTIAL_TAG: Final = "evote/v1/voter-credential"
#: Receipt and state files larger than this are refused unread (a ballot entry is a few KiB).
MAX_FILE_BYTES: Final = 4 << 20

ReceiptKind = Literal["cast", "audit"]


def _json_object(data: bytes, what: str) -> dict[str, object]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DecodeError(f"{what} is not JSON: {error}") from error
    except RecursionError:
        raise DecodeError(f"{what} is not an evote file: its JSON is nested too deeply") from None
    if not isinstance(value, dict):
        raise DecodeError(f"{what} is not a JSON object")
    return value


def _field_str(data: Mapping[str, object], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise DecodeError(f"{what}: {key!r} must be text")
    return value


def _field_int(data: Mapping[str, object], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DecodeError(f"{what}: {key!r} must be a non-negative whole number")
    return value


def _field_hex(data: Mapping[str, object], key: str, what: str, size: int | None = None) -> bytes:
    text = _field_str(data, key, what)
    try:
        value = bytes.fromhex(text)
    except ValueError as error:
        raise DecodeError(f"{what}: {key!r} is not hex") from error
    if size is not None and len(value) != size:
        raise DecodeError(f"{what}: {key!r} must be {size} bytes")
    return value


@dataclass(frozen=True, slots=True)
class VoterState:
    """``voter.json``: what the device remembers between commands (no secret)."""

    election_id: bytes
    server: str
    credential: VerifyKey
    next_sequence: int = 0
    style: str | None = None

    def to_json(self) -> bytes:
        document = {
            "format": STATE_FORMAT,
            "election_id": self.election_id.hex(),
            "server": self.server,
            "credential": self.credential.encode().hex(),
            "next_sequence": self.next_sequence,
            "style": self.style,
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> VoterState:
        what = STATE_FILE
        document = _json_object(data, what)
        if document.get("format") != STATE_FORMAT:
            raise DecodeError(f"{what} is not an evote voter state ({STATE_FORMAT})")
        style = document.get("style")
        if style is not None and not isinstance(style, str):
            raise DecodeError(f"{what}: 'style' must be text")
        return cls(
            _field_hex(document, "election_id", what, 32),
            _field_str(document, "server", what),
            VerifyKey.decode(_field_hex(document, "credential", what, 32)),
            _field_int(document, "next_sequence", what),
            style,
        )


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A receipt file: the ballot box's receipt, the exact entry the device sent (what the
    offline check hashes), the confirmation code shown before it was sent, and its kind."""

    kind: ReceiptKind
    receipt: Receipt
    entry: bytes
    confirmation_code: bytes
    sequence: int

    @property
    def file_name(self) -> str:
        return f"{self.receipt.leaf_index:08d}-{self.kind}.json"

    def to_json(self) -> bytes:
        receipt = self.receipt
        document = {
            "format": RECEIPT_FORMAT,
            "kind": self.kind,
            "election_id": receipt.election_id.hex(),
            "tracking_code": receipt.tracking_code.hex(),
            "leaf_index": receipt.leaf_index,
            "checkpoint": receipt.checkpoint,
            "inclusion_proof": [node.hex() for node in receipt.inclusion_proof],
            "confirmation_code": self.confirmation_code.hex(),
            "sequence": self.sequence,
            "entry": self.entry.hex(),
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, source: str) -> StoredReceipt:
        """Parse a receipt file; :class:`ReceiptRefused` if it is not one."""
        try:
            document = _json_object(data, source)
            if document.get("format") != RECEIPT_FORMAT:
                raise DecodeError(f"{source} is not an evote receipt ({RECEIPT_FORMAT})")
            kind = document.get("kind")
            if kind not in ("cast", "audit"):
                raise DecodeError(f"{source}: 'kind' is cast or audit")
            proof = document.get("inclusion_proof")
            if not isinstance(proof, list) or not all(isinstance(n, str) for n in proof):
                raise DecodeError(f"{source}: 'inclusion_proof' is a list of hex hashes")
            receipt = Receipt(
                election_id=_field_hex(document, "election_id", source, 32),
                tracking_code=_field_hex(document, "tracking_code", source, 32),
                leaf_index=_field_int(document, "leaf_index", source),
                checkpoint=_field_str(document, "checkpoint", source),
                inclusion_proof=tuple(bytes.fromhex(node) for node in proof),
            )
            return cls(
                "cast" if kind == "cast" else "audit",
                receipt,
                _field_hex(document, "entry", source),
                _field_hex(document, "confirmation_code", source, 32),
                _field_int(document, "sequence", source),
            )
        except (DecodeError, ValueError) as error:
            raise ReceiptRefused(f"{source} is not a readable receipt: {error}") from None


@dataclass(frozen=True, slots=True)
class PendingCast:
    """A ballot entry sent to the ballot box whose answer has not arrived yet."""

    entry: bytes
    confirmation_code: bytes
    sequence: int

    def to_json(self) -> bytes:
        document = {
            "entry": self.entry.hex(),
            "confirmation_code": self.confirmation_code.hex(),
            "sequence": self.sequence,
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> PendingCast:
        document = _json_object(data, PENDING_FILE)
        return cls(
            _field_hex(document, "entry", PENDING_FILE),
            _field_hex(document, "confirmation_code", PENDING_FILE, 32),
            _field_int(document, "sequence", PENDING_FILE),
        )


class VoterDir:
    """The files of one voter's device for one election (see the module)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def state_path(self) -> Path:
        return self.path / STATE_FILE

    @property
    def key_path(self) -> Path:
        return self.path / KEY_FILE

    @property
    def pending_path(self) -> Path:
        return self.path / PENDING_FILE

    @property
    def receipts_path(self) -> Path:
        return self.path / RECEIPTS_DIR

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_FILE

    @property
    def ca_path(self) -> Path:
        return self.path / CA_FILE

    def read_file(self, path: Path, what: str) -> bytes:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise VoterError(f"{path} is larger than any {what} ({MAX_FILE_BYTES} bytes)")
            return path.read_bytes()
        except FileNotFoundError:
            raise VoterError(
                f"{self.path} holds no {what} ({path.name}): is this your voter directory? "
                "Enroll first with `evote enroll`"
            ) from None
        except OSError as error:
            raise VoterError(f"cannot read {path}: {error.strerror or error}") from error

    def write_file(self, path: Path, data: bytes, mode: int = 0o600) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data, mode)
        except OSError as error:
            raise VoterError(f"cannot write {path}: {error.strerror or error}") from error

    # state -----------------------------------------------------------------------------------

    def enrolled(self) -> bool:
        return self.state_path.exists()

    def load_state(self) -> VoterState:
        try:
            return VoterState.from_json(self.read_file(self.state_path, "voter state"))
        except DecodeError as error:
            raise VoterError(f"{self.state_path} is damaged: {error}") from error

    def save_state(self, state: VoterState) -> None:
        self.write_file(self.state_path, state.to_json())

    def manifest(self, state: VoterState) -> Manifest:
        """The manifest kept at enrollment, checked again against the pinned election id."""
        try:
            return check_manifest_entry(self.manifest_entry(), state.election_id)
        except SetupRefused as error:
            raise VoterError(f"{self.manifest_path} is damaged: {error}") from error

    def manifest_entry(self) -> bytes:
        """The manifest entry kept at enrollment, as the board served it (unchecked)."""
        return self.read_file(self.manifest_path, "manifest")

    def save_setup(self, manifest_entry: bytes, ca_pem: bytes) -> None:
        """Keep the checked manifest entry and the election CA, for checks without the
        server and for connecting to it again."""
        self.write_file(self.manifest_path, manifest_entry, 0o644)
        self.write_file(self.ca_path, ca_pem, 0o644)

    def ca_pem(self) -> bytes:
        return self.read_file(self.ca_path, "election CA certificate")

    # the credential ------------------------------------------------------------------------------

    def has_credential(self) -> bool:
        return self.key_path.exists()

    def new_credential(
        self, election_id: bytes, passphrase: bytes, limits: KdfLimits
    ) -> SigningKey:
        """Generate the voter's credential on this device and seal it under ``passphrase``."""
        key = SigningKey.generate()
        plaintext = encoding.encode([_CREDENTIAL_TAG, election_id, key.seed()])
        self.write_file(self.key_path, seal_with_passphrase(passphrase, plaintext, limits))
        return key

    def credential(self, election_id: bytes, passphrase: bytes) -> SigningKey:
        """Open the sealed credential (:class:`~evote.errors.KeystoreError` for a wrong
        passphrase) and check it was made for ``election_id``."""
        plaintext = open_with_passphrase(passphrase, self.read_file(self.key_path, "credential"))
        try:
            fields = encoding.expect_list(encoding.decode(plaintext), 3, what="credential")
            if fields[0] != _CREDENTIAL_TAG:
                raise DecodeError("not an evote voter credential")
            made_for = encoding.expect_bytes(fields[1], 32, what="credential.election_id")
            key = SigningKey(encoding.expect_bytes(fields[2], SEED_BYTES, what="credential.seed"))
        except DecodeError as error:
            raise VoterError(
                f"{self.key_path} opens, but holds no voter credential: {error}"
            ) from error
        if made_for != election_id:
            raise VoterError(
                f"{self.key_path} holds a credential made for election {made_for.hex()}, not "
                f"{election_id.hex()}: use another voter directory for this election"
            )
        return key

    # receipts and the pending cast -------------------------------------------------------------

    def receipts(self, kind: ReceiptKind | None = None) -> list[Path]:
        """The receipt files, in board order (optionally of one kind)."""
        if not self.receipts_path.is_dir():
            return []
        suffix = f"-{kind}.json" if kind else ".json"
        return sorted(p for p in self.receipts_path.iterdir() if p.name.endswith(suffix))

    def latest_cast(self) -> Path:
        cast = self.receipts("cast")
        if not cast:
            raise VoterError(f"{self.path} holds no receipt of a cast ballot yet")
        return cast[-1]

    def read_receipt(self, path: Path) -> StoredReceipt:
        return StoredReceipt.from_json(self.read_file(path, "receipt"), str(path))

    def write_receipt(self, stored: StoredReceipt) -> Path:
        path = self.receipts_path / stored.file_name
        self.write_file(path, stored.to_json(), 0o644)
        return path

    def pending(self) -> PendingCast | None:
        if not self.pending_path.exists():
            return None
        try:
            return PendingCast.from_json(self.read_file(self.pending_path, "pending ballot"))
        except DecodeError as error:
            raise VoterError(f"{self.pending_path} is damaged: {error}") from error

    def set_pending(self, pending: PendingCast | None) -> None:
        if pending is None:
            self.pending_path.unlink(missing_ok=True)
        else:
            self.write_file(self.pending_path, pending.to_json())
