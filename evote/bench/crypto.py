"""Per-primitive costs and per-ballot encrypt/verify figures on the reference manifest's shape.

The reference manifest (design notes) is a yes/no referendum, a 1-of-5 head-of-community
contest and a council contest of 10 candidates with up to 3 marks; undervotes are allowed,
so the contest totals range over [0,1], [0,1] and [0,3]: 17 options and 3 contest proofs.

The *floor* is the number of scalar multiplications a verification performs, counted by
instrumenting the two libsodium calls that do them, times the cost of one measured in the
same run. Everything else (point additions, hashing, Python) is overhead over the floor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Final

from evote.bench.timing import best_seconds_per_call, best_seconds_per_item
from evote.crypto import encoding, group
from evote.crypto.elgamal import new_ballot_seed
from evote.crypto.encoding import Value
from evote.crypto.group import Point, base_mul, mul
from evote.crypto.hashing import hash32, hash_to_scalar
from evote.crypto.rng import random_below, random_bytes, random_scalar
from evote.crypto.signing import SigningKey
from evote.election.contest import ContestShape, EncryptedContest, verify_contest
from evote.election.encrypt import encrypt_contest

REFERENCE_SHAPE: Final = (
    ContestShape(option_limits=(1, 1), min_total=0, max_total=1),
    ContestShape(option_limits=(1,) * 5, min_total=0, max_total=1),
    ContestShape(option_limits=(1,) * 10, min_total=0, max_total=3),
)


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


@dataclass(frozen=True, slots=True)
class _BallotFixture:
    election_hash: bytes
    binding: bytes
    encoded: bytes


def _random_votes(shape: ContestShape) -> list[int]:
    while True:
        votes = [random_below(limit + 1) for limit in shape.option_limits]
        if shape.min_total <= sum(votes) <= shape.max_total:
            return votes


def _encode_ballot(
    ballot_id: bytes, credential: bytes, contests: list[EncryptedContest], signature: bytes
) -> bytes:
    return encoding.encode([ballot_id, credential, [c.to_tlv() for c in contests], signature])


def _decode_contests(data: bytes) -> list[EncryptedContest]:
    fields = encoding.expect_list(encoding.decode(data), 4, what="ballot")
    items = encoding.expect_list(fields[2], len(REFERENCE_SHAPE), what="ballot.contests")
    return [
        EncryptedContest.from_tlv(item, shape, what=f"contest[{index}]")
        for index, (item, shape) in enumerate(zip(items, REFERENCE_SHAPE, strict=True))
    ]


def measure_ballots(ballots: int, rounds: int = 5) -> tuple[PrimitiveCosts, BallotFigures]:
    key = base_mul(random_scalar())
    election_hash = hash32("ext-base", b"benchmark election")
    signer = SigningKey.generate()
    credential = signer.verify_key.encode()
    votes = [[_random_votes(shape) for shape in REFERENCE_SHAPE] for _ in range(ballots)]
    fixtures: list[_BallotFixture] = []

    def encrypt_all() -> int:
        fixtures.clear()
        for ballot_votes in votes:
            ballot_id = random_bytes(16)
            binding = hash32("ballot-binding", election_hash, ballot_id, credential, "reference")
            seed = new_ballot_seed()
            contests = [
                encrypt_contest(v, shape, index, key, election_hash, binding, seed)
                for index, (v, shape) in enumerate(zip(ballot_votes, REFERENCE_SHAPE, strict=True))
            ]
            encoded = _encode_ballot(ballot_id, credential, contests, signer.sign(binding))
            fixtures.append(_BallotFixture(election_hash, binding, encoded))
        return len(votes)

    encrypt_seconds = best_seconds_per_item(encrypt_all, repeats=2)
    decoded = [_decode_contests(f.encoded) for f in fixtures]

    def decode_all() -> int:
        for fixture in fixtures:
            _decode_contests(fixture.encoded)
        return len(fixtures)

    def verify_all() -> int:
        for fixture, contests in zip(fixtures, decoded, strict=True):
            for index, (contest, shape) in enumerate(zip(contests, REFERENCE_SHAPE, strict=True)):
                verify_contest(contest, shape, index, key, fixture.election_hash, fixture.binding)
        return len(fixtures)

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
        _decode_contests(fixtures[0].encoded)
    decode_counts = counted()
    with count_operations() as counted:
        for index, (contest, shape) in enumerate(zip(decoded[0], REFERENCE_SHAPE, strict=True)):
            verify_contest(
                contest, shape, index, key, fixtures[0].election_hash, fixtures[0].binding
            )
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
        ballot_bytes=max(len(f.encoded) for f in fixtures),
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
