"""Per-primitive costs and per-ballot encrypt/verify figures on the reference manifest.

The reference manifest (design notes; :mod:`evote.mock.defaults`) is a yes/no referendum, a
1-of-5 head-of-community contest and a council contest of 10 candidates with up to 3 marks;
undervotes are allowed, so the contest totals range over [0,1], [0,1] and [0,3]: 17 options
and 3 contest proofs. Ballots are made and checked by the real ballot code
(:func:`encrypt_ballot`, :meth:`EncryptedBallot.from_tlv`, :func:`verify_ballot`); a ballot's
size is that of its signed board entry.

The *floor* is the number of scalar multiplications a verification performs, counted by
instrumenting the two libsodium calls that do them, times the cost of one measured in the
same run. Everything else (point additions, hashing, Python) is overhead over the floor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from evote.bench.timing import best_seconds_per_call, best_seconds_per_item
from evote.board.entry import Entry
from evote.crypto import group
from evote.crypto.encoding import Value
from evote.crypto.group import Point, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.rng import random_scalar
from evote.crypto.signing import SigningKey
from evote.crypto.threshold import Polynomial
from evote.election.ballot import EncryptedBallot, verify_ballot
from evote.election.context import ElectionContext
from evote.election.encrypt import encrypt_ballot
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import Choices, mock_manifest, random_plaintext


@dataclass(frozen=True, slots=True)
class PrimitiveCosts:
    """CPU microseconds per call."""

    fixed_base_mul_us: float
    variable_base_mul_us: float
    point_add_us: float
    point_validate_us: float
    challenge_hash_us: float
    sign_us: float
    signature_verify_us: float


@dataclass(frozen=True, slots=True)
class OperationCounts:
    fixed_base: int
    variable_base: int
    validations: int


@dataclass(frozen=True, slots=True)
class BallotFigures:
    ballots: int
    encrypt_ms_per_ballot: float
    decode_ms_per_ballot: float
    verify_ms_per_ballot: float
    ballot_bytes: int
    floor_verify_ms_per_ballot: float
    verify_over_floor: float
    floor_decode_and_verify_ms_per_ballot: float
    decode_and_verify_over_floor: float
    verify_counts: OperationCounts
    decode_counts: OperationCounts


@dataclass(frozen=True, slots=True)
class CryptoBenchmark:
    primitives: PrimitiveCosts
    ballot: BallotFigures

    def as_json_dict(self) -> dict[str, object]:
        """The per-ballot figures at the top level, the primitive costs under ``primitives``."""
        return {**asdict(self.ballot), "primitives": asdict(self.primitives)}


def _primitive_actions() -> dict[str, tuple[Callable[[], object], int]]:
    """Each primitive as a callable with its batch size."""
    k, other = random_scalar(), random_scalar()
    p, q = base_mul(k), base_mul(other)
    encoded = p.encode()
    statement: list[Value] = [bytes(32), bytes(32), 2, 7, 0, 1, p, q, p, [q, p], [p, q]]
    signer = SigningKey.generate()
    message = bytes(200)
    signature = signer.sign(message)
    verifier = signer.verify_key
    return {
        "fixed_base_mul_us": (lambda: base_mul(k), 400),
        "variable_base_mul_us": (lambda: mul(k, p), 200),
        "point_add_us": (lambda: p + q, 400),
        "point_validate_us": (lambda: Point.decode(encoded), 400),
        "challenge_hash_us": (lambda: hash_to_scalar("range-selection", *statement), 400),
        "sign_us": (lambda: signer.sign(message), 100),
        "signature_verify_us": (lambda: verifier.verify(message, signature), 100),
    }


def measure_primitives(
    actions: dict[str, tuple[Callable[[], object], int]], best: dict[str, float]
) -> None:
    """Lower ``best[name]`` (µs per call) by one more measurement of each primitive."""
    for name, (action, calls) in actions.items():
        micros = 1e6 * best_seconds_per_call(action, calls, repeats=1)
        best[name] = min(best.get(name, micros), micros)


@contextlib.contextmanager
def count_operations() -> Iterator[Callable[[], OperationCounts]]:
    """Count libsodium's scalar multiplications and point validations inside the block."""
    counts = {"fixed": 0, "variable": 0, "valid": 0}
    sbase, smul, valid = group._sbase_raw, group._smul_raw, group._is_valid_raw

    def counting_sbase(k: bytes) -> bytes:
        counts["fixed"] += 1
        return sbase(k)

    def counting_smul(k: bytes, p: bytes) -> bytes:
        counts["variable"] += 1
        return smul(k, p)

    def counting_valid(p: bytes) -> bool:
        counts["valid"] += 1
        return valid(p)

    group._sbase_raw, group._smul_raw, group._is_valid_raw = (
        counting_sbase,
        counting_smul,
        counting_valid,
    )
    try:
        yield lambda: OperationCounts(counts["fixed"], counts["variable"], counts["valid"])
    finally:
        group._sbase_raw, group._smul_raw, group._is_valid_raw = sbase, smul, valid


