"""A guardian's saved state between commands: its secrets, the step it reached, and what it saw.

A guardian runs the ceremony one command at a time on its own (possibly offline) machine, so
its :class:`~evote.ceremony.trustee.Trustee` lives in a file between rounds. This module turns
that state into canonical TLV bytes and back, and checks on the way in that the state is one a
guardian can be in (the step says which secrets must and must not be present). It does no I/O
and no encryption: the command line seals these bytes with :mod:`evote.crypto.keystore`.

Steps, in order (each names the last thing the guardian did)::

    identity      it has an Ed25519 identity key, and no election yet
    joined        it found itself in a manifest: index, X25519 transport key, coefficients
    transport     it posted round 0 (ceremony-transport)
    commit        it posted round 1 (ceremony-commit)
    reveal        it posted round 2 (guardian-key)
    shares        it posted round 3 (ceremony-shares)
    complaints    it checked the others' shares and complained about the bad ones (if any)
    answers       it answered the complaints against it (if any)
    finished      the outcome let everyone qualify: it keeps z_ℓ, has deleted its coefficients,
                  transport key and received shares, and acknowledged the joint key
    key-checked   it posted its key check

Scheme B (threshold Paillier, a trusted dealer: :mod:`evote.ceremony.dealer`) uses four of
these steps, and the guardian deals nothing::

    joined        it found itself in the manifest: index, X25519 transport key
    transport     it posted its transport key (ceremony-transport), for the dealer
    finished      it accepted the dealer's key and its sealed share: it keeps the share
                  (``s_i``) and has deleted its transport key
    key-checked   it posted its key check (paillier-key-check)

The body of a scheme A state, and of any state before joining (byte for byte the format of
every scheme A file written before scheme B existed)::

    ["evote/v1/guardian-state", step, identity seed (32), manifest TLV or b"", index (0 before
     joining), transport secret (32) or b"", [coefficients], [[dealer, share] …], [z_ℓ] or [],
     [entry bytes …], SHA-256 of the tally body it answered, or b""]

A scheme B state has two more items, its kind and the accepted share (the scheme A items
``coefficients``, ``received`` and ``z_ℓ`` stay empty)::

    [… the eleven items above …, "paillier", [[tag, i, s_i]] or []]

A reader takes eleven items as scheme A (or no election yet) and thirteen with the kind
``"paillier"`` as scheme B, and requires the kind to be the joined manifest's scheme. The share
is checked against the dealer's key (``v^{Δ·s_i} = v_i``) when it is accepted, and again
before every key check and decryption (:func:`evote.ceremony.offline.paillier_context`).

``entries`` is the guardian's public transcript: every board entry it posted or accepted from
the others, as their exact bytes, so later rounds need no earlier files and a guardian that
shows two different entries for one round is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

from evote.ceremony.dealer import KeyHolder
from evote.ceremony.trustee import Trustee
from evote.crypto import encoding, threshold
from evote.crypto.group import Scalar
from evote.crypto.paillier import KEY_SHARE_TAG, PaillierKeyShare
from evote.crypto.sealing import TRANSPORT_KEY_BYTES, TransportPrivateKey
from evote.crypto.signing import SEED_BYTES, SigningKey
from evote.election.manifest import PAILLIER, Manifest
from evote.errors import CeremonyError, DecodeError, InvalidInput

STATE_TAG: Final = "evote/v1/guardian-state"
#: The kind item of a scheme B state (the manifest's scheme name).
PAILLIER_STATE: Final = PAILLIER

Step = Literal[
    "identity",
    "joined",
    "transport",
    "commit",
    "reveal",
    "shares",
    "complaints",
    "answers",
    "finished",
    "key-checked",
]
STEPS: Final[tuple[Step, ...]] = get_args(Step)
#: Steps at which the guardian still deals: transport key and coefficients are kept.
DEALING: Final[tuple[Step, ...]] = STEPS[1:8]
#: Steps after the ceremony: only z_ℓ is kept.
KEY_HELD: Final[tuple[Step, ...]] = ("finished", "key-checked")
#: Scheme B's steps before the guardian holds its share: it keeps only its transport key.
AWAITING_SHARE: Final[tuple[Step, ...]] = ("joined", "transport")
#: Every step a scheme B guardian can be at.
PAILLIER_STEPS: Final[tuple[Step, ...]] = ("identity", *AWAITING_SHARE, *KEY_HELD)
TALLY_DIGEST_BYTES: Final = 32


def step_after(step: Step, other: Step) -> bool:
    """Whether ``step`` comes at or after ``other``."""
    return STEPS.index(step) >= STEPS.index(other)


@dataclass(frozen=True, slots=True)
class GuardianState:
    """Everything one guardian keeps between commands. Secrets never appear in its repr."""

    step: Step
    identity_seed: bytes
    manifest: Manifest | None = None
    index: int = 0
    transport_secret: bytes | None = None
    coefficients: tuple[Scalar, ...] | None = None
    received: tuple[tuple[int, Scalar], ...] = ()
    key_share: Scalar | None = None
    entries: tuple[bytes, ...] = ()
    tally_answered: bytes | None = None
    paillier_share: PaillierKeyShare | None = None

    def __post_init__(self) -> None:
        _validate(self)

    def __repr__(self) -> str:
        election = "none" if self.manifest is None else self.manifest.election_id.hex()
        return (
            f"GuardianState(step={self.step!r}, identity={self.identity.verify_key.encode().hex()}"
            f", election={election}, index={self.index}, entries={len(self.entries)})"
        )

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def new(cls, identity: SigningKey) -> GuardianState:
        """A guardian with an identity key and no election yet."""
        return cls("identity", identity.seed())

    def join(self, manifest: Manifest) -> GuardianState:
        """Start the ceremony of ``manifest``, where this guardian's identity key must be listed.

        Draws the ceremony-only transport key and, for scheme A, the secret coefficients (a
        fresh :class:`Trustee`); for scheme B only the transport key (a fresh
        :class:`KeyHolder`: the dealer makes the key).
        """
        if self.step != "identity":
            raise InvalidInput("this guardian has already joined an election")
        key = self.identity.verify_key
        if key not in manifest.guardians:
            raise InvalidInput(
                f"the identity key {key.encode().hex()} is not one of the manifest's guardians"
            )
        index = manifest.guardians.index(key) + 1
        if manifest.scheme_name == PAILLIER:
            return self.with_holder(KeyHolder(manifest, index), "joined")
        return self.with_trustee(Trustee(manifest, index), "joined")

    # --- the trustee -------------------------------------------------------------------------

    @property
    def identity(self) -> SigningKey:
        return SigningKey(self.identity_seed)

    def require_manifest(self) -> Manifest:
        if self.manifest is None:
            raise InvalidInput("this guardian has joined no election yet")
        return self.manifest

    @property
    def scheme_b(self) -> bool:
        """Whether this guardian joined a scheme B (threshold Paillier, dealer) election."""
        return self.manifest is not None and self.manifest.scheme_name == PAILLIER

    def trustee(self) -> Trustee:
        """The guardian's state machine, rebuilt from the saved secrets (scheme A)."""
        manifest = self.require_manifest()
        if self.scheme_b:
            raise CeremonyError(
                "this guardian joined a scheme B election: its key comes from the dealer, and "
                "it runs no dealer-free ceremony"
            )
        transport = (
            TransportPrivateKey.generate()  # forgotten after the ceremony: a stand-in
            if self.transport_secret is None
            else TransportPrivateKey(self.transport_secret)
        )
        polynomial = None if self.coefficients is None else threshold.Polynomial(self.coefficients)
        return Trustee(
            manifest,
            self.index,
            transport,
            polynomial,
            dict(self.received),
            self.key_share,
            draw=False,
        )

    def holder(self) -> KeyHolder:
        """Scheme B: the guardian's side of the dealer's ceremony, rebuilt from the saved
        transport key (until it accepts its share) or its accepted share (after)."""
        manifest = self.require_manifest()
        if not self.scheme_b:
            raise CeremonyError(
                "this guardian joined a scheme A election: there is no dealer and no Paillier "
                "key share"
            )
        transport = (
            TransportPrivateKey.generate()  # forgotten once the share is accepted: a stand-in
            if self.transport_secret is None
            else TransportPrivateKey(self.transport_secret)
        )
        return KeyHolder(manifest, self.index, transport, self.paillier_share)

    def with_holder(self, holder: KeyHolder, step: Step) -> GuardianState:
        """This scheme B state moved to ``step``: the transport key until the share is
        accepted, then the share alone."""
        held = step in KEY_HELD
        return replace(
            self,
            step=step,
            manifest=holder.manifest,
            index=holder.index,
            transport_secret=None if held else holder.transport.secret(),
            paillier_share=holder.key_share if held else None,
        )

    def with_trustee(self, trustee: Trustee, step: Step) -> GuardianState:
        """This state moved to ``step`` with the trustee's secrets (only those the step keeps)."""
        dealing = step in DEALING
        polynomial = trustee.polynomial
        return replace(
            self,
            step=step,
            manifest=trustee.manifest,
            index=trustee.index,
            transport_secret=trustee.transport.secret() if dealing else None,
            coefficients=(polynomial.coefficients if dealing and polynomial is not None else None),
            received=tuple(sorted(trustee.received.items())) if dealing else (),
            key_share=trustee.key_share if not dealing else None,
        )

    def with_entries(self, entries: tuple[bytes, ...]) -> GuardianState:
        return replace(self, entries=entries)

    def with_tally_answered(self, digest: bytes) -> GuardianState:
        return replace(self, tally_answered=digest)

    # --- bytes -------------------------------------------------------------------------------

    def to_tlv(self) -> bytes:
        scheme_b: list[encoding.Value] = (
            [
                PAILLIER_STATE,
                [] if self.paillier_share is None else [self.paillier_share.to_value()],
            ]
            if self.scheme_b
            else []
        )
        return encoding.encode(
            [
                STATE_TAG,
                self.step,
                self.identity_seed,
                b"" if self.manifest is None else self.manifest.to_tlv(),
                self.index,
                self.transport_secret or b"",
                list(self.coefficients or ()),
                [[dealer, share] for dealer, share in self.received],
                [] if self.key_share is None else [self.key_share],
                list(self.entries),
                self.tally_answered or b"",
                *scheme_b,
            ]
        )

    @classmethod
    def from_tlv(cls, data: bytes) -> GuardianState:
        """Parse and check a saved state; raise :class:`DecodeError` naming what is wrong."""
        fields = encoding.expect_list(encoding.decode(data), what="guardian state")
        if not fields or fields[0] != STATE_TAG:
            raise DecodeError("not an evote v1 guardian state")
        if len(fields) not in (11, 13):
            raise DecodeError(
                f"guardian state: expected 11 items (13 for scheme B), got {len(fields)}"
            )
        paillier_share = _paillier_share_from(fields[11:])
        step = encoding.expect_text(fields[1], what="guardian state.step")
        if step not in STEPS:
            raise DecodeError(f"guardian state: unknown step {step!r}")
        manifest_bytes = encoding.expect_bytes(fields[3], what="guardian state.manifest")
        coefficients = tuple(
            encoding.expect_scalar(c, what="guardian state.coefficient")
            for c in encoding.expect_list(fields[6], what="guardian state.coefficients")
        )
        received = []
        for item in encoding.expect_list(fields[7], what="guardian state.received"):
            dealer, share = encoding.expect_list(item, 2, what="guardian state.received share")
            received.append(
                (
                    encoding.expect_int(dealer, what="guardian state.received dealer"),
                    encoding.expect_scalar(share, what="guardian state.received share"),
                )
            )
        key_share = [
            encoding.expect_scalar(s, what="guardian state.key share")
            for s in encoding.expect_list(fields[8], what="guardian state.key share")
        ]
        if len(key_share) > 1:
            raise DecodeError("guardian state: more than one key share")
        transport = encoding.expect_bytes(fields[5], what="guardian state.transport key")
        answered = encoding.expect_bytes(fields[10], what="guardian state.tally answered")
        try:
            manifest = Manifest.from_tlv(manifest_bytes) if manifest_bytes else None
        except DecodeError as error:
            raise DecodeError(f"guardian state.manifest: {error}") from error
        scheme_b = manifest is not None and manifest.scheme_name == PAILLIER
        if scheme_b != (len(fields) == 13):
            raise DecodeError(
                "guardian state: the state's kind is not its manifest's scheme (a scheme B "
                "state has the kind 'paillier' and 13 items, any other 11)"
            )
        try:
            return cls(
                step,
                encoding.expect_bytes(fields[2], SEED_BYTES, what="guardian state.identity"),
                manifest,
                encoding.expect_int(fields[4], what="guardian state.index"),
                transport or None,
                coefficients or None,
                tuple(received),
                key_share[0] if key_share else None,
                tuple(
                    encoding.expect_bytes(e, what="guardian state.entry")
                    for e in encoding.expect_list(fields[9], what="guardian state.entries")
                ),
                answered or None,
                paillier_share,
            )
        except InvalidInput as error:
            raise DecodeError(f"guardian state: {error}") from error


