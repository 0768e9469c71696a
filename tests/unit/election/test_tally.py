"""The tally: aggregates, decryption shares, results and their bodies; outcome lines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from evote.crypto import dlog, encoding
from evote.crypto.elgamal import ZERO_CIPHERTEXT, decrypt_to_point
from evote.crypto.group import Scalar, small_multiple
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share, verify_decryption_share
from evote.crypto.threshold import combine_shares
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.election.tally import (
    RESULT_TAG,
    SHARES_TAG,
    TALLY_TAG,
    EncryptedTally,
    GuardianShares,
    PerPart,
    TallyResult,
    aggregate,
    all_parts,
    shares_by_guardian,
    target,
)
from evote.errors import DecodeError, InvalidInput, ProofError
from tests.unit.election.test_ballot import CONTEXT, POLYNOMIALS, SECRET, cast
from tests.unit.election.test_manifest import MANIFEST, document

#: (style, choices) of the counted ballots, and the counts they must add up to.
CHOICES: list[tuple[str, dict[str, list[str]]]] = [
    ("north", {"referendum": ["yes"], "head": ["koval"], "council/north": ["a/a2"]}),
    ("north", {"referendum": ["yes"], "head": ["melnyk"], "council/north": ["a"]}),
    ("north", {"referendum": ["no"], "head": ["koval"], "council/north": ["a/a2"]}),
    ("south", {"council/south": ["b/b3"]}),
]
EXPECTED = {
    "referendum": (2, 1),
    "head": (0, 2, 1),
    "council/north": (1, 0, 2, 0, 0),
    "council/south": (0, 0, 0, 0, 1),
}
BALLOTS = [cast(style, choices).ballot for style, choices in CHOICES]
TOTALS = aggregate(MANIFEST, BALLOTS)


def decrypt_totals(totals: PerPart) -> dict[str, tuple[int, ...]]:
    return {
        part: tuple(
            dlog.discrete_log(decrypt_to_point(ciphertext, SECRET), 10) for ciphertext in values
        )
        for part, values in totals.items()
    }


def key_share(guardian: int) -> Scalar:
    return Scalar(sum(p.evaluate(guardian).value for p in POLYNOMIALS))


def guardian_shares(guardian: int, totals: PerPart = TOTALS) -> GuardianShares:
    return GuardianShares(
        guardian,
        {
            part: tuple(
                prove_decryption_share(
                    ciphertext, key_share(guardian), guardian, target(CONTEXT, part, option)
                )
                for option, ciphertext in enumerate(ciphertexts)
            )
            for part, ciphertexts in totals.items()
        },
    )


SHARES = {guardian: guardian_shares(guardian) for guardian in (1, 3)}


# --- aggregation and decryption -------------------------------------------------------------------


def test_the_aggregate_decrypts_to_the_sum_of_votes_per_option() -> None:
    assert list(TOTALS) == all_parts(MANIFEST)
    assert decrypt_totals(TOTALS) == EXPECTED


def test_the_aggregate_of_no_ballots_is_the_zero_ciphertext_everywhere() -> None:
    empty = aggregate(MANIFEST, [])
    assert list(empty) == ["referendum", "head", "council/north", "council/south"]
    assert all(c == ZERO_CIPHERTEXT for values in empty.values() for c in values)
    assert [len(v) for v in empty.values()] == [2, 3, 5, 5]
    assert decrypt_totals(empty) == {part: (0,) * len(v) for part, v in empty.items()}


def test_a_district_nobody_voted_in_stays_zero() -> None:
    north_only = aggregate(MANIFEST, BALLOTS[:3])
    assert north_only["council/south"] == (ZERO_CIPHERTEXT,) * 5
    assert decrypt_totals(north_only)["referendum"] == (2, 1)


def test_a_quorum_of_guardian_shares_decrypts_the_aggregate() -> None:
    for part, ciphertexts in TOTALS.items():
        counts = []
        for option, ciphertext in enumerate(ciphertexts):
            shares = shares_by_guardian(SHARES.values(), part, option)
            for guardian, share in shares.items():
                verify_decryption_share(
                    ciphertext,
                    share,
                    CONTEXT.verification_key(guardian),
                    target(CONTEXT, part, option),
                )
            points = {guardian: share.share for guardian, share in shares.items()}
            combined = combine_shares(points, MANIFEST.guardian_quorum)
            counts.append(dlog.discrete_log(ciphertext.beta - combined, len(BALLOTS)))
        assert tuple(counts) == EXPECTED[part]


def test_a_share_is_bound_to_its_part_and_option() -> None:
    assert target(CONTEXT, "council/north", 2).target_id == b"tally/council/north/2"
    assert target(CONTEXT, "head", 0).election_hash == CONTEXT.extended_hash
    share = SHARES[1].shares["head"][1]
    with pytest.raises(ProofError):
        verify_decryption_share(
            TOTALS["head"][1], share, CONTEXT.verification_key(1), target(CONTEXT, "head", 2)
        )


def test_shares_of_a_zero_aggregate_are_the_identity_without_proof() -> None:
    zero = GuardianShares(2, guardian_shares(2, aggregate(MANIFEST, [])).shares)
    for shares in zero.shares.values():
        assert all(s.share == small_multiple(0) and s.proof is None for s in shares)


# --- bodies: round trips --------------------------------------------------------------------------


def test_encrypted_tally_round_trip() -> None:
    tally = EncryptedTally((5, 7, 9, 12), TOTALS)
    data = tally.to_tlv()
    assert EncryptedTally.from_tlv(data, MANIFEST) == tally
    assert EncryptedTally.from_tlv(data, MANIFEST).to_tlv() == data


def test_encrypted_tally_of_nothing_round_trips_with_identity_points() -> None:
    tally = EncryptedTally((), aggregate(MANIFEST, []))
    assert EncryptedTally.from_tlv(tally.to_tlv(), MANIFEST) == tally


def test_guardian_shares_round_trip_with_and_without_proofs() -> None:
    for shares in (SHARES[3], guardian_shares(2, aggregate(MANIFEST, BALLOTS[:3]))):
        data = shares.to_tlv()
        assert GuardianShares.from_tlv(data, MANIFEST) == shares
        assert GuardianShares.from_tlv(data, MANIFEST).to_tlv() == data


def test_tally_result_round_trip() -> None:
    result = TallyResult((1, 3), EXPECTED, ("referendum: adopted", "head: elected koval"))
    data = result.to_tlv()
    assert TallyResult.from_tlv(data, MANIFEST) == result
    assert TallyResult.from_tlv(data, MANIFEST).to_tlv() == data


# --- bodies: refusals -----------------------------------------------------------------------------

Mutation = Callable[[list[encoding.Decoded]], object]


def _parts(value: list[encoding.Decoded]) -> list[encoding.Decoded]:
    parts = value[2]
    assert isinstance(parts, list)
    return parts


def _swap_parts(value: list[encoding.Decoded]) -> None:
    parts = _parts(value)
    parts[0], parts[1] = parts[1], parts[0]


def _rename_part(value: list[encoding.Decoded]) -> None:
    part = _parts(value)[2]
    assert isinstance(part, list)
    part[0] = "council/south"


def _drop_option(value: list[encoding.Decoded]) -> None:
    part = _parts(value)[1]
    assert isinstance(part, list)
    options = part[1]
    assert isinstance(options, list)
    options.pop()


def _wrong_tag(value: list[encoding.Decoded]) -> None:
    value[0] = "evote/v1/ballot"


COMMON_REFUSALS: list[tuple[str, Mutation, str]] = [
    ("tag", _wrong_tag, "not an evote v1"),
    ("part-order", _swap_parts, "expected part 'referendum', got 'head'"),
    ("part-name", _rename_part, "expected part 'council/north', got 'council/south'"),
    ("part-missing", lambda v: _parts(v).pop(), "parts: expected 4 items, got 3"),
    ("option-missing", _drop_option, r"\.head: expected 3 items, got 2"),
    ("extra-field", lambda v: v.append(0), "expected"),
]

BODIES: dict[str, Callable[[], bytes]] = {
    "tally": lambda: EncryptedTally((1, 2), TOTALS).to_tlv(),
    "shares": lambda: SHARES[1].to_tlv(),
    "result": lambda: TallyResult((1, 3), EXPECTED, ("x",)).to_tlv(),
}
PARSERS: dict[str, Callable[[bytes], object]] = {
    "tally": lambda data: EncryptedTally.from_tlv(data, MANIFEST),
    "shares": lambda data: GuardianShares.from_tlv(data, MANIFEST),
    "result": lambda data: TallyResult.from_tlv(data, MANIFEST),
}


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize(
    ("change", "message"),
    [pytest.param(change, message, id=name) for name, change, message in COMMON_REFUSALS],
)
def test_bodies_refuse_a_wrong_tag_part_order_or_option_count(
    body: str, change: Mutation, message: str
) -> None:
    value = encoding.decode(BODIES[body]())
    assert isinstance(value, list)
    change(value)
    with pytest.raises(DecodeError, match=message):
        PARSERS[body](encoding.encode(value))


def test_the_tags_are_distinct_and_first() -> None:
    tags = [encoding.decode(BODIES[body]()) for body in ("tally", "shares", "result")]
    assert [t[0] for t in tags if isinstance(t, list)] == [TALLY_TAG, SHARES_TAG, RESULT_TAG]


def test_a_tally_refuses_a_short_ciphertext_or_an_invalid_point() -> None:
    value = encoding.decode(BODIES["tally"]())
    assert isinstance(value, list)
    referendum = _parts(value)[0]
    assert isinstance(referendum, list)
    options = referendum[1]
    assert isinstance(options, list)
    options[0] = b"\x00" * 63
    with pytest.raises(DecodeError, match=r"tally\.referendum: expected 64 bytes"):
        EncryptedTally.from_tlv(encoding.encode(value), MANIFEST)
    options[0] = b"\xff" * 64
    with pytest.raises(DecodeError, match="not a canonical point"):
        EncryptedTally.from_tlv(encoding.encode(value), MANIFEST)


def test_a_result_refuses_a_count_that_is_not_a_number() -> None:
    value = encoding.decode(BODIES["result"]())
    assert isinstance(value, list)
    referendum = _parts(value)[0]
    assert isinstance(referendum, list)
    referendum[1] = ["2", "1"]
    with pytest.raises(DecodeError, match=r"result\.referendum: expected an unsigned integer"):
        TallyResult.from_tlv(encoding.encode(value), MANIFEST)


def test_shares_refuse_a_malformed_proof() -> None:
    value = encoding.decode(BODIES["shares"]())
    assert isinstance(value, list)
    head = _parts(value)[1]
    assert isinstance(head, list)
    options = head[1]
    assert isinstance(options, list)
    share = options[0]
    assert isinstance(share, list)
    share[1] = b"\x01" * 63
    with pytest.raises(DecodeError):
        GuardianShares.from_tlv(encoding.encode(value), MANIFEST)


# --- outcome lines (local-elections.md §1.4 examples as counts) -----------------------------------


def manifest_of(*contests: dict[str, Any], styles: list[dict[str, Any]] | None = None) -> Manifest:
    doc = document()
    doc["contests"] = list(contests)
    if styles is None:
        del doc["ballot_styles"]
    else:
        doc["ballot_styles"] = styles
    return Manifest.from_mapping(doc)


def candidates(
    contest_id: str, names: list[str], seats: int = 1, rule: str = "plurality"
) -> dict[str, Any]:
    return {
        "id": contest_id,
        "kind": "candidates",
        "title": contest_id,
        "candidates": names,
        "max_marks": 1,
        "seats": seats,
        "rule": rule,
    }


def referendum(**extra: object) -> dict[str, Any]:
    return {"id": "e5", "kind": "referendum", "title": "E5", **extra}


def lines(
    manifest: Manifest, counts: Mapping[str, tuple[int, ...]], **numbers: int
) -> tuple[str, ...]:
    return outcome_lines(
        manifest,
        counts,
        registered=numbers.get("registered", 6000),
        participants=numbers.get("participants", sum(sum(v) for v in counts.values())),
    )


E1 = manifest_of(candidates("e1", ["k1", "k2", "k3"]))
E3 = manifest_of(
    candidates("e3", ["ivanenko", "petrenko", "sydorenko", "hnatiuk", "lysenko", "moroz"], 3)
)


def test_e1_village_head_by_plurality() -> None:
    assert lines(E1, {"e1": (1240, 1180, 410)}, participants=2865) == ("e1: elected k1",)


def test_e1_variant_a_tie_for_first_goes_to_repeat_voting() -> None:
    assert lines(E1, {"e1": (1210, 1210, 410)}, participants=2865) == (
        "e1: elected nobody; repeat voting for 1 seat(s) between k1, k2",
    )


def test_e3_three_seat_district_with_a_tie_for_the_last_seat() -> None:
    counts = {"e3": (412, 388, 301, 301, 150, 97)}
    assert lines(E3, counts) == (
        "e3: elected ivanenko, petrenko; repeat voting for 1 seat(s) between sydorenko, hnatiuk",
    )


def test_plurality_with_too_few_voted_candidates_leaves_seats_unfilled() -> None:
    assert lines(E3, {"e3": (5, 0, 3, 0, 0, 0)}) == (
        "e3: elected ivanenko, sydorenko; 1 seat(s) unfilled",
    )


def test_e5_referendum_below_the_turnout_quorum_is_invalid() -> None:
    manifest = manifest_of(referendum(turnout_quorum="1/2"))
    assert lines(manifest, {"e5": (1150, 890)}, participants=2100) == (
        "e5: invalid: turnout 2100 of 6000 registered (35.00 %) is below the turnout quorum "
        "of 50.00 %",
    )


def test_e5_referendum_without_quorum_is_adopted_by_participants_or_valid_votes() -> None:
    by_participants = manifest_of(referendum())
    assert lines(by_participants, {"e5": (1150, 890)}, participants=2100) == (
        "e5: adopted: 1150 yes of 2100 participants (54.76 %) is more than 50.00 %",
    )
    by_valid = manifest_of(referendum(majority_base="valid_votes"))
    assert lines(by_valid, {"e5": (1150, 890)}, participants=2100) == (
        "e5: adopted: 1150 yes of 2040 valid votes (56.37 %) is more than 50.00 %",
    )


def test_referendum_majority_met_but_below_the_approval_quorum() -> None:
    manifest = manifest_of(referendum(approval_quorum="1/4"))
    (line,) = lines(manifest, {"e5": (1150, 890)}, participants=2100)
    assert line.startswith("e5: not adopted: 1150 yes of 2100 participants (54.76 %) is a majority")
    assert "below the approval quorum of 25.00 %" in line


E2 = manifest_of(candidates("e2", ["x", "y", "z"], rule="absolute_majority"))


def test_e2_no_absolute_majority_means_a_runoff_of_the_top_two() -> None:
    assert lines(E2, {"e2": (17100, 12540, 8360)}, participants=38640, registered=92000) == (
        "e2: no absolute majority; runoff between x, y",
    )


def test_e2_an_absolute_majority_elects_in_round_one() -> None:
    assert lines(E2, {"e2": (19400, 12000, 6000)}, participants=38640, registered=92000) == (
        "e2: x elected with an absolute majority",
    )


def test_e2_exactly_half_is_not_an_absolute_majority() -> None:
    assert lines(E2, {"e2": (19320, 12000, 6000)}, participants=38640, registered=92000) == (
        "e2: no absolute majority; runoff between x, y",
    )


def test_e2_a_tie_for_the_runoff_place_is_named() -> None:
    assert lines(E2, {"e2": (40, 30, 30)}) == (
        "e2: no absolute majority; runoff between x; tied for a runoff place: y, z",
    )


# E4: 26 seats, 3 territorial districts, parties A–E; party A's TD1 list carries the
# preference votes of the worked example, every other list four candidates without any.
E4_VOTES = {
    "td1": {"a": 1500, "b": 900, "c": 600, "d": 250, "e": 150},
    "td2": {"a": 1100, "b": 1000, "c": 500, "d": 200, "e": 100},
    "td3": {"a": 1200, "b": 700, "c": 800, "d": 150, "e": 150},
}
A_TD1 = {
    "koval": 200,
    "melnyk": 40,
    "shevchenko": 30,
    "bondar": 25,
    "tkachenko": 150,
    "kravets": 90,
}


def _e4_list(party: str, district: str) -> list[str]:
    if (party, district) == ("a", "td1"):
        return list(A_TD1)
    return [f"{party}-{district}-{number}" for number in range(1, 5)]


E4 = manifest_of(
    {
        "id": "council",
        "kind": "open_list",
        "title": "E4 community council",
        "min_marks": 1,
        "parties": [
            {"id": p, "name": f"Party {p.upper()}", "first_candidate": f"{p}-leader"}
            for p in "abcde"
        ],
        "districts": [{"id": d, "lists": {p: _e4_list(p, d) for p in "abcde"}} for d in E4_VOTES],
        "counting": {"seats": 26},
    },
    styles=[{"id": d, "parts": [f"council/{d}"]} for d in E4_VOTES],
)


def _e4_counts() -> dict[str, tuple[int, ...]]:
    council = E4.contest("council")
    counts = {}
    for district, votes in E4_VOTES.items():
        by_option: dict[str, int] = {}
        for party, total in votes.items():
            personal = A_TD1 if (party, district) == ("a", "td1") else {}
            by_option.update({f"{party}/{name}": n for name, n in personal.items()})
            by_option[party] = total - sum(personal.values())
        counts[f"council/{district}"] = tuple(
            by_option.get(option, 0) for option in council.options(district)
        )
    return counts


def test_e4_open_list_council() -> None:
    """Final A 11, B 8, C 5, D 2; A's TD1 re-ordered by preference votes; B's extra seat from
    TD2 (largest unused votes), D's from TD1 (local-elections.md §1.4 E4)."""
    assert lines(E4, _e4_counts(), registered=24000, participants=9300) == (
        "council: seats a 11, b 8, c 5, d 2, e 0; elected "
        "a: koval, tkachenko, kravets, melnyk, a-td2-1, a-td2-2, a-td2-3, a-td3-1, a-td3-2, "
        "a-td3-3, a-leader; "
        "b: b-td1-1, b-td1-2, b-td2-1, b-td2-2, b-td3-1, b-td3-2, b-leader, b-td2-3; "
        "c: c-td1-1, c-td2-1, c-td3-1, c-td3-2, c-leader; "
        "d: d-leader, d-td1-1",
    )


def test_outcome_lines_follow_manifest_order_and_need_every_part() -> None:
    counts = {
        "referendum": (20, 10),
        "head": (0, 20, 10),
        "council/north": (10, 0, 20, 0, 0),
        "council/south": (0, 0, 0, 0, 10),
    }
    assert [line.split(":")[0] for line in lines(MANIFEST, counts, participants=40)] == [
        "referendum",
        "head",
        "council",
    ]
    del counts["council/south"]
    with pytest.raises(InvalidInput, match="no counts for council/south"):
        lines(MANIFEST, counts, participants=40)


def test_open_list_with_too_few_votes_for_the_method_allocates_no_seat() -> None:
    counts = {part: tuple(0 for _ in values) for part, values in _e4_counts().items()}
    counts["council/td1"] = (1, *counts["council/td1"][1:])
    (line,) = lines(E4, counts, registered=24000, participants=1)
    assert line.startswith("council: no seats allocated (1 votes for 26 seats): ")
    assert "quota" in line
