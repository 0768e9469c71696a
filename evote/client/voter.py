"""A voter's own device: enrolling a credential, casting (after an optional Benaloh challenge)
and keeping receipts that the voter can check later, offline or against the public board.

Nothing here trusts the server. Before anything of the voter's is sent, the device reads the
election's setup from the public board and checks it (:func:`fetch_setup`): entry 0 is the
manifest whose SHA-256 is the election id the voter was given (the fingerprint officials
publish), the checkpoint is signed by the log key that manifest names, the entries read are
the ones that checkpoint commits to (a consistency proof from the prefix read), and the key
ceremony, the joint key and the credential list pass the independent verifier's own checks
(:mod:`evote.verify.checks`, checks 2 and 4-6: the election key is recomputed from the
guardians' ceremony entries and must be the joint-key entry that an official quorum and every
guardian signed). Only then does the device encrypt under that key.

A **voter directory** keeps the voter's state (all files written atomically):

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

Retries are safe by construction. An enrollment whose answer was lost is repeated with the
same credential (``credential.key`` is written before the code is sent, ``voter.json`` only
after the registry answered), and the registry answers a repeated code and credential with
OK. A cast whose answer was lost is kept in ``pending-cast.json`` and sent again byte for byte
before anything else; the ballot box answers a repeat with the original leaf. The sequence
number advances only once a receipt for it is held, and a revote uses the next one, so the
last ballot cast is the one counted (the manifest's revote policy, ``last-counts``).

A challenged (audited) ballot reveals its seed; it is never cast, and the ballot cast after it
is a fresh encryption (new ballot id, new seed) with the same sequence number, as the ballot
box's rules require (:mod:`evote.record.ballot_box`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal, Protocol

import grpc

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from evote.client.channels import (
    PAGE,
    TIMEOUT,
    BallotBoxClient,
    BoardClient,
    Channel,
    RegistrationStatus,
    RegistryClient,
    secure_channel,
)
from evote.client.receipt import Receipt, ReceiptRefused, check_receipt
from evote.crypto import encoding
from evote.crypto.keystore import MODERATE, KdfLimits, open_with_passphrase, seal_with_passphrase
from evote.crypto.signing import SEED_BYTES, SigningKey, VerifyKey
from evote.election.audit import AuditReveal, verify_audit
from evote.election.context import ElectionContext
from evote.election.encrypt import EncryptionResult, PlaintextBallot, encrypt_ballot
from evote.election.manifest import REVOTE_LAST_COUNTS, Manifest
from evote.errors import (
    DecodeError,
    EntryRejected,
    EvoteError,
    InvalidInput,
    VerificationError,
)
from evote.files import write_atomically
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.record.registry import MAX_CODE_CHARS
from evote.verify import checks
from evote.verify.checks import Findings

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
#: What the voter was doing when a call failed (it decides the advice given).
Action = Literal["enroll", "cast", "audit", "read"]


class VoterError(EvoteError):
    """Something the voter can act on went wrong; the message says what to do. Unless it says
    otherwise, nothing in the voter directory changed."""


class ServerUnavailable(VoterError):
    """The election server could not be reached or did not answer in time; trying the same
    command again is safe."""


class SetupRefused(VoterError):
    """The public board does not show the election the voter was given, or its setup does not
    check out (signatures, checkpoint, key ceremony, joint key); nothing of the voter's was
    sent."""


class EnrollmentRefused(VoterError):
    """The registry refused the enrollment: unknown code, code already used, or registration
    closed."""


class NotOpenForVoting(VoterError):
    """Voting is not possible now: the election has not opened yet, or it has closed."""


class BallotRefused(VoterError):
    """The ballot box refused the ballot (its reason is in the message); nothing was cast."""


class InvalidChoice(VoterError):
    """A choice does not fit the ballot: it names the contest and what it allows."""


# --- small parsers ---------------------------------------------------------------------------


def parse_election_id(text: str) -> bytes:
    """The 32-byte election id from its hex form (spaces and colons are ignored)."""
    cleaned = "".join(text.split()).replace(":", "").lower()
    if len(cleaned) != 64 or any(c not in string.hexdigits for c in cleaned):
        raise VoterError(
            f"{text!r} is not an election id: it is the 64 hex digits (SHA-256 of the "
            "manifest) the election officials publish"
        )
    return bytes.fromhex(cleaned)


def parse_choices(values: Sequence[str]) -> dict[str, list[str]]:
    """``CONTEST=OPTION`` arguments (an option list may be comma-separated, a contest may be
    repeated, ``CONTEST=`` leaves it blank) as option ids per contest, in the order given."""
    chosen: dict[str, list[str]] = {}
    for value in values:
        contest, sign, options = value.partition("=")
        contest = contest.strip()
        if not sign or not contest:
            raise InvalidChoice(
                f"{value!r} is not a choice: write CONTEST=OPTION (for example head=koval), "
                "or CONTEST= to leave a contest blank"
            )
        chosen.setdefault(contest, []).extend(o.strip() for o in options.split(",") if o.strip())
    return chosen


# --- choosing ----------------------------------------------------------------------------------


def style_parts(manifest: Manifest, style: str) -> tuple[str, ...]:
    """The contest parts of ``style``; :class:`InvalidChoice` naming the styles otherwise."""
    try:
        return manifest.style(style).parts
    except InvalidInput:
        styles = ", ".join(s.id for s in manifest.ballot_styles)
        raise InvalidChoice(
            f"the election has no ballot style {style!r}; its styles are: {styles}"
        ) from None


def part_label(manifest: Manifest, part: str) -> str:
    """A contest part as a voter reads it: its id and title."""
    contest, _ = manifest.part(part)
    return f"{part} ({contest.title})"


def part_options(manifest: Manifest, part: str) -> tuple[str, ...]:
    contest, district = manifest.part(part)
    return contest.options(district)


def check_part_choice(manifest: Manifest, part: str, chosen: Sequence[str]) -> None:
    """Raise :class:`InvalidChoice` naming the contest unless ``chosen`` is a valid choice in
    ``part``: every option exists, none twice, and the number of marks is allowed."""
    contest, _ = manifest.part(part)
    options = part_options(manifest, part)
    label = part_label(manifest, part)
    for option in chosen:
        if option not in options:
            raise InvalidChoice(
                f"contest {label}: there is no option {option!r}; the options are: "
                + ", ".join(options)
            )
    repeated = sorted({option for option in chosen if list(chosen).count(option) > 1})
    if repeated:
        raise InvalidChoice(f"contest {label}: {', '.join(repeated)} marked more than once")
    if len(chosen) > contest.max_marks:
        raise InvalidChoice(
            f"contest {label} allows at most {contest.max_marks} mark(s); you chose {len(chosen)}"
        )
    if len(chosen) < contest.min_marks:
        raise InvalidChoice(
            f"contest {label} needs at least {contest.min_marks} mark(s); you chose {len(chosen)}"
        )


def make_plaintext(
    manifest: Manifest, style: str, choices: Mapping[str, Sequence[str]]
) -> PlaintextBallot:
    """The voter's choices as a plaintext ballot of ``style``, checked against the manifest.

    A choice is keyed by the contest id (or the part id, ``contest/district``, of an open
    list); a contest left out is left blank, if its rules allow that.
    """
    parts = style_parts(manifest, style)
    by_key = {part: part for part in parts} | {part.partition("/")[0]: part for part in parts}
    selected: dict[str, list[str]] = {}
    for key, options in choices.items():
        part = by_key.get(key)
        if part is None:
            raise InvalidChoice(
                f"your ballot has no contest {key!r}; its contests are: {', '.join(parts)}"
            )
        if part in selected:
            raise InvalidChoice(f"contest {part_label(manifest, part)} is chosen twice")
        selected[part] = list(options)
    for part in parts:
        check_part_choice(manifest, part, selected.get(part, []))
    return PlaintextBallot.from_choices(manifest, style, selected)


def chosen_options(manifest: Manifest, plaintext: PlaintextBallot) -> list[tuple[str, list[str]]]:
    """Per contest part of the ballot, the option ids marked (for showing the voter)."""
    shown = []
    for part, votes in zip(style_parts(manifest, plaintext.style), plaintext.votes, strict=True):
        options = part_options(manifest, part)
        shown.append((part, [option for option, vote in zip(options, votes, strict=True) if vote]))
    return shown


def revote_allowed(policy: str) -> bool:
    """Whether a voter who already cast may cast again under the manifest's revote policy."""
    return policy == REVOTE_LAST_COUNTS