def _paillier_share_from(extra: list[encoding.Decoded]) -> PaillierKeyShare | None:
    """The accepted share of a scheme B state's last two items (``None`` before accepting)."""
    if not extra:
        return None
    kind = encoding.expect_text(extra[0], what="guardian state.kind")
    if kind != PAILLIER_STATE:
        raise DecodeError(f"guardian state: unknown kind {kind!r} (expected {PAILLIER_STATE!r})")
    held = encoding.expect_list(extra[1], what="guardian state.paillier share")
    if not held:
        return None
    if len(held) > 1:
        raise DecodeError("guardian state: more than one Paillier key share")
    tag, guardian, secret = encoding.expect_list(held[0], 3, what="guardian state.paillier share")
    if tag != KEY_SHARE_TAG:
        raise DecodeError("guardian state.paillier share: not a Paillier key share")
    try:
        return PaillierKeyShare(
            encoding.expect_int(guardian, what="guardian state.paillier share.guardian"),
            encoding.expect_int(secret, what="guardian state.paillier share.secret"),
        )
    except InvalidInput as error:
        raise DecodeError(f"guardian state.paillier share: {error}") from error


def _validate(state: GuardianState) -> None:
    """Raise :class:`InvalidInput` unless the secrets present are exactly those of the step."""
    if state.step not in STEPS:
        raise InvalidInput(f"unknown step {state.step!r}")
    if len(state.identity_seed) != SEED_BYTES:
        raise InvalidInput(f"the identity seed is {SEED_BYTES} bytes")
    if state.step == "identity":
        if (
            state.manifest is not None
            or state.index
            or state.transport_secret is not None
            or state.coefficients is not None
            or state.received
            or state.key_share is not None
            or state.entries
            or state.tally_answered is not None
            or state.paillier_share is not None
        ):
            raise InvalidInput("a guardian that joined no election holds only its identity")
        return
    manifest = state.manifest
    if manifest is None:
        raise InvalidInput(f"at step {state.step!r} the guardian has joined an election")
    n = len(manifest.guardians)
    if not 1 <= state.index <= n:
        raise InvalidInput(f"guardian index {state.index} is not in 1..{n}")
    if manifest.guardians[state.index - 1] != state.identity.verify_key:
        raise InvalidInput(f"the identity key is not guardian {state.index}'s key in the manifest")
    if manifest.scheme_name == PAILLIER:
        _validate_scheme_b(state)
        return
    if state.paillier_share is not None:
        raise InvalidInput("a scheme A guardian holds no Paillier key share")
    dealers = [dealer for dealer, _ in state.received]
    if dealers != sorted(set(dealers)) or not all(1 <= d <= n for d in dealers):
        raise InvalidInput("received shares must come from distinct guardians 1..n, in order")
    if state.step in DEALING:
        if state.transport_secret is None or len(state.transport_secret) != TRANSPORT_KEY_BYTES:
            raise InvalidInput(f"at step {state.step!r} the guardian keeps its transport key")
        if state.coefficients is None or len(state.coefficients) != manifest.guardian_quorum:
            raise InvalidInput(
                f"at step {state.step!r} the guardian keeps its {manifest.guardian_quorum} "
                "coefficients"
            )
        if state.key_share is not None or state.tally_answered is not None:
            raise InvalidInput(f"at step {state.step!r} the guardian has no key share yet")
        return
    if (
        state.transport_secret is not None
        or state.coefficients is not None
        or state.received
        or state.key_share is None
    ):
        raise InvalidInput(
            f"at step {state.step!r} the guardian keeps z_ℓ and has deleted its transport key, "
            "coefficients and received shares"
        )
    if state.tally_answered is not None and len(state.tally_answered) != TALLY_DIGEST_BYTES:
        raise InvalidInput(f"the answered tally's digest is {TALLY_DIGEST_BYTES} bytes")


