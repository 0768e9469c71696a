"""The numbered checks of ``docs/election-record.md``, one function each.

Every function takes public data already read from the record and returns its
:class:`Findings`: how many items it examined and every failure, each a
:class:`~evote.errors.CheckFailed` naming the check, the entry index and the field. Functions
that establish something later checks need (the election context, the credential list, which
ballots are valid, the decryption shares that verified) return it as well; the runner
(:mod:`evote.verify.runner`) decides what runs and what is skipped.

Everything is recomputed here from the specification rather than taken from prover code:
``H_P``, ``H_B``, ``H_E``, ``K`` and every ``K̂_ℓ`` (crypto spec §3.4, §3.5), the ceremony's
commitment hashes ``h_i`` and Feldman share checks, the key-check test ciphertext, the ballot
binding ``D_b`` and every contest sum (§3.6), the aggregates (§3.8), the Lagrange combination and
``count·B = Bc − Σ w_ℓ·M_ℓ`` (§3.9.2), with the group arithmetic and hashing of the crypto layer.
Proofs are checked with its ``verify_*`` functions only, and audits with the Benaloh check
(:func:`evote.election.audit.verify_audit`); nothing here proves or encrypts. Checks 3 to 14
run only on a record that passed check 1, so every entry's envelope signatures are already
known to verify; they check *who* signed.

Where the specification leaves a choice, this module takes the reading below, and says so in
its messages:

* a ballot whose ``α`` or ballot id already appeared in an *earlier* ballot entry is invalid
  (the first occurrence is not invalidated by a later copy, so copying a ballot cannot
  disenfranchise its voter); a ballot sharing an ``α`` or a ballot id with any audited ballot
  is invalid wherever the audit is;
* "after ``open``" and "before ``close``" refer to the first ``open`` and ``close`` entries;
* the ``open`` and ``close`` entries' official quorum (in the table of entries, but in no
  numbered check) is checked with the phases (check 3);
* checks 12 and 13 check the decryption of the tally *as posted*; whether it is the right
  tally is check 10;
* in the key ceremony (check 4) every failure is a disqualification and names the guardian it
  disqualifies: the guardian whose round message is missing, repeated, co-signed or wrong,
  the guardian who signed a message in another's name (which does not count as the other's),
  the dealer whose complaint went unanswered or was answered with a bad share, or who drew
  complaints from ``t`` guardians. A share revealed in clear that answers no complaint of its
  recipient, or before that complaint, disqualifies its dealer (a ``ceremony-share-reveal`` is
  an answer); a complaint repeated, about itself or about no guardian disqualifies its
  complainer. A complaint answered with a good share is *unfounded*: no failure, but the report
  notes it, since it stays on the record against the complainer;
* a ``key-check`` after ``open`` fails both the phase order (check 3) and check 14.

**Scheme B** (threshold Paillier with a trusted dealer, docs/election-record.md "Scheme B").
The numbered checks keep their numbers and their meaning where the two schemes agree; three
change their content: check 4 judges the dealer's ceremony (one usable transport key per
guardian, one share sealed to each, signed by the dealer alone), check 5 the dealer's key
entry (``H_B``, the key's validity and size, the dealer's and an official quorum's
signatures; the verifier recomputes ``H_P`` of the key and ``H_E`` from it), and check 14 every
guardian's acknowledgement (a proved share of the public test ciphertext against ``v_i``).
Ballots, audits, the tally, the shares and the result go through the same checks with the
scheme's arithmetic (:mod:`evote.verify.schemes`). The report notes the dealer trust
assumption the manifest states.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from evote.board.checkpoint import verify_witnessed
from evote.board.entry import Entry, signed_message
from evote.board.record import Record
from evote.ceremony.messages import (
    Commit,
    Complaint,
    DealtKey,
    GuardianKey,
    JointKey,
    KeyCheck,
    PaillierKeyCheck,
    SealedKeyShare,
    SealedShares,
    ShareReveal,
    TransportKey,
)
from evote.crypto import encoding, paillier
from evote.crypto.elgamal import Ciphertext
from evote.crypto.group import BASE, IDENTITY, L, Point, Scalar, base_mul, mul
from evote.crypto.hashing import hash32, hash_to_scalar
from evote.crypto.paillier import PaillierPublicKey
from evote.crypto.proofs.chaum_pedersen import DecryptionShare, verify_decryption_share
from evote.crypto.proofs.schnorr import verify_coefficient
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.sealing import usable
from evote.crypto.signing import VerifyKey
from evote.election.audit import AuditReveal, verify_audit
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.manifest import DEALER_TRUST, PAILLIER, Manifest
from evote.election.outcome import outcome_lines
from evote.election.schemes import ElGamalElection, PaillierElection
from evote.election.tally import EncryptedTally, GuardianShares, TallyResult
from evote.errors import (
    CheckFailed,
    DecodeError,
    EvoteError,
    InvalidInput,
    InvalidSignature,
    ProofError,
    RecordError,
    VerificationError,
)
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.verify import load
from evote.verify.schemes import RecordScheme, record_scheme

T = TypeVar("T")

# --- the catalogue of checks ---------------------------------------------------------------------

RECORD: Final = "record"
MANIFEST: Final = "manifest"
PHASES: Final = "phases"
GUARDIANS: Final = "guardians"
JOINT_KEY: Final = "joint-key"
CREDENTIALS: Final = "credentials"
BALLOTS: Final = "ballots"
AUDITS: Final = "audits"
COUNTED_SET: Final = "counted-set"
TALLY: Final = "tally"
CLOSING_CHECKPOINT: Final = "closing-checkpoint"
DECRYPTION_SHARES: Final = "decryption-shares"
RESULT: Final = "result"
KEY_CHECKS: Final = "key-checks"


@dataclass(frozen=True, slots=True)
class CheckInfo:
    number: int
    name: str
    title: str


#: The checks of docs/election-record.md, in their numbered order.
CHECKS: Final = (
    CheckInfo(1, RECORD, "files load; envelopes, signatures and checkpoints verify"),
    CheckInfo(2, MANIFEST, "entry 0 is the manifest of this election, signed by officials"),
    CheckInfo(3, PHASES, "entry kinds in phase order; one of each single entry"),
    CheckInfo(
        4,
        GUARDIANS,
        "key ceremony: every round, h_i, Schnorr proofs, shares, complaints answered "
        "(scheme B: transport keys, one share sealed to each guardian by the dealer)",
    ),
    CheckInfo(
        5,
        JOINT_KEY,
        "K, every K̂_ℓ and H_E recompute; officials and all guardians sign "
        "(scheme B: the dealer's key fits the manifest; dealer and officials sign)",
    ),
    CheckInfo(6, CREDENTIALS, "signed by the credential authority; sorted and distinct"),
    CheckInfo(7, BALLOTS, "signer, credential, timing, proofs, weeding, ids, sequence"),
    CheckInfo(8, AUDITS, "seed re-encrypts byte for byte; proofs; ballot id never cast"),
    CheckInfo(9, COUNTED_SET, "the tally counts each credential's last valid ballot"),
    CheckInfo(10, TALLY, "official quorum; aggregates equal the sums of counted ballots"),
    CheckInfo(11, CLOSING_CHECKPOINT, "a checkpoint covering close has a witness quorum"),
    CheckInfo(
        12, DECRYPTION_SHARES, "each share proof verifies against K̂_ℓ (or v_i) and the aggregate"
    ),
    CheckInfo(13, RESULT, "≥ t verified guardians; the shares decrypt every count; outcome lines"),
    CheckInfo(14, KEY_CHECKS, "before open, every guardian proves a share of the test ciphertext"),
)
CHECKS_BY_NAME: Final = {info.name: info for info in CHECKS}

#: ``protocol_version`` hashed into ``H_P`` (crypto spec §3.4): evote/v1.
PROTOCOL_VERSION: Final = 1


class Findings:
    """What one check found: the number of items it examined and every failure, in order."""

    def __init__(self, check: str) -> None:
        if check not in CHECKS_BY_NAME:
            raise InvalidInput(f"unknown check {check!r}")
        self.check = check
        self.checked = 0
        self.failures: list[CheckFailed] = []
        #: What a reader should know although nothing failed (an unfounded complaint).
        self.notes: list[str] = []

    def fail(
        self,
        message: str,
        *,
        entry: int | None = None,
        kind: str | None = None,
        field: str | None = None,
        cause: EvoteError | None = None,
    ) -> None:
        self.failures.append(
            CheckFailed(self.check, message, entry=entry, kind=kind, field=field, cause=cause)
        )

    def unparsed(self, item: Parsed[Any]) -> None:
        """Fail ``item``, whose body does not parse."""
        self.fail(
            f"the body does not parse: {item.error}",
            entry=item.index,
            kind=item.entry.kind,
            field="body",
            cause=item.error,
        )

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """One entry of a kind with its parsed body, or the reason it does not parse."""

    index: int
    entry: Entry
    body: T | None
    error: EvoteError | None


def parse_all(entries: Sequence[Entry], kind: str, parser: Callable[[bytes], T]) -> list[Parsed[T]]:
    """Every entry of ``kind``, in index order, with its body parsed by ``parser``."""
    items: list[Parsed[T]] = []
    for index, entry in enumerate(entries):
        if entry.kind != kind:
            continue
        try:
            items.append(Parsed(index, entry, parser(entry.body), None))
        except EvoteError as error:
            items.append(Parsed(index, entry, None, error))
    return items


def the_one(items: Sequence[Parsed[T]]) -> Parsed[T] | None:
    """The entry of a single kind, if there is exactly one and it parses."""
    if len(items) == 1 and items[0].body is not None:
        return items[0]
    return None


def _single_problems(findings: Findings, items: Sequence[Parsed[T]], kind: str) -> None:
    """Report a missing, repeated or unparseable single entry (used by the check owning it)."""
    if not items:
        findings.fail(f"there is no {kind} entry")
    for item in items[1:]:
        findings.fail(
            f"a second {kind} entry (the first is entry {items[0].index}); exactly one is allowed",
            entry=item.index,
            kind=kind,
        )
    for item in items:
        if item.error is not None:
            findings.unparsed(item)


def _short(key: VerifyKey) -> str:
    return key.encode().hex()[:16] + "…"


def _signer_list(entry: Entry) -> str:
    return ", ".join(_short(key) for key in entry.signers) or "nobody"


def _signed_by_exactly(
    findings: Findings, index: int, entry: Entry, key: VerifyKey, role: str
) -> bool:
    if list(entry.signers) != [key]:
        findings.fail(
            f"must be signed by {role} ({_short(key)}) and nobody else; "
            f"signed by {_signer_list(entry)}",
            entry=index,
            kind=entry.kind,
            field="signatures",
        )
        return False
    return True


def official_signers(entry: Entry, manifest: Manifest) -> int:
    """How many distinct officials of the manifest signed ``entry`` (what an official quorum
    counts: other signers, and a key that signed twice, add nothing)."""
    return len(set(entry.signers) & set(manifest.officials))


def _official_quorum(
    findings: Findings,
    index: int,
    entry: Entry,
    manifest: Manifest,
    *,
    also_allowed: Iterable[VerifyKey] = (),
) -> None:
    """An official quorum signed; every other signer is an official or in ``also_allowed``."""
    officials = set(manifest.officials)
    allowed = officials | set(also_allowed)
    strangers = [key for key in entry.signers if key not in allowed]
    if strangers:
        findings.fail(
            "signed by keys with no role here: " + ", ".join(_short(key) for key in strangers),
            entry=index,
            kind=entry.kind,
            field="signatures",
        )
    signed = official_signers(entry, manifest)
    if signed < manifest.official_quorum:
        findings.fail(
            f"signed by {signed} distinct officials; the quorum is {manifest.official_quorum}",
            entry=index,
            kind=entry.kind,
            field="signatures",
        )


# --- election hashes, recomputed (crypto spec §3.4) ----------------------------------------------


def params_hash() -> bytes:
    """``H_P`` from the built-in constants of the one parameter set this verifier knows."""
    return hash32("params", "edwards25519-prime-order", BASE, L, "sha512-tlv", PROTOCOL_VERSION)


#: Scheme B's family as the verifier knows it (crypto spec §4): 2048-bit ``n``, κ = 256.
PAILLIER_MODULUS_BITS: Final = 2048
PAILLIER_KAPPA: Final = 256


def paillier_family_hash() -> bytes:
    """What a scheme B manifest names, from the built-in constants of the one family this
    verifier knows: ``H32("paillier/family", "threshold-paillier", 2048, 256, "sha512-tlv", 1)``."""
    return hash32(
        "paillier/family",
        "threshold-paillier",
        PAILLIER_MODULUS_BITS,
        PAILLIER_KAPPA,
        "sha512-tlv",
        PROTOCOL_VERSION,
    )


def scheme_hash(manifest: Manifest) -> bytes:
    """The ``H_P`` slot of ``H_B``: scheme A's parameter hash or scheme B's family hash."""
    return paillier_family_hash() if manifest.scheme_name == PAILLIER else params_hash()


def base_hash(manifest: Manifest) -> bytes:
    """``H_B = H32("base", H_P, H_M, election_id, n, t, [guardian identity keys])``."""
    encoded = manifest.to_tlv()
    return hash32(
        "base",
        scheme_hash(manifest),
        hash32("manifest", encoded),
        hashlib.sha256(encoded).digest(),
        len(manifest.guardians),
        manifest.guardian_quorum,
        [key.encode() for key in manifest.guardians],
    )


def extended_hash(
    hashed_base: bytes,
    key: Point,
    commitments: Sequence[Sequence[Point]],
    verification_keys: Sequence[Point],
) -> bytes:
    """``H_E = H32("ext-base", H_B, K, [[K_{i,j}] per guardian], [K̂_1 … K̂_n])``."""
    return hash32(
        "ext-base", hashed_base, key, [list(c) for c in commitments], list(verification_keys)
    )


def ballot_binding(extended: bytes, ballot: EncryptedBallot) -> bytes:
    """``D_b = H32("ballot-binding", H_E, ballot_id, credential, style, sequence)``."""
    return hash32(
        "ballot-binding",
        extended,
        ballot.ballot_id,
        ballot.credential.encode(),
        ballot.style,
        ballot.sequence,
    )


def _sum(ciphertexts: Iterable[Any], scheme: RecordScheme) -> Any:
    total = scheme.zero()
    for ciphertext in ciphertexts:
        total = scheme.add(total, ciphertext)
    return total


def _parts(manifest: Manifest) -> list[str]:
    """Every part of every contest, in manifest order."""
    return [part for contest in manifest.contests for part in contest.parts()]


def _contest_index(manifest: Manifest, part: str) -> int:
    contest_id = part.partition("/")[0]
    return [contest.id for contest in manifest.contests].index(contest_id)


# --- 1. record -----------------------------------------------------------------------------------


def check_record(
    directory: str | Path, manifest: Manifest, first: bytes | None = None
) -> tuple[Findings, Record | None]:
    """Check 1: the files load under the manifest's trust roots (``load_record``), and entry 0
    is the ``first`` entry the trust roots were read from (if given)."""
    findings = Findings(RECORD)
    try:
        record = load.load_entries(directory, manifest)
    except RecordError as error:
        findings.fail(str(error), cause=error)
        return findings, None
    except OSError as error:
        findings.fail(f"cannot read the record: {error}")
        return findings, None
    findings.checked = record.size
    if first is not None and record.entries[0].encoded != first:
        findings.fail("entry 0 changed while the record was read", entry=0)
        return findings, None
    return findings, record


# --- 2. manifest ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManifestInfo:
    """Entry 0 parsed: the manifest, its election id, and the id the reader was given."""

    entry: Entry
    manifest: Manifest
    election_id: bytes
    expected_id: bytes | None


def check_manifest(first: bytes, expected_id: bytes | None) -> tuple[Findings, ManifestInfo | None]:
    """Check 2: entry 0 is a canonical manifest whose SHA-256 is the election id, signed by an
    official quorum, for the one parameter set this verifier knows.

    Returns the manifest whenever it parses, so that the other checks can run against it.
    """
    findings = Findings(MANIFEST)
    findings.checked = 1
    try:
        entry = Entry.decode(first)
    except DecodeError as error:
        findings.fail(f"not an entry envelope: {error}", entry=0, cause=error)
        return findings, None
    if entry.kind != kinds.MANIFEST:
        findings.fail(
            "entry 0 must be the manifest: the election's trust roots are in it",
            entry=0,
            kind=entry.kind,
            field="kind",
        )
        return findings, None
    try:
        manifest = Manifest.from_tlv(entry.body)
    except DecodeError as error:
        findings.fail(str(error), entry=0, kind=entry.kind, field="body", cause=error)
        return findings, None
    election_id = hashlib.sha256(entry.body).digest()
    if expected_id is not None and election_id != expected_id:
        findings.fail(
            f"the manifest's SHA-256 is {election_id.hex()}, not the published election id "
            f"{expected_id.hex()}: this is another election's manifest, or a changed one",
            entry=0,
            kind=entry.kind,
            field="body",
        )
    if entry.election_id != election_id:
        findings.fail(
            f"the envelope names election {entry.election_id.hex()}, but the manifest's SHA-256 "
            f"is {election_id.hex()}",
            entry=0,
            kind=entry.kind,
            field="election_id",
        )
    if manifest.scheme not in (params_hash(), paillier_family_hash()):
        findings.fail(
            f"unknown parameter set {manifest.scheme.hex()}: this verifier knows only "
            f"edwards25519 ElGamal ({params_hash().hex()}) and threshold Paillier with a "
            f"{PAILLIER_MODULUS_BITS}-bit modulus ({paillier_family_hash().hex()})",
            entry=0,
            kind=entry.kind,
            field="scheme",
        )
    elif manifest.scheme_name == PAILLIER:
        findings.notes.append(
            "this election uses scheme B, threshold Paillier with a trusted dealer; as its "
            f"manifest states: {DEALER_TRUST}"
        )
    message = signed_message(entry.kind, entry.election_id, entry.body)
    for position, signature in enumerate(entry.signatures):
        try:
            signature.signer.verify(message, signature.signature)
        except InvalidSignature as error:
            findings.fail(
                str(error),
                entry=0,
                kind=entry.kind,
                field=f"signatures[{position}]",
                cause=error,
            )
    _official_quorum(findings, 0, entry, manifest)
    return findings, ManifestInfo(entry, manifest, election_id, expected_id)


# --- 3. phases -----------------------------------------------------------------------------------

_PHASE_RANK: Final = {
    kinds.MANIFEST: 0,
    kinds.CEREMONY_TRANSPORT: 1,
    kinds.CEREMONY_COMMIT: 2,
    kinds.GUARDIAN_KEY: 3,
    kinds.CEREMONY_SHARES: 4,
    kinds.CEREMONY_COMPLAINT: 5,
    kinds.CEREMONY_SHARE_REVEAL: 5,
    kinds.JOINT_KEY: 6,
    kinds.KEY_CHECK: 7,
    kinds.CREDENTIALS: 8,
    kinds.OPEN: 9,
    kinds.BALLOT: 10,
    kinds.AUDIT: 10,
    kinds.CLOSE: 11,
    kinds.TALLY: 12,
    kinds.DECRYPTION_SHARE: 13,
    kinds.RESULT: 14,
}
_SINGLE_KINDS: Final = (
    kinds.MANIFEST,
    kinds.JOINT_KEY,
    kinds.CREDENTIALS,
    kinds.OPEN,
    kinds.CLOSE,
    kinds.TALLY,
    kinds.RESULT,
)
#: Scheme B: the dealer's ceremony replaces the guardians' (ranks 1 to 4), the rest is shared.
_PHASE_RANK_B: Final = {
    kinds.MANIFEST: 0,
    kinds.CEREMONY_TRANSPORT: 1,
    kinds.PAILLIER_KEY: 2,
    kinds.PAILLIER_SHARE: 3,
    kinds.PAILLIER_KEY_CHECK: 4,
    **{kind: rank for kind, rank in _PHASE_RANK.items() if rank >= 8},
}
_SINGLE_KINDS_B: Final = tuple(
    kinds.PAILLIER_KEY if kind == kinds.JOINT_KEY else kind for kind in _SINGLE_KINDS
)


def check_phases(entries: Sequence[Entry], manifest: Manifest) -> Findings:
    """Check 3: kinds in phase order, one of each single entry; ``open``/``close`` well formed
    and signed by an official quorum.

    The order is ranked: each ceremony round (transport keys, commitments, reveals, sealed
    shares) complete before the next; complaints and their answers (one rank, in any mix) after
    every sealed share and before the joint key; key checks after the joint key and before the
    credentials. Entries of one rank may interleave; an entry of a lower rank after one of a
    higher rank is out of order. Scheme B: transport keys, the dealer's key, the sealed shares,
    the guardians' key checks, then as scheme A from the credentials on; the kinds of the other
    scheme's ceremony are not kinds of its record (nor scheme B's of scheme A's).
    """
    findings = Findings(PHASES)
    findings.checked = len(entries)
    scheme_b = manifest.scheme_name == PAILLIER
    ranks = _PHASE_RANK_B if scheme_b else _PHASE_RANK
    singles = _SINGLE_KINDS_B if scheme_b else _SINGLE_KINDS
    if entries and entries[0].kind != kinds.MANIFEST:
        findings.fail("the record must start with the manifest", entry=0, kind=entries[0].kind)
    phase: tuple[int, int] | None = None  # (rank, index) of the entry that opened this phase
    for index, entry in enumerate(entries):
        rank = ranks.get(entry.kind)
        if rank is None:
            scheme = "scheme B (paillier)" if scheme_b else "scheme A (elgamal)"
            findings.fail(
                f"not a kind of the election record of a {scheme} election",
                entry=index,
                kind=entry.kind,
            )
            continue
        if phase is not None and rank < phase[0]:
            findings.fail(
                f"out of phase order: it comes after the {entries[phase[1]].kind} entry at "
                f"{phase[1]}",
                entry=index,
                kind=entry.kind,
                field="kind",
            )
        elif phase is None or rank > phase[0]:
            phase = (rank, index)
    for kind in singles:
        positions = [index for index, entry in enumerate(entries) if entry.kind == kind]
        if not positions:
            findings.fail(f"there is no {kind} entry")
        for index in positions[1:]:
            findings.fail(
                f"a second {kind} entry (the first is entry {positions[0]}); exactly one is "
                "allowed",
                entry=index,
                kind=kind,
            )
    marks = [
        *parse_all(entries, kinds.OPEN, lambda body: PhaseMark.from_tlv(body, "open")),
        *parse_all(entries, kinds.CLOSE, lambda body: PhaseMark.from_tlv(body, "close")),
    ]
    for item in marks:
        if item.error is not None:
            findings.unparsed(item)
        _official_quorum(findings, item.index, item.entry, manifest)
    return findings


# --- 4. guardians: the key ceremony --------------------------------------------------------------

Commitments = tuple[tuple[Point, ...], ...]


def commitment_hash(hashed_base: bytes, guardian: int, commitments: Sequence[Point]) -> bytes:
    """``h_i = H32("ceremony-commit", H_B, i, [K_i,0 … K_i,t−1])`` (round 1)."""
    return hash32("ceremony-commit", hashed_base, guardian, list(commitments))


def feldman_point(commitments: Sequence[Point], recipient: int) -> Point:
    """``Σ_j (ℓ^j mod L)·K_j``: what ``s·B`` must be for a share ``s`` dealt to ``ℓ``."""
    point = IDENTITY
    for degree, commitment in enumerate(commitments):
        point = point + mul(Scalar(pow(recipient, degree, L)), commitment)
    return point


def _poster(entry: Entry, manifest: Manifest) -> str:
    """Who to blame for an entry that is nobody's message: its guardian signer, if it has one."""
    guardians = [i for i, key in enumerate(manifest.guardians, 1) if key in entry.signers]
    if len(guardians) == 1:
        return f"guardian {guardians[0]} is disqualified"
    return f"an entry signed by {_signer_list(entry)}"


