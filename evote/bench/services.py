"""Ballot box load: sustained casts per second and latency over gRPC, against the proof ceiling.

An election on the reference manifest is set up on a SQLite board (manifest, guardians'
ceremony, joint key, key checks, credentials, open) and a pool of ballots is encrypted and
signed by distinct voters before any timing (in worker processes, one per core). The real
ballot box is then served from this process on a free loopback port: with ``tls``, as deployed
(:func:`evote.services.server.serve_election_tls`: the public port with server-auth TLS under
the data dir's election CA, which the clients trust; the control port idle), otherwise
without TLS (:func:`evote.services.server.serve_election`), which shows what TLS costs. The
server has :data:`evote.services.server.WORKERS` handler threads and ``proof_workers`` proof
check processes (0: proofs are checked in the handler threads).

The casting clients run in ``client_processes`` other processes (started from the fork
server), so the server's process has its GIL to itself: ``clients`` threads in all, each
with its own channel, connected (TLS handshake done) before the clock starts, cast the
ballots concurrently with a deadline per call. Each process is given its share of the pool.
Two ways to end: cast the whole pool (``ballots``), or cast until ``seconds`` have passed
(sustained load bounded in time; calls in flight then finish). A cast's latency is the wall
time of its Cast call as the client sees it; a cast counts only if its receipt names its own
entry, and failures are counted, not retried. The rate is receipts over the wall time from the
common start until the last process's last answer. CPU time over that interval is reported
per receipt for the server's process (handler threads, TLS, parsing, the append; not the proof
workers) and for the clients.

The *ceiling* is proof verification alone (:func:`check_proofs`, what every Cast must do
before its durable append), measured in the same run before the casts: single-thread CPU time
on a sample of the same pool, as ballots per second on one core, times ``os.cpu_count()`` for
the machine. Every other cost of a cast (gRPC, TLS, parsing, the append, the clients
themselves on the same machine) comes on top of it, so the rate stays below it. That is also
how a time-bounded run sizes its pool when it is not given one: the ceiling times the
seconds (plus a ballot per client in flight) always lasts, within :data:`MAX_POOL`; should it
run out all the same, the figures say so (``pool_exhausted``).

:func:`measure` leaves the election in the caller's data dir and answers every acknowledged
ballot with the receipt its client got (when the client hands over whole receipts), so a test
can close the election and check the record after the load; :func:`run` is the benchmark in a
temporary directory.

gRPC itself stays with the services, the CLI and the wire code (an import contract): the
caller passes ``connect``, which opens one client connection; ``evote bench services``
passes a gRPC one (:mod:`evote.cli.bench`). It is pickled to the client processes, so it
must be a module-level function or a class's method.
"""

from __future__ import annotations

import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Final, Protocol, TypeVar

from evote.board.entry import Entry
from evote.board.merkle import leaf_hash
from evote.client.receipt import Receipt
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.encrypt import encrypt_ballot
from evote.errors import EvoteError, InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import Choices, random_plaintext
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.ballot_box import check_proofs, parse_submission
from evote.record.kinds import CredentialList
from evote.record.proof_workers import ContextSpec, context_in_worker
from evote.services.server import WORKERS, serve_election, serve_election_tls
from evote.workers import process_pool, start_context

#: Seconds a client gives each Cast (a deadline, as real clients must set).
CAST_DEADLINE: Final = 30.0
#: Seconds to wait for each client's connection before the clock starts (and for a client
#: process to exit at the end).
CONNECT_TIMEOUT: Final = 10.0
#: Ballots whose proofs are checked to measure the ceiling.
CEILING_SAMPLE: Final = 32
#: The pool cast when neither a pool nor a duration is given.
DEFAULT_BALLOTS: Final = 400
#: The largest pool a time-bounded run makes itself: every voter needs a credential on the
#: one credential list (an entry body of at most 1 MiB, 37 bytes a credential), and the pool
#: is held in memory (4.4 KB a ballot of the reference manifest).
MAX_POOL: Final = 20_000
#: Below this many ballots the pool is encrypted in this process (no worker start-up).
PARALLEL_ENCRYPTION: Final = 64


