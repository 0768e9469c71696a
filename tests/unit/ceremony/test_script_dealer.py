"""Scheme B ceremony scripts: the dealer script parses, and scheme mix-ups are refused by name."""

from __future__ import annotations

from evote.ceremony.script import RoleKind, parse_script
from tests.unit.ceremony.test_script import (
    CEREMONIES,
    KEY_GENERATION,
    Document,
    edited,
    refused,
    step,
)

DEALER = CEREMONIES / "paillier-dealer-3-of-2.yaml"


def test_the_dealer_script_parses() -> None:
    script = parse_script(DEALER.read_text(encoding="utf-8"))
    assert script.election.scheme == "paillier"
    assert [role.id for role in script.of_kind(RoleKind.DEALER)] == ["dealer"]
    assert [s.action for s in script.steps] == [
        "publish-manifest",
        "transport-keys",
        "deal",
        "accept-shares",
        "witness-checkpoint",
    ]
    deal, accept = script.steps[2], script.steps[3]
    assert deal.by == ("dealer", "official-1", "official-2")
    assert deal.roles("bad-shares") == ()
    assert {e.name: e.value for e in accept.expect} == {
        "entries": 3,
        "accepted": 3,
        "refused": (),
        "verified": 3,
    }


def test_scheme_a_is_the_default() -> None:
    assert parse_script(KEY_GENERATION.read_text(encoding="utf-8")).election.scheme == "elgamal"


def test_an_unknown_scheme_is_refused() -> None:
    def edit(d: Document) -> None:
        d["election"]["scheme"] = "rsa"

    refused(edited(DEALER, edit), "election.scheme must be one of elgamal, paillier", "'rsa'")


def test_scheme_b_needs_a_dealer() -> None:
    def edit(d: Document) -> None:
        del d["roles"]["dealer"]
        step(d, 3)["by"] = ["official-1", "official-2"]

    refused(edited(DEALER, edit), "scheme paillier (scheme B) needs a dealer role")


def test_scheme_a_has_no_dealer() -> None:
    def edit(d: Document) -> None:
        d["roles"]["dealer"] = {"kind": "dealer", "name": "Dealer", "duty": "Deals."}

    refused(edited(KEY_GENERATION, edit), "scheme elgamal has no dealer")


def test_there_is_at_most_one_dealer() -> None:
    def edit(d: Document) -> None:
        d["roles"]["dealer-2"] = {"kind": "dealer", "name": "Second dealer", "duty": "Deals."}

    refused(edited(DEALER, edit), "at most one dealer")


def test_scheme_a_rounds_are_refused_in_a_scheme_b_script() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["action"] = "commit"
        step(d, 3)["by"] = ["guardians"]

    refused(
        edited(DEALER, edit),
        "step 3 (The dealer deals the key; commit): a scheme paillier script cannot use it",
        "accept-shares",
    )


def test_the_dealer_actions_are_refused_in_a_scheme_a_script() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["action"] = "deal"

    refused(edited(KEY_GENERATION, edit), "a scheme elgamal script cannot use it")


def test_the_deal_must_name_the_dealer() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["by"] = ["official-1", "official-2"]

    refused(edited(DEALER, edit), "step 3", "by must name the dealer")


def test_the_deal_needs_an_official_quorum_to_co_sign() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["by"] = ["dealer", "official-1"]

    refused(edited(DEALER, edit), "names 1 official(s) to sign; the quorum is 2")


def test_the_dealer_cannot_act_for_the_guardians() -> None:
    def edit(d: Document) -> None:
        step(d, 4)["by"] = ["guardians", "dealer"]

    refused(edited(DEALER, edit), "dealer (dealer) cannot act in accept-shares")


def test_shares_are_accepted_after_the_deal() -> None:
    def edit(d: Document) -> None:
        d["steps"][2], d["steps"][3] = d["steps"][3], d["steps"][2]
        d["steps"][2]["step"], d["steps"][3]["step"] = 3, 4

    refused(edited(DEALER, edit), "needs a 'deal' step before it")


def test_bad_shares_name_guardians() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["params"] = {"bad-shares": ["official-1"]}

    refused(edited(DEALER, edit), "params.bad-shares must list distinct guardian roles")
