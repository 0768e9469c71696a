"""Encrypted ballots: encryption and verification, binding, confirmation code, canonical form.

The election here (:data:`CONTEXT`) is the manifest of ``test_manifest`` with a simulated key
ceremony of 3 guardians and quorum 2; :data:`SECRET` is the joint secret (the sum of the
dealers' constants), which only tests ever hold. Shared by the audit, tally and record tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from evote.crypto import encoding
from evote.crypto.elgamal import Ciphertext, decrypt_to_point
from evote.crypto.group import Scalar, base_mul, small_multiple
from evote.crypto.signing import SigningKey
from evote.crypto.threshold import Polynomial
from evote.election.ballot import (
    BALLOT_TAG,
    EncryptedBallot,
    ballot_binding,
    contest_index,
    verify_ballot,
)
from evote.election.context import ElectionContext, base_hash
from evote.election.encrypt import (
    EncryptionResult,
    PlaintextBallot,
    encrypt_ballot,
    encrypt_with_seed,
)
from evote.election.manifest import Manifest
from evote.errors import DecodeError, InvalidInput, ProofError
from tests.unit.election.test_manifest import MANIFEST, document

POLYNOMIALS = tuple(Polynomial.random(MANIFEST.guardian_quorum) for _ in MANIFEST.guardians)
CONTEXT = ElectionContext.create(MANIFEST, [p.commitments() for p in POLYNOMIALS])
SECRET = Scalar(sum(p.coefficients[0].value for p in POLYNOMIALS))
VOTER = SigningKey(b"\x61" * 32)
OTHER_VOTER = SigningKey(b"\x62" * 32)

NORTH_CHOICES: dict[str, list[str]] = {
    "referendum": ["yes"],
    "head": ["koval"],
    "council/north": ["a/a2"],
}
SOUTH_CHOICES: dict[str, list[str]] = {"referendum": ["no"], "council/south": ["b"]}


def plaintext(
    style: str = "north", choices: Mapping[str, Sequence[str]] | None = None
) -> PlaintextBallot:
    if choices is None:
        choices = NORTH_CHOICES if style == "north" else SOUTH_CHOICES
    return PlaintextBallot.from_choices(MANIFEST, style, choices)


def cast(
    style: str = "north",
    choices: Mapping[str, Sequence[str]] | None = None,
    *,
    voter: SigningKey = VOTER,
    sequence: int = 0,
    context: ElectionContext = CONTEXT,
) -> EncryptionResult:
    return encrypt_ballot(plaintext(style, choices), context, voter.verify_key, sequence)


def decrypt(ciphertext: Ciphertext) -> int:
    """The small plaintext of a ciphertext under the test election's joint secret."""
    point = decrypt_to_point(ciphertext, SECRET)
    for value in range(100):
        if point == small_multiple(value):
            return value
    raise AssertionError("not a small plaintext")


def replace_selection(
    ballot: EncryptedBallot, part: int, option: int, ciphertext: Ciphertext
) -> EncryptedBallot:
    """The ballot with one option's ciphertext replaced (its proof kept)."""
    contest = ballot.contests[part]
    selections = list(contest.selections)
    selections[option] = dataclasses.replace(selections[option], ciphertext=ciphertext)
    contests = list(ballot.contests)
    contests[part] = dataclasses.replace(contest, selections=tuple(selections))
    return dataclasses.replace(ballot, contests=tuple(contests))


BALLOT = cast()


# --- the election context -------------------------------------------------------------------------


def test_context_derives_the_joint_key_and_verification_keys() -> None:
    assert CONTEXT.joint_key == base_mul(SECRET)
    for guardian in (1, 2, 3):
        share = Scalar(sum(p.evaluate(guardian).value for p in POLYNOMIALS))
        assert CONTEXT.verification_key(guardian) == base_mul(share)
    assert CONTEXT.base_hash == base_hash(MANIFEST)


@pytest.mark.parametrize("guardian", [0, 4])
def test_context_has_no_guardian_outside_the_roster(guardian: int) -> None:
    with pytest.raises(InvalidInput, match=f"no guardian {guardian}"):
        CONTEXT.verification_key(guardian)


