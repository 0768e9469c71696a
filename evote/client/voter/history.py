"""The voter's own credential's ballots, as the public board shows them.

The ballot box takes a credential's ballots only with the sequence numbers 0, 1, 2, … in board
order (:mod:`evote.record.ballot_box`), whoever cast them. So before casting, the device reads
the credential's ballots on the board and casts with the board's highest sequence + 1, not
with a count of its own: after someone else holding the credential (a coercer) cast with it,
a count of the device's own receipts would be refused, and the coercer's ballot would stay the
counted one. A ballot of the credential that this device did not cast is exactly what a
coerced voter needs to be told of (:func:`foreign_ballot_notice`).

Scale: this reads the whole board on every vote (every entry's bytes once, a page at a time,
to recompute the root of the checkpoint the setup was checked under; only the credential's
own ballots are kept). For a local election of some tens of thousands of ballots that is some
tens of megabytes per vote, which is fine; a national election would need the server to serve
a credential's ballots with inclusion proofs instead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from evote.board.merkle import MerkleTree
from evote.client.channels import PAGE
from evote.client.voter.errors import SetupRefused
from evote.client.voter.setup import BoardReader, ElectionSetup
from evote.crypto.signing import VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.errors import DecodeError, EntryRejected
from evote.record import kinds


@dataclass(frozen=True, slots=True)
class BoardBallot:
    """A ballot of the voter's credential on the board: where it is, its sequence number, and
    its tracking code (which tells the ballots this device cast from the others)."""

    index: int
    sequence: int
    tracking_code: bytes


def read_ballots(
    board: BoardReader, setup: ElectionSetup, credential: VerifyKey
) -> tuple[BoardBallot, ...]:
    """The credential's ballots among the entries the setup's signed checkpoint covers, in
    board order; :class:`SetupRefused` if the entries are not the ones it commits to, or if
    an entry signed by the credential is not one of its ballots (the box broke its rules).

    Only ballots signed by the credential alone count: the ballot box admits no other, and
    nobody without the credential can make one.
    """
    size = setup.checkpoint.size
    rules = kinds.entry_rules(setup.manifest.election_id, setup.manifest.scheme_name)
    tree = MerkleTree()
    found: list[BoardBallot | None] = []
    while tree.size < size:
        page = board.entries(tree.size, min(PAGE, size - tree.size))
        if not page:
            raise SetupRefused(
                f"the board's checkpoint covers {size} entries, but the server sent only "
                f"{tree.size}"
            )
        for data in page[: size - tree.size]:
            index = tree.size
            try:
                entry = rules.check(data)
            except EntryRejected as error:
                raise SetupRefused(f"entry {index} of the board: {error}") from error
            tree.append(entry.tracking_code)
            if entry.kind == kinds.BALLOT and entry.signers == (credential,):
                found.append(_own_ballot(index, entry.body, entry.tracking_code, credential, setup))
    if tree.root() != setup.checkpoint.root:
        raise SetupRefused(
            "the entries the server sent are not the ones its signed checkpoint commits to: "
            "do not vote with this server; tell the election officials"
        )
    return tuple(ballot for ballot in found if ballot is not None)


def _own_ballot(
    index: int, body: bytes, tracking_code: bytes, credential: VerifyKey, setup: ElectionSetup
) -> BoardBallot | None:
    """The ballot, if it is one of the credential's (one signed by the credential for another
    is invalid and never counts: the verifier rejects it)."""
    if setup.context is None:
        raise SetupRefused(
            f"entry {index} of the board is a ballot signed by your credential, before the "
            "election key: do not vote with this server; tell the election officials"
        )
    try:
        ballot = EncryptedBallot.from_tlv(body, setup.context)
    except DecodeError as error:
        raise SetupRefused(
            f"entry {index} of the board is signed by your credential but is not a ballot "
            f"({error}): the ballot box broke its rules; tell the election officials"
        ) from error
    if ballot.credential != credential:
        return None
    return BoardBallot(index, ballot.sequence, tracking_code)


def sequence_after(ballots: Collection[BoardBallot]) -> int:
    """The sequence number the ballot box takes next: the board's highest + 1, or 0."""
    return max((ballot.sequence for ballot in ballots), default=-1) + 1


def foreign_ballot_notice(ballot: BoardBallot) -> str:
    """What to tell a voter about a ballot cast with their credential but not on this device."""
    return (
        f"a ballot you did not cast on this device was cast with your credential at board "
        f"entry {ballot.index} (sequence {ballot.sequence}, tracking code "
        f"{ballot.tracking_code.hex()}); this ballot replaces it. If you did not cast it "
        "elsewhere, someone else holds your credential: tell the election officials"
    )