# --- failures of calls ---------------------------------------------------------------------------


def rpc_failure(
    code: grpc.StatusCode, details: str | None, *, server: str, action: Action
) -> VoterError:
    """The error a voter gets for a failed call: what happened and what to do about it."""
    detail = f": {details}" if details else ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        what = "is not reachable" if code == grpc.StatusCode.UNAVAILABLE else "did not answer"
        return ServerUnavailable(
            f"the election server {server} {what}; check the address and your connection, "
            "then run the same command again: the retry is safe"
        )
    if action == "enroll":
        if code == grpc.StatusCode.PERMISSION_DENIED:
            return EnrollmentRefused(
                "the registry does not know this enrollment code: check it against your "
                "letter and try again (a code is used exactly as printed)"
            )
        if code == grpc.StatusCode.ALREADY_EXISTS:
            return EnrollmentRefused(
                "this enrollment code was already used to enroll another credential (or this "
                f"credential is enrolled under another code){detail}; if it was not you, tell "
                "the election officials"
            )
        if code == grpc.StatusCode.FAILED_PRECONDITION:
            return EnrollmentRefused(
                f"registration is closed{detail}; ask the election officials what you can do"
            )
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return EnrollmentRefused(f"the registry refused the request{detail}")
    if action in ("cast", "audit"):
        what = "ballot" if action == "cast" else "challenged ballot"
        if code == grpc.StatusCode.FAILED_PRECONDITION:
            return NotOpenForVoting(
                f"the ballot box is not taking ballots now{detail}; the election is not open "
                "(it has not opened yet, or it has closed)"
            )
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return BallotRefused(f"the ballot box refused your {what}{detail}")
    return VoterError(f"the election server {server} answered {code.name}{detail}")


