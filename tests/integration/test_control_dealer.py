"""Scheme B's dealer ceremony on the control port, over real TLS: the dealer role posts its key
(co-signed by an official quorum) and the sealed shares, each guardian its key check, each in
its one place; out of order, twice, from the wrong role or with the wrong signers, an entry is
refused and the board does not change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from evote.board.entry import Entry
from evote.ceremony.dealer import Dealing, KeyHolder, deal_shares
from evote.ceremony.messages import JointKey, SealedKeyShare, TransportKey
from evote.crypto.group import BASE
from evote.crypto.sealing import TransportPrivateKey
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.mock.election import mock_manifest
from evote.mock.staging import stage_election
from evote.record import kinds
from evote.record.ballot_station import BallotStation
from evote.services.auth import channel_credentials, channel_options
from evote.services.ca import ElectionCA, Role
from evote.services.server import ElectionServers, serve_election_tls, setup_data_dir
from evote.services.setup import create_election_dir
from evote.wire.v1 import control_pb2, control_pb2_grpc

TIMEOUT = 20.0
REFERENDUM = {"id": "referendum", "kind": "referendum", "title": "Build a library", "max_marks": 1}


@dataclass
class Parties:
    """A scheme B election's parties, the guardians' key holders and one dealing of the key."""

    manifest: Manifest
    officials: tuple[SigningKey, ...]
    authority: SigningKey
    guardians: tuple[SigningKey, ...]
    log_key: SigningKey
    dealer: SigningKey
    holders: tuple[KeyHolder, ...]
    dealing: Dealing
    context: ElectionContext

    def entry(self, kind: str, body: bytes, signers: list[SigningKey]) -> bytes:
        return Entry.create(kind, self.manifest.election_id, body, signers).encoded

    def transport(self, guardian: int, *, fresh: bool = False) -> bytes:
        """Guardian ``guardian``'s transport key entry (``fresh``: another key than the one
        the dealer sealed to)."""
        key = self.holders[guardian - 1].transport_key()
        if fresh:
            key = TransportKey(guardian, TransportPrivateKey.generate().public_key)
        body = key.to_tlv()
        return self.entry(kinds.CEREMONY_TRANSPORT, body, [self.guardians[guardian - 1]])

    def key(self, officials: list[SigningKey]) -> bytes:
        body = self.dealing.dealt.to_tlv()
        return self.entry(kinds.PAILLIER_KEY, body, [self.dealer, *officials])

    def share(self, guardian: int, signers: list[SigningKey] | None = None) -> bytes:
        body = self.dealing.sealed_for(guardian).to_tlv()
        return self.entry(kinds.PAILLIER_SHARE, body, signers or [self.dealer])

    def key_check(self, guardian: int, signer: int | None = None) -> bytes:
        """Guardian ``guardian``'s key check (a fresh proof each call), signed by ``signer``."""
        check = self.holders[guardian - 1].key_check(self.context)
        body = check.to_tlv(self.context.paillier_key)
        return self.entry(
            kinds.PAILLIER_KEY_CHECK, body, [self.guardians[(signer or guardian) - 1]]
        )


@pytest.fixture(scope="module")
def parties() -> Parties:
    officials = tuple(SigningKey.generate() for _ in range(3))
    authority = SigningKey.generate()
    guardians = tuple(SigningKey.generate() for _ in range(3))
    log_key = SigningKey.generate()
    dealer = SigningKey.generate()
    manifest = mock_manifest(
        "Dealer on the control port",
        [REFERENDUM],
        officials=officials,
        official_quorum=2,
        authority=authority,
        guardians=guardians,
        guardian_quorum=2,
        log_key=log_key,
        witnesses=[("witness-a", SigningKey.generate())],
        witness_quorum=1,
        dealer=dealer,
    )
    holders = tuple(KeyHolder(manifest, index) for index in range(1, 4))
    dealing = deal_shares(manifest, {h.index: h.transport_key() for h in holders})
    contexts = [h.accept(dealing.dealt, dealing.sealed_for(h.index)) for h in holders]
    return Parties(
        manifest,
        officials,
        authority,
        guardians,
        log_key,
        dealer,
        holders,
        dealing,
        contexts[0],
    )


