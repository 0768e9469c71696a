"""The officials' side of a running election: open, close, the encrypted tally and the result.

Every step is a signed entry that goes on the board through the control port, and the officials
sign only what they recomputed themselves from the board. A board that lies must not get an
official signature, so nothing here trusts the server's word:

1. :func:`fetch_board` reads every entry and the latest signed checkpoint from the public port,
   pins entry 0 to the election id the officials published (the manifest, hence the trust
   roots), checks every entry's envelope and signatures under the election's rules, recomputes
   the Merkle root of the entries it holds and compares it with the checkpoint the log signed
   under the manifest's origin and key (:class:`BoardView`). After the close it also gathers
   the checkpoints that cover the close, for the witnesses' cosignatures.
2. :func:`phase_entry`, :func:`tally_entry` and :func:`result_entry` build and sign the
   ``open``, ``close``, ``tally`` and ``result`` entries from that view, after checking that the
   board is in the phase the step needs (joint key, every key check and the credential list
   before the opening; an open election before the close; a witnessed close before the tally;
   ``t`` verified decryption shares before the result).
3. Officials who sign on different machines pass the partly signed entry on; each checks it
   against the board again before adding a signature (:func:`sign_entry`): a phase mark must
   fit the phase, a tally must be exactly the sum of each credential's last ballot, a result
   must be exactly what the guardians' shares decrypt to. Officials sign the joint key the
   same way, on a guardian's acknowledgement from the ceremony's last round: it must be the
   key the guardians' ceremony on the board gives, after a ceremony that disqualified nobody.
   :func:`check_entry_to_post` runs the same checks on any entry before it is posted, and
   :func:`post_entry` posts it and checks the receipt offline
   (:func:`evote.client.receipt.check_receipt`).

The tally is checked with the guardians' own check
(:func:`evote.record.guardian_tally.check_tally`: the ballot box's rules replayed with every
proof, the counted set and the sums, the witnessed closing checkpoint), run on the board's
entries followed by the tally entry. That
check wants the tally signed by an official quorum, so an entry that is still short of the
quorum is checked by the same replay done here (:func:`replayed_ballots`) and compared byte for
byte with the tally it gives.

The counting rule (each credential's ballot with the highest sequence number) and the result
of a set of shares are :func:`evote.election.tally.encrypted_tally` and
:func:`evote.election.tally.tally_result`, which the mock election uses too.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import grpc

from evote.board.checkpoint import Checkpoint, open_checkpoint, verify_witnessed
from evote.board.entry import Entry, merge_signatures
from evote.board.merkle import MerkleTree, leaf_hash
from evote.board.note import SignedNote, parse_note
from evote.board.record import Record
from evote.ceremony.messages import GuardianKey, JointKey, KeyCheck
from evote.ceremony.outcome import verify_key_check
from evote.client.channels import ControlClient
from evote.client.receipt import Receipt, check_receipt
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    TallyResult,
    check_guardian_shares,
    encrypted_tally,
    tally_result,
)
from evote.errors import (
    CheckpointError,
    DecodeError,
    EntryRejected,
    EvoteError,
    InvalidInput,
    InvalidSignature,
    ProofError,
    RecordError,
    VerificationError,
)
from evote.record import kinds
from evote.record.ballot_box import BallotBox, check_proofs, parse_submission
from evote.record.guardian_tally import check_tally
from evote.record.kinds import CredentialList, PhaseMark
from evote.verify import checks

#: The kinds only officials post, each signed by a quorum of them.
OFFICIAL_KINDS: Final = (kinds.OPEN, kinds.CLOSE, kinds.TALLY, kinds.RESULT)
#: What officials sign (`evote official sign`): their own kinds and the joint key, which
#: every guardian signs too.
SIGNED_BY_OFFICIALS: Final = (kinds.JOINT_KEY, *OFFICIAL_KINDS)
#: Checkpoints after the close asked for, at most, to find one the witnesses cosigned.
CLOSING_CHECKPOINTS: Final = 64

Phase = Literal["open", "close"]


class BoardUntrusted(VerificationError):
    """What the board served does not check out: another election, an entry or a checkpoint
    that is not signed as the manifest says, or entries that do not match the signed root.
    Nothing was signed or posted."""


class StepRefused(EvoteError):
    """The step cannot be taken on the board as it is now (wrong phase, something it needs is
    not on the board yet, or it was taken already). Nothing was signed or posted."""


class EntryRefused(VerificationError):
    """An entry handed in to sign or to post does not check against the board (another
    election, wrong signers, or a body that is not what the board gives). Nothing was signed
    or posted."""


class ServerRefused(EvoteError):
    """A call to the election's services failed; ``code`` is the gRPC status."""

    def __init__(self, message: str, code: grpc.StatusCode) -> None:
        super().__init__(message)
        self.code = code


# --- reading the board -------------------------------------------------------------------------


def parse_election_id(text: str) -> bytes:
    """The 32-byte election id from the 64 hex digits the officials published."""
    try:
        election_id = bytes.fromhex(text.strip())
    except ValueError:
        election_id = b""
    if len(election_id) != 32:
        raise InvalidInput(
            f"{text!r} is not an election id: give the 64 hex digits the officials published "
            "(`evote manifest check` prints them)"
        )
    return election_id


