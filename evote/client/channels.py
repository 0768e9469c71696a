"""Typed clients over the generated stubs: TLS, deadlines, retries of UNAVAILABLE.

Every client holds one channel to one port:

* the **public** port (server-auth TLS, the election CA as the only root):
  :class:`BoardClient`, :class:`BallotBoxClient`, :class:`RegistryClient`;
* the **control** port (mutual TLS, a role certificate issued by the election CA):
  :class:`ControlClient`, :class:`WitnessClient`.

Every call carries a deadline (``timeout`` seconds). Retries of UNAVAILABLE (with backoff, in
the channel's service config) are on for the idempotent methods only: a retried Cast, Audit,
Post, Enroll, ImportRoll or CloseRegistration gets the answer of the original call.
The credential authority signs the credential list here, on its own machine
(:func:`close_and_post_credentials`); the server never holds its key. A
witness's AddCheckpoint moves its state, so the witness channel never retries. Failures are
raised as :class:`grpc.RpcError` (its ``code()`` is the service's precise status).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self

import grpc

from evote.board.entry import Entry
from evote.client.receipt import Receipt, check_receipt
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import DecodeError, VerificationError
from evote.record import kinds
from evote.record.kinds import CredentialList
from evote.services.auth import channel_credentials, channel_options
from evote.services.ca import LeafCredentials, load_role_dir
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

#: Seconds each call may take unless the client is given another deadline.
TIMEOUT: Final = 10.0
#: Entries asked for per GetEntries page (the server answers at most 1000).
PAGE: Final = 1000


#: The connection every client takes (callers need not import gRPC to hold one).
Channel = grpc.Channel


def secure_channel(
    address: str,
    ca_pem: bytes,
    role: LeafCredentials | None = None,
    *,
    retry: bool = True,
    own_connection: bool = False,
) -> Channel:
    """A TLS channel trusting only the election CA; ``role`` presents a role certificate
    (control port). ``own_connection`` gives the channel a subchannel pool of its own (one
    connection per client, as separate voters have)."""
    options = channel_options(retry=retry)
    if own_connection:
        options.append(("grpc.use_local_subchannel_pool", 1))
    return grpc.secure_channel(address, channel_credentials(ca_pem, role), options=options)


def load_role(directory: Path) -> LeafCredentials:
    """A party's role certificate, key and the CA, as ``evote ca issue`` wrote them."""
    return load_role_dir(directory)


def receipt_from(message: board_pb2.Receipt) -> Receipt:
    return Receipt(
        election_id=message.election_id,
        tracking_code=message.tracking_code,
        leaf_index=message.leaf_index,
        checkpoint=message.checkpoint,
        inclusion_proof=tuple(message.inclusion_proof),
    )


@dataclass(frozen=True, slots=True)
class RegistrationStatus:
    """The registry's public counts; ``credential_list`` is the credentials entry body the
    registry closed with (answered by CloseRegistration only, empty otherwise)."""

    eligible: int
    enrolled: int
    closed: bool
    credential_list: bytes = b""

    @classmethod
    def from_message(cls, message: control_pb2.RegistrationStatus) -> RegistrationStatus:
        return cls(message.eligible, message.enrolled, message.closed, message.credential_list)


class CredentialListRefused(VerificationError):
    """The credential list the registry answered is not one the authority may sign."""


