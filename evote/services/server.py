"""The composition root: one gRPC server with the board, the ballot box and a witness.

A sync ``grpc.server`` with a thread pool (design §2.1): the work is CPU-bound proof checks
and one SQLite writer. The ballot station serialises admission and append behind one lock;
the board signs checkpoints only over committed entries. Health is reported per service
(NOT_SERVING while casting is not possible), and reflection lists the services (dev and
admin servers; the caller chooses).

No TLS here yet: the server listens on loopback by default, and the TLS and authorization
modules plug in through ``credentials`` and ``interceptors``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

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
from evote.record import kinds
from evote.record.ballot_station import BallotStation
from evote.services.ballot_box import BallotBoxService
from evote.services.board import BoardService
from evote.services.witness import WitnessService
from evote.wire.v1 import (
    ballot_box_pb2,
    ballot_box_pb2_grpc,
    board_pb2,
    board_pb2_grpc,
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

BOARD_SERVICE: Final = board_pb2.DESCRIPTOR.services_by_name["Board"].full_name
BALLOT_BOX_SERVICE: Final = ballot_box_pb2.DESCRIPTOR.services_by_name["BallotBox"].full_name
WITNESS_SERVICE: Final = witness_pb2.DESCRIPTOR.services_by_name["Witness"].full_name


@dataclass
class Running:
    """A started server: its port, its health servicer and what it serves."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    board: BulletinBoard | None = None
    station: BallotStation | None = None
    services: list[str] = field(default_factory=list)

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
        """Drain (health NOT_SERVING, then stop), then close the board."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        if self.board is not None:
            self.board.close()


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
) -> Running:
    """Build and start one server with the given services; ``address`` port 0 picks one."""
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
    server.start()
    running = Running(server, port, health_servicer, board, station, names)
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
            kinds.entry_rules(hashlib.sha256(first.body).digest()),
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
) -> Running:
    """Serve the board and the ballot box of the election whose board is in ``data_dir``.

    The ballot box's state is rebuilt from the board before the port opens, so a restarted
    server enforces the same rules as before.
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
        )
    except BaseException:
        board.close()
        raise
