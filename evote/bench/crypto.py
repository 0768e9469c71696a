"""Per-ballot and per-election costs of both schemes on the reference manifest.

The reference manifest (design notes; :mod:`evote.mock.defaults`) is a yes/no referendum, a
1-of-5 head-of-community contest and a council contest of 10 candidates with up to 3 marks;
undervotes are allowed, so the contest totals range over [0,1], [0,1] and [0,3]: 17 options
and 3 contest proofs. Ballots are made and checked by the real ballot code
(:func:`encrypt_ballot`, :meth:`EncryptedBallot.from_tlv`, :func:`verify_ballot`); a ballot's
size is that of its signed board entry.

The same code measures scheme A (exponential ElGamal on Ed25519, the guardians' joint key) and
scheme B (threshold Paillier, a 2048-bit key from :func:`evote.crypto.paillier.deal`; dealing
draws two fresh safe primes, a few seconds). Per ballot: encrypt with proofs, decode and
validate the entry's body, verify the proofs, and the signed entry's size. Per election, on the
aggregates of the measured ballots (one per option of every contest, 17 on the reference
manifest) with a roster of :data:`GUARDIANS` guardians and quorum :data:`QUORUM`: one
guardian's decryption shares with proofs of every aggregate, a verifier's check of that
guardian's share entry, and the combination of ``t`` guardians' shares into the counts (which
are checked against the ballots' plaintexts, so a benchmark of a wrong decryption fails).

:func:`compare` measures both schemes in one run, interleaving their rounds so that both see
the same machine load.

Scheme A's *floor* is the number of scalar multiplications a verification performs, counted by
instrumenting the two libsodium calls that do them, times the cost of one measured in the
same run. Everything else (point additions, hashing, Python) is overhead over the floor.
Scheme B's cost is modular exponentiation in ``Z*_{n²}`` (gmpy2); it has no such floor here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Final

from evote.bench.timing import best_seconds_per_call, best_seconds_per_item
from evote.board.entry import Entry
from evote.crypto import group, paillier
from evote.crypto.encoding import Value
from evote.crypto.group import Point, Scalar, base_mul, mul
from evote.crypto.hashing import hash_to_scalar
from evote.crypto.paillier import DealerOutput
from evote.crypto.proofs.chaum_pedersen import prove_decryption_share
from evote.crypto.proofs.statements import DecryptionTarget
from evote.crypto.rng import random_scalar
from evote.crypto.signing import SigningKey
from evote.crypto.threshold import Polynomial
from evote.election.ballot import EncryptedBallot, verify_ballot
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import ELGAMAL, PAILLIER, SCHEME_NAMES, Manifest, SchemeName
from evote.election.tally import (
    SHARES_KIND,
    EncryptedTally,
    GuardianShares,
    aggregate,
    all_parts,
    check_guardian_shares,
    combine_counts,
    decrypt_totals,
)
from evote.errors import InvalidInput, VerificationError
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import Choices, mock_manifest, random_plaintext

#: The roster of the per-election figures: the mock election's (5 guardians, any 3 decrypt).
GUARDIANS: Final = 5
QUORUM: Final = 3
#: Ballots measured per scheme unless told: scheme B's ballots cost about 60 times more.
DEFAULT_BALLOTS: Final[dict[SchemeName, int]] = {ELGAMAL: 100, PAILLIER: 10}
#: Interleaved rounds measured per scheme unless told (the best round counts).
DEFAULT_ROUNDS: Final[dict[SchemeName, int]] = {ELGAMAL: 5, PAILLIER: 3}

#: ``dealer(guardians, quorum)``: how scheme B's key is dealt.
Dealer = Callable[[int, int], DealerOutput]


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
    """Per ballot of the reference manifest; the floor and the counts are scheme A's only."""

    ballots: int
    encrypt_ms_per_ballot: float
    decode_ms_per_ballot: float
    verify_ms_per_ballot: float
    ballot_bytes: int
    floor_verify_ms_per_ballot: float | None = None
    verify_over_floor: float | None = None
    floor_decode_and_verify_ms_per_ballot: float | None = None
    decode_and_verify_over_floor: float | None = None
    verify_counts: OperationCounts | None = None
    decode_counts: OperationCounts | None = None