class CastClient(Protocol):
    """One voter-side connection to the ballot box."""

    def cast(self, entry: bytes, deadline: float) -> Receipt | bytes | None:
        """Cast ``entry`` within ``deadline`` seconds: the ballot box's receipt, or only its
        tracking code, or ``None`` if the call failed (any status). A client that hands over
        the whole receipt lets :func:`measure`'s caller check it."""

    def close(self) -> None: ...


class Connect(Protocol):
    """Opens one client connection to the ballot box at ``address`` within ``timeout``
    seconds, trusting the CA certificate ``ca_pem`` (TLS) or, without it, insecure."""

    def __call__(
        self, address: str, timeout: float, *, ca_pem: bytes | None = None
    ) -> CastClient: ...


class ClientsFailed(EvoteError):
    """The benchmark's client processes could not connect or died: no figures."""


@dataclass(frozen=True, slots=True)
class ServicesFigures:
    ballots: int
    seconds: float | None
    pool_exhausted: bool
    clients: int
    client_processes: int
    tls: bool
    server_workers: int
    proof_workers: int
    cpu_count: int
    receipts: int
    failed_casts: int
    wall_seconds: float
    casts_per_second: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    server_process_cpu_ms_per_cast: float
    client_cpu_ms_per_cast: float
    ceiling_sample: int
    verify_ms_per_ballot: float
    ceiling_per_core_per_second: float
    ceiling_machine_per_second: float
    casts_over_ceiling: float

    def as_json_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A ballot the ballot box acknowledged: the entry cast and the receipt its client got
    (``None`` when the client hands over only the tracking code)."""

    entry: bytes
    receipt: Receipt | None


@dataclass(frozen=True, slots=True)
class Measured:
    """A run of :func:`measure`: its figures, the election it cast into (left in the data
    dir, still open) and every acknowledged ballot, in no particular order."""

    figures: ServicesFigures
    election: StagedElection
    acknowledged: tuple[Acknowledged, ...]


@dataclass(frozen=True, slots=True)
class _ClientShare:
    """What one client process casts, and where: ``ballots`` are the pool's from ``first``
    on; ``seconds`` bounds the casting (``None``: until the share is cast)."""

    connect: Connect
    address: str
    ca_pem: bytes | None
    clients: int
    first: int
    ballots: list[bytes]
    seconds: float | None


@dataclass(frozen=True, slots=True)
class _Ready:
    """A client process connected all its clients (or says why it could not)."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class _ClientOutcome:
    """What one client process cast: the pool index of each acknowledged ballot with its
    receipt (if the client gave one), failures, latencies, its wall and CPU seconds from the
    start, and whether its share ran out before its time."""

    acknowledged: tuple[tuple[int, Receipt | None], ...]
    failed: int
    latencies: tuple[float, ...]
    wall: float
    cpu: float
    exhausted: bool


@dataclass
class _Casts:
    """What the client threads of one process share: the next ballot to cast, until when, and
    what came back."""

    ballots: list[bytes]
    first: int
    next: int = 0
    until: float | None = None
    exhausted: bool = False
    failed: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.acknowledged: list[tuple[int, Receipt | None]] = []

    def take(self) -> tuple[int, bytes] | None:
        """The next ballot and its place in the share, or ``None``: time is up or the share
        is cast."""
        with self.lock:
            if self.until is not None and time.perf_counter() >= self.until:
                return None
            if self.next >= len(self.ballots):
                self.exhausted = True
                return None
            self.next += 1
            return self.next - 1, self.ballots[self.next - 1]

    def record(self, place: int, seconds: float, answer: Receipt | bytes | None) -> None:
        """Count the answer to the cast of ``ballots[place]``: acknowledged only if it names
        that entry's tracking code."""
        receipt = answer if isinstance(answer, Receipt) else None
        code = answer.tracking_code if isinstance(answer, Receipt) else answer
        ok = code is not None and code == leaf_hash(self.ballots[place])
        with self.lock:
            if ok:
                self.acknowledged.append((self.first + place, receipt))
                self.latencies.append(seconds)
            else:
                self.failed += 1