@contextlib.contextmanager
def _calling(server: str, action: Action) -> Iterator[None]:
    """Turn a failed gRPC call into the voter's error for ``action``."""
    try:
        yield
    except grpc.RpcError as error:
        raise rpc_failure(error.code(), error.details(), server=server, action=action) from None


@contextlib.contextmanager
def connect(server: str, ca_pem: bytes) -> Iterator[Channel]:
    """A TLS channel to the election's public port trusting only the election CA."""
    channel = secure_channel(server, ca_pem)
    try:
        yield channel
    finally:
        channel.close()


# --- the election's setup on the board --------------------------------------------------------


class BoardReader(Protocol):
    """What the device reads from the public board (:class:`BoardClient` over gRPC)."""

    def checkpoint(self, size: int = 0) -> str: ...

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]: ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]: ...


@dataclass(frozen=True, slots=True)
class ElectionSetup:
    """The election as the public board shows it, every part checked (see the module)."""

    manifest_entry: bytes
    manifest: Manifest
    checkpoint: Checkpoint
    #: ``None`` until the joint key is on the board.
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


def _read_setup_entries(board: BoardReader, size: int, election_id: bytes) -> list[Entry]:
    """Entries from 0 up to the ``open`` mark (ballots come after it), within ``size``,
    each with a valid envelope (this election, a declared kind) and valid signatures."""
    read: list[Entry] = []
    rules = kinds.entry_rules(election_id)
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
        signed = len(set(entry.signers) & set(manifest.officials))
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

    The key ceremony, the joint key and the credential list are judged by the verifier's own
    checks 4, 5 and 6 (:mod:`evote.verify.checks`), once their entries are on the board.
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
    read = _read_setup_entries(board, checkpoint.size, election_id)
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
    if kinds.JOINT_KEY in present:
        found, commitments = checks.check_guardians(read, manifest)
        _findings(found, "the key ceremony")
        if commitments is None:  # pragma: no cover - missing commitments are findings
            raise SetupRefused("the key ceremony on the board gives no commitments")
        found, context = checks.check_joint_key(read, manifest, commitments)
        _findings(found, "the joint key")
    credentials = None
    if kinds.CREDENTIALS in present:
        found, credentials = checks.check_credentials(read, manifest)
        _findings(found, "the credential list")
    return ElectionSetup(
        first[0], manifest, checkpoint, context, credentials, _opened(read, manifest)
    )