@dataclass
class Served:
    servers: ElectionServers
    ca: ElectionCA
    channels: list[grpc.Channel]

    def control(self, role: Role) -> control_pb2_grpc.ControlStub:
        channel = grpc.secure_channel(
            self.servers.control.address,
            channel_credentials(self.servers.ca_pem, self.ca.issue_client(role)),
            options=channel_options(),
        )
        self.channels.append(channel)
        return control_pb2_grpc.ControlStub(channel)

    def size(self) -> int:
        return self.servers.board.size


@contextmanager
def _serve(data_dir: Path, log_key: SigningKey, authority: SigningKey) -> Iterator[Served]:
    servers = serve_election_tls(data_dir, log_key, proof_workers=0)
    served = Served(servers, setup_data_dir(data_dir), [])
    try:
        yield served
    finally:
        for channel in served.channels:
            channel.close()
        servers.stop(None)


@pytest.fixture
def served(parties: Parties, tmp_path: Path) -> Iterator[Served]:
    """A fresh scheme B data dir (the signed manifest as entry 0) served over TLS."""
    first = parties.entry(kinds.MANIFEST, parties.manifest.to_tlv(), list(parties.officials[:2]))
    create_election_dir(tmp_path, first, parties.log_key)
    with _serve(tmp_path, parties.log_key, parties.authority) as running:
        yield running


def post(stub: control_pb2_grpc.ControlStub, entry: bytes) -> int:
    receipt = stub.Post(control_pb2.PostRequest(entry=entry), timeout=TIMEOUT)
    index: int = receipt.leaf_index
    return index


def refused(
    served: Served, stub: control_pb2_grpc.ControlStub, entry: bytes, match: str
) -> grpc.StatusCode:
    """Post ``entry``, expect a refusal whose details contain ``match``, and check the board
    did not change: the status code."""
    before = served.size()
    with pytest.raises(grpc.RpcError) as caught:
        post(stub, entry)
    details = caught.value.details() or ""
    assert match in details, details
    assert served.size() == before
    code: grpc.StatusCode = caught.value.code()
    return code


PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED


