"""Ceremony scripts: the shipped ones parse, and every malformed one is refused by name."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evote.ceremony.script import ACTIONS, RoleKind, Script, ScriptError, parse_script

CEREMONIES = Path(__file__).resolve().parents[3] / "ceremonies"
KEY_GENERATION = CEREMONIES / "key-generation-5-of-3.yaml"
TALLY = CEREMONIES / "tally-decryption-2-absent.yaml"

Document = dict[str, Any]


def load(path: Path) -> Document:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def parse(document: Document) -> Script:
    return parse_script(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def edited(path: Path, edit: Callable[[Document], None]) -> Document:
    document = copy.deepcopy(load(path))
    edit(document)
    return document


def edit_of(edit: Callable[[Document], None], path: Path = KEY_GENERATION) -> Document:
    """The script at ``path``, changed by ``edit``."""
    return edited(path, edit)


def step(document: Document, number: int) -> dict[str, Any]:
    found: dict[str, Any] = document["steps"][number - 1]
    assert found["step"] == number
    return found


# --- the shipped scripts -------------------------------------------------------------------


def test_the_key_generation_script_parses() -> None:
    script = parse_script(KEY_GENERATION.read_text(encoding="utf-8"))
    assert script.title == "Key generation: 5 guardians, quorum 3"
    assert [role.guardian for role in script.guardians] == [1, 2, 3, 4, 5]
    assert script.election.guardian_quorum == 3
    assert [s.action for s in script.steps] == [
        "publish-manifest",
        "transport-keys",
        "commit",
        "reveal",
        "seal-shares",
        "check-and-complain",
        "answer-complaints",
        "judge",
        "joint-key",
        "key-checks",
        "witness-checkpoint",
    ]
    assert script.steps[1].by == tuple(f"guardian-{i}" for i in range(1, 6))  # the group
    assert {e.name: e.value for e in script.steps[5].expect} == {"entries": 0, "complaints": 0}
    assert script.sign_off.by == ("witness-1", "witness-2")
    assert all(s.checks and s.signs and s.expect for s in script.steps)


def test_the_tally_script_names_exactly_two_absent_guardians() -> None:
    script = parse_script(TALLY.read_text(encoding="utf-8"))
    decrypt = next(s for s in script.steps if s.action == "decrypt")
    assert decrypt.roles("absent") == ("guardian-2", "guardian-5")
    assert decrypt.by == ("guardian-1", "guardian-3", "guardian-4")
    result = next(s for s in script.steps if s.action == "result")
    assert {e.name: e.value for e in result.expect}["guardians"] == decrypt.by
    assert script.steps[-1].action == "verify-record"
    assert [s.number for s in script.steps if s.rehearsal_only] == [1, 2, 3, 4, 5, 6]
    assert script.of_kind(RoleKind.CREDENTIAL_AUTHORITY)[0].id == "credential-authority"


def test_the_digest_is_of_the_script_text() -> None:
    text = KEY_GENERATION.read_text(encoding="utf-8")
    assert parse_script(text).sha256 != parse_script(text + "\n# a comment\n").sha256


def test_every_action_documents_what_it_does() -> None:
    for name, spec in ACTIONS.items():
        assert spec.name == name
        assert spec.summary
        assert "entries" in spec.expects
        assert RoleKind.ADMINISTRATOR in spec.actors


# --- errors ----------------------------------------------------------------------------------


def refused(document: Document, *fragments: str) -> str:
    with pytest.raises(ScriptError) as caught:
        parse(document)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_not_yaml() -> None:
    with pytest.raises(ScriptError, match="not valid YAML"):
        parse_script("steps: [unclosed")


def test_not_a_mapping() -> None:
    with pytest.raises(ScriptError, match="the script must be a mapping"):
        parse_script("- a list\n")


def test_missing_and_unknown_top_level_fields() -> None:
    refused(edited(KEY_GENERATION, lambda d: d.pop("preconditions")), "missing preconditions")
    refused(edited(KEY_GENERATION, lambda d: d.update(extra=1)), "unknown field(s) extra")


def test_wrong_format() -> None:
    refused(edited(KEY_GENERATION, lambda d: d.update(format="evote-ceremony/v0")), "format")


def test_unknown_action_names_the_step() -> None:
    def edit(d: Document) -> None:
        step(d, 4)["action"] = "reveal-all"

    refused(edit_of(edit), "step 4 (Round 2: reveal; reveal-all)", "unknown action 'reveal-all'")


def test_steps_are_numbered_in_order() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["step"] = 4

    refused(edit_of(edit), "step 3", "is numbered 4")


def test_a_step_out_of_order_needs_its_predecessor() -> None:
    def edit(d: Document) -> None:
        d["steps"][2], d["steps"][3] = d["steps"][3], d["steps"][2]
        d["steps"][2]["step"], d["steps"][3]["step"] = 3, 4

    refused(edit_of(edit), "step 3 (Round 2: reveal; reveal)", "needs a 'commit' step before it")


def test_a_repeated_round_is_refused() -> None:
    def edit(d: Document) -> None:
        again = copy.deepcopy(step(d, 3))
        again["step"] = 5
        d["steps"].insert(4, again)
        for number, item in enumerate(d["steps"], 1):
            item["step"] = number

    refused(edit_of(edit), "step 5 (Round 1: commit; commit)", "out of order or repeated")


def test_key_generation_cannot_follow_its_own_rounds() -> None:
    def edit(d: Document) -> None:
        step(d, 2)["action"] = "key-generation"
        step(d, 2)["by"] = ["official-1", "official-2", "guardians"]
        step(d, 2)["expect"] = {"qualified": 5}

    refused(edit_of(edit), "step 3 (Round 1: commit; commit)", "out of order or repeated")


def test_missing_step_fields_are_named() -> None:
    def edit(d: Document) -> None:
        del step(d, 5)["signs"]

    refused(edit_of(edit), "step 5 (Round 3: seal shares; seal-shares)", "missing signs")


def test_unknown_step_field() -> None:
    def edit(d: Document) -> None:
        step(d, 5)["witnessed"] = True

    refused(edit_of(edit), "step 5", "unknown field(s) witnessed")


def test_by_must_name_roles_or_groups() -> None:
    def edit(d: Document) -> None:
        step(d, 2)["by"] = ["guardian-6"]

    refused(edit_of(edit), "step 2", "'guardian-6', which is neither a role nor a group")


def test_a_role_of_the_wrong_kind_cannot_act() -> None:
    def edit(d: Document) -> None:
        step(d, 2)["by"] = ["official-1"]

    refused(edit_of(edit), "step 2", "official-1 (official) cannot act in transport-keys")


def test_official_steps_need_an_official_quorum() -> None:
    def edit(d: Document) -> None:
        step(d, 1)["by"] = ["administrator", "official-1"]

    refused(edit_of(edit), "step 1 (Publish the manifest", "names 1 official(s)", "quorum is 2")


def test_unknown_expectation_lists_the_allowed_ones() -> None:
    def edit(d: Document) -> None:
        step(d, 6)["expect"] = {"complaint": 0}

    refused(edit_of(edit), "step 6", "unknown complaint", "allowed: complaints, entries")


def test_expectations_are_typed() -> None:
    def count(d: Document) -> None:
        step(d, 6)["expect"] = {"complaints": "none"}

    refused(edit_of(count), "step 6", "expect.complaints must be a whole number")

    def negative(d: Document) -> None:
        step(d, 6)["expect"] = {"complaints": -1}

    refused(edit_of(negative), "expect.complaints must be a whole number")

    def flag(d: Document) -> None:
        step(d, 9)["expect"]["matches-voters"] = "yes"

    refused(edit_of(flag, TALLY), "step 9", "matches-voters must be true or false")

    def roles(d: Document) -> None:
        step(d, 9)["expect"]["guardians"] = ["guardian-1", "official-1"]

    refused(edit_of(roles, TALLY), "step 9", "must list distinct guardian roles")


def test_a_step_must_expect_something() -> None:
    def edit(d: Document) -> None:
        step(d, 7)["expect"] = {}

    refused(edit_of(edit), "step 7", "at least one expected output")


def test_params_belong_to_their_action() -> None:
    def edit(d: Document) -> None:
        step(d, 2)["params"] = {"voters": 3}

    refused(edit_of(edit), "step 2", "params: unknown voters (allowed: none)")


def test_voters_cannot_exceed_the_registered() -> None:
    def edit(d: Document) -> None:
        step(d, 5)["params"] = {"voters": 41}

    refused(edit_of(edit, TALLY), "step 5 (Voting", "params.voters must be 1 to the 40")


def test_decrypt_names_every_guardian_once() -> None:
    def both(d: Document) -> None:
        step(d, 8)["params"] = {"absent": ["guardian-2", "guardian-3"]}

    refused(edit_of(both, TALLY), "step 8 (Decrypt", "both present and absent")

    def missing(d: Document) -> None:
        step(d, 8)["params"] = {"absent": ["guardian-2"]}

    refused(edit_of(missing, TALLY), "step 8", "must name every guardian exactly once")


def test_decrypt_needs_a_quorum_present() -> None:
    def edit(d: Document) -> None:
        step(d, 8)["by"] = ["guardian-1", "guardian-3"]
        step(d, 8)["params"] = {"absent": ["guardian-2", "guardian-4", "guardian-5"]}

    refused(edit_of(edit, TALLY), "step 8", "2 guardians present; decryption needs 3")


def test_verify_record_comes_last() -> None:
    def edit(d: Document) -> None:
        d["steps"][9], d["steps"][10] = d["steps"][10], d["steps"][9]
        d["steps"][9]["step"], d["steps"][10]["step"] = 10, 11

    refused(edit_of(edit, TALLY), "step 11", "verify-record must be the last step")


def test_guardian_roles_are_numbered_one_to_n() -> None:
    def edit(d: Document) -> None:
        d["roles"]["guardian-5"]["guardian"] = 6

    refused(edit_of(edit), "guardian indices must be 1 to 5")


def test_a_guardian_role_needs_its_index() -> None:
    def edit(d: Document) -> None:
        del d["roles"]["guardian-5"]["guardian"]

    refused(edit_of(edit), "role 'guardian-5'", "needs its index")


def test_unknown_role_kind() -> None:
    def edit(d: Document) -> None:
        d["roles"]["witness-2"]["kind"] = "observer"

    refused(edit_of(edit), "role 'witness-2'", "kind must be one of")


def test_group_names_are_reserved() -> None:
    def edit(d: Document) -> None:
        d["roles"]["guardians"] = {"kind": "witness", "name": "All", "duty": "Watch."}

    refused(edit_of(edit), "'guardians' is reserved")


def test_quorums_cannot_exceed_their_groups() -> None:
    def edit(d: Document) -> None:
        d["election"]["guardian-quorum"] = 6

    refused(edit_of(edit), "election.guardian-quorum is 6, but there are only 5")


def test_credentials_need_registered_voters() -> None:
    def edit(d: Document) -> None:
        del d["election"]["voters"]
        step(d, 5)["params"] = {"voters": 1}

    refused(edit_of(edit, TALLY), "step 3", "election.voters must say how many")


def test_the_sign_off_is_by_witnesses() -> None:
    def edit(d: Document) -> None:
        d["sign-off"]["by"] = ["witness-1", "guardian-1"]

    refused(edit_of(edit), "sign-off.by: 'guardian-1' is not a witness role")


def test_empty_text_is_refused() -> None:
    def edit(d: Document) -> None:
        step(d, 4)["checks"] = ["   "]

    refused(edit_of(edit), "step 4", "checks[0] must be non-empty text")