def _validate_scheme_b(state: GuardianState) -> None:
    """Scheme B: the transport key until the share is accepted, then the share alone."""
    if state.step not in PAILLIER_STEPS:
        raise InvalidInput(
            f"a scheme B guardian is never at step {state.step!r} (the dealer makes the key)"
        )
    if state.coefficients is not None or state.received or state.key_share is not None:
        raise InvalidInput("a scheme B guardian keeps no coefficients and no scheme A shares")
    if state.step in AWAITING_SHARE:
        if state.transport_secret is None or len(state.transport_secret) != TRANSPORT_KEY_BYTES:
            raise InvalidInput(f"at step {state.step!r} the guardian keeps its transport key")
        if state.paillier_share is not None or state.tally_answered is not None:
            raise InvalidInput(f"at step {state.step!r} the guardian has no key share yet")
        return
    share = state.paillier_share
    if state.transport_secret is not None or share is None:
        raise InvalidInput(
            f"at step {state.step!r} the guardian keeps its Paillier key share and has deleted "
            "its transport key"
        )
    if share.guardian != state.index:
        raise InvalidInput(
            f"the Paillier key share is guardian {share.guardian}'s, not guardian {state.index}'s"
        )
    if state.tally_answered is not None and len(state.tally_answered) != TALLY_DIGEST_BYTES:
        raise InvalidInput(f"the answered tally's digest is {TALLY_DIGEST_BYTES} bytes")
