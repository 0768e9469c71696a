"""The composition root: one gRPC server with the board, the ballot box and a witness.

A sync ``grpc.server`` with a thread pool (design §2.1): the work is CPU-bound proof checks
and one SQLite writer. The ballot station serialises admission and append behind one lock;
the board signs checkpoints only over committed entries. With ``proof_workers`` > 0 the
proof checks run in that many worker processes (:class:`ProofWorkers`, closed when the
server stops) instead of the handler threads, which share this process's GIL. Health is
reported per service (NOT_SERVING while casting is not possible), and reflection lists the
services (dev and admin servers; the caller chooses).

:func:`serve` and :func:`serve_election` build one server (insecure unless ``credentials``
are given: tests and benchmarks). :func:`serve_election_tls` is the deployment shape (design
§2.2): two servers on loopback,

* the **public** port (TLS server-auth): Board, BallotBox, Registry and health;
* the **control** port (mutual TLS with the election CA, the authorization interceptor):
  Control, the Witness if this server hosts one, health and reflection (admins only),

over one data dir holding the board (``board.sqlite3``), the registry
(``registry.sqlite3``), and the election CA and server certificate (``ca.pem``, ``ca.key``,
``server.pem``, ``server.key``: :func:`setup_data_dir` makes them at ``evote setup``; serving
only reissues the server certificate; keys are written atomically with mode 0600).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.store import SqliteStore
from evote.board.witness import Witness
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import BoardError, InvalidInput, StoreCorrupted
from evote.files import write_atomically
from evote.record import kinds
from evote.record.ballot_station import BallotStation
from evote.record.proof_workers import ProofWorkers
from evote.record.registry import REGISTRY_FILE, Registry
from evote.services.auth import (
    Listener,
    add_listener,
    control_listener,
    new_server,
    public_listener,
)
from evote.services.ballot_box import BallotBoxService
from evote.services.board import BoardService
from evote.services.ca import (
    ElectionCA,
    LeafCredentials,
    certificate_pem,
    load_certificate,
    load_private_key,
    private_key_pem,
)
from evote.services.control import ControlService
from evote.services.registry import RegistryService
from evote.services.witness import WitnessService
from evote.wire.v1 import (
    ballot_box_pb2,
    ballot_box_pb2_grpc,
    board_pb2,
    board_pb2_grpc,
    control_pb2,
    control_pb2_grpc,
    witness_pb2,
    witness_pb2_grpc,
)

LOOPBACK: Final = "127.0.0.1:0"
BOARD_FILE: Final = "board.sqlite3"
#: Requests are single entries (a ballot is a few KiB; an entry body at most 1 MiB).
MAX_RECEIVE_BYTES: Final = 2 * 1024 * 1024
#: Answers carry pages of up to 1000 entries.
MAX_SEND_BYTES: Final = 16 * 1024 * 1024
WORKERS: Final = 8
#: Proof-check worker processes of :func:`serve_election_tls`: one per core. Measured with
#: ``evote bench services --tls`` (600 ballots, 16 clients) on the 2-core build machine in
#: four rounds of 0, 2 and 1 workers: 2 cast 16-45 % more per second than checks in the
#: handler threads and more than 1 worker in every round; 3 were no better than 2.
PROOF_WORKERS: Final = max(1, os.cpu_count() or 1)

BOARD_SERVICE: Final = board_pb2.DESCRIPTOR.services_by_name["Board"].full_name
BALLOT_BOX_SERVICE: Final = ballot_box_pb2.DESCRIPTOR.services_by_name["BallotBox"].full_name
WITNESS_SERVICE: Final = witness_pb2.DESCRIPTOR.services_by_name["Witness"].full_name
REGISTRY_SERVICE: Final = control_pb2.DESCRIPTOR.services_by_name["Registry"].full_name
CONTROL_SERVICE: Final = control_pb2.DESCRIPTOR.services_by_name["Control"].full_name

CA_CERT_FILE: Final = "ca.pem"
CA_KEY_FILE: Final = "ca.key"
SERVER_CERT_FILE: Final = "server.pem"
SERVER_KEY_FILE: Final = "server.key"
#: What the public port can offer (``serve_election_tls(public_services=...)``).
PUBLIC_SERVICES: Final = ("board", "ballot-box", "registry")
#: A server certificate closer than this to its end is reissued at start.
RENEW_BEFORE: Final = timedelta(days=1)


@dataclass
class Running:
    """A started server: its port, its health servicer and what it serves."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    board: BulletinBoard | None = None
    station: BallotStation | None = None
    services: list[str] = field(default_factory=list)
    proof_workers: ProofWorkers | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def refresh_health(self) -> None:
        """SERVING for the ballot box only while the election is open."""
        if self.station is not None:
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if self.station.phase == "open"
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            self.health.set(BALLOT_BOX_SERVICE, status)

    def stop(self, grace: float | None = None) -> None:
        """Drain (health NOT_SERVING, then stop), then stop the proof workers and close the
        board."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        try:
            if self.proof_workers is not None:
                self.proof_workers.close()
        finally:
            if self.board is not None:
                self.board.close()


def _proof_pool(station: BallotStation, proof_workers: int) -> ProofWorkers:
    """Start ``proof_workers`` processes, warm them with the election's context if it is
    known already, and make ``station`` check proofs in them."""
    pool = ProofWorkers(proof_workers)
    try:
        context = station.context
        if context is not None:
            pool.warm(context)
    except BaseException:
        pool.close()
        raise
    station.proofs = pool.check
    return pool


def serve(
    *,
    board: BulletinBoard | None = None,
    station: BallotStation | None = None,
    witness: Witness | None = None,
    address: str = LOOPBACK,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    reflection_enabled: bool = True,
    workers: int = WORKERS,
    max_receive_bytes: int = MAX_RECEIVE_BYTES,
    maximum_concurrent_rpcs: int | None = None,
    proof_workers: int = 0,
) -> Running:
    """Build and start one server with the given services; ``address`` port 0 picks one.

    ``proof_workers`` > 0 makes ``station`` check proofs in that many worker processes,
    stopped with the server (0: in the handler threads).
    """
    if proof_workers < 0:
        raise InvalidInput(f"proof_workers must be 0 (in-thread) or more, got {proof_workers}")
    if proof_workers and station is None:
        raise InvalidInput("proof workers check ballots: they need a ballot box (station)")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evote-rpc"),
        interceptors=list(interceptors),
        options=[
            ("grpc.max_receive_message_length", max_receive_bytes),
            ("grpc.max_send_message_length", MAX_SEND_BYTES),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=maximum_concurrent_rpcs,
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = []
    if board is not None:
        board_pb2_grpc.add_BoardServicer_to_server(BoardService(board), server)
        names.append(BOARD_SERVICE)
    if station is not None:
        ballot_box_pb2_grpc.add_BallotBoxServicer_to_server(BallotBoxService(station), server)
        names.append(BALLOT_BOX_SERVICE)
    if witness is not None:
        witness_pb2_grpc.add_WitnessServicer_to_server(WitnessService(witness), server)
        names.append(WITNESS_SERVICE)
    if not names:
        raise InvalidInput("a server needs at least one service")
    for name in names:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    if reflection_enabled:
        reflection.enable_server_reflection(
            (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise InvalidInput(f"cannot listen on {address}")
    pool = None if station is None or not proof_workers else _proof_pool(station, proof_workers)
    try:
        server.start()
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    running = Running(server, port, health_servicer, board, station, names, pool)
    running.refresh_health()
    return running


def open_board(data_dir: str | Path, log_key: SigningKey) -> tuple[BulletinBoard, Manifest]:
    """Open the election board kept in ``data_dir``; its entry 0 is the manifest.

    The manifest names the log's origin and key, the witnesses, and (by its hash) the
    election id; the log key must be the one it names. Opening rebuilds the tree and checks
    it against every signed checkpoint (:class:`StoreCorrupted` otherwise).
    """
    store = SqliteStore(Path(data_dir) / BOARD_FILE)
    try:
        if store.size() == 0:
            raise BoardError(f"the board in {data_dir} is empty: post the manifest first")
        first = Entry.decode(store.entry(0))
        if first.kind != kinds.MANIFEST:
            raise StoreCorrupted(f"entry 0 of the board in {data_dir} is not the manifest")
        manifest = Manifest.from_tlv(first.body)
        if manifest.log_key != log_key.verify_key:
            raise InvalidInput("this log key is not the one the manifest names")
        board = BulletinBoard(
            store,
            log_key,
            manifest.log_origin,
            kinds.entry_rules(hashlib.sha256(first.body).digest(), manifest.scheme_name),
            manifest.witness_keys(),
        )
    except BaseException:
        store.close()
        raise
    return board, manifest


def serve_election(
    data_dir: str | Path,
    log_key: SigningKey,
    *,
    address: str = LOOPBACK,
    credentials: grpc.ServerCredentials | None = None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    reflection_enabled: bool = True,
    workers: int = WORKERS,
    proof_workers: int = 0,
) -> Running:
    """Serve the board and the ballot box of the election whose board is in ``data_dir``.

    The ballot box's state is rebuilt from the board before the port opens, so a restarted
    server enforces the same rules as before. ``proof_workers`` as for :func:`serve`.
    """
    board, _ = open_board(data_dir, log_key)
    try:
        station = BallotStation(board)
        return serve(
            board=board,
            station=station,
            address=address,
            credentials=credentials,
            interceptors=interceptors,
            reflection_enabled=reflection_enabled,
            workers=workers,
            proof_workers=proof_workers,
        )
    except BaseException:
        board.close()
        raise


# ---------------------------------------------------------------------------------------------
# TLS deployment: the data dir's CA and server certificate, and the two ports


def _election_ca(directory: Path, ca_name: str, now: datetime | None) -> ElectionCA:
    """The data dir's election CA, made (and written) only when neither of its files is
    there. With exactly one of them present the CA was lost in part: a new one would lock out
    every role certificate it issued, so it is refused and nothing is written."""
    ca_key, ca_cert = directory / CA_KEY_FILE, directory / CA_CERT_FILE
    present = [path.name for path in (ca_cert, ca_key) if path.exists()]
    if len(present) == 1:
        missing = CA_KEY_FILE if present == [CA_CERT_FILE] else CA_CERT_FILE
        raise InvalidInput(
            f"{directory} holds {present[0]} but not {missing}: the election CA is incomplete; "
            f"restore {missing} from a backup (a new CA would lock out every role certificate "
            "it issued); nothing was written"
        )
    if present:
        return ElectionCA.from_pem(ca_key.read_bytes(), ca_cert.read_bytes())
    ca = ElectionCA.create(ca_name, not_before=now)
    write_atomically(ca_key, ca.key_pem(), 0o600)
    write_atomically(ca_cert, ca.certificate_pem, 0o644)
    return ca


def _server_leaf(
    directory: Path,
    ca: ElectionCA,
    *,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
    now: datetime | None,
) -> LeafCredentials | None:
    """A new server certificate when the data dir has none or its own ends within
    :data:`RENEW_BEFORE`; ``None`` when the kept one serves."""
    server_key, server_cert = directory / SERVER_KEY_FILE, directory / SERVER_CERT_FILE
    current = datetime.now(UTC) if now is None else now
    if server_key.exists() and server_cert.exists():
        certificate = load_certificate(server_cert.read_bytes())
        if certificate.not_valid_after_utc - RENEW_BEFORE > current:
            return None
    return ca.issue_server(dns_names=dns_names, ip_addresses=ip_addresses, now=now)


def _write_server_leaf(directory: Path, leaf: LeafCredentials) -> None:
    write_atomically(directory / SERVER_KEY_FILE, private_key_pem(leaf.key), 0o600)
    write_atomically(directory / SERVER_CERT_FILE, certificate_pem(leaf.certificate), 0o644)


def setup_data_dir(
    data_dir: str | Path,
    *,
    ca_name: str = "evote election CA",
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    now: datetime | None = None,
) -> ElectionCA:
    """Make the election CA and the server certificate in ``data_dir`` if they are missing
    (and reissue a server certificate that expires within :data:`RENEW_BEFORE`); returns the
    CA. Private keys are written with mode 0600. A data dir holding only one of ``ca.pem``
    and ``ca.key`` is refused (:class:`InvalidInput`) and left as it is."""
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca = _election_ca(directory, ca_name, now)
    leaf = _server_leaf(directory, ca, dns_names=dns_names, ip_addresses=ip_addresses, now=now)
    if leaf is not None:
        _write_server_leaf(directory, leaf)
    return ca


def _serving_credentials(directory: Path) -> tuple[LeafCredentials, LeafCredentials | None]:
    """The server's credentials for serving, and the new leaf still to be written (after the
    ports are up: a run that cannot start leaves the data dir as it was). The CA is made here
    only on a data dir that has none at all (a board set up without ``evote setup``)."""
    ca = _election_ca(directory, "evote election CA", None)
    fresh = _server_leaf(
        directory, ca, dns_names=("localhost",), ip_addresses=("127.0.0.1",), now=None
    )
    if fresh is None:
        return load_server_credentials(directory), None
    return fresh, fresh


def _check_board_file(directory: Path) -> None:
    """Refuse, before anything is opened or written, a data dir without a board file or with
    an empty one (opening would create an empty board beside nothing to serve)."""
    board_file = directory / BOARD_FILE
    try:
        size = board_file.stat().st_size
    except FileNotFoundError:
        raise BoardError(
            f"{directory} holds no board ({BOARD_FILE}): set the election up with `evote setup`, "
            "or restore the board from a backup; refusing to serve (nothing was written)"
        ) from None
    if size == 0:
        raise BoardError(
            f"the board in {directory} is empty ({BOARD_FILE} has no bytes): restore it from a "
            "backup; refusing to serve (nothing was written)"
        )


def _registry_is_gone(directory: Path, board: BulletinBoard) -> bool:
    """Whether the data dir has no registry (its file missing or empty) although the
    credential list is on the board. Registration is over then, and the board holds its
    outcome: the election is served without a registry rather than with a new, empty one (an
    empty file would claim that nobody enrolled, and a second list could never be posted
    anyway). Before the list is on the board, serving makes the registry on first start."""
    registry_file = directory / REGISTRY_FILE
    if registry_file.exists() and registry_file.stat().st_size > 0:
        return False
    return any(_kind_of(data) == kinds.CREDENTIALS for data in _all_entries(board))


def _kind_of(data: bytes) -> str:
    return Entry.decode(data).kind


def _all_entries(board: BulletinBoard) -> list[bytes]:
    found: list[bytes] = []
    while len(found) < board.size:
        page = board.entries(len(found), len(found) + 1000)
        if not page:
            break
        found.extend(page)
    return found


def load_server_credentials(data_dir: str | Path) -> LeafCredentials:
    """The server's key and certificate with the CA certificate, as kept in ``data_dir``."""
    directory = Path(data_dir)
    return LeafCredentials(
        load_private_key((directory / SERVER_KEY_FILE).read_bytes()),
        load_certificate((directory / SERVER_CERT_FILE).read_bytes()),
        load_certificate((directory / CA_CERT_FILE).read_bytes()),
    )


