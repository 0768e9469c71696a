"""Voting: encrypt the voter's choices, let the voter challenge the device, cast, and keep the
checked receipt.

Retrying is safe. A cast whose answer was lost is kept in ``pending-cast.json`` and sent again
byte for byte before anything else; the ballot box answers a repeat with the original leaf.

The sequence number of a ballot is the one the ballot box takes next: the credential's
highest on the board + 1 (:mod:`evote.client.voter.history`), read from the board every time
a session opens, so the last ballot cast is the one counted (the manifest's revote policy,
``last-counts``) even after someone else cast with the credential; such a ballot is named to
the voter (:attr:`VotingSession.foreign_ballots`). The device's own count (``next_sequence``
in ``voter.json``) only advances once a receipt is held; a board that shows fewer of the
credential's ballots than the device holds receipts for is refused.

A challenged (audited) ballot reveals its seed; it is never cast, and the ballot cast after it
is a fresh encryption (new ballot id, new seed) with the same sequence number, as the ballot
box's rules require (:mod:`evote.record.ballot_box`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from evote.board.entry import Entry
from evote.client.channels import TIMEOUT, BallotBoxClient, BoardClient, Channel, secure_channel
from evote.client.receipt import ReceiptRefused, check_receipt
from evote.client.voter.calls import calling, connect
from evote.client.voter.directory import (
    STATE_FILE,
    PendingCast,
    StoredReceipt,
    VoterDir,
    VoterState,
)
from evote.client.voter.errors import BallotRefused, NotOpenForVoting, SetupRefused, VoterError
from evote.client.voter.history import (
    BoardBallot,
    foreign_ballot_notice,
    read_ballots,
    sequence_after,
)
from evote.client.voter.setup import ElectionSetup, fetch_setup
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal, verify_audit
from evote.election.context import ElectionContext
from evote.election.encrypt import EncryptionResult, PlaintextBallot, encrypt_ballot
from evote.election.manifest import REVOTE_LAST_COUNTS, Manifest
from evote.record import kinds


def revote_allowed(policy: str) -> bool:
    """Whether a voter who already cast may cast again under the manifest's revote policy."""
    return policy == REVOTE_LAST_COUNTS


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
        with calling(server, "cast"):
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
        ballots: tuple[BoardBallot, ...] = (),
    ) -> None:
        self.voter = voter
        self.state = state
        self.credential = credential
        self.setup = setup
        self.server = server
        self._channel = channel
        self._timeout = timeout
        self._box = BallotBoxClient(channel, timeout)
        self._challenged: set[bytes] = set()
        self.ballots = ballots
        self._check_own_count()

    @property
    def next_sequence(self) -> int:
        """The sequence number the next ballot gets: the board's highest for this
        credential + 1."""
        return sequence_after(self.ballots)

    @property
    def foreign_ballots(self) -> tuple[BoardBallot, ...]:
        """The credential's ballots on the board that this device did not cast (no receipt
        of it here, nor is it the pending one): someone else holds the credential."""
        own = own_tracking_codes(self.voter)
        return tuple(ballot for ballot in self.ballots if ballot.tracking_code not in own)

    def foreign_notices(self) -> list[str]:
        """What to tell the voter about each foreign ballot (:attr:`foreign_ballots`)."""
        return [foreign_ballot_notice(ballot) for ballot in self.foreign_ballots]

    def refresh(self) -> None:
        """Read the setup and the credential's ballots from the board again."""
        board = BoardClient(self._channel, self._timeout)
        with calling(self.server, "read"):
            setup = fetch_setup(board, self.state.election_id)
            if setup.manifest_entry != self.voter.manifest_entry():
                raise SetupRefused("the board's manifest entry is not the one kept at enrollment")
            self.ballots = read_ballots(board, setup, self.credential.verify_key)
        self.setup = setup
        self._check_own_count()

    def _check_own_count(self) -> None:
        if self.state.next_sequence > self.next_sequence:
            raise SetupRefused(
                f"this device holds a receipt for your ballot with sequence "
                f"{self.state.next_sequence - 1}, but the board shows your credential's "
                f"ballots only up to sequence {self.next_sequence - 1}: the board no longer "
                "shows a ballot you cast. Check your receipts with `evote receipt check "
                "--online` and tell the election officials; nothing was sent"
            )

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
        """Open the voter directory's credential with ``passphrase``, connect (to the server
        and with the CA kept at enrollment, unless given others), and read and check the
        election's setup and the credential's ballots on the board (the whole board is read:
        :mod:`evote.client.voter.history`); the board's manifest must be the one kept at
        enrollment."""
        voter = VoterDir(directory)
        state = voter.load_state()
        credential = voter.credential(state.election_id, passphrase)
        if credential.verify_key != state.credential:
            raise VoterError(f"{voter.key_path} does not hold the credential {STATE_FILE} names")
        address = server or state.server
        channel = secure_channel(address, voter.ca_pem() if ca_pem is None else ca_pem)
        try:
            board = BoardClient(channel, timeout)
            with calling(address, "read"):
                setup = fetch_setup(board, state.election_id)
                if setup.manifest_entry != voter.manifest_entry():
                    raise SetupRefused(
                        "the board's manifest entry is not the one kept at enrollment"
                    )
                ballots = read_ballots(board, setup, credential.verify_key)
            return cls(voter, state, credential, setup, channel, address, timeout, ballots)
        except BaseException:
            channel.close()
            raise

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
        """Encrypt the choices (fresh ballot id and seed) with the next sequence number (the
        board's highest for this credential + 1)."""
        context = self.ready()
        sequence = self.next_sequence
        if sequence > 0 and not revote_allowed(self.manifest.revote_policy):
            foreign = " ".join(
                f"A ballot you did not cast on this device was cast with your credential at "
                f"board entry {ballot.index}: tell the election officials."
                for ballot in self.foreign_ballots
            )
            raise VoterError(
                f"a ballot was already cast with your credential, and this election's revote "
                f"policy ({self.manifest.revote_policy!r}) does not let a later ballot replace "
                f"it. {foreign}".strip()
            )
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
        with calling(self.server, "audit"):
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
        if prepared.sequence != self.next_sequence:
            raise VoterError("this ballot was prepared before another was cast: prepare it again")
        entry = Entry.create(
            kinds.BALLOT, self.manifest.election_id, ballot.to_tlv(), [self.credential]
        ).encoded
        pending = PendingCast(entry, prepared.confirmation_code, prepared.sequence)
        try:
            stored = _cast_entry(
                self.voter,
                self.state,
                self.manifest,
                self._box,
                self.server,
                pending,
                prepared.plaintext.style,
            )
        except BallotRefused as error:
            self._explain_refusal(error, prepared.sequence)
            raise
        self.state = self.voter.load_state()
        receipt = stored.receipt
        self.ballots = (
            *self.ballots,
            BoardBallot(receipt.leaf_index, prepared.sequence, receipt.tracking_code),
        )
        return stored

    def _explain_refusal(self, error: BallotRefused, sequence: int) -> None:
        """After a refusal, read the board again: if someone cast with the credential since
        it was read, say so (the refusal named the sequence number the box expects), and the
        next :meth:`prepare` uses the new number."""
        try:
            self.refresh()
        except VoterError:
            return  # the refusal itself is what the voter needs to hear
        if self.next_sequence == sequence:
            return
        news = [ballot for ballot in self.foreign_ballots if ballot.sequence >= sequence]
        what = (
            "; ".join(foreign_ballot_notice(ballot) for ballot in news)
            if news
            else "another ballot was cast with your credential"
        )
        raise BallotRefused(
            f"{error}. While you were voting, {what}. Nothing of yours was cast: run "
            "`evote vote` again (your choices are encrypted afresh) and the new ballot will "
            "replace it"
        ) from None


def own_tracking_codes(voter: VoterDir) -> set[bytes]:
    """The tracking codes of the ballots this device cast (its cast receipts and the pending
    ballot, if any)."""
    codes = {voter.read_receipt(path).receipt.tracking_code for path in voter.receipts("cast")}
    pending = voter.pending()
    if pending is not None:
        codes.add(Entry.decode(pending.entry).tracking_code)
    return codes


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
