"""A real election over the real services for the adversary tests and the phases machine.

The keys and the guardians' ceremony are staged once (:func:`stage`, a few tens of
milliseconds) and copied per test (:func:`copy_of`), so each test gets a board of its own.
:class:`Services` serves a copy the way ``evote serve`` does (the public port over TLS, the
control port over mutual TLS with role certificates from the data dir's CA, proofs checked in
the handler threads) and plays every honest party through the same gRPC calls their commands
make: voters cast and audit, the credential authority runs registration, officials open,
close, tally and publish the result (built with the officials' own client code from the board
as read), guardians post their shares, witnesses cosign after checking consistency.

An adversary is then whatever a test does *besides* the honest calls: appending to the
server's board behind the control port's back (a colluding board operator), serving a second
board under the same log key (a split view), rolling the board back to an older copy.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import grpc

from evote.board.checkpoint import open_checkpoint
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.witness import Witness
from evote.client.channels import (
    PAGE,
    BallotBoxClient,
    BoardClient,
    ControlClient,
    RegistryClient,
    secure_channel,
)
from evote.client.official.reading import BoardView, fetch_board
from evote.client.official.result import result_entry
from evote.client.official.tally import tally_entry
from evote.client.receipt import Receipt, check_receipt
from evote.crypto.signing import SigningKey
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.tally import EncryptedTally, TallyResult
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.services.ca import ElectionCA, Role
from evote.services.server import ElectionServers, serve_election_tls, setup_data_dir
from evote.verify.report import VerificationReport
from evote.verify.runner import verify_record

#: One yes/no referendum: small ballots, quick proofs, counts a model can predict.
CONTESTS: Sequence[dict[str, object]] = (REFERENCE_CONTESTS[0],)
#: The referendum's options, in ballot order (a choice is an index into them, or blank).
OPTIONS = ("yes", "no")

Choice = int | None


def stage(
    directory: Path, voters: int, until: Literal["keys", "credentials", "open"] = "open"
) -> StagedElection:
    """The staged election every test of a module copies (3 guardians, quorum 2)."""
    return stage_election(directory, "Adversary suite", list(CONTESTS), voters=voters, until=until)


def copy_of(staged: StagedElection, directory: Path) -> StagedElection:
    """The same election in a data dir of its own (its board can then go its own way)."""
    shutil.copytree(staged.data_dir, directory)
    return dataclasses.replace(staged, data_dir=directory)


def plaintext(staged: StagedElection, choice: Choice) -> PlaintextBallot:
    style = staged.manifest.ballot_styles[0].id
    return PlaintextBallot(style, (tuple(int(i == choice) for i in range(len(OPTIONS))),))


def ballot(
    staged: StagedElection, credential: SigningKey, choice: Choice, sequence: int = 0
) -> bytes:
    """A ballot entry for ``choice`` (an option index, or ``None`` for blank)."""
    made = encrypt_ballot(
        plaintext(staged, choice), staged.context, credential.verify_key, sequence
    )
    return staged.entry(kinds.BALLOT, made.ballot.to_tlv(), [credential])


def failed(report: VerificationReport) -> dict[str, list[str]]:
    """The verifier's failed checks by name, with their messages."""
    return {
        check.name: [failure.message for failure in check.failures]
        for check in report.checks
        if check.status == "fail"
    }


class Board:
    """A board as an observer or a device reaches it: whatever server answers at the
    election's address now (``client`` can be switched: a restarted or forked board)."""

    def __init__(self, client: BoardClient) -> None:
        self.client = client

    def checkpoint(self, size: int = 0) -> str:
        return self.client.checkpoint(size)

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        return self.client.entries(start, limit)