# --- the voter directory -------------------------------------------------------------------------


def _json_object(data: bytes, what: str) -> dict[str, object]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DecodeError(f"{what} is not JSON: {error}") from error
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
        data = self.read_file(self.path / MANIFEST_FILE, "manifest")
        try:
            return check_manifest_entry(data, state.election_id)
        except SetupRefused as error:
            raise VoterError(f"{self.path / MANIFEST_FILE} is damaged: {error}") from error

    def ca_pem(self) -> bytes:
        return self.read_file(self.path / CA_FILE, "election CA certificate")

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


# --- enrolling -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolled:
    state: VoterState
    manifest: Manifest
    registration: RegistrationStatus


def check_code(code: str) -> None:
    """Refuse, before anything is sent, a code the registry could never know."""
    if not code.strip() or len(code) > MAX_CODE_CHARS:
        raise EnrollmentRefused(
            f"an enrollment code has 1 to {MAX_CODE_CHARS} characters: copy it from your letter"
        )


def enroll(
    directory: Path,
    *,
    server: str,
    ca_pem: bytes,
    election_id: bytes,
    code: str,
    passphrase: bytes,
    limits: KdfLimits = MODERATE,
    timeout: float = TIMEOUT,
) -> Enrolled:
    """Enroll a credential made on this device with the one-time ``code``.

    Checks the election's setup on the board first (nothing is sent for a wrong election id),
    writes the sealed credential, sends the code and the public credential, and writes the
    voter state only once the registry answered OK. A credential left by an earlier attempt
    whose answer was lost is used again (``passphrase`` must open it), so that retry gets OK.
    If the registry refuses the code and this call made the credential, it is removed.
    """
    voter = VoterDir(directory)
    if voter.enrolled():
        state = voter.load_state()
        raise VoterError(
            f"{directory} already holds an enrollment, in election {state.election_id.hex()}: "
            "nothing was changed (a voter directory serves one enrollment)"
        )
    check_code(code)
    with connect(server, ca_pem) as channel:
        with _calling(server, "read"):
            setup = fetch_setup(BoardClient(channel, timeout), election_id)
        created = not voter.has_credential()
        made_directory = not directory.exists()
        if created:
            credential = voter.new_credential(election_id, passphrase, limits)
        else:
            credential = voter.credential(election_id, passphrase)
        try:
            with _calling(server, "enroll"):
                status = RegistryClient(channel, timeout).enroll(
                    code, credential.verify_key.encode()
                )
        except EnrollmentRefused:
            # Refused for sure: the new credential is enrolled nowhere. Any other failure may
            # have lost an answer, so the credential stays for the retry.
            if created:
                voter.key_path.unlink(missing_ok=True)
                if made_directory:
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            raise
    voter.write_file(directory / MANIFEST_FILE, setup.manifest_entry, 0o644)
    voter.write_file(directory / CA_FILE, ca_pem, 0o644)
    state = VoterState(election_id, server, credential.verify_key)
    voter.save_state(state)
    return Enrolled(state, setup.manifest, status)


