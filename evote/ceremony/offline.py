"""One guardian's key ceremony over files: from its saved state and the entries it was handed,
the next round (crypto spec §3.5). Pure: bytes in, bytes out; the command line does the I/O.

Guardians exchange signed board entries as files (an air-gapped laptop and a USB stick): each
round, every guardian writes its entries to an outbox, a coordinator gathers them all and hands
every guardian the lot as its inbox, and each guardian runs its next round. Every entry handed
in is checked before anything else happens (:meth:`Transcript.accept`): it belongs to this
election, it is of a kind guardians sign, it is signed by exactly the guardian it speaks for
(the manifest's key for the index its body names), and it does not contradict an entry of the
same guardian and round seen before (which would be equivocation). Another guardian's later
entries (joint-key acknowledgement, key check, decryption shares) are checked, then ignored.
Accepted entries join the guardian's transcript, kept in its state, so later rounds need no
earlier files.

The rounds (:func:`advance`), each refused until the entries it needs are all present:

===============  ==========================================  =================================
step reached     the next round needs                        and posts
===============  ==========================================  =================================
joined           nothing                                     ceremony-transport (round 0)
transport        every other guardian's ceremony-transport   ceremony-commit (round 1)
commit           every other guardian's ceremony-commit      guardian-key (round 2, reveal)
reveal           every other guardian's guardian-key         ceremony-shares (round 3)
shares           every other guardian's ceremony-shares      a ceremony-complaint per bad
                                                             dealer (round 4; maybe none)
complaints       the complaints (whatever was handed in)     a ceremony-share-reveal per
                                                             complaint against it (round 4;
                                                             maybe none)
answers          the answers (whatever was handed in)        its joint-key acknowledgement
                                                             (round 5, finalize)
===============  ==========================================  =================================

Complaints and answers may be absent, so their completeness cannot be seen from the files:
as on the board, each round has a deadline, and the coordinator hands in everything posted
before it. The last round judges the ceremony from the transcript alone
(:func:`evote.ceremony.outcome.judge`); if anyone is disqualified nothing is kept and the
ceremony must restart under a new manifest. The joint-key acknowledgement is the ``joint-key``
entry signed by this guardian alone: the officials gather every guardian's signature and an
official quorum's onto one entry (signatures cover only kind, election and body, so they
combine).

Entry files are named ``<kind>-g<i>.entry``, or ``<kind>-g<i>-g<j>.entry`` for a complaint
(``i`` complains about ``j``) and a share reveal (dealer ``i`` answers ``j``).

**Scheme B** (threshold Paillier with a trusted dealer, :mod:`evote.ceremony.dealer`): the
guardian deals nothing, and there are two rounds:

===============  ==========================================  =================================
step reached     the next round needs                        and posts
===============  ==========================================  =================================
joined           nothing                                     ceremony-transport (for the
                                                             dealer to seal its share to)
transport        the dealer's ``paillier-key`` and the       nothing: the share is checked
                 ``paillier-share`` sealed to this guardian  (:meth:`KeyHolder.accept`) and
                                                             kept, the transport key deleted
===============  ==========================================  =================================

The dealer's entries are checked like the guardians': this election, the key signed by the
manifest's dealer (and, once co-signed, by officials only besides), each share by the dealer
alone; a second, different key or a second share sealed to this guardian is equivocation and is
refused. Shares sealed to other guardians are ignored. A refused share changes nothing and
nothing is posted: the guardian tells the officials, and the dealer must deal again (under a
new manifest, since the board holds one dealer's key). Then ``key-check`` posts the
``paillier-key-check`` entry, and ``decrypt`` the same ``decryption-share`` entry as scheme A.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

from evote.board.entry import Entry, EntryKind, EntryRules
from evote.ceremony import messages
from evote.ceremony.dealer import check_dealt_key, verify_paillier_key_check
from evote.ceremony.guardian_file import KEY_HELD, GuardianState, Step
from evote.ceremony.messages import (
    Commit,
    Complaint,
    DealtKey,
    GuardianKey,
    JointKey,
    KeyCheck,
    PaillierKeyCheck,
    SealedKeyShare,
    SealedShares,
    ShareReveal,
    TransportKey,
)
from evote.ceremony.outcome import CeremonyOutcome, judge, verify_key_check
from evote.ceremony.trustee import Trustee
from evote.crypto import paillier
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import PAILLIER, Manifest
from evote.election.tally import SHARES_KIND, GuardianShares
from evote.errors import (
    CeremonyError,
    DecodeError,
    EntryRejected,
    EvoteError,
    VerificationError,
)

ENTRY_SUFFIX: Final = ".entry"
#: Scheme B: what the dealer posts and a guardian reads (its key, the shares it sealed).
DEALER_KINDS: Final = (messages.PAILLIER_KEY, messages.PAILLIER_SHARE)
CEREMONY_KINDS: Final = (
    messages.TRANSPORT,
    messages.COMMIT,
    messages.REVEAL,
    messages.SHARES,
    messages.COMPLAINT,
    messages.SHARE_REVEAL,
    *DEALER_KINDS,
)
DECRYPTION_SHARE: Final = SHARES_KIND
#: Entries a guardian signs alone after the rounds: kept in the transcript for re-export.
LATER_KINDS: Final = (
    messages.JOINT_KEY,
    messages.KEY_CHECK,
    messages.PAILLIER_KEY_CHECK,
    DECRYPTION_SHARE,
)
#: What the next command does at each step.
_NEXT_ACTION: Final[dict[Step, str]] = {
    "identity": "join an election (evote guardian join)",
    "joined": "round 0: post your transport key",
    "transport": "round 1: commit (needs every guardian's ceremony-transport)",
    "commit": "round 2: reveal (needs every guardian's ceremony-commit)",
    "reveal": "round 3: seal your shares (needs every guardian's guardian-key)",
    "shares": (
        "round 4: check the shares sealed to you and complain about bad ones (needs every "
        "guardian's ceremony-shares)"
    ),
    "complaints": "round 4, answers: answer the complaints against you (if any were handed in)",
    "answers": "round 5: judge the ceremony and finish (with the answers, if any)",
    "finished": "evote guardian key-check, before the election opens",
    "key-checked": "evote guardian decrypt, after the election closes",
}
#: Scheme B: what the next command does at each step.
_NEXT_ACTION_B: Final[dict[Step, str]] = {
    **_NEXT_ACTION,
    "joined": "post your transport key (for the dealer to seal your key share to)",
    "transport": (
        "accept the dealer's key and your key share (needs the paillier-key entry and the "
        "paillier-share sealed to you, from the board)"
    ),
}
_NEXT: Final[dict[Step, Step]] = {
    "joined": "transport",
    "transport": "commit",
    "commit": "reveal",
    "reveal": "shares",
    "shares": "complaints",
    "complaints": "answers",
    "answers": "finished",
}

#: Where an entry belongs: its kind and the guardians it names (one, or two for a complaint
#: or a share reveal).
Slot = tuple[str, int, int]


def file_name(slot: Slot) -> str:
    """``<kind>-g<i>.entry`` or ``<kind>-g<i>-g<j>.entry``."""
    kind, first, second = slot
    return f"{kind}-g{first}" + (f"-g{second}" if second else "") + ENTRY_SUFFIX


@dataclass(frozen=True, slots=True)
class Posted:
    """An entry this guardian wrote: the file name for the outbox and the entry's bytes."""

    name: str
    data: bytes


