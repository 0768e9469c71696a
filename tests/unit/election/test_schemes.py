"""One code path for both schemes: manifests naming scheme B, election contexts, and the ballot,
audit and tally path run under scheme A and scheme B alike.

:data:`ELECTIONS` holds the manifest of ``test_manifest`` under each scheme with its context:
scheme A with the simulated ceremony of ``test_ballot``, scheme B with a 2048-bit dealer's key
from fixed primes (:mod:`tests.unit.election.paillier_keys`). Shared by the record tests.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from evote.crypto import encoding, paillier
from evote.crypto.elgamal import new_ballot_seed
from evote.crypto.group import Scalar
from evote.crypto.paillier import FAMILY_HASH, PaillierPublicKey, deal_from_primes, safe_prime
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.scheme import SCHEME_A
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditMismatch, AuditReveal, verify_audit
from evote.election.ballot import EncryptedBallot, verify_ballot
from evote.election.context import ElectionContext, check_paillier_key
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import DEALER_TRUST, SCHEME_DESCRIPTIONS, Manifest
from evote.election.schemes import ElGamalElection, PaillierElection
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    PerPart,
    aggregate,
    check_guardian_shares,
    decrypt_totals,
    encrypted_tally,
    tally_result,
)
from evote.errors import DecodeError, InvalidInput, ProofError, TallyOutOfRange
from tests.unit.election.paillier_keys import P, Q, dealt, other_dealt
from tests.unit.election.test_ballot import CONTEXT, POLYNOMIALS, VOTER, plaintext
from tests.unit.election.test_manifest import GUARDIANS, MANIFEST, document, hex_key, key

DEALER = key(0x60)


def paillier_document() -> dict[str, Any]:
    return {**document(), "scheme": {"name": "paillier", "dealer": hex_key(DEALER)}}


MANIFEST_B = Manifest.from_mapping(paillier_document())
DEALT = dealt(len(MANIFEST_B.guardians), MANIFEST_B.guardian_quorum)
CONTEXT_B = ElectionContext.for_paillier(MANIFEST_B, DEALT.public_key)


def _decrypt_a(guardian: int) -> Callable[[Any, DecryptionTarget], Any]:
    share = Scalar(sum(p.evaluate(guardian).value for p in POLYNOMIALS))
    return lambda ciphertext, target: prove_decryption_share(ciphertext, share, guardian, target)


def _decrypt_b(guardian: int) -> Callable[[Any, DecryptionTarget], Any]:
    share = DEALT.share_for(guardian)
    return lambda ciphertext, target: paillier.partial_decrypt(
        ciphertext, share, DEALT.public_key, target
    )


@dataclass(frozen=True)
class Election:
    """One election of the test manifest under one scheme, and its guardians' decryption."""

    name: str
    manifest: Manifest
    context: ElectionContext
    guardian: Callable[[int], Callable[[Any, DecryptionTarget], Any]]

    def shares(self, totals: PerPart, guardians: tuple[int, ...]) -> dict[int, GuardianShares[Any]]:
        return {g: decrypt_totals(self.context, g, totals, self.guardian(g)) for g in guardians}


ELECTIONS = (
    Election("elgamal", MANIFEST, CONTEXT, _decrypt_a),
    Election("paillier", MANIFEST_B, CONTEXT_B, _decrypt_b),
)


@pytest.fixture(params=ELECTIONS, ids=[e.name for e in ELECTIONS])
def election(request: pytest.FixtureRequest) -> Election:
    chosen: Election = request.param
    return chosen


def cast_in(
    election: Election, style: str = "north", voter: SigningKey = VOTER, sequence: int = 0
) -> Any:
    return encrypt_ballot(plaintext(style), election.context, voter.verify_key, sequence)


# --- the manifest names the scheme ----------------------------------------------------------------