class _Client:
    def __init__(self, channel: grpc.Channel, timeout: float = TIMEOUT) -> None:
        self.channel = channel
        self.timeout = timeout

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the channel is connected (``timeout`` seconds at most)."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout or self.timeout)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class BoardClient(_Client):
    """Read the board: checkpoints, entries in pages, proofs and receipts (public port)."""

    def __init__(self, channel: grpc.Channel, timeout: float = TIMEOUT) -> None:
        super().__init__(channel, timeout)
        self._stub = board_pb2_grpc.BoardStub(channel)

    def checkpoint(self, size: int = 0) -> str:
        """The latest signed checkpoint, or the one of ``size`` entries."""
        answer = self._stub.GetCheckpoint(
            board_pb2.GetCheckpointRequest(size=size), timeout=self.timeout
        )
        return answer.note

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        """One page of entries from ``start`` (empty past the end)."""
        answer = self._stub.GetEntries(
            board_pb2.GetEntriesRequest(start=start, limit=limit), timeout=self.timeout
        )
        return list(answer.entries)

    def all_entries(self, start: int = 0) -> Iterator[bytes]:
        """Every entry from ``start``, page by page."""
        while True:
            page = self.entries(start)
            if not page:
                return
            yield from page
            start += len(page)

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        answer = self._stub.GetInclusionProof(
            board_pb2.GetInclusionProofRequest(index=index, tree_size=tree_size),
            timeout=self.timeout,
        )
        return list(answer.path)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        answer = self._stub.GetConsistencyProof(
            board_pb2.GetConsistencyProofRequest(old_size=old_size, new_size=new_size),
            timeout=self.timeout,
        )
        return list(answer.path)

    def receipt(self, tracking_code: bytes) -> Receipt:
        """A fresh receipt (against the latest checkpoint) for an entry on the board."""
        answer = self._stub.GetReceipt(
            board_pb2.GetReceiptRequest(tracking_code=tracking_code), timeout=self.timeout
        )
        return receipt_from(answer)


class BallotBoxClient(_Client):
    """A voter's device: cast and audit, each answered with a receipt (public port)."""

    def __init__(self, channel: grpc.Channel, timeout: float = TIMEOUT) -> None:
        super().__init__(channel, timeout)
        self._stub = ballot_box_pb2_grpc.BallotBoxStub(channel)

    def cast(self, entry: bytes, timeout: float | None = None) -> Receipt:
        answer = self._stub.Cast(
            ballot_box_pb2.CastRequest(entry=entry), timeout=timeout or self.timeout
        )
        return receipt_from(answer)

    def audit(self, entry: bytes, timeout: float | None = None) -> Receipt:
        answer = self._stub.Audit(
            ballot_box_pb2.AuditRequest(entry=entry), timeout=timeout or self.timeout
        )
        return receipt_from(answer)


class CastClient:
    """The benchmark's voter: one channel of its own to the ballot box, casts that answer the
    tracking code or ``None`` on any failure (see :class:`evote.bench.services.CastClient`).
    Insecure unless ``ca_pem`` is given (``evote bench services --tls`` gives it)."""

    def __init__(self, box: BallotBoxClient) -> None:
        self._box = box

    @classmethod
    def connect(cls, address: str, timeout: float, *, ca_pem: bytes | None = None) -> CastClient:
        if ca_pem is None:
            channel = grpc.insecure_channel(
                address, options=[("grpc.use_local_subchannel_pool", 1)]
            )
        else:
            channel = secure_channel(address, ca_pem, own_connection=True)
        box = BallotBoxClient(channel)
        try:
            box.wait_ready(timeout)
        except BaseException:
            box.close()
            raise
        return cls(box)

    def cast(self, entry: bytes, deadline: float) -> bytes | None:
        try:
            return self._box.cast(entry, deadline).tracking_code
        except grpc.RpcError:
            return None

    def close(self) -> None:
        self._box.close()


class RegistryClient(_Client):
    """A voter enrolls a credential with a one-time code (public port)."""

    def __init__(self, channel: grpc.Channel, timeout: float = TIMEOUT) -> None:
        super().__init__(channel, timeout)
        self._stub = control_pb2_grpc.RegistryStub(channel)

    def enroll(self, code: str, credential: bytes) -> RegistrationStatus:
        answer = self._stub.Enroll(
            control_pb2.EnrollRequest(enrollment_code=code, credential=credential),
            timeout=self.timeout,
        )
        return RegistrationStatus.from_message(answer)

    def status(self) -> RegistrationStatus:
        answer = self._stub.Status(control_pb2.Empty(), timeout=self.timeout)
        return RegistrationStatus.from_message(answer)


