"""Scheme B's dealer ceremony: the dealer's run, each guardian's acceptance or refusal, the key
checks, and decryption of a tally by the guardians.

Dealings here use the fixed 2048-bit primes of :mod:`tests.unit.election.paillier_keys`
(:func:`seal_dealing`), except one test of the dealer's own run with fresh safe primes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from evote.ceremony import messages
from evote.ceremony.dealer import (
    Dealing,
    KeyHolder,
    check_dealt_key,
    deal_shares,
    run_dealer_ceremony,
    seal_dealing,
    verify_paillier_key_check,
)
from evote.ceremony.messages import DealtKey, PaillierKeyCheck, SealedKeyShare, TransportKey
from evote.crypto.paillier import DealerOutput, PaillierKeyShare
from evote.crypto.sealing import TransportPrivateKey, TransportPublicKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.election.tally import combine_counts, encrypted_tally, target
from evote.errors import CeremonyError, DecodeError, InvalidInput, ProofError
from tests.unit.election.paillier_keys import dealt, other_dealt
from tests.unit.election.test_manifest import MANIFEST
from tests.unit.election.test_schemes import CONTEXT_B, ELECTIONS, MANIFEST_B, cast_in

GUARDIANS = len(MANIFEST_B.guardians)
QUORUM = MANIFEST_B.guardian_quorum


def holders() -> tuple[KeyHolder, ...]:
    return tuple(KeyHolder(MANIFEST_B, i) for i in range(1, GUARDIANS + 1))


def transport_keys(team: tuple[KeyHolder, ...]) -> dict[int, TransportKey]:
    return {holder.index: holder.transport_key() for holder in team}


def dealing_for(
    team: tuple[KeyHolder, ...], output: DealerOutput | None = None, manifest: Manifest = MANIFEST_B
) -> Dealing:
    return seal_dealing(
        manifest,
        transport_keys(team),
        output or dealt(GUARDIANS, QUORUM),
        TransportPrivateKey.generate(),
    )


def fixed_primes_dealer(manifest: Manifest, keys: Mapping[int, TransportKey]) -> Dealing:
    return seal_dealing(manifest, keys, dealt(GUARDIANS, QUORUM), TransportPrivateKey.generate())


def test_every_guardian_accepts_its_share_and_proves_it_in_public() -> None:
    team = holders()
    dealing = dealing_for(team)
    for holder in team:
        context = holder.accept(dealing.dealt, dealing.sealed_for(holder.index))
        assert holder.key_share == dealt(GUARDIANS, QUORUM).share_for(holder.index)
        check = holder.key_check(context)
        key = context.paillier_key
        decoded = PaillierKeyCheck.from_tlv(check.to_tlv(key), key)
        assert decoded == check
        verify_paillier_key_check(decoded, context)


def test_the_entries_round_trip_and_keep_the_shares_secret() -> None:
    team = holders()
    dealing = dealing_for(team)
    assert DealtKey.from_tlv(dealing.dealt.to_tlv()) == dealing.dealt
    for sealed in dealing.sealed:
        assert SealedKeyShare.from_tlv(sealed.to_tlv()) == sealed
        secret = dealt(GUARDIANS, QUORUM).share_for(sealed.guardian).secret
        width = (secret.bit_length() + 7) // 8
        assert secret.to_bytes(width, "big") not in sealed.to_tlv()
    assert "secret" not in repr(team[0])


def test_the_whole_ceremony_posts_every_entry_in_order() -> None:
    posted: list[tuple[str, str]] = []

    def as_guardian(kind: str, body: bytes, guardian: int) -> None:
        posted.append((kind, f"guardian {guardian}"))

    def as_dealer(kind: str, body: bytes, with_officials: bool) -> None:
        posted.append((kind, "dealer and officials" if with_officials else "dealer"))

    run = run_dealer_ceremony(MANIFEST_B, as_guardian, as_dealer, fixed_primes_dealer)
    context = run.require_context()
    assert run.refused == {}
    assert posted == [
        *((messages.TRANSPORT, f"guardian {i}") for i in (1, 2, 3)),
        (messages.PAILLIER_KEY, "dealer and officials"),
        *((messages.PAILLIER_SHARE, "dealer") for _ in (1, 2, 3)),
        *((messages.PAILLIER_KEY_CHECK, f"guardian {i}") for i in (1, 2, 3)),
    ]
    assert context.paillier_key == dealt(GUARDIANS, QUORUM).public_key


def test_the_dealers_own_run_makes_a_fresh_production_key() -> None:
    team = holders()
    dealing = deal_shares(MANIFEST_B, transport_keys(team))
    assert dealing.dealt.key.n.bit_length() == 2048
    assert dealing.dealt.key != dealt(GUARDIANS, QUORUM).public_key
    for holder in team:
        holder.accept(dealing.dealt, dealing.sealed_for(holder.index))


def test_the_guardians_decrypt_a_tally() -> None:
    team = holders()
    dealing = dealing_for(team)
    for holder in team:
        context = holder.accept(dealing.dealt, dealing.sealed_for(holder.index))
    assert context == CONTEXT_B  # the same key as the ballots below were cast under
    tally = encrypted_tally(context, {4: cast_in(ELECTIONS[1]).ballot})
    referendum = dataclasses.replace(tally, totals={"referendum": tally.totals["referendum"]})
    shares = {h.index: h.decrypt_tally(context, referendum.totals) for h in team[1:]}
    for share in shares.values():
        for option, (ciphertext, proved) in enumerate(
            zip(referendum.totals["referendum"], share.shares["referendum"], strict=True)
        ):
            context.scheme.verify_share(ciphertext, proved, target(context, "referendum", option))
    combined = combine_counts(referendum.totals, shares, QUORUM, 1, codec=context.scheme)
    assert combined == {"referendum": (1, 0)}


# --- a guardian refuses a bad share, and nothing changes ------------------------------------------


def _refused(holder: KeyHolder, dealt_key: DealtKey, sealed: SealedKeyShare, message: str) -> None:
    transport = holder.transport
    with pytest.raises(CeremonyError, match=message):
        holder.accept(dealt_key, sealed)
    assert holder.key_share is None
    assert holder.transport is transport  # it can still take a share dealt again


def test_a_share_of_another_key_is_refused() -> None:
    team = holders()
    honest = dealt(GUARDIANS, QUORUM)
    swapped = DealerOutput(honest.public_key, other_dealt(GUARDIANS, QUORUM).shares)
    dealing = dealing_for(team, swapped)
    _refused(team[0], dealing.dealt, dealing.sealed_for(1), "does not match|not below n²")


def test_a_share_sealed_by_someone_else_than_the_dealer_is_refused() -> None:
    team = holders()
    honest, other = dealing_for(team), dealing_for(team)  # two dealer transport keys
    _refused(team[0], honest.dealt, other.sealed_for(1), "cannot open")


def test_a_share_that_does_not_match_v_i_is_refused() -> None:
    team = holders()
    output = dealt(GUARDIANS, QUORUM)
    shares = list(output.shares)
    shares[0] = PaillierKeyShare(1, shares[0].secret + 1)
    dealing = dealing_for(team, dataclasses.replace(output, shares=tuple(shares)))
    _refused(team[0], dealing.dealt, dealing.sealed_for(1), "does not match its verification key")
    team[1].accept(dealing.dealt, dealing.sealed_for(2))  # the others' shares are fine


def test_another_guardians_share_is_refused() -> None:
    team = holders()
    dealing = dealing_for(team)
    _refused(team[0], dealing.dealt, dealing.sealed_for(2), "sealed to guardian 2, not to me")
    misfiled = dataclasses.replace(dealing.sealed_for(2), guardian=1)
    _refused(team[0], dealing.dealt, misfiled, "cannot open|another election, key or guardian")


def test_a_tampered_sealed_share_is_refused() -> None:
    team = holders()
    dealing = dealing_for(team)
    sealed = dealing.sealed_for(1)
    flipped = bytes([sealed.sealed[0] ^ 1]) + sealed.sealed[1:]
    _refused(team[0], dealing.dealt, dataclasses.replace(sealed, sealed=flipped), "cannot open")


def test_a_key_dealt_for_another_election_is_refused() -> None:
    team = holders()
    renamed = Manifest.from_mapping({**MANIFEST_B.to_mapping(), "name": "Another election"})
    other = dealing_for(team, manifest=renamed)
    _refused(team[0], other.dealt, other.sealed_for(1), "another election")


def test_a_key_that_does_not_fit_the_manifest_is_refused() -> None:
    team = holders()
    dealing = dealing_for(team, dealt(GUARDIANS, GUARDIANS))
    _refused(team[0], dealing.dealt, dealing.sealed_for(1), "does not fit the manifest")
    with pytest.raises(CeremonyError, match="quorum 3"):
        check_dealt_key(MANIFEST_B, dealing.dealt)


def test_a_refusing_guardian_posts_no_key_check_and_the_ceremony_fails() -> None:
    def cheating_dealer(manifest: Manifest, keys: Mapping[int, TransportKey]) -> Dealing:
        output = dealt(GUARDIANS, QUORUM)
        shares = list(output.shares)
        shares[1] = PaillierKeyShare(2, shares[2].secret)  # guardian 3's share to guardian 2
        bad = dataclasses.replace(output, shares=tuple(shares))
        return seal_dealing(manifest, keys, bad, TransportPrivateKey.generate())

    checks: list[int] = []

    def as_guardian(kind: str, body: bytes, guardian: int) -> None:
        if kind == messages.PAILLIER_KEY_CHECK:
            checks.append(guardian)

    run = run_dealer_ceremony(MANIFEST_B, as_guardian, lambda *_: None, cheating_dealer)
    assert sorted(run.refused) == [2]
    assert checks == [1, 3]
    with pytest.raises(CeremonyError, match=r"guardians \[2\] refused their shares"):
        run.require_context()


# --- the dealer and the guardians refuse what is not theirs to do ---------------------------------


def test_scheme_a_has_no_dealer() -> None:
    with pytest.raises(CeremonyError, match="scheme A"):
        KeyHolder(MANIFEST, 1)
    with pytest.raises(CeremonyError, match="scheme A"):
        deal_shares(MANIFEST, {})


def test_the_dealer_needs_every_guardians_usable_transport_key() -> None:
    keys = transport_keys(holders())
    del keys[2]
    keys[3] = TransportKey(3, TransportPublicKey(b"\x00" * 32))
    with pytest.raises(CeremonyError, match=r"guardians \[2, 3\] posted no usable transport key"):
        deal_shares(MANIFEST_B, keys)


def test_a_guardian_without_a_share_cannot_decrypt() -> None:
    holder = holders()[0]
    dealing = dealing_for(holders())
    context = check_dealt_key(MANIFEST_B, dealing.dealt)
    with pytest.raises(CeremonyError, match="accepted no key share"):
        holder.key_check(context)
    with pytest.raises(InvalidInput):
        KeyHolder(MANIFEST_B, 4)


def test_a_key_check_of_another_guardian_or_key_fails() -> None:
    team = holders()
    dealing = dealing_for(team)
    context = team[0].accept(dealing.dealt, dealing.sealed_for(1))
    check = team[0].key_check(context)
    forged_share = dataclasses.replace(check.share, guardian=2)
    with pytest.raises(ProofError):
        verify_paillier_key_check(PaillierKeyCheck(2, forged_share), context)
    key = context.paillier_key
    data = check.to_tlv(key)
    with pytest.raises(DecodeError, match="guardian 1's entry holds guardian 2's share"):
        PaillierKeyCheck.from_tlv(PaillierKeyCheck(1, forged_share).to_tlv(key), key)
    other = ElectionContext.for_paillier(MANIFEST_B, other_dealt(GUARDIANS, QUORUM).public_key)
    with pytest.raises((DecodeError, ProofError)):  # it may not even parse as the other key's
        verify_paillier_key_check(PaillierKeyCheck.from_tlv(data, other.paillier_key), other)