def _disqualified(guardian: int, reason: str) -> str:
    return f"guardian {guardian} is disqualified: {reason}"


def _ceremony_item(
    findings: Findings,
    item: Parsed[T],
    manifest: Manifest,
    what: str,
    guardian_of: Callable[[T], int],
    role: str = "guardian",
) -> tuple[int, T] | None:
    """A parsed ceremony message naming an existing guardian who signed it, co-signers
    reported; ``None`` (and a failure, blaming its signer) if it does not parse, names no
    guardian, or is not signed by the guardian it names (then it is not that guardian's)."""
    kind = item.entry.kind
    if item.body is None:
        findings.fail(
            f"{_poster(item.entry, manifest)}: its {what} does not parse: {item.error}",
            entry=item.index,
            kind=kind,
            field="body",
            cause=item.error,
        )
        return None
    guardian = guardian_of(item.body)
    n = len(manifest.guardians)
    if not 1 <= guardian <= n:
        findings.fail(
            f"{_poster(item.entry, manifest)}: its {what} names {role} {guardian}, but the "
            f"manifest has guardians 1 to {n}",
            entry=item.index,
            kind=kind,
            field=role,
        )
        return None
    key = manifest.guardians[guardian - 1]
    if key not in item.entry.signers:
        findings.fail(
            f"{_poster(item.entry, manifest)}: it posted a {what} in the name of guardian "
            f"{guardian}, who did not sign it (it does not count as guardian {guardian}'s)",
            entry=item.index,
            kind=kind,
            field="signatures",
        )
        return None
    if list(item.entry.signers) != [key]:
        findings.fail(
            _disqualified(
                guardian,
                f"its {what} must be signed by its identity key ({_short(key)}) and nobody else; "
                f"signed by {_signer_list(item.entry)}",
            ),
            entry=item.index,
            kind=kind,
            field="signatures",
        )
    return guardian, item.body