# --- voting --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedBallot:
    """An encrypted ballot ready to be cast or challenged (its seed is still secret)."""

    plaintext: PlaintextBallot
    encryption: EncryptionResult
    sequence: int
    confirmation_code: bytes


def send_pending(
    directory: Path, *, server: str | None = None, ca_pem: bytes | None = None
) -> StoredReceipt | None:
    """Send a ballot whose answer was lost again, byte for byte, and keep its receipt.

    Safe: the ballot box answers a repeat of the same bytes with the original leaf. Returns
    ``None`` when nothing is pending.
    """
    voter = VoterDir(directory)
    pending = voter.pending()
    if pending is None:
        return None
    state = voter.load_state()
    manifest = voter.manifest(state)
    address = server or state.server
    with connect(address, voter.ca_pem() if ca_pem is None else ca_pem) as channel:
        return _cast_entry(voter, state, manifest, BallotBoxClient(channel), address, pending)


def _cast_entry(
    voter: VoterDir,
    state: VoterState,
    manifest: Manifest,
    box: BallotBoxClient,
    server: str,
    pending: PendingCast,
    style: str | None = None,
) -> StoredReceipt:
    """Cast a ballot entry kept as pending, check the receipt, keep it, and advance the
    state (remembering the ballot ``style``, when given, for later revotes)."""
    voter.set_pending(pending)
    try:
        with _calling(server, "cast"):
            receipt = box.cast(pending.entry)
    except (BallotRefused, NotOpenForVoting):
        voter.set_pending(None)  # refused: it is not on the board
        raise
    except VoterError as error:
        # No answer, or one that does not say whether the ballot was taken: keep it.
        raise type(error)(
            f"{error} Your encrypted ballot is kept in {voter.pending_path}; `evote vote` sends "
            "exactly this ballot again before anything else, so it is never cast twice"
        ) from None
    try:
        check_receipt(receipt, manifest, pending.entry)
    except ReceiptRefused as error:
        raise ReceiptRefused(
            f"the ballot box's receipt does not prove your ballot is on the board ({error}); "
            f"keep {voter.pending_path} and tell the election officials"
        ) from None
    stored = StoredReceipt(
        "cast", receipt, pending.entry, pending.confirmation_code, pending.sequence
    )
    voter.write_receipt(stored)
    voter.save_state(
        replace(
            state,
            next_sequence=max(state.next_sequence, pending.sequence + 1),
            style=state.style if style is None else style,
        )
    )
    voter.set_pending(None)
    return stored