def next_round(step: Step, *, scheme_b: bool = False) -> str:
    """What the guardian's next command does, in words (for status and errors); ``scheme_b``
    for a guardian of a scheme B (dealer) election."""
    return (_NEXT_ACTION_B if scheme_b else _NEXT_ACTION)[step]


@dataclass(slots=True)
class Transcript:
    """The entries a guardian posted or accepted, by slot, with the ceremony bodies parsed."""

    manifest: Manifest
    me: int
    raw: dict[Slot, bytes] = field(default_factory=dict)
    transport: dict[int, TransportKey] = field(default_factory=dict)
    commits: dict[int, Commit] = field(default_factory=dict)
    reveals: dict[int, GuardianKey] = field(default_factory=dict)
    sealed: dict[int, SealedShares] = field(default_factory=dict)
    complaints: dict[tuple[int, int], Complaint] = field(default_factory=dict)
    answers: dict[tuple[int, int], ShareReveal] = field(default_factory=dict)
    #: Scheme B: the dealer's key and the share it sealed to this guardian.
    dealt: DealtKey | None = None
    sealed_to_me: SealedKeyShare | None = None
    _dealt_context: ElectionContext | None = field(default=None, repr=False)

    @classmethod
    def of(cls, state: GuardianState) -> Transcript:
        """The transcript saved in ``state``."""
        transcript = cls(state.require_manifest(), state.index)
        entries = [Entry.decode(data) for data in state.entries]
        # The dealer's key first: a scheme B key check or decryption share is read with it.
        for entry in sorted(entries, key=lambda entry: entry.kind not in DEALER_KINDS):
            transcript._add(entry, "the saved state", own=True)
        return transcript

    @property
    def scheme_b(self) -> bool:
        return self.manifest.scheme_name == PAILLIER

    def entries(self) -> tuple[bytes, ...]:
        return tuple(self.raw[slot] for slot in sorted(self.raw))

    def own(self) -> list[Posted]:
        """Every entry this guardian wrote, with its file name (for ``export``)."""
        return [
            Posted(file_name(slot), data)
            for slot, data in sorted(self.raw.items())
            if slot[1] == self.me and slot[0] not in DEALER_KINDS
        ]

    def accept(self, data: bytes, source: str) -> Slot | None:
        """Check an entry handed in and keep it; ``None`` if it was known or is not needed.

        Raises :class:`CeremonyError` naming ``source`` if the entry is for another election,
        not a guardian's entry, not signed by exactly the guardian it speaks for (the
        manifest's key), signed with this guardian's own key but not written by it, or in
        contradiction with an entry seen before.
        """
        kinds = [EntryKind(kind) for kind in (*CEREMONY_KINDS, *LATER_KINDS)]
        try:
            entry = EntryRules.of(self.manifest.election_id, kinds).check(data)
        except EntryRejected as error:
            raise CeremonyError(f"{source}: {error}") from error
        if entry.kind == messages.JOINT_KEY and len(entry.signers) > 1:
            return None  # the board's joint-key entry, every signature gathered: not needed
        return self._add(entry, source, own=False)

    def add_own(self, kind: str, body: bytes, identity: SigningKey) -> Posted:
        """Sign ``body`` as this guardian, keep the entry, and return it for the outbox."""
        entry = Entry.create(kind, self.manifest.election_id, body, [identity])
        slot = self._add(entry, "your new entry", own=True)
        if slot is None:  # pragma: no cover - a fresh signature over new content
            raise CeremonyError(f"your {kind} entry is already in your transcript")
        return Posted(file_name(slot), entry.encoded)

    def _add(self, entry: Entry, source: str, *, own: bool) -> Slot | None:
        if entry.kind in DEALER_KINDS:
            return self._add_dealers(entry, source)
        slot = self._slot(entry, source)
        known = self.raw.get(slot)
        if known == entry.encoded:
            return None
        mine = slot[1] == self.me
        if known is not None:
            who = "you" if mine else f"guardian {slot[1]}"
            raise CeremonyError(
                f"{source}: {who} signed two different {entry.kind} entries for the same round "
                f"({file_name(slot)}); a guardian posts one: give both files to the officials"
            )
        if mine and not own:
            raise CeremonyError(
                f"{source}: a {entry.kind} entry signed with your identity key that this key "
                "file did not write: someone else may hold your key, or two key files are in use"
            )
        if not mine and slot[0] in LATER_KINDS:
            return None  # the others' acknowledgements, key checks and shares: not needed here
        self.raw[slot] = entry.encoded
        self._parse(slot, entry.body)
        return slot

    def _add_dealers(self, entry: Entry, source: str) -> Slot | None:
        """Scheme B: the dealer's key or a share it sealed (slots ``(kind, 0, 0)`` and
        ``(kind, 0, i)``: no guardian speaks in them, so they are never this guardian's own)."""
        dealer = self.manifest.dealer
        if dealer is None or not self.scheme_b:
            raise CeremonyError(
                f"{source}: a {entry.kind} entry belongs to a scheme B election; this one "
                "(scheme A) has no dealer"
            )
        if entry.kind == messages.PAILLIER_SHARE:
            if entry.signers != (dealer,):
                raise CeremonyError(
                    f"{source}: a paillier-share entry is signed by the manifest's dealer "
                    f"{dealer.encode().hex()} alone"
                )
            sealed = _body(entry, source, SealedKeyShare.from_tlv)
            if sealed.guardian != self.me:
                return None  # sealed to another guardian: not ours to open
            slot: Slot = (entry.kind, 0, self.me)
            what = "shares sealed to you"
        else:
            strangers = set(entry.signers) - {dealer, *self.manifest.officials}
            if dealer not in entry.signers or strangers:
                raise CeremonyError(
                    f"{source}: the paillier-key entry must be signed by the manifest's dealer "
                    f"{dealer.encode().hex()} (and officials only besides)"
                )
            dealt = _body(entry, source, DealtKey.from_tlv)
            slot = (entry.kind, 0, 0)
            what = "keys"
        known = self.raw.get(slot)
        if known is not None:
            if Entry.decode(known).body == entry.body:
                return None  # the same, maybe with the officials' signatures added
            raise CeremonyError(
                f"{source}: the dealer signed two different {what} ({entry.kind}); a dealer "
                "posts one: give both files to the officials"
            )
        self.raw[slot] = entry.encoded
        if entry.kind == messages.PAILLIER_SHARE:
            self.sealed_to_me = sealed
        else:
            self.dealt = dealt
        return slot

    def _slot(self, entry: Entry, source: str) -> Slot:
        n = len(self.manifest.guardians)
        if entry.kind == messages.JOINT_KEY:
            return self._acknowledgement_slot(entry, source)
        later = (messages.PAILLIER_KEY_CHECK, DECRYPTION_SHARE)
        if self.scheme_b and self.dealt is None and entry.kind in later:
            raise CeremonyError(
                f"{source}: a {entry.kind} entry of a scheme B election is read with the "
                "dealer's key: put the paillier-key entry in the inbox too"
            )
        try:
            kind, speaker, other = _slot_of(entry, self._where())
        except EvoteError as error:
            raise CeremonyError(
                f"{source}: the {entry.kind} body does not parse: {error}"
            ) from error
        if not 1 <= speaker <= n:
            raise CeremonyError(
                f"{source}: the {kind} entry speaks for guardian {speaker}, but the manifest "
                f"has guardians 1 to {n}"
            )
        if other and (not 1 <= other <= n or other == speaker):
            raise CeremonyError(
                f"{source}: the {kind} entry of guardian {speaker} names guardian {other}"
            )
        expected = self.manifest.guardians[speaker - 1]
        if entry.signers != (expected,):
            signers = ", ".join(key.encode().hex() for key in entry.signers) or "nobody"
            raise CeremonyError(
                f"{source}: the {kind} entry speaks for guardian {speaker} but is signed by "
                f"{signers}, not by guardian {speaker}'s identity key {expected.encode().hex()} "
                "from the manifest (alone)"
            )
        return (kind, speaker, other)

    def _acknowledgement_slot(self, entry: Entry, source: str) -> Slot:
        """A joint-key acknowledgement names nobody in its body: its one signer speaks."""
        _body(entry, source, JointKey.from_tlv)
        (signer,) = entry.signers
        if signer not in self.manifest.guardians:
            raise CeremonyError(
                f"{source}: the joint-key acknowledgement is signed by {signer.encode().hex()}, "
                "which is no guardian's identity key in the manifest"
            )
        return (entry.kind, self.manifest.guardians.index(signer) + 1, 0)

    def _parse(self, slot: Slot, body: bytes) -> None:
        kind, i, j = slot
        if kind == messages.TRANSPORT:
            self.transport[i] = TransportKey.from_tlv(body)
        elif kind == messages.COMMIT:
            self.commits[i] = Commit.from_tlv(body)
        elif kind == messages.REVEAL:
            self.reveals[i] = GuardianKey.from_tlv(body)
        elif kind == messages.SHARES:
            self.sealed[i] = SealedShares.from_tlv(body)
        elif kind == messages.COMPLAINT:
            self.complaints[(i, j)] = Complaint.from_tlv(body)
        elif kind == messages.SHARE_REVEAL:
            self.answers[(i, j)] = ShareReveal.from_tlv(body)

    def require_all(self, kind: str, posted: Mapping[int, object], needed_by: str) -> None:
        """Raise :class:`CeremonyError` unless every guardian's ``kind`` entry is here."""
        missing = [i for i in range(1, len(self.manifest.guardians) + 1) if i not in posted]
        if missing:
            raise CeremonyError(
                f"{needed_by} needs every guardian's {kind} entry; missing: guardian(s) "
                f"{', '.join(map(str, missing))}. Put their {file_name((kind, missing[0], 0))}"
                f"{' (and the others)' if len(missing) > 1 else ''} in the inbox. (A guardian "
                "that missed the round's deadline is out: the ceremony restarts without it, "
                "under a new manifest.)"
            )

    def outcome(self) -> CeremonyOutcome:
        """The public judgement of the ceremony from this transcript."""
        return judge(
            self.manifest,
            self.transport,
            self.commits,
            self.reveals,
            self.sealed,
            [self.complaints[key] for key in sorted(self.complaints)],
            [self.answers[key] for key in sorted(self.answers)],
        )

    def _where(self) -> Manifest | ElectionContext:
        """What entries are read with: the manifest (scheme A), or the context of the
        dealer's key once it is known (scheme B)."""
        if self.scheme_b and self.dealt is not None:
            return self.context()
        return self.manifest

    def context(self) -> ElectionContext:
        """The election context: scheme A's from every guardian's revealed commitments, scheme
        B's from the dealer's key (checked to fit the manifest)."""
        if self.scheme_b:
            if self._dealt_context is None:
                if self.dealt is None:
                    raise CeremonyError(
                        "the dealer's key (the paillier-key entry) is not in your transcript: "
                        "accept it and your share first (`evote guardian round` with both in "
                        "the inbox)"
                    )
                self._dealt_context = check_dealt_key(self.manifest, self.dealt)
            return self._dealt_context
        self.require_all(messages.REVEAL, self.reveals, "the election context")
        return ElectionContext.create(
            self.manifest,
            [self.reveals[i].commitments for i in range(1, len(self.manifest.guardians) + 1)],
        )