def test_the_dealer_ceremony_has_one_place(parties: Parties, served: Served) -> None:
    dealer = served.control(Role.dealer())
    official = served.control(Role.official())
    guardian = {i: served.control(Role.for_guardian(i)) for i in (1, 2, 3)}
    authority = served.control(Role.credential_authority())
    quorum = list(parties.officials[:2])

    # The key comes after every guardian's transport key.
    assert refused(served, dealer, parties.key(quorum), "posted no transport key") == PRECONDITION
    for i in (1, 2, 3):
        post(guardian[i], parties.transport(i))
    # Shares and key checks come after the key.
    assert refused(served, dealer, parties.share(1), "needs the dealer's key") == PRECONDITION
    assert (
        refused(served, guardian[1], parties.key_check(1), "needs the dealer's key") == PRECONDITION
    )

    # The key: the dealer and an official quorum, nobody else, posted by the dealer or an
    # official; only the dealer's key signs the shares, and only the dealer posts them.
    assert refused(served, dealer, parties.key([]), "needs 2 officials' signatures") == INVALID
    assert refused(served, dealer, parties.key(quorum[:1]), "needs 2 officials'") == INVALID
    without_dealer = parties.entry(kinds.PAILLIER_KEY, parties.dealing.dealt.to_tlv(), quorum)
    assert refused(served, dealer, without_dealer, "needs the dealer's signature") == INVALID
    strangers = parties.key([*quorum, parties.guardians[0]])
    assert refused(served, dealer, strangers, "not the manifest's") == INVALID
    assert refused(served, guardian[1], parties.key(quorum), "may not post") == DENIED
    assert refused(served, authority, parties.key(quorum), "may not post") == DENIED
    key_at = post(dealer, parties.key(quorum))
    assert post(official, parties.key(quorum)) == key_at  # the same bytes: its receipt again
    other_quorum = parties.key(list(parties.officials[1:]))
    assert refused(served, official, other_quorum, "already on the board") == PRECONDITION
    assert refused(
        served, guardian[1], parties.transport(1, fresh=True), "every transport key comes before"
    ) == (PRECONDITION)

    assert refused(served, official, parties.share(1), "may not post") == DENIED
    assert refused(served, guardian[1], parties.share(1), "may not post") == DENIED
    with_official = parties.share(1, [parties.dealer, parties.officials[0]])
    assert refused(served, dealer, with_official, "the dealer's key only") == INVALID
    post(dealer, parties.share(1))
    # One share per guardian; key checks wait for every share.
    again = SealedKeyShare(1, parties.dealing.sealed_for(2).sealed).to_tlv()
    second = parties.entry(kinds.PAILLIER_SHARE, again, [parties.dealer])
    assert refused(served, dealer, second, "already posted") == PRECONDITION
    nobody = SealedKeyShare(4, b"sealed").to_tlv()
    stranger = parties.entry(kinds.PAILLIER_SHARE, nobody, [parties.dealer])
    assert refused(served, dealer, stranger, "guardians 1 to 3") == INVALID
    assert refused(served, guardian[1], parties.key_check(1), "after every share") == PRECONDITION
    post(dealer, parties.share(2))
    post(dealer, parties.share(3))

    # A key check: guardian i alone, about itself, once, its proof verifying.
    assert refused(served, dealer, parties.key_check(1), "may not post") == DENIED
    other = parties.key_check(1, signer=2)
    assert refused(served, guardian[2], other, "signed by another one") == INVALID
    assert refused(served, guardian[1], other, "identity key only") == INVALID
    post(guardian[1], parties.key_check(1))
    assert refused(served, guardian[1], parties.key_check(1), "already posted") == PRECONDITION
    post(guardian[2], parties.key_check(2))
    # The ballot box derived the context from the posted key, and derives it again on replay.
    station = served.servers.public.station
    assert station is not None
    assert station.context is not None
    assert station.context.extended_hash == parties.context.extended_hash
    replayed = BallotStation(served.servers.board).context
    assert replayed is not None
    assert replayed.extended_hash == parties.context.extended_hash

    # Once the credential list is on the board, the dealer's ceremony is over.
    authority_stub = served.control(Role.credential_authority())
    authority_stub.ImportRoll(
        control_pb2.ImportRollRequest(enrollment_codes=["code-1"]), timeout=TIMEOUT
    )
    closed = authority_stub.CloseRegistration(control_pb2.Empty(), timeout=TIMEOUT)
    listed = Entry.create(
        kinds.CREDENTIALS, parties.manifest.election_id, closed.credential_list, [parties.authority]
    )
    authority_stub.Post(control_pb2.PostRequest(entry=listed.encoded), timeout=TIMEOUT)
    assert refused(served, guardian[3], parties.key_check(3), "ceremony") == PRECONDITION


def test_a_key_that_does_not_fit_the_manifest_is_refused(parties: Parties, served: Served) -> None:
    dealer = served.control(Role.dealer())
    for i in (1, 2, 3):
        post(served.control(Role.for_guardian(i)), parties.transport(i))
    dealt = parties.dealing.dealt
    elsewhere = type(dealt)(bytes(32), dealt.transport, dealt.key)
    body = elsewhere.to_tlv()
    entry = parties.entry(kinds.PAILLIER_KEY, body, [parties.dealer, *parties.officials[:2]])
    assert refused(served, dealer, entry, "another election") == INVALID


def test_each_board_takes_only_its_schemes_kinds(parties: Parties, served: Served) -> None:
    """A scheme B board refuses scheme A's joint key; a scheme A board the dealer's kinds."""
    joint = JointKey(BASE, bytes(32), (BASE, BASE, BASE)).to_tlv()
    entry = parties.entry(kinds.JOINT_KEY, joint, [*parties.officials[:2], *parties.guardians])
    assert refused(served, served.control(Role.official()), entry, "not declared") == INVALID


def test_a_scheme_a_board_refuses_the_dealer(tmp_path: Path) -> None:
    staged = stage_election(tmp_path / "a", "Scheme A", [REFERENDUM], voters=0, until="keys")
    share = SealedKeyShare(1, b"sealed").to_tlv()
    entry = Entry.create(
        kinds.PAILLIER_SHARE, staged.manifest.election_id, share, [SigningKey.generate()]
    ).encoded
    with _serve(staged.data_dir, staged.log_key, staged.authority) as served:
        assert refused(served, served.control(Role.dealer()), entry, "not declared") == INVALID