class VotingSession:
    """A voter directory opened with its passphrase and connected to the election's server,
    with the election's setup read and checked from the board."""

    def __init__(
        self,
        voter: VoterDir,
        state: VoterState,
        credential: SigningKey,
        setup: ElectionSetup,
        channel: Channel,
        server: str,
        timeout: float,
    ) -> None:
        self.voter = voter
        self.state = state
        self.credential = credential
        self.setup = setup
        self.server = server
        self._channel = channel
        self._box = BallotBoxClient(channel, timeout)
        self._challenged: set[bytes] = set()

    @classmethod
    def open(
        cls,
        directory: Path,
        passphrase: bytes,
        *,
        server: str | None = None,
        ca_pem: bytes | None = None,
        timeout: float = TIMEOUT,
    ) -> VotingSession:
        voter = VoterDir(directory)
        state = voter.load_state()
        credential = voter.credential(state.election_id, passphrase)
        if credential.verify_key != state.credential:
            raise VoterError(f"{voter.key_path} does not hold the credential {STATE_FILE} names")
        address = server or state.server
        channel = secure_channel(address, voter.ca_pem() if ca_pem is None else ca_pem)
        try:
            with _calling(address, "read"):
                setup = fetch_setup(BoardClient(channel, timeout), state.election_id)
            if setup.manifest_entry != voter.read_file(directory / MANIFEST_FILE, "manifest"):
                raise SetupRefused("the board's manifest entry is not the one kept at enrollment")
        except BaseException:
            channel.close()
            raise
        return cls(voter, state, credential, setup, channel, address, timeout)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> VotingSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def manifest(self) -> Manifest:
        return self.setup.manifest

    def ready(self) -> ElectionContext:
        """The election context, once the voter can vote: the key is on the board,
        registration closed with this credential on the list, and the election opened."""
        setup = self.setup
        if setup.context is None:
            raise NotOpenForVoting(
                "the election key is not on the board yet: voting has not started; try later"
            )
        if setup.credentials is None:
            raise NotOpenForVoting(
                "registration is still open: voting starts after it closes; try later"
            )
        if self.credential.verify_key not in setup.credentials:
            raise VoterError(
                f"your credential {self.credential.verify_key.encode().hex()} is not on the "
                "credential list the authority published, so the ballot box would refuse your "
                "ballot: tell the election officials"
            )
        if not setup.opened:
            raise NotOpenForVoting("the election has not opened yet: try later")
        return setup.context

    def prepare(self, plaintext: PlaintextBallot) -> PreparedBallot:
        """Encrypt the choices (fresh ballot id and seed) with the next sequence number."""
        context = self.ready()
        sequence = self.state.next_sequence
        encryption = encrypt_ballot(plaintext, context, self.credential.verify_key, sequence)
        code = encryption.ballot.confirmation_code(context)
        return PreparedBallot(plaintext, encryption, sequence, code)

    def challenge(self, prepared: PreparedBallot) -> StoredReceipt:
        """Benaloh: post the ballot as an audit (its seed and choices revealed), check and keep
        the receipt. The challenged ballot can no longer be cast: prepare a fresh one."""
        context = self.ready()
        ballot = prepared.encryption.ballot
        reveal = AuditReveal(ballot, prepared.encryption.seed, prepared.plaintext.votes)
        verify_audit(reveal, context)
        entry = Entry.create(
            kinds.AUDIT, self.manifest.election_id, reveal.to_tlv(), [self.credential]
        ).encoded
        self._challenged.add(ballot.ballot_id)
        with _calling(self.server, "audit"):
            receipt = self._box.audit(entry)
        check_receipt(receipt, self.manifest, entry)
        stored = StoredReceipt(
            "audit", receipt, entry, prepared.confirmation_code, prepared.sequence
        )
        self.voter.write_receipt(stored)
        return stored

    def cast(self, prepared: PreparedBallot) -> StoredReceipt:
        """Cast, check the receipt offline, keep it, and advance the sequence number."""
        ballot = prepared.encryption.ballot
        if ballot.ballot_id in self._challenged:
            raise VoterError(
                "this encryption was challenged and its seed revealed: it can never be cast; "
                "encrypt your choices again"
            )
        if prepared.sequence != self.state.next_sequence:
            raise VoterError("this ballot was prepared before another was cast: prepare it again")
        entry = Entry.create(
            kinds.BALLOT, self.manifest.election_id, ballot.to_tlv(), [self.credential]
        ).encoded
        pending = PendingCast(entry, prepared.confirmation_code, prepared.sequence)
        stored = _cast_entry(
            self.voter,
            self.state,
            self.manifest,
            self._box,
            self.server,
            pending,
            prepared.plaintext.style,
        )
        self.state = self.voter.load_state()
        return stored


def is_revote(directory: Path, manifest: Manifest) -> bool:
    """Whether casting now replaces an earlier ballot; :class:`VoterError` if the manifest's
    revote policy does not allow that."""
    voter = VoterDir(directory)
    earlier = bool(voter.receipts("cast")) or voter.load_state().next_sequence > 0
    if earlier and not revote_allowed(manifest.revote_policy):
        raise VoterError(
            f"you have already cast a ballot, and this election's revote policy "
            f"({manifest.revote_policy!r}) does not let a later ballot replace it"
        )
    return earlier


