"""A small election built entry by entry, for the verifier's unit tests.

This is test code, so it may use the prover (``encrypt_ballot``, ``prove_*``) to make honest
inputs; the verifier itself never does. The election has one referendum and one council
contest (up to two marks), three guardians with quorum two, three officials with quorum two,
three witnesses with quorum two and three voters. Its entries, in order::

    0 manifest   1-3 guardian-key   4 joint-key   5 credentials   6 open
    7 ballot (voter 0)   8 audit (voter 1)   9 ballot (voter 1)   10 ballot (voter 2)
    11 ballot (voter 0 again, sequence 1)   12 close   13 tally   14-15 decryption-share
    (guardians 1 and 3)   16 result
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evote.board.checkpoint import open_checkpoint
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.store import MemoryStore
from evote.board.witness import Witness
from evote.crypto import dlog, threshold
from evote.crypto.group import Scalar
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share
from evote.crypto.proofs.schnorr import prove_coefficient
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext, base_hash
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    PerPart,
    TallyResult,
    aggregate,
    target,
)
from evote.record import kinds
from evote.record.kinds import CredentialList, GuardianKey, JointKey, PhaseMark


def key(number: int) -> SigningKey:
    return SigningKey(hashlib.sha256(f"verify unit test key {number}".encode()).digest())


OFFICIALS = (key(1), key(2), key(3))
AUTHORITY = key(4)
GUARDIANS = (key(5), key(6), key(7))
LOG = key(8)
WITNESSES = (("w1.test", key(9)), ("w2.test", key(10)), ("w3.test", key(11)))
VOTERS = (key(12), key(13), key(14))
STRANGER = key(15)
QUORUM = OFFICIALS[:2]


def _hex(signing_key: SigningKey) -> str:
    return signing_key.verify_key.encode().hex()


def manifest_mapping() -> dict[str, object]:
    return {
        "name": "Verifier unit test election",
        "contests": [
            {"id": "referendum", "kind": "referendum", "title": "Yes or no?", "max_marks": 1},
            {
                "id": "council",
                "kind": "candidates",
                "title": "Council",
                "candidates": ["a", "b", "c"],
                "min_marks": 0,
                "max_marks": 2,
                "seats": 2,
            },
        ],
        "officials": {"keys": [_hex(k) for k in OFFICIALS], "quorum": 2},
        "credential_authority": _hex(AUTHORITY),
        "guardians": {"keys": [_hex(k) for k in GUARDIANS], "quorum": 2},
        "log": {"origin": "evote.test/verify-unit", "key": _hex(LOG)},
        "witnesses": {"keys": {name: _hex(k) for name, k in WITNESSES}, "quorum": 2},
    }


MANIFEST = Manifest.from_mapping(manifest_mapping())
ELECTION_ID = MANIFEST.election_id


def entry(
    kind: str, body: bytes, signers: Sequence[SigningKey], election_id: bytes = ELECTION_ID
) -> Entry:
    return Entry.create(kind, election_id, body, signers)


def plaintext(referendum: str | None, council: Sequence[str]) -> PlaintextBallot:
    choices: dict[str, list[str]] = {"council": list(council)}
    if referendum is not None:
        choices["referendum"] = [referendum]
    return PlaintextBallot.from_choices(MANIFEST, "default", choices)


@dataclass(frozen=True)
class Election:
    """The honest election: its entries and every party's secrets."""

    context: ElectionContext
    key_shares: tuple[Scalar, ...]
    guardian_keys: tuple[GuardianKey, ...]
    ballots: tuple[EncryptedBallot, ...]
    audit: AuditReveal
    entries: tuple[Entry, ...]

    def with_entries(self, entries: Sequence[Entry]) -> Election:
        return replace(self, entries=tuple(entries))

    def index(self, kind: str) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.kind == kind]

    def ballot_entry(self, ballot: EncryptedBallot, signer: SigningKey | None = None) -> Entry:
        voter = signer or next(v for v in VOTERS if v.verify_key == ballot.credential)
        return entry(kinds.BALLOT, ballot.to_tlv(), [voter])

    def new_ballot(
        self, voter: int, sequence: int, choice: PlaintextBallot | None = None
    ) -> EncryptedBallot:
        ballot = choice or plaintext("no", ["c"])
        return encrypt_ballot(ballot, self.context, VOTERS[voter].verify_key, sequence).ballot


def decrypt(
    context: ElectionContext,
    key_shares: Sequence[Scalar],
    totals: PerPart,
    guardians: Sequence[int],
    counted: int,
) -> tuple[dict[int, GuardianShares], dict[str, tuple[int, ...]]]:
    """Guardians' shares of every aggregate, and the counts they combine to."""
    shares = {
        g: GuardianShares(
            g,
            {
                part: tuple(
                    prove_decryption_share(ct, key_shares[g - 1], g, target(context, part, o))
                    for o, ct in enumerate(cts)
                )
                for part, cts in totals.items()
            },
        )
        for g in guardians
    }
    counts = {}
    for part, cts in totals.items():
        values = []
        for option, ct in enumerate(cts):
            if ct.alpha.is_identity():
                values.append(dlog.discrete_log(ct.beta, max(counted, 1)))
                continue
            points = {g: shares[g].shares[part][option].share for g in guardians}
            combined = threshold.combine_shares(points, context.manifest.guardian_quorum)
            values.append(dlog.discrete_log(ct.beta - combined, max(counted, 1)))
        counts[part] = tuple(values)
    return shares, counts


