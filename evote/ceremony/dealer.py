"""Scheme B's key ceremony: one trusted dealer deals a threshold Paillier key (crypto spec §4.2).

**Trust.** The dealer learns ``p, q`` and could decrypt every ballot; a dealer that made a bad
modulus could also let a colluding voter prove an invalid vote. That is the price of scheme B,
stated in every scheme B manifest (:data:`evote.election.manifest.DEALER_TRUST`) and in
SECURITY.md. Run the dealer offline, watched by the guardians, and erase it afterwards.

The ceremony over the board (the entries are in :mod:`evote.ceremony.messages`):

0. every guardian posts a ceremony-only X25519 key (``ceremony-transport``, as in scheme A's
   round 0): :meth:`KeyHolder.transport_key`;
1. the dealer (:func:`deal_shares`) makes the key with fresh safe primes, posts it with its own
   ceremony-only X25519 key (``paillier-key``, signed by the dealer; the officials co-sign it
   once :func:`check_dealt_key` passes), and seals each guardian's share ``s_i`` to that
   guardian (``paillier-share``, signed by the dealer). Nothing else leaves the dealer: the
   primes, ``d`` and the polynomial stay inside :func:`evote.crypto.paillier.deal`, and the
   dealer's transport key and the shares are dropped when :func:`deal_shares` returns;
2. every guardian unseals its share, checks the context and ``v^{Δ·s_i} = v_i``
   (:meth:`KeyHolder.accept`; a bad share is refused and nothing changes), and acknowledges in
   public with a proved decryption share of the public test ciphertext
   (``paillier-key-check``: :meth:`KeyHolder.key_check`).

After the close each guardian answers the tally with :meth:`KeyHolder.decrypt_tally`: a
decryption share of every aggregate with its proof (§4.5), in the same ``decryption-share``
entry as scheme A.

:func:`run_dealer_ceremony` plays the whole ceremony with every party in one process
(mock elections and rehearsals only). By hand (``evote dealer deal``), the dealer reads the
guardians' transport-key entries from files (:func:`transport_keys_from_entries`), deals in
memory, and writes only signed entry files (:func:`dealing_entries`): the key entry for the
officials to co-sign, and one sealed share per guardian.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from evote.board.entry import Entry, EntryKind, EntryRules
from evote.ceremony.messages import (
    PAILLIER_KEY,
    PAILLIER_KEY_CHECK,
    PAILLIER_SHARE,
    PAILLIER_SHARE_PLAINTEXT_TAG,
    TRANSPORT,
    DealtKey,
    PaillierKeyCheck,
    SealedKeyShare,
    TransportKey,
)
from evote.ceremony.outcome import key_check_target
from evote.crypto import encoding, paillier
from evote.crypto.paillier import (
    DealerOutput,
    PaillierCiphertext,
    PaillierDecryptionShare,
    PaillierKeyShare,
    ThresholdPaillier,
)
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.sealing import (
    TransportPrivateKey,
    TransportPublicKey,
    open_sealed,
    seal,
    usable,
)
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext, base_hash
from evote.election.manifest import PAILLIER, Manifest
from evote.election.tally import GuardianShares, PerPart, decrypt_totals
from evote.errors import (
    CeremonyError,
    DecodeError,
    EntryRejected,
    InvalidInput,
    VerificationError,
)


def _require_scheme_b(manifest: Manifest) -> None:
    if manifest.scheme_name != PAILLIER:
        raise CeremonyError(
            "the manifest names scheme A (elgamal): its key comes from the guardians' dealer-free "
            "ceremony, not from a dealer"
        )


def _share_plaintext(hashed_base: bytes, params_hash: bytes, share: PaillierKeyShare) -> bytes:
    return encoding.encode(
        [PAILLIER_SHARE_PLAINTEXT_TAG, hashed_base, params_hash, share.guardian, share.to_value()]
    )


def check_dealt_key(manifest: Manifest, dealt: DealtKey) -> ElectionContext:
    """The public judgement of the dealer's key entry: what the officials check before they
    co-sign it and every guardian before it accepts a share. ``H_B`` is this election's, the
    key is one for its guardians, quorum and modulus size, and the dealer's transport key is
    usable. Returns the election context; raises :class:`CeremonyError` saying what is wrong."""
    _require_scheme_b(manifest)
    if dealt.base_hash != base_hash(manifest):
        raise CeremonyError("the dealer's key names another election (its H_B is not ours)")
    if not usable(dealt.transport):
        raise CeremonyError("the dealer's transport key is unusable (small order)")
    try:
        return ElectionContext.for_paillier(manifest, dealt.key)
    except InvalidInput as error:
        raise CeremonyError(f"the dealer's key does not fit the manifest: {error}") from error


# --- the dealer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dealing:
    """What the dealer posts: its key entry (to be co-signed by the officials) and one sealed
    share per guardian. The shares themselves are not here."""

    dealt: DealtKey
    sealed: tuple[SealedKeyShare, ...]

    def sealed_for(self, guardian: int) -> SealedKeyShare:
        for share in self.sealed:
            if share.guardian == guardian:
                return share
        raise CeremonyError(f"the dealer sealed no share to guardian {guardian}")


def _transport_keys_of(
    manifest: Manifest, transport_keys: Mapping[int, TransportKey]
) -> dict[int, TransportPublicKey]:
    keys = {}
    missing = []
    for guardian in range(1, len(manifest.guardians) + 1):
        posted = transport_keys.get(guardian)
        if posted is None or posted.guardian != guardian or not usable(posted.key):
            missing.append(guardian)
        else:
            keys[guardian] = posted.key
    if missing:
        raise CeremonyError(
            f"guardians {missing} posted no usable transport key: the dealer cannot seal their "
            "shares (they post one, then the dealer runs)"
        )
    return keys


def seal_dealing(
    manifest: Manifest,
    transport_keys: Mapping[int, TransportKey],
    dealt: DealerOutput,
    dealer_transport: TransportPrivateKey,
) -> Dealing:
    """Seal the shares of ``dealt`` to the guardians' transport keys (the lower level of
    :func:`deal_shares`, with the dealer's output given: tests build cheating dealers with it)."""
    _require_scheme_b(manifest)
    recipients = _transport_keys_of(manifest, transport_keys)
    hashed_base = base_hash(manifest)
    params_hash = ThresholdPaillier(dealt.public_key).params_hash
    sealed = tuple(
        SealedKeyShare(
            guardian,
            seal(
                dealer_transport,
                recipient,
                _share_plaintext(hashed_base, params_hash, dealt.share_for(guardian)),
            ),
        )
        for guardian, recipient in sorted(recipients.items())
    )
    return Dealing(DealtKey(hashed_base, dealer_transport.public_key, dealt.public_key), sealed)