class BoardSource(Protocol):
    """What :func:`fetch_board` reads (:class:`evote.client.channels.BoardClient`)."""

    def checkpoint(self, size: int = 0) -> str:
        """The latest checkpoint note, or the one of ``size`` entries."""
        ...

    def all_entries(self, start: int = 0) -> Iterator[bytes]:
        """Every entry from ``start``, page by page."""
        ...


@dataclass(frozen=True, slots=True)
class BoardView:
    """The board as checked against a signed checkpoint: the manifest (pinned by election id),
    every entry (envelope and signatures checked), and the checkpoints fetched, by size; the
    last one covers every entry."""

    manifest: Manifest
    entries: tuple[Entry, ...]
    checkpoints: tuple[tuple[Checkpoint, SignedNote], ...]

    @property
    def election_id(self) -> bytes:
        return self.manifest.election_id

    @property
    def size(self) -> int:
        return len(self.entries)

    def positions(self, kind: str) -> list[int]:
        """The indices of every entry of ``kind``."""
        return [index for index, entry in enumerate(self.entries) if entry.kind == kind]

    def index_of(self, entry: Entry) -> int | None:
        """Where these exact bytes are on the board, if they are."""
        for index, held in enumerate(self.entries):
            if held.encoded == entry.encoded:
                return index
        return None

    def record(self, *more: Entry) -> Record:
        """The view as a record (what the guardians' checks read), with ``more`` entries
        after the board's own (entries not posted yet, which no checkpoint covers)."""
        return Record(self.manifest.log_origin, (*self.entries, *more), self.checkpoints)


def board_view(
    election_id: bytes,
    entries: Sequence[bytes],
    notes: Sequence[str],
    previous: BoardView | None = None,
) -> BoardView:
    """Check what a board served and return the view; raise :class:`BoardUntrusted`.

    ``entries`` are the stored bytes from index 0 (or, with ``previous``, those after its
    entries, which are not checked again); ``notes`` are checkpoint notes, the largest of which
    must cover every entry. Each note must be signed by the manifest's log key under its origin,
    and its root must be the Merkle root of the entries held here up to its size.
    """
    if previous is not None and previous.election_id != election_id:
        raise InvalidInput("a board view is extended with entries of its own election only")
    parsed = list(previous.entries) if previous is not None else []
    if previous is None:
        if not entries:
            raise BoardUntrusted("the board holds no entry: entry 0 must be the manifest")
        manifest = _pinned_manifest(entries[0], election_id)
    else:
        manifest = previous.manifest
    rules = kinds.entry_rules(election_id)
    for index, data in enumerate(entries, len(parsed)):
        try:
            parsed.append(rules.check(data))
        except EntryRejected as error:
            raise BoardUntrusted(
                f"entry {index} is not a valid entry of this election: {error}"
            ) from error
    tree = MerkleTree([leaf_hash(entry.encoded) for entry in parsed])
    held_notes = [note.text() for _, note in previous.checkpoints] if previous else []
    by_size: dict[int, tuple[Checkpoint, SignedNote]] = {}
    for text in (*held_notes, *notes):
        # The board only ever adds cosignatures to a checkpoint: the note read last wins.
        checkpoint, note = _checked(text, manifest, tree)
        by_size[checkpoint.size] = (checkpoint, note)
    if not by_size or max(by_size) != tree.size:
        raise BoardUntrusted(
            f"no signed checkpoint covers the {tree.size} entries the board served: the board "
            "may be changing under a read; run the command again"
        )
    return BoardView(manifest, tuple(parsed), tuple(by_size[size] for size in sorted(by_size)))


def _pinned_manifest(data: bytes, election_id: bytes) -> Manifest:
    try:
        first = Entry.decode(data)
        if first.kind != kinds.MANIFEST:
            raise BoardUntrusted(f"entry 0 is a {first.kind!r} entry, not the manifest")
        found = hashlib.sha256(first.body).digest()
        if found != election_id:
            raise BoardUntrusted(
                f"entry 0 is the manifest of election {found.hex()}, not of {election_id.hex()}: "
                "check --election-id and --server"
            )
        return Manifest.from_tlv(first.body)
    except (DecodeError, InvalidInput) as error:
        raise BoardUntrusted(f"entry 0 is not a manifest: {error}") from error


def _checked(text: str, manifest: Manifest, tree: MerkleTree) -> tuple[Checkpoint, SignedNote]:
    """Open one checkpoint under the log's key and check its root against our own tree."""
    try:
        checkpoint, note = open_checkpoint(text, manifest.log_origin, manifest.log_key)
    except (CheckpointError, InvalidSignature, DecodeError) as error:
        raise BoardUntrusted(
            f"a checkpoint is not signed by this election's log: {error}"
        ) from error
    if checkpoint.size > tree.size:
        raise BoardUntrusted(
            f"the checkpoint of size {checkpoint.size} covers more entries than the {tree.size} "
            "the board served"
        )
    if checkpoint.root != tree.root(checkpoint.size):
        raise BoardUntrusted(
            f"the entries the board served do not match its signed checkpoint of size "
            f"{checkpoint.size}: the board contradicts what it signed"
        )
    return checkpoint, note