@dataclass
class ElectionServers:
    """The public and control servers of one election, over one board and its registry (none
    when the registry is gone after the credential list was posted: :func:`_registry_is_gone`)."""

    public: Running
    control: Running
    board: BulletinBoard
    kept_registry: Registry | None
    ca_pem: bytes

    @property
    def registry(self) -> Registry:
        """The registry these servers keep."""
        if self.kept_registry is None:
            raise InvalidInput(
                "this election is served without a registry: its file is gone and the "
                "credential list is on the board"
            )
        return self.kept_registry

    def stop(self, grace: float | None = None) -> None:
        """Drain both ports, then close the registry and the board."""
        self.control.stop(grace)
        self.public.stop(grace)
        if self.kept_registry is not None:
            self.kept_registry.close_db()
        self.board.close()


def _start(
    listener: Listener,
    address: str,
    servicers: Sequence[tuple[str, object]],
    *,
    workers: int,
    reflection_enabled: bool,
    station: BallotStation | None = None,
    proof_workers: ProofWorkers | None = None,
) -> Running:
    """One server for ``listener``: the servicers (by their registration functions), health
    for each, optionally reflection; started."""
    server = new_server(listener, max_workers=workers)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = []
    for name, servicer in servicers:
        _ADD[name](servicer, server)
        names.append(name)
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    if reflection_enabled:
        reflection.enable_server_reflection(
            (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    port = add_listener(server, listener, address)
    server.start()
    running = Running(server, port, health_servicer, None, station, names, proof_workers)
    running.refresh_health()
    return running


_ADD: Final[Mapping[str, Callable[[Any, grpc.Server], None]]] = {
    BOARD_SERVICE: board_pb2_grpc.add_BoardServicer_to_server,
    BALLOT_BOX_SERVICE: ballot_box_pb2_grpc.add_BallotBoxServicer_to_server,
    REGISTRY_SERVICE: control_pb2_grpc.add_RegistryServicer_to_server,
    CONTROL_SERVICE: control_pb2_grpc.add_ControlServicer_to_server,
    WITNESS_SERVICE: witness_pb2_grpc.add_WitnessServicer_to_server,
}


def _open_registry(data_dir: str | Path, election_id: bytes) -> Registry:
    """The data dir's registry; a damaged file is refused with :class:`StoreCorrupted` (one
    clear message from ``evote serve``, not an SQLite traceback)."""
    try:
        return Registry.in_dir(data_dir, election_id)
    except sqlite3.DatabaseError as error:
        raise StoreCorrupted(
            f"cannot open the registry in {data_dir}: {str(error)[:120]}; the file is damaged: "
            "restore it from a backup; refusing to serve"
        ) from error


def serve_election_tls(
    data_dir: str | Path,
    log_key: SigningKey,
    *,
    witness: Witness | None = None,
    public_address: str = LOOPBACK,
    control_address: str = LOOPBACK,
    workers: int = WORKERS,
    reflection_enabled: bool = True,
    proof_workers: int = PROOF_WORKERS,
    public_services: Collection[str] = PUBLIC_SERVICES,
) -> ElectionServers:
    """Serve the election in ``data_dir`` on a public and a control port (see the module).

    The board must hold its manifest: a data dir without one is refused before anything is
    written in it. A registry is never made for a board that already holds the credential
    list (the election is then served without one: :func:`_registry_is_gone`). The election
    CA is the one ``evote setup`` made (:func:`setup_data_dir`; only a data dir with neither
    CA file gets a new one, and one with half of it is refused); a server certificate that is
    missing or about to end is reissued, and written once both ports are up. The credential
    authority signs the credential list on its own machine: CloseRegistration closes the
    registry and answers the list, which the authority posts with Post. Reflection, when
    enabled, is on the control port only (admin role).
    ``proof_workers`` processes check ballots' proofs (0: the public port's handler threads
    do); they stop with the public port. ``public_services`` names what the public port offers
    (:data:`PUBLIC_SERVICES`, e.g. only ``board`` once voting is over); the control port always
    serves Control.
    """
    if proof_workers < 0:
        raise InvalidInput(f"proof_workers must be 0 (in-thread) or more, got {proof_workers}")
    unknown = set(public_services) - set(PUBLIC_SERVICES)
    if unknown or not public_services:
        raise InvalidInput(
            f"the public port serves some of {', '.join(PUBLIC_SERVICES)}; "
            f"not {', '.join(sorted(unknown)) or 'nothing'}"
        )
    directory = Path(data_dir)
    _check_board_file(directory)
    board, manifest = open_board(directory, log_key)
    registry: Registry | None = None
    pool: ProofWorkers | None = None
    started: list[Running] = []
    try:
        leaf, fresh_leaf = _serving_credentials(directory)
        if not _registry_is_gone(directory, board):
            registry = _open_registry(directory, manifest.election_id)
        station = BallotStation(board)
        casting = "ballot-box" in public_services
        if proof_workers and casting:
            pool = _proof_pool(station, proof_workers)
        offered: dict[str, tuple[str, object]] = {
            "board": (BOARD_SERVICE, BoardService(board)),
            "ballot-box": (BALLOT_BOX_SERVICE, BallotBoxService(station)),
        }
        if registry is not None:
            offered["registry"] = (REGISTRY_SERVICE, RegistryService(registry))
        serving = [
            offered[name] for name in PUBLIC_SERVICES if name in public_services and name in offered
        ]
        if not serving:
            raise InvalidInput(
                f"{directory} keeps no registry (the credential list is on the board): serve "
                "the board or the ballot box"
            )
        public = _start(
            public_listener(leaf),
            public_address,
            serving,
            workers=workers,
            reflection_enabled=False,
            station=station if casting else None,
            proof_workers=pool,
        )
        started.append(public)
        control_services: list[tuple[str, object]] = [
            (
                CONTROL_SERVICE,
                ControlService(
                    station,
                    manifest,
                    leaf.ca_certificate,
                    registry=registry,
                    on_phase_change=public.refresh_health,
                ),
            )
        ]
        if witness is not None:
            control_services.append((WITNESS_SERVICE, WitnessService(witness)))
        control = _start(
            control_listener(leaf),
            control_address,
            control_services,
            workers=workers,
            reflection_enabled=reflection_enabled,
        )
        started.append(control)
        if fresh_leaf is not None:
            _write_server_leaf(directory, fresh_leaf)
    except BaseException:
        for running in started:
            running.stop(None)
        if pool is not None:
            pool.close()
        if registry is not None:
            registry.close_db()
        board.close()
        raise
    return ElectionServers(public, control, board, registry, leaf.ca_pem)
