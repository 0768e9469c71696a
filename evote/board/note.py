"""C2SP signed notes (``c2sp.org/signed-note``): a text body and Ed25519 signature lines.

::

    <body: one or more lines, each ending in a newline>
    <an empty line>
    — <key name> base64(4-byte key ID ‖ signature)
    …

The key ID is ``SHA-256(name ‖ "\\n" ‖ algorithm ‖ public key)[:4]``; algorithm ``0x01`` is a
plain Ed25519 note signature (the log's) and ``0x04`` a ``cosignature/v1`` (a witness's, whose
signature part is an 8-byte big-endian timestamp followed by the Ed25519 signature). Parsing
is strict, so a note has one text form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Final

from evote.crypto.signing import SigningKey, VerifyKey
from evote.errors import CheckpointError, InvalidSignature

ALGORITHM_ED25519: Final = 0x01
ALGORITHM_COSIGNATURE_V1: Final = 0x04
KEY_ID_BYTES: Final = 4
SIGNATURE_PREFIX: Final = "— "
MAX_SIGNATURES: Final = 100
MAX_NOTE_BYTES: Final = 64 * 1024


def key_id(name: str, algorithm: int, public_key: VerifyKey) -> bytes:
    """The 4-byte key ID of a signer (signed-note §"Signatures")."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key.encode()
    ).digest()[:KEY_ID_BYTES]


def check_key_name(name: str) -> None:
    """A key name is non-empty and has no white space and no ``+``."""
    if not name or any(character.isspace() or character == "+" for character in name):
        raise CheckpointError(
            f"invalid key name {name!r}: it must be non-empty, without spaces or '+'"
        )


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the signer's name, its key ID and the algorithm-specific bytes."""

    name: str
    key_id: bytes
    payload: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.payload).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    body: str
    signatures: tuple[NoteSignature, ...]

    def text(self) -> str:
        return self.body + "\n" + "".join(signature.line() for signature in self.signatures)

    def with_signature(self, signature: NoteSignature) -> SignedNote:
        """This note with one more signature line; a second line from the same key is refused."""
        if any(s.name == signature.name and s.key_id == signature.key_id for s in self.signatures):
            raise CheckpointError(f"the note already carries a signature from {signature.name}")
        return SignedNote(self.body, (*self.signatures, signature))

    def find(self, name: str, wanted_key_id: bytes) -> NoteSignature | None:
        for signature in self.signatures:
            if signature.name == name and signature.key_id == wanted_key_id:
                return signature
        return None


def check_body(body: str) -> None:
    if not body or not body.endswith("\n"):
        raise CheckpointError("a note body is one or more lines, each ending in a newline")
    if "" in body.split("\n")[:-1]:
        raise CheckpointError("a note body cannot contain an empty line")
    if any(ord(character) < 0x20 and character != "\n" for character in body):
        raise CheckpointError("a note body cannot contain control characters")


def parse_note(text: str) -> SignedNote:
    """Parse a signed note strictly; signatures are not verified here."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise CheckpointError("a note must be valid UTF-8 text") from error
    if size > MAX_NOTE_BYTES:
        raise CheckpointError(f"a note is at most {MAX_NOTE_BYTES} bytes")
    if any(ord(character) < 0x20 and character != "\n" for character in text):
        raise CheckpointError("a signed note cannot contain control characters")
    separator = text.rfind("\n\n")
    if separator < 0:
        raise CheckpointError("a signed note needs an empty line between body and signatures")
    body, signature_block = text[: separator + 1], text[separator + 2 :]
    check_body(body)
    if not signature_block.endswith("\n"):
        raise CheckpointError("every signature line ends in a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"a note carries at most {MAX_SIGNATURES} signatures")
    signatures = tuple(_parse_signature_line(line) for line in lines)
    if len({(s.name, s.key_id) for s in signatures}) != len(signatures):
        raise CheckpointError("a note carries two signature lines from the same key")
    return SignedNote(body, signatures)


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise CheckpointError(f"a signature line starts with an em dash and a space: {line!r}")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
    check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"the signature of {name} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != encoded or len(raw) <= KEY_ID_BYTES:
        raise CheckpointError(f"the signature of {name} is not canonical base64 or too short")
    return NoteSignature(name, raw[:KEY_ID_BYTES], raw[KEY_ID_BYTES:])


def sign_note(body: str, name: str, key: SigningKey) -> NoteSignature:
    """A plain Ed25519 note signature (algorithm 0x01) over ``body``."""
    check_body(body)
    check_key_name(name)
    return NoteSignature(
        name, key_id(name, ALGORITHM_ED25519, key.verify_key), key.sign(body.encode("utf-8"))
    )


def verify_note(note: SignedNote, name: str, key: VerifyKey) -> None:
    """Raise :class:`CheckpointError` unless ``note`` carries a valid signature by ``name``."""
    signature = note.find(name, key_id(name, ALGORITHM_ED25519, key))
    if signature is None:
        raise CheckpointError(f"the note carries no signature from {name}")
    try:
        key.verify(note.body.encode("utf-8"), signature.payload)
    except InvalidSignature as exc:
        raise CheckpointError(f"the signature of {name} on the note does not verify") from exc
