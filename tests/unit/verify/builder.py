"""A small election built entry by entry, for the verifier's unit tests.

This is test code, so it may use the prover (``encrypt_ballot``, ``prove_*``, the guardians'
side of the key ceremony) to make honest inputs; the verifier itself never does. The election
has one referendum and one council contest (up to two marks), three guardians with quorum two,
three officials with quorum two, three witnesses with quorum two and three voters. The key
ceremony runs round by round over the record (``run_ceremony``). The honest election's entries,
in order::

    0 manifest   1-3 ceremony-transport   4-6 ceremony-commit   7-9 guardian-key
    10-12 ceremony-shares   13 joint-key   14-16 key-check   17 credentials   18 open
    19 ballot (voter 0)   20 audit (voter 1)   21 ballot (voter 1)   22 ballot (voter 2)
    23 ballot (voter 0 again, sequence 1)   24 close   25 tally   26-27 decryption-share
    (guardians 1 and 3)   28 result

:func:`build` runs the same election with a ``tamper`` hook in the ceremony (a guardian who
cheats in one round; the honest ones complain, the accused answers). If the public judgement
disqualifies somebody, the ceremony should restart; the record built here goes on regardless,
as a lying board would, so that the verifier has something to reject.
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
from evote.ceremony import messages
from evote.ceremony.messages import GuardianKey, JointKey
from evote.ceremony.rounds import CeremonyRun, Tamper, post_key_checks, run_ceremony
from evote.ceremony.trustee import Trustee
from evote.crypto import dlog, threshold
from evote.crypto.group import Scalar
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
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
from evote.record.kinds import CredentialList, PhaseMark


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
    ceremony: CeremonyRun

    def with_entries(self, entries: Sequence[Entry]) -> Election:
        return replace(self, entries=tuple(entries))

    def index(self, kind: str) -> list[int]:
        return [i for i, e in enumerate(self.entries) if e.kind == kind]

    def at(self, kind: str) -> int:
        """The index of the one entry of ``kind``."""
        (index,) = self.index(kind)
        return index

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


def guardian_entry(kind: str, body: bytes, guardian: int) -> Entry:
    return entry(kind, body, [GUARDIANS[guardian - 1]])


def ceremony(tamper: Tamper | None = None) -> tuple[list[Entry], CeremonyRun]:
    """The key ceremony's entries (rounds 0-4, complaints and answers included) and its run."""
    posted: list[Entry] = []

    def post(kind: str, body: bytes, guardian: int) -> None:
        posted.append(guardian_entry(kind, body, guardian))

    run = run_ceremony(MANIFEST, post) if tamper is None else run_ceremony(MANIFEST, post, tamper)
    return posted, run


def _key_shares(trustees: Sequence[Trustee]) -> tuple[Scalar, ...]:
    """Each guardian's ``z_ℓ``; for a ceremony the judgement stopped (nobody finished), summed
    from the dealers' polynomials, which they still hold, as if it had gone on."""
    shares = []
    for trustee in trustees:
        if trustee.key_share is None:
            trustee.key_share = Scalar(sum(t.share_for(trustee.index).value for t in trustees))
        shares.append(trustee.key_share)
    return tuple(shares)


def build(tamper: Tamper | None = None) -> Election:
    """The whole election, its ceremony run with ``tamper`` (which must leave every posted
    commitment a dealer's real one, so that the guardians can still decrypt)."""
    ceremony_entries, run = ceremony(tamper)
    guardian_keys = tuple(
        GuardianKey.from_tlv(e.body) for e in ceremony_entries if e.kind == messages.REVEAL
    )
    context = ElectionContext.create(MANIFEST, [g.commitments for g in guardian_keys])
    key_shares = _key_shares(run.trustees)
    key_checks: list[Entry] = []
    post_key_checks(
        run.trustees,
        context,
        lambda kind, body, guardian: key_checks.append(guardian_entry(kind, body, guardian)),
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
        *ceremony_entries,
        entry(kinds.JOINT_KEY, joint.to_tlv(), [*QUORUM, *GUARDIANS]),
        *key_checks,
        entry(kinds.CREDENTIALS, credentials.to_tlv(), [AUTHORITY]),
        entry(kinds.OPEN, PhaseMark("open", 1000).to_tlv(), QUORUM),
        entry(kinds.BALLOT, first.to_tlv(), [VOTERS[0]]),
        entry(kinds.AUDIT, reveal.to_tlv(), [VOTERS[1]]),
        entry(kinds.BALLOT, second.to_tlv(), [VOTERS[1]]),
        entry(kinds.BALLOT, third.to_tlv(), [VOTERS[2]]),
        entry(kinds.BALLOT, revote.to_tlv(), [VOTERS[0]]),
        entry(kinds.CLOSE, PhaseMark("close", 2000).to_tlv(), QUORUM),
    ]
    counted = [len(entries) - 4, len(entries) - 3, len(entries) - 2]
    entries += tally_entries(context, key_shares, counted, [second, third, revote])
    return Election(
        context,
        key_shares,
        guardian_keys,
        (first, second, third, revote),
        reveal,
        tuple(entries),
        run,
    )


@functools.cache
def election() -> Election:
    """The honest election."""
    return build()


def retally(election: Election, entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` with the tally, shares and result rebuilt if entries added or removed before
    the ballots moved the counted ballots (the honest tallier counts them where they now are)."""
    tally_at = next(i for i, e in enumerate(entries) if e.kind == kinds.TALLY)
    counted = election.ballots[1:]
    positions = [
        next(i for i, e in enumerate(entries) if e.kind == kinds.BALLOT and e.body == b.to_tlv())
        for b in counted
    ]
    if list(EncryptedTally.from_tlv(entries[tally_at].body, MANIFEST).counted) == positions:
        return list(entries)
    return [
        *entries[:tally_at],
        *tally_entries(election.context, election.key_shares, positions, counted),
    ]


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
