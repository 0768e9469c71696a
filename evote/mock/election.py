"""A whole election in one process: every party simulated, every step an entry on the board.

:func:`run_mock_election` generates the keys of officials, the credential authority,
guardians, the log and witnesses; writes the manifest; runs the guardians' key generation
(the pure trustee functions: Feldman commitments with Schnorr proofs, shares checked against
them); publishes the credential list; opens; lets simulated voters cast ballots (some audit
their device first, some vote again later); closes under a witnessed checkpoint; tallies,
collects decryption shares from a quorum of guardians, publishes the result; and exports the
record. Voters' devices encrypt in parallel processes, and the ballot box verifies every proof
(also in parallel) before admitting a ballot.

The same steps run over two transports (``MockOptions.transport``): ``inprocess`` calls the
board and the ballot box directly; ``grpc`` runs them as the real services on loopback with
TLS, the parties acting as gRPC clients (:class:`_OverGrpc`).

Either scheme (``MockOptions.scheme``): ``elgamal`` (scheme A) runs the guardians' dealer-free
ceremony; ``paillier`` (scheme B) has a simulated trusted dealer deal a threshold Paillier key
with a 2048-bit modulus (:func:`evote.ceremony.dealer.run_dealer_ceremony`; the dealer's two safe
primes take a second or three); over gRPC the dealer posts through the control port with a
dealer role certificate. Everything after the key ceremony is the same code for both.

``seed`` makes the voters' *choices* reproducible; keys, nonces and proofs always use the
operating system's randomness.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeVar

from evote.board.checkpoint import cosignature_time
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.note import parse_note
from evote.board.store import MemoryStore
from evote.board.witness import Witness
from evote.ceremony.dealer import key_shares_of, run_dealer_ceremony
from evote.ceremony.messages import JointKey
from evote.ceremony.rounds import post_key_checks, run_ceremony
from evote.client.channels import (
    BallotBoxClient,
    BoardClient,
    Channel,
    ControlClient,
    RegistryClient,
    close_and_post_credentials,
    secure_channel,
)
from evote.client.receipt import check_receipt
from evote.crypto.group import Scalar
from evote.crypto.paillier import PaillierKeyShare
from evote.crypto.rng import random_bytes
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import ELGAMAL, PAILLIER, SCHEME_NAMES, Manifest, SchemeName
from evote.election.tally import (
    GuardianShares,
    PerPart,
    TallyResult,
    all_parts,
    encrypted_tally,
    tally_result,
)
from evote.errors import EvoteError, InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.record import kinds
from evote.record.ballot_box import BallotBox, Submission, parse_submission
from evote.record.kinds import CredentialList, PhaseMark
from evote.record.proof_workers import ContextSpec, check_entries, context_in_worker
from evote.services.board import checkpoint_size
from evote.services.ca import ElectionCA, Role
from evote.services.server import ElectionServers, serve_election_tls, setup_data_dir
from evote.services.setup import create_election_dir
from evote.workers import process_pool

LOG_ORIGIN_PREFIX: Final = "evote.mock/"
_BATCH: Final = 64
#: Voters' devices casting at once over gRPC (threads, one TLS channel each).
CLIENTS: Final = 16

Transport = Literal["inprocess", "grpc"]
TRANSPORTS: Final[tuple[Transport, ...]] = ("inprocess", "grpc")
Phase = Literal["open", "close"]


class _Closable(Protocol):
    def close(self) -> None: ...


class Decrypter(Protocol):
    """A guardian after its key ceremony (scheme A's trustee, scheme B's key holder)."""

    @property
    def index(self) -> int: ...

    def decrypt_tally(self, context: ElectionContext, totals: PerPart) -> GuardianShares[Any]: ...


ClientT = TypeVar("ClientT", bound=_Closable)
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class MockElectionFailed(EvoteError):
    """The mock election's own cross-check failed: the decrypted tally is not the ground truth."""


