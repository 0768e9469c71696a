"""The ballot box over a board: its admission state is always the one the board implies.

:class:`evote.record.ballot_box.BallotBox` holds the rules and their state (credentials,
phase, ballot ids, ciphertexts, sequence numbers, audited seeds). A :class:`BallotStation`
keeps that state in step with a :class:`evote.board.log.BulletinBoard`:

* on start it replays the board from entry 0 (manifest, ceremony, joint key or the dealer's
  Paillier key, credential list, open and close marks, every admitted ballot and audit), so a
  restarted box enforces
  exactly the rules it enforced before (a replayed old ballot is still refused);
* before each admission it reads whatever others appended since (the officials' open and
  close marks arrive through another port);
* admission and append are serialised by one lock, and a ballot is acknowledged only after
  the board committed it together with the checkpoint that covers it;
* a submission whose exact bytes are already on the board gets that leaf back (idempotent
  retries: the caller may have lost the first answer).

If an append fails after the box admitted the ballot, the box's state is ahead of the board;
it is thrown away and rebuilt from the board before the next admission.

The proof checks (the expensive part) run outside the lock, in the caller's thread by
default; ``proofs`` can send them elsewhere (:class:`evote.record.proof_workers.ProofWorkers`
runs them in worker processes) with the same refusals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.ceremony.dealer import check_dealt_key
from evote.ceremony.messages import DealtKey, GuardianKey, JointKey
from evote.crypto.signing import VerifyKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.errors import (
    BoardError,
    CeremonyError,
    DecodeError,
    DuplicateEntry,
    EvoteError,
    StoreCorrupted,
)
from evote.record import kinds
from evote.record.ballot_box import (
    BallotBox,
    BallotRejected,
    Submission,
    check_proofs,
    parse_submission,
)
from evote.record.kinds import CredentialList, PhaseMark

_PAGE: Final = 1000

Phase = Literal["setup", "open", "closed"]

#: Checks a parsed submission's proofs against the context; raises :class:`BallotRejected`.
ProofCheck = Callable[[Submission, ElectionContext], None]


class ElectionNotOpen(BallotRejected):
    """Casting is not possible now: before the election opened or after it closed."""


@dataclass(frozen=True, slots=True)
class Admitted:
    """Where a submission is on the board, and a checkpoint (signed note) that covers it.

    ``fresh`` is false when the exact same bytes were already there (a retry).
    """

    index: int
    checkpoint: str
    fresh: bool


def _signed_by(entry: Entry, keys: tuple[VerifyKey, ...]) -> int:
    """How many distinct keys of ``keys`` signed ``entry`` (the board checked the signatures)."""
    return len(set(entry.signers) & set(keys))


class BallotStation:
    """The ballot box of one election, sequenced on one board.

    ``proofs`` checks each submission's proofs (:func:`check_proofs` in the calling thread
    unless another check is given, or set later by the server that starts worker processes).
    """

    def __init__(self, board: BulletinBoard, *, proofs: ProofCheck = check_proofs) -> None:
        self.board = board
        self.proofs = proofs
        self._lock = threading.Lock()
        self._reset()
        with self._lock:
            self._catch_up()

    def _reset(self) -> None:
        self._next = 0
        self._own: set[int] = set()
        self._manifest: Manifest | None = None
        self._guardian_keys: dict[int, GuardianKey] = {}
        self._joint_key: JointKey | None = None
        self._context: ElectionContext | None = None
        self._credentials: CredentialList | None = None
        self._phase: Phase = "setup"
        self._box: BallotBox | None = None

    # reading the board --------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        with self._lock:
            self._catch_up()
            return self._phase

    @property
    def context(self) -> ElectionContext | None:
        with self._lock:
            self._catch_up()
            return self._context

    def append_checked(self, entry: Entry, check: Callable[[Phase], None]) -> tuple[int, str, bool]:
        """Append a non-ballot entry (a phase mark, a tally, a share …) under the station's lock.

        ``check(phase)`` runs with the state caught up and may refuse; no ballot is admitted
        meanwhile. Returns ``(index, checkpoint, fresh)``; an entry already on the board is
        answered with its index and the latest checkpoint (``fresh`` is False).
        """
        with self._lock:
            self._catch_up()
            existing = self.board.find(entry.tracking_code)
            if existing is not None:
                return existing, self.board.latest_checkpoint(), False
            check(self._phase)
            appended = self.board.append([entry.encoded])
            return appended.first_index, appended.checkpoint, True

    def _catch_up(self) -> None:
        """Apply every entry appended since the last call (caller holds the lock)."""
        while self._next < self.board.size:
            page = self.board.entries(self._next, self._next + _PAGE)
            if not page:
                raise StoreCorrupted(f"the board reports entry {self._next} but does not hold it")
            for data in page:
                index = self._next
                self._next += 1
                if index in self._own:
                    self._own.discard(index)
                    continue
                self._apply(index, data)

    def _apply(self, index: int, data: bytes) -> None:
        try:
            entry = Entry.decode(data)
            if index == 0:
                self._apply_manifest(entry)
                return
            manifest = self._manifest
            if manifest is None:  # pragma: no cover - index 0 always sets it or raises
                raise StoreCorrupted("the board does not start with a manifest")
            if entry.kind == kinds.GUARDIAN_KEY:
                key = GuardianKey.from_tlv(entry.body)
                if 1 <= key.guardian <= len(manifest.guardians) and entry.signers == (
                    manifest.guardians[key.guardian - 1],
                ):
                    self._guardian_keys[key.guardian] = key
            elif entry.kind == kinds.JOINT_KEY:
                self._joint_key = JointKey.from_tlv(entry.body)
                self._context = self._derive_context(manifest, self._joint_key)
            elif entry.kind == kinds.PAILLIER_KEY:
                if self._context is None:
                    self._context = self._paillier_context(manifest, entry)
            elif entry.kind == kinds.CREDENTIALS:
                if entry.signers == (manifest.credential_authority,):
                    self._credentials = CredentialList.from_tlv(entry.body)
            elif entry.kind in (kinds.OPEN, kinds.CLOSE):
                if _signed_by(entry, manifest.officials) >= manifest.official_quorum:
                    phase: Literal["open", "close"] = (
                        "open" if entry.kind == kinds.OPEN else "close"
                    )
                    PhaseMark.from_tlv(entry.body, phase)
                    self._phase = "open" if phase == "open" else "closed"
            elif entry.kind in (kinds.BALLOT, kinds.AUDIT):
                box = self._ready_box()
                if box is None:
                    raise StoreCorrupted(f"entry {index}: a {entry.kind} before the box was set up")
                box.admit(parse_submission(data, box.context))
            self._ready_box()
        except StoreCorrupted:
            raise
        except (DecodeError, BallotRejected) as error:
            raise StoreCorrupted(
                f"entry {index} ({kind_of(data)}) breaks the ballot box's rules on replay: "
                f"{error}; refusing to serve"
            ) from error

    def _apply_manifest(self, entry: Entry) -> None:
        if entry.kind != kinds.MANIFEST:
            raise StoreCorrupted(f"entry 0 is a {entry.kind!r} entry, not the manifest")
        manifest = Manifest.from_tlv(entry.body)
        if manifest.election_id != self.board.rules.election_id:
            raise StoreCorrupted("the board's manifest is not the one of its election id")
        self._manifest = manifest

    def _derive_context(self, manifest: Manifest, joint: JointKey) -> ElectionContext | None:
        """The context from every guardian's commitments, if it matches the posted joint key."""
        guardians = range(1, len(manifest.guardians) + 1)
        if any(guardian not in self._guardian_keys for guardian in guardians):
            return None
        try:
            context = ElectionContext.create(
                manifest, [self._guardian_keys[guardian].commitments for guardian in guardians]
            )
        except EvoteError:
            return None
        if (context.joint_key, context.extended_hash, context.verification_keys) != (
            joint.joint_key,
            joint.extended_hash,
            joint.verification_keys,
        ):
            return None
        return context

    def _paillier_context(self, manifest: Manifest, entry: Entry) -> ElectionContext | None:
        """Scheme B: the context of the dealer's key, if the dealer and an official quorum
        signed it and the key fits the manifest (the ceremony's own public judgement)."""
        dealer = manifest.dealer
        if dealer is None or dealer not in entry.signers:
            return None
        if _signed_by(entry, manifest.officials) < manifest.official_quorum:
            return None
        try:
            return check_dealt_key(manifest, DealtKey.from_tlv(entry.body))
        except CeremonyError:
            return None

    def _ready_box(self) -> BallotBox | None:
        if self._box is None and self._context is not None and self._credentials is not None:
            self._box = BallotBox(self._context, self._credentials.credentials)
        if self._box is not None:
            self._box.phase = self._phase
        return self._box

    # submissions ----------------------------------------------------------------------------------

    def parse(
        self, data: bytes, kind: Literal["ballot", "audit"]
    ) -> tuple[Submission, ElectionContext]:
        """Parse a ballot or audit against the election; raise :class:`BallotRejected`."""
        context = self.context
        if context is None:
            raise ElectionNotOpen("the election has no key yet: nothing can be cast")
        submission = parse_submission(data, context)
        if submission.kind != kind:
            raise BallotRejected(f"expected a {kind} entry, got a {submission.kind} entry")
        return submission, context

    def submit(
        self,
        data: bytes,
        kind: Literal["ballot", "audit"],
        *,
        before_proofs: Callable[[], None] = lambda: None,
    ) -> Admitted:
        """Admit and append a ballot or audit, or find the identical one already appended.

        Raises :class:`BallotRejected` (nothing written) for a bad submission,
        :class:`ElectionNotOpen` outside the voting phase. ``before_proofs`` runs before the
        (expensive) proof checks, e.g. to give up when the caller's deadline has passed.
        """
        submission, context = self.parse(data, kind)
        existing = self._existing(submission)
        if existing is not None:
            return existing
        before_proofs()
        self.proofs(submission, context)
        with self._lock:
            self._catch_up()
            existing = self._existing(submission)
            if existing is not None:
                return existing
            box = self._ready_box()
            if box is None or box.phase != "open":
                raise ElectionNotOpen(f"the election is not open (it is {self._phase})")
            box.admit(submission)
            try:
                appended = self.board.append([submission.entry.encoded])
            except DuplicateEntry as duplicate:
                self._reset()
                return Admitted(duplicate.index, self._covering(duplicate.index), fresh=False)
            except BaseException:
                # The box admitted what the board did not take: rebuild it from the board.
                self._reset()
                raise
            if appended.first_index == self._next:
                self._next += 1
            else:
                self._own.add(appended.first_index)
        return Admitted(appended.first_index, appended.checkpoint, fresh=True)

    def _existing(self, submission: Submission) -> Admitted | None:
        index = self.board.find(submission.entry.tracking_code)
        if index is None:
            return None
        return Admitted(index, self._covering(index), fresh=False)

    def _covering(self, index: int) -> str:
        """The checkpoint signed by the append of ``index`` (a retry's receipt is the first
        one's), or the newest if that append also took later entries."""
        try:
            return self.board.checkpoint_at(index + 1)
        except BoardError:
            return self.board.latest_checkpoint()


def kind_of(data: bytes) -> str:
    try:
        return Entry.decode(data).kind
    except DecodeError:
        return "undecodable"
