"""Domain-separated hashing over the canonical encoding (crypto spec §3.3, §5.2).

Every hash input is ``TLV(["evote/v1", label, item, ...])`` hashed with SHA-512:

* :func:`hash_to_scalar` (``Hq``) reduces the 64-byte digest mod L: proof challenges, nonces;
* :func:`hash32` (``H32``) keeps its first 32 bytes: identifiers and election hashes.

Labels are the registry below; a label is never reused for two statements.
"""

from __future__ import annotations

import hashlib
from typing import Final, Literal

from evote.crypto.encoding import Value, encode
from evote.crypto.group import Scalar

PROTOCOL_PREFIX: Final = "evote/v1"

#: Every domain-separation label in use. Adding a proof means adding its label here.
Label = Literal[
    "params",
    "manifest",
    "base",
    "ext-base",
    "ceremony-commit",
    "pok-coefficient",
    "ballot-binding",
    "selection-nonce",
    "proof-nonce",
    "range-selection",
    "range-contest",
    "decrypt-share",
    "confirmation",
    "key-check",
    "paillier/range",
    "paillier/decrypt-share",
    "paillier/proof-nonce",
    "paillier/family",
    "paillier/ext-base",
    "paillier/selection-nonce",
    "paillier/key-check",
]


def _digest(label: Label, items: tuple[Value, ...]) -> bytes:
    return hashlib.sha512(encode([PROTOCOL_PREFIX, label, *items])).digest()


def hash_to_scalar(label: Label, *items: Value) -> Scalar:
    """``Hq(label, items…)``: SHA-512 of the TLV transcript, reduced mod L."""
    return Scalar.from_digest(_digest(label, items))


def hash32(label: Label, *items: Value) -> bytes:
    """``H32(label, items…)``: the first 32 bytes of the same digest."""
    return _digest(label, items)[:32]