@dataclass(frozen=True, slots=True)
class MockOptions:
    voters: int
    guardians: int = 5
    quorum: int = 3
    audit_rate: float = 0.05
    revote_rate: float = 0.05
    absent_guardians: int = 0
    officials: int = 3
    official_quorum: int = 2
    witnesses: int = 3
    witness_quorum: int = 2
    seed: bytes | None = None
    workers: int = field(default_factory=lambda: MockOptions.default_workers())
    contests: Sequence[dict[str, object]] = field(default_factory=lambda: REFERENCE_CONTESTS)
    ballot_styles: Sequence[dict[str, object]] | None = None
    name: str = "Mock community election"
    transport: Transport = "inprocess"
    clients: int = CLIENTS
    #: ``elgamal`` (scheme A, the guardians' ceremony) or ``paillier`` (scheme B, a dealer).
    scheme: SchemeName = ELGAMAL

    @staticmethod
    def default_workers() -> int:
        return max(1, os.cpu_count() or 1)

    def __post_init__(self) -> None:
        if self.voters < 1:
            raise InvalidInput("a mock election needs at least one voter")
        if self.workers < 1:
            raise InvalidInput("a mock election needs at least one worker process")
        if self.transport not in TRANSPORTS:
            raise InvalidInput(f"unknown transport {self.transport!r}")
        if self.scheme not in SCHEME_NAMES:
            raise InvalidInput(f"unknown scheme {self.scheme!r}: use {' or '.join(SCHEME_NAMES)}")
        if self.clients < 1:
            raise InvalidInput("a mock election over gRPC needs at least one client")
        if not 1 <= self.quorum <= self.guardians:
            raise InvalidInput(f"quorum {self.quorum} of {self.guardians} guardians is impossible")
        if not 0 <= self.absent_guardians <= self.guardians - self.quorum:
            raise InvalidInput(
                f"with {self.guardians} guardians and quorum {self.quorum}, at most "
                f"{self.guardians - self.quorum} may be absent"
            )
        for rate, what in ((self.audit_rate, "audit"), (self.revote_rate, "revote")):
            if not 0 <= rate <= 1:
                raise InvalidInput(f"the {what} rate is a probability between 0 and 1")


@dataclass(frozen=True, slots=True)
class MockSecrets:
    """Every simulated party's private key. MOCK ONLY: a real election never gathers these."""

    officials: tuple[SigningKey, ...]
    credential_authority: SigningKey
    guardians: tuple[SigningKey, ...]
    key_shares: tuple[Scalar, ...]
    log: SigningKey
    witnesses: tuple[tuple[str, SigningKey], ...]
    credentials: tuple[SigningKey, ...]
    #: Scheme B: the dealer's signing key and the guardians' Paillier key shares.
    dealer: SigningKey | None = None
    paillier_key_shares: tuple[PaillierKeyShare, ...] = ()

    def write(self, directory: Path) -> None:
        """Write the keys as JSON (hex seeds), marked mock-only, for crafting test records."""
        directory.mkdir(parents=True, exist_ok=True)
        document = {
            "warning": "MOCK ONLY: simulated parties' private keys; never use for a real election",
            "officials": [key.seed().hex() for key in self.officials],
            "credential_authority": self.credential_authority.seed().hex(),
            "guardians": [key.seed().hex() for key in self.guardians],
            "guardian_key_shares": [f"{share.value:064x}" for share in self.key_shares],
            "log": self.log.seed().hex(),
            "witnesses": {name: key.seed().hex() for name, key in self.witnesses},
            "credentials": [key.seed().hex() for key in self.credentials],
        }
        if self.dealer is not None:
            document["dealer"] = self.dealer.seed().hex()
            document["guardian_paillier_key_shares"] = [
                f"{share.secret:x}" for share in self.paillier_key_shares
            ]
        (directory / "mock-secrets.json").write_text(json.dumps(document, indent=2) + "\n")


@dataclass(frozen=True, slots=True)
class MockResult:
    manifest: Manifest
    record: Path
    secrets: MockSecrets
    result: TallyResult
    ballots_cast: int
    ballots_counted: int
    audits: int
    revotes: int
    seconds: dict[str, float]


Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    """Report nothing."""


class Choices:
    """Deterministic choices from a seed (SHAKE-256), or fresh randomness without one."""

    def __init__(self, seed: bytes | None) -> None:
        self._seed = seed

    def number(self, label: str, bound: int) -> int:
        if self._seed is None:
            data = random_bytes(16)
        else:
            data = hashlib.shake_256(self._seed + label.encode()).digest(16)
        return int.from_bytes(data, "big") % bound

    def chance(self, label: str, probability: float) -> bool:
        return self.number(label, 1_000_000) < probability * 1_000_000