def fetch_board(
    board: BoardSource, election_id: bytes, previous: BoardView | None = None
) -> BoardView:
    """Read the board up to its latest checkpoint and check it (:func:`board_view`).

    With ``previous`` only the entries after it are fetched (its entries stay as they were
    checked; the new checkpoint's root is recomputed over all of them). Once the election is
    closed, the checkpoints right after the close are fetched too, until one carries the
    witnesses' quorum (the tally needs it).
    """
    latest = board.checkpoint()
    try:
        size = Checkpoint.parse(parse_note(latest).body).size
    except (CheckpointError, DecodeError) as error:
        raise BoardUntrusted(f"the board's checkpoint does not parse: {error}") from error
    start = 0 if previous is None else previous.size
    if size < start:
        raise BoardUntrusted(
            f"the board's latest checkpoint has {size} entries, fewer than the {start} it "
            "served before: the board rewrote its history"
        )
    fresh = list(itertools.islice(board.all_entries(start), size - start))
    if len(fresh) != size - start:
        raise BoardUntrusted(
            f"the board signed a checkpoint of {size} entries but served {start + len(fresh)}"
        )
    view = board_view(election_id, fresh, [latest], previous)
    closes = view.positions(kinds.CLOSE)
    if not closes or _witnessed_after(view, closes[0]):
        return view
    notes = []
    for covering in range(closes[0] + 1, min(view.size, closes[0] + 1 + CLOSING_CHECKPOINTS)):
        try:
            note = board.checkpoint(covering)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                continue  # that size was inside a batch: the log signed no checkpoint of it
            raise
        notes.append(note)
        if _is_witnessed(note, view.manifest):
            break
    return board_view(election_id, [], notes, view)


def _is_witnessed(note: str, manifest: Manifest) -> bool:
    try:
        verify_witnessed(
            note,
            manifest.log_origin,
            manifest.log_key,
            manifest.witness_keys(),
            manifest.witness_quorum,
        )
    except (CheckpointError, InvalidSignature, DecodeError):
        return False
    return True


def _witnessed_after(view: BoardView, index: int) -> bool:
    """Whether some checkpoint covering entry ``index`` carries the witnesses' quorum."""
    return any(
        checkpoint.size > index and _is_witnessed(note.text(), view.manifest)
        for checkpoint, note in view.checkpoints
    )


# --- what is on the board ----------------------------------------------------------------------


def _the_one(view: BoardView, kind: str) -> int | None:
    found = view.positions(kind)
    if len(found) > 1:
        raise BoardUntrusted(
            f"the board holds {len(found)} {kind} entries (at {', '.join(map(str, found))}); an "
            "election has exactly one: tell the other officials and the observers"
        )
    return found[0] if found else None


def _signed_by_quorum(entry: Entry, manifest: Manifest) -> bool:
    signers = set(entry.signers)
    return signers <= set(manifest.officials) and len(signers) >= manifest.official_quorum


def _official_on_board(view: BoardView, index: int) -> None:
    if not _signed_by_quorum(view.entries[index], view.manifest):
        raise BoardUntrusted(
            f"entry {index} ({view.entries[index].kind}) is not signed by a quorum of the "
            "officials, and only officials may post it"
        )


def election_context(view: BoardView) -> ElectionContext:
    """The context every ballot binds, recomputed from the guardians' commitments on the board
    and required to be the joint key the officials and every guardian signed."""
    manifest = view.manifest
    joint_at = _the_one(view, kinds.JOINT_KEY)
    if joint_at is None:
        raise StepRefused(
            "the joint key is not on the board yet: the guardians finish their key ceremony "
            "first, and the officials and every guardian sign the joint key"
        )
    joint_entry = view.entries[joint_at]
    signers = set(joint_entry.signers)
    officials = signers & set(manifest.officials)
    if (
        not set(manifest.guardians) <= signers
        or not signers <= set(manifest.guardians) | officials
        or len(officials) < manifest.official_quorum
    ):
        raise BoardUntrusted(
            f"the joint key (entry {joint_at}) is not signed by every guardian and a quorum of "
            "officials (and nobody else)"
        )
    commitments: dict[int, GuardianKey] = {}
    for index in view.positions(kinds.GUARDIAN_KEY):
        entry = view.entries[index]
        try:
            key = GuardianKey.from_tlv(entry.body)
        except DecodeError as error:
            raise BoardUntrusted(f"entry {index} (guardian-key) does not parse: {error}") from error
        if not 1 <= key.guardian <= len(manifest.guardians) or entry.signers != (
            manifest.guardians[key.guardian - 1],
        ):
            continue  # not this guardian's own entry: it speaks for nobody
        commitments.setdefault(key.guardian, key)
    missing = [g for g in range(1, len(manifest.guardians) + 1) if g not in commitments]
    if missing:
        raise BoardUntrusted(
            f"guardians {missing} posted no commitments, yet a joint key is posted"
        )
    try:
        context = ElectionContext.create(
            manifest, [commitments[g].commitments for g in sorted(commitments)]
        )
        joint = JointKey.from_tlv(joint_entry.body)
    except (DecodeError, InvalidInput) as error:
        raise BoardUntrusted(
            f"the joint key (entry {joint_at}) cannot be checked: {error}"
        ) from error
    if (joint.joint_key, joint.extended_hash, joint.verification_keys) != (
        context.joint_key,
        context.extended_hash,
        context.verification_keys,
    ):
        raise BoardUntrusted(
            f"the joint key (entry {joint_at}) is not the one the guardians' commitments give"
        )
    return context