_Body = TypeVar("_Body")


def _body(entry: Entry, source: str, parse: Callable[[bytes], _Body]) -> _Body:
    """The entry's body as ``parse`` reads it; :class:`CeremonyError` naming ``source`` (the
    file handed in) if it does not parse, so that the guardian knows which file to give back."""
    try:
        return parse(entry.body)
    except DecodeError as error:
        raise CeremonyError(f"{source}: the {entry.kind} body does not parse: {error}") from error


def _slot_of(entry: Entry, where: Manifest | ElectionContext) -> Slot:
    """The entry's kind and the guardian(s) its body names; raise :class:`DecodeError`.
    ``where`` is the manifest, or scheme B's context (its key reads the key checks)."""
    kind, body = entry.kind, entry.body
    if kind == messages.TRANSPORT:
        return (kind, TransportKey.from_tlv(body).guardian, 0)
    if kind == messages.COMMIT:
        return (kind, Commit.from_tlv(body).guardian, 0)
    if kind == messages.REVEAL:
        return (kind, GuardianKey.from_tlv(body).guardian, 0)
    if kind == messages.SHARES:
        return (kind, SealedShares.from_tlv(body).guardian, 0)
    if kind == messages.COMPLAINT:
        complaint = Complaint.from_tlv(body)
        return (kind, complaint.complainer, complaint.accused)
    if kind == messages.SHARE_REVEAL:
        answer = ShareReveal.from_tlv(body)
        return (kind, answer.dealer, answer.recipient)
    if kind == messages.KEY_CHECK:
        return (kind, KeyCheck.from_tlv(body).guardian, 0)
    if kind == messages.PAILLIER_KEY_CHECK and isinstance(where, ElectionContext):
        return (kind, PaillierKeyCheck.from_tlv(body, where.paillier_key).guardian, 0)
    if kind == DECRYPTION_SHARE:
        return (kind, GuardianShares.from_tlv(body, where).guardian, 0)
    raise DecodeError(f"{kind} is not an entry a guardian signs alone")