def random_plaintext(
    manifest: Manifest, style: str, choices: Choices, label: str
) -> PlaintextBallot:
    """A voter's valid choices for ``style``: a random number of marks within each contest's
    range, on random options (``label`` names this voter's draws, for reproducible seeds)."""
    votes = []
    for part in manifest.style(style).parts:
        contest, district = manifest.part(part)
        options = len(contest.options(district))
        marks = contest.min_marks + choices.number(
            f"{label}/{part}/marks", contest.max_marks - contest.min_marks + 1
        )
        chosen: set[int] = set()
        draw = 0
        while len(chosen) < marks:
            chosen.add(choices.number(f"{label}/{part}/{draw}", options))
            draw += 1
        votes.append(tuple(int(option in chosen) for option in range(options)))
    return PlaintextBallot(style, tuple(votes))


def mock_manifest(
    name: str,
    contests: Sequence[dict[str, object]],
    *,
    ballot_styles: Sequence[dict[str, object]] | None = None,
    officials: Sequence[SigningKey],
    official_quorum: int,
    authority: SigningKey,
    guardians: Sequence[SigningKey],
    guardian_quorum: int,
    log_key: SigningKey,
    witnesses: Sequence[tuple[str, SigningKey]],
    witness_quorum: int,
    dealer: SigningKey | None = None,
) -> Manifest:
    """A manifest for the given contests naming the simulated parties' public keys; with a
    ``dealer``, a scheme B (threshold Paillier) manifest naming the dealer's key."""
    scheme: dict[str, object] = (
        {"name": ELGAMAL}
        if dealer is None
        else {"name": PAILLIER, "dealer": dealer.verify_key.encode().hex()}
    )
    return Manifest.from_mapping(
        {
            "name": name,
            "scheme": scheme,
            "contests": list(contests),
            **({} if ballot_styles is None else {"ballot_styles": list(ballot_styles)}),
            "officials": {
                "keys": [k.verify_key.encode().hex() for k in officials],
                "quorum": official_quorum,
            },
            "credential_authority": authority.verify_key.encode().hex(),
            "guardians": {
                "keys": [k.verify_key.encode().hex() for k in guardians],
                "quorum": guardian_quorum,
            },
            "log": {
                "origin": LOG_ORIGIN_PREFIX + random_bytes(8).hex(),
                "key": log_key.verify_key.encode().hex(),
            },
            "witnesses": {
                "keys": {name: key.verify_key.encode().hex() for name, key in witnesses},
                "quorum": witness_quorum,
            },
        }
    )


# --- voters' devices, run in worker processes ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _VoterTask:
    credential_seed: bytes
    plaintext: PlaintextBallot
    sequence: int
    audit_first: bool


def _vote(spec: ContextSpec, tasks: list[_VoterTask]) -> list[list[bytes]]:
    """Encrypt (and sign) each voter's submissions: an optional audit, then the ballot."""
    context = context_in_worker(spec)
    election_id = context.manifest.election_id
    out = []
    for task in tasks:
        credential = SigningKey(task.credential_seed)
        entries = []
        if task.audit_first:
            audited = encrypt_ballot(task.plaintext, context, credential.verify_key, task.sequence)
            reveal = AuditReveal(audited.ballot, audited.seed, task.plaintext.votes)
            entries.append(
                Entry.create(kinds.AUDIT, election_id, reveal.to_tlv(), [credential]).encoded
            )
        cast = encrypt_ballot(task.plaintext, context, credential.verify_key, task.sequence)
        entries.append(
            Entry.create(kinds.BALLOT, election_id, cast.ballot.to_tlv(), [credential]).encoded
        )
        out.append(entries)
    return out