def credential_list(view: BoardView) -> tuple[VerifyKey, ...]:
    """The voters' public credentials, from the one list the credential authority signed."""
    at = _the_one(view, kinds.CREDENTIALS)
    if at is None:
        raise StepRefused(
            "registration is not closed: the credential list is not on the board yet (the "
            "credential authority runs `evote registry close`)"
        )
    entry = view.entries[at]
    if entry.signers != (view.manifest.credential_authority,):
        raise BoardUntrusted(f"the credential list (entry {at}) is not the authority's alone")
    try:
        return CredentialList.from_tlv(entry.body).credentials
    except DecodeError as error:
        raise BoardUntrusted(f"the credential list (entry {at}) does not parse: {error}") from error


def _key_checks(view: BoardView, context: ElectionContext) -> None:
    manifest = view.manifest
    proved: set[int] = set()
    for index in view.positions(kinds.KEY_CHECK):
        entry = view.entries[index]
        try:
            check = KeyCheck.from_tlv(entry.body)
        except DecodeError:
            continue
        if not 1 <= check.guardian <= len(manifest.guardians):
            continue
        if entry.signers != (manifest.guardians[check.guardian - 1],):
            continue
        try:
            verify_key_check(check, context)
        except ProofError:
            continue
        proved.add(check.guardian)
    missing = [g for g in range(1, len(manifest.guardians) + 1) if g not in proved]
    if missing:
        raise StepRefused(
            f"guardians {missing} have no key check on the board that verifies: each guardian "
            "shows it can decrypt (`evote guardian key-check`, then `evote post`) before the "
            "election opens"
        )


# --- open and close ----------------------------------------------------------------------------


def _check_phase(view: BoardView, phase: Phase, mark: PhaseMark) -> None:
    """Refuse unless the board is ready for ``mark`` (the rules in the module docstring)."""
    open_at = _the_one(view, kinds.OPEN)
    close_at = _the_one(view, kinds.CLOSE)
    if phase == "open":
        if open_at is not None:
            raise StepRefused(f"the election is already open (entry {open_at})")
        if close_at is not None:
            raise StepRefused(f"the election was closed (entry {close_at}) and never reopens")
        context = election_context(view)
        _key_checks(view, context)
        credential_list(view)
        return
    if open_at is None:
        raise StepRefused(
            "the election is not open, so it cannot close: open it first (`evote official open`)"
        )
    if close_at is not None:
        raise StepRefused(f"the election is already closed (entry {close_at})")
    _official_on_board(view, open_at)
    try:
        opened = PhaseMark.from_tlv(view.entries[open_at].body, "open")
    except DecodeError as error:
        raise BoardUntrusted(f"the open mark (entry {open_at}) does not parse: {error}") from error
    if mark.timestamp < opened.timestamp:
        raise EntryRefused(
            f"the close mark's time {mark.timestamp} is before the opening's {opened.timestamp}: "
            "check the clock of the machine that made it"
        )


def phase_entry(view: BoardView, phase: Phase, now: int, signers: Sequence[SigningKey]) -> Entry:
    """The officials' ``open`` or ``close`` mark at time ``now`` (seconds), signed by
    ``signers`` (officials' keys), if the board is ready for it."""
    keys = officials_keys(view.manifest, signers)
    mark = PhaseMark(phase, now)
    _check_phase(view, phase, mark)
    return Entry.create(phase, view.election_id, mark.to_tlv(), keys)


def officials_keys(manifest: Manifest, signers: Sequence[SigningKey]) -> list[SigningKey]:
    """``signers`` without repeats, each required to be one of the manifest's officials."""
    keys: dict[VerifyKey, SigningKey] = {}
    for key in signers:
        if key.verify_key not in manifest.officials:
            raise EntryRefused(
                f"key {key.verify_key.encode().hex()[:16]}… is not one of the manifest's "
                "officials' keys: only officials sign the joint key, open, close, tally and "
                "result"
            )
        keys.setdefault(key.verify_key, key)
    if not keys:
        raise InvalidInput("give at least one official's key")
    return list(keys.values())


# --- the tally ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VotingPeriod:
    """Where voting opened and closed on the board, and the credentials that could vote."""

    open_at: int
    close_at: int
    credentials: tuple[VerifyKey, ...]