def deal_shares(manifest: Manifest, transport_keys: Mapping[int, TransportKey]) -> Dealing:
    """The dealer's whole run: a fresh key of the manifest's family (2048-bit ``n``, two safe
    primes: about one to three seconds), every share sealed to its guardian with a fresh
    ceremony-only transport key. The shares and the transport key die with this call."""
    _require_scheme_b(manifest)
    _transport_keys_of(manifest, transport_keys)  # refuse before the expensive part
    dealt = paillier.deal(len(manifest.guardians), manifest.guardian_quorum)
    return seal_dealing(manifest, transport_keys, dealt, TransportPrivateKey.generate())


# --- the dealer over files -----------------------------------------------------------------------

#: The dealer's key entry file, for the officials to co-sign (`evote official sign`).
DEALT_KEY_FILE: Final = f"{PAILLIER_KEY}.entry"


def share_file(guardian: int) -> str:
    """``paillier-share-g<i>.entry``: the entry file of the share sealed to guardian ``i``."""
    return f"{PAILLIER_SHARE}-g{guardian}.entry"


def transport_keys_from_entries(
    manifest: Manifest, entries: Iterable[tuple[str, bytes]]
) -> dict[int, TransportKey]:
    """Every guardian's transport key from board entry files (``(source, bytes)`` pairs; other
    kinds are ignored): each of this election, signed by exactly the guardian it speaks for.

    Raises :class:`CeremonyError` naming the file for an entry that is not, for two different
    transport keys of one guardian, and for a guardian that has none (nothing is dealt then).
    """
    _require_scheme_b(manifest)
    rules = EntryRules.of(manifest.election_id, [EntryKind(TRANSPORT)])
    keys: dict[int, TransportKey] = {}
    for source, data in entries:
        try:
            kind = Entry.decode(data).kind
        except DecodeError as error:
            raise CeremonyError(f"{source}: not a board entry: {error}") from error
        if kind != TRANSPORT:
            continue
        try:
            entry = rules.check(data)
            posted = TransportKey.from_tlv(entry.body)
        except (EntryRejected, DecodeError) as error:
            raise CeremonyError(f"{source}: {error}") from error
        n = len(manifest.guardians)
        if not 1 <= posted.guardian <= n:
            raise CeremonyError(
                f"{source}: the transport key speaks for guardian {posted.guardian}, but the "
                f"manifest has guardians 1 to {n}"
            )
        if entry.signers != (manifest.guardians[posted.guardian - 1],):
            raise CeremonyError(
                f"{source}: the transport key of guardian {posted.guardian} is not signed by "
                "that guardian's identity key from the manifest (alone)"
            )
        known = keys.get(posted.guardian)
        if known is not None and known != posted:
            raise CeremonyError(
                f"{source}: guardian {posted.guardian} posted two different transport keys; "
                "deal only after the officials settle which one is on the board"
            )
        keys[posted.guardian] = posted
    _transport_keys_of(manifest, keys)
    return keys


