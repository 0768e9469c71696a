"""The one exception tree of evote. Every layer raises these, never bare built-ins.

::

    EvoteError                       root: catch this to handle any evote failure
    ├── DecodeError                  bytes from outside are malformed (wrong length, type, range)
    │   ├── InvalidPoint             not a canonical, non-identity point of the prime-order group
    │   ├── NonCanonicalScalar       a scalar is not 32 bytes little-endian below L
    │   └── EncodingError            canonical TLV violated (unknown type, trailing bytes, ...)
    ├── VerificationError            something checkable did not check out
    │   ├── ProofError               a zero-knowledge proof is invalid (names the field)
    │   ├── InvalidSignature         an Ed25519 signature does not verify
    │   ├── SealingError             a sealed message cannot be opened or is not for us
    │   ├── ShareError               a secret share disagrees with its public commitments
    │   ├── InclusionProofError      a leaf is not in the tree a checkpoint commits to
    │   ├── ConsistencyError         a tree is not a prefix of a later one: the log rewrote history
    │   ├── CheckpointError          a checkpoint or cosignature is bad, or short of quorum
    │   ├── RecordError              an exported election record is malformed or does not check out
    │   └── CheckFailed              a numbered check of an election record failed (names where)
    ├── BoardError                   the bulletin board refused an operation; nothing was written
    │   ├── EntryRejected            an entry breaks the envelope rules (kind, election, signatures)
    │   ├── DuplicateEntry           the exact same entry bytes are already on the board
    │   └── StoreCorrupted           stored data disagrees with its signed checkpoints
    ├── CeremonyError                the key ceremony cannot go on (a round missing, a guardian out)
    ├── KeystoreError                a key file does not open: wrong passphrase, altered, not ours
    ├── TransportSecurityError       a TLS certificate or role is bad, foreign, expired or missing
    ├── TallyOutOfRange              a decrypted total lies outside its bound: an integrity alarm
    ├── InvalidInput                 a caller passed an argument outside its documented domain
    └── BackendUnavailable           the installed libsodium lacks the functions evote needs

Errors carry a message a person can act on. ``diagnostics()`` gives the long form for the CLI.
"""

from __future__ import annotations


class EvoteError(Exception):
    """Root of every evote exception."""

    def diagnostics(self) -> str:
        """A longer, user-facing explanation; the message itself by default."""
        return str(self)


class DecodeError(EvoteError):
    """Input bytes from outside are malformed; nothing was changed."""


class InvalidPoint(DecodeError):
    """A byte string is not a valid element of the prime-order subgroup of edwards25519."""


class NonCanonicalScalar(DecodeError):
    """A scalar is not the canonical 32-byte little-endian encoding of an integer below L."""


class EncodingError(DecodeError):
    """The canonical TLV encoding was violated."""


class VerificationError(EvoteError):
    """A check of public data failed."""


class ProofError(VerificationError):
    """A zero-knowledge proof does not verify.

    ``proof`` names the kind of proof and ``field`` the part that failed (``"challenge"``,
    ``"response[2]"``, ``"branch_count"``, ...), so that a verifier report can point at it.
    """

    def __init__(self, proof: str, field: str, detail: str) -> None:
        super().__init__(f"{proof} proof: {field}: {detail}")
        self.proof = proof
        self.field = field
        self.detail = detail


class InvalidSignature(VerificationError):
    """An Ed25519 signature does not verify under the given key."""


class SealingError(VerificationError):
    """A sealed (Box) message cannot be opened: wrong keys, tampered, or not addressed to us."""


class ShareError(VerificationError):
    """A secret share is inconsistent with the dealer's public commitments."""


class InclusionProofError(VerificationError):
    """An inclusion proof does not place the leaf under the checkpoint's root."""


class ConsistencyError(VerificationError):
    """A consistency proof fails: the later tree does not extend the earlier one."""


class CheckpointError(VerificationError):
    """A checkpoint (signed note) or cosignature is malformed, badly signed, or short of quorum."""


class RecordError(VerificationError):
    """An exported record is malformed, incomplete, or disagrees with its own signatures."""


class CheckFailed(VerificationError):
    """One finding of the independent verifier: a numbered check of ``docs/election-record.md``
    failed at ``entry`` (a leaf index, when one is to blame) and ``field`` (a path in its body).

    ``cause`` keeps the specific error behind the finding (a :class:`ProofError`, an
    :class:`InvalidSignature`, ...) when there is one.
    """

    def __init__(
        self,
        check: str,
        message: str,
        *,
        entry: int | None = None,
        kind: str | None = None,
        field: str | None = None,
        cause: EvoteError | None = None,
    ) -> None:
        where = [] if entry is None else [f"entry {entry}" + (f" ({kind})" if kind else "")]
        if field:
            where.append(field)
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.check = check
        self.message = message
        self.entry = entry
        self.kind = kind
        self.field = field
        self.cause = cause


class BoardError(EvoteError):
    """The bulletin board refused an operation. Nothing was written."""


class EntryRejected(BoardError):
    """An entry breaks the board's envelope rules."""


class DuplicateEntry(BoardError):
    """The exact same entry bytes are already on the board, at ``index``."""

    def __init__(self, index: int) -> None:
        super().__init__(f"this exact entry is already on the board at index {index}")
        self.index = index


class StoreCorrupted(BoardError):
    """The stored log disagrees with its own signed checkpoints; the store refuses to serve."""


class StoreWriteFailed(BoardError):
    """The store could not write (the disk is full, read-only or failing); nothing was stored.

    Unlike :class:`StoreCorrupted`, what is stored is intact: the operation can be retried once
    the operator has freed space or fixed the disk."""


class CeremonyError(EvoteError):
    """The key ceremony cannot go on as asked: a round is missing, a message is bad, or a
    guardian was disqualified and the ceremony must restart without it."""


class KeystoreError(EvoteError):
    """A passphrase-sealed key file cannot be opened: the passphrase is wrong, a byte was
    altered, or it is not an evote key file (or not a version or KDF this evote reads)."""


class TransportSecurityError(EvoteError):
    """A TLS certificate, key or role for the gRPC services is unusable: malformed, not issued
    by the election CA, outside its validity window, for the wrong usage, or carrying no (or
    an ambiguous) role. Transport identity only; board semantics never depend on it."""


class TallyOutOfRange(EvoteError):
    """A decrypted total is not in [0, bound]. Never clamp: this is an integrity alarm."""


class InvalidInput(EvoteError):
    """An argument is outside the function's documented domain (a programming or usage error)."""


class BackendUnavailable(EvoteError):
    """The installed libsodium build lacks the Ed25519 core functions evote needs."""