# --- the rounds ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Advance:
    """The guardian's new state, the entries it wrote for the outbox, and what to tell it."""

    state: GuardianState
    posted: tuple[Posted, ...]
    accepted: int
    notes: tuple[str, ...] = ()


def accept_inbox(
    state: GuardianState, inbox: Iterable[tuple[str, bytes]]
) -> tuple[Transcript, int]:
    """The saved transcript with every inbox entry checked and added, and how many were new."""
    transcript = Transcript.of(state)
    accepted = sum(transcript.accept(data, source) is not None for source, data in inbox)
    return transcript, accepted


def advance(state: GuardianState, inbox: Iterable[tuple[str, bytes]]) -> Advance:
    """Check the entries handed in, then run the guardian's next round.

    ``inbox`` holds ``(source, bytes)`` pairs, ``source`` naming the file in messages.
    Raises :class:`CeremonyError` (with nothing changed) if the state is not in the ceremony,
    an entry is refused, or the round lacks what it needs.
    """
    step = state.step
    if step == "identity":
        raise CeremonyError(
            "this key file has joined no election yet: run `evote guardian join` first"
        )
    if step in KEY_HELD:
        raise CeremonyError(
            f"your key ceremony is over (step {step!r}); next: "
            f"{next_round(step, scheme_b=state.scheme_b)}"
        )
    transcript, accepted = accept_inbox(state, inbox)
    if state.scheme_b:
        return _dealer_round(state, transcript, accepted)
    trustee = state.trustee()
    bodies, notes = _round(step, trustee, transcript)
    posted = tuple(transcript.add_own(kind, body, state.identity) for kind, body in bodies)
    new = state.with_trustee(trustee, _NEXT[step]).with_entries(transcript.entries())
    return Advance(new, posted, accepted, tuple(notes))


