"""The election manifest: the officials' JSON, its canonical TLV, the election id, every rule.

The builders at the top (:func:`document`, :func:`manifest`) are shared by the other tests of
the election and record layers: one referendum, one candidates contest and an open list with
two districts, each district a ballot style.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest

from evote.crypto import encoding
from evote.crypto.encoding import Decoded
from evote.crypto.hashing import hash32
from evote.crypto.scheme import SCHEME_A
from evote.crypto.signing import SigningKey
from evote.election.contest import ContestShape
from evote.election.manifest import (
    MANIFEST_TAG,
    REVOTE_LAST_COUNTS,
    BallotStyle,
    District,
    Manifest,
    OpenListRule,
    Party,
)
from evote.errors import DecodeError, InvalidInput


def key(label: int) -> SigningKey:
    """A fixed signing key per role, so that the manifest (and its id) is reproducible."""
    return SigningKey(bytes([label]) * 32)


OFFICIALS = tuple(key(0x10 + i) for i in range(3))
AUTHORITY = key(0x20)
GUARDIANS = tuple(key(0x30 + i) for i in range(3))
LOG = key(0x40)
WITNESSES = tuple((f"witness-{i}.test", key(0x50 + i)) for i in range(3))


def hex_key(signing_key: SigningKey) -> str:
    return signing_key.verify_key.encode().hex()


def document() -> dict[str, Any]:
    """A valid manifest as officials write it (JSON types only); every call a fresh copy.

    The two districts of the open list have five options each, so a ballot of one style has
    the same shape as a ballot of the other (the tests of the ballot binding rely on it).
    """
    return {
        "name": "Test community election",
        "contests": [
            {
                "id": "referendum",
                "kind": "referendum",
                "title": "Build a library?",
                "min_marks": 0,
                "max_marks": 1,
                "turnout_quorum": "1/2",
            },
            {
                "id": "head",
                "kind": "candidates",
                "title": "Head of the community",
                "candidates": ["bondar", "koval", "melnyk"],
                "min_marks": 0,
                "max_marks": 1,
                "seats": 1,
                "rule": "plurality",
            },
            {
                "id": "council",
                "kind": "open_list",
                "title": "Community council",
                "min_marks": 1,
                "max_marks": 1,
                "parties": [
                    {"id": "a", "name": "Party A", "first_candidate": "a-leader"},
                    {"id": "b", "name": "Party B", "first_candidate": "b-leader"},
                ],
                "districts": [
                    {"id": "north", "lists": {"a": ["a1", "a2"], "b": ["b1"]}},
                    {"id": "south", "lists": {"a": ["a3"], "b": ["b2", "b3"]}},
                ],
                "counting": {
                    "seats": 5,
                    "threshold": "5/100",
                    "preference_share": 0.25,
                    "guarantee_one_seat": True,
                },
            },
        ],
        "ballot_styles": [
            {"id": "north", "parts": ["referendum", "head", "council/north"]},
            {"id": "south", "parts": ["referendum", "head", "council/south"]},
        ],
        "officials": {"keys": [hex_key(k) for k in OFFICIALS], "quorum": 2},
        "credential_authority": hex_key(AUTHORITY),
        "guardians": {"keys": [hex_key(k) for k in GUARDIANS], "quorum": 2},
        "log": {"origin": "evote.test/manifest", "key": hex_key(LOG)},
        "witnesses": {"keys": {name: hex_key(k) for name, k in WITNESSES}, "quorum": 2},
    }


def manifest() -> Manifest:
    return Manifest.from_mapping(document())


MANIFEST = manifest()


def contest(doc: dict[str, Any], contest_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in doc["contests"] if c["id"] == contest_id)
    return found


# --- the officials' JSON --------------------------------------------------------------------------

MANIFEST_JSON = """
{
  "name": "Village of Lypova referendum",
  "contests": [
    {"id": "library", "kind": "referendum", "title": "Build a library?",
     "turnout_quorum": 0.5, "approval_quorum": "1/4", "majority_base": "valid_votes"}
  ],
  "officials": {"keys": ["%(o1)s", "%(o2)s"], "quorum": 2},
  "credential_authority": "%(ca)s",
  "guardians": {"keys": ["%(g1)s"], "quorum": 1},
  "log": {"origin": "lypova.example/log", "key": "%(log)s"},
  "witnesses": {"keys": {"w1.example": "%(w1)s"}, "quorum": 1}
}
"""


def test_a_json_manifest_parses_with_defaults_filled_in() -> None:
    text = MANIFEST_JSON % {
        "o1": hex_key(OFFICIALS[0]),
        "o2": hex_key(OFFICIALS[1]),
        "ca": hex_key(AUTHORITY),
        "g1": hex_key(GUARDIANS[0]),
        "log": hex_key(LOG),
        "w1": hex_key(WITNESSES[0][1]),
    }
    parsed = Manifest.from_mapping(json.loads(text))
    (library,) = parsed.contests
    assert library.kind == "referendum"
    assert library.rule == "referendum"
    assert library.turnout_quorum == Fraction(1, 2)
    assert library.approval_quorum == Fraction(1, 4)
    assert library.majority_base == "valid_votes"
    assert (library.min_marks, library.max_marks) == (0, 1)
    assert parsed.ballot_styles == (BallotStyle("default", ("library",)),)
    assert parsed.officials == tuple(k.verify_key for k in OFFICIALS[:2])
    assert parsed.witness_keys() == {"w1.example": WITNESSES[0][1].verify_key}
    assert parsed.revote_policy == REVOTE_LAST_COUNTS
    assert parsed.scheme == SCHEME_A.params_hash


def test_the_reference_document_parses_every_kind() -> None:
    referendum, head, council = MANIFEST.contests
    assert (referendum.kind, head.kind, council.kind) == ("referendum", "candidates", "open_list")
    assert head.candidates == ("bondar", "koval", "melnyk")
    assert council.parties[0] == Party("a", "Party A", "a-leader")
    assert council.districts[1] == District("south", (("a", ("a3",)), ("b", ("b2", "b3"))))
    assert council.open_list == OpenListRule(5, Fraction(1, 20), Fraction(1, 4), True)


def test_to_mapping_inverts_from_mapping_through_json_text() -> None:
    mapping = MANIFEST.to_mapping()
    again = Manifest.from_mapping(json.loads(json.dumps(mapping)))
    assert again == MANIFEST
    assert again.to_mapping() == mapping
    assert again.election_id == MANIFEST.election_id


def test_to_mapping_writes_fractions_as_text_and_keys_as_hex() -> None:
    mapping = MANIFEST.to_mapping()
    contests: Any = mapping["contests"]
    referendum, _, council = contests
    assert referendum["turnout_quorum"] == "1/2"
    assert referendum["approval_quorum"] is None
    assert council["counting"]["threshold"] == "1/20"
    assert council["counting"]["preference_share"] == "1/4"
    assert mapping["credential_authority"] == hex_key(AUTHORITY)


# --- canonical TLV and the election id ------------------------------------------------------------


def test_tlv_round_trip() -> None:
    data = MANIFEST.to_tlv()
    assert Manifest.from_tlv(data) == MANIFEST
    assert Manifest.from_tlv(data).to_tlv() == data


def test_election_id_is_sha256_of_the_canonical_encoding() -> None:
    assert MANIFEST.election_id == hashlib.sha256(MANIFEST.to_tlv()).digest()
    assert MANIFEST.manifest_hash == hash32("manifest", MANIFEST.to_tlv())
    assert MANIFEST.election_id != MANIFEST.manifest_hash


def test_the_same_document_always_gives_the_same_election_id() -> None:
    assert manifest().election_id == MANIFEST.election_id


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(name="Another election"),
        lambda d: contest(d, "head")["candidates"].reverse(),
        lambda d: d["witnesses"].update(quorum=3),
        lambda d: contest(d, "council")["counting"].update(threshold="1/25"),
        lambda d: d["ballot_styles"].reverse(),
    ],
    ids=["name", "candidate-order", "witness-quorum", "threshold", "style-order"],
)
def test_any_change_changes_the_election_id(change: Callable[[dict[str, Any]], None]) -> None:
    doc = document()
    change(doc)
    assert Manifest.from_mapping(doc).election_id != MANIFEST.election_id


def _tlv_value() -> list[Decoded]:
    value = encoding.decode(MANIFEST.to_tlv())
    assert isinstance(value, list)
    return value


def _council_rule(value: list[Decoded]) -> list[Decoded]:
    contests = value[4]
    assert isinstance(contests, list)
    council = contests[2]
    assert isinstance(council, list)
    rule = council[13]
    assert isinstance(rule, list)
    return rule


def _swap_name_and_policy(value: list[Decoded]) -> None:
    value[1], value[3] = value[3], value[1]


def _swap_officials_and_guardians_quorum(value: list[Decoded]) -> None:
    value[6], value[7] = value[7], value[6]


def _wrong_tag(value: list[Decoded]) -> None:
    value[0] = "evote/v1/manifesto"


def _extra_field(value: list[Decoded]) -> None:
    value.append(0)


def _unreduced_fraction(value: list[Decoded]) -> None:
    _council_rule(value)[1] = [5, 100]


def _missing_fraction(value: list[Decoded]) -> None:
    _council_rule(value)[1] = []


def _zero_denominator(value: list[Decoded]) -> None:
    _council_rule(value)[1] = [1, 0]


def _boolean_as_two(value: list[Decoded]) -> None:
    _council_rule(value)[3] = 2


def _unknown_kind(value: list[Decoded]) -> None:
    contests = value[4]
    assert isinstance(contests, list)
    referendum = contests[0]
    assert isinstance(referendum, list)
    referendum[1] = "ranked"


def _impossible_quorum(value: list[Decoded]) -> None:
    value[10] = 4


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_swap_name_and_policy, "unknown revote policy"),
        (_swap_officials_and_guardians_quorum, "officials: expected a list"),
        (_wrong_tag, "not an evote v1 manifest"),
        (_extra_field, "expected 15 items"),
        (_unreduced_fraction, "not in canonical form"),
        (_missing_fraction, "not in canonical form"),
        (_zero_denominator, "zero denominator"),
        (_boolean_as_two, "not in canonical form"),
        (_unknown_kind, "unknown kind 'ranked'"),
        (_impossible_quorum, "guardians: quorum 4 of 3 is impossible"),
    ],
)
def test_from_tlv_refuses_reordered_invalid_or_non_canonical_bodies(
    mutate: Callable[[list[Decoded]], None], message: str
) -> None:
    value = _tlv_value()
    mutate(value)
    with pytest.raises(DecodeError, match=message):
        Manifest.from_tlv(encoding.encode(value))


def test_from_tlv_refuses_trailing_bytes() -> None:
    with pytest.raises(DecodeError, match="trailing"):
        Manifest.from_tlv(MANIFEST.to_tlv() + b"\x00")


# --- options and shapes ---------------------------------------------------------------------------


def test_parts_of_each_kind() -> None:
    assert [c.parts() for c in MANIFEST.contests] == [
        ("referendum",),
        ("head",),
        ("council/north", "council/south"),
    ]


def test_referendum_options_and_shape() -> None:
    referendum = MANIFEST.contest("referendum")
    assert referendum.options() == ("yes", "no")
    assert referendum.shape() == ContestShape((1, 1), 0, 1)


def test_candidates_options_and_shape() -> None:
    doc = document()
    contest(doc, "head").update(
        candidates=["ivanenko", "petrenko", "sydorenko", "hnatiuk"], max_marks=3, seats=3
    )
    head = Manifest.from_mapping(doc).contest("head")
    assert head.options() == ("ivanenko", "petrenko", "sydorenko", "hnatiuk")
    assert head.shape() == ContestShape((1, 1, 1, 1), 0, 3)


def test_open_list_options_per_district_party_then_its_candidates() -> None:
    council = MANIFEST.contest("council")
    assert council.options("north") == ("a", "a/a1", "a/a2", "b", "b/b1")
    assert council.options("south") == ("a", "a/a3", "b", "b/b2", "b/b3")
    assert council.shape("north") == ContestShape((1,) * 5, 1, 1)
    assert council.shape("south") == ContestShape((1,) * 5, 1, 1)


def test_open_list_party_without_a_list_in_a_district_keeps_its_party_option() -> None:
    doc = document()
    contest(doc, "council")["districts"][0]["lists"] = {"a": ["a1"]}
    council = Manifest.from_mapping(doc).contest("council")
    assert council.options("north") == ("a", "a/a1", "b")


@pytest.mark.parametrize("district", [None, "east"])
def test_open_list_options_need_one_of_its_districts(district: str | None) -> None:
    with pytest.raises(InvalidInput, match="has no district"):
        MANIFEST.contest("council").options(district)


def test_part_lookup() -> None:
    council = MANIFEST.contest("council")
    assert MANIFEST.part("council/south") == (council, "south")
    assert MANIFEST.part("head") == (MANIFEST.contest("head"), None)
    assert MANIFEST.style("north").parts == ("referendum", "head", "council/north")


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        (lambda: MANIFEST.part("council"), "not a ballot part of contest 'council'"),
        (lambda: MANIFEST.part("head/north"), "not a ballot part of contest 'head'"),
        (lambda: MANIFEST.part("mayor"), "no contest 'mayor'"),
        (lambda: MANIFEST.style("east"), "no ballot style 'east'"),
    ],
)
def test_unknown_parts_contests_and_styles_are_refused(
    lookup: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        lookup()


def test_default_style_holds_every_part_when_no_style_is_given() -> None:
    doc = document()
    del doc["ballot_styles"]
    council = contest(doc, "council")
    council["districts"] = council["districts"][:1]
    parsed = Manifest.from_mapping(doc)
    assert parsed.ballot_styles == (
        BallotStyle("default", ("referendum", "head", "council/north")),
    )


def test_default_style_cannot_hold_two_districts_of_an_open_list() -> None:
    doc = document()
    del doc["ballot_styles"]
    with pytest.raises(InvalidInput, match="ballot style default: every style holds every"):
        Manifest.from_mapping(doc)


# --- validation: every rule -----------------------------------------------------------------------


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """Set ``value`` at a dotted path; a segment naming a contest id selects that contest."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for segment in parents:
            if isinstance(node, list):
                node = node[int(segment)]
            elif segment in {"referendum", "head", "council"} and node is doc:
                node = contest(doc, segment)
            else:
                node = node[segment]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = contest(doc, parents[0]) if parents else doc
        for segment in parents[1:]:
            node = node[segment]
        del node[last]

    return change