def test_context_needs_every_guardians_commitments() -> None:
    commitments = [p.commitments() for p in POLYNOMIALS]
    with pytest.raises(InvalidInput, match="3 guardians must each publish commitments, got 2"):
        ElectionContext.create(MANIFEST, commitments[:2])
    with pytest.raises(InvalidInput, match="exactly 2 coefficients"):
        ElectionContext.create(MANIFEST, [*commitments[:2], commitments[2][:1]])


def test_extended_hash_binds_the_manifest_and_the_commitments() -> None:
    commitments = [p.commitments() for p in POLYNOMIALS]
    renamed = Manifest.from_mapping({**document(), "name": "Another election"})
    assert ElectionContext.create(MANIFEST, commitments).extended_hash == CONTEXT.extended_hash
    assert ElectionContext.create(renamed, commitments).extended_hash != CONTEXT.extended_hash
    assert base_hash(renamed) != CONTEXT.base_hash
    reordered = [commitments[1], commitments[0], commitments[2]]
    other = ElectionContext.create(MANIFEST, reordered)
    assert other.joint_key == CONTEXT.joint_key
    assert other.extended_hash != CONTEXT.extended_hash


# --- encryption and verification ------------------------------------------------------------------


@pytest.mark.parametrize("style", ["north", "south"])
def test_an_honest_ballot_verifies_and_decrypts_to_the_choices(style: str) -> None:
    result = cast(style)
    verify_ballot(result.ballot, CONTEXT)
    assert result.ballot.style == style
    assert result.ballot.credential == VOTER.verify_key
    assert len(result.ballot.ballot_id) == 16
    assert len(result.seed) == 32
    votes = tuple(
        tuple(decrypt(selection.ciphertext) for selection in contest.selections)
        for contest in result.ballot.contests
    )
    assert votes == plaintext(style).votes


def test_two_encryptions_of_the_same_choices_differ() -> None:
    again = cast()
    assert again.ballot.ballot_id != BALLOT.ballot.ballot_id
    assert again.seed != BALLOT.seed
    assert again.ballot.contests[0] != BALLOT.ballot.contests[0]


def test_encryption_with_a_given_id_and_seed_is_reproducible() -> None:
    again = encrypt_with_seed(
        plaintext(), CONTEXT, VOTER.verify_key, 0, BALLOT.ballot.ballot_id, BALLOT.seed
    )
    assert [[s.ciphertext for s in c.selections] for c in again.ballot.contests] == [
        [s.ciphertext for s in c.selections] for c in BALLOT.ballot.contests
    ]


def test_from_choices_gives_one_value_per_option_and_blanks_for_missing_parts() -> None:
    assert plaintext("north").votes == ((1, 0), (0, 1, 0), (0, 0, 1, 0, 0))
    assert plaintext("south").votes == ((0, 1), (0, 0, 0), (0, 0, 1, 0, 0))
    assert PlaintextBallot.from_choices(MANIFEST, "north", {}).votes == (
        (0, 0),
        (0, 0, 0),
        (0, 0, 0, 0, 0),
    )