# --- checking a receipt ----------------------------------------------------------------------


def check_stored_receipt(directory: Path, path: Path | None = None) -> StoredReceipt:
    """Offline: the receipt file proves its entry is on this election's board, and the entry is
    one this voter's credential signed. ``path`` defaults to the latest cast ballot's receipt."""
    voter = VoterDir(directory)
    state = voter.load_state()
    manifest = voter.manifest(state)
    stored = voter.read_receipt(voter.latest_cast() if path is None else path)
    check_receipt(stored.receipt, manifest, stored.entry)
    try:
        entry = Entry.decode(stored.entry)
    except DecodeError as error:
        raise ReceiptRefused(f"the receipt's entry is not an entry: {error}") from error
    expected = kinds.BALLOT if stored.kind == "cast" else kinds.AUDIT
    if entry.kind != expected:
        raise ReceiptRefused(f"a {stored.kind} receipt holds a {entry.kind} entry")
    if entry.signers != (state.credential,):
        raise ReceiptRefused("the receipt's entry is not signed by this voter's credential")
    return stored


@dataclass(frozen=True, slots=True)
class OnlineCheck:
    """The receipt checked against the board as it is now."""

    stored: StoredReceipt
    latest: Checkpoint


def check_receipt_online(
    directory: Path,
    path: Path | None = None,
    *,
    server: str | None = None,
    ca_pem: bytes | None = None,
    timeout: float = TIMEOUT,
) -> OnlineCheck:
    """The offline check, then against the board now: its latest checkpoint is signed by the
    election's log key, extends the receipt's checkpoint (a consistency proof: nothing was
    rewritten since), and the entry at the receipt's leaf is still the voter's bytes."""
    stored = check_stored_receipt(directory, path)
    voter = VoterDir(directory)
    state = voter.load_state()
    manifest = voter.manifest(state)
    address = server or state.server
    receipt = stored.receipt
    old, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
    with connect(address, voter.ca_pem() if ca_pem is None else ca_pem) as channel:
        board = BoardClient(channel, timeout)
        with _calling(address, "read"):
            note = board.checkpoint()
            try:
                latest, _ = open_checkpoint(note, manifest.log_origin, manifest.log_key)
            except EvoteError as error:
                raise ReceiptRefused(
                    f"the board's latest checkpoint is not signed by this election's log: {error}"
                ) from error
            if latest.size < old.size:
                raise ReceiptRefused(
                    f"the board now shows {latest.size} entries, fewer than the {old.size} of "
                    "your receipt's checkpoint: it rewrote history; keep your receipt and tell "
                    "the election officials"
                )
            proof = (
                [] if latest.size == old.size else board.consistency_proof(old.size, latest.size)
            )
            served = board.entries(receipt.leaf_index, 1)
            path_now = board.inclusion_proof(receipt.leaf_index, latest.size)
    try:
        verify_consistency(old.size, latest.size, old.root, latest.root, proof)
    except VerificationError as error:
        raise ReceiptRefused(
            f"the board's history does not extend your receipt's checkpoint ({error}): it was "
            "rewritten; keep your receipt and tell the election officials"
        ) from error
    if served[:1] != [stored.entry]:
        raise ReceiptRefused(
            f"the board does not serve your ballot's bytes at entry {receipt.leaf_index} any "
            "more; keep your receipt and tell the election officials"
        )
    try:
        verify_inclusion(
            receipt.leaf_index, latest.size, leaf_hash(stored.entry), path_now, latest.root
        )
    except VerificationError as error:
        raise ReceiptRefused(f"your entry is not in the board's latest tree: {error}") from error
    return OnlineCheck(stored, latest)