@dataclass(frozen=True, slots=True)
class _Round(Generic[T]):
    """One round's entries, one per guardian: ``{guardian: (entry index, body)}``, and the
    guardians that posted more than one (their first entry is kept)."""

    found: dict[int, tuple[int, T]]
    repeated: frozenset[int]


def _one_each(
    findings: Findings,
    entries: Sequence[Entry],
    manifest: Manifest,
    kind: str,
    what: str,
    parser: Callable[[bytes], T],
    guardian_of: Callable[[T], int],
) -> _Round[T]:
    """Every guardian's single entry of one ceremony round; every missing, repeated, wrongly
    signed or malformed entry is reported, naming the guardian it disqualifies."""
    found: dict[int, tuple[int, T]] = {}
    repeated: set[int] = set()
    for item in parse_all(entries, kind, parser):
        findings.checked += 1
        named = _ceremony_item(findings, item, manifest, what, guardian_of)
        if named is None:
            continue
        guardian, body = named
        if guardian in found:
            repeated.add(guardian)
            findings.fail(
                _disqualified(
                    guardian,
                    f"a second {what} (the first is entry {found[guardian][0]}); one is allowed",
                ),
                entry=item.index,
                kind=kind,
                field="guardian",
            )
            continue
        found[guardian] = (item.index, body)
    for guardian in range(1, len(manifest.guardians) + 1):
        if guardian not in found:
            findings.fail(
                _disqualified(
                    guardian,
                    f"it missed the {what} round: no well-formed {kind} entry of it",
                )
            )
    return _Round(found, frozenset(repeated))


def _transport_round(
    findings: Findings, entries: Sequence[Entry], manifest: Manifest
) -> _Round[TransportKey]:
    """Round 0 (both schemes): one ``ceremony-transport`` entry per guardian, signed by it
    alone, with a usable key (a small-order key disqualifies its guardian: nothing can be
    sealed to it)."""
    transport = _one_each(
        findings,
        entries,
        manifest,
        kinds.CEREMONY_TRANSPORT,
        "transport key",
        TransportKey.from_tlv,
        lambda body: body.guardian,
    )
    for guardian, (index, body) in sorted(transport.found.items()):
        if not usable(body.key):
            findings.fail(
                _disqualified(guardian, "its transport key is unusable (small order)"),
                entry=index,
                kind=kinds.CEREMONY_TRANSPORT,
                field="key",
            )
    return transport


def _check_dealer(
    findings: Findings,
    manifest: Manifest,
    hashed_base: bytes,
    guardian: int,
    commits: _Round[Commit],
    reveals: _Round[GuardianKey],
) -> None:
    """Round 2: ``t`` commitments, equal to the commitment ``h_i`` of round 1, each with a
    Schnorr proof of knowledge under ``H_B`` (crypto spec §3.5)."""
    if guardian not in reveals.found:
        return
    index, reveal = reveals.found[guardian]
    kind, t = kinds.GUARDIAN_KEY, manifest.guardian_quorum
    if len(reveal.commitments) != t:
        findings.fail(
            _disqualified(
                guardian, f"it revealed {len(reveal.commitments)} commitments; t = {t} needs {t}"
            ),
            entry=index,
            kind=kind,
            field="commitments",
        )
    if guardian in commits.found:
        committed_at, commit = commits.found[guardian]
        if commitment_hash(hashed_base, guardian, reveal.commitments) != commit.digest:
            findings.fail(
                _disqualified(
                    guardian,
                    f"its reveal does not match its commitment h_{guardian} (entry "
                    f"{committed_at}): the commitments changed after the commit round",
                ),
                entry=index,
                kind=kind,
                field="commitments",
            )
    for degree, (point, proof) in enumerate(zip(reveal.commitments, reveal.proofs, strict=True)):
        try:
            verify_coefficient(point, proof, hashed_base, guardian, degree)
        except ProofError as error:
            findings.fail(
                _disqualified(
                    guardian, f"its proof of knowledge of coefficient {degree} fails: {error}"
                ),
                entry=index,
                kind=kind,
                field=f"proofs[{degree}]",
                cause=error,
            )


def _check_sealed(
    findings: Findings,
    manifest: Manifest,
    guardian: int,
    sealed: _Round[SealedShares],
    transport: _Round[TransportKey],
) -> None:
    """Round 3: one sealed share to every other guardian, and to nobody else. A dealer cannot
    seal to a guardian that posted no usable transport key (disqualified for that on its own),
    so it is not blamed for skipping one."""
    if guardian not in sealed.found:
        return
    index, body = sealed.found[guardian]
    n = len(manifest.guardians)
    named: dict[int, int] = {}
    for recipient, _ in body.sealed:
        named[recipient] = named.get(recipient, 0) + 1

    def fail(reason: str) -> None:
        findings.fail(
            _disqualified(guardian, reason),
            entry=index,
            kind=kinds.CEREMONY_SHARES,
            field="sealed",
        )

    for recipient in range(1, n + 1):
        if (
            recipient != guardian
            and recipient not in named
            and recipient in transport.found
            and usable(transport.found[recipient][1].key)
        ):
            fail(f"its sealed shares skip guardian {recipient}")
    for recipient, times in named.items():
        if recipient == guardian:
            fail("it sealed a share to itself")
        elif not 1 <= recipient <= n:
            fail(f"it sealed a share to guardian {recipient}, who does not exist")
        elif times > 1:
            fail(f"it sealed {times} shares to guardian {recipient}; one is allowed")


