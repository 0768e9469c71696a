"""Scheme B over files: the guardian's saved state, its two rounds (transport key, accepting the
dealer's key and share), its key check, and the dealer's entry files.

Dealings use the fixed 2048-bit primes of :mod:`tests.unit.election.paillier_keys`, sealed to
the guardians' own transport keys (:func:`seal_dealing`), so nothing here waits for safe primes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from evote.board.entry import Entry
from evote.ceremony import messages
from evote.ceremony.dealer import (
    DEALT_KEY_FILE,
    Dealing,
    dealing_entries,
    seal_dealing,
    share_file,
    transport_keys_from_entries,
    verify_paillier_key_check,
)
from evote.ceremony.guardian_file import PAILLIER_STATE, STATE_TAG, GuardianState
from evote.ceremony.messages import DealtKey, PaillierKeyCheck, SealedKeyShare, TransportKey
from evote.ceremony.offline import (
    CEREMONY_KINDS,
    LATER_KINDS,
    Advance,
    Transcript,
    advance,
    key_check,
    next_round,
)
from evote.crypto import encoding
from evote.crypto.paillier import DealerOutput, PaillierKeyShare
from evote.crypto.sealing import TransportPrivateKey
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import CeremonyError, DecodeError, InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import mock_manifest
from tests.unit.election.paillier_keys import dealt, other_dealt

IDENTITIES = tuple(SigningKey.generate() for _ in range(3))
DEALER = SigningKey.generate()
OFFICIAL = SigningKey.generate()
OTHERS = tuple(SigningKey.generate() for _ in range(3))

Inbox = list[tuple[str, bytes]]


def manifest_of(name: str = "Scheme B by hand", dealer: SigningKey | None = DEALER) -> Manifest:
    return mock_manifest(
        name,
        REFERENCE_CONTESTS,
        officials=[OFFICIAL],
        official_quorum=1,
        authority=OTHERS[0],
        guardians=IDENTITIES,
        guardian_quorum=2,
        log_key=OTHERS[1],
        witnesses=[("witness.test", OTHERS[2])],
        witness_quorum=1,
        dealer=dealer,
    )


MANIFEST = manifest_of()
OTHER = manifest_of("Another scheme B election")
SCHEME_A = manifest_of("Scheme A", dealer=None)
OUTPUT = dealt(3, 2)


def joined() -> list[GuardianState]:
    return [GuardianState.new(key).join(MANIFEST) for key in IDENTITIES]


def transported() -> tuple[list[GuardianState], Inbox]:
    """Every guardian posted its transport key: the states, and the entries as an inbox."""
    results = [advance(state, []) for state in joined()]
    return [r.state for r in results], [(p.name, p.data) for r in results for p in r.posted]


def deal(
    states: Sequence[GuardianState],
    output: DealerOutput = OUTPUT,
    manifest: Manifest = MANIFEST,
) -> Dealing:
    keys = {state.index: state.holder().transport_key() for state in states}
    return seal_dealing(manifest, keys, output, TransportPrivateKey.generate())


def dealer_files(dealing: Dealing, manifest: Manifest = MANIFEST, cosign: bool = True) -> Inbox:
    """The dealer's files as the board holds them: the key co-signed by the official."""
    files = list(dealing_entries(manifest, DEALER, dealing))
    if cosign:
        key = Entry.create(
            messages.PAILLIER_KEY, manifest.election_id, dealing.dealt.to_tlv(), [DEALER, OFFICIAL]
        )
        files[0] = (DEALT_KEY_FILE, key.encoded)
    return files


def accepted() -> tuple[list[GuardianState], Dealing, list[Advance]]:
    states, _ = transported()
    dealing = deal(states)
    results = [advance(state, dealer_files(dealing)) for state in states]
    return [r.state for r in results], dealing, results


# --- the saved state -----------------------------------------------------------------------------


def test_a_scheme_a_state_keeps_its_eleven_items_byte_for_byte() -> None:
    """Scheme A files written before scheme B load, and are written, exactly as before."""
    state = GuardianState.new(IDENTITIES[0]).join(SCHEME_A)
    assert state.coefficients is not None
    assert state.transport_secret is not None
    expected = encoding.encode(
        [
            STATE_TAG,
            "joined",
            state.identity_seed,
            SCHEME_A.to_tlv(),
            1,
            state.transport_secret,
            list(state.coefficients),
            [],
            [],
            [],
            b"",
        ]
    )
    assert state.to_tlv() == expected
    assert GuardianState.from_tlv(expected) == state
    assert state.paillier_share is None