def _reference_context() -> ElectionContext:
    """The reference manifest with throwaway keys and a one-guardian key."""
    keys = [SigningKey.generate() for _ in range(5)]
    manifest = mock_manifest(
        "benchmark",
        REFERENCE_CONTESTS,
        officials=keys[:1],
        official_quorum=1,
        authority=keys[1],
        guardians=keys[2:3],
        guardian_quorum=1,
        log_key=keys[3],
        witnesses=[("witness.bench", keys[4])],
        witness_quorum=1,
    )
    return ElectionContext.create(manifest, [Polynomial.random(1).commitments()])


def measure_ballots(ballots: int, rounds: int = 5) -> tuple[PrimitiveCosts, BallotFigures]:
    context = _reference_context()
    manifest = context.manifest
    choices = Choices(None)
    plaintexts = [
        random_plaintext(manifest, "default", choices, f"voter/{n}") for n in range(ballots)
    ]
    voter = SigningKey.generate()
    entries: list[bytes] = []

    def encrypt_all() -> int:
        entries.clear()
        for plaintext in plaintexts:
            ballot = encrypt_ballot(plaintext, context, voter.verify_key, 0).ballot
            entries.append(
                Entry.create("ballot", manifest.election_id, ballot.to_tlv(), [voter]).encoded
            )
        return len(plaintexts)

    encrypt_seconds = best_seconds_per_item(encrypt_all, repeats=2)
    bodies = [Entry.decode(data).body for data in entries]
    decoded = [EncryptedBallot.from_tlv(body, manifest) for body in bodies]

    def decode_all() -> int:
        for body in bodies:
            EncryptedBallot.from_tlv(body, manifest)
        return len(bodies)

    def verify_all() -> int:
        for ballot in decoded:
            verify_ballot(ballot, context)
        return len(decoded)

    # Interleave primitive and ballot measurements so both see the same machine load.
    actions = _primitive_actions()
    best: dict[str, float] = {}
    decode_seconds = verify_seconds = float("inf")
    for _ in range(rounds):
        measure_primitives(actions, best)
        decode_seconds = min(decode_seconds, best_seconds_per_item(decode_all, repeats=1))
        verify_seconds = min(verify_seconds, best_seconds_per_item(verify_all, repeats=1))
    primitives = PrimitiveCosts(**best)
    with count_operations() as counted:
        EncryptedBallot.from_tlv(bodies[0], manifest)
    decode_counts = counted()
    with count_operations() as counted:
        verify_ballot(decoded[0], context)
    verify_counts = counted()

    floor_verify_us = (
        verify_counts.fixed_base * primitives.fixed_base_mul_us
        + verify_counts.variable_base * primitives.variable_base_mul_us
    )
    # A point validation is a multiplication by L inside libsodium: the floor of decoding.
    floor_both_us = floor_verify_us + decode_counts.validations * primitives.point_validate_us
    verify_ms = 1e3 * verify_seconds
    both_ms = 1e3 * (verify_seconds + decode_seconds)
    return primitives, BallotFigures(
        ballots=ballots,
        encrypt_ms_per_ballot=1e3 * encrypt_seconds,
        decode_ms_per_ballot=1e3 * decode_seconds,
        verify_ms_per_ballot=verify_ms,
        ballot_bytes=max(len(data) for data in entries),
        floor_verify_ms_per_ballot=floor_verify_us / 1e3,
        verify_over_floor=verify_ms / (floor_verify_us / 1e3),
        floor_decode_and_verify_ms_per_ballot=floor_both_us / 1e3,
        decode_and_verify_over_floor=both_ms / (floor_both_us / 1e3),
        verify_counts=verify_counts,
        decode_counts=decode_counts,
    )


def run(ballots: int, rounds: int = 5) -> CryptoBenchmark:
    """Encrypt ``ballots`` reference ballots, then measure in ``rounds`` interleaved rounds."""
    return CryptoBenchmark(*measure_ballots(ballots, rounds))