def voting_period(view: BoardView) -> VotingPeriod:
    """The voting period of an election that is closed, whose close the witnesses cosigned,
    and that has no tally yet: what the tally needs (:class:`StepRefused` otherwise)."""
    open_at = _the_one(view, kinds.OPEN)
    close_at = _the_one(view, kinds.CLOSE)
    if open_at is None:
        raise StepRefused("the election never opened, so there is nothing to tally")
    if close_at is None:
        raise StepRefused(
            "the election is not closed: close it first (`evote official close`); nothing is "
            "tallied while voters can still cast"
        )
    tally_at = _the_one(view, kinds.TALLY)
    if tally_at is not None:
        raise StepRefused(
            f"the tally is already on the board (entry {tally_at}); next, the guardians decrypt "
            "it (`evote guardian decrypt`) and their shares are posted"
        )
    for index in (open_at, close_at):
        _official_on_board(view, index)
    if not _witnessed_after(view, close_at):
        raise StepRefused(
            f"no checkpoint covering the close (entry {close_at}) carries "
            f"{view.manifest.witness_quorum} witness cosignatures yet, so the closed board is "
            "not settled: wait until the witnesses cosign (`evote observe --witness-key ...`), "
            "then run this again"
        )
    return VotingPeriod(open_at, close_at, credential_list(view))


def _parsed_ballots(view: BoardView, voting: VotingPeriod) -> dict[int, EncryptedBallot]:
    """The ballots on the board by index, parsed without checking their proofs (the guardians'
    check that follows replays every rule)."""
    cast: dict[int, EncryptedBallot] = {}
    for index in (*view.positions(kinds.BALLOT), *view.positions(kinds.AUDIT)):
        if not voting.open_at < index < voting.close_at:
            raise BoardUntrusted(f"entry {index} ({view.entries[index].kind}) lies outside voting")
    for index in view.positions(kinds.BALLOT):
        try:
            cast[index] = EncryptedBallot.from_tlv(view.entries[index].body, view.manifest)
        except DecodeError as error:
            raise BoardUntrusted(f"entry {index} (ballot) does not parse: {error}") from error
    return cast


def replayed_ballots(
    view: BoardView, context: ElectionContext, voting: VotingPeriod
) -> dict[int, EncryptedBallot]:
    """Every ballot the ballot box admits when its rules (proofs included) are replayed over
    the board in order, by index; raise :class:`BoardUntrusted` at the first one it refuses."""
    box = BallotBox(context, voting.credentials)
    box.phase = "open"
    cast: dict[int, EncryptedBallot] = {}
    for index, entry in enumerate(view.entries):
        if entry.kind not in (kinds.BALLOT, kinds.AUDIT):
            continue
        if not voting.open_at < index < voting.close_at:
            raise BoardUntrusted(f"entry {index} ({entry.kind}) lies outside the voting period")
        try:
            submission = parse_submission(entry.encoded, context)
            check_proofs(submission, context)
            box.admit(submission)
        except EvoteError as error:
            raise BoardUntrusted(
                f"entry {index} ({entry.kind}) breaks the ballot box's rules: {error}"
            ) from error
        if submission.kind == kinds.BALLOT:
            cast[index] = submission.ballot
    return cast


def _guardians_check(view: BoardView, context: ElectionContext, entry: Entry) -> None:
    """The guardians' own check of a tally (it needs the tally signed by an official quorum)."""
    try:
        check_tally(view.record(entry), context)
    except RecordError as error:
        raise EntryRefused(
            f"the guardians' check refuses this tally, so they would not decrypt it: {error}"
        ) from error


def tally_entry(view: BoardView, signers: Sequence[SigningKey]) -> Entry:
    """The encrypted tally of each credential's last ballot, signed by ``signers``, after the
    checks a guardian runs before decrypting (see the module docstring)."""
    keys = officials_keys(view.manifest, signers)
    context = election_context(view)
    voting = voting_period(view)
    if len(keys) >= view.manifest.official_quorum:
        tally = encrypted_tally(view.manifest, _parsed_ballots(view, voting))
        entry = Entry.create(kinds.TALLY, view.election_id, tally.to_tlv(), keys)
        _guardians_check(view, context, entry)
        return entry
    tally = encrypted_tally(view.manifest, replayed_ballots(view, context, voting))
    return Entry.create(kinds.TALLY, view.election_id, tally.to_tlv(), keys)


def _check_tally_entry(view: BoardView, entry: Entry) -> None:
    context = election_context(view)
    voting = voting_period(view)
    if _signed_by_quorum(entry, view.manifest):
        _guardians_check(view, context, entry)
        return
    expected = encrypted_tally(view.manifest, replayed_ballots(view, context, voting))
    if entry.body != expected.to_tlv():
        raise EntryRefused(
            "this tally is not the sum of each credential's last ballot on the board (it should "
            f"count {len(expected.counted)} ballots: entries {_few(expected.counted)}); do not "
            "sign it"
        )


def _few(indices: Sequence[int]) -> str:
    if not indices:
        return "none"
    shown = ", ".join(map(str, indices[:5]))
    return shown + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


# --- decryption shares and the result ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostedTally:
    """The tally on the board, where it is, and the number of credentials it was counted
    from (the registered voters of the outcome's turnout rules)."""

    index: int
    tally: EncryptedTally
    registered: int