def _check_complaints(
    findings: Findings,
    entries: Sequence[Entry],
    manifest: Manifest,
    reveals: _Round[GuardianKey],
) -> None:
    """Round 4: every complaint answered by its dealer with a share that checks against the
    dealer's commitments; no share revealed unasked; no dealer accused by ``t`` guardians."""
    n, t = len(manifest.guardians), manifest.guardian_quorum
    complaints: dict[tuple[int, int], int] = {}  # (complainer, accused) -> entry
    for item in parse_all(entries, kinds.CEREMONY_COMPLAINT, Complaint.from_tlv):
        findings.checked += 1
        named = _ceremony_item(
            findings, item, manifest, "complaint", lambda c: c.complainer, "complainer"
        )
        if named is None:
            continue
        complainer, complaint = named
        accused, kind = complaint.accused, kinds.CEREMONY_COMPLAINT
        problem = None
        if not 1 <= accused <= n:
            problem = f"its complaint accuses guardian {accused}, who does not exist"
        elif accused == complainer:
            problem = "it complained about itself"
        elif (complainer, accused) in complaints:
            problem = (
                f"it already complained about guardian {accused} at entry "
                f"{complaints[(complainer, accused)]}"
            )
        if problem is not None:
            findings.fail(
                _disqualified(complainer, problem), entry=item.index, kind=kind, field="accused"
            )
            continue
        complaints[(complainer, accused)] = item.index

    answers: dict[tuple[int, int], tuple[int, ShareReveal]] = {}  # (dealer, recipient)
    for posted in parse_all(entries, kinds.CEREMONY_SHARE_REVEAL, ShareReveal.from_tlv):
        findings.checked += 1
        answered = _ceremony_item(findings, posted, manifest, "share reveal", lambda r: r.dealer)
        if answered is None:
            continue
        dealer, reveal = answered
        recipient, kind = reveal.recipient, kinds.CEREMONY_SHARE_REVEAL
        complained = complaints.get((recipient, dealer))
        problem, field = None, "recipient"
        if not 1 <= recipient <= n or recipient == dealer:
            problem = f"it revealed a share for guardian {recipient}, to whom it deals none"
        elif (dealer, recipient) in answers:
            problem = (
                f"it already revealed its share for guardian {recipient} at entry "
                f"{answers[(dealer, recipient)][0]}"
            )
        elif complained is None:
            problem = (
                f"it revealed its share for guardian {recipient} in clear, but guardian "
                f"{recipient} did not complain about it (a share is revealed only to answer "
                "a complaint)"
            )
        elif posted.index < complained:
            field = "position"
            problem = (
                f"it revealed its share for guardian {recipient} at entry {posted.index}, before "
                f"the complaint it answers (entry {complained})"
            )
        if problem is not None:
            findings.fail(
                _disqualified(dealer, problem), entry=posted.index, kind=kind, field=field
            )
        if (dealer, recipient) not in answers and complained is not None:
            answers[(dealer, recipient)] = (posted.index, reveal)

    accusers: dict[int, list[tuple[int, int]]] = {}  # accused -> [(entry, complainer)]
    for (complainer, accused), index in complaints.items():
        accusers.setdefault(accused, []).append((index, complainer))
    for (complainer, accused), index in complaints.items():
        found = answers.get((accused, complainer))
        if found is None:
            findings.fail(
                _disqualified(
                    accused,
                    f"it did not answer the complaint of guardian {complainer} (entry {index}) "
                    "by revealing its share in clear",
                ),
                entry=index,
                kind=kinds.CEREMONY_COMPLAINT,
                field="accused",
            )
            continue
        answered_at, answer = found
        if accused not in reveals.found:
            continue  # no commitments to check against: reported as a missed reveal
        commitments = reveals.found[accused][1].commitments
        if base_mul(answer.share) != feldman_point(commitments, complainer):
            findings.fail(
                _disqualified(
                    accused,
                    f"the share it revealed for guardian {complainer} does not check against "
                    f"its commitments (s·B ≠ Σ_j {complainer}^j·K_{accused},j)",
                ),
                entry=answered_at,
                kind=kinds.CEREMONY_SHARE_REVEAL,
                field="share",
            )
        elif len(accusers[accused]) < t:  # with t complaints, one is honest: see below
            findings.notes.append(
                f"guardian {complainer}'s complaint about guardian {accused} (entry {index}) was "
                f"unfounded: the share revealed at entry {answered_at} checks against guardian "
                f"{accused}'s commitments; the complaint stays on the record against guardian "
                f"{complainer}"
            )
    for accused, accusations in sorted(accusers.items()):
        if len(accusations) < t:
            continue
        accusations.sort()
        names = ", ".join(str(complainer) for _, complainer in accusations)
        findings.fail(
            _disqualified(
                accused,
                f"{len(accusations)} guardians ({names}) complained about it; t = {t} or more "
                "complaints mean at least one of them is honest",
            ),
            entry=accusations[t - 1][0],
            kind=kinds.CEREMONY_COMPLAINT,
            field="accused",
        )


def check_guardians(
    entries: Sequence[Entry], manifest: Manifest
) -> tuple[Findings, Commitments | None]:
    """Check 4, the key ceremony (crypto spec §3.5): for each guardian 1..n exactly one
    ``ceremony-transport``, ``ceremony-commit``, ``guardian-key`` and ``ceremony-shares``
    entry, each signed by that guardian's identity key alone; the reveal has ``t`` commitments
    that hash to ``h_i``, with Schnorr proofs under ``H_B``; the sealed shares name every other
    guardian (that posted a transport key) once; every complaint is answered with a share that
    checks against the dealer's
    commitments (``s·B = Σ_j ℓ^j·K_i,j``), and no dealer drew ``t`` or more complaints.

    Every failure disqualifies a guardian and names it; an election may go on only if nobody
    was disqualified. Unfounded complaints are noted (:attr:`Findings.notes`).

    Returns every guardian's commitments when each guardian has exactly one reveal that parses
    with ``t`` commitments (even if something else is wrong, which is reported), else None, so
    that the later checks can still run.
    """
    findings = Findings(GUARDIANS)
    n = len(manifest.guardians)
    hashed_base = base_hash(manifest)
    transport = _transport_round(findings, entries, manifest)
    commits = _one_each(
        findings,
        entries,
        manifest,
        kinds.CEREMONY_COMMIT,
        "commitment",
        Commit.from_tlv,
        lambda body: body.guardian,
    )
    reveals = _one_each(
        findings,
        entries,
        manifest,
        kinds.GUARDIAN_KEY,
        "reveal",
        GuardianKey.from_tlv,
        lambda body: body.guardian,
    )
    sealed = _one_each(
        findings,
        entries,
        manifest,
        kinds.CEREMONY_SHARES,
        "sealed shares",
        SealedShares.from_tlv,
        lambda body: body.guardian,
    )
    for guardian in range(1, n + 1):
        _check_dealer(findings, manifest, hashed_base, guardian, commits, reveals)
        _check_sealed(findings, manifest, guardian, sealed, transport)
    _check_complaints(findings, entries, manifest, reveals)
    commitments = [
        reveals.found[guardian][1].commitments
        for guardian in range(1, n + 1)
        if guardian in reveals.found
        and guardian not in reveals.repeated
        and len(reveals.found[guardian][1].commitments) == manifest.guardian_quorum
    ]
    if len(commitments) != n:
        return findings, None
    return findings, tuple(commitments)


# --- 5. joint key --------------------------------------------------------------------------------


def derive_context(manifest: Manifest, commitments: Commitments) -> ElectionContext:
    """``K = Σ K_{i,0}``, ``K̂_ℓ = Σ_j ℓ^j·(Σ_i K_{i,j})``, ``H_B`` and ``H_E``, from scratch.

    Raises :class:`CheckFailed` (check 5) if ``K`` is the identity.
    """
    key = IDENTITY
    for own in commitments:
        key = key + own[0]
    if key.is_identity():
        raise CheckFailed(JOINT_KEY, "the guardians' constant terms cancel out: K is the identity")
    summed = []
    for degree in range(manifest.guardian_quorum):
        total = IDENTITY
        for own in commitments:
            total = total + own[degree]
        summed.append(total)
    verification_keys = []
    for guardian in range(1, len(manifest.guardians) + 1):
        point = IDENTITY
        for degree, total in enumerate(summed):
            point = point + mul(Scalar(pow(guardian, degree, L)), total)
        verification_keys.append(point)
    hashed_base = base_hash(manifest)
    extended = extended_hash(hashed_base, key, commitments, verification_keys)
    scheme = ElGamalElection(key, commitments, tuple(verification_keys))
    return ElectionContext(manifest, scheme, hashed_base, extended)


def check_joint_key(
    entries: Sequence[Entry], manifest: Manifest, commitments: Commitments
) -> tuple[Findings, ElectionContext | None]:
    """Check 5: the ``joint-key`` entry equals ``K``, every ``K̂_ℓ`` and ``H_E`` recomputed from
    the commitments, and is signed by an official quorum and by every guardian.

    Returns the recomputed election context (used by every later proof check) whether or not
    the entry agrees with it.
    """
    findings = Findings(JOINT_KEY)
    try:
        context = derive_context(manifest, commitments)
    except CheckFailed as error:
        findings.failures.append(error)
        return findings, None
    items = parse_all(entries, kinds.JOINT_KEY, JointKey.from_tlv)
    _single_problems(findings, items, kinds.JOINT_KEY)
    for item in items:
        findings.checked += 1
        kind = kinds.JOINT_KEY
        _official_quorum(
            findings, item.index, item.entry, manifest, also_allowed=manifest.guardians
        )
        missing = [
            i + 1 for i, key in enumerate(manifest.guardians) if key not in item.entry.signers
        ]
        if missing:
            findings.fail(
                "not signed by guardian(s) " + ", ".join(map(str, missing)),
                entry=item.index,
                kind=kind,
                field="signatures",
            )
        body = item.body
        if body is None:
            continue
        if body.joint_key != context.joint_key:
            findings.fail(
                f"K is {body.joint_key.encode().hex()}, but the commitments give "
                f"{context.joint_key.encode().hex()}",
                entry=item.index,
                kind=kind,
                field="key",
            )
        if body.extended_hash != context.extended_hash:
            findings.fail(
                f"H_E is {body.extended_hash.hex()}, but recomputes to "
                f"{context.extended_hash.hex()}",
                entry=item.index,
                kind=kind,
                field="extended_hash",
            )
        if len(body.verification_keys) != len(context.verification_keys):
            findings.fail(
                f"{len(body.verification_keys)} verification keys for "
                f"{len(context.verification_keys)} guardians",
                entry=item.index,
                kind=kind,
                field="verification_keys",
            )
        for position, (given, computed) in enumerate(
            zip(body.verification_keys, context.verification_keys, strict=False)
        ):
            if given != computed:
                findings.fail(
                    f"K̂_{position + 1} does not recompute from the commitments",
                    entry=item.index,
                    kind=kind,
                    field=f"verification_keys[{position}]",
                )
    return findings, context