def dealing_entries(
    manifest: Manifest, dealer: SigningKey, dealing: Dealing
) -> tuple[tuple[str, bytes], ...]:
    """The dealing as signed entry files ``(name, bytes)``: the key (signed by the dealer; the
    officials co-sign it) and each sealed share (signed by the dealer alone)."""
    _require_scheme_b(manifest)
    if manifest.dealer != dealer.verify_key:
        raise CeremonyError(
            f"the key {dealer.verify_key.encode().hex()} is not the dealer's key the manifest names"
        )
    key = Entry.create(PAILLIER_KEY, manifest.election_id, dealing.dealt.to_tlv(), [dealer])
    shares = tuple(
        (
            share_file(sealed.guardian),
            Entry.create(PAILLIER_SHARE, manifest.election_id, sealed.to_tlv(), [dealer]).encoded,
        )
        for sealed in dealing.sealed
    )
    return ((DEALT_KEY_FILE, key.encoded), *shares)


# --- a guardian ----------------------------------------------------------------------------------


@dataclass(slots=True)
class KeyHolder:
    """Guardian ``index`` (1..n) of a scheme B election: it receives, checks and uses a share."""

    manifest: Manifest
    index: int
    transport: TransportPrivateKey = field(default_factory=TransportPrivateKey.generate, repr=False)
    key_share: PaillierKeyShare | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _require_scheme_b(self.manifest)
        if not 1 <= self.index <= len(self.manifest.guardians):
            raise InvalidInput(f"there is no guardian {self.index} in this manifest")

    def transport_key(self) -> TransportKey:
        """Round 0: the ceremony-only X25519 key the dealer seals this guardian's share to."""
        return TransportKey(self.index, self.transport.public_key)

    def accept(self, dealt: DealtKey, sealed: SealedKeyShare) -> ElectionContext:
        """Unseal the share, check its context and ``v^{Δ·s_i} = v_i``, and keep it.

        Raises :class:`CeremonyError` saying why the share is refused (then nothing changes, and
        this guardian must not acknowledge: the dealer runs again). On success the ceremony's
        transport key is forgotten.
        """
        context = check_dealt_key(self.manifest, dealt)
        key = dealt.key
        if sealed.guardian != self.index:
            raise CeremonyError(f"the share is sealed to guardian {sealed.guardian}, not to me")
        try:
            fields = encoding.expect_list(
                encoding.decode(open_sealed(self.transport, dealt.transport, sealed.sealed)),
                5,
                what="paillier share",
            )
            expected = [
                PAILLIER_SHARE_PLAINTEXT_TAG,
                context.base_hash,
                context.paillier.params_hash,
                self.index,
            ]
            if fields[:4] != expected:
                raise CeremonyError(
                    f"guardian {self.index} refuses its Paillier key share: the share's context "
                    "is for another election, key or guardian"
                )
            share = PaillierKeyShare.from_value(fields[4], key)
            if share.guardian != self.index:
                raise CeremonyError(
                    f"guardian {self.index} refuses its Paillier key share: the sealed share is "
                    f"guardian {share.guardian}'s"
                )
            paillier.check_key_share(share, key)
        except (DecodeError, VerificationError) as error:
            raise CeremonyError(
                f"guardian {self.index} refuses its Paillier key share: {error}"
            ) from error
        self.key_share = share
        self.transport = TransportPrivateKey.generate()  # the ceremony key is forgotten
        return context

    def _key_share(self) -> PaillierKeyShare:
        if self.key_share is None:
            raise CeremonyError(f"guardian {self.index} has accepted no key share")
        return self.key_share

    def _decrypt(
        self, context: ElectionContext, ciphertext: PaillierCiphertext, target: DecryptionTarget
    ) -> PaillierDecryptionShare:
        return paillier.partial_decrypt(ciphertext, self._key_share(), context.paillier_key, target)

    def key_check(self, context: ElectionContext) -> PaillierKeyCheck:
        """The public acknowledgement: a proved share of the public test ciphertext."""
        test = paillier.key_check_ciphertext(context.extended_hash, context.paillier_key)
        return PaillierKeyCheck(self.index, self._decrypt(context, test, key_check_target(context)))

    def decrypt_tally(self, context: ElectionContext, totals: PerPart) -> GuardianShares[Any]:
        """This guardian's share of every aggregate of the tally, each with its proof (§4.5)."""

        def decrypt(ciphertext: PaillierCiphertext, target: DecryptionTarget) -> Any:
            return self._decrypt(context, ciphertext, target)

        return decrypt_totals(context, self.index, totals, decrypt)


