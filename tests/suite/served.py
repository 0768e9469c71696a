"""A real ``evote serve`` in a subprocess, on two loopback ports kept across restarts.

Shared by the fault tests that kill, starve or corrupt the server under test: the SIGKILL test
of casting (``tests/integration/test_ballot_box_crash.py``), the phases of an election
(``test_faults_phases.py``) and the disk faults (``test_faults_disk.py``). The server is the
command line itself (or a variant that injects a fault, run the same way), with TLS on both
ports and the data dir's CA; clients are the project's own TLS clients. Witnesses follow the
board after every start: a restarted log may only have grown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from evote.board.checkpoint import open_checkpoint
from evote.board.witness import Witness
from evote.client.channels import (
    BallotBoxClient,
    BoardClient,
    ControlClient,
    RegistryClient,
    secure_channel,
)
from evote.crypto.signing import SigningKey
from evote.errors import EvoteError
from evote.services.ca import ElectionCA, LeafCredentials, Role
from evote.services.server import CA_CERT_FILE, CA_KEY_FILE

REPOSITORY: Final = Path(__file__).resolve().parents[2]
SERVE: Final = ("-m", "evote", "serve")
#: ``evote serve`` under a file-size limit (a full disk), optionally over a store that hides
#: its write errors (the negative control): see ``faults_launch.py``.
LAUNCH: Final = ("-m", "tests.suite.faults_launch")
#: Upper bound on a start, which normally takes a second or two (never asserted as a timing).
READY_WITHIN: Final = 60.0
#: Statuses a client sees while the server is down or restarting: the action is retried.
TRANSIENT: Final = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
)


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago (bound to port 0, read,
    closed), so that every restart of the server can listen on the same addresses."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for opened in sockets:
            opened.bind(("127.0.0.1", 0))
        return [int(opened.getsockname()[1]) for opened in sockets]
    finally:
        for opened in sockets:
            opened.close()


def stop_server(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a clean stop) unless it is dead already, SIGKILL if it does not exit; then
    end whatever is left in its process group: a server killed with SIGKILL cannot stop the
    worker processes it started, and they would outlive the test."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


def kill_server(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server (no clean-up of any kind), wait for it, end its workers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    stop_server(child)


class Served:
    """One election's data dir served by a command line on two fixed loopback ports.

    ``data_dir`` holds the board (its manifest as entry 0) and the election CA
    (:func:`evote.services.server.setup_data_dir`); the log key is written beside it for the
    command line (the server holds no other key: the credential authority signs on its side).
    """

    def __init__(
        self,
        directory: Path,
        data_dir: Path,
        log_key: SigningKey,
        origin: str,
        *,
        command: Sequence[str] = SERVE,
        proof_workers: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.origin = origin
        self.log_verify_key = log_key.verify_key
        self.key_file = directory / "log.key"
        self.key_file.write_text(log_key.seed().hex())
        self.log = directory / "serve.log"
        self.command = tuple(command)
        self.proof_workers = proof_workers
        public, control = free_ports(2)
        self.public = f"127.0.0.1:{public}"
        self.control = f"127.0.0.1:{control}"
        self.ca_pem = (data_dir / CA_CERT_FILE).read_bytes()
        self._ca = ElectionCA.from_pem((data_dir / CA_KEY_FILE).read_bytes(), self.ca_pem)
        self._roles: dict[Role, LeafCredentials] = {}
        #: How many times the server was started.
        self.starts = 0

    def role(self, role: Role) -> LeafCredentials:
        """A role certificate issued by the data dir's CA (one per role for the whole run)."""
        if role not in self._roles:
            self._roles[role] = self._ca.issue_client(role)
        return self._roles[role]

    def control_client(self, role: Role, *, timeout: float = 10.0) -> ControlClient:
        """A control-port client with ``role``'s certificate; it does not retry by itself (the
        caller decides what a failure means)."""
        channel = secure_channel(
            self.control, self.ca_pem, self.role(role), retry=False, own_connection=True
        )
        return ControlClient(channel, timeout=timeout)

    def board_client(self) -> BoardClient:
        return BoardClient(secure_channel(self.public, self.ca_pem))

    def ballot_box_client(self, *, timeout: float = 10.0) -> BallotBoxClient:
        channel = secure_channel(self.public, self.ca_pem, retry=False, own_connection=True)
        return BallotBoxClient(channel, timeout=timeout)

    def registry_client(self, *, timeout: float = 10.0) -> RegistryClient:
        channel = secure_channel(self.public, self.ca_pem, retry=False, own_connection=True)
        return RegistryClient(channel, timeout=timeout)

    def arguments(self) -> list[str]:
        """The ``evote serve`` arguments for this data dir and these ports."""
        arguments = ["--data-dir", str(self.data_dir), "--log-key", str(self.key_file)]
        arguments += ["--public", self.public, "--control", self.control]
        if self.proof_workers is not None:
            arguments += ["--proof-workers", str(self.proof_workers)]
        return arguments

    def start(self, prefix: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        """Start the command on the fixed ports; return once both ports answer health.
        ``prefix`` goes between the command and ``serve``'s arguments (a launcher's own)."""
        child = self.spawn(prefix)
        try:
            self._wait_ready(child)
        except BaseException:
            stop_server(child)
            raise
        self.starts += 1
        return child

    def spawn(self, prefix: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        """Start the command without waiting for it (its stderr goes to :attr:`log`)."""
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [sys.executable, *self.command, *prefix, *self.arguments()],
                cwd=REPOSITORY,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,  # its own process group, ended by stop_server
            )

    def _wait_ready(self, child: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + READY_WITHIN
        official = self.role(Role.official())
        while not (self._serving(self.public, None) and self._serving(self.control, official)):
            code = child.poll()
            if code is not None:
                raise AssertionError(f"the server exited with {code}:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the server is not serving:\n{self.log.read_text()}")
            time.sleep(0.05)

    def _serving(self, address: str, role: LeafCredentials | None) -> bool:
        """The gRPC health check over TLS (a fresh connection, so no reconnect backoff)."""
        channel = secure_channel(address, self.ca_pem, role, retry=False, own_connection=True)
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.RpcError:
            return False
        finally:
            channel.close()
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def follow(
    served: Served,
    witnesses: Sequence[Witness],
    when: str,
    problems: list[str],
    *,
    hand_in: bool = False,
) -> int:
    """Each witness, a client of the running server, reads the latest checkpoint and cosigns
    it only if the log grew from the tree it cosigned last (a consistency proof from the
    board): across every SIGKILL and restart the log may only have grown. With ``hand_in``
    each witness gives its cosignature to the board through the control port. Refusals go
    to ``problems``; returns the size of the checkpoint read."""
    with served.board_client() as board:
        note = board.checkpoint()
        size = open_checkpoint(note, served.origin, served.log_verify_key)[0].size
        for witness in witnesses:
            old = witness.state.size
            proof = board.consistency_proof(old, size) if 0 < old < size else []
            timestamp = max(int(time.time()), witness.state.timestamp)
            try:
                line = witness.add_checkpoint(note, old, proof, timestamp).line().rstrip("\n")
            except EvoteError as error:
                problems.append(f"{when}: {witness.name} refused size {size}: {error}")
                continue
            if hand_in:
                with served.control_client(Role.for_witness(witness.name)) as control:
                    control.add_cosignature(size, line)
    return size