class ControlClient(_Client):
    """Officials, guardians and the credential authority (control port, role certificate)."""

    def __init__(self, channel: grpc.Channel, timeout: float = TIMEOUT) -> None:
        super().__init__(channel, timeout)
        self._stub = control_pb2_grpc.ControlStub(channel)

    def post(self, entry: bytes) -> Receipt:
        answer = self._stub.Post(control_pb2.PostRequest(entry=entry), timeout=self.timeout)
        return receipt_from(answer)

    def import_roll(self, codes: Sequence[str]) -> RegistrationStatus:
        answer = self._stub.ImportRoll(
            control_pb2.ImportRollRequest(enrollment_codes=list(codes)), timeout=self.timeout
        )
        return RegistrationStatus.from_message(answer)

    def close_registration(self) -> RegistrationStatus:
        """Close the registry (again: no change); the answer carries the list it closed with.
        Nothing goes on the board: see :func:`close_and_post_credentials`."""
        answer = self._stub.CloseRegistration(control_pb2.Empty(), timeout=self.timeout)
        return RegistrationStatus.from_message(answer)

    def add_cosignature(self, size: int, line: str) -> str:
        """Hand in a witness's cosignature line over the checkpoint of ``size`` (witness role);
        answers that checkpoint with every cosignature attached so far. Retrying is safe."""
        answer = self._stub.AddCosignature(
            control_pb2.AddCosignatureRequest(size=size, line=line), timeout=self.timeout
        )
        return answer.note


class WitnessClient(_Client):
    """The log asks a witness to cosign (control port). Open its channel with
    ``retry=False``: AddCheckpoint is not idempotent."""

    def __init__(self, channel: grpc.Channel, timeout: float = TIMEOUT) -> None:
        super().__init__(channel, timeout)
        self._stub = witness_pb2_grpc.WitnessStub(channel)

    def add_checkpoint(self, checkpoint: str, old_size: int, proof: Sequence[bytes]) -> str:
        """The witness's cosignature line over ``checkpoint``."""
        answer = self._stub.AddCheckpoint(
            witness_pb2.AddCheckpointRequest(
                checkpoint=checkpoint, old_size=old_size, consistency_proof=list(proof)
            ),
            timeout=self.timeout,
        )
        return answer.line


def credentials_entry(
    closed: RegistrationStatus, manifest: Manifest, authority: SigningKey
) -> Entry:
    """The ``credentials`` entry the credential authority signs, on its own machine, over the
    list the registry closed with, after checking it: registration is closed, the list parses
    (sorted, no duplicates) and holds exactly as many credentials as the registry says were
    enrolled, and ``authority`` is the manifest's credential authority."""
    if authority.verify_key != manifest.credential_authority:
        raise CredentialListRefused(
            "this key is not the credential authority the manifest names: sign with the "
            "authority's key (`evote key new` made it for the manifest)"
        )
    if not closed.closed:
        raise CredentialListRefused("the registry answered that registration is still open")
    try:
        listed = CredentialList.from_tlv(closed.credential_list)
    except DecodeError as error:
        raise CredentialListRefused(
            f"the registry answered a credential list that does not parse: {error}; nothing "
            "was signed"
        ) from None
    if len(listed.credentials) != closed.enrolled:
        raise CredentialListRefused(
            f"the registry answered {len(listed.credentials)} credentials but reports "
            f"{closed.enrolled} enrolled; nothing was signed"
        )
    return Entry.create(
        kinds.CREDENTIALS, manifest.election_id, closed.credential_list, [authority]
    )


def close_and_post_credentials(
    control: ControlClient, manifest: Manifest, authority: SigningKey
) -> tuple[RegistrationStatus, Receipt]:
    """The credential authority closes registration: close the registry, check and sign the
    list it answers (:func:`credentials_entry`), post the entry and check its receipt offline.
    Running it again after a lost answer is safe: the registry answers the same list, the
    signature is deterministic, and the entry already on the board is answered its receipt."""
    closed = control.close_registration()
    entry = credentials_entry(closed, manifest, authority)
    receipt = control.post(entry.encoded)
    check_receipt(receipt, manifest, entry.encoded)
    return closed, receipt