def test_a_scheme_b_guardian_keeps_only_its_transport_key_until_it_accepts() -> None:
    state = joined()[1]
    assert (state.step, state.index, state.scheme_b) == ("joined", 2, True)
    assert state.transport_secret is not None
    assert state.coefficients is None
    assert state.key_share is None
    assert state.paillier_share is None
    items = encoding.expect_list(encoding.decode(state.to_tlv()), 13, what="state")
    assert items[11:] == [PAILLIER_STATE, []]
    assert GuardianState.from_tlv(state.to_tlv()) == state
    assert state.transport_secret.hex() not in repr(state)


def test_an_accepted_share_round_trips_and_the_transport_key_is_gone() -> None:
    states, _, _ = accepted()
    state = states[2]
    assert state.step == "finished"
    assert state.transport_secret is None
    assert state.paillier_share == OUTPUT.share_for(3)
    assert GuardianState.from_tlv(state.to_tlv()) == state
    assert str(OUTPUT.share_for(3).secret) not in repr(state)


def test_a_scheme_b_state_must_hold_what_its_step_keeps() -> None:
    states, _, _ = accepted()
    finished, waiting = states[0], joined()[0]
    share = OUTPUT.share_for(1)
    with pytest.raises(InvalidInput, match="keeps its transport key"):
        dataclasses.replace(waiting, transport_secret=None)
    with pytest.raises(InvalidInput, match="has no key share yet"):
        dataclasses.replace(waiting, paillier_share=share)
    with pytest.raises(InvalidInput, match="keeps its Paillier key share"):
        dataclasses.replace(finished, paillier_share=None)
    with pytest.raises(InvalidInput, match="guardian 2's, not guardian 1's"):
        dataclasses.replace(finished, paillier_share=OUTPUT.share_for(2))
    with pytest.raises(InvalidInput, match="never at step 'commit'"):
        dataclasses.replace(waiting, step="commit")
    with pytest.raises(InvalidInput, match="holds no Paillier key share"):
        dataclasses.replace(GuardianState.new(IDENTITIES[0]).join(SCHEME_A), paillier_share=share)


def test_a_state_whose_kind_is_not_its_manifests_scheme_is_refused() -> None:
    scheme_b = joined()[0]
    items: list[encoding.Value] = list(
        encoding.expect_list(encoding.decode(scheme_b.to_tlv()), 13, what="state")
    )
    with pytest.raises(DecodeError, match="not its manifest's scheme"):
        GuardianState.from_tlv(encoding.encode(items[:11]))
    with pytest.raises(DecodeError, match="unknown kind 'rsa'"):
        GuardianState.from_tlv(encoding.encode([*items[:11], "rsa", []]))
    with pytest.raises(DecodeError, match="expected 11 items"):
        GuardianState.from_tlv(encoding.encode([*items[:11], PAILLIER_STATE]))
    scheme_a = GuardianState.new(IDENTITIES[0]).join(SCHEME_A).to_tlv()
    a_items: list[encoding.Value] = list(
        encoding.expect_list(encoding.decode(scheme_a), 11, what="state")
    )
    with pytest.raises(DecodeError, match="not its manifest's scheme"):
        GuardianState.from_tlv(encoding.encode([*a_items, PAILLIER_STATE, []]))


def test_a_scheme_b_guardian_has_no_trustee_and_a_scheme_a_one_no_holder() -> None:
    with pytest.raises(CeremonyError, match="scheme B election"):
        joined()[0].trustee()
    with pytest.raises(CeremonyError, match="scheme A election"):
        GuardianState.new(IDENTITIES[0]).join(SCHEME_A).holder()


# --- the rounds ----------------------------------------------------------------------------------


def test_the_first_round_posts_the_transport_key_the_dealer_seals_to() -> None:
    states, inbox = transported()
    assert [name for name, _ in inbox] == [f"ceremony-transport-g{i}.entry" for i in (1, 2, 3)]
    for state, (_, data) in zip(states, inbox, strict=True):
        assert state.step == "transport"
        entry = Entry.decode(data)
        assert entry.signers == (IDENTITIES[state.index - 1].verify_key,)
        assert TransportKey.from_tlv(entry.body) == state.holder().transport_key()
    assert transport_keys_from_entries(MANIFEST, inbox) == {
        state.index: state.holder().transport_key() for state in states
    }


