"""C2SP checkpoints (``c2sp.org/tlog-checkpoint``) and cosignatures (``tlog-cosignature``).

A checkpoint is the body of a signed note::

    <origin>
    <tree size, decimal>
    <root hash, base64>
    [extension lines]

signed by the log under the key name ``origin``. A witness cosigns it with a ``cosignature/v1``
line over ``"cosignature/v1\\ntime <t>\\n" ‖ body``: "as of time t, this is the largest tree I
have seen for this origin, and it is consistent with every earlier one I cosigned". Witnesses
make no statement about extension lines, so nothing may be read from them.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from evote.board.merkle import HASH_BYTES
from evote.board.note import (
    ALGORITHM_COSIGNATURE_V1,
    ALGORITHM_ED25519,
    NoteSignature,
    SignedNote,
    check_key_name,
    key_id,
    parse_note,
    sign_note,
    verify_note,
)
from evote.crypto.signing import SigningKey, VerifyKey
from evote.errors import CheckpointError, InvalidSignature

COSIGNATURE_HEADER: Final = "cosignature/v1\n"
_TIMESTAMP = struct.Struct(">Q")
MAX_TIMESTAMP: Final = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement "the log of ``origin`` has ``size`` leaves with root ``root``"."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_key_name(self.origin)
        if self.size < 0 or len(self.root) != HASH_BYTES:
            raise CheckpointError("a checkpoint has a non-negative size and a 32-byte root")

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise CheckpointError("a checkpoint body has origin, size and root lines")
        origin, size_text, root_text, *extensions = lines[:-1]
        if (
            not size_text.isascii()
            or not size_text.isdigit()
            or (size_text.startswith("0") and size_text != "0")
        ):
            raise CheckpointError(f"the tree size {size_text!r} is not a canonical decimal")
        try:
            root = base64.b64decode(root_text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CheckpointError("the root line is not valid base64") from exc
        if base64.b64encode(root).decode("ascii") != root_text:
            raise CheckpointError("the root line is not canonical base64")
        if any(not extension for extension in extensions):
            raise CheckpointError("a checkpoint cannot contain an empty extension line")
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, log_key: SigningKey) -> SignedNote:
    """The checkpoint as a note signed by the log (key name = origin)."""
    body = checkpoint.body()
    return SignedNote(body, (sign_note(body, checkpoint.origin, log_key),))


def open_checkpoint(text: str, origin: str, log_key: VerifyKey) -> tuple[Checkpoint, SignedNote]:
    """Parse a checkpoint note and verify the log's signature; return both parts."""
    note = parse_note(text)
    checkpoint = Checkpoint.parse(note.body)
    if checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    verify_note(note, origin, log_key)
    return checkpoint, note


def _cosigned_message(timestamp: int, body: str) -> bytes:
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


def cosign(note: SignedNote, name: str, key: SigningKey, timestamp: int) -> NoteSignature:
    """A witness's ``cosignature/v1`` line on a checkpoint note (the caller checked it first)."""
    check_key_name(name)
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"a cosignature timestamp lies in [0, 2^63), got {timestamp}")
    signature = key.sign(_cosigned_message(timestamp, note.body))
    return NoteSignature(
        name,
        key_id(name, ALGORITHM_COSIGNATURE_V1, key.verify_key),
        _TIMESTAMP.pack(timestamp) + signature,
    )


def cosignature_time(note: SignedNote, name: str, key: VerifyKey) -> int:
    """Verify ``name``'s cosignature on ``note``; return its timestamp, or raise."""
    signature = note.find(name, key_id(name, ALGORITHM_COSIGNATURE_V1, key))
    if signature is None:
        raise CheckpointError(f"no cosignature from witness {name}")
    if len(signature.payload) != _TIMESTAMP.size + 64:
        raise CheckpointError(f"the cosignature of {name} has the wrong length")
    (timestamp,) = _TIMESTAMP.unpack(signature.payload[: _TIMESTAMP.size])
    if timestamp > MAX_TIMESTAMP:
        raise CheckpointError(f"the cosignature of {name} has an out-of-range timestamp")
    try:
        key.verify(_cosigned_message(timestamp, note.body), signature.payload[_TIMESTAMP.size :])
    except InvalidSignature as exc:
        raise CheckpointError(f"the cosignature of {name} does not verify") from exc
    return int(timestamp)


def verify_witnessed(
    text: str,
    origin: str,
    log_key: VerifyKey,
    witnesses: Mapping[str, VerifyKey],
    quorum: int,
) -> Checkpoint:
    """Open a checkpoint and require valid cosignatures from at least ``quorum`` witnesses.

    Signature lines from keys that are neither the log nor a listed witness are ignored here
    (as C2SP clients do); :func:`check_every_signature` refuses them where every byte must be
    covered.
    """
    if not 0 < quorum <= len(witnesses):
        raise CheckpointError(f"a quorum of {quorum} from {len(witnesses)} witnesses is impossible")
    checkpoint, note = open_checkpoint(text, origin, log_key)
    valid = 0
    failures = []
    for name, key in witnesses.items():
        try:
            cosignature_time(note, name, key)
            valid += 1
        except CheckpointError as error:
            failures.append(str(error))
    if valid < quorum:
        raise CheckpointError(
            f"checkpoint of size {checkpoint.size} has {valid} valid cosignatures, needs {quorum}"
            + (f" ({'; '.join(failures)})" if failures else "")
        )
    return checkpoint


def check_every_signature(
    note: SignedNote, origin: str, log_key: VerifyKey, witnesses: Mapping[str, VerifyKey]
) -> None:
    """Raise unless every signature line is the log's or a listed witness's, and verifies."""
    verify_note(note, origin, log_key)
    log_key_id = key_id(origin, ALGORITHM_ED25519, log_key)
    for signature in note.signatures:
        if signature.name == origin and signature.key_id == log_key_id:
            continue
        key = witnesses.get(signature.name)
        if key is None or signature.key_id != key_id(signature.name, ALGORITHM_COSIGNATURE_V1, key):
            raise CheckpointError(f"signature line from unknown signer {signature.name!r}")
        cosignature_time(note, signature.name, key)