def test_a_scheme_b_manifest_names_the_family_the_dealer_and_the_trust_in_words() -> None:
    assert MANIFEST_B.scheme == FAMILY_HASH
    assert MANIFEST_B.scheme_name == "paillier"
    assert MANIFEST_B.require_dealer() == DEALER.verify_key
    items = encoding.decode(MANIFEST_B.to_tlv())
    assert isinstance(items, list)
    assert len(items) == 16
    assert items[15] == ["threshold-paillier", 2048, DEALER.verify_key.encode(), DEALER_TRUST]
    assert "decrypt every ballot" in DEALER_TRUST
    assert Manifest.from_tlv(MANIFEST_B.to_tlv()) == MANIFEST_B
    assert MANIFEST_B.election_id != MANIFEST.election_id


def test_scheme_a_keeps_its_fifteen_items_and_has_no_dealer() -> None:
    items = encoding.decode(MANIFEST.to_tlv())
    assert isinstance(items, list)
    assert len(items) == 15
    assert MANIFEST.scheme == SCHEME_A.params_hash
    assert MANIFEST.scheme_name == "elgamal"
    with pytest.raises(InvalidInput, match=r"scheme A .* has no dealer"):
        MANIFEST.require_dealer()


@pytest.mark.parametrize("election", ELECTIONS, ids=[e.name for e in ELECTIONS])
def test_the_yaml_form_says_the_scheme_in_words_and_round_trips(election: Election) -> None:
    mapping = election.manifest.to_mapping()
    scheme: Any = mapping["scheme"]
    assert scheme["name"] == election.name
    assert scheme["description"] == SCHEME_DESCRIPTIONS[election.name]
    assert ("dealer_trust" in scheme) == (election.name == "paillier")
    assert Manifest.from_mapping(mapping) == election.manifest