def test_every_guardian_accepts_its_share_and_posts_nothing() -> None:
    states, _, results = accepted()
    for state, result in zip(states, results, strict=True):
        assert result.posted == ()
        assert any("you accept the dealer's key" in note for note in result.notes)
        assert state.paillier_share == OUTPUT.share_for(state.index)
    assert next_round("transport", scheme_b=True).startswith("accept the dealer's key")


def test_the_key_check_verifies_comes_once_and_is_exported() -> None:
    states, _, _ = accepted()
    result = key_check(states[1])
    (posted,) = result.posted
    assert posted.name == "paillier-key-check-g2.entry"
    transcript = Transcript.of(result.state)
    context = transcript.context()
    check = PaillierKeyCheck.from_tlv(Entry.decode(posted.data).body, context.paillier_key)
    verify_paillier_key_check(check, context)
    assert result.state.step == "key-checked"
    with pytest.raises(CeremonyError, match="already wrote your key check"):
        key_check(result.state)
    names = [item.name for item in transcript.own()]
    assert names == ["ceremony-transport-g2.entry", "paillier-key-check-g2.entry"]
    again = GuardianState.from_tlv(result.state.to_tlv())
    assert Transcript.of(again).own() == transcript.own()


def test_the_key_check_and_accepting_wait_for_their_steps() -> None:
    states, _ = transported()
    with pytest.raises(CeremonyError, match="comes after the key ceremony"):
        key_check(states[0])
    with pytest.raises(CeremonyError, match=r"needs the dealer's key \(paillier-key\)"):
        advance(states[0], [])
    dealing = deal(states)
    only_key = dealer_files(dealing)[:1]
    with pytest.raises(CeremonyError, match="the paillier-share sealed to guardian 1"):
        advance(states[0], only_key)
    finished = advance(states[0], dealer_files(dealing)).state
    with pytest.raises(CeremonyError, match="key ceremony is over"):
        advance(finished, [])


def refuses(state: GuardianState, inbox: Inbox, message: str) -> None:
    with pytest.raises(CeremonyError, match=message):
        advance(state, inbox)


def test_a_share_that_does_not_check_is_refused() -> None:
    states, _ = transported()
    good = deal(states)
    # Guardian 1's share sealed as if it were guardian 2's: the context names guardian 1.
    swapped = dataclasses.replace(good.sealed_for(1), guardian=2)
    dealing = dataclasses.replace(good, sealed=(good.sealed_for(1), swapped, good.sealed_for(3)))
    refuses(states[1], dealer_files(dealing), "guardian 2 refuses its Paillier key share")
    # A share altered before sealing: v^(Δ·s_i) is not v_i.
    keys = {state.index: state.holder().transport_key() for state in states}
    altered = DealerOutput(
        OUTPUT.public_key,
        tuple(PaillierKeyShare(s.guardian, s.secret + 1) for s in OUTPUT.shares),
    )
    bad = seal_dealing(MANIFEST, keys, altered, TransportPrivateKey.generate())
    refuses(states[0], dealer_files(bad), "does not match its verification key")


def test_a_tampered_dealt_key_is_refused() -> None:
    states, _ = transported()
    good = deal(states)
    tampered = dataclasses.replace(
        good, dealt=dataclasses.replace(good.dealt, key=other_dealt(3, 2).public_key)
    )
    refuses(states[0], dealer_files(tampered), "context is for another election, key or guardian")
    for_another = deal(states, manifest=OTHER)
    retagged = dataclasses.replace(
        for_another, dealt=dataclasses.replace(for_another.dealt, base_hash=good.dealt.base_hash)
    )
    refuses(states[0], dealer_files(retagged), "the share's context is for another election")


