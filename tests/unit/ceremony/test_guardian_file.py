"""A guardian's saved state: TLV round trips, the secrets each step keeps, and refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.ceremony.guardian_file import (
    DEALING,
    KEY_HELD,
    STATE_TAG,
    STEPS,
    GuardianState,
    step_after,
)
from evote.ceremony.trustee import Trustee
from evote.crypto import encoding
from evote.crypto.group import L, Scalar
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import DecodeError, InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import mock_manifest

IDENTITIES = tuple(SigningKey.generate() for _ in range(3))


def manifest_of(guardians: tuple[SigningKey, ...], quorum: int = 2, name: str = "G") -> Manifest:
    others = [SigningKey.generate() for _ in range(4)]
    return mock_manifest(
        name,
        REFERENCE_CONTESTS,
        officials=others[:1],
        official_quorum=1,
        authority=others[1],
        guardians=guardians,
        guardian_quorum=quorum,
        log_key=others[2],
        witnesses=[("witness.test", others[3])],
        witness_quorum=1,
    )


MANIFEST = manifest_of(IDENTITIES)


def joined(index: int = 2) -> GuardianState:
    return GuardianState.new(IDENTITIES[index - 1]).join(MANIFEST)


def finished(index: int = 2) -> GuardianState:
    state = joined(index)
    return dataclasses.replace(
        state,
        step="finished",
        transport_secret=None,
        coefficients=None,
        received=(),
        key_share=Scalar(12345),
    )


def fields_of(state: GuardianState) -> list[encoding.Decoded]:
    return encoding.expect_list(encoding.decode(state.to_tlv()), 11, what="state")


def with_field(state: GuardianState, position: int, value: encoding.Value) -> bytes:
    fields: list[encoding.Value] = list(fields_of(state))
    fields[position] = value
    return encoding.encode(fields)


# --- round trips ---------------------------------------------------------------------------------


def test_a_new_identity_round_trips_and_holds_nothing_else() -> None:
    state = GuardianState.new(IDENTITIES[0])
    assert state.step == "identity"
    assert GuardianState.from_tlv(state.to_tlv()) == state
    assert state.identity.verify_key == IDENTITIES[0].verify_key


def test_joining_finds_the_index_by_the_identity_key_and_draws_the_secrets() -> None:
    state = joined(3)
    assert (state.step, state.index, state.manifest) == ("joined", 3, MANIFEST)
    assert state.transport_secret is not None
    assert state.coefficients is not None
    assert len(state.coefficients) == MANIFEST.guardian_quorum
    assert state.key_share is None
    assert GuardianState.from_tlv(state.to_tlv()) == state


def test_a_manifest_without_the_identity_key_is_refused() -> None:
    stranger = GuardianState.new(SigningKey.generate())
    with pytest.raises(InvalidInput, match="is not one of the manifest's guardians"):
        stranger.join(MANIFEST)


def test_joining_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="already joined"):
        joined().join(MANIFEST)


def test_the_rebuilt_trustee_is_the_same_dealer() -> None:
    state = joined(1)
    first, second = state.trustee(), GuardianState.from_tlv(state.to_tlv()).trustee()
    assert first.commit() == second.commit()
    assert first.transport_key() == second.transport_key()
    assert first.share_for(3) == second.share_for(3)


def test_a_finished_trustee_gets_no_new_coefficients() -> None:
    trustee = finished().trustee()
    assert trustee.polynomial is None
    assert trustee.key_share == Scalar(12345)


def test_after_finishing_only_the_key_share_is_kept() -> None:
    state = joined(2)
    trustee = state.trustee()
    trustee.received = {1: Scalar(5), 2: Scalar(6)}
    trustee.key_share = Scalar(11)
    kept = state.with_trustee(trustee, "finished")
    assert (kept.transport_secret, kept.coefficients, kept.received) == (None, None, ())
    assert kept.key_share == Scalar(11)
    assert GuardianState.from_tlv(kept.to_tlv()) == kept


def test_while_dealing_the_received_shares_are_kept_in_order() -> None:
    state = joined(2)
    trustee = state.trustee()
    trustee.received = {3: Scalar(7), 1: Scalar(5)}
    kept = state.with_trustee(trustee, "complaints")
    assert kept.received == ((1, Scalar(5)), (3, Scalar(7)))
    assert GuardianState.from_tlv(kept.to_tlv()) == kept


@given(
    entries=st.lists(st.binary(max_size=64), max_size=5),
    received=st.dictionaries(st.integers(1, 3), st.integers(0, L - 1), max_size=3),
    step=st.sampled_from(DEALING),
)
def test_dealing_states_round_trip(
    entries: list[bytes], received: dict[int, int], step: str
) -> None:
    state = dataclasses.replace(
        joined(1),
        step=step,  # type: ignore[arg-type]
        received=tuple((d, Scalar(v)) for d, v in sorted(received.items())),
        entries=tuple(entries),
    )
    assert GuardianState.from_tlv(state.to_tlv()) == state


@given(
    share=st.integers(0, L - 1), digest=st.one_of(st.none(), st.binary(min_size=32, max_size=32))
)
def test_key_holding_states_round_trip(share: int, digest: bytes | None) -> None:
    for step in KEY_HELD:
        state = dataclasses.replace(
            finished(3), step=step, key_share=Scalar(share), tally_answered=digest
        )
        assert GuardianState.from_tlv(state.to_tlv()) == state


def test_the_repr_shows_no_secret() -> None:
    state = finished()
    text = repr(state)
    assert IDENTITIES[1].seed().hex() not in text
    assert "12345" not in text
    assert f"{12345:064x}" not in text
    assert IDENTITIES[1].verify_key.encode().hex() in text


def test_steps_are_ordered() -> None:
    assert STEPS[0] == "identity"
    assert STEPS[-1] == "key-checked"
    assert step_after("finished", "answers")
    assert step_after("commit", "commit")
    assert not step_after("commit", "reveal")


# --- refusals ------------------------------------------------------------------------------------


def test_another_tag_is_refused() -> None:
    with pytest.raises(DecodeError, match="not an evote v1 guardian state"):
        GuardianState.from_tlv(with_field(joined(), 0, "evote/v1/something-else"))
    assert fields_of(joined())[0] == STATE_TAG


def test_an_unknown_step_is_refused() -> None:
    with pytest.raises(DecodeError, match="unknown step 'dancing'"):
        GuardianState.from_tlv(with_field(joined(), 1, "dancing"))


@pytest.mark.parametrize(
    ("state", "position", "value", "message"),
    [
        (joined, 6, [], "keeps its 2 coefficients"),
        (joined, 5, b"", "keeps its transport key"),
        (joined, 8, [Scalar(3)], "has no key share yet"),
        (joined, 4, 4, "index 4 is not in 1..3"),
        (joined, 4, 1, "not guardian 1's key"),
        (joined, 7, [[2, Scalar(1)], [1, Scalar(1)]], "distinct guardians 1..n, in order"),
        (joined, 7, [[4, Scalar(1)]], "distinct guardians 1..n, in order"),
        (finished, 6, [Scalar(1), Scalar(2)], "has deleted its transport key"),
        (finished, 5, bytes(32), "has deleted its transport key"),
        (finished, 8, [], "keeps z_ℓ"),
        (finished, 10, bytes(31), "digest is 32 bytes"),
    ],
)
def test_secrets_that_do_not_fit_the_step_are_refused(
    state: Callable[[], GuardianState], position: int, value: encoding.Value, message: str
) -> None:
    made = state()
    with pytest.raises(DecodeError, match=message):
        GuardianState.from_tlv(with_field(made, position, value))


def test_a_guardian_without_an_election_holds_only_its_identity() -> None:
    lonely = GuardianState.new(IDENTITIES[0])
    with pytest.raises(DecodeError, match="holds only its identity"):
        GuardianState.from_tlv(with_field(lonely, 9, [b"an entry"]))
    with pytest.raises(DecodeError, match="has joined an election"):
        GuardianState.from_tlv(with_field(joined(), 3, b""))


def test_malformed_bytes_are_refused() -> None:
    data = joined().to_tlv()
    with pytest.raises(DecodeError):
        GuardianState.from_tlv(data[:-1])
    with pytest.raises(DecodeError, match="expected 32 bytes"):
        GuardianState.from_tlv(with_field(joined(), 2, bytes(31)))
    with pytest.raises(DecodeError, match="more than one key share"):
        GuardianState.from_tlv(with_field(finished(), 8, [Scalar(1), Scalar(2)]))
    with pytest.raises(DecodeError, match="manifest"):
        GuardianState.from_tlv(with_field(joined(), 3, b"not a manifest"))


def test_the_trustee_of_a_state_is_a_trustee_of_its_manifest() -> None:
    trustee = joined(2).trustee()
    assert isinstance(trustee, Trustee)
    assert (trustee.manifest, trustee.index) == (MANIFEST, 2)
    with pytest.raises(InvalidInput, match="joined no election"):
        GuardianState.new(IDENTITIES[0]).trustee()