@pytest.mark.parametrize(
    ("style", "choices", "message"),
    [
        ("east", {}, "no ballot style 'east'"),
        ("north", {"council/south": ["a"]}, r"style north has no parts \['council/south'\]"),
        ("north", {"mayor": ["x"]}, r"has no parts \['mayor'\]"),
        ("north", {"head": ["franko"]}, r"head: no options \['franko'\]"),
        ("north", {"council/north": ["a/a3"]}, r"council/north: no options \['a/a3'\]"),
        ("north", {"head": ["koval", "koval"]}, "head: an option is chosen twice"),
    ],
)
def test_from_choices_refuses_what_the_style_does_not_offer(
    style: str, choices: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        PlaintextBallot.from_choices(MANIFEST, style, choices)


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"head": ["koval", "melnyk"], "council/north": ["a"]}, r"total 2 is outside \[0, 1\]"),
        ({"council/north": []}, r"total 0 is outside \[1, 1\]"),
        ({"council/north": ["a", "a/a1"]}, r"total 2 is outside \[1, 1\]"),
    ],
    ids=["two-heads", "no-party", "party-and-candidate"],
)
def test_encryption_refuses_choices_outside_the_contest_rules(
    choices: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        cast("north", choices)


def test_encryption_refuses_a_plaintext_of_the_wrong_shape() -> None:
    short = PlaintextBallot("north", plaintext().votes[:2])
    with pytest.raises(InvalidInput, match="style north has 3 parts"):
        encrypt_ballot(short, CONTEXT, VOTER.verify_key, 0)
    with pytest.raises(InvalidInput, match="non-negative"):
        encrypt_ballot(plaintext(), CONTEXT, VOTER.verify_key, -1)


def test_contest_index_is_the_manifest_position() -> None:
    assert [contest_index(MANIFEST, p) for p in MANIFEST.style("south").parts] == [0, 1, 2]


# --- canonical form -------------------------------------------------------------------------------


def test_tlv_round_trip() -> None:
    data = BALLOT.ballot.to_tlv()
    decoded = EncryptedBallot.from_tlv(data, MANIFEST)
    assert decoded == BALLOT.ballot
    assert decoded.to_tlv() == data
    verify_ballot(decoded, CONTEXT)


def _ballot_value() -> list[encoding.Decoded]:
    value = encoding.decode(BALLOT.ballot.to_tlv())
    assert isinstance(value, list)
    return value


def _contests(value: list[encoding.Decoded]) -> list[encoding.Decoded]:
    contests = value[5]
    assert isinstance(contests, list)
    return contests


def _drop_option(value: list[encoding.Decoded]) -> None:
    head = _contests(value)[1]
    assert isinstance(head, list)
    del head[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.__setitem__(0, "evote/v1/audit"), "not an evote v1 ballot"),
        (lambda v: v.__setitem__(1, b"\x00" * 15), "ballot.ballot_id: expected 16 bytes"),
        (lambda v: v.__setitem__(2, b"\xff" * 32), "not a canonical point"),
        (lambda v: v.__setitem__(3, "0"), "ballot.sequence: expected an unsigned integer"),
        (lambda v: v.__setitem__(4, "east"), "ballot.style: the manifest has no ballot style"),
        (lambda v: _contests(v).pop(), "ballot.contests: expected 3 items, got 2"),
        (lambda v: _contests(v).append(b""), "ballot.contests: expected 3 items, got 4"),
        (_drop_option, "ballot.head: expected 4 items, got 3"),
        (lambda v: v.append(0), "ballot: expected 6 items"),
    ],
    ids=[
        "tag",
        "ballot-id",
        "credential",
        "sequence",
        "style",
        "part-missing",
        "part-extra",
        "option-missing",
        "extra-field",
    ],
)
def test_from_tlv_refuses_malformed_ballots(
    change: Callable[[list[encoding.Decoded]], object], message: str
) -> None:
    value = _ballot_value()
    change(value)
    with pytest.raises(DecodeError, match=message):
        EncryptedBallot.from_tlv(encoding.encode(value), MANIFEST)


def test_from_tlv_parses_against_the_style_shapes() -> None:
    """A north ballot relabelled south parses (same shapes) but its proofs fail."""
    value = _ballot_value()
    value[4] = "south"
    relabelled = EncryptedBallot.from_tlv(encoding.encode(value), MANIFEST)
    with pytest.raises(ProofError):
        verify_ballot(relabelled, CONTEXT)


def test_the_tag_is_the_first_item() -> None:
    assert _ballot_value()[0] == BALLOT_TAG


# --- the binding ----------------------------------------------------------------------------------

BINDING_ARGUMENTS: dict[str, Any] = {
    "extended_hash": CONTEXT.extended_hash,
    "ballot_id": BALLOT.ballot.ballot_id,
    "credential": VOTER.verify_key,
    "style": "north",
    "sequence": 0,
}