# --- 6. credentials ------------------------------------------------------------------------------

_CREDENTIALS_TAG: Final = "evote/v1/credentials"


def _credential_keys(body: bytes) -> list[VerifyKey]:
    fields = encoding.expect_list(encoding.decode(body), 2, what="credentials")
    if fields[0] != _CREDENTIALS_TAG:
        raise DecodeError(f"not an evote v1 credential list (tag {fields[0]!r})")
    return [
        VerifyKey.decode(encoding.expect_bytes(value, 32, what=f"credentials[{position}]"))
        for position, value in enumerate(encoding.expect_list(fields[1], what="credentials"))
    ]


def check_credentials(
    entries: Sequence[Entry], manifest: Manifest
) -> tuple[Findings, frozenset[VerifyKey] | None]:
    """Check 6: one ``credentials`` entry, signed by the credential authority alone, listing
    valid keys sorted by their bytes and distinct. Returns the set when exactly one parses."""
    findings = Findings(CREDENTIALS)
    items = parse_all(entries, kinds.CREDENTIALS, _credential_keys)
    _single_problems(findings, items, kinds.CREDENTIALS)
    for item in items:
        _signed_by_exactly(
            findings,
            item.index,
            item.entry,
            manifest.credential_authority,
            "the credential authority",
        )
        keys = item.body or []
        findings.checked += len(keys)
        for position in range(1, len(keys)):
            previous, current = keys[position - 1].encode(), keys[position].encode()
            if current == previous:
                findings.fail(
                    f"credential {position} repeats credential {position - 1}",
                    entry=item.index,
                    kind=item.entry.kind,
                    field=f"credentials[{position}]",
                )
            elif current < previous:
                findings.fail(
                    f"credential {position} sorts before credential {position - 1}: the list "
                    "must be sorted by the keys' bytes",
                    entry=item.index,
                    kind=item.entry.kind,
                    field=f"credentials[{position}]",
                )
    one = the_one(items)
    return findings, None if one is None or one.body is None else frozenset(one.body)


# --- proofs of ballots and audits (checks 7 and 8), in worker processes -------------------------


@dataclass(frozen=True, slots=True)
class ProofSetup:
    """The election context as bytes, so that worker processes can rebuild it.

    (``Point`` values are deliberately immutable and cannot be pickled.) The worker takes the
    values the main process recomputed in check 5; it recomputes nothing itself. A scheme B
    context carries the dealer's key (its canonical TLV) and no ElGamal values.
    """

    manifest: bytes
    commitments: tuple[tuple[bytes, ...], ...]
    joint_key: bytes
    verification_keys: tuple[bytes, ...]
    base_hash: bytes
    extended_hash: bytes
    paillier_key: bytes = b""

    @classmethod
    def of(cls, context: ElectionContext) -> ProofSetup:
        if isinstance(context.scheme, PaillierElection):
            key = encoding.encode(context.scheme.key.to_value())
            return cls(
                context.manifest.to_tlv(),
                (),
                b"",
                (),
                context.base_hash,
                context.extended_hash,
                key,
            )
        return cls(
            context.manifest.to_tlv(),
            tuple(tuple(p.encode() for p in own) for own in context.commitments),
            context.joint_key.encode(),
            tuple(p.encode() for p in context.verification_keys),
            context.base_hash,
            context.extended_hash,
        )

    def context(self) -> ElectionContext:
        manifest = Manifest.from_tlv(self.manifest)
        if self.paillier_key:
            key = PaillierPublicKey.from_value(encoding.decode(self.paillier_key))
            return ElectionContext(
                manifest, PaillierElection(key), self.base_hash, self.extended_hash
            )
        scheme = ElGamalElection(
            Point.decode(self.joint_key),
            tuple(tuple(Point.decode(p) for p in own) for own in self.commitments),
            tuple(Point.decode(p) for p in self.verification_keys),
        )
        return ElectionContext(manifest, scheme, self.base_hash, self.extended_hash)


@dataclass(frozen=True, slots=True)
class ProofJob:
    """One ballot or audit entry whose proofs are to be verified."""

    index: int
    kind: str
    body: bytes


@dataclass(frozen=True, slots=True)
class ProofProblem:
    """A proof of entry ``index`` that failed, at ``field``."""

    index: int
    field: str
    message: str


def proof_jobs(entries: Sequence[Entry]) -> list[ProofJob]:
    return [
        ProofJob(index, entry.kind, entry.body)
        for index, entry in enumerate(entries)
        if entry.kind in (kinds.BALLOT, kinds.AUDIT)
    ]


def ballot_proof_problems(
    ballot: EncryptedBallot[Any, Any], context: ElectionContext
) -> list[tuple[str, ProofError]]:
    """Every failing proof of a ballot, with its field: each selection's range proof ``[0, R]``
    and each contest's range proof ``[min, max]`` on the sum the verifier computes (§3.6.3)."""
    manifest = context.manifest
    scheme = record_scheme(context)
    binding = ballot_binding(context.extended_hash, ballot)
    problems: list[tuple[str, ProofError]] = []
    for part, contest in zip(manifest.style(ballot.style).parts, ballot.contests, strict=True):
        definition, district = manifest.part(part)
        shape = definition.shape(district)
        index = _contest_index(manifest, part)
        for option, (selection, limit) in enumerate(
            zip(contest.selections, shape.option_limits, strict=True)
        ):
            statement = RangeStatement(context.extended_hash, binding, index, option)
            try:
                scheme.verify_range(selection.ciphertext, selection.proof, 0, limit, statement)
            except ProofError as error:
                problems.append((f"contests.{part}.option[{option}].proof.{error.field}", error))
        total = _sum((selection.ciphertext for selection in contest.selections), scheme)
        degenerate = scheme.degenerate(total)
        if degenerate is not None:
            problems.append((f"contests.{part}.total", ProofError("contest", "total", degenerate)))
            continue
        statement = RangeStatement(context.extended_hash, binding, index, None)
        try:
            scheme.verify_range(
                total, contest.total_proof, shape.min_total, shape.max_total, statement
            )
        except ProofError as error:
            problems.append((f"contests.{part}.total_proof.{error.field}", error))
    return problems


def verify_proofs(setup: ProofSetup, jobs: Sequence[ProofJob]) -> list[ProofProblem]:
    """Verify the proofs of ballot and audit entries (picklable in and out, for workers).

    A body that does not parse yields nothing here: checks 7 and 8 report it.
    """
    context = setup.context()
    problems: list[ProofProblem] = []
    for job in jobs:
        try:
            if job.kind == kinds.BALLOT:
                ballot = EncryptedBallot.from_tlv(job.body, context)
            else:
                reveal = AuditReveal.from_tlv(job.body, context)
        except EvoteError:
            continue
        if job.kind == kinds.BALLOT:
            problems.extend(
                ProofProblem(job.index, field, str(error))
                for field, error in ballot_proof_problems(ballot, context)
            )
            continue
        try:
            verify_audit(reveal, context)
        except ProofError as error:
            problems.append(ProofProblem(job.index, f"ballot.{error.field}", str(error)))
        except EvoteError as error:
            problems.append(ProofProblem(job.index, "reveal", str(error)))
    return problems


# --- 7. ballots ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BallotVerdict:
    """Whether a ballot entry is valid (check 7), and why not."""

    index: int
    ballot: EncryptedBallot[Any, Any] | None
    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def _fingerprints(
    ballot: EncryptedBallot[Any, Any], manifest: Manifest, scheme: RecordScheme
) -> Iterable[tuple[bytes, str]]:
    """Each ciphertext's weeding fingerprint (scheme A's ``α``, scheme B's ``c``) and field."""
    suffix = scheme.fingerprint_field
    for part, contest in zip(manifest.style(ballot.style).parts, ballot.contests, strict=True):
        for option, selection in enumerate(contest.selections):
            yield (
                scheme.fingerprint(selection.ciphertext),
                f"contests.{part}.option[{option}].{suffix}",
            )


def seed_derives(context: ElectionContext, ballot: EncryptedBallot[Any, Any], seed: bytes) -> bool:
    """Whether the ballot's first ciphertext was made from ``seed`` (crypto spec §3.6.1): the
    nonce the seed derives for its first part's contest ``c`` and option 0 opens it (scheme A:
    ``α = Hq("selection-nonce", H_E, D_b, seed, c, 0)·B``; scheme B: ``c·ρ^{−n} ≡ 1 mod n``)."""
    manifest = context.manifest
    part = manifest.style(ballot.style).parts[0]
    contest, _ = manifest.part(part)
    return record_scheme(context).seed_opens(
        ballot.contests[0].selections[0].ciphertext,
        seed,
        ballot_binding(context.extended_hash, ballot),
        manifest.contests.index(contest),
        0,
    )