def _duplicate_contest(doc: dict[str, Any]) -> None:
    doc["contests"].append(copy.deepcopy(contest(doc, "head")))


def _same_key_twice(target: str, source: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        keys = {
            "official": doc["officials"]["keys"][0],
            "authority": doc["credential_authority"],
            "guardian": doc["guardians"]["keys"][0],
            "log": doc["log"]["key"],
            "witness": doc["witnesses"]["keys"]["witness-0.test"],
        }
        if target == "authority":
            doc["credential_authority"] = keys[source]
        elif target == "guardian":
            doc["guardians"]["keys"][1] = keys[source]
        elif target == "log":
            doc["log"]["key"] = keys[source]
        elif target == "witness":
            doc["witnesses"]["keys"]["witness-1.test"] = keys[source]
        else:
            doc["officials"]["keys"][1] = keys[source]

    return change


def _four_witnesses_quorum_two(doc: dict[str, Any]) -> None:
    doc["witnesses"]["keys"]["witness-3.test"] = hex_key(key(0x53))


VALIDATION_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    # the manifest as a whole
    ("empty-name", _set("name", ""), "the manifest needs a name"),
    ("no-contests", _set("contests", []), "contest ids must be present and distinct"),
    ("duplicate-contest", _duplicate_contest, "contest ids must be present and distinct"),
    ("bad-contest-id", _set("head.id", "Head"), "contest 'Head': use lowercase letters"),
    ("long-contest-id", _set("head.id", "h" * 65), "use lowercase letters"),
    ("empty-title", _set("head.title", ""), "contest head needs a title"),
    ("unknown-kind", _set("head.kind", "ranked"), "unknown kind 'ranked'"),
    ("majority-base", _set("head.majority_base", "everyone"), "unknown majority base"),
    # quorums
    ("officials-quorum", _set("officials.quorum", 4), "officials: quorum 4 of 3 is impossible"),
    ("guardians-quorum", _set("guardians.quorum", 0), "guardians: quorum 0 of 3 is impossible"),
    ("no-guardians", _set("guardians.keys", []), "guardians: quorum 2 of 0 is impossible"),
    ("witness-quorum", _set("witnesses.quorum", 4), "witnesses: quorum 4 of 3 is impossible"),
    ("witness-minority", _set("witnesses.quorum", 1), "the witness quorum must be a majority"),
    ("witness-half", _four_witnesses_quorum_two, "the witness quorum must be a majority"),
    # one key per role
    ("official-twice", _same_key_twice("official", "official"), "a key appears twice"),
    ("official-authority", _same_key_twice("authority", "official"), "a key appears twice"),
    ("guardian-official", _same_key_twice("guardian", "official"), "a key appears twice"),
    ("log-guardian", _same_key_twice("log", "guardian"), "a key appears twice"),
    ("witness-log", _same_key_twice("witness", "log"), "a key appears twice"),
    ("witness-authority", _same_key_twice("witness", "authority"), "a key appears twice"),
    # ballot styles
    ("no-styles", _set("ballot_styles", []), "ballot style ids must be present and distinct"),
    (
        "duplicate-style",
        _set("ballot_styles.1.id", "north"),
        "ballot style ids must be present and distinct",
    ),
    ("bad-style-id", _set("ballot_styles.0.id", "North"), "ballot style 'North'"),
    ("empty-style", _set("ballot_styles.0.parts", []), "north: list each contest part once"),
    (
        "part-twice",
        _set("ballot_styles.0.parts", ["referendum", "head", "head", "council/north"]),
        "north: list each contest part once",
    ),
    (
        "unknown-part",
        _set("ballot_styles.0.parts", ["referendum", "head", "council/east"]),
        r"ballot style north: unknown parts \['council/east'\]",
    ),
    (
        "undistricted-open-list",
        _set("ballot_styles.0.parts", ["referendum", "head", "council"]),
        r"unknown parts \['council'\]",
    ),
    (
        "missing-contest",
        _set("ballot_styles.0.parts", ["referendum", "council/north"]),
        "ballot style north: every style holds every contest once",
    ),
    (
        "two-districts",
        _set("ballot_styles.0.parts", ["referendum", "head", "council/north", "council/south"]),
        "ballot style north: every style holds every contest once",
    ),
    # referendum
    ("referendum-two-marks", _set("referendum.max_marks", 2), "referendum referendum: one mark"),
    ("referendum-min-above-max", _set("referendum.min_marks", 2), "does not fit"),
    # candidates
    ("no-candidates", _set("head.candidates", []), "head: candidates must be present"),
    (
        "duplicate-candidates",
        _set("head.candidates", ["koval", "koval"]),
        "head: candidates must be present and distinct",
    ),
    (
        "bad-candidate-id",
        _set("head.candidates", ["koval", "Ivan Franko"]),
        "head: candidate 'Ivan Franko'",
    ),
    ("zero-seats", _set("head.seats", 0), "head: 0 seats is impossible"),
    ("too-many-seats", _set("head.seats", 4), "head: 4 seats is impossible"),
    ("unknown-rule", _set("head.rule", "borda"), "rule must be plurality or absolute_majority"),
    ("too-many-marks", _set("head.max_marks", 4), r"\[0, 4\] does not fit"),
    ("negative-marks", _set("head.min_marks", -1), r"\[-1, 1\] does not fit"),
    ("min-above-max", _set("head.min_marks", 2), r"\[2, 1\] does not fit"),
    # open lists
    ("open-list-counting", _delete("council.counting"), "counting must be a mapping"),
    ("open-list-seats", _set("council.counting.seats", 0), "needs at least one seat"),
    ("open-list-two-marks", _set("council.max_marks", 2), "marks one party"),
    ("open-list-min-two", _set("council.min_marks", 2), "marks one party"),
    ("no-parties", _set("council.parties", []), "parties must be present and distinct"),
    (
        "duplicate-party",
        _set("council.parties.1.id", "a"),
        "parties must be present and distinct",
    ),
    ("bad-party-id", _set("council.parties.1.id", "B"), "party 'B'"),
    ("party-no-name", _set("council.parties.1.name", ""), "party b needs a name and leader"),
    ("party-no-leader", _set("council.parties.1.first_candidate", ""), "needs a name and leader"),
    (
        "party-missing-name",
        _set("council.parties.1", {"id": "b"}),
        "contest 'council': missing 'name'",
    ),
    ("no-districts", _set("council.districts", []), "districts must be present and distinct"),
    (
        "duplicate-district",
        _set("council.districts.1.id", "north"),
        "districts must be present and distinct",
    ),
    ("bad-district-id", _set("council.districts.1.id", "South"), "district 'South'"),
    (
        "unknown-list-party",
        _set("council.districts.0.lists", {"a": ["a1"], "c": ["c1"]}),
        "council/north: unknown party c",
    ),
    (
        "repeated-candidate",
        _set("council.districts.0.lists", {"a": ["a1", "a1"]}),
        "council: a candidate stands twice",
    ),
    (
        "bad-list-candidate",
        _set("council.districts.0.lists", {"a": ["A 1"]}),
        "council/north: candidate 'A 1'",
    ),
    # fractions outside [0, 1], or not fractions at all
    ("turnout-above-one", _set("referendum.turnout_quorum", "3/2"), "between 0 and 1, got 3/2"),
    ("turnout-negative", _set("referendum.turnout_quorum", -0.5), "between 0 and 1, got -1/2"),
    ("approval-above-one", _set("head.approval_quorum", 2), "approval quorum must lie between"),
    ("threshold-above-one", _set("council.counting.threshold", "101/100"), "threshold must lie"),
    ("preference-negative", _set("council.counting.preference_share", "-1/4"), "preference"),
    ("fraction-text", _set("referendum.turnout_quorum", "half"), "'half' is not a fraction"),
    ("fraction-zero-denominator", _set("referendum.turnout_quorum", "1/0"), "is not a fraction"),
    ("fraction-boolean", _set("referendum.turnout_quorum", True), "write a fraction as"),
    ("fraction-list", _set("referendum.turnout_quorum", [1, 2]), "write a fraction as"),
    # YAML-ish type errors
    ("contests-text", _set("contests", "referendum"), "contests must be a list"),
    ("contest-text", _set("contests.0", "referendum"), "contest must be a mapping"),
    ("candidates-text", _set("head.candidates", "bondar, koval"), "candidates must be a list"),
    ("parties-mapping", _set("council.parties", {"a": "Party A"}), "parties must be a list"),
    ("lists-list", _set("council.districts.0.lists", [["a1"]]), "lists must be a mapping"),
    ("list-text", _set("council.districts.0.lists", {"a": "a1"}), "council' list must be a list"),
    ("styles-text", _set("ballot_styles", "north"), "ballot_styles must be a list"),
    ("style-parts-text", _set("ballot_styles.0.parts", "head"), "style parts must be a list"),
    ("officials-list", _set("officials", ["00" * 32]), "officials must be a mapping"),
    ("official-keys-text", _set("officials.keys", "00" * 32), "officials.keys must be a list"),
    ("witness-keys-list", _set("witnesses.keys", []), "witnesses.keys must be a mapping"),
    ("log-missing", _delete("log"), "log must be a mapping"),
    ("quorum-text", _set("officials.quorum", "2"), "'quorum' must be a whole number"),
    ("quorum-boolean", _set("guardians.quorum", True), "'quorum' must be a whole number"),
    ("marks-float", _set("head.max_marks", 1.0), "'max_marks' must be a whole number"),
    ("seats-text", _set("council.counting.seats", "5"), "'seats' must be a whole number"),
    ("name-number", _set("name", 2025), "'name' must be text"),
    ("name-missing", _delete("name"), "manifest: missing 'name'"),
    ("title-missing", _delete("head.title"), "contest 'head': missing 'title'"),
    ("kind-missing", _delete("head.kind"), "contest 'head': missing 'kind'"),
    ("origin-missing", _set("log", {"key": hex_key(LOG)}), "log: missing 'origin'"),
    ("key-not-hex", _set("credential_authority", "zz" * 32), "not a valid Ed25519 public key"),
    ("key-short", _set("log.key", "00" * 31), "not a valid Ed25519 public key"),
    ("key-number", _set("guardians.keys.0", 7), "a key is 64 hex digits"),
    ("key-not-a-point", _set("officials.keys.0", "ff" * 32), "not a valid Ed25519 public key"),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [pytest.param(change, message, id=name) for name, change, message in VALIDATION_CASES],
)
def test_every_rule_is_refused_with_a_useful_message(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = document()
    change(doc)
    with pytest.raises(InvalidInput, match=message):
        Manifest.from_mapping(doc)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"witnesses": (WITNESSES[0], (WITNESSES[0][0], key(0x5F).verify_key))}, "distinct"),
        ({"revote_policy": "first-counts"}, "unknown revote policy 'first-counts'"),
        ({"scheme": b"\x00" * 32}, "unknown encryption scheme parameters"),
    ],
    ids=["witness-names", "revote-policy", "scheme"],
)
def test_rules_that_the_mapping_cannot_break_are_checked_too(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        dataclasses.replace(MANIFEST, **change)


def test_absolute_majority_elects_one_with_one_mark() -> None:
    doc = document()
    contest(doc, "head").update(rule="absolute_majority")
    assert Manifest.from_mapping(doc).contest("head").rule == "absolute_majority"
    for change in ({"seats": 2}, {"max_marks": 2}):
        doc = document()
        contest(doc, "head").update(rule="absolute_majority", **change)
        with pytest.raises(InvalidInput, match="absolute majority elects one with one mark"):
            Manifest.from_mapping(doc)


def test_a_manifest_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MANIFEST.name = "changed"  # type: ignore[misc]


def test_the_tag_is_the_first_item_of_the_encoding() -> None:
    assert _tlv_value()[0] == MANIFEST_TAG


# --- rules added after review: one canonical form, names that count, honest types --------------


def _stand_twice_on_two_lists(doc: dict[str, Any]) -> None:
    contest(doc, "council")["districts"][1]["lists"]["a"] = ["a1"]


def _leader_also_on_a_list(doc: dict[str, Any]) -> None:
    contest(doc, "council")["districts"][0]["lists"]["a"] = ["a-leader"]


def _guarantee_as_text(doc: dict[str, Any]) -> None:
    contest(doc, "council")["counting"]["guarantee_one_seat"] = "false"


def _null_threshold(doc: dict[str, Any]) -> None:
    contest(doc, "council")["counting"]["threshold"] = None


def _numeric_candidate(doc: dict[str, Any]) -> None:
    contest(doc, "head")["candidates"] = ["bondar", 7, "melnyk"]


def _seats_on_a_referendum(doc: dict[str, Any]) -> None:
    contest(doc, "referendum")["kind"] = "candidates"
    contest(doc, "referendum")["candidates"] = ["yes-camp"]
    contest(doc, "referendum")["rule"] = "plurality"


def _bad_range_names_its_contest(doc: dict[str, Any]) -> None:
    contest(doc, "head")["min_marks"] = 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_stand_twice_on_two_lists, "a candidate stands twice"),
        (_leader_also_on_a_list, "a candidate stands twice"),
        (_guarantee_as_text, "write true or false"),
        (_null_threshold, "a fraction is required"),
        (_numeric_candidate, "every name must be text"),
        (_seats_on_a_referendum, "cannot have turnout_quorum"),
        (_bad_range_names_its_contest, "contest head: "),
    ],
)
def test_reviewed_rules_are_refused(change: Callable[[dict[str, Any]], None], message: str) -> None:
    doc = document()
    change(doc)
    with pytest.raises(InvalidInput, match=message):
        Manifest.from_mapping(doc)


def test_a_top_level_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInput, match="the manifest must be a mapping"):
        Manifest.from_mapping(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_a_contest_with_a_field_of_another_kind_is_refused() -> None:
    # Otherwise one election could have two canonical encodings, hence two ids.
    head = dataclasses.replace(MANIFEST.contests[1], parties=MANIFEST.contests[2].parties)
    with pytest.raises(InvalidInput, match="cannot have parties"):
        dataclasses.replace(MANIFEST, contests=(MANIFEST.contests[0], head, MANIFEST.contests[2]))