class Services:
    """The public and control ports of one election, and a client for every party."""

    def __init__(self, staged: StagedElection) -> None:
        self.staged = staged
        self.servers: ElectionServers = serve_election_tls(
            staged.data_dir, staged.log_key, proof_workers=0
        )
        self._ca: ElectionCA = setup_data_dir(staged.data_dir)
        self._controls: dict[str, ControlClient] = {}
        public = secure_channel(self.servers.public.address, self.servers.ca_pem)
        self._channels: list[grpc.Channel] = [public]
        self.board = BoardClient(public)
        self.box = BallotBoxClient(public)
        self.registry = RegistryClient(public)
        manifest = staged.manifest
        self.witnesses = [
            Witness(name, key, manifest.log_origin, manifest.log_key)
            for name, key in staged.witnesses
        ]

    @property
    def address(self) -> str:
        return self.servers.public.address

    def control(self, role: Role) -> ControlClient:
        """A control-port client holding ``role``'s certificate (one per role)."""
        client = self._controls.get(str(role))
        if client is None:
            leaf = self._ca.issue_client(role)
            channel = secure_channel(self.servers.control.address, self.servers.ca_pem, leaf)
            self._channels.append(channel)
            client = self._controls[str(role)] = ControlClient(channel)
        return client

    def stop(self) -> None:
        for channel in self._channels:
            channel.close()
        self.servers.stop(None)

    # --- the honest parties ----------------------------------------------------------------------

    def cast(self, entry: bytes) -> Receipt:
        """A voter casts and checks the receipt offline, as ``evote vote`` does."""
        receipt = self.box.cast(entry)
        check_receipt(receipt, self.staged.manifest, entry)
        return receipt

    def official_post(self, entry: bytes) -> Receipt:
        return self.control(Role.official()).post(entry)

    def mark(self, phase: Literal["open", "close"]) -> Receipt:
        return self.official_post(self.staged.mark(phase, self.staged.officials))

    def witness_round(self) -> None:
        """Each witness reads the newest checkpoint and a consistency proof from the tree it
        last cosigned, checks, cosigns and hands its line in on the control port."""
        latest = self.board.checkpoint()
        manifest = self.staged.manifest
        size = open_checkpoint(latest, manifest.log_origin, manifest.log_key)[0].size
        for witness, (name, _) in zip(self.witnesses, self.staged.witnesses, strict=True):
            old = witness.state.size
            if old == size:
                continue
            proof = self.board.consistency_proof(old, size) if old else []
            signature = witness.add_checkpoint(latest, old, proof, int(time.time()))
            client = self.control(Role.for_witness(name))
            latest = client.add_cosignature(size, signature.line().rstrip("\n"))

    def view(self) -> BoardView:
        """The board as the officials' commands read and check it."""
        return fetch_board(self.board, self.staged.manifest.election_id)

    def close(self) -> None:
        """The officials close and the witnesses cosign the checkpoint that covers it."""
        self.mark("close")
        self.witness_round()

    def tally(self) -> Entry:
        """The officials' tally of each credential's last ballot, posted."""
        entry = tally_entry(self.view(), self.staged.officials)
        self.official_post(entry.encoded)
        return entry

    def shares(self, guardian: int, tally: EncryptedTally | None = None) -> bytes:
        """Guardian ``guardian``'s honest shares of ``tally`` (the posted one by default)."""
        staged = self.staged
        if tally is None:
            view = self.view()
            posted = [entry for entry in view.entries if entry.kind == kinds.TALLY]
            tally = EncryptedTally.from_tlv(posted[0].body, staged.context)
        made = staged.trustees[guardian - 1].decrypt_tally(staged.context, tally.totals)
        return staged.entry(kinds.DECRYPTION_SHARE, made.to_tlv(), [staged.guardians[guardian - 1]])

    def decrypt(self, guardian: int) -> Receipt:
        """Guardian ``guardian`` posts its shares of the posted tally."""
        return self.control(Role.for_guardian(guardian)).post(self.shares(guardian))

    def result(self) -> TallyResult:
        """The officials build the result from the verified shares on the board and post it."""
        entry, result = result_entry(self.view(), self.staged.officials)
        self.official_post(entry.encoded)
        return result

    def finish(self, guardians: Sequence[int] = (1, 2)) -> TallyResult:
        """Close, tally, decrypt with ``guardians``, publish the result."""
        self.close()
        self.tally()
        for guardian in guardians:
            self.decrypt(guardian)
        return self.result()

    def verify(self, directory: Path) -> VerificationReport:
        """Export the board's record into ``directory`` and run the independent verifier."""
        export_record(self.servers.board, directory)
        return verify_record(directory, election_id=self.staged.manifest.election_id, workers=1)