def check_ballots(
    entries: Sequence[Entry],
    manifest: Manifest,
    ballots: Sequence[Parsed[EncryptedBallot]],
    audits: Sequence[Parsed[AuditReveal]],
    credentials: frozenset[VerifyKey],
    proof_problems: Mapping[int, Sequence[ProofProblem]],
    seed_derives: Callable[[EncryptedBallot[Any, Any], bytes], bool],
    scheme: RecordScheme,
) -> tuple[Findings, dict[int, BallotVerdict]]:
    """Check 7, for each ballot entry in index order: signed by exactly its own credential,
    which is listed; after the first ``open`` and before the first ``close``; every proof
    verifies (``proof_problems``, from :func:`verify_proofs`); no ciphertext fingerprint of
    the ``scheme`` (scheme A's ``α``, scheme B's ``c``) seen in an earlier ballot or in any
    audited ballot, nor twice in itself; its nonces not derived from a seed an audit of its
    credential revealed (``seed_derives``); its ballot id never audited nor cast before; its
    sequence exactly one above that of its credential's last earlier valid ballot, or 0 for
    the credential's first valid ballot (:func:`_sequence_problem`: a repeat, a replay or a
    gap is named)."""
    findings = Findings(BALLOTS)
    kinds_in_order = [entry.kind for entry in entries]
    open_at = kinds_in_order.index(kinds.OPEN) if kinds.OPEN in kinds_in_order else None
    close_at = kinds_in_order.index(kinds.CLOSE) if kinds.CLOSE in kinds_in_order else None
    audited_ids: dict[bytes, int] = {}
    audited_alphas: dict[bytes, int] = {}
    seeds_by_credential: dict[VerifyKey, list[tuple[int, bytes]]] = {}
    for audit in audits:
        if audit.body is not None:
            seeds_by_credential.setdefault(audit.body.ballot.credential, []).append(
                (audit.index, audit.body.seed)
            )
            audited_ids.setdefault(audit.body.ballot.ballot_id, audit.index)
            for alpha, _ in _fingerprints(audit.body.ballot, manifest, scheme):
                audited_alphas.setdefault(alpha, audit.index)
    first_alpha: dict[bytes, tuple[int, str]] = {}
    first_id: dict[bytes, int] = {}
    latest_valid: dict[VerifyKey, tuple[int, int]] = {}  # credential -> (sequence, index)
    invalid_before: dict[VerifyKey, int] = {}  # credential -> its first invalid ballot's index
    verdicts: dict[int, BallotVerdict] = {}
    for item in ballots:
        findings.checked += 1
        problems: list[tuple[str, str]] = []
        ballot = item.body
        if ballot is None:
            problems.append(("body", f"the body does not parse: {item.error}"))
        else:
            credential = ballot.credential
            if list(item.entry.signers) != [credential]:
                problems.append(
                    (
                        "signatures",
                        f"must be signed by its own credential ({_short(credential)}) and nobody "
                        f"else; signed by {_signer_list(item.entry)}",
                    )
                )
            if credential not in credentials:
                problems.append(
                    ("credential", f"credential {_short(credential)} is not in the list")
                )
            if open_at is None or item.index < open_at:
                problems.append(("position", "cast before the election opened"))
            if close_at is not None and item.index > close_at:
                problems.append(
                    ("position", f"cast after the election closed (close is entry {close_at})")
                )
            problems.extend(
                (problem.field, problem.message) for problem in proof_problems.get(item.index, ())
            )
            own = [alpha for alpha, _ in _fingerprints(ballot, manifest, scheme)]
            if len(set(own)) != len(own):
                problems.append(
                    (
                        "contests",
                        f"the same {scheme.fingerprint_name} appears twice within the ballot",
                    )
                )
            for audit_index, seed in seeds_by_credential.get(credential, ()):
                if seed_derives(ballot, seed):
                    problems.append(
                        (
                            "contests",
                            f"its nonces derive from the seed the audit at entry {audit_index} "
                            "revealed: the device reused an audited seed, so the vote is exposed",
                        )
                    )
            copied: dict[str, list[str]] = {}  # what the α repeats -> this ballot's fields
            for alpha, field in _fingerprints(ballot, manifest, scheme):
                if alpha in audited_alphas:
                    source = f"the ballot audited at entry {audited_alphas[alpha]}"
                    copied.setdefault(source, []).append(field)
                first = first_alpha.setdefault(alpha, (item.index, field))
                if first[0] != item.index:
                    copied.setdefault(f"entry {first[0]} ({first[1]})", []).append(field)
            for source, fields in copied.items():
                more = (
                    f" (and {len(fields) - 1} more of its ciphertexts)" if len(fields) > 1 else ""
                )
                problems.append(
                    (
                        fields[0],
                        f"{scheme.fingerprint_name} already in {source}{more}: a copied ciphertext",
                    )
                )
            if ballot.ballot_id in audited_ids:
                problems.append(
                    (
                        "ballot_id",
                        f"this ballot id was audited at entry {audited_ids[ballot.ballot_id]}: "
                        "an audited ballot is never cast",
                    )
                )
            first_cast = first_id.setdefault(ballot.ballot_id, item.index)
            if first_cast != item.index:
                problems.append(
                    ("ballot_id", f"this ballot id was already cast at entry {first_cast}")
                )
            if not problems:
                problem = _sequence_problem(
                    ballot.sequence, latest_valid.get(credential), invalid_before.get(credential)
                )
                if problem is not None:
                    problems.append(("sequence", problem))
            if not problems:
                latest_valid[credential] = (ballot.sequence, item.index)
            else:
                invalid_before.setdefault(credential, item.index)
        for field, message in problems:
            findings.fail(message, entry=item.index, kind=kinds.BALLOT, field=field)
        verdicts[item.index] = BallotVerdict(
            item.index, ballot, tuple(message for _, message in problems)
        )
    return findings, verdicts


def _sequence_problem(
    sequence: int, earlier: tuple[int, int] | None, first_invalid: int | None
) -> str | None:
    """What is wrong with a ballot's ``sequence``, given its credential's last earlier valid
    ballot ``(sequence, index)`` (``None`` before the first), or ``None`` if nothing is.

    A credential's valid ballots carry 0, 1, 2, … in board order, the rule the ballot box
    admits by; so the counted (last valid) ballot is also the one with the highest sequence,
    and nobody holding the credential can have jumped ahead of the number a voter's device
    reads from the board. An invalid ballot does not move the count (the box never admits one;
    ``first_invalid`` only explains a follow-on failure).
    """
    if earlier is None:
        if sequence == 0:
            return None
        note = (
            f" (its ballot at entry {first_invalid} is invalid, so it does not count)"
            if first_invalid is not None
            else ""
        )
        return (
            f"sequence {sequence}, but this is the credential's first valid ballot{note}: a "
            "credential's first ballot has sequence 0"
        )
    last, index = earlier
    if sequence <= last:
        return (
            f"sequence {sequence} is not above {last}, that of the credential's earlier valid "
            f"ballot at entry {index}: a repeated, replayed or reordered old ballot"
        )
    if sequence != last + 1:
        return (
            f"sequence {sequence} skips {last + 1}: the credential's earlier valid ballot at "
            f"entry {index} has sequence {last}, so the next must have {last + 1} (a jump ahead "
            "would let whoever holds the credential block the voter's later ballots)"
        )
    return None


def counted_ballots(
    verdicts: Mapping[int, BallotVerdict],
) -> dict[VerifyKey, tuple[int, EncryptedBallot[Any, Any]]]:
    """For each credential, its last valid ballot (the highest sequence) and where it is."""
    last: dict[VerifyKey, tuple[int, EncryptedBallot[Any, Any]]] = {}
    for index in sorted(verdicts):
        verdict = verdicts[index]
        if verdict.valid and verdict.ballot is not None:
            last[verdict.ballot.credential] = (index, verdict.ballot)
    return last


# --- 8. audits -----------------------------------------------------------------------------------


def check_audits(
    ballots: Sequence[Parsed[EncryptedBallot]],
    audits: Sequence[Parsed[AuditReveal]],
    proof_problems: Mapping[int, Sequence[ProofProblem]],
    credentials: frozenset[VerifyKey] | None,
) -> Findings:
    """Check 8, for each audit entry: signed by exactly the ballot's credential, a listed one
    (when the list could be read); the seed
    re-encrypts every ciphertext byte for byte and the proofs verify (``proof_problems``);
    its ballot id is never cast."""
    findings = Findings(AUDITS)
    cast: dict[bytes, int] = {}
    for item in ballots:
        if item.body is not None:
            cast.setdefault(item.body.ballot_id, item.index)
    for audit in audits:
        findings.checked += 1
        kind = kinds.AUDIT
        if audit.body is None:
            findings.unparsed(audit)
            continue
        _signed_by_exactly(
            findings,
            audit.index,
            audit.entry,
            audit.body.ballot.credential,
            "the audited ballot's credential",
        )
        if credentials is not None and audit.body.ballot.credential not in credentials:
            findings.fail(
                f"credential {_short(audit.body.ballot.credential)} is not in the list",
                entry=audit.index,
                kind=kind,
                field="ballot.credential",
            )
        for problem in proof_problems.get(audit.index, ()):
            findings.fail(problem.message, entry=audit.index, kind=kind, field=problem.field)
        where = cast.get(audit.body.ballot.ballot_id)
        if where is not None:
            findings.fail(
                f"the audited ballot id is cast at entry {where}: an audited ballot never counts",
                entry=audit.index,
                kind=kind,
                field="ballot.ballot_id",
            )
    return findings


# --- 9. counted set ------------------------------------------------------------------------------


def check_counted_set(
    entries: Sequence[Entry],
    tallies: Sequence[Parsed[EncryptedTally]],
    verdicts: Mapping[int, BallotVerdict],
) -> Findings:
    """Check 9: the tally's counted indices are exactly each credential's last valid ballot,
    in ascending order."""
    findings = Findings(COUNTED_SET)
    tally = the_one(tallies)
    if tally is None or tally.body is None:
        findings.fail("no single, well-formed tally entry to compare with (see check 10)")
        return findings
    counted = tally.body.counted
    expected = {key: index for key, (index, _) in counted_ballots(verdicts).items()}
    expected_indices = set(expected.values())
    findings.checked = len(expected_indices | set(counted))
    at, kind = tally.index, kinds.TALLY
    for position in range(1, len(counted)):
        if counted[position] <= counted[position - 1]:
            findings.fail(
                f"counted[{position}] = {counted[position]} does not follow "
                f"{counted[position - 1]}: the indices must be strictly ascending",
                entry=at,
                kind=kind,
                field=f"counted[{position}]",
            )
    owner = {index: credential for credential, index in expected.items()}
    for index in sorted(set(counted) - expected_indices):
        if not 0 <= index < len(entries) or entries[index].kind != kinds.BALLOT:
            reason = (
                "there is no such entry"
                if not 0 <= index < len(entries)
                else f"it is an entry of kind {entries[index].kind!r}, not a ballot"
            )
        elif not verdicts[index].valid:
            reason = f"it is not a valid ballot ({verdicts[index].problems[0]})"
        else:
            ballot = verdicts[index].ballot
            reason = (
                "it is not its credential's last valid ballot"
                if ballot is None
                else f"credential {_short(ballot.credential)}'s last valid ballot is entry "
                f"{expected[ballot.credential]}"
            )
        findings.fail(
            f"entry {index} is counted, but {reason}", entry=at, kind=kind, field="counted"
        )
    for index in sorted(expected_indices - set(counted)):
        findings.fail(
            f"entry {index}, the last valid ballot of credential {_short(owner[index])}, is not "
            "counted",
            entry=at,
            kind=kind,
            field="counted",
        )
    return findings