def _cast_share(share: _ClientShare, go: Event, cancelled: Event, messages: Queue[object]) -> None:
    """A client process: connect every client, say so, wait for ``go``, cast the share.

    Puts a :class:`_Ready` on ``messages`` once connected (with the error if a client could
    not connect), then, unless ``cancelled``, a :class:`_ClientOutcome`.
    """
    casts = _Casts(share.ballots, share.first)
    connected: list[CastClient] = []
    try:
        try:
            for _ in range(share.clients):
                connected.append(share.connect(share.address, CONNECT_TIMEOUT, ca_pem=share.ca_pem))
        except Exception as error:
            messages.put(_Ready(f"a client could not connect to {share.address}: {error!r}"))
            return
        ready = threading.Barrier(len(connected) + 1)

        def client(connection: CastClient) -> None:
            ready.wait()
            while (taken := casts.take()) is not None:
                place, entry = taken
                began = time.perf_counter()
                answer = connection.cast(entry, CAST_DEADLINE)
                took = time.perf_counter() - began
                casts.record(place, took, answer)

        threads = [
            threading.Thread(target=client, args=(connection,), name=f"bench-client-{n}")
            for n, connection in enumerate(connected)
        ]
        for thread in threads:
            thread.start()
        messages.put(_Ready())
        go.wait()
        if cancelled.is_set():
            casts.next = len(casts.ballots)  # the threads find nothing to cast
        began, cpu_began = time.perf_counter(), time.process_time()
        if share.seconds is not None:
            casts.until = began + share.seconds
        ready.wait()
        for thread in threads:
            thread.join()
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    finally:
        for connection in connected:
            connection.close()
    if not cancelled.is_set():
        messages.put(
            _ClientOutcome(
                tuple(casts.acknowledged),
                casts.failed,
                tuple(casts.latencies),
                wall,
                cpu,
                casts.exhausted and share.seconds is not None,
            )
        )


def _shares(
    connect: Connect,
    address: str,
    ca_pem: bytes | None,
    ballots: list[bytes],
    clients: int,
    processes: int,
    seconds: float | None,
) -> list[_ClientShare]:
    """Clients spread evenly over the processes, ballots in proportion to the clients."""
    shares = []
    placed = 0
    for process in range(processes):
        count = clients // processes + (process < clients % processes)
        first = len(ballots) * placed // clients
        placed += count
        last = len(ballots) * placed // clients
        shares.append(
            _ClientShare(connect, address, ca_pem, count, first, ballots[first:last], seconds)
        )
    return shares


