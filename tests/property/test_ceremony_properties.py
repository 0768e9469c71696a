"""Hypothesis properties of the key ceremony (crypto spec §3.5, §3.9.2, §7) for random small
rosters: honest ceremonies give working key shares, and every cheater is named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.ceremony import messages
from evote.ceremony.messages import (
    Commit,
    Complaint,
    GuardianKey,
    SealedShares,
    ShareReveal,
)
from evote.ceremony.outcome import verify_key_check
from evote.ceremony.rounds import Message, run_ceremony
from evote.ceremony.trustee import Trustee
from evote.crypto.elgamal import encrypt
from evote.crypto.group import IDENTITY, Scalar, base_mul, small_multiple
from evote.crypto.proofs.compact import CompactProof
from evote.crypto.proofs.schnorr import prove_coefficient
from evote.crypto.rng import random_bytes, random_scalar
from evote.election.context import base_hash
from evote.errors import CeremonyError
from tests.unit.ceremony import (
    BoardRecorder,
    Rehearsal,
    ceremony_manifest,
    decrypt_with,
    guardian_keys,
    share_plaintext,
)

MAX_GUARDIANS = 6
#: What a guardian "posts" in a round it misses: no message of that round's type.
NOTHING = Complaint(0, 0, "nothing posted")


@st.composite
def rosters(draw: st.DrawFn, *, min_guardians: int = 1, min_quorum: int = 1) -> tuple[int, int]:
    """``(n, t)`` with ``min_quorum ≤ t ≤ n ≤ 6``."""
    n = draw(st.integers(min_value=max(min_guardians, min_quorum), max_value=MAX_GUARDIANS))
    return n, draw(st.integers(min_value=min_quorum, max_value=n))


def _subset(data: st.DataObject, n: int, size: int, label: str) -> list[int]:
    return data.draw(st.permutations(range(1, n + 1)).map(lambda p: sorted(p[:size])), label=label)


def _other(data: st.DataObject, n: int, than: int, label: str) -> int:
    return data.draw(st.sampled_from([i for i in range(1, n + 1) if i != than]), label=label)


# --- honest ceremonies ----------------------------------------------------------------------------


@given(roster=rosters())
def test_an_honest_ceremony_gives_every_guardian_a_matching_key_share(
    roster: tuple[int, int],
) -> None:
    n, t = roster
    board = BoardRecorder()
    run = run_ceremony(ceremony_manifest(n, t), board.post)
    assert run.complaints == ()
    assert run.outcome.qualified == tuple(range(1, n + 1))
    context = run.outcome.require_context()
    total = IDENTITY
    for _, body in board.bodies(messages.REVEAL):
        total = total + GuardianKey.from_tlv(body).commitments[0]
    assert context.joint_key == total
    for trustee in run.trustees:
        assert trustee.key_share is not None
        assert trustee.polynomial is None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)
        verify_key_check(trustee.key_check(context), context)


@given(roster=rosters(), data=st.data())
def test_any_quorum_decrypts_and_no_smaller_set_does(
    roster: tuple[int, int], data: st.DataObject
) -> None:
    n, t = roster
    run = run_ceremony(ceremony_manifest(n, t), BoardRecorder().post)
    context = run.outcome.require_context()
    value = data.draw(st.integers(min_value=0, max_value=50), label="value")
    ciphertext = encrypt(value, random_scalar(), context.joint_key)
    size = data.draw(st.integers(min_value=t, max_value=n), label="|S|")
    subset = _subset(data, n, size, "S")
    assert decrypt_with([run.trustees[i - 1] for i in subset], context, ciphertext) == (
        small_multiple(value)
    )
    if t >= 2:
        short = _subset(data, n, t - 1, "S short")
        wrong = decrypt_with([run.trustees[i - 1] for i in short], context, ciphertext)
        assert wrong not in {small_multiple(v) for v in range(51)}


# --- cheaters through the tamper hook -------------------------------------------------------------

CHEATS = [
    "bad-proof",
    "changed-reveal",
    "bad-commit",
    "missed-commit",
    "missed-reveal",
    "missed-shares",
    "no-answer",
    "wrong-answer",
]


def _cheat(
    kind: str, cheater: int, victim: int, degree: int, hashed: bytes, quorum: int
) -> tuple[Callable[[str, int, Message], Message], str]:
    """A tamper hook making ``cheater`` cheat as ``kind``, and the reason it must be named."""

    def reveal(message: Message) -> Message:
        assert isinstance(message, GuardianKey)
        if kind == "bad-proof":
            proofs = list(message.proofs)
            proofs[degree] = CompactProof(
                proofs[degree].challenge + Scalar(1), proofs[degree].response
            )
            return GuardianKey(cheater, message.commitments, tuple(proofs))
        pairs = [prove_coefficient(random_scalar(), hashed, cheater, j) for j in range(quorum)]
        return GuardianKey(cheater, tuple(c for c, _ in pairs), tuple(p for _, p in pairs))

    def garble(message: Message) -> Message:
        assert isinstance(message, SealedShares)
        return SealedShares(
            cheater,
            tuple((r, random_bytes(len(b)) if r == victim else b) for r, b in message.sealed),
        )

    def answer(message: Message) -> Message:
        assert isinstance(message, ShareReveal)
        if kind == "no-answer":
            return NOTHING
        return ShareReveal(cheater, message.recipient, message.share + Scalar(1))

    changes: dict[str, dict[str, Callable[[Message], Message]]] = {
        "bad-proof": {messages.REVEAL: reveal},
        "changed-reveal": {messages.REVEAL: reveal},
        "bad-commit": {messages.COMMIT: lambda m: Commit(cheater, random_bytes(32))},
        "missed-commit": {messages.COMMIT: lambda m: NOTHING},
        "missed-reveal": {messages.REVEAL: lambda m: NOTHING},
        "missed-shares": {messages.SHARES: lambda m: NOTHING},
        "no-answer": {messages.SHARES: garble, messages.SHARE_REVEAL: answer},
        "wrong-answer": {messages.SHARES: garble, messages.SHARE_REVEAL: answer},
    }
    reasons = {
        "bad-proof": f"its proof of knowledge of coefficient {degree} fails",
        "changed-reveal": "its reveal does not match its commitment",
        "bad-commit": "its reveal does not match its commitment",
        "missed-commit": "missed the commitment round",
        "missed-reveal": "missed the reveal round",
        "missed-shares": "missed the sealed shares round",
        "no-answer": f"did not answer the complaint of guardian {victim}",
        "wrong-answer": f"the share it revealed for guardian {victim} is wrong",
    }

    def tamper(round_kind: str, guardian: int, message: Message) -> Message:
        change = changes[kind].get(round_kind)
        return change(message) if guardian == cheater and change else message

    return tamper, reasons[kind]


@given(roster=rosters(min_guardians=2), cheat=st.sampled_from(CHEATS), data=st.data())
def test_a_cheating_guardian_is_named_and_the_others_restart_without_it(
    roster: tuple[int, int], cheat: str, data: st.DataObject
) -> None:
    n, t = roster
    keys = guardian_keys(n)
    manifest = ceremony_manifest(keys, t)
    cheater = data.draw(st.integers(min_value=1, max_value=n), label="cheater")
    victim = _other(data, n, cheater, "victim")
    degree = data.draw(st.integers(min_value=0, max_value=t - 1), label="degree")
    tamper, reason = _cheat(cheat, cheater, victim, degree, base_hash(manifest), t)
    run = run_ceremony(manifest, BoardRecorder().post, tamper)

    assert run.outcome.disqualified == {cheater: reason}
    assert cheater not in run.outcome.qualified
    assert len(run.outcome.qualified) == n - 1
    assert {c.accused for c in run.complaints} == {cheater}
    assert run.outcome.context is None
    with pytest.raises(CeremonyError, match=rf"without guardians \[{cheater}\]"):
        run.outcome.require_context()
    assert all(trustee.key_share is None for trustee in run.trustees)

    # The restart: the same honest guardians, a new manifest, a new H_B; everyone qualifies.
    remaining = [key for i, key in enumerate(keys, start=1) if i != cheater]
    again = ceremony_manifest(remaining, min(t, n - 1))
    assert base_hash(again) != base_hash(manifest)
    rerun = run_ceremony(again, BoardRecorder().post)
    assert rerun.outcome.qualified == tuple(range(1, n))
    context = rerun.outcome.require_context()
    for trustee in rerun.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)


@given(roster=rosters(min_guardians=2), data=st.data())
def test_complaints_answered_well_disqualify_only_from_t_complainers_on(
    roster: tuple[int, int], data: st.DataObject
) -> None:
    n, t = roster
    dealer = data.draw(st.integers(min_value=1, max_value=n), label="dealer")
    count = data.draw(st.integers(min_value=1, max_value=n - 1), label="complainers")
    others = [i for i in range(1, n + 1) if i != dealer]
    victims = sorted(data.draw(st.permutations(others), label="victims")[:count])

    def garble(kind: str, guardian: int, message: Message) -> Message:
        if (kind, guardian) != (messages.SHARES, dealer):
            return message
        assert isinstance(message, SealedShares)
        return SealedShares(
            dealer,
            tuple((r, random_bytes(len(b)) if r in victims else b) for r, b in message.sealed),
        )

    run = run_ceremony(ceremony_manifest(n, t), BoardRecorder().post, garble)
    assert [(c.complainer, c.accused) for c in run.complaints] == [(v, dealer) for v in victims]
    if count >= t:
        assert run.outcome.disqualified == {
            dealer: f"{count} guardians complained (at least one is honest)"
        }
        assert all(trustee.key_share is None for trustee in run.trustees)
        return
    assert run.outcome.disqualified == {}
    assert run.outcome.unfounded_complaints == run.complaints
    context = run.outcome.require_context()
    for trustee in run.trustees:
        assert trustee.key_share is not None
        assert base_mul(trustee.key_share) == context.verification_key(trustee.index)


# --- forged sealed shares (only the dealer can seal them: the test plays the trustees) ------------


@given(
    roster=rosters(min_guardians=2, min_quorum=2),
    forge=st.sampled_from(["bad-value", "other-recipient", "other-ceremony"]),
    repeat=st.booleans(),
    data=st.data(),
)
def test_a_forged_sealed_share_draws_one_complaint_settled_by_the_answer(
    roster: tuple[int, int], forge: str, repeat: bool, data: st.DataObject
) -> None:
    n, t = roster
    rehearsal = Rehearsal.deal(ceremony_manifest(n, t))
    dealer = data.draw(st.integers(min_value=1, max_value=n), label="dealer")
    victim = _other(data, n, dealer, "victim")
    trustee = rehearsal.trustee(dealer)
    if forge == "bad-value":
        offset = data.draw(st.integers(min_value=1, max_value=2**64), label="offset")
        forged = trustee.share_for(victim) + Scalar(offset)
        plaintext = share_plaintext(rehearsal.base_hash, dealer, victim, forged)
    elif forge == "other-recipient":
        other = _other(data, n, victim, "named recipient")
        forged = trustee.share_for(other)
        plaintext = share_plaintext(rehearsal.base_hash, dealer, other, forged)
    else:
        other_ceremony = Rehearsal.deal(ceremony_manifest(n, t, name="Another ceremony"))
        forged = other_ceremony.trustee(dealer).share_for(victim)
        plaintext = share_plaintext(other_ceremony.base_hash, dealer, victim, forged)
    rehearsal.reseal(dealer, victim, plaintext)

    def answer(accused: Trustee, complaint: Complaint) -> ShareReveal:
        share = forged if repeat else accused.share_for(complaint.complainer)
        return ShareReveal(accused.index, complaint.complainer, share)

    complaints, outcome = rehearsal.run(answer)
    assert [(c.complainer, c.accused) for c in complaints] == [(victim, dealer)]
    if repeat:
        assert outcome.disqualified == {
            dealer: f"the share it revealed for guardian {victim} is wrong"
        }
        assert outcome.context is None
        return
    assert outcome.disqualified == {}
    assert outcome.unfounded_complaints == tuple(complaints)
    context = outcome.require_context()
    assert dealer not in rehearsal.trustee(victim).received
    for finished in rehearsal.trustees:
        assert finished.key_share is not None
        assert base_mul(finished.key_share) == context.verification_key(finished.index)