def verify_paillier_key_check(check: PaillierKeyCheck, context: ElectionContext) -> None:
    """Raise :class:`ProofError` unless the guardian's share of the test ciphertext is proved."""
    key = context.paillier_key
    paillier.verify_partial(
        paillier.key_check_ciphertext(context.extended_hash, key),
        check.share,
        key,
        key_check_target(context),
    )


# --- the whole ceremony in one process (mocks and rehearsals) ------------------------------------

#: ``post(kind, body, guardian)``: sign ``body`` as guardian ``guardian`` (1..n) and append it.
PostAsGuardian = Callable[[str, bytes, int], None]
#: ``post(kind, body, with_officials)``: sign as the dealer (and an official quorum) and append.
PostAsDealer = Callable[[str, bytes, bool], None]
#: ``deal(manifest, transport_keys)``: the dealer's run (:func:`deal_shares`, or a cheat's).
Deal = Callable[[Manifest, Mapping[int, TransportKey]], Dealing]


@dataclass(frozen=True, slots=True)
class DealerCeremony:
    """The outcome: every guardian, the dealing, and who refused its share (and why)."""

    holders: tuple[KeyHolder, ...]
    dealing: Dealing
    context: ElectionContext
    refused: Mapping[int, str]

    def require_context(self) -> ElectionContext:
        """The context if every guardian accepted its share, else :class:`CeremonyError`."""
        if self.refused:
            reasons = "; ".join(f"guardian {i}: {why}" for i, why in sorted(self.refused.items()))
            raise CeremonyError(
                f"guardians {sorted(self.refused)} refused their shares: the dealer must deal "
                f"again ({reasons})"
            )
        return self.context


def run_dealer_ceremony(
    manifest: Manifest,
    post_as_guardian: PostAsGuardian,
    post_as_dealer: PostAsDealer,
    deal: Deal = deal_shares,
) -> DealerCeremony:
    """Transport keys, the dealer's key and sealed shares, every guardian's acceptance and key
    check; a guardian that refuses its share posts no key check and is listed in ``refused``."""
    _require_scheme_b(manifest)
    holders = tuple(KeyHolder(manifest, i) for i in range(1, len(manifest.guardians) + 1))
    transport = {}
    for holder in holders:
        posted = holder.transport_key()
        post_as_guardian(TRANSPORT, posted.to_tlv(), holder.index)
        transport[holder.index] = posted
    dealing = deal(manifest, transport)
    context = check_dealt_key(manifest, dealing.dealt)  # what the officials check first
    post_as_dealer(PAILLIER_KEY, dealing.dealt.to_tlv(), True)
    for sealed in dealing.sealed:
        post_as_dealer(PAILLIER_SHARE, sealed.to_tlv(), False)
    refused: dict[int, str] = {}
    for holder in holders:
        try:
            holder.accept(dealing.dealt, dealing.sealed_for(holder.index))
        except CeremonyError as error:
            refused[holder.index] = str(error)
            continue
        post_as_guardian(
            PAILLIER_KEY_CHECK, holder.key_check(context).to_tlv(context.paillier_key), holder.index
        )
    return DealerCeremony(holders, dealing, context, refused)


def key_shares_of(holders: Sequence[KeyHolder]) -> tuple[PaillierKeyShare, ...]:
    """The accepted shares (mock elections write them out for crafting test records)."""
    return tuple(holder.key_share for holder in holders if holder.key_share is not None)