def _cast_from_processes(
    address: str,
    ca_pem: bytes | None,
    ballots: list[bytes],
    clients: int,
    processes: int,
    connect: Connect,
    seconds: float | None,
) -> list[_ClientOutcome]:
    """Cast the pool (or until ``seconds`` pass) from ``clients`` threads in ``processes``
    client processes; the clock of each starts when every process has connected all its
    clients.

    Raises :class:`ClientsFailed` if a client cannot connect or a process dies.
    """
    context = start_context()
    go, cancelled, messages = context.Event(), context.Event(), context.Queue()
    shares = _shares(connect, address, ca_pem, ballots, clients, processes, seconds)
    started = [
        context.Process(
            target=_cast_share,
            args=(share, go, cancelled, messages),
            name=f"bench-clients-{n}",
            daemon=True,
        )
        for n, share in enumerate(shares)
    ]
    try:
        for process in started:
            process.start()
        readies = _receive(started, messages, _Ready)
        errors = [ready.error for ready in readies if ready.error is not None]
        if errors:
            raise ClientsFailed(f"the benchmark's clients did not start: {'; '.join(errors)}")
        go.set()
        return _receive(started, messages, _ClientOutcome)
    except BaseException:
        cancelled.set()
        raise
    finally:
        go.set()
        for process in started:
            process.join(timeout=CONNECT_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()


M = TypeVar("M", _Ready, _ClientOutcome)


def _receive(processes: Sequence[BaseProcess], messages: Queue[object], kind: type[M]) -> list[M]:
    """One ``kind`` message per process; a process that dies before sending it is an error."""
    received: list[M] = []
    while len(received) < len(processes):
        try:
            message = messages.get(timeout=1.0)
        except queue.Empty:
            dead = [p for p in processes if p.exitcode is not None and p.exitcode != 0]
            if dead:
                raise ClientsFailed(
                    f"client process {dead[0].name} exited with status {dead[0].exitcode}; "
                    "its error is on standard error"
                ) from None
            continue
        if not isinstance(message, kind):
            raise ClientsFailed(f"a client process sent {message!r}, expected a {kind.__name__}")
        received.append(message)
    return received


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


def _label(voter: int) -> str:
    """Whose random choices a pool ballot carries (as :meth:`StagedElection.ballot` names
    them)."""
    return f"voter/{voter}"


def _encrypt(spec: ContextSpec, voters: list[tuple[bytes, str]]) -> list[bytes]:
    """In a worker: each voter's (credential seed, label) ballot entry, sequence 0, with
    random choices on the first ballot style (as :meth:`StagedElection.ballot_by` makes)."""
    context = context_in_worker(spec)
    manifest = context.manifest
    style = manifest.ballot_styles[0].id
    entries = []
    for seed, label in voters:
        credential = SigningKey(seed)
        plaintext = random_plaintext(manifest, style, Choices(None), label)
        cast = encrypt_ballot(plaintext, context, credential.verify_key, 0)
        entries.append(
            Entry.create(
                kinds.BALLOT, manifest.election_id, cast.ballot.to_tlv(), [credential]
            ).encoded
        )
    return entries


def _encrypt_pool(election: StagedElection, first: int, workers: int) -> list[bytes]:
    """The ballots of the election's voters from ``first`` on, encrypted in ``workers``
    processes when there are many."""
    voters = [
        (credential.seed(), _label(voter)) for voter, credential in enumerate(election.credentials)
    ][first:]
    if workers <= 1 or len(voters) < PARALLEL_ENCRYPTION:
        return [election.ballot(voter) for voter in range(first, len(election.credentials))]
    spec = ContextSpec.of(election.context)
    size = max(1, math.ceil(len(voters) / (4 * workers)))
    chunks = [voters[start : start + size] for start in range(0, len(voters), size)]
    with process_pool(workers) as pool:
        return [
            entry for batch in pool.map(_encrypt, [spec] * len(chunks), chunks) for entry in batch
        ]


def _register(staged: StagedElection, credentials: Sequence[SigningKey]) -> StagedElection:
    """Post the credential list of ``credentials`` and the officials' opening on a board
    staged through its keys: the election ``stage_election`` would have made for them."""
    listed = CredentialList(
        tuple(sorted((c.verify_key for c in credentials), key=lambda k: k.encode()))
    )
    board = staged.open_board()
    try:
        board.append(
            [
                staged.entry(kinds.CREDENTIALS, listed.to_tlv(), [staged.authority]),
                staged.mark("open", staged.officials),
            ]
        )
    finally:
        board.close()
    return replace(staged, credentials=tuple(credentials))


@contextmanager
def _served(
    election: StagedElection, *, tls: bool, proof_workers: int
) -> Iterator[tuple[str, bytes | None]]:
    """The ballot box of ``election`` served from this process: its public address and the
    CA certificate clients trust (``None``: no TLS)."""
    if tls:
        servers = serve_election_tls(
            election.data_dir, election.log_key, proof_workers=proof_workers
        )
        try:
            yield servers.public.address, servers.ca_pem
        finally:
            servers.stop(None)
    else:
        running = serve_election(election.data_dir, election.log_key, proof_workers=proof_workers)
        try:
            yield running.address, None
        finally:
            running.stop(None)


def _pool_size(ballots: int | None, seconds: float | None, ceiling: float, clients: int) -> int:
    """``ballots`` if given; for ``seconds``, what lasts at the ceiling's rate (see the
    module), within :data:`MAX_POOL`; else :data:`DEFAULT_BALLOTS`."""
    if ballots is not None:
        return ballots
    if seconds is None:
        return DEFAULT_BALLOTS
    if math.isinf(ceiling):
        return MAX_POOL
    return max(CEILING_SAMPLE, min(MAX_POOL, math.ceil(ceiling * seconds) + clients))


def measure(
    data_dir: Path,
    connect: Connect,
    clients: int = 16,
    *,
    ballots: int | None = None,
    seconds: float | None = None,
    tls: bool = False,
    proof_workers: int = 0,
    client_processes: int = 1,
) -> Measured:
    """Stage an election in ``data_dir``, measure the ceiling on a sample, encrypt the pool
    (untimed), serve, cast from ``client_processes`` processes through ``connect``'s clients
    until the pool is cast or ``seconds`` have passed (see the module).

    ``ballots`` is the pool (default: :data:`DEFAULT_BALLOTS`, or with ``seconds`` what lasts
    at the ceiling's rate). The election stays in ``data_dir``, open, the server stopped.
    """
    if clients < 1:
        raise InvalidInput(f"the benchmark needs at least 1 client, got {clients}")
    if not 1 <= client_processes <= clients:
        raise InvalidInput(
            f"client processes must be between 1 and the number of clients ({clients}), "
            f"got {client_processes}"
        )
    if ballots is not None and ballots < 1:
        raise InvalidInput(f"the pool needs at least 1 ballot, got {ballots}")
    if seconds is not None and not 0 < seconds < math.inf:
        raise InvalidInput(f"the casting time must be a positive number of seconds, got {seconds}")
    staged = stage_election(
        data_dir, "services benchmark", REFERENCE_CONTESTS, voters=0, until="keys"
    )
    # The sample's voters are the pool's first: their ballots are measured, then cast.
    sampled = min(CEILING_SAMPLE, ballots or CEILING_SAMPLE)
    credentials = [SigningKey.generate() for _ in range(sampled)]
    sample = [
        staged.ballot_by(credential, 0, _label(voter))
        for voter, credential in enumerate(credentials)
    ]
    per_ballot = verify_seconds_per_ballot(sample, staged.context)
    cores = os.cpu_count() or 1
    per_core = 1 / per_ballot if per_ballot > 0 else float("inf")
    pool = _pool_size(ballots, seconds, per_core * cores, clients)
    credentials += [SigningKey.generate() for _ in range(pool - sampled)]
    election = _register(staged, credentials)
    entries = sample + _encrypt_pool(election, sampled, cores)
    with _served(election, tls=tls, proof_workers=proof_workers) as (address, ca_pem):
        cpu_before = time.process_time()
        outcomes = _cast_from_processes(
            address, ca_pem, entries, clients, client_processes, connect, seconds
        )
        server_cpu = time.process_time() - cpu_before
    acknowledged = tuple(
        Acknowledged(entries[index], receipt)
        for outcome in outcomes
        for index, receipt in outcome.acknowledged
    )
    receipts = len(acknowledged)
    wall = max(outcome.wall for outcome in outcomes)
    rate = receipts / wall if wall > 0 else float("inf")
    latencies = [latency for outcome in outcomes for latency in outcome.latencies]
    if not latencies:
        latencies = [float("nan")]
    figures = ServicesFigures(
        ballots=pool,
        seconds=seconds,
        pool_exhausted=any(outcome.exhausted for outcome in outcomes),
        clients=clients,
        client_processes=client_processes,
        tls=tls,
        server_workers=WORKERS,
        proof_workers=proof_workers,
        cpu_count=cores,
        receipts=receipts,
        failed_casts=sum(outcome.failed for outcome in outcomes),
        wall_seconds=wall,
        casts_per_second=rate,
        latency_p50_ms=1e3 * percentile(latencies, 0.50),
        latency_p95_ms=1e3 * percentile(latencies, 0.95),
        latency_p99_ms=1e3 * percentile(latencies, 0.99),
        latency_max_ms=1e3 * max(latencies),
        server_process_cpu_ms_per_cast=1e3 * server_cpu / receipts if receipts else float("nan"),
        client_cpu_ms_per_cast=(
            1e3 * sum(outcome.cpu for outcome in outcomes) / receipts if receipts else float("nan")
        ),
        ceiling_sample=len(sample),
        verify_ms_per_ballot=1e3 * per_ballot,
        ceiling_per_core_per_second=per_core,
        ceiling_machine_per_second=per_core * cores,
        casts_over_ceiling=rate / (per_core * cores),
    )
    return Measured(figures, election, acknowledged)


def run(
    connect: Connect,
    ballots: int | None = None,
    clients: int = 16,
    *,
    seconds: float | None = None,
    tls: bool = False,
    proof_workers: int = 0,
    client_processes: int = 1,
) -> ServicesFigures:
    """:func:`measure` in a temporary directory, removed afterwards: the figures only."""
    with tempfile.TemporaryDirectory(prefix="evote-bench-") as directory:
        return measure(
            Path(directory),
            connect,
            clients,
            ballots=ballots,
            seconds=seconds,
            tls=tls,
            proof_workers=proof_workers,
            client_processes=client_processes,
        ).figures