def _dealer_round(state: GuardianState, transcript: Transcript, accepted: int) -> Advance:
    """Scheme B's two rounds: post the transport key, then accept the dealer's key and share."""
    holder = state.holder()
    if state.step == "joined":
        posted = transcript.add_own(
            messages.TRANSPORT, holder.transport_key().to_tlv(), state.identity
        )
        new = state.with_holder(holder, "transport").with_entries(transcript.entries())
        return Advance(new, (posted,), accepted)
    dealt, sealed = transcript.dealt, transcript.sealed_to_me
    if dealt is None or sealed is None:
        missing = [
            what
            for what, have in (
                ("the dealer's key (paillier-key)", dealt),
                (f"the paillier-share sealed to guardian {state.index}", sealed),
            )
            if have is None
        ]
        raise CeremonyError(
            f"accepting your key share needs {' and '.join(missing)}: the dealer posts them "
            "once every guardian's transport key is on the board; put them in the inbox "
            "(`evote record entries MIRROR --guardians`)"
        )
    context = holder.accept(dealt, sealed)  # CeremonyError: refused, nothing changes
    new = state.with_holder(holder, "finished").with_entries(transcript.entries())
    notes = (
        f"you accept the dealer's key and your key share (v^(Δ·s_{state.index}) = "
        f"v_{state.index} checks); your transport key is deleted",
        f"Paillier key parameters hash H_P = {context.paillier.params_hash.hex()}",
        f"extended base hash H_E = {context.extended_hash.hex()}",
    )
    return Advance(new, (), accepted, notes)


