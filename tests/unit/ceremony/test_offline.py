"""One guardian's ceremony over files: inbox checks, the rounds in order, complaints, finish."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from evote.board.entry import Entry
from evote.ceremony import messages
from evote.ceremony.guardian_file import GuardianState
from evote.ceremony.messages import Commit, JointKey, KeyCheck, SealedShares
from evote.ceremony.offline import (
    Advance,
    Posted,
    Transcript,
    advance,
    file_name,
    key_check,
    next_round,
)
from evote.ceremony.outcome import verify_key_check
from evote.crypto.group import base_mul
from evote.crypto.sealing import TransportPrivateKey, seal
from evote.crypto.signing import SigningKey
from evote.errors import CeremonyError
from tests.unit.ceremony.test_guardian_file import manifest_of

IDENTITIES = tuple(SigningKey.generate() for _ in range(3))
MANIFEST = manifest_of(IDENTITIES)
OTHER = manifest_of(IDENTITIES, name="Another election")
ELECTION = MANIFEST.election_id
ROUNDS = 7

Inbox = list[tuple[str, bytes]]


def start() -> list[GuardianState]:
    return [GuardianState.new(key).join(MANIFEST) for key in IDENTITIES]


def inbox_of(posted: Sequence[Posted]) -> Inbox:
    return [(item.name, item.data) for item in posted]


def play(
    states: list[GuardianState], inbox: Inbox
) -> tuple[list[GuardianState], list[Posted], list[Advance]]:
    results = [advance(state, inbox) for state in states]
    return [r.state for r in results], [p for r in results for p in r.posted], results


def play_rounds(count: int) -> tuple[list[GuardianState], list[Posted]]:
    """``count`` rounds; each guardian's inbox holds only the round before's entries."""
    states, posted = start(), list[Posted]()
    for _ in range(count):
        states, posted, _ = play(states, inbox_of(posted))
    return states, posted


def signed(kind: str, body: bytes, key: SigningKey, election: bytes = ELECTION) -> bytes:
    return Entry.create(kind, election, body, [key]).encoded


# --- the honest ceremony -------------------------------------------------------------------------


def test_seven_rounds_with_only_the_last_rounds_files_finish_everyone() -> None:
    states, posted = play_rounds(ROUNDS)
    assert [s.step for s in states] == ["finished"] * 3
    assert sorted(p.name for p in posted) == [f"joint-key-g{i}.entry" for i in (1, 2, 3)]
    acknowledged = {Entry.decode(p.data).body for p in posted}
    assert len(acknowledged) == 1
    joint = JointKey.from_tlv(acknowledged.pop())
    for state in states:
        assert state.key_share is not None
        assert base_mul(state.key_share) == joint.verification_keys[state.index - 1]
        assert (state.transport_secret, state.coefficients, state.received) == (None, None, ())
        assert Transcript.of(state).context().joint_key == joint.joint_key


def test_each_round_posts_its_kind_and_names_its_files() -> None:
    states, posted = start(), list[Posted]()
    expected = [
        [messages.TRANSPORT],
        [messages.COMMIT],
        [messages.REVEAL],
        [messages.SHARES],
        [],
        [],
        [messages.JOINT_KEY],
    ]
    for kinds in expected:
        states, posted, _ = play(states, inbox_of(posted))
        assert sorted(p.name for p in posted) == [
            f"{kind}-g{i}.entry" for kind in kinds for i in (1, 2, 3)
        ]
    assert file_name((messages.COMPLAINT, 2, 1)) == "ceremony-complaint-g2-g1.entry"


def test_the_state_remembers_the_transcript_and_export_gives_every_own_entry() -> None:
    states, _ = play_rounds(ROUNDS)
    own = Transcript.of(states[0]).own()
    assert [p.name for p in own] == [
        "ceremony-commit-g1.entry",
        "ceremony-shares-g1.entry",
        "ceremony-transport-g1.entry",
        "guardian-key-g1.entry",
        "joint-key-g1.entry",
    ]
    assert len(states[0].entries) == 4 * 3 + 1


def test_key_check_after_finishing_verifies_and_comes_once() -> None:
    states, _ = play_rounds(ROUNDS)
    result = key_check(states[1])
    assert result.state.step == "key-checked"
    (posted,) = result.posted
    assert posted.name == "key-check-g2.entry"
    check = KeyCheck.from_tlv(Entry.decode(posted.data).body)
    verify_key_check(check, Transcript.of(states[1]).context())
    with pytest.raises(CeremonyError, match="already wrote your key check"):
        key_check(result.state)


# --- out of order --------------------------------------------------------------------------------


def test_a_round_waits_for_every_guardians_entry() -> None:
    states, posted = play_rounds(1)
    partial = [item for item in inbox_of(posted) if not item[0].endswith("g3.entry")]
    with pytest.raises(CeremonyError, match=r"round 1 \(commit\) needs every guardian's"):
        advance(states[0], partial)
    with pytest.raises(CeremonyError, match=r"missing: guardian\(s\) 2, 3"):
        advance(states[0], [])


def test_steps_outside_the_ceremony_are_refused() -> None:
    with pytest.raises(CeremonyError, match="joined no election"):
        advance(GuardianState.new(IDENTITIES[0]), [])
    with pytest.raises(CeremonyError, match="comes after the key ceremony"):
        key_check(start()[0])
    states, _ = play_rounds(ROUNDS)
    with pytest.raises(CeremonyError, match="ceremony is over"):
        advance(states[0], [])
    assert "key-check" in next_round("finished")


# --- what the inbox may hold ---------------------------------------------------------------------


def commit_body(guardian: int) -> bytes:
    return Commit(guardian, bytes(range(32))).to_tlv()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (signed(messages.COMMIT, commit_body(2), SigningKey.generate()), "not by guardian 2's"),
        (signed(messages.COMMIT, commit_body(2), IDENTITIES[2]), "not by guardian 2's"),
        (signed(messages.COMMIT, commit_body(7), IDENTITIES[2]), "has guardians 1 to 3"),
        (
            signed(messages.COMMIT, commit_body(2), IDENTITIES[1], OTHER.election_id),
            "belongs to another election",
        ),
        (signed("ballot", b"anything", IDENTITIES[1]), "not declared"),
        (signed(messages.COMMIT, b"garbage", IDENTITIES[1]), "body does not parse"),
        (b"not an entry at all", "malformed entry"),
    ],
)
def test_an_entry_that_does_not_check_is_refused_and_named(data: bytes, message: str) -> None:
    state = start()[0]
    with pytest.raises(CeremonyError, match=message) as caught:
        advance(state, [("inbox/bad.entry", data)])
    assert str(caught.value).startswith("inbox/bad.entry: ")


def test_two_different_entries_of_one_guardian_for_a_round_are_refused() -> None:
    states, posted = play_rounds(2)
    second = signed(messages.COMMIT, commit_body(2), IDENTITIES[1])
    with pytest.raises(CeremonyError, match="guardian 2 signed two different ceremony-commit"):
        advance(states[0], [*inbox_of(posted), ("late.entry", second)])


def test_an_entry_with_my_key_that_i_did_not_write_is_an_alarm() -> None:
    state = start()[0]
    forged = signed(messages.COMMIT, commit_body(1), IDENTITIES[0])
    with pytest.raises(CeremonyError, match="this key file did not write"):
        advance(state, [("forged.entry", forged)])


def test_my_own_entries_handed_back_are_known_and_others_later_entries_ignored() -> None:
    states, posted = play_rounds(ROUNDS)
    result = key_check(states[0])
    ack = [p for p in posted if p.name == "joint-key-g2.entry"]
    transcript = Transcript.of(result.state)
    assert transcript.accept(result.posted[0].data, "mine") is None
    assert transcript.accept(ack[0].data, "theirs") is None
    assert ("joint-key", 2, 0) not in transcript.raw


# --- complaints ----------------------------------------------------------------------------------


def spoil_share(posted: list[Posted], states: list[GuardianState]) -> list[Posted]:
    """Guardian 1 seals garbage to guardian 2 (signing it, as only guardian 1 can)."""
    dealer = states[0]
    assert dealer.transport_secret is not None
    transport = TransportPrivateKey(dealer.transport_secret)
    keys = Transcript.of(dealer).transport
    spoiled = []
    for item in posted:
        entry = Entry.decode(item.data)
        if item.name == "ceremony-shares-g1.entry":
            shares = SealedShares.from_tlv(entry.body)
            sealed = tuple(
                (r, seal(transport, keys[2].key, b"garbage") if r == 2 else box)
                for r, box in shares.sealed
            )
            body = dataclasses.replace(shares, sealed=sealed).to_tlv()
            item = Posted(item.name, signed(messages.SHARES, body, IDENTITIES[0]))
        spoiled.append(item)
    return spoiled


def test_a_bad_share_draws_a_complaint_and_an_answer_settles_it() -> None:
    states, posted = play_rounds(3)
    states, posted, _ = play(states, inbox_of(posted))  # round 3: shares
    others = spoil_share(posted, states)
    results = [advance(states[0], inbox_of(posted))] + [
        advance(state, inbox_of(others)) for state in states[1:]
    ]
    states = [r.state for r in results]
    complaints = [p for r in results for p in r.posted]
    assert [p.name for p in complaints] == ["ceremony-complaint-g2-g1.entry"]
    assert "you complain about guardian 1" in results[1].notes[0]
    states, answers, _ = play(states, inbox_of(complaints))
    assert [p.name for p in answers] == ["ceremony-share-reveal-g1-g2.entry"]
    states, acks, finals = play(states, inbox_of(answers))
    assert [s.step for s in states] == ["finished"] * 3
    assert len({Entry.decode(p.data).body for p in acks}) == 1
    assert any("was unfounded" in note for note in finals[0].notes)


def test_an_unanswered_complaint_disqualifies_the_dealer_and_nothing_is_kept() -> None:
    states, posted = play_rounds(3)
    states, posted, _ = play(states, inbox_of(posted))
    others = spoil_share(posted, states)
    results = [advance(states[0], inbox_of(posted))] + [
        advance(state, inbox_of(others)) for state in states[1:]
    ]
    states = [r.state for r in results]
    complaints = [p for r in results for p in r.posted]
    states, _, _ = play(states, inbox_of(complaints))
    # Guardian 1's answer never reaches guardian 3.
    with pytest.raises(CeremonyError, match=r"restart without guardians \[1\]"):
        advance(states[2], [])
    assert states[2].step == "answers"


def test_acknowledgements_speak_for_their_one_signer() -> None:
    states, posted = play_rounds(ROUNDS)
    body = Entry.decode(posted[0].data).body
    transcript = Transcript.of(states[0])
    combined = signed_by(messages.JOINT_KEY, body, IDENTITIES)
    assert transcript.accept(combined, "the board's entry") is None
    with pytest.raises(CeremonyError, match="which is no guardian's identity key"):
        transcript.accept(signed(messages.JOINT_KEY, body, SigningKey.generate()), "stranger")
    with pytest.raises(CeremonyError, match="joint-key body does not parse"):
        transcript.accept(signed(messages.JOINT_KEY, b"junk", IDENTITIES[1]), "junk")


def signed_by(kind: str, body: bytes, keys: Sequence[SigningKey]) -> bytes:
    return Entry.create(kind, ELECTION, body, keys).encoded