def tally_entries(
    context: ElectionContext,
    key_shares: Sequence[Scalar],
    counted: Sequence[int],
    ballots: Sequence[EncryptedBallot],
    guardians: Sequence[int] = (1, 3),
) -> list[Entry]:
    """The tally, share and result entries for the given counted indices and their ballots."""
    totals = aggregate(MANIFEST, ballots)
    shares, counts = decrypt(context, key_shares, totals, guardians, len(counted))
    lines = outcome_lines(MANIFEST, counts, registered=len(VOTERS), participants=len(counted))
    return [
        entry(kinds.TALLY, EncryptedTally(tuple(counted), totals).to_tlv(), QUORUM),
        *(entry(kinds.DECRYPTION_SHARE, shares[g].to_tlv(), [GUARDIANS[g - 1]]) for g in guardians),
        entry(kinds.RESULT, TallyResult(tuple(guardians), counts, lines).to_tlv(), QUORUM),
    ]


@functools.cache
def election() -> Election:
    hashed_base = base_hash(MANIFEST)
    polynomials = [threshold.Polynomial.random(2) for _ in GUARDIANS]
    guardian_keys = []
    for index, polynomial in enumerate(polynomials, 1):
        pairs = [
            prove_coefficient(a, hashed_base, index, j)
            for j, a in enumerate(polynomial.coefficients)
        ]
        guardian_keys.append(
            GuardianKey(index, tuple(c for c, _ in pairs), tuple(p for _, p in pairs))
        )
    context = ElectionContext.create(MANIFEST, [g.commitments for g in guardian_keys])
    key_shares = tuple(
        Scalar(sum(p.evaluate(ell).value for p in polynomials))
        for ell in range(1, len(GUARDIANS) + 1)
    )
    credentials = CredentialList(
        tuple(sorted((v.verify_key for v in VOTERS), key=lambda k: k.encode()))
    )
    choices = [
        plaintext("yes", ["a", "b"]),
        plaintext("no", ["b"]),
        plaintext(None, []),
        plaintext("yes", ["c"]),
    ]
    first = encrypt_ballot(choices[0], context, VOTERS[0].verify_key, 0).ballot
    audited = encrypt_ballot(choices[1], context, VOTERS[1].verify_key, 0)
    second = encrypt_ballot(choices[1], context, VOTERS[1].verify_key, 0).ballot
    third = encrypt_ballot(choices[2], context, VOTERS[2].verify_key, 0).ballot
    revote = encrypt_ballot(choices[3], context, VOTERS[0].verify_key, 1).ballot
    reveal = AuditReveal(audited.ballot, audited.seed, choices[1].votes)
    joint = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
    entries = [
        entry(kinds.MANIFEST, MANIFEST.to_tlv(), QUORUM),
        *(
            entry(kinds.GUARDIAN_KEY, g.to_tlv(), [GUARDIANS[g.guardian - 1]])
            for g in guardian_keys
        ),
        entry(kinds.JOINT_KEY, joint.to_tlv(), [*QUORUM, *GUARDIANS]),
        entry(kinds.CREDENTIALS, credentials.to_tlv(), [AUTHORITY]),
        entry(kinds.OPEN, PhaseMark("open", 1000).to_tlv(), QUORUM),
        entry(kinds.BALLOT, first.to_tlv(), [VOTERS[0]]),
        entry(kinds.AUDIT, reveal.to_tlv(), [VOTERS[1]]),
        entry(kinds.BALLOT, second.to_tlv(), [VOTERS[1]]),
        entry(kinds.BALLOT, third.to_tlv(), [VOTERS[2]]),
        entry(kinds.BALLOT, revote.to_tlv(), [VOTERS[0]]),
        entry(kinds.CLOSE, PhaseMark("close", 2000).to_tlv(), QUORUM),
    ]
    entries += tally_entries(context, key_shares, [9, 10, 11], [second, third, revote])
    return Election(
        context,
        key_shares,
        tuple(guardian_keys),
        (first, second, third, revote),
        reveal,
        tuple(entries),
    )


def write_record(entries: Sequence[Entry], directory: Path, *, witness: bool = True) -> Path:
    """Append the entries one by one to a fresh board and export it; the witnesses cosign the
    checkpoint just after the (first) close entry and the last one, unless ``witness`` is off."""
    board = BulletinBoard(
        MemoryStore(),
        LOG,
        MANIFEST.log_origin,
        kinds.entry_rules(ELECTION_ID),
        MANIFEST.witness_keys(),
    )
    witnesses = [Witness(name, k, MANIFEST.log_origin, LOG.verify_key) for name, k in WITNESSES]

    def witness_round(now: int) -> None:
        latest = board.latest_checkpoint()
        size = open_checkpoint(latest, MANIFEST.log_origin, LOG.verify_key)[0].size
        for w in witnesses:
            proof = board.consistency_proof(w.state.size, size)
            board.add_cosignature(size, w.add_checkpoint(latest, w.state.size, proof, now))

    closes = [i for i, e in enumerate(entries) if e.kind == kinds.CLOSE]
    for index, item in enumerate(entries):
        board.append([item.encoded])
        if witness and closes and index == closes[0]:
            witness_round(2000)
    if witness:
        witness_round(3000)
    export_record(board, directory)
    return directory