def test_the_dealers_entries_of_another_election_or_signer_are_refused() -> None:
    states, _ = transported()
    other = deal(states, manifest=OTHER)
    refuses(states[0], dealer_files(other, OTHER), "belongs to election|another election")
    dealing = deal(states)
    key = Entry.create(
        messages.PAILLIER_KEY, MANIFEST.election_id, dealing.dealt.to_tlv(), [OFFICIAL]
    )
    refuses(states[0], [("forged", key.encoded)], "must be signed by the manifest's dealer")
    share = Entry.create(
        messages.PAILLIER_SHARE,
        MANIFEST.election_id,
        dealing.sealed_for(1).to_tlv(),
        [DEALER, OFFICIAL],
    )
    refuses(states[0], [("forged", share.encoded)], "signed by the manifest's dealer .* alone")
    a_state = GuardianState.new(IDENTITIES[0]).join(SCHEME_A)
    a_key = Entry.create(
        messages.PAILLIER_KEY, SCHEME_A.election_id, dealing.dealt.to_tlv(), [DEALER]
    )
    refuses(a_state, [("dealer", a_key.encoded)], "this one \\(scheme A\\) has no dealer")


def test_a_second_different_key_or_share_from_the_dealer_is_equivocation() -> None:
    states, _ = transported()
    first, second = deal(states), deal(states)
    finished = advance(states[0], dealer_files(first)).state
    refuses(finished, [], "key ceremony is over")
    transcript = Transcript.of(finished)
    other_key = dealer_files(second)[0][1]
    with pytest.raises(CeremonyError, match="two different keys"):
        transcript.accept(other_key, "another key")
    with pytest.raises(CeremonyError, match="two different shares sealed to you"):
        transcript.accept(dealer_files(second)[1][1], "again")
    # The same key without the officials' co-signature is the same key.
    for name, data in dealer_files(first, cosign=False):
        assert transcript.accept(data, name) is None


def test_shares_sealed_to_others_are_ignored() -> None:
    states, _ = transported()
    dealing = deal(states)
    transcript = Transcript.of(states[0])
    files = dealer_files(dealing)
    assert transcript.accept(files[2][1], files[2][0]) is None  # guardian 2's
    assert transcript.accept(files[1][1], files[1][0]) is not None  # mine
    assert transcript.sealed_to_me == dealing.sealed_for(1)


def test_the_guardians_inbox_kinds_include_the_dealers() -> None:
    assert {messages.PAILLIER_KEY, messages.PAILLIER_SHARE} <= set(CEREMONY_KINDS)
    assert messages.PAILLIER_KEY_CHECK in LATER_KINDS


# --- the dealer's files --------------------------------------------------------------------------


def test_the_dealer_writes_its_key_and_one_share_per_guardian() -> None:
    states, _ = transported()
    dealing = deal(states)
    files = dealing_entries(MANIFEST, DEALER, dealing)
    assert [name for name, _ in files] == [DEALT_KEY_FILE, *(share_file(i) for i in (1, 2, 3))]
    key = Entry.decode(files[0][1])
    assert key.signers == (DEALER.verify_key,)
    assert DealtKey.from_tlv(key.body) == dealing.dealt
    for guardian, (_, data) in enumerate(files[1:], 1):
        entry = Entry.decode(data)
        assert entry.signers == (DEALER.verify_key,)
        assert SealedKeyShare.from_tlv(entry.body) == dealing.sealed_for(guardian)
    with pytest.raises(CeremonyError, match="not the dealer's key the manifest names"):
        dealing_entries(MANIFEST, OFFICIAL, dealing)


def test_the_dealer_refuses_missing_forged_or_two_transport_keys() -> None:
    states, inbox = transported()
    with pytest.raises(CeremonyError, match=r"guardians \[3\] posted no usable transport key"):
        transport_keys_from_entries(MANIFEST, inbox[:2])
    body = Entry.decode(inbox[0][1]).body
    forged = Entry.create(messages.TRANSPORT, MANIFEST.election_id, body, [IDENTITIES[1]])
    with pytest.raises(CeremonyError, match="forged: the transport key of guardian 1 is not"):
        transport_keys_from_entries(MANIFEST, [("forged", forged.encoded), *inbox[1:]])
    again = advance(GuardianState.new(IDENTITIES[0]).join(MANIFEST), []).posted[0]
    with pytest.raises(CeremonyError, match="guardian 1 posted two different transport keys"):
        transport_keys_from_entries(MANIFEST, [*inbox, (again.name, again.data)])
    with pytest.raises(CeremonyError, match="another"):
        transport_keys_from_entries(OTHER, inbox)
    with pytest.raises(CeremonyError, match="not a board entry"):
        transport_keys_from_entries(MANIFEST, [("junk", b"junk"), *inbox])
    # Other kinds are no business of the dealer's.
    assert len(transport_keys_from_entries(MANIFEST, [*inbox, *dealer_files(deal(states))])) == 3