@pytest.mark.parametrize(
    "change",
    [
        {"extended_hash": b"\x01" * 32},
        {"ballot_id": b"\x02" * 16},
        {"credential": OTHER_VOTER.verify_key},
        {"style": "south"},
        {"sequence": 1},
    ],
    ids=["election-hash", "ballot-id", "credential", "style", "sequence"],
)
def test_binding_changes_with_each_input(change: dict[str, Any]) -> None:
    original = ballot_binding(**BINDING_ARGUMENTS)
    assert BALLOT.ballot.binding(CONTEXT) == original
    assert ballot_binding(**{**BINDING_ARGUMENTS, **change}) != original


@pytest.mark.parametrize(
    "change",
    [
        {"credential": OTHER_VOTER.verify_key},
        {"ballot_id": b"\x02" * 16},
        {"sequence": 1},
        {"style": "south"},
    ],
    ids=["credential", "ballot-id", "sequence", "style"],
)
def test_a_ballot_copied_under_another_binding_fails_its_proofs(change: dict[str, Any]) -> None:
    copied = dataclasses.replace(BALLOT.ballot, **change)
    with pytest.raises(ProofError) as caught:
        verify_ballot(copied, CONTEXT)
    assert caught.value.field.startswith("referendum.")


def test_a_ballot_does_not_verify_in_another_election() -> None:
    renamed = Manifest.from_mapping({**document(), "name": "Another election"})
    other = ElectionContext.create(renamed, CONTEXT.commitments)
    assert other.joint_key == CONTEXT.joint_key
    with pytest.raises(ProofError):
        verify_ballot(BALLOT.ballot, other)


def test_a_ballot_does_not_verify_under_another_key() -> None:
    polynomials = [Polynomial.random(2) for _ in range(3)]
    other = ElectionContext.create(MANIFEST, [p.commitments() for p in polynomials])
    with pytest.raises(ProofError):
        verify_ballot(BALLOT.ballot, other)


@pytest.mark.parametrize(("part", "name"), [(0, "referendum"), (1, "head"), (2, "council/north")])
def test_a_replaced_ciphertext_fails_and_the_error_names_the_part(part: int, name: str) -> None:
    other = cast()
    forged = replace_selection(
        BALLOT.ballot, part, 0, other.ballot.contests[part].selections[0].ciphertext
    )
    with pytest.raises(ProofError) as caught:
        verify_ballot(forged, CONTEXT)
    assert caught.value.field.startswith(f"{name}.")


def test_swapping_two_contests_of_equal_shape_fails() -> None:
    north = BALLOT.ballot
    south = cast("south").ballot
    mixed = dataclasses.replace(north, contests=(*north.contests[:2], south.contests[2]))
    with pytest.raises(ProofError) as caught:
        verify_ballot(mixed, CONTEXT)
    assert caught.value.field.startswith("council/north.")


# --- the confirmation code ------------------------------------------------------------------------


def test_confirmation_code_is_a_function_of_the_ballot_and_election() -> None:
    code = BALLOT.ballot.confirmation_code(CONTEXT)
    assert len(code) == 32
    assert (
        EncryptedBallot.from_tlv(BALLOT.ballot.to_tlv(), MANIFEST).confirmation_code(CONTEXT)
        == code
    )
    assert cast().ballot.confirmation_code(CONTEXT) != code


@pytest.mark.parametrize(("part", "option"), [(0, 0), (0, 1), (1, 2), (2, 0), (2, 4)])
def test_confirmation_code_changes_with_any_ciphertext(part: int, option: int) -> None:
    other = cast().ballot
    changed = replace_selection(
        BALLOT.ballot, part, option, other.contests[part].selections[option].ciphertext
    )
    assert changed.confirmation_code(CONTEXT) != BALLOT.ballot.confirmation_code(CONTEXT)


def test_confirmation_code_changes_with_a_proof_and_with_the_binding() -> None:
    other = cast().ballot
    contest = dataclasses.replace(
        BALLOT.ballot.contests[1], total_proof=other.contests[1].total_proof
    )
    changed = dataclasses.replace(
        BALLOT.ballot, contests=(BALLOT.ballot.contests[0], contest, BALLOT.ballot.contests[2])
    )
    code = BALLOT.ballot.confirmation_code(CONTEXT)
    assert changed.confirmation_code(CONTEXT) != code
    assert dataclasses.replace(BALLOT.ballot, sequence=1).confirmation_code(CONTEXT) != code
