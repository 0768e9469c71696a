"""Ballot box load: sustained casts per second and latency over gRPC, against the proof ceiling.

An election on the reference manifest is set up on a temporary SQLite board (manifest,
guardians' ceremony, joint key, key checks, credentials, open), and ``ballots`` ballots are
encrypted and signed by distinct voters before any timing. The real ballot box is then served
in-process on a free loopback port (insecure: no TLS here), and ``clients`` threads, each with
its own channel, cast the ballots concurrently with a deadline per call. A cast's latency is
the wall time of its Cast call; the rate is receipts over the wall time of the whole run.

The *ceiling* is proof verification alone (:func:`check_proofs`, what every Cast must do
before its durable append), measured in the same run: single-thread CPU time on a sample of
the same ballots, as ballots per second on one core and times ``os.cpu_count()`` for the
machine. Clients and server share this process (and its GIL), so the rate is that of this
machine doing both sides.

gRPC itself stays with the services, the CLI and the wire code (an import contract): the
caller passes ``connect``, which opens one client connection; ``evote bench services`` passes
a gRPC one (:mod:`evote.cli.bench`).
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Protocol

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.merkle import leaf_hash
from evote.board.store import SqliteStore
from evote.ceremony.messages import JointKey
from evote.ceremony.rounds import post_key_checks, run_ceremony
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.encrypt import encrypt_ballot
from evote.election.manifest import Manifest
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import Choices, mock_manifest, random_plaintext
from evote.record import kinds
from evote.record.ballot_box import check_proofs, parse_submission
from evote.record.kinds import CredentialList, PhaseMark
from evote.services.server import BOARD_FILE, WORKERS, serve_election

#: Seconds a client gives each Cast (a deadline, as real clients must set).
CAST_DEADLINE: Final = 30.0
#: Seconds to wait for each client's connection before the clock starts.
CONNECT_TIMEOUT: Final = 10.0
#: Ballots whose proofs are checked to measure the ceiling.
CEILING_SAMPLE: Final = 32


class CastClient(Protocol):
    """One voter-side connection to the ballot box."""

    def cast(self, entry: bytes, deadline: float) -> bytes | None:
        """Cast ``entry`` within ``deadline`` seconds: the receipt's tracking code, or
        ``None`` if the call failed (any status)."""

    def close(self) -> None: ...


#: ``connect(address, timeout)``: a client connected to the ballot box at ``address``.
Connect = Callable[[str, float], CastClient]


@dataclass(frozen=True, slots=True)
class ServicesFigures:
    ballots: int
    clients: int
    server_workers: int
    cpu_count: int
    receipts: int
    failed_casts: int
    wall_seconds: float
    casts_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    ceiling_sample: int
    verify_ms_per_ballot: float
    ceiling_per_core_per_second: float
    ceiling_machine_per_second: float
    casts_over_ceiling: float

    def as_json_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Election:
    data_dir: Path
    manifest: Manifest
    context: ElectionContext
    log_key: SigningKey
    credentials: tuple[SigningKey, ...]


def open_election(data_dir: Path, voters: int) -> _Election:
    """An open election on the reference manifest whose SQLite board is in ``data_dir``."""
    officials = (SigningKey.generate(), SigningKey.generate())
    authority = SigningKey.generate()
    guardians = tuple(SigningKey.generate() for _ in range(3))
    log_key = SigningKey.generate()
    witnesses = [(f"witness-{i}.bench", SigningKey.generate()) for i in (1, 2)]
    credentials = tuple(SigningKey.generate() for _ in range(voters))
    manifest = mock_manifest(
        "services benchmark",
        REFERENCE_CONTESTS,
        officials=officials,
        official_quorum=2,
        authority=authority,
        guardians=guardians,
        guardian_quorum=2,
        log_key=log_key,
        witnesses=witnesses,
        witness_quorum=2,
    )
    board = BulletinBoard(
        SqliteStore(data_dir / BOARD_FILE),
        log_key,
        manifest.log_origin,
        kinds.entry_rules(manifest.election_id),
        manifest.witness_keys(),
    )

    def post(kind: str, body: bytes, signers: Sequence[SigningKey]) -> None:
        board.append([Entry.create(kind, manifest.election_id, body, signers).encoded])

    def post_as_guardian(kind: str, body: bytes, guardian: int) -> None:
        post(kind, body, [guardians[guardian - 1]])

    try:
        post(kinds.MANIFEST, manifest.to_tlv(), officials)
        ceremony = run_ceremony(manifest, post_as_guardian)
        context = ceremony.outcome.require_context()
        joint = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
        post(kinds.JOINT_KEY, joint.to_tlv(), [*officials, *guardians])
        post_key_checks(ceremony.trustees, context, post_as_guardian)
        listed = CredentialList(
            tuple(sorted((c.verify_key for c in credentials), key=lambda k: k.encode()))
        )
        post(kinds.CREDENTIALS, listed.to_tlv(), [authority])
        post(kinds.OPEN, PhaseMark("open", int(time.time())).to_tlv(), officials)
    finally:
        board.close()
    return _Election(data_dir, manifest, context, log_key, credentials)


def signed_ballots(election: _Election) -> list[bytes]:
    """One encrypted ballot entry per voter, signed with the voter's credential."""
    manifest = election.manifest
    style = manifest.ballot_styles[0].id
    choices = Choices(None)
    entries = []
    for voter, credential in enumerate(election.credentials):
        plaintext = random_plaintext(manifest, style, choices, f"voter/{voter}")
        cast = encrypt_ballot(plaintext, election.context, credential.verify_key, 0)
        entries.append(
            Entry.create(
                kinds.BALLOT, manifest.election_id, cast.ballot.to_tlv(), [credential]
            ).encoded
        )
    return entries