def posted_tally(view: BoardView) -> PostedTally:
    """The one tally on the board, after the close and signed by an official quorum."""
    tally_at = _the_one(view, kinds.TALLY)
    if tally_at is None:
        raise StepRefused(
            "there is no tally on the board yet: post it first (`evote official tally`)"
        )
    close_at = _the_one(view, kinds.CLOSE)
    if close_at is None or tally_at < close_at:
        raise BoardUntrusted(f"the tally (entry {tally_at}) does not follow a close")
    _official_on_board(view, tally_at)
    try:
        tally = EncryptedTally.from_tlv(view.entries[tally_at].body, view.manifest)
    except DecodeError as error:
        raise BoardUntrusted(f"the tally (entry {tally_at}) does not parse: {error}") from error
    return PostedTally(tally_at, tally, len(credential_list(view)))


def share_problem(
    entry: Entry, context: ElectionContext, tally: EncryptedTally
) -> tuple[GuardianShares | None, str | None]:
    """A decryption-share entry's shares, or why they do not count: the guardian must exist,
    have signed alone, and every share's proof must verify against its verification key and
    the tally's aggregate (target ``tally/<part>/<option>``)."""
    try:
        return check_guardian_shares(entry.body, entry.signers, context, tally), None
    except DecodeError as error:
        return None, f"does not parse: {error}"
    except InvalidInput as error:
        return None, str(error)


def verified_shares(
    view: BoardView, context: ElectionContext, posted: PostedTally
) -> tuple[dict[int, GuardianShares], list[str]]:
    """The decryption shares on the board that verify, by guardian (each guardian's first
    entry), and why each other share entry does not count."""
    verified: dict[int, GuardianShares] = {}
    problems: list[str] = []
    seen: set[int] = set()
    for index in view.positions(kinds.DECRYPTION_SHARE):
        if index < posted.index:
            problems.append(f"entry {index} comes before the tally")
            continue
        shares, problem = share_problem(view.entries[index], context, posted.tally)
        if shares is None:
            problems.append(f"entry {index} {problem}")
            continue
        if shares.guardian in seen:
            problems.append(f"entry {index}: guardian {shares.guardian} posted shares before")
            continue
        seen.add(shares.guardian)
        verified[shares.guardian] = shares
    return verified, problems


def _result_inputs(view: BoardView) -> tuple[ElectionContext, PostedTally]:
    result_at = _the_one(view, kinds.RESULT)
    if result_at is not None:
        raise StepRefused(f"the result is already on the board (entry {result_at})")
    return election_context(view), posted_tally(view)


def build_result(view: BoardView) -> TallyResult:
    """The result from every guardian's verified shares on the board; refused with fewer than
    the guardians' quorum (naming who is missing and why the others do not count)."""
    context, posted = _result_inputs(view)
    verified, problems = verified_shares(view, context, posted)
    quorum = view.manifest.guardian_quorum
    if len(verified) < quorum:
        waiting = [g for g in range(1, len(view.manifest.guardians) + 1) if g not in verified]
        raise StepRefused(
            f"{len(verified)} guardians' decryption shares verify, and the result needs {quorum}: "
            f"waiting for guardians {waiting} (`evote guardian decrypt`, then `evote post`)"
            + (f"; not counted: {'; '.join(problems)}" if problems else "")
        )
    return tally_result(view.manifest, posted.tally, verified, posted.registered)


def result_entry(view: BoardView, signers: Sequence[SigningKey]) -> tuple[Entry, TallyResult]:
    """The result entry, signed by ``signers``, and the result it holds."""
    keys = officials_keys(view.manifest, signers)
    result = build_result(view)
    return Entry.create(kinds.RESULT, view.election_id, result.to_tlv(), keys), result


def _check_result_entry(view: BoardView, entry: Entry) -> TallyResult:
    context, posted = _result_inputs(view)
    try:
        claimed = TallyResult.from_tlv(entry.body, view.manifest)
    except DecodeError as error:
        raise EntryRefused(f"the result entry does not parse: {error}") from error
    verified, _ = verified_shares(view, context, posted)
    named = set(claimed.guardians)
    unverified = sorted(named - set(verified))
    if len(named) != len(claimed.guardians) or unverified:
        raise EntryRefused(
            f"the result combines guardians {list(claimed.guardians)}, but "
            + (
                f"guardians {unverified} have no verified shares on the board"
                if unverified
                else "names a guardian twice"
            )
        )
    expected = tally_result(
        view.manifest, posted.tally, {g: verified[g] for g in named}, posted.registered
    )
    if expected.to_tlv() != entry.body:
        raise EntryRefused(
            "the result entry does not match what the guardians' shares on the board decrypt "
            f"to ({_difference(claimed, expected)}); do not sign it"
        )
    return expected


def _difference(claimed: TallyResult, expected: TallyResult) -> str:
    if claimed.guardians != expected.guardians:
        return f"guardians {list(claimed.guardians)}, expected in order {list(expected.guardians)}"
    for part, counts in expected.counts.items():
        if claimed.counts.get(part) != counts:
            said = list(claimed.counts.get(part, ()))
            return f"{part}: it says {said}, the shares give {list(counts)}"
    return "the outcome lines differ from those the counts give"