def test_the_plain_word_elgamal_is_scheme_a() -> None:
    assert Manifest.from_mapping({**document(), "scheme": "elgamal"}) == MANIFEST


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        ({"name": "paillier"}, "needs the dealer's key"),
        ({"name": "elgamal", "dealer": hex_key(DEALER)}, "has no dealer"),
        ({"name": "rsa"}, "unknown scheme 'rsa'"),
        ({"name": "paillier", "dealer": hex_key(GUARDIANS[0])}, "a key appears twice"),
        (
            {"name": "paillier", "dealer": hex_key(DEALER), "dealer_trust": "Trust me."},
            "not the trust statement",
        ),
        ({"name": "elgamal", "description": "fast"}, "not the words of scheme"),
        ({"name": "paillier", "dealer": hex_key(DEALER), "modulus": 1024}, "unknown fields"),
    ],
    ids=["no-dealer", "elgamal-dealer", "unknown", "shared-key", "trust", "description", "field"],
)
def test_a_scheme_the_mapping_gets_wrong_is_refused(scheme: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Manifest.from_mapping({**document(), "scheme": scheme})


MANIFEST_B_ITEM = ["threshold-paillier", 2048, DEALER.verify_key.encode(), DEALER_TRUST]


def _with_item(manifest: Manifest, change: Callable[[list[Any]], None]) -> bytes:
    value = encoding.decode(manifest.to_tlv())
    assert isinstance(value, list)
    change(value)
    return encoding.encode(value)


@pytest.mark.parametrize(
    ("manifest", "change", "message"),
    [
        (MANIFEST_B, lambda v: v[15].__setitem__(3, "Trust me."), "trust statement"),
        (MANIFEST_B, lambda v: v[15].__setitem__(1, 1024), "2048-bit modulus"),
        (MANIFEST_B, lambda v: v.pop(), "needs the dealer"),
        (MANIFEST, lambda v: v.append(MANIFEST_B_ITEM), "expected 15 items"),
    ],
    ids=["trust", "size", "no-dealer-item", "scheme-a-with-dealer"],
)
def test_the_canonical_form_refuses_a_changed_scheme_item(
    manifest: Manifest, change: Callable[[list[Any]], None], message: str
) -> None:
    with pytest.raises(DecodeError, match=message):
        Manifest.from_tlv(_with_item(manifest, change))


# --- the election context -------------------------------------------------------------------------


def test_a_scheme_b_context_binds_the_dealers_whole_key() -> None:
    assert CONTEXT_B.paillier_key == DEALT.public_key
    assert CONTEXT_B.base_hash != CONTEXT.base_hash
    again = ElectionContext.for_paillier(MANIFEST_B, DEALT.public_key)
    assert again.extended_hash == CONTEXT_B.extended_hash
    # Another v (same n) and another modulus both give another H_E.
    redealt = deal_from_primes(P, Q, 3, 2)
    for other in (redealt.public_key, other_dealt(3, 2).public_key):
        assert ElectionContext.for_paillier(MANIFEST_B, other).extended_hash != again.extended_hash


def test_each_scheme_refuses_the_other_ones_key() -> None:
    with pytest.raises(InvalidInput, match=r"scheme B .* dealer's"):
        ElectionContext.create(MANIFEST_B, [p.commitments() for p in POLYNOMIALS])
    with pytest.raises(InvalidInput, match=r"scheme A .* no Paillier key"):
        ElectionContext.for_paillier(MANIFEST, DEALT.public_key)
    with pytest.raises(InvalidInput, match="no joint ElGamal key"):
        _ = CONTEXT_B.joint_key
    with pytest.raises(InvalidInput, match="no Paillier key"):
        _ = CONTEXT.paillier_key


def test_a_key_for_another_roster_or_size_does_not_fit_the_manifest() -> None:
    with pytest.raises(InvalidInput, match="dealt to 4 guardians"):
        check_paillier_key(MANIFEST_B, deal_from_primes(P, Q, 4, 2).public_key)
    with pytest.raises(InvalidInput, match="quorum 3"):
        check_paillier_key(MANIFEST_B, deal_from_primes(P, Q, 3, 3).public_key)
    small = safe_prime(paillier.MIN_PRIME_BITS), safe_prime(paillier.MIN_PRIME_BITS)
    toy: PaillierPublicKey = deal_from_primes(*small, 3, 2).public_key
    with pytest.raises(InvalidInput, match="names 2048"):
        check_paillier_key(MANIFEST_B, toy)


@pytest.mark.parametrize("election", ELECTIONS, ids=[e.name for e in ELECTIONS])
def test_the_key_travels_to_worker_processes_as_bytes(election: Election) -> None:
    data = election.context.key_bytes()
    assert ElectionContext.from_key_bytes(election.manifest, data) == election.context
    with pytest.raises(DecodeError):
        ElectionContext.from_key_bytes(election.manifest, encoding.encode([[b"\x00" * 32]]))


def test_scheme_b_entries_decode_only_with_the_context() -> None:
    ballot = cast_in(ELECTIONS[1]).ballot
    with pytest.raises(DecodeError, match="dealer's key"):
        EncryptedBallot.from_tlv(ballot.to_tlv(), MANIFEST_B)
    with pytest.raises(InvalidInput, match="dealer's key"):
        aggregate(MANIFEST_B, [ballot])


# --- ballots, audits and tallies: one code path ---------------------------------------------------


def test_an_honest_ballot_verifies_round_trips_and_is_bound(election: Election) -> None:
    result = cast_in(election)
    ballot = result.ballot
    verify_ballot(ballot, election.context)
    decoded = EncryptedBallot.from_tlv(ballot.to_tlv(), election.context)
    assert decoded == ballot
    assert decoded.to_tlv() == ballot.to_tlv()
    assert decoded.confirmation_code(election.context) == ballot.confirmation_code(election.context)
    copied = dataclasses.replace(ballot, credential=SigningKey(b"\x77" * 32).verify_key)
    with pytest.raises(ProofError):
        verify_ballot(copied, election.context)
    assert copied.confirmation_code(election.context) != ballot.confirmation_code(election.context)


def test_a_ballot_does_not_verify_under_the_other_scheme(election: Election) -> None:
    ballot = cast_in(election).ballot
    other = ELECTIONS[0] if election is ELECTIONS[1] else ELECTIONS[1]
    with pytest.raises(DecodeError):
        EncryptedBallot.from_tlv(ballot.to_tlv(), other.context)


def test_an_audit_recomputes_from_the_seed_in_either_scheme(election: Election) -> None:
    result = cast_in(election, "south")
    reveal = AuditReveal(result.ballot, result.seed, plaintext("south").votes)
    decoded = AuditReveal.from_tlv(reveal.to_tlv(), election.context)
    assert decoded == reveal
    verify_audit(decoded, election.context)
    lying = dataclasses.replace(reveal, votes=plaintext("north").votes[:1] + reveal.votes[1:])
    with pytest.raises(AuditMismatch):
        verify_audit(lying, election.context)
    with pytest.raises(AuditMismatch, match="does not re-encrypt"):
        verify_audit(dataclasses.replace(reveal, seed=new_ballot_seed()), election.context)


@functools.cache
def tallied(name: str) -> tuple[EncryptedTally[Any], dict[int, GuardianShares[Any]]]:
    """Three voters' tally in the named scheme and every guardian's shares (computed once: a
    scheme B share of the 13 aggregates takes about a second)."""
    election = next(e for e in ELECTIONS if e.name == name)
    voters = [SigningKey(bytes([0x70 + i]) * 32) for i in range(3)]
    styles = ("north", "south", "north")
    cast = {
        10 + i: cast_in(election, style, voter).ballot
        for i, (style, voter) in enumerate(zip(styles, voters, strict=True))
    }
    tally = encrypted_tally(election.context, cast)
    return tally, election.shares(tally.totals, (1, 2, 3))


def test_the_tally_decrypts_to_the_sum_of_the_votes(election: Election) -> None:
    tally, shares = tallied(election.name)
    assert tally.counted == (10, 11, 12)
    assert EncryptedTally.from_tlv(tally.to_tlv(), election.context) == tally
    checked: dict[int, GuardianShares[Any]] = {}
    for guardian in (1, 3):
        signer = [GUARDIANS[guardian - 1].verify_key]
        body = shares[guardian].to_tlv()
        checked[guardian] = check_guardian_shares(body, signer, election.context, tally)
        assert checked[guardian] == shares[guardian]
    result = tally_result(election.context, tally, checked, registered=3)
    assert result.guardians == (1, 3)
    assert result.counts["referendum"] == (2, 1)
    assert result.counts["head"] == (0, 2, 0)
    assert result.counts["council/north"] == (0, 0, 2, 0, 0)
    assert result.counts["council/south"] == (0, 0, 1, 0, 0)
    other = tally_result(election.context, tally, {1: shares[1], 2: shares[2]}, registered=3)
    assert other.counts == result.counts


def test_a_share_of_another_aggregate_is_refused(election: Election) -> None:
    tally, shares = tallied(election.name)
    swapped = dict(shares[2].shares)
    swapped["referendum"] = tuple(reversed(swapped["referendum"]))
    forged = dataclasses.replace(shares[2], shares=swapped)
    with pytest.raises(InvalidInput, match=r"guardian 2's share of referendum\[0\] fails"):
        check_guardian_shares(forged.to_tlv(), [GUARDIANS[1].verify_key], election.context, tally)


def test_combining_too_few_shares_or_a_wrong_bound_is_refused(election: Election) -> None:
    tally, shares = tallied(election.name)
    with pytest.raises(InvalidInput, match="decrypting needs 2"):
        tally_result(election.context, tally, {1: shares[1]}, registered=3)
    yes = tally.totals["referendum"][0]
    pair = {g: shares[g].shares["referendum"][0] for g in (1, 2)}
    with pytest.raises(TallyOutOfRange):
        election.context.scheme.combine(yes, pair, 2, 1)  # two "yes" do not fit [0, 1]


def test_plaintext_ballots_are_scheme_free() -> None:
    """The voter's choices do not depend on the scheme: the same plaintext under both."""
    for election in ELECTIONS:
        assert PlaintextBallot.from_choices(
            election.manifest, "north", {"referendum": ["yes"]}
        ).votes[0] == (1, 0)


def test_both_schemes_implement_the_election_interface() -> None:
    assert isinstance(CONTEXT.scheme, ElGamalElection)
    assert isinstance(CONTEXT_B.scheme, PaillierElection)
    assert (
        CONTEXT_B.paillier.params_hash == paillier.ThresholdPaillier(DEALT.public_key).params_hash
    )