def paillier_context(state: GuardianState, transcript: Transcript) -> ElectionContext:
    """Scheme B: the context of the dealer's key, with the kept share checked against it
    again (a key file is only as good as what it holds)."""
    context = transcript.context()
    share = state.holder().key_share
    if share is None:  # pragma: no cover - the state's own validation requires it
        raise CeremonyError("this key file holds no Paillier key share")
    try:
        paillier.check_key_share(share, context.paillier_key)
    except VerificationError as error:
        raise CeremonyError(
            f"the key share in this key file does not fit the dealer's key in its transcript: "
            f"{error}"
        ) from error
    return context


def _round(
    step: Step, trustee: Trustee, transcript: Transcript
) -> tuple[list[tuple[str, bytes]], list[str]]:
    me = trustee.index
    if step == "joined":
        return [(messages.TRANSPORT, trustee.transport_key().to_tlv())], []
    if step == "transport":
        transcript.require_all(messages.TRANSPORT, transcript.transport, "round 1 (commit)")
        return [(messages.COMMIT, trustee.commit().to_tlv())], []
    if step == "commit":
        transcript.require_all(messages.COMMIT, transcript.commits, "round 2 (reveal)")
        return [(messages.REVEAL, trustee.reveal().to_tlv())], []
    if step == "reveal":
        transcript.require_all(messages.REVEAL, transcript.reveals, "round 3 (shares)")
        sealed = trustee.seal_shares(transcript.transport)
        return [(messages.SHARES, sealed.to_tlv())], []
    if step == "shares":
        transcript.require_all(messages.SHARES, transcript.sealed, "round 4 (complaints)")
        complaints = trustee.receive(
            transcript.transport, transcript.commits, transcript.reveals, transcript.sealed
        )
        notes = [f"you complain about guardian {c.accused}: {c.reason}" for c in complaints]
        return [(messages.COMPLAINT, c.to_tlv()) for c in complaints], notes or [
            "every other guardian's share to you checks against its commitments: no complaint"
        ]
    if step == "complaints":
        against = [
            complaint
            for (complainer, accused), complaint in sorted(transcript.complaints.items())
            if accused == me and (me, complainer) not in transcript.answers
        ]
        notes = [
            f"guardian {c.complainer} complains about you ({c.reason}); you answer with its "
            "share in clear"
            for c in against
        ]
        if not transcript.complaints:
            notes.append("nobody complained: nothing to answer")
        return [(messages.SHARE_REVEAL, trustee.answer(c).to_tlv()) for c in against], notes
    outcome = transcript.outcome()
    context = outcome.require_context()
    trustee.finish(outcome)
    notes = [
        f"guardian {c.complainer}'s complaint about guardian {c.accused} was unfounded: the "
        "revealed share checks (it stays on the record against the complainer)"
        for c in outcome.unfounded_complaints
    ]
    notes.append(f"joint election key K = {context.joint_key.encode().hex()}")
    notes.append(f"extended base hash H_E = {context.extended_hash.hex()}")
    acknowledgement = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
    return [(messages.JOINT_KEY, acknowledgement.to_tlv())], notes


def key_check(state: GuardianState) -> Advance:
    """After the ceremony: prove on the board that this guardian can still decrypt."""
    if state.step == "key-checked":
        raise CeremonyError(
            "you already wrote your key check; `evote guardian export` writes it again"
        )
    if state.step != "finished":
        raise CeremonyError(
            f"the key check comes after the key ceremony; this key file is at step "
            f"{state.step!r} (next: {next_round(state.step, scheme_b=state.scheme_b)})"
        )
    transcript = Transcript.of(state)
    if state.scheme_b:
        context = paillier_context(state, transcript)
        proved = state.holder().key_check(context)
        verify_paillier_key_check(proved, context)
        posted = transcript.add_own(
            messages.PAILLIER_KEY_CHECK, proved.to_tlv(context.paillier_key), state.identity
        )
        return Advance(
            replace(state, step="key-checked", entries=transcript.entries()), (posted,), 0
        )
    context = transcript.context()
    check = state.trustee().key_check(context)
    verify_key_check(check, context)
    posted = transcript.add_own(messages.KEY_CHECK, check.to_tlv(), state.identity)
    new = replace(state, step="key-checked", entries=transcript.entries())
    return Advance(new, (posted,), 0)