# --- 10. tally -----------------------------------------------------------------------------------


def check_tally(
    manifest: Manifest,
    tallies: Sequence[Parsed[EncryptedTally[Any]]],
    verdicts: Mapping[int, BallotVerdict],
    scheme: RecordScheme,
) -> Findings:
    """Check 10: one tally entry, signed by an official quorum, whose aggregates equal the sums
    recomputed (with the ``scheme``'s arithmetic) from the ballots that count (each
    credential's last valid ballot)."""
    findings = Findings(TALLY)
    _single_problems(findings, tallies, kinds.TALLY)
    expected: dict[str, list[Any]] = {}
    for part in _parts(manifest):
        contest, district = manifest.part(part)
        expected[part] = [scheme.zero()] * len(contest.options(district))
    for _, ballot in sorted(counted_ballots(verdicts).values(), key=lambda pair: pair[0]):
        for part, answered in zip(manifest.style(ballot.style).parts, ballot.contests, strict=True):
            sums = expected[part]
            for option, selection in enumerate(answered.selections):
                sums[option] = scheme.add(sums[option], selection.ciphertext)
    for item in tallies:
        _official_quorum(findings, item.index, item.entry, manifest)
        if item.body is None:
            continue
        for part, ciphertexts in item.body.totals.items():
            for option, (given, computed) in enumerate(
                zip(ciphertexts, expected[part], strict=True)
            ):
                findings.checked += 1
                if given != computed:
                    findings.fail(
                        "the aggregate is not the sum of the counted ballots' ciphertexts",
                        entry=item.index,
                        kind=kinds.TALLY,
                        field=f"totals.{part}[{option}]",
                    )
    return findings


# --- 11. closing checkpoint ----------------------------------------------------------------------


def check_closing_checkpoint(record: Record, manifest: Manifest) -> Findings:
    """Check 11: some checkpoint covering the (first) ``close`` entry carries a witness quorum
    of valid cosignatures."""
    findings = Findings(CLOSING_CHECKPOINT)
    closes = [index for index, entry in enumerate(record.entries) if entry.kind == kinds.CLOSE]
    if not closes:
        findings.fail("there is no close entry, so no closing checkpoint")
        return findings
    close_at = closes[0]
    reasons = []
    for checkpoint, note in record.checkpoints:
        if checkpoint.size <= close_at:
            continue
        findings.checked += 1
        try:
            verify_witnessed(
                note.text(),
                manifest.log_origin,
                manifest.log_key,
                manifest.witness_keys(),
                manifest.witness_quorum,
            )
            return findings
        except EvoteError as error:
            reasons.append(str(error))
    findings.fail(
        f"no checkpoint covering the close entry carries {manifest.witness_quorum} valid witness "
        "cosignatures: nothing may be tallied without it"
        + (f" ({'; '.join(reasons)})" if reasons else ""),
        entry=close_at,
        kind=kinds.CLOSE,
    )
    return findings


# --- 12. decryption shares -----------------------------------------------------------------------


def decryption_target(context: ElectionContext, part: str, option: int) -> DecryptionTarget:
    """The share proof's target: ``H_E`` and ``tally/<part>/<option>`` (§3.9.1)."""
    return DecryptionTarget(context.extended_hash, f"tally/{part}/{option}".encode())


def check_decryption_shares(
    context: ElectionContext,
    tally: EncryptedTally[Any],
    shares: Sequence[Parsed[GuardianShares[Any]]],
) -> tuple[Findings, dict[int, GuardianShares[Any]]]:
    """Check 12, for each ``decryption-share`` entry: guardian ``ℓ`` exists, signed it alone,
    posted no earlier share entry, and every share proof verifies against ``K̂_ℓ`` (scheme B:
    ``v_ℓ``) and the posted aggregate, bound to ``H_E`` and its target.

    Returns the share entries that verified completely, by guardian.
    """
    findings = Findings(DECRYPTION_SHARES)
    manifest = context.manifest
    scheme = record_scheme(context)
    verified: dict[int, GuardianShares[Any]] = {}
    seen: dict[int, int] = {}
    for item in shares:
        findings.checked += 1
        kind = kinds.DECRYPTION_SHARE
        if item.body is None:
            findings.unparsed(item)
            continue
        guardian = item.body.guardian
        if not 1 <= guardian <= len(manifest.guardians):
            findings.fail(
                f"there is no guardian {guardian}", entry=item.index, kind=kind, field="guardian"
            )
            continue
        good = _signed_by_exactly(
            findings,
            item.index,
            item.entry,
            manifest.guardians[guardian - 1],
            f"guardian {guardian}'s identity key",
        )
        if guardian in seen:
            good = False
            findings.fail(
                f"guardian {guardian} already posted shares at entry {seen[guardian]}",
                entry=item.index,
                kind=kind,
                field="guardian",
            )
        seen.setdefault(guardian, item.index)
        for part, values in item.body.shares.items():
            for option, (share, ciphertext) in enumerate(
                zip(values, tally.totals[part], strict=True)
            ):
                try:
                    scheme.verify_share(
                        ciphertext, share, guardian, decryption_target(context, part, option)
                    )
                except ProofError as error:
                    good = False
                    findings.fail(
                        str(error),
                        entry=item.index,
                        kind=kind,
                        field=f"shares.{part}[{option}]",
                        cause=error,
                    )
        if good:
            verified[guardian] = item.body
    return findings, verified


# --- 13. result ----------------------------------------------------------------------------------


def check_result(
    manifest: Manifest,
    tally: EncryptedTally[Any],
    results: Sequence[Parsed[TallyResult]],
    verified: Mapping[int, GuardianShares[Any]],
    registered: int,
    scheme: RecordScheme,
) -> Findings:
    """Check 13: one result, signed by an official quorum; its guardians are ``t`` or more
    distinct guardians whose shares verified (check 12); every count is what their shares
    decrypt the aggregate to (scheme A: ``count·B = Bc − Σ w_ℓ·M_ℓ``; scheme B: Shoup's
    combination gives ``count``) and ``0 ≤ count ≤ R × counted``; the outcome lines equal
    those recomputed from the counts (registered = number of credentials, participants =
    number of counted ballots)."""
    findings = Findings(RESULT)
    _single_problems(findings, results, kinds.RESULT)
    counted = len(tally.counted)
    for item in results:
        kind = kinds.RESULT
        _official_quorum(findings, item.index, item.entry, manifest)
        result = item.body
        if result is None:
            continue
        at = item.index
        guardians = result.guardians
        usable = True
        if len(set(guardians)) != len(guardians):
            usable = False
            findings.fail(
                f"guardians {list(guardians)} repeat a guardian",
                entry=at,
                kind=kind,
                field="guardians",
            )
        if len(set(guardians)) < manifest.guardian_quorum:
            usable = False
            findings.fail(
                f"{len(set(guardians))} guardian(s) combined; decryption needs at least "
                f"t = {manifest.guardian_quorum}",
                field="guardians",
                entry=at,
                kind=kind,
            )
        for guardian in sorted(set(guardians)):
            if guardian not in verified:
                usable = False
                findings.fail(
                    f"guardian {guardian}'s decryption shares did not verify or were not posted "
                    "(check 12)",
                    field="guardians",
                    entry=at,
                    kind=kind,
                )
        for part in _parts(manifest):
            contest, district = manifest.part(part)
            options = contest.options(district)
            limits = contest.shape(district).option_limits
            counts = result.counts[part]
            if len(counts) != len(options):
                findings.fail(
                    f"{len(counts)} counts for {len(options)} options",
                    field=f"counts.{part}",
                    entry=at,
                    kind=kind,
                )
                continue
            for option, (count, limit) in enumerate(zip(counts, limits, strict=True)):
                findings.checked += 1
                field = f"counts.{part}[{option}]"
                if not 0 <= count <= limit * counted:
                    findings.fail(
                        f"count {count} is outside [0, {limit * counted}] for {counted} counted "
                        "ballots",
                        field=field,
                        entry=at,
                        kind=kind,
                    )
                    continue
                if not usable:
                    continue
                shares = {g: verified[g].shares[part][option] for g in guardians}
                if not scheme.decrypts_to(tally.totals[part][option], shares, guardians, count):
                    findings.fail(
                        f"count {count} does not decrypt the aggregate: {scheme.mismatch}",
                        field=field,
                        entry=at,
                        kind=kind,
                    )
        try:
            expected = outcome_lines(
                manifest, result.counts, registered=registered, participants=counted
            )
        except (EvoteError, ValueError) as error:
            findings.fail(
                f"the outcome cannot be recomputed from the counts: {error}",
                field="outcomes",
                entry=at,
                kind=kind,
            )
            continue
        if tuple(result.outcomes) != expected:
            for position in range(max(len(expected), len(result.outcomes))):
                given = result.outcomes[position] if position < len(result.outcomes) else None
                wanted = expected[position] if position < len(expected) else None
                if given != wanted:
                    findings.fail(
                        f"says {given!r}; the counts give {wanted!r}",
                        field=f"outcomes[{position}]",
                        entry=at,
                        kind=kind,
                    )
    return findings


# --- 14. key checks ------------------------------------------------------------------------------


def key_check_ciphertext(context: ElectionContext) -> Ciphertext:
    """The public test ciphertext ``(ξ·B, ξ·K)``, ``ξ = Hq("key-check", H_E)``: an encryption
    of 0 that anyone can compute, so nothing is revealed by decrypting it."""
    nonce = hash_to_scalar("key-check", context.extended_hash)
    return Ciphertext(base_mul(nonce), mul(nonce, context.joint_key))