# --- signing and posting entries made elsewhere ------------------------------------------------


def check_official_entry(view: BoardView, entry: Entry) -> TallyResult | None:
    """Check an entry officials sign against the board (see the module docstring); the result
    a ``result`` entry holds, ``None`` for the other kinds."""
    if entry.election_id != view.election_id:
        raise EntryRefused(
            f"this entry belongs to election {entry.election_id.hex()}, not "
            f"{view.election_id.hex()}"
        )
    if entry.kind not in SIGNED_BY_OFFICIALS:
        raise EntryRefused(
            f"a {entry.kind} entry is not the officials' to sign (they sign "
            f"{', '.join(SIGNED_BY_OFFICIALS)})"
        )
    allowed = set(view.manifest.officials)
    if entry.kind == kinds.JOINT_KEY:
        allowed |= set(view.manifest.guardians)
    strangers = [key for key in entry.signers if key not in allowed]
    if strangers:
        whose = "officials' and guardians'" if entry.kind == kinds.JOINT_KEY else "officials'"
        raise EntryRefused(
            f"this {entry.kind} entry is signed by keys that are not the manifest's {whose} ("
            + ", ".join(key.encode().hex()[:16] + "…" for key in strangers)
            + f"); make it again with {whose} keys only"
        )
    try:
        entry.verify_signatures()
    except InvalidSignature as error:
        raise EntryRefused(f"a signature on this {entry.kind} entry fails: {error}") from error
    if entry.kind == kinds.JOINT_KEY:
        _check_joint_key_entry(view, entry)
        return None
    if entry.kind in (kinds.OPEN, kinds.CLOSE):
        phase: Phase = "open" if entry.kind == kinds.OPEN else "close"
        try:
            mark = PhaseMark.from_tlv(entry.body, phase)
        except DecodeError as error:
            raise EntryRefused(f"the {phase} mark does not parse: {error}") from error
        _check_phase(view, phase, mark)
        return None
    if entry.kind == kinds.TALLY:
        _check_tally_entry(view, entry)
        return None
    return _check_result_entry(view, entry)


def _check_joint_key_entry(view: BoardView, entry: Entry) -> None:
    """A joint key as officials sign it: no joint key on the board yet, the guardians' whole
    ceremony on the board checks (the verifier's check 4: nobody disqualified), and the body
    is exactly ``K``, every verification key and ``H_E`` recomputed from their commitments."""
    if view.index_of(entry) is None:
        joint_at = _the_one(view, kinds.JOINT_KEY)
        if joint_at is not None:
            raise StepRefused(f"the joint key is already on the board (entry {joint_at})")
    found, commitments = checks.check_guardians(view.entries, view.manifest)
    if not found.passed or commitments is None:
        reasons = "; ".join(str(failure) for failure in found.failures) or "no commitments"
        raise StepRefused(
            f"the guardians' key ceremony on the board is not complete or does not check "
            f"({reasons}): sign a joint key only after every guardian's rounds are posted and "
            "nobody is disqualified"
        )
    try:
        context = ElectionContext.create(view.manifest, commitments)
        joint = JointKey.from_tlv(entry.body)
    except (DecodeError, InvalidInput) as error:
        raise EntryRefused(f"this joint key cannot be checked: {error}") from error
    if (joint.joint_key, joint.extended_hash, joint.verification_keys) != (
        context.joint_key,
        context.extended_hash,
        context.verification_keys,
    ):
        raise EntryRefused(
            "this joint key is not the one the guardians' commitments on the board give "
            f"(K = {context.joint_key.encode().hex()}, H_E = {context.extended_hash.hex()}); "
            "do not sign it"
        )


def sign_entry(view: BoardView, entry: Entry, signers: Sequence[SigningKey]) -> Entry:
    """Add the officials' ``signers`` to a partly signed entry officials sign (their own
    kinds, or a guardian's copy of the joint key), after checking the entry, as it will be
    signed, against the board."""
    keys = officials_keys(view.manifest, signers)
    merged = merge_signatures([entry], keys)
    check_official_entry(view, merged)
    return merged


def quorum_missing(manifest: Manifest, entry: Entry) -> int:
    """How many more officials must sign ``entry`` (0 once the quorum signed)."""
    officials = set(entry.signers) & set(manifest.officials)
    return max(0, manifest.official_quorum - len(officials))


def phase_rank(kind: str) -> int:
    """Where ``kind`` comes in an election (the ceremony's rounds, the joint key, key checks,
    credentials, ..., shares, result): sorting a guardian's whole outbox by it posts each
    round before the next. Unknown kinds come last."""
    order = kinds.ALL_KINDS
    return order.index(kind) if kind in order else len(order)