def _chunks(items: Sequence[_VoterTask], size: int) -> Iterator[list[_VoterTask]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --- the election ----------------------------------------------------------------------------


class _Election(ABC):
    """The steps every transport shares; a subclass says how entries reach the board."""

    def __init__(self, options: MockOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.choices = Choices(options.seed)
        self.seconds: dict[str, float] = {}
        self.officials = tuple(SigningKey.generate() for _ in range(options.officials))
        self.authority = SigningKey.generate()
        self.guardian_keys = tuple(SigningKey.generate() for _ in range(options.guardians))
        self.log_key = SigningKey.generate()
        self.witness_keys = tuple(
            (f"witness-{i + 1}.evote.mock", SigningKey.generate()) for i in range(options.witnesses)
        )
        self.credentials = tuple(SigningKey.generate() for _ in range(options.voters))
        self.dealer = SigningKey.generate() if options.scheme == PAILLIER else None
        self.manifest = self._manifest()
        self.election_id = self.manifest.election_id
        self.cast: dict[int, EncryptedBallot[Any, Any]] = {}
        self.witnesses = [
            Witness(name, key, self.manifest.log_origin, self.log_key.verify_key)
            for name, key in self.witness_keys
        ]
        #: Mock only: the guardians' key shares once their ceremony has run (for the secrets).
        self.key_shares: tuple[Scalar, ...] = ()
        self.paillier_key_shares: tuple[PaillierKeyShare, ...] = ()

    def _manifest(self) -> Manifest:
        options = self.options
        return mock_manifest(
            options.name,
            options.contests,
            ballot_styles=options.ballot_styles,
            officials=self.officials,
            official_quorum=options.official_quorum,
            authority=self.authority,
            guardians=self.guardian_keys,
            guardian_quorum=options.quorum,
            log_key=self.log_key,
            witnesses=self.witness_keys,
            witness_quorum=options.witness_quorum,
            dealer=self.dealer,
        )

    def _timed(self, phase: str, started: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started

    # what a transport provides -----------------------------------------------------------------

    @property
    @abstractmethod
    def board(self) -> BulletinBoard:
        """The board (the log signs its checkpoints)."""

    @abstractmethod
    def start(self) -> None:
        """Put the manifest on a new board as entry 0 and make the board reachable."""

    def stop(self) -> None:  # noqa: B027 - a transport that holds nothing has nothing to stop
        """Release what :meth:`start` took."""

    @abstractmethod
    def append(self, entry: bytes, signers: Sequence[SigningKey]) -> int:
        """Put one signed entry on the board (as the party whose keys signed it): its index."""

    @abstractmethod
    def publish_credentials(self) -> None:
        """Get the voters' credential list onto the board, signed by the authority."""

    @abstractmethod
    def set_phase(self, phase: Phase, context: ElectionContext) -> None:
        """Post the officials' open or close mark (and let the ballot box know)."""

    @abstractmethod
    def submit(
        self,
        wave: str,
        encrypted: list[list[bytes]],
        context: ElectionContext,
        pool: ProcessPoolExecutor,
    ) -> None:
        """Deliver each voter's entries (audit first, then the ballot) to the ballot box and
        record every admitted ballot in :attr:`cast` by its board index."""

    # shared steps ------------------------------------------------------------------------------

    def post(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> int:
        return self.append(Entry.create(kind, self.election_id, body, signers).encoded, signers)

    def phase_mark(self, phase: Phase, now: int, context: ElectionContext) -> None:
        self.post(phase, PhaseMark(phase, now).to_tlv(), self.official_quorum())

    def official_quorum(self) -> tuple[SigningKey, ...]:
        return self.officials[: self.options.official_quorum]

    def credential_list(self) -> CredentialList:
        return CredentialList(
            tuple(sorted((c.verify_key for c in self.credentials), key=lambda k: k.encode()))
        )

    def witness_round(self, now: int) -> None:
        """Every witness checks consistency from its last cosigned tree and cosigns the newest."""
        latest = self.board.latest_checkpoint()
        size = self.board.size
        for witness in self.witnesses:
            old = witness.state.size
            signature = witness.add_checkpoint(
                latest, old, self.board.consistency_proof(old, size), now
            )
            latest = self.board.add_cosignature(size, signature)

    # phases ------------------------------------------------------------------------------------

    def setup(self) -> tuple[ElectionContext, tuple[Decrypter, ...]]:
        """The key ceremony over the board (the guardians', or the dealer's for scheme B), the
        key checks, the credentials."""
        started = time.perf_counter()
        if self.dealer is None:
            context, guardians = self._guardians_ceremony()
        else:
            context, guardians = self._dealer_ceremony(self.dealer)
        self._timed("setup", started)
        started = time.perf_counter()
        self.publish_credentials()
        self._timed("registration", started)
        return context, guardians

    def _post_as_guardian(self, kind: str, body: bytes, guardian: int) -> None:
        self.post(kind, body, [self.guardian_keys[guardian - 1]])

    def _guardians_ceremony(self) -> tuple[ElectionContext, tuple[Decrypter, ...]]:
        """Scheme A: the dealer-free ceremony, the joint key, every guardian's key check."""
        run = run_ceremony(self.manifest, self._post_as_guardian)
        context = run.outcome.require_context()
        joint = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
        self.post(kinds.JOINT_KEY, joint.to_tlv(), [*self.official_quorum(), *self.guardian_keys])
        post_key_checks(run.trustees, context, self._post_as_guardian)
        self.key_shares = tuple(t.key_share for t in run.trustees if t.key_share is not None)
        return context, run.trustees

    def _dealer_ceremony(self, dealer: SigningKey) -> tuple[ElectionContext, tuple[Decrypter, ...]]:
        """Scheme B: transport keys, the dealer's key (co-signed by the officials, who checked
        it) and sealed shares, every guardian's acceptance and key check."""

        def post_as_dealer(kind: str, body: bytes, with_officials: bool) -> None:
            self.post(kind, body, [dealer, *(self.official_quorum() if with_officials else ())])

        run = run_dealer_ceremony(self.manifest, self._post_as_guardian, post_as_dealer)
        context = run.require_context()
        self.paillier_key_shares = key_shares_of(run.holders)
        return context, run.holders

    def voting(self, context: ElectionContext) -> tuple[dict[bytes, PlaintextBallot], int, int]:
        options = self.options
        spec = ContextSpec.of(context)
        styles = [style.id for style in self.manifest.ballot_styles]
        first, second, final = [], [], {}
        for number, credential in enumerate(self.credentials):
            label = f"voter/{number}"
            style = styles[self.choices.number(f"{label}/style", len(styles))]
            plaintext = random_plaintext(self.manifest, style, self.choices, label)
            audit = self.choices.chance(f"{label}/audit", options.audit_rate)
            first.append(_VoterTask(credential.seed(), plaintext, 0, audit))
            final[credential.verify_key.encode()] = plaintext
            if self.choices.chance(f"{label}/revote", options.revote_rate):
                again = random_plaintext(self.manifest, style, self.choices, f"{label}/revote")
                second.append(_VoterTask(credential.seed(), again, 1, False))
                final[credential.verify_key.encode()] = again
        audits = sum(task.audit_first for task in first)
        with process_pool(options.workers) as pool:
            for wave, tasks in (("vote", first), ("revote", second)):
                if not tasks:
                    continue
                chunk = max(1, min(_BATCH, len(tasks) // (4 * self.options.workers) + 1))
                started = time.perf_counter()
                encrypted = [
                    entries
                    for batch in pool.map(_vote, itertools.repeat(spec), _chunks(tasks, chunk))
                    for entries in batch
                ]
                self._timed("voters encrypt", started)
                self.submit(wave, encrypted, context, pool)
        return final, audits, len(second)

    def tally(
        self,
        context: ElectionContext,
        trustees: Sequence[Decrypter],
        final: dict[bytes, PlaintextBallot],
    ) -> tuple[TallyResult, int, int]:
        started = time.perf_counter()
        # The last valid ballot of each credential counts: the highest sequence number.
        tally = encrypted_tally(context, self.cast)
        self.post(kinds.TALLY, tally.to_tlv(), self.official_quorum())
        present = self._present_guardians()
        shares = {}
        for guardian in present:
            shares[guardian] = trustees[guardian - 1].decrypt_tally(context, tally.totals)
            self.post(
                kinds.DECRYPTION_SHARE,
                shares[guardian].to_tlv(),
                [self.guardian_keys[guardian - 1]],
            )
        result = tally_result(context, tally, shares, registered=len(self.credentials))
        self._check_ground_truth(result.counts, final)
        self.post(kinds.RESULT, result.to_tlv(), self.official_quorum())
        self._timed("tally and decryption", started)
        return result, len(self.cast), len(tally.counted)

    def _present_guardians(self) -> list[int]:
        everyone = list(range(1, self.options.guardians + 1))
        for _ in range(self.options.absent_guardians):
            everyone.pop(self.choices.number(f"absent/{len(everyone)}", len(everyone)))
        return everyone

    def _check_ground_truth(
        self, counts: dict[str, tuple[int, ...]], final: dict[bytes, PlaintextBallot]
    ) -> None:
        if expected_counts(self.manifest, final.values()) != counts:
            raise MockElectionFailed(
                "the decrypted tally differs from the simulated voters' choices"
            )


class _InProcess(_Election):
    """Every party calls the board and the ballot box directly, in this process."""

    def __init__(self, options: MockOptions, progress: Progress) -> None:
        super().__init__(options, progress)
        self._board = BulletinBoard(
            MemoryStore(),
            self.log_key,
            self.manifest.log_origin,
            kinds.entry_rules(self.election_id, self.manifest.scheme_name),
            self.manifest.witness_keys(),
        )
        self._box: BallotBox | None = None

    @property
    def board(self) -> BulletinBoard:
        return self._board

    def start(self) -> None:
        self.post(kinds.MANIFEST, self.manifest.to_tlv(), self.official_quorum())

    def append(self, entry: bytes, signers: Sequence[SigningKey]) -> int:
        return self._board.append([entry]).first_index

    def publish_credentials(self) -> None:
        self.post(kinds.CREDENTIALS, self.credential_list().to_tlv(), [self.authority])

    def set_phase(self, phase: Phase, context: ElectionContext) -> None:
        if self._box is None:
            self._box = BallotBox(context, (c.verify_key for c in self.credentials))
        self.phase_mark(phase, int(time.time()), context)
        self._box.phase = "open" if phase == kinds.OPEN else "closed"

    def submit(
        self,
        wave: str,
        encrypted: list[list[bytes]],
        context: ElectionContext,
        pool: ProcessPoolExecutor,
    ) -> None:
        box = self._box
        if box is None:
            raise MockElectionFailed("the ballot box was never opened")
        spec = ContextSpec.of(context)
        chunk = max(1, min(_BATCH, len(encrypted) // (4 * self.options.workers) + 1))
        flat = [data for entries in encrypted for data in entries]
        started = time.perf_counter()
        batches = [flat[i : i + chunk] for i in range(0, len(flat), chunk)]
        verdicts = [
            reason
            for result in pool.map(check_entries, itertools.repeat(spec), batches)
            for reason in result
        ]
        self._timed("ballot box verifies", started)
        started = time.perf_counter()
        pending: list[Submission] = []
        for done, (data, reason) in enumerate(zip(flat, verdicts, strict=True), 1):
            if reason is not None:
                raise MockElectionFailed(
                    f"an honest simulated voter's ballot was refused: {reason}"
                )
            submission = parse_submission(data, context)
            box.admit(submission)
            pending.append(submission)
            if len(pending) == _BATCH or done == len(flat):
                first = self._board.append([s.entry.encoded for s in pending]).first_index
                for index, admitted in enumerate(pending, first):
                    if admitted.kind == kinds.BALLOT:
                        self.cast[index] = admitted.ballot
                pending = []
                self.progress(wave, done, len(flat))
        self._timed("board appends", started)


class _OverGrpc(_Election):
    """The board, ballot box, registry and control run as the real services on loopback with
    TLS (:func:`evote.services.server.serve_election_tls` over a temporary data dir).

    Officials, guardians, the credential authority and (scheme B) the dealer post through the
    control port with role certificates from the election CA; voters enroll through the
    registry with one-time codes and cast concurrently (a thread pool of clients, a TLS channel
    each), checking each receipt offline; witnesses follow the public board and hand their
    cosignatures in on the control port. The data dir is set up as ``evote setup`` does it (the
    officials' signed manifest as entry 0, the election CA) before the servers start.
    """

    def __init__(self, options: MockOptions, progress: Progress) -> None:
        super().__init__(options, progress)
        self._directory: Path | None = None
        self._servers: ElectionServers | None = None
        self._ca: ElectionCA | None = None
        self._controls: dict[str, ControlClient] = {}
        self._lock = threading.Lock()
        self._roles: dict[bytes, tuple[str, Role]] = {
            key.verify_key.encode(): ("official", Role.official()) for key in self.officials
        }
        for number, key in enumerate(self.guardian_keys, 1):
            self._roles[key.verify_key.encode()] = (f"guardian-{number}", Role.for_guardian(number))
        self._roles[self.authority.verify_key.encode()] = (
            "authority",
            Role.credential_authority(),
        )
        for name, key in self.witness_keys:
            self._roles[key.verify_key.encode()] = (name, Role.for_witness(name))
        if self.dealer is not None:  # scheme B: the dealer posts its key and the sealed shares
            self._roles[self.dealer.verify_key.encode()] = ("dealer", Role.dealer())

    @property
    def servers(self) -> ElectionServers:
        if self._servers is None:
            raise MockElectionFailed("the services are not running")
        return self._servers

    @property
    def board(self) -> BulletinBoard:
        return self.servers.board

    def start(self) -> None:
        started = time.perf_counter()
        self._directory = Path(tempfile.mkdtemp(prefix="evote-mock-grpc-"))
        entry = Entry.create(
            kinds.MANIFEST, self.election_id, self.manifest.to_tlv(), self.official_quorum()
        )
        create_election_dir(self._directory, entry.encoded, self.log_key)
        self._ca = setup_data_dir(self._directory)
        self._servers = serve_election_tls(self._directory, self.log_key)
        self._timed("services start", started)

    def stop(self) -> None:
        for control in self._controls.values():
            control.close()
        self._controls.clear()
        if self._servers is not None:
            self._servers.stop(None)
            self._servers = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def control(self, signer: SigningKey) -> ControlClient:
        """The control client of the party whose key this is (its role certificate)."""
        name, role = self._roles[signer.verify_key.encode()]
        with self._lock:
            client = self._controls.get(name)
            if client is None:
                if self._ca is None:
                    raise MockElectionFailed("the services are not running")
                channel = secure_channel(
                    self.servers.control.address, self.servers.ca_pem, self._ca.issue_client(role)
                )
                client = self._controls[name] = ControlClient(channel)
        return client

    def _connection(self) -> Channel:
        """A new TLS connection of its own to the public port (as a separate voter has)."""
        return secure_channel(self.servers.public.address, self.servers.ca_pem, own_connection=True)

    def _concurrently(
        self,
        phase: str,
        new_client: Callable[[], ClientT],
        work: Callable[[ClientT, ItemT], ResultT],
        items: Sequence[ItemT],
    ) -> list[ResultT]:
        """Run ``work`` on every item from a pool of voter threads, each with its own client
        (its own TLS connection); results in completion order, progress reported."""
        local = threading.local()
        clients: list[ClientT] = []

        def run(item: ItemT) -> ResultT:
            client: ClientT | None = getattr(local, "client", None)
            if client is None:
                client = local.client = new_client()
                with self._lock:
                    clients.append(client)
            return work(client, item)

        results = []
        try:
            with ThreadPoolExecutor(self.options.clients, thread_name_prefix="voter") as pool:
                futures = [pool.submit(run, item) for item in items]
                for done, future in enumerate(as_completed(futures), 1):
                    results.append(future.result())
                    if done % _BATCH == 0 or done == len(futures):
                        self.progress(phase, done, len(futures))
        finally:
            for client in clients:
                client.close()
        return results

    def witness_round(self, now: int) -> None:
        """Every witness reads the newest checkpoint and a consistency proof from its last
        cosigned tree on the public port, checks and cosigns, and hands its cosignature in on
        the control port with its witness certificate (the board never calls witnesses)."""
        with BoardClient(self._connection()) as board:
            latest = board.checkpoint()
            size = checkpoint_size(latest)
            for witness, (_, key) in zip(self.witnesses, self.witness_keys, strict=True):
                old = witness.state.size
                proof = board.consistency_proof(old, size) if old else []
                signature = witness.add_checkpoint(latest, old, proof, now)
                latest = self.control(key).add_cosignature(size, signature.line().rstrip("\n"))

    def append(self, entry: bytes, signers: Sequence[SigningKey]) -> int:
        receipt = self.control(signers[0]).post(entry)
        check_receipt(receipt, self.manifest, entry)
        return receipt.leaf_index

    def publish_credentials(self) -> None:
        """The authority imports the roll of one-time codes; each voter enrolls a credential
        with a code; the authority closes registration, checks and signs the list the registry
        closed with, and posts it."""
        authority = self.control(self.authority)
        codes = [
            f"code-{number}-{random_bytes(8).hex()}" for number in range(len(self.credentials))
        ]
        authority.import_roll(codes)

        def enroll(client: RegistryClient, item: tuple[str, SigningKey]) -> None:
            code, credential = item
            client.enroll(code, credential.verify_key.encode())

        self._concurrently(
            "enroll",
            lambda: RegistryClient(self._connection()),
            enroll,
            list(zip(codes, self.credentials, strict=True)),
        )
        # The authority signs the list the registry closed with on its own side of the wire.
        status, _ = close_and_post_credentials(authority, self.manifest, self.authority)
        if (status.enrolled, status.closed) != (len(self.credentials), True):
            raise MockElectionFailed(f"registration closed with {status}")

    def set_phase(self, phase: Phase, context: ElectionContext) -> None:
        self.phase_mark(phase, int(time.time()), context)

    def submit(
        self,
        wave: str,
        encrypted: list[list[bytes]],
        context: ElectionContext,
        pool: ProcessPoolExecutor,
    ) -> None:
        started = time.perf_counter()

        def vote(
            client: BallotBoxClient, entries: list[bytes]
        ) -> list[tuple[int, EncryptedBallot]]:
            cast = []
            for data in entries:
                submission = parse_submission(data, context)
                if submission.kind == kinds.BALLOT:
                    receipt = client.cast(data)
                    cast.append((receipt.leaf_index, submission.ballot))
                else:
                    receipt = client.audit(data)
                check_receipt(receipt, self.manifest, data)
            return cast

        for cast in self._concurrently(
            wave, lambda: BallotBoxClient(self._connection()), vote, encrypted
        ):
            for index, ballot in cast:
                self.cast[index] = ballot
        self._timed("casts over gRPC", started)


def expected_counts(
    manifest: Manifest, plaintexts: Iterable[PlaintextBallot]
) -> dict[str, tuple[int, ...]]:
    """The sum of the counted plaintexts per part and option: the ground truth of a tally."""
    totals = {
        part: [0] * len(manifest.part(part)[0].options(manifest.part(part)[1]))
        for part in all_parts(manifest)
    }
    for plaintext in plaintexts:
        for part, votes in zip(manifest.style(plaintext.style).parts, plaintext.votes, strict=True):
            for option, vote in enumerate(votes):
                totals[part][option] += vote
    return {part: tuple(values) for part, values in totals.items()}


def run_mock_election(
    options: MockOptions, record: Path, progress: Progress = _no_progress
) -> MockResult:
    """Run the whole election and export its record into ``record`` (a new directory).

    ``options.transport`` chooses how the parties reach the board: ``inprocess`` (direct
    calls) or ``grpc`` (the real services on loopback over TLS, see :class:`_OverGrpc`).
    """
    election: _Election = (
        _InProcess(options, progress)
        if options.transport == "inprocess"
        else _OverGrpc(options, progress)
    )
    election.start()
    try:
        context, trustees = election.setup()
        election.set_phase(kinds.OPEN, context)
        election.witness_round(int(time.time()))
        final, audits, revotes = election.voting(context)
        election.set_phase(kinds.CLOSE, context)
        election.witness_round(int(time.time()))
        closing = parse_note(election.board.latest_checkpoint())
        for name, key in election.witness_keys[: options.witness_quorum]:
            cosignature_time(closing, name, key.verify_key)
        result, cast, counted = election.tally(context, trustees, final)
        election.witness_round(int(time.time()))
        started = time.perf_counter()
        export_record(election.board, record)
        election._timed("export", started)
    finally:
        election.stop()
    secrets = MockSecrets(
        election.officials,
        election.authority,
        election.guardian_keys,
        election.key_shares,
        election.log_key,
        election.witness_keys,
        election.credentials,
        election.dealer,
        election.paillier_key_shares,
    )
    return MockResult(
        election.manifest, record, secrets, result, cast, counted, audits, revotes, election.seconds
    )