@dataclass(frozen=True, slots=True)
class DecryptionFigures:
    """Per election: the tally of ``tally_ballots`` ballots, ``aggregates`` ciphertexts."""

    guardians: int
    quorum: int
    aggregates: int
    tally_ballots: int
    #: One guardian: a decryption share with its proof of every aggregate.
    share_ms: float
    #: A verifier: decode one guardian's share entry and check every proof in it.
    verify_shares_ms: float
    #: Combine ``quorum`` guardians' shares of every aggregate into the counts.
    combine_ms: float
    #: One guardian's signed ``decryption-share`` entry.
    shares_entry_bytes: int


@dataclass(frozen=True, slots=True)
class SchemeBenchmark:
    """One scheme's figures; ``primitives`` are scheme A's (libsodium) only."""

    scheme: SchemeName
    #: The public key's size: 256 (Ed25519) or the Paillier modulus's bits.
    key_bits: int
    #: CPU seconds to make the key: scheme B's dealing (two safe primes), scheme A's
    #: guardians' polynomials and commitments (the ceremony's messages not included).
    key_seconds: float
    ballot: BallotFigures
    decryption: DecryptionFigures
    primitives: PrimitiveCosts | None = None

    def as_json_dict(self) -> dict[str, object]:
        """The per-ballot figures at the top level, the decryption figures under
        ``decryption``, scheme A's primitive costs under ``primitives``."""
        result: dict[str, object] = {
            "scheme": self.scheme,
            "key_bits": self.key_bits,
            "key_seconds": self.key_seconds,
            **asdict(self.ballot),
            "decryption": asdict(self.decryption),
        }
        if self.primitives is not None:
            result["primitives"] = asdict(self.primitives)
        return result