@dataclass
class _Casts:
    """What the client threads share: the next ballot to cast and what came back."""

    ballots: list[bytes]
    next: int = 0
    receipts: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []

    def take(self) -> bytes | None:
        with self.lock:
            if self.next >= len(self.ballots):
                return None
            self.next += 1
            return self.ballots[self.next - 1]

    def record(self, seconds: float, ok: bool) -> None:
        with self.lock:
            if ok:
                self.receipts += 1
                self.latencies.append(seconds)
            else:
                self.failed += 1


def cast_concurrently(
    address: str, ballots: list[bytes], clients: int, connect: Connect
) -> tuple[_Casts, float]:
    """Cast every ballot from ``clients`` threads (one connection each); the wall seconds.

    The clock starts once every client is connected. A cast counts only if its receipt is
    for its own entry; failures are counted, not retried.
    """
    casts = _Casts(ballots)
    connected: list[CastClient] = []
    try:
        for _ in range(clients):
            connected.append(connect(address, CONNECT_TIMEOUT))
        start = threading.Barrier(clients + 1)

        def client(connection: CastClient) -> None:
            start.wait()
            while (entry := casts.take()) is not None:
                began = time.perf_counter()
                tracking_code = connection.cast(entry, CAST_DEADLINE)
                took = time.perf_counter() - began
                casts.record(took, ok=tracking_code == leaf_hash(entry))

        threads = [
            threading.Thread(target=client, args=(connection,), name=f"bench-client-{n}")
            for n, connection in enumerate(connected)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    finally:
        for connection in connected:
            connection.close()
    return casts, wall


def verify_seconds_per_ballot(
    ballots: Sequence[bytes], context: ElectionContext, repeats: int = 3
) -> float:
    """The smallest single-thread CPU time of :func:`check_proofs` per ballot (parsed first)."""
    submissions = [parse_submission(data, context) for data in ballots]
    best = float("inf")
    for _ in range(repeats):
        began = time.thread_time()
        for submission in submissions:
            check_proofs(submission, context)
        best = min(best, (time.thread_time() - began) / len(submissions))
    return best


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def run(connect: Connect, ballots: int = 400, clients: int = 16) -> ServicesFigures:
    """Set up, encrypt (untimed), cast through ``connect``'s clients, measure the ceiling."""
    with tempfile.TemporaryDirectory(prefix="evote-bench-") as directory:
        election = open_election(Path(directory), ballots)
        entries = signed_ballots(election)
        running = serve_election(election.data_dir, election.log_key)
        try:
            casts, wall = cast_concurrently(running.address, entries, clients, connect)
        finally:
            running.stop(None)
    sample = entries[:CEILING_SAMPLE]
    per_ballot = verify_seconds_per_ballot(sample, election.context)
    cores = os.cpu_count() or 1
    per_core = 1 / per_ballot if per_ballot > 0 else float("inf")
    rate = casts.receipts / wall if wall > 0 else float("inf")
    latencies = casts.latencies or [float("nan")]
    return ServicesFigures(
        ballots=ballots,
        clients=clients,
        server_workers=WORKERS,
        cpu_count=cores,
        receipts=casts.receipts,
        failed_casts=casts.failed,
        wall_seconds=wall,
        casts_per_second=rate,
        latency_p50_ms=1e3 * percentile(latencies, 0.50),
        latency_p99_ms=1e3 * percentile(latencies, 0.99),
        ceiling_sample=len(sample),
        verify_ms_per_ballot=1e3 * per_ballot,
        ceiling_per_core_per_second=per_core,
        ceiling_machine_per_second=per_core * cores,
        casts_over_ceiling=rate / (per_core * cores),
    )