def key_check_target(context: ElectionContext) -> DecryptionTarget:
    """The key check's proof target: ``H_E`` and ``key-check``."""
    return DecryptionTarget(context.extended_hash, b"key-check")


@dataclass(frozen=True, slots=True)
class _KeyCheckRule:
    """What a key check is in one scheme: its kind, its parser, and its proof check (which
    raises :class:`ProofError`)."""

    kind: str
    parse: Callable[[bytes], Any]
    verify: Callable[[Any], None]
    against: str


def _key_check_rule(context: ElectionContext) -> _KeyCheckRule:
    target = key_check_target(context)
    if isinstance(context.scheme, PaillierElection):
        key = context.scheme.key
        test = paillier.key_check_ciphertext(context.extended_hash, key)

        def parse_b(body: bytes) -> PaillierKeyCheck:
            return PaillierKeyCheck.from_tlv(body, key)

        def verify_b(check: PaillierKeyCheck) -> None:
            paillier.verify_partial(test, check.share, key, target)

        return _KeyCheckRule(kinds.PAILLIER_KEY_CHECK, parse_b, verify_b, "v")
    ciphertext = key_check_ciphertext(context)

    def verify_a(check: KeyCheck) -> None:
        verify_decryption_share(
            ciphertext,
            DecryptionShare(check.guardian, check.share, check.proof),
            context.verification_keys[check.guardian - 1],
            target,
        )

    return _KeyCheckRule(kinds.KEY_CHECK, KeyCheck.from_tlv, verify_a, "K̂")


def check_key_checks(entries: Sequence[Entry], context: ElectionContext) -> Findings:
    """Check 14: one key check per guardian, signed by that guardian alone, posted before
    ``open``, whose proof shows its share of the public test ciphertext (target ``key-check``):
    every guardian can still decrypt before the election opens.

    Scheme A: a ``key-check`` with a Chaum–Pedersen proof against ``K̂_ℓ`` on ``(ξ·B, ξ·K)``.
    Scheme B: a ``paillier-key-check`` with a §4.5 proof against ``v_ℓ`` on ``ρ^n mod n²``
    (:func:`evote.crypto.paillier.key_check_ciphertext`): the guardian's acknowledgement that
    the share the dealer sealed to it matched ``v_ℓ``.
    """
    findings = Findings(KEY_CHECKS)
    manifest = context.manifest
    n = len(manifest.guardians)
    rule = _key_check_rule(context)
    kind = rule.kind
    opened = next((i for i, e in enumerate(entries) if e.kind == kinds.OPEN), None)
    seen: dict[int, int] = {}
    for item in parse_all(entries, kind, rule.parse):
        findings.checked += 1
        if item.body is None:
            findings.unparsed(item)
            continue
        guardian = item.body.guardian
        if not 1 <= guardian <= n:
            findings.fail(
                f"there is no guardian {guardian}: the manifest names guardians 1 to {n}",
                entry=item.index,
                kind=kind,
                field="guardian",
            )
            continue
        _signed_by_exactly(
            findings,
            item.index,
            item.entry,
            manifest.guardians[guardian - 1],
            f"guardian {guardian}'s identity key",
        )
        if guardian in seen:
            findings.fail(
                f"guardian {guardian} already posted its key check at entry {seen[guardian]}",
                entry=item.index,
                kind=kind,
                field="guardian",
            )
        seen.setdefault(guardian, item.index)
        if opened is not None and item.index > opened:
            findings.fail(
                f"guardian {guardian}'s key check comes after the election opened (open is "
                f"entry {opened}): it must show the guardian can decrypt before anyone votes",
                entry=item.index,
                kind=kind,
                field="position",
            )
        try:
            rule.verify(item.body)
        except ProofError as error:
            findings.fail(
                f"guardian {guardian}'s key check does not verify against {rule.against}_"
                f"{guardian}: {error}",
                entry=item.index,
                kind=kind,
                field="proof",
                cause=error,
            )
    for guardian in range(1, n + 1):
        if guardian not in seen:
            findings.fail(
                f"guardian {guardian} posted no key check: nothing shows it can still decrypt"
            )
    return findings


# --- scheme B: the dealer's ceremony (checks 4 and 5) --------------------------------------------


def check_dealer_ceremony(entries: Sequence[Entry], manifest: Manifest) -> Findings:
    """Check 4 for scheme B: for each guardian 1..n exactly one ``ceremony-transport`` entry,
    signed by its identity key alone, with a usable key; exactly one ``paillier-share`` entry
    sealed to each guardian, signed by the dealer alone, and none to anyone else.

    What is sealed cannot be checked in public: each guardian's key check (check 14) is its
    statement that the share it unsealed matched ``v_i``.
    """
    findings = Findings(GUARDIANS)
    n = len(manifest.guardians)
    dealer = manifest.require_dealer()
    _transport_round(findings, entries, manifest)
    sealed: dict[int, int] = {}
    for item in parse_all(entries, kinds.PAILLIER_SHARE, SealedKeyShare.from_tlv):
        findings.checked += 1
        if item.body is None:
            findings.unparsed(item)
            continue
        _signed_by_exactly(findings, item.index, item.entry, dealer, "the dealer")
        guardian = item.body.guardian
        if not 1 <= guardian <= n:
            findings.fail(
                f"the dealer sealed a share to guardian {guardian}; the manifest names guardians "
                f"1 to {n}",
                entry=item.index,
                kind=kinds.PAILLIER_SHARE,
                field="guardian",
            )
        elif guardian in sealed:
            findings.fail(
                f"a second share sealed to guardian {guardian} (the first is entry "
                f"{sealed[guardian]}); one is allowed",
                entry=item.index,
                kind=kinds.PAILLIER_SHARE,
                field="guardian",
            )
        else:
            sealed[guardian] = item.index
    for guardian in range(1, n + 1):
        if guardian not in sealed:
            findings.fail(f"the dealer sealed no share to guardian {guardian}")
    return findings


def paillier_params_hash(key: PaillierPublicKey) -> bytes:
    """``H_P`` of a dealer's key: ``H32("params", "paillier", n, v, 256, "sha512-tlv", 1)``."""
    return hash32(
        "params",
        "paillier",
        key.n,
        key.residue(key.v),
        PAILLIER_KAPPA,
        "sha512-tlv",
        PROTOCOL_VERSION,
    )


def _paillier_key_problems(manifest: Manifest, key: PaillierPublicKey) -> list[tuple[str, str]]:
    """Why ``key`` is not a key of this election, as ``(field, message)`` pairs."""
    problems = []
    if key.guardians != len(manifest.guardians):
        problems.append(
            (
                "key.verification_keys",
                f"the key is dealt to {key.guardians} guardians; the manifest names "
                f"{len(manifest.guardians)}",
            )
        )
    if key.quorum != manifest.guardian_quorum:
        problems.append(
            (
                "key.quorum",
                f"the key's quorum is {key.quorum}; the manifest's is {manifest.guardian_quorum}",
            )
        )
    if key.n.bit_length() != PAILLIER_MODULUS_BITS:
        problems.append(
            (
                "key.n",
                f"the modulus has {key.n.bit_length()} bits; the manifest's scheme family names "
                f"{PAILLIER_MODULUS_BITS}",
            )
        )
    return problems


def derive_paillier_context(manifest: Manifest, key: PaillierPublicKey) -> ElectionContext:
    """``H_B``, ``H_P`` of the key and ``H_E = H32("paillier/ext-base", H_B, H_P, key)``, from
    scratch. Raises :class:`CheckFailed` (check 5) if the crypto layer does not take the key as
    a production key of that ``H_P``."""
    params = paillier_params_hash(key)
    try:
        paillier.paillier_scheme_for(params, key)
    except VerificationError as error:
        raise CheckFailed(JOINT_KEY, str(error), kind=kinds.PAILLIER_KEY, field="key") from error
    hashed_base = base_hash(manifest)
    extended = hash32("paillier/ext-base", hashed_base, params, key.to_value())
    return ElectionContext(manifest, PaillierElection(key), hashed_base, extended)


def check_paillier_key(
    entries: Sequence[Entry], manifest: Manifest
) -> tuple[Findings, ElectionContext | None]:
    """Check 5 for scheme B: exactly one ``paillier-key`` entry, signed by the dealer and an
    official quorum (and nobody else); its ``H_B`` is this election's; the key parses and is
    valid (the modulus has no small factor, is no square nor prime; ``v`` and every ``v_i`` are
    units of order above 2), is dealt to the manifest's guardians with its quorum, and has the
    family's 2048-bit modulus; the dealer's transport key is usable.

    Returns the context derived from the one key entry whose key fits the manifest, whether or
    not its signatures or ``H_B`` are right (those failures are reported), so that the later
    checks can run.
    """
    findings = Findings(JOINT_KEY)
    kind = kinds.PAILLIER_KEY
    dealer = manifest.require_dealer()
    hashed_base = base_hash(manifest)
    items = parse_all(entries, kind, DealtKey.from_tlv)
    _single_problems(findings, items, kind)
    for item in items:
        findings.checked += 1
        _official_quorum(findings, item.index, item.entry, manifest, also_allowed=[dealer])
        if dealer not in item.entry.signers:
            findings.fail(
                f"not signed by the dealer ({_short(dealer)})",
                entry=item.index,
                kind=kind,
                field="signatures",
            )
        body = item.body
        if body is None:
            continue
        if body.base_hash != hashed_base:
            findings.fail(
                f"H_B is {body.base_hash.hex()}, but this election's recomputes to "
                f"{hashed_base.hex()}: the key was dealt for another election",
                entry=item.index,
                kind=kind,
                field="base_hash",
            )
        if not usable(body.transport):
            findings.fail(
                "the dealer's transport key is unusable (small order): no share was sealed with it",
                entry=item.index,
                kind=kind,
                field="transport",
            )
        for field, message in _paillier_key_problems(manifest, body.key):
            findings.fail(message, entry=item.index, kind=kind, field=field)
    one = the_one(items)
    if one is None or one.body is None or _paillier_key_problems(manifest, one.body.key):
        return findings, None
    try:
        return findings, derive_paillier_context(manifest, one.body.key)
    except CheckFailed as error:
        findings.failures.append(error)
        return findings, None