#: The comparison's rows: (label, unit, figure of a :class:`SchemeBenchmark`).
COMPARED: Final[tuple[tuple[str, str, Callable[[SchemeBenchmark], float]], ...]] = (
    ("encrypt with proofs, per ballot", "ms", lambda b: b.ballot.encrypt_ms_per_ballot),
    ("verify proofs, per ballot", "ms", lambda b: b.ballot.verify_ms_per_ballot),
    ("decode and validate, per ballot", "ms", lambda b: b.ballot.decode_ms_per_ballot),
    ("ballot (signed board entry)", "B", lambda b: b.ballot.ballot_bytes),
    ("one guardian's shares with proofs", "ms", lambda b: b.decryption.share_ms),
    ("verify one guardian's shares", "ms", lambda b: b.decryption.verify_shares_ms),
    ("combine t shares into the counts", "ms", lambda b: b.decryption.combine_ms),
    ("one guardian's share entry", "B", lambda b: b.decryption.shares_entry_bytes),
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both schemes measured in one run, interleaved."""

    elgamal: SchemeBenchmark
    paillier: SchemeBenchmark

    def rows(self) -> list[tuple[str, str, float, float, float]]:
        """``(measure, unit, scheme A, scheme B, B ÷ A)`` per row of :data:`COMPARED`."""
        rows = []
        for label, unit, figure in COMPARED:
            a, b = figure(self.elgamal), figure(self.paillier)
            rows.append((label, unit, a, b, b / a))
        return rows

    def as_json_dict(self) -> dict[str, object]:
        return {
            "elgamal": self.elgamal.as_json_dict(),
            "paillier": self.paillier.as_json_dict(),
            "ratios": {label: ratio for label, _, _, _, ratio in self.rows()},
        }


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


def deal_paillier_key(guardians: int, quorum: int) -> DealerOutput:
    """Scheme B's key with fresh safe primes (a few seconds): what the command line uses. Tests
    replace this module attribute with a dealing from fixed primes."""
    return paillier.deal(guardians, quorum)


def _reference_manifest(
    scheme: SchemeName, guardians: int, quorum: int
) -> tuple[Manifest, tuple[SigningKey, ...]]:
    """The reference manifest with throwaway keys for every party (a dealer for scheme B), and
    the guardians' identity keys (which sign their share entries)."""
    keys = [SigningKey.generate() for _ in range(4)]
    guardian_keys = tuple(SigningKey.generate() for _ in range(guardians))
    manifest = mock_manifest(
        "benchmark",
        REFERENCE_CONTESTS,
        officials=keys[:1],
        official_quorum=1,
        authority=keys[1],
        guardians=guardian_keys,
        guardian_quorum=quorum,
        log_key=keys[2],
        witnesses=[("witness.bench", keys[3])],
        witness_quorum=1,
        dealer=SigningKey.generate() if scheme == PAILLIER else None,
    )
    return manifest, guardian_keys


#: ``decrypt(guardian)``: that guardian's proved partial decryption ``(aggregate, target)``.
Decrypt = Callable[[int], Callable[[Any, DecryptionTarget], Any]]


@dataclass(frozen=True, slots=True)
class _Keys:
    context: ElectionContext
    guardian_keys: tuple[SigningKey, ...]
    decrypt: Decrypt
    key_bits: int
    key_seconds: float


def _elgamal_keys(guardians: int, quorum: int) -> _Keys:
    """Scheme A: every guardian's polynomial, the joint key and each guardian's key share."""
    manifest, guardian_keys = _reference_manifest(ELGAMAL, guardians, quorum)
    started = time.process_time()
    polynomials = [Polynomial.random(quorum) for _ in range(guardians)]
    context = ElectionContext.create(manifest, [p.commitments() for p in polynomials])
    key_seconds = time.process_time() - started
    shares = {
        index: Scalar(sum(p.evaluate(index).value for p in polynomials))
        for index in range(1, guardians + 1)
    }

    def decrypt(guardian: int) -> Callable[[Any, DecryptionTarget], Any]:
        return lambda ciphertext, target: prove_decryption_share(
            ciphertext, shares[guardian], guardian, target
        )

    return _Keys(context, guardian_keys, decrypt, 256, key_seconds)


def _paillier_keys(guardians: int, quorum: int, dealer: Dealer | None) -> _Keys:
    """Scheme B: the dealer's key (``dealer``, or :func:`deal_paillier_key`) and its shares."""
    manifest, guardian_keys = _reference_manifest(PAILLIER, guardians, quorum)
    started = time.process_time()
    dealt = (dealer or deal_paillier_key)(guardians, quorum)
    key_seconds = time.process_time() - started
    context = ElectionContext.for_paillier(manifest, dealt.public_key)
    key = dealt.public_key

    def decrypt(guardian: int) -> Callable[[Any, DecryptionTarget], Any]:
        share = dealt.share_for(guardian)
        return lambda ciphertext, target: paillier.partial_decrypt(ciphertext, share, key, target)

    return _Keys(context, guardian_keys, decrypt, key.n.bit_length(), key_seconds)


def _reference_context() -> ElectionContext:
    """Scheme A's reference context with the benchmark's roster."""
    return _elgamal_keys(GUARDIANS, QUORUM).context


def _expected_counts(
    manifest: Manifest, plaintexts: list[PlaintextBallot]
) -> dict[str, tuple[int, ...]]:
    counts: dict[str, list[int]] = {}
    for part in all_parts(manifest):
        contest, district = manifest.part(part)
        counts[part] = [0] * len(contest.options(district))
    for plaintext in plaintexts:
        for part, votes in zip(manifest.style(plaintext.style).parts, plaintext.votes, strict=True):
            counts[part] = [total + vote for total, vote in zip(counts[part], votes, strict=True)]
    return {part: tuple(values) for part, values in counts.items()}


class _SchemeRun:
    """One scheme's ballots, tally and shares. Making them is the first measured round;
    :meth:`round` measures everything once more, and the best of each figure counts."""

    def __init__(self, keys: _Keys, ballots: int) -> None:
        if ballots < 1:
            raise InvalidInput(f"the benchmark needs at least one ballot, got {ballots}")
        self.keys = keys
        context = self.context = keys.context
        manifest = context.manifest
        self.quorum = quorum = manifest.guardian_quorum
        choices = Choices(None)
        self.plaintexts = [
            random_plaintext(manifest, "default", choices, f"voter/{n}") for n in range(ballots)
        ]
        self.voter = SigningKey.generate()
        self.best: dict[str, float] = {}
        self.entries: list[bytes] = []
        self._timed("encrypt", self._encrypt_all)
        self.bodies = [Entry.decode(data).body for data in self.entries]
        self.decoded: list[EncryptedBallot[Any, Any]] = []
        self._timed("decode", self._decode_all)
        self._timed("verify", self._verify_all)
        self.tally = EncryptedTally(
            tuple(range(ballots)), aggregate(context, self.decoded), context.scheme
        )
        self.shares: dict[int, GuardianShares[Any]] = {}
        self._timed("share", self._share)
        for guardian in range(2, quorum + 1):
            self.shares[guardian] = decrypt_totals(
                context, guardian, self.tally.totals, keys.decrypt(guardian)
            )
        self.share_entry = Entry.create(
            SHARES_KIND, manifest.election_id, self.shares[1].to_tlv(), [keys.guardian_keys[0]]
        ).encoded
        self._timed("verify_shares", self._verify_shares)
        highest = max(
            max(contest.shape(district).option_limits)
            for contest, district in (manifest.part(part) for part in all_parts(manifest))
        )
        self.bound = highest * ballots
        self.counts: dict[str, tuple[int, ...]] = {}
        self._timed("combine", self._combine)
        expected = _expected_counts(manifest, self.plaintexts)
        if self.counts != expected:
            raise VerificationError(
                f"the {manifest.scheme_name} benchmark decrypted {self.counts}, but its ballots "
                f"sum to {expected}: the decryption is wrong"
            )

    def _timed(self, name: str, batch: Callable[[], int]) -> None:
        seconds = best_seconds_per_item(batch, repeats=1)
        self.best[name] = min(self.best.get(name, seconds), seconds)

    def _encrypt_all(self) -> int:
        context, voter = self.context, self.voter
        election_id = context.manifest.election_id
        self.entries = [
            Entry.create(
                "ballot",
                election_id,
                encrypt_ballot(plaintext, context, voter.verify_key, 0).ballot.to_tlv(),
                [voter],
            ).encoded
            for plaintext in self.plaintexts
        ]
        return len(self.entries)

    def _decode_all(self) -> int:
        self.decoded = [EncryptedBallot.from_tlv(body, self.context) for body in self.bodies]
        return len(self.decoded)

    def _verify_all(self) -> int:
        for ballot in self.decoded:
            verify_ballot(ballot, self.context)
        return len(self.decoded)

    def _share(self) -> int:
        self.shares[1] = decrypt_totals(self.context, 1, self.tally.totals, self.keys.decrypt(1))
        return 1

    def _verify_shares(self) -> int:
        entry = Entry.decode(self.share_entry)
        check_guardian_shares(entry.body, entry.signers, self.context, self.tally)
        return 1

    def _combine(self) -> int:
        self.counts = combine_counts(
            self.tally.totals, self.shares, self.quorum, self.bound, codec=self.context.scheme
        )
        return 1

    def round(self) -> None:
        """Measure every figure once more (the first round was making them)."""
        self._timed("encrypt", self._encrypt_all)
        self._timed("decode", self._decode_all)
        self._timed("verify", self._verify_all)
        self._timed("share", self._share)
        self._timed("verify_shares", self._verify_shares)
        self._timed("combine", self._combine)

    def figures(self) -> tuple[BallotFigures, DecryptionFigures]:
        best = self.best
        ballot = BallotFigures(
            ballots=len(self.plaintexts),
            encrypt_ms_per_ballot=1e3 * best["encrypt"],
            decode_ms_per_ballot=1e3 * best["decode"],
            verify_ms_per_ballot=1e3 * best["verify"],
            ballot_bytes=max(len(data) for data in self.entries),
        )
        decryption = DecryptionFigures(
            guardians=len(self.keys.guardian_keys),
            quorum=self.quorum,
            aggregates=sum(len(option) for option in self.tally.totals.values()),
            tally_ballots=len(self.plaintexts),
            share_ms=1e3 * best["share"],
            verify_shares_ms=1e3 * best["verify_shares"],
            combine_ms=1e3 * best["combine"],
            shares_entry_bytes=len(self.share_entry),
        )
        return ballot, decryption


def _with_floor(
    ballot: BallotFigures, primitives: PrimitiveCosts, measured: _SchemeRun
) -> BallotFigures:
    """Scheme A's floor: the counted multiplications of one ballot times their measured cost."""
    with count_operations() as counted:
        EncryptedBallot.from_tlv(measured.bodies[0], measured.context)
    decode_counts = counted()
    with count_operations() as counted:
        verify_ballot(measured.decoded[0], measured.context)
    verify_counts = counted()
    floor_verify_us = (
        verify_counts.fixed_base * primitives.fixed_base_mul_us
        + verify_counts.variable_base * primitives.variable_base_mul_us
    )
    # A point validation is a multiplication by L inside libsodium: the floor of decoding.
    floor_both_us = floor_verify_us + decode_counts.validations * primitives.point_validate_us
    verify_ms = ballot.verify_ms_per_ballot
    both_ms = verify_ms + ballot.decode_ms_per_ballot
    return dataclasses.replace(
        ballot,
        floor_verify_ms_per_ballot=floor_verify_us / 1e3,
        verify_over_floor=verify_ms / (floor_verify_us / 1e3),
        floor_decode_and_verify_ms_per_ballot=floor_both_us / 1e3,
        decode_and_verify_over_floor=both_ms / (floor_both_us / 1e3),
        verify_counts=verify_counts,
        decode_counts=decode_counts,
    )


def _keys(scheme: SchemeName, guardians: int, quorum: int, dealer: Dealer | None) -> _Keys:
    if scheme == ELGAMAL:
        return _elgamal_keys(guardians, quorum)
    if scheme == PAILLIER:
        return _paillier_keys(guardians, quorum, dealer)
    raise InvalidInput(f"unknown scheme {scheme!r}: use {' or '.join(SCHEME_NAMES)}")


def _measure(
    plan: dict[SchemeName, tuple[int, int]],
    guardians: int,
    quorum: int,
    dealer: Dealer | None,
) -> dict[SchemeName, SchemeBenchmark]:
    """Measure each scheme of ``plan`` (scheme → (ballots, rounds)), their rounds interleaved
    with each other and with scheme A's primitive costs."""
    for ballots, rounds in plan.values():
        if ballots < 1 or rounds < 1:
            raise InvalidInput(
                f"a benchmark needs at least one ballot and one round, got {ballots} and {rounds}"
            )
    keys = {scheme: _keys(scheme, guardians, quorum, dealer) for scheme in plan}
    runs = {scheme: _SchemeRun(keys[scheme], ballots) for scheme, (ballots, _) in plan.items()}
    actions = _primitive_actions() if ELGAMAL in plan else {}
    best: dict[str, float] = {}
    if actions:
        measure_primitives(actions, best)
    # Making the runs above was their first round.
    for round_number in range(1, max(rounds for _, rounds in plan.values())):
        if actions and round_number < plan[ELGAMAL][1]:
            measure_primitives(actions, best)
        for scheme, measured in runs.items():
            if round_number < plan[scheme][1]:
                measured.round()
    primitives = PrimitiveCosts(**best) if actions else None
    results = {}
    for scheme, measured in runs.items():
        ballot, decryption = measured.figures()
        if scheme == ELGAMAL and primitives is not None:
            ballot = _with_floor(ballot, primitives, measured)
        results[scheme] = SchemeBenchmark(
            scheme,
            keys[scheme].key_bits,
            keys[scheme].key_seconds,
            ballot,
            decryption,
            primitives if scheme == ELGAMAL else None,
        )
    return results


def run(
    scheme: SchemeName = ELGAMAL,
    ballots: int | None = None,
    rounds: int | None = None,
    *,
    guardians: int = GUARDIANS,
    quorum: int = QUORUM,
    dealer: Dealer | None = None,
) -> SchemeBenchmark:
    """Encrypt ``ballots`` reference ballots in ``scheme`` (default :data:`DEFAULT_BALLOTS`),
    tally and decrypt them, then measure everything in ``rounds`` interleaved rounds (default
    :data:`DEFAULT_ROUNDS`). Scheme B's key comes from ``dealer`` (default
    :func:`deal_paillier_key`: fresh safe primes)."""
    plan = {scheme: (ballots or DEFAULT_BALLOTS[scheme], rounds or DEFAULT_ROUNDS[scheme])}
    return _measure(plan, guardians, quorum, dealer)[scheme]


def compare(
    ballots: int | None = None,
    rounds: int | None = None,
    *,
    guardians: int = GUARDIANS,
    quorum: int = QUORUM,
    dealer: Dealer | None = None,
) -> Comparison:
    """Both schemes in one run, round by round in turn: ``ballots`` each (default each
    scheme's :data:`DEFAULT_BALLOTS`), ``rounds`` rounds each (default scheme B's)."""
    plan = {
        name: (ballots or DEFAULT_BALLOTS[name], rounds or DEFAULT_ROUNDS[PAILLIER])
        for name in SCHEME_NAMES
    }
    results = _measure(plan, guardians, quorum, dealer)
    return Comparison(results[ELGAMAL], results[PAILLIER])


def measure_ballots(ballots: int, rounds: int = 5) -> tuple[PrimitiveCosts, BallotFigures]:
    """Scheme A's primitive costs and per-ballot figures (the simulations compare with these)."""
    result = run(ELGAMAL, ballots, rounds)
    if result.primitives is None:  # scheme A's run always measures them
        raise VerificationError("scheme A's benchmark measured no primitive costs")
    return result.primitives, result.ballot