def check_entry_to_post(view: BoardView, entry: Entry) -> int | None:
    """Check an entry before it is posted; its index if these exact bytes are on the board
    already (posting it again is a harmless retry).

    Every entry: this election, and the envelope and signatures under the election's rules.
    Officials' entries: the quorum, and :func:`check_official_entry`. The joint key: every
    guardian's signature and the officials' quorum, and :func:`check_official_entry`.
    Decryption shares: after the tally, the guardian's first, every proof verifying. The
    server checks who may post and sign each kind again.
    """
    if entry.election_id != view.election_id:
        raise EntryRefused(
            f"this {entry.kind} entry belongs to election {entry.election_id.hex()}, not "
            f"{view.election_id.hex()}"
        )
    try:
        kinds.entry_rules(view.election_id).check(entry.encoded)
    except EntryRejected as error:
        raise EntryRefused(str(error)) from error
    existing = view.index_of(entry)
    if existing is not None:
        return existing
    if entry.kind == kinds.MANIFEST:
        raise EntryRefused("the manifest is entry 0 of the board (`evote setup`), never posted")
    if entry.kind in OFFICIAL_KINDS:
        missing = quorum_missing(view.manifest, entry)
        if missing:
            raise EntryRefused(
                f"this {entry.kind} entry needs {missing} more officials' signatures: each adds "
                "theirs with `evote official sign`, or merge the signed copies with "
                "`evote ceremony merge-signatures`"
            )
        check_official_entry(view, entry)
    elif entry.kind == kinds.JOINT_KEY:
        _check_joint_key_to_post(view, entry)
    elif entry.kind == kinds.DECRYPTION_SHARE:
        _check_share_to_post(view, entry)
    return None


def _check_joint_key_to_post(view: BoardView, entry: Entry) -> None:
    manifest = view.manifest
    unsigned = [i for i, key in enumerate(manifest.guardians, 1) if key not in entry.signers]
    missing = quorum_missing(manifest, entry)
    if unsigned or missing:
        lacking = [f"guardian(s) {', '.join(map(str, unsigned))}"] if unsigned else []
        lacking += [f"{missing} more official(s)"] if missing else []
        raise EntryRefused(
            f"this joint-key entry still needs the signatures of {' and '.join(lacking)}: "
            "officials add theirs with `evote official sign`, and `evote ceremony "
            "merge-signatures` gathers them with every guardian's acknowledgement "
            "(joint-key-g<i>.entry from the last round)"
        )
    check_official_entry(view, entry)


def _check_share_to_post(view: BoardView, entry: Entry) -> None:
    context = election_context(view)
    posted = posted_tally(view)
    result_at = _the_one(view, kinds.RESULT)
    if result_at is not None:
        raise StepRefused(f"the result is already on the board (entry {result_at})")
    shares, problem = share_problem(entry, context, posted.tally)
    if shares is None:
        raise EntryRefused(f"these decryption shares do not count: the entry {problem}")
    verified, _ = verified_shares(view, context, posted)
    if shares.guardian in verified:
        raise StepRefused(
            f"guardian {shares.guardian} already has other decryption shares on the board; a "
            "guardian answers one tally once"
        )


def post_entry(control: ControlClient, manifest: Manifest, entry: Entry) -> Receipt:
    """Post ``entry`` on the control port and check the receipt offline against the manifest
    (:class:`evote.client.receipt.ReceiptRefused` if it does not prove the entry is on the
    board). Posting the same bytes again answers the same entry's receipt."""
    receipt = control.post(entry.encoded)
    check_receipt(receipt, manifest, entry.encoded)
    return receipt


# --- failed calls ------------------------------------------------------------------------------


def rpc_refusal(
    code: grpc.StatusCode, details: str | None, *, server: str, doing: str
) -> ServerRefused:
    """The error a person gets for a failed call: what happened and what to do about it."""
    detail = f": {details}" if details else ""
    if code == grpc.StatusCode.UNAVAILABLE:
        message = (
            f"{server} is not reachable while {doing} (server down?){detail}. Check the address "
            "and that `evote serve` runs there, that --ca is the election's ca.pem, and on the "
            "control port that --role-dir holds a valid role certificate (one the server does "
            "not accept also shows as unavailable); then run the same command again: it is safe"
        )
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"{server} did not answer in time while {doing}; run the same command again"
    elif code == grpc.StatusCode.PERMISSION_DENIED:
        message = (
            f"wrong role: the server refused {doing}{detail}. Use the role directory "
            "`evote ca issue` gave the party this belongs to (officials: --role official; "
            "guardian i: --role guardian:i; the credential authority: --role "
            "credential-authority)"
        )
    elif code == grpc.StatusCode.UNAUTHENTICATED:
        message = (
            f"the control port did not accept your role certificate while {doing}{detail}; "
            "give --role-dir the directory `evote ca issue` wrote"
        )
    elif code == grpc.StatusCode.FAILED_PRECONDITION:
        message = f"wrong phase: the server refused {doing}{detail}"
    elif code == grpc.StatusCode.INVALID_ARGUMENT:
        message = f"the server refused {doing}{detail}; nothing was changed"
    else:
        message = f"{server} answered {code.name} while {doing}{detail}"
    return ServerRefused(message, code)


@contextlib.contextmanager
def calling(server: str, doing: str) -> Iterator[None]:
    """Turn a failed gRPC call into a :class:`ServerRefused` a person can act on."""
    try:
        yield
    except grpc.RpcError as error:
        raise rpc_refusal(error.code(), error.details(), server=server, doing=doing) from None
