"""Ballot box load: sustained casts per second and latency over gRPC, against the proof ceiling.

An election on the reference manifest is set up on a temporary SQLite board (manifest,
guardians' ceremony, joint key, key checks, credentials, open), and ``ballots`` ballots are
encrypted and signed by distinct voters before any timing. The real ballot box is then served
from this process on a free loopback port: with ``tls``, as deployed
(:func:`evote.services.server.serve_election_tls`: the public port with server-auth TLS under
the data dir's election CA, which the clients trust; the control port idle), otherwise
without TLS (:func:`evote.services.server.serve_election`), which shows what TLS costs. The
server has :data:`evote.services.server.WORKERS` handler threads and ``proof_workers`` proof
check processes (0: proofs are checked in the handler threads).

The casting clients run in ``client_processes`` other processes (started from the fork
server), so the server's process has its GIL to itself: ``clients`` threads in all, each
with its own channel, connected (TLS handshake done) before the clock starts, cast the
ballots concurrently with a deadline per call. Each process is given its share of the
ballots. A cast's latency is the wall time of its Cast call as the client sees it; a cast
counts only if its receipt names its own entry, and failures are counted, not retried. The
rate is receipts over the wall time from the common start until the last process's last
answer. CPU time over that interval is reported per receipt for the server's process
(handler threads, TLS, parsing, the append; not the proof workers) and for the clients.

The *ceiling* is proof verification alone (:func:`check_proofs`, what every Cast must do
before its durable append), measured in the same run after the casts: single-thread CPU time
on a sample of the same ballots, as ballots per second on one core, times ``os.cpu_count()``
for the machine. Every other cost of a cast (gRPC, TLS, parsing, the append, the clients
themselves on the same machine) comes on top of it, so the rate stays below it.

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
from dataclasses import asdict, dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Final, Protocol, TypeVar

from evote.board.merkle import leaf_hash
from evote.election.context import ElectionContext
from evote.errors import EvoteError, InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record.ballot_box import check_proofs, parse_submission
from evote.services.server import WORKERS, serve_election, serve_election_tls
from evote.workers import start_context

#: Seconds a client gives each Cast (a deadline, as real clients must set).
CAST_DEADLINE: Final = 30.0
#: Seconds to wait for each client's connection before the clock starts (and for a client
#: process to exit at the end).
CONNECT_TIMEOUT: Final = 10.0
#: Ballots whose proofs are checked to measure the ceiling.
CEILING_SAMPLE: Final = 32


class CastClient(Protocol):
    """One voter-side connection to the ballot box."""

    def cast(self, entry: bytes, deadline: float) -> bytes | None:
        """Cast ``entry`` within ``deadline`` seconds: the receipt's tracking code, or
        ``None`` if the call failed (any status)."""

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
    latency_p99_ms: float
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
class _ClientShare:
    """What one client process casts, and where."""

    connect: Connect
    address: str
    ca_pem: bytes | None
    clients: int
    ballots: list[bytes]


@dataclass(frozen=True, slots=True)
class _Ready:
    """A client process connected all its clients (or says why it could not)."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class _ClientOutcome:
    """What one client process cast: counts, latencies, and its wall and CPU seconds from the
    start."""

    receipts: int
    failed: int
    latencies: tuple[float, ...]
    wall: float
    cpu: float


@dataclass
class _Casts:
    """What the client threads of one process share: the next ballot to cast and what came
    back."""

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


def _cast_share(share: _ClientShare, go: Event, cancelled: Event, messages: Queue[object]) -> None:
    """A client process: connect every client, say so, wait for ``go``, cast the share.

    Puts a :class:`_Ready` on ``messages`` once connected (with the error if a client could
    not connect), then, unless ``cancelled``, a :class:`_ClientOutcome`.
    """
    casts = _Casts(share.ballots)
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
        messages.put(_Ready())
        go.wait()
        if cancelled.is_set():
            casts.next = len(casts.ballots)  # the threads find nothing to cast
        ready.wait()
        began, cpu_began = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.join()
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    finally:
        for connection in connected:
            connection.close()
    if not cancelled.is_set():
        messages.put(
            _ClientOutcome(casts.receipts, casts.failed, tuple(casts.latencies), wall, cpu)
        )


def _shares(
    connect: Connect,
    address: str,
    ca_pem: bytes | None,
    ballots: list[bytes],
    clients: int,
    processes: int,
) -> list[_ClientShare]:
    """Clients spread evenly over the processes, ballots in proportion to the clients."""
    shares = []
    placed = 0
    for process in range(processes):
        count = clients // processes + (process < clients % processes)
        first = len(ballots) * placed // clients
        placed += count
        last = len(ballots) * placed // clients
        shares.append(_ClientShare(connect, address, ca_pem, count, ballots[first:last]))
    return shares


def _cast_from_processes(
    address: str,
    ca_pem: bytes | None,
    ballots: list[bytes],
    clients: int,
    processes: int,
    connect: Connect,
) -> list[_ClientOutcome]:
    """Cast every ballot from ``clients`` threads in ``processes`` client processes; the clock
    of each starts when every process has connected all its clients.

    Raises :class:`ClientsFailed` if a client cannot connect or a process dies.
    """
    context = start_context()
    go, cancelled, messages = context.Event(), context.Event(), context.Queue()
    started = [
        context.Process(
            target=_cast_share,
            args=(share, go, cancelled, messages),
            name=f"bench-clients-{n}",
            daemon=True,
        )
        for n, share in enumerate(_shares(connect, address, ca_pem, ballots, clients, processes))
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


def run(
    connect: Connect,
    ballots: int = 400,
    clients: int = 16,
    *,
    tls: bool = False,
    proof_workers: int = 0,
    client_processes: int = 1,
) -> ServicesFigures:
    """Set up, encrypt (untimed), serve, cast from ``client_processes`` processes through
    ``connect``'s clients, then measure the ceiling (see the module)."""
    if not 1 <= client_processes <= clients:
        raise InvalidInput(
            f"client processes must be between 1 and the number of clients ({clients}), "
            f"got {client_processes}"
        )
    with tempfile.TemporaryDirectory(prefix="evote-bench-") as directory:
        election = stage_election(
            Path(directory), "services benchmark", REFERENCE_CONTESTS, voters=ballots
        )
        entries = [election.ballot(voter) for voter in range(ballots)]
        with _served(election, tls=tls, proof_workers=proof_workers) as (address, ca_pem):
            cpu_before = time.process_time()
            outcomes = _cast_from_processes(
                address, ca_pem, entries, clients, client_processes, connect
            )
            server_cpu = time.process_time() - cpu_before
    sample = entries[:CEILING_SAMPLE]
    per_ballot = verify_seconds_per_ballot(sample, election.context)
    cores = os.cpu_count() or 1
    per_core = 1 / per_ballot if per_ballot > 0 else float("inf")
    receipts = sum(outcome.receipts for outcome in outcomes)
    wall = max(outcome.wall for outcome in outcomes)
    rate = receipts / wall if wall > 0 else float("inf")
    latencies = [latency for outcome in outcomes for latency in outcome.latencies]
    if not latencies:
        latencies = [float("nan")]
    return ServicesFigures(
        ballots=ballots,
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
        latency_p99_ms=1e3 * percentile(latencies, 0.99),
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
