"""The verifier's own scheme B recomputations agree with the election layer's, and the scheme B
forms of checks 2, 3, 4, 5 and 14 on hand-built entries.

The verifier derives ``H_F``, ``H_P``, ``H_B`` and ``H_E`` from its own constants and the record;
the election layer (the prover's side) derives them too: two implementations that must agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evote.board.entry import Entry
from evote.ceremony.dealer import KeyHolder, seal_dealing
from evote.ceremony.messages import TransportKey
from evote.crypto.paillier import (
    FAMILY_HASH,
    MIN_PRIME_BITS,
    ThresholdPaillier,
    deal_from_primes,
    safe_prime,
)
from evote.crypto.sealing import TransportPrivateKey, TransportPublicKey
from evote.crypto.signing import SigningKey
from evote.election.manifest import DEALER_TRUST
from evote.errors import CheckFailed
from evote.record import kinds
from evote.verify import checks
from tests.unit.election.test_manifest import GUARDIANS, OFFICIALS
from tests.unit.election.test_schemes import CONTEXT_B, DEALER, DEALT, MANIFEST_B

ELECTION_ID = MANIFEST_B.election_id


def signed(kind: str, body: bytes, signers: Sequence[SigningKey]) -> Entry:
    return Entry.create(kind, ELECTION_ID, body, signers)


def ceremony(*, key_signers: Sequence[SigningKey] | None = None, toy: bool = False) -> list[Entry]:
    """The manifest and the dealer's ceremony as a scheme B record starts."""
    team = [KeyHolder(MANIFEST_B, i) for i in (1, 2, 3)]
    transport = {holder.index: holder.transport_key() for holder in team}
    output = DEALT
    if toy:
        primes = safe_prime(MIN_PRIME_BITS), safe_prime(MIN_PRIME_BITS)
        output = deal_from_primes(*primes, 3, 2)
    dealing = seal_dealing(MANIFEST_B, transport, output, TransportPrivateKey.generate())
    context = team[0].accept(dealing.dealt, dealing.sealed_for(1)) if not toy else None
    entries = [
        signed(kinds.MANIFEST, MANIFEST_B.to_tlv(), OFFICIALS[:2]),
        *(
            signed(kinds.CEREMONY_TRANSPORT, transport[i].to_tlv(), [GUARDIANS[i - 1]])
            for i in (1, 2, 3)
        ),
        signed(
            kinds.PAILLIER_KEY,
            dealing.dealt.to_tlv(),
            [DEALER, *OFFICIALS[:2]] if key_signers is None else key_signers,
        ),
        *(signed(kinds.PAILLIER_SHARE, s.to_tlv(), [DEALER]) for s in dealing.sealed),
    ]
    if context is not None:
        for holder in team[1:]:
            holder.accept(dealing.dealt, dealing.sealed_for(holder.index))
        key = context.paillier_key
        entries += [
            signed(kinds.PAILLIER_KEY_CHECK, h.key_check(context).to_tlv(key), [GUARDIANS[i]])
            for i, h in enumerate(team)
        ]
    return entries


ENTRIES = ceremony()


def test_the_verifiers_hashes_are_the_election_layers() -> None:
    assert checks.paillier_family_hash() == FAMILY_HASH == MANIFEST_B.scheme
    assert (
        checks.paillier_params_hash(DEALT.public_key)
        == ThresholdPaillier(DEALT.public_key).params_hash
    )
    assert checks.base_hash(MANIFEST_B) == CONTEXT_B.base_hash
    derived = checks.derive_paillier_context(MANIFEST_B, DEALT.public_key)
    assert derived.extended_hash == CONTEXT_B.extended_hash
    assert derived == CONTEXT_B


def test_the_worker_setup_carries_the_dealers_key() -> None:
    setup = checks.ProofSetup.of(CONTEXT_B)
    assert setup.commitments == ()
    assert setup.context() == CONTEXT_B


def test_the_manifest_check_notes_the_dealer_trust_assumption() -> None:
    findings, info = checks.check_manifest(ENTRIES[0].encoded, ELECTION_ID)
    assert findings.passed
    assert info is not None
    assert any(DEALER_TRUST in note for note in findings.notes)


def test_the_dealers_ceremony_checks_out() -> None:
    assert checks.check_dealer_ceremony(ENTRIES, MANIFEST_B).passed
    findings, context = checks.check_paillier_key(ENTRIES, MANIFEST_B)
    assert findings.passed
    assert context == CONTEXT_B
    assert checks.check_key_checks(ENTRIES, CONTEXT_B).passed
    phases = checks.check_phases(ENTRIES, MANIFEST_B)  # the rest of the election is not built
    assert {str(f) for f in phases.failures} == {
        str(CheckFailed(checks.PHASES, f"there is no {kind} entry"))
        for kind in (kinds.CREDENTIALS, kinds.OPEN, kinds.CLOSE, kinds.TALLY, kinds.RESULT)
    }


def test_a_key_signed_by_a_guardian_as_well() -> None:
    entries = ceremony(key_signers=[DEALER, *OFFICIALS[:2], GUARDIANS[0]])
    findings, context = checks.check_paillier_key(entries, MANIFEST_B)
    at = next(i for i, e in enumerate(entries) if e.kind == kinds.PAILLIER_KEY)
    assert [(f.entry, f.field) for f in findings.failures] == [(at, "signatures")]
    assert "no role here" in str(findings.failures[0])
    assert context is not None  # the key itself is fine: later checks can run


def test_a_test_sized_modulus_is_refused() -> None:
    entries = ceremony(toy=True)
    findings, context = checks.check_paillier_key(entries, MANIFEST_B)
    assert context is None
    assert [f.field for f in findings.failures] == ["key.n"]
    assert "names 2048" in str(findings.failures[0])


def test_a_scheme_a_kind_is_out_of_a_scheme_b_record() -> None:
    joint = signed(kinds.JOINT_KEY, b"", OFFICIALS[:2])
    findings = checks.check_phases([*ENTRIES[:5], joint, *ENTRIES[5:]], MANIFEST_B)
    assert any(
        f.entry == 5 and "not a kind of the election record of a scheme B" in str(f)
        for f in findings.failures
    )


def test_a_transport_key_of_small_order_disqualifies_its_guardian() -> None:
    bad = TransportKey(2, TransportPublicKey(bytes(32)))
    entries = [*ENTRIES]
    entries[2] = signed(kinds.CEREMONY_TRANSPORT, bad.to_tlv(), [GUARDIANS[1]])
    findings = checks.check_dealer_ceremony(entries, MANIFEST_B)
    assert [(f.entry, f.field) for f in findings.failures] == [(2, "key")]


@pytest.mark.parametrize("guardian", [1, 2, 3])
def test_each_key_check_is_bound_to_its_guardians_v_i(guardian: int) -> None:
    """A guardian's key check posted as another's fails: v_i differs."""
    checks_at = [i for i, e in enumerate(ENTRIES) if e.kind == kinds.PAILLIER_KEY_CHECK]
    other = guardian % 3 + 1
    entries = [*ENTRIES]
    moved = ENTRIES[checks_at[guardian - 1]]
    entries[checks_at[other - 1]] = signed(moved.kind, moved.body, [GUARDIANS[guardian - 1]])
    findings = checks.check_key_checks(entries, CONTEXT_B)
    assert f"guardian {guardian} already posted its key check" in "\n".join(
        str(f) for f in findings.failures
    )
    assert f"guardian {other} posted no key check" in "\n".join(str(f) for f in findings.failures)
