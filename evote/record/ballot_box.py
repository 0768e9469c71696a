"""The ballot box's admission rules: what may be appended as a ballot or an audited ballot.

The rules are those an observer checks afterwards (docs/election-record.md, checks 7–8); the
box applies them before anything reaches the board, so an honest board holds only valid
ballots and a dishonest one is caught by the verifier:

* the entry belongs to this election and is validly signed by exactly the ballot's
  credential, a listed one; the election is open;
* the ballot id was never used (cast or audited) before;
* a credential's ballots carry the sequence numbers 0, 1, 2, … in board order: a ballot is
  admitted only with the credential's last admitted sequence + 1 (0 for its first), so a
  replayed old ballot can never become the counted one, and nobody holding the credential (a
  coercer) can jump ahead to a number the voter's device cannot follow: a device that reads
  the credential's ballots on the board always knows the one number the box takes, and a
  refusal names it. Audits carry a sequence number too, but it is not checked and does not
  move the credential's count (an audited ballot is never cast);
* no ciphertext fingerprint of the ballot appears in any earlier ballot (weeding: a copied
  ciphertext is refused; the fingerprint is scheme A's ``α``, scheme B's whole ``c``);
* every proof verifies (audited ballots also re-encrypt from their seed);
* no ballot of a credential derives its nonces from a seed that an audit of the same credential
  revealed (a device that reuses an audited seed under a new ballot id would expose the vote).

Proof checks are pure and can run in other processes (:func:`check_proofs`); the stateful
checks and the bookkeeping are serial (:meth:`BallotBox.admit`). Both schemes go through the
same rules: the election context's scheme decodes, fingerprints and re-derives nonces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from evote.board.entry import Entry
from evote.crypto.signing import VerifyKey
from evote.election.audit import AuditReveal, verify_audit
from evote.election.ballot import EncryptedBallot, contest_index, verify_ballot
from evote.election.context import ElectionContext
from evote.errors import BoardError, DecodeError, InvalidSignature, VerificationError
from evote.record import kinds


class BallotRejected(BoardError):
    """The ballot box refused a ballot or audit; nothing was written."""


class SequenceRejected(BallotRejected):
    """A ballot's sequence number is not the credential's next one; ``expected`` is that one,
    so a device can encrypt its ballot again under it (after reading the credential's ballots
    on the board, which explain why)."""

    def __init__(self, sequence: int, expected: int) -> None:
        self.sequence = sequence
        self.expected = expected
        if expected == 0:
            why = "this credential has no ballot yet, so its first must have sequence 0"
        elif sequence < expected:
            why = (
                f"this credential's last ballot on the board has sequence {expected - 1}: a "
                "repeated or replayed old sequence"
            )
        else:
            why = f"this credential's last ballot on the board has sequence {expected - 1}"
        super().__init__(
            f"sequence {sequence} refused: expected sequence {expected} ({why}); read the "
            "credential's ballots on the board and cast with the next number"
        )

    def __reduce__(self) -> tuple[type[SequenceRejected], tuple[int, int]]:
        return SequenceRejected, (self.sequence, self.expected)


@dataclass(frozen=True, slots=True)
class Submission:
    """A parsed ballot or audit entry, ready for the stateful checks."""

    kind: Literal["ballot", "audit"]
    entry: Entry
    ballot: EncryptedBallot[Any, Any]
    reveal: AuditReveal | None


def parse_submission(data: bytes, context: ElectionContext) -> Submission:
    """Parse a ballot or audit entry against the manifest; raise :class:`BallotRejected`."""
    try:
        entry = Entry.decode(data)
        if entry.kind == kinds.BALLOT:
            return Submission("ballot", entry, EncryptedBallot.from_tlv(entry.body, context), None)
        if entry.kind == kinds.AUDIT:
            reveal = AuditReveal.from_tlv(entry.body, context)
            return Submission("audit", entry, reveal.ballot, reveal)
    except DecodeError as error:
        raise BallotRejected(f"malformed submission: {error}") from error
    raise BallotRejected(f"the ballot box takes ballots and audits, not {entry.kind!r} entries")


def check_proofs(submission: Submission, context: ElectionContext) -> None:
    """Verify the proofs (and an audit's re-encryption); raise :class:`BallotRejected`."""
    try:
        if submission.reveal is not None:
            verify_audit(submission.reveal, context)
        else:
            verify_ballot(submission.ballot, context)
    except VerificationError as error:
        raise BallotRejected(f"{submission.kind} refused: {error}") from error


def derives_from_seed(
    ballot: EncryptedBallot[Any, Any], seed: bytes, context: ElectionContext
) -> bool:
    """Whether the ballot's first ciphertext was made with ``seed``: its nonce derived from the
    seed opens it (scheme A: one hash and one F; scheme B: one full exponentiation)."""
    manifest = context.manifest
    scheme = context.scheme
    part = manifest.style(ballot.style).parts[0]
    nonce = scheme.selection_nonce(
        context.extended_hash, ballot.binding(context), seed, contest_index(manifest, part), 0
    )
    return scheme.made_with_nonce(ballot.contests[0].selections[0].ciphertext, nonce)


class BallotBox:
    """The stateful admission rules of one election."""

    def __init__(self, context: ElectionContext, credentials: Iterable[VerifyKey]) -> None:
        self.context = context
        self._credentials = {key.encode() for key in credentials}
        self._last_sequence: dict[bytes, int] = {}
        self._ballot_ids: set[bytes] = set()
        self._fingerprints: set[bytes] = set()
        self._audit_seeds: dict[bytes, list[bytes]] = {}
        self._cast_by_credential: dict[bytes, list[EncryptedBallot[Any, Any]]] = {}
        self.phase: Literal["setup", "open", "closed"] = "setup"

    def admit(self, submission: Submission) -> None:
        """Apply the stateful rules and record the submission as accepted.

        Call it only for a submission whose proofs were checked, and append the entry to the
        board right after; if the append fails, the election stops (the box's state is ahead).
        """
        ballot = submission.ballot
        credential = ballot.credential.encode()
        if self.phase != "open":
            raise BallotRejected(f"the election is not open (it is {self.phase})")
        if submission.entry.election_id != self.context.manifest.election_id:
            raise BallotRejected("the entry belongs to another election")
        if credential not in self._credentials:
            raise BallotRejected("the ballot's credential is not on the published list")
        if submission.entry.signers != (ballot.credential,):
            raise BallotRejected("a ballot is signed by its own credential and nothing else")
        try:
            submission.entry.verify_signatures()
        except InvalidSignature as error:
            raise BallotRejected(f"the credential's signature does not verify: {error}") from error
        if ballot.ballot_id in self._ballot_ids:
            raise BallotRejected(f"ballot id {ballot.ballot_id.hex()} was already used")
        fingerprints = [
            self.context.scheme.fingerprint(selection.ciphertext)
            for contest in ballot.contests
            for selection in contest.selections
        ]
        if len(set(fingerprints)) != len(fingerprints) or not self._fingerprints.isdisjoint(
            fingerprints
        ):
            raise BallotRejected("a ciphertext of this ballot was already submitted (copied)")
        self._check_seed_reuse(submission)
        if submission.reveal is None:
            expected = self.expected_sequence(ballot.credential)
            if ballot.sequence != expected:
                raise SequenceRejected(ballot.sequence, expected)
            self._last_sequence[credential] = ballot.sequence
            self._cast_by_credential.setdefault(credential, []).append(ballot)
        else:
            self._audit_seeds.setdefault(credential, []).append(submission.reveal.seed)
        self._ballot_ids.add(ballot.ballot_id)
        self._fingerprints.update(fingerprints)

    def expected_sequence(self, credential: VerifyKey) -> int:
        """The sequence number the credential's next ballot must carry: its last admitted
        ballot's + 1, or 0 before its first."""
        return self._last_sequence.get(credential.encode(), -1) + 1

    def _check_seed_reuse(self, submission: Submission) -> None:
        credential = submission.ballot.credential.encode()
        if submission.reveal is None:
            pairs = [(submission.ballot, seed) for seed in self._audit_seeds.get(credential, [])]
        else:
            seed = submission.reveal.seed
            pairs = [(ballot, seed) for ballot in self._cast_by_credential.get(credential, [])]
        for ballot, seed in pairs:
            if derives_from_seed(ballot, seed, self.context):
                raise BallotRejected(
                    "this ballot's nonces derive from a seed an audit revealed: the device "
                    "reused an audited seed, and the ballot would not be secret"
                )
