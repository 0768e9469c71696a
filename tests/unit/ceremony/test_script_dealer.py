"""Scheme B ceremony scripts: the dealer script parses, and scheme mix-ups are refused by name."""

from __future__ import annotations

from evote.ceremony.script import RoleKind, parse_script
from tests.unit.ceremony.test_script import (
    CEREMONIES,
    KEY_GENERATION,
    Document,
    edited,
    load,
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


# --- scheme B through the tally ----------------------------------------------------------------

PAILLIER_TALLY = CEREMONIES / "paillier-tally-1-absent.yaml"


def test_the_scheme_b_tally_script_parses() -> None:
    script = parse_script(PAILLIER_TALLY.read_text(encoding="utf-8"))
    assert script.election.scheme == "paillier"
    assert [s.action for s in script.steps] == [
        "publish-manifest",
        "transport-keys",
        "deal",
        "accept-shares",
        "publish-credentials",
        "open",
        "vote",
        "close",
        "tally",
        "decrypt",
        "result",
        "witness-checkpoint",
        "verify-record",
    ]
    assert [s.number for s in script.steps if s.rehearsal_only] == list(range(1, 9))
    decrypt = script.steps[9]
    assert decrypt.by == ("guardian-1", "guardian-3")
    assert decrypt.roles("absent") == ("guardian-2",)
    assert decrypt.roles("bad-shares") == ()
    assert {e.name: e.value for e in decrypt.expect}["not-counted"] == ()
    result = {e.name: e.value for e in script.steps[10].expect}
    assert result == {"entries": 1, "guardians": decrypt.by, "matches-voters": True}


def test_scheme_b_credentials_need_the_accepted_shares() -> None:
    document = load(PAILLIER_TALLY)
    document["steps"] = [s for s in document["steps"] if s["action"] != "accept-shares"]
    for number, item in enumerate(document["steps"], 1):
        item["step"] = number
    refused(
        document,
        "step 4 (Publish the credential list; publish-credentials)",
        "needs a 'accept-shares' step before it",
    )


def test_scheme_a_credentials_still_need_the_key_checks() -> None:
    def edit(d: Document) -> None:
        step(d, 3)["action"] = "publish-credentials"
        step(d, 3)["by"] = ["credential-authority"]
        step(d, 3)["expect"] = {"credentials": 40}
        d["roles"]["credential-authority"] = {
            "kind": "credential-authority",
            "name": "Credential authority",
            "duty": "Publishes the credentials.",
        }
        d["election"]["voters"] = 40

    message = refused(edited(KEY_GENERATION, edit), "needs a 'key-checks' step before it")
    assert "accept-shares" not in message


def test_a_scheme_b_decrypt_needs_a_quorum_present() -> None:
    def edit(d: Document) -> None:
        step(d, 10)["by"] = ["guardian-1"]
        step(d, 10)["params"] = {"absent": ["guardian-2", "guardian-3"]}

    refused(edited(PAILLIER_TALLY, edit), "step 10 (Decrypt", "1 guardians present", "needs 2")


def test_bad_decryption_shares_come_from_present_guardians() -> None:
    def absent(d: Document) -> None:
        step(d, 10)["params"] = {"absent": ["guardian-2"], "bad-shares": ["guardian-2"]}

    refused(edited(PAILLIER_TALLY, absent), "step 10", "bad-shares must name present guardians")

    def official(d: Document) -> None:
        step(d, 10)["params"] = {"absent": ["guardian-2"], "bad-shares": ["official-1"]}

    refused(edited(PAILLIER_TALLY, official), "params.bad-shares must list distinct guardian")
