"""The registry and the control port over real TLS on free loopback ports: the credential
authority imports the roll and closes registration (the registry answers the list it closed
with; the authority signs it on its own side and posts it, and the board takes only that list),
voters enroll once, officials post open/close with their quorum (not before the credential
list), and enrollment survives restarts."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from evote.board.entry import Entry
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    aggregate,
    encrypted_tally,
    tally_result,
)
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.kinds import CredentialList
from evote.services.auth import channel_credentials, channel_options
from evote.services.ca import ElectionCA, LeafCredentials, Role
from evote.services.server import (
    BALLOT_BOX_SERVICE,
    CA_KEY_FILE,
    SERVER_KEY_FILE,
    ElectionServers,
    serve_election_tls,
    setup_data_dir,
)
from evote.wire.v1 import (
    ballot_box_pb2,
    ballot_box_pb2_grpc,
    board_pb2,
    board_pb2_grpc,
    control_pb2,
    control_pb2_grpc,
)

TIMEOUT = 10.0
CODES = ["alpha-1111", "bravo-2222", "charlie-3333"]


#: A board with the manifest, the key ceremony, the joint key and key checks: no credentials
#: yet, not open.
Setup = StagedElection


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return stage_election(
        tmp_path / "election", "Registry test", [REFERENCE_CONTESTS[0]], voters=0, until="keys"
    )


class Client:
    """Channels to a running pair of servers, with role certificates from the data dir's CA."""

    def __init__(self, servers: ElectionServers, ca: ElectionCA) -> None:
        self.servers = servers
        self.ca = ca
        self._channels: list[grpc.Channel] = []

    def public(self) -> grpc.Channel:
        channel = grpc.secure_channel(
            self.servers.public.address,
            channel_credentials(self.servers.ca_pem),
            options=channel_options(),
        )
        self._channels.append(channel)
        return channel

    def control(self, role: Role) -> control_pb2_grpc.ControlStub:
        leaf: LeafCredentials = self.ca.issue_client(role)
        channel = grpc.secure_channel(
            self.servers.control.address,
            channel_credentials(self.servers.ca_pem, leaf),
            options=channel_options(),
        )
        self._channels.append(channel)
        return control_pb2_grpc.ControlStub(channel)

    def registry(self) -> control_pb2_grpc.RegistryStub:
        return control_pb2_grpc.RegistryStub(self.public())

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


@pytest.fixture
def start(setup: Setup) -> Iterator[Callable[[], Client]]:
    """``start()`` serves the election (again) and returns a client; everything stops after."""
    clients: list[Client] = []

    def started() -> Client:
        for client in clients:
            client.close()
            client.servers.stop(None)
        clients.clear()
        servers = serve_election_tls(setup.data_dir, setup.log_key)
        client = Client(servers, setup_data_dir(setup.data_dir))
        clients.append(client)
        return client

    yield started
    for client in clients:
        client.close()
        client.servers.stop(None)


def code_of(call: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    code: grpc.StatusCode = call.value.code()
    return code


def status(
    registry: control_pb2_grpc.RegistryStub,
) -> tuple[int, int, bool]:
    answer = registry.Status(control_pb2.Empty(), timeout=TIMEOUT)
    return answer.eligible, answer.enrolled, answer.closed


def board_entries(channel: grpc.Channel) -> list[Entry]:
    board = board_pb2_grpc.BoardStub(channel)
    page = board.GetEntries(board_pb2.GetEntriesRequest(start=0), timeout=TIMEOUT)
    return [Entry.decode(data) for data in page.entries]


def ballot_box_health(channel: grpc.Channel) -> int:
    answer = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=BALLOT_BOX_SERVICE), timeout=TIMEOUT
    )
    return int(answer.status)


def test_registration_to_casting(setup: Setup, start: Callable[[], Client]) -> None:
    client = start()
    authority = client.control(Role.credential_authority())
    official = client.control(Role.official())
    registry = client.registry()
    voters = [SigningKey.generate() for _ in range(3)]

    # The data dir's keys are private.
    for name in (CA_KEY_FILE, SERVER_KEY_FILE):
        assert stat.S_IMODE(os.stat(setup.data_dir / name).st_mode) == 0o600

    # Only the credential authority imports the roll; codes are stored hashed.
    with pytest.raises(grpc.RpcError) as denied:
        official.ImportRoll(control_pb2.ImportRollRequest(enrollment_codes=CODES), timeout=TIMEOUT)
    assert code_of(denied) == grpc.StatusCode.PERMISSION_DENIED
    imported = authority.ImportRoll(
        control_pb2.ImportRollRequest(enrollment_codes=CODES), timeout=TIMEOUT
    )
    assert (imported.eligible, imported.enrolled, imported.closed) == (3, 0, False)
    stored = (setup.data_dir / "registry.sqlite3").read_bytes()
    assert all(code.encode() not in stored for code in CODES)

    def enroll(code: str, voter: SigningKey) -> control_pb2.RegistrationStatus:
        request = control_pb2.EnrollRequest(
            enrollment_code=code, credential=voter.verify_key.encode()
        )
        return registry.Enroll(request, timeout=TIMEOUT)

    assert enroll(CODES[0], voters[0]).enrolled == 1
    assert enroll(CODES[0], voters[0]).enrolled == 1  # a retry of the same enrollment
    with pytest.raises(grpc.RpcError) as reused:
        enroll(CODES[0], voters[1])
    assert code_of(reused) == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as taken:
        enroll(CODES[1], voters[0])
    assert code_of(taken) == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as unknown:
        enroll("not-a-code", voters[1])
    assert code_of(unknown) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as malformed:
        registry.Enroll(
            control_pb2.EnrollRequest(enrollment_code=CODES[1], credential=b"short"),
            timeout=TIMEOUT,
        )
    assert code_of(malformed) == grpc.StatusCode.INVALID_ARGUMENT
    assert enroll(CODES[1], voters[1]).enrolled == 2

    # A restart keeps the roll and the enrollments.
    client = start()
    authority = client.control(Role.credential_authority())
    official = client.control(Role.official())
    guardian = client.control(Role.for_guardian(1))
    registry = client.registry()
    public = client.public()
    assert status(registry) == (3, 2, False)

    def post(stub: control_pb2_grpc.ControlStub, entry: bytes) -> board_pb2.Receipt:
        return stub.Post(control_pb2.PostRequest(entry=entry), timeout=TIMEOUT)

    expected = sorted(v.verify_key.encode() for v in voters[:2])
    enrolled = sorted((v.verify_key for v in voters[:2]), key=lambda key: key.encode())
    signed = setup.entry(
        kinds.CREDENTIALS, CredentialList(tuple(enrolled)).to_tlv(), [setup.authority]
    )
    # Neither the list nor the opening goes on the board while registration is open.
    with pytest.raises(grpc.RpcError) as still_open:
        post(authority, signed)
    assert code_of(still_open) == grpc.StatusCode.FAILED_PRECONDITION
    assert "still open" in str(still_open.value.details())
    with pytest.raises(grpc.RpcError) as too_early:
        post(official, setup.mark("open", setup.officials))
    assert code_of(too_early) == grpc.StatusCode.FAILED_PRECONDITION
    assert "close registration first" in str(too_early.value.details())

    # Closing touches only the registry and answers the list it closed with.
    closed = authority.CloseRegistration(control_pb2.Empty(), timeout=TIMEOUT)
    assert (closed.eligible, closed.enrolled, closed.closed) == (3, 2, True)
    assert [k.encode() for k in CredentialList.from_tlv(closed.credential_list).credentials] == (
        expected
    )
    again = authority.CloseRegistration(control_pb2.Empty(), timeout=TIMEOUT)  # idempotent
    assert again.closed
    assert again.credential_list == closed.credential_list
    assert not [e for e in board_entries(public) if e.kind == kinds.CREDENTIALS]
    with pytest.raises(grpc.RpcError) as late:
        enroll(CODES[2], voters[2])
    assert code_of(late) == grpc.StatusCode.FAILED_PRECONDITION

    # The board takes only the list the registry closed with, signed by the authority alone.
    padded = CredentialList(
        tuple(sorted((v.verify_key for v in voters), key=lambda key: key.encode()))
    ).to_tlv()
    with pytest.raises(grpc.RpcError) as stuffed:
        post(authority, setup.entry(kinds.CREDENTIALS, padded, [setup.authority]))
    assert code_of(stuffed) == grpc.StatusCode.FAILED_PRECONDITION
    assert "not the one the registry closed with" in str(stuffed.value.details())
    with pytest.raises(grpc.RpcError) as unsigned:
        post(authority, setup.entry(kinds.CREDENTIALS, closed.credential_list, [voters[0]]))
    assert code_of(unsigned) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as not_authority:
        post(official, signed)
    assert code_of(not_authority) == grpc.StatusCode.PERMISSION_DENIED
    receipt = post(authority, signed)
    assert receipt.tracking_code == Entry.decode(signed).tracking_code
    assert post(authority, signed).leaf_index == receipt.leaf_index  # a retry: its receipt

    # The credential list is on the board, signed by the authority, sorted, just once.
    listed = [e for e in board_entries(public) if e.kind == kinds.CREDENTIALS]
    assert len(listed) == 1
    listed[0].verify_signatures()
    assert listed[0].signers == (setup.manifest.credential_authority,)
    assert [k.encode() for k in CredentialList.from_tlv(listed[0].body).credentials] == expected

    # Opening: only officials, only with their quorum and nobody else's keys.
    good_open = setup.mark("open", setup.officials)
    with pytest.raises(grpc.RpcError) as wrong_role:
        guardian.Post(control_pb2.PostRequest(entry=good_open), timeout=TIMEOUT)
    assert code_of(wrong_role) == grpc.StatusCode.PERMISSION_DENIED
    for signers in (
        setup.officials[:1],
        [setup.officials[0], setup.authority],
        [*setup.officials, setup.guardians[0]],
        [setup.guardians[0], setup.guardians[1]],
    ):
        with pytest.raises(grpc.RpcError) as wrong_keys:
            official.Post(
                control_pb2.PostRequest(entry=setup.mark("open", signers)), timeout=TIMEOUT
            )
        assert code_of(wrong_keys) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as early_close:
        official.Post(
            control_pb2.PostRequest(entry=setup.mark("close", setup.officials)), timeout=TIMEOUT
        )
    assert code_of(early_close) == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as no_guardian_post:
        official.Post(
            control_pb2.PostRequest(
                entry=setup.entry(kinds.KEY_CHECK, b"\x00", [setup.officials[0]])
            ),
            timeout=TIMEOUT,
        )
    assert code_of(no_guardian_post) == grpc.StatusCode.PERMISSION_DENIED

    assert ballot_box_health(public) == health_pb2.HealthCheckResponse.NOT_SERVING
    receipt = official.Post(control_pb2.PostRequest(entry=good_open), timeout=TIMEOUT)
    assert receipt.tracking_code == Entry.decode(good_open).tracking_code
    assert ballot_box_health(public) == health_pb2.HealthCheckResponse.SERVING
    retried = official.Post(control_pb2.PostRequest(entry=good_open), timeout=TIMEOUT)
    assert retried.leaf_index == receipt.leaf_index

    # An enrolled credential casts; one that never enrolled is refused.
    box = ballot_box_pb2_grpc.BallotBoxStub(public)
    ballot = setup.ballot_by(voters[0])
    cast = box.Cast(ballot_box_pb2.CastRequest(entry=ballot), timeout=TIMEOUT)
    assert cast.tracking_code == Entry.decode(ballot).tracking_code
    with pytest.raises(grpc.RpcError) as stranger:
        box.Cast(ballot_box_pb2.CastRequest(entry=setup.ballot_by(voters[2])), timeout=TIMEOUT)
    assert code_of(stranger) == grpc.StatusCode.INVALID_ARGUMENT

    # After another restart: the same counts, the box still open, then closed by officials.
    client = start()
    official = client.control(Role.official())
    public = client.public()
    assert status(client.registry()) == (3, 2, True)
    assert ballot_box_health(public) == health_pb2.HealthCheckResponse.SERVING
    official.Post(
        control_pb2.PostRequest(entry=setup.mark("close", setup.officials)), timeout=TIMEOUT
    )
    assert ballot_box_health(public) == health_pb2.HealthCheckResponse.NOT_SERVING


def test_control_needs_a_client_certificate(setup: Setup, start: Callable[[], Client]) -> None:
    client = start()
    channel = grpc.secure_channel(
        client.servers.control.address,
        channel_credentials(client.servers.ca_pem),
        options=channel_options(retry=False),
    )
    try:
        with pytest.raises(grpc.RpcError) as refused:
            control_pb2_grpc.ControlStub(channel).CloseRegistration(
                control_pb2.Empty(), timeout=TIMEOUT
            )
        assert code_of(refused) == grpc.StatusCode.UNAVAILABLE
    finally:
        channel.close()
    # The registry is not on the control port, nor Control on the public port.
    with pytest.raises(grpc.RpcError) as elsewhere:
        control_pb2_grpc.ControlStub(client.public()).CloseRegistration(
            control_pb2.Empty(), timeout=TIMEOUT
        )
    assert code_of(elsewhere) == grpc.StatusCode.UNIMPLEMENTED


def test_guardian_posts_only_its_own_entries(setup: Setup, start: Callable[[], Client]) -> None:
    client = start()
    guardian = client.control(Role.for_guardian(2))
    body = b"\x00"  # the signer check comes before the body is read
    with pytest.raises(grpc.RpcError) as other:
        guardian.Post(
            control_pb2.PostRequest(entry=setup.entry(kinds.KEY_CHECK, body, [setup.guardians[0]])),
            timeout=TIMEOUT,
        )
    assert code_of(other) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as credentials:
        guardian.Post(
            control_pb2.PostRequest(
                entry=setup.entry(kinds.CREDENTIALS, body, [setup.guardians[1]])
            ),
            timeout=TIMEOUT,
        )
    assert code_of(credentials) == grpc.StatusCode.PERMISSION_DENIED


def test_the_tally_shares_and_result_each_have_one_place(tmp_path: Path) -> None:
    """Out-of-place tally, share and result entries are refused before they reach the board:
    each would spoil the record for good."""
    staged = stage_election(tmp_path / "election", "Tally test", [REFERENCE_CONTESTS[0]], voters=2)
    servers = serve_election_tls(staged.data_dir, staged.log_key)
    client = Client(servers, setup_data_dir(staged.data_dir))
    try:
        official = client.control(Role.official())
        guardians = [client.control(Role.for_guardian(i)) for i in (1, 2, 3)]
        box = ballot_box_pb2_grpc.BallotBoxStub(client.public())
        box.Cast(ballot_box_pb2.CastRequest(entry=staged.ballot(0)), timeout=TIMEOUT)
        manifest, context = staged.manifest, staged.context
        tally = encrypted_tally(manifest, {})  # the index of the cast ballot does not matter here
        tally_entry = staged.entry(kinds.TALLY, tally.to_tlv(), staged.officials)

        def refused(stub: control_pb2_grpc.ControlStub, entry: bytes) -> grpc.StatusCode:
            with pytest.raises(grpc.RpcError) as call:
                stub.Post(control_pb2.PostRequest(entry=entry), timeout=TIMEOUT)
            return code_of(call)

        def shares_of(guardian: int, totals: EncryptedTally) -> bytes:
            shares = staged.trustees[guardian - 1].decrypt_tally(context, totals.totals)
            return staged.entry(
                kinds.DECRYPTION_SHARE, shares.to_tlv(), [staged.guardians[guardian - 1]]
            )

        precondition = grpc.StatusCode.FAILED_PRECONDITION
        assert refused(official, tally_entry) == precondition  # still open
        official.Post(control_pb2.PostRequest(entry=staged.mark("close", staged.officials)))
        assert refused(guardians[0], shares_of(1, tally)) == precondition  # no tally yet
        official.Post(control_pb2.PostRequest(entry=tally_entry), timeout=TIMEOUT)
        other = EncryptedTally((7,), tally.totals)
        assert refused(official, staged.entry(kinds.TALLY, other.to_tlv(), staged.officials)) == (
            precondition
        )
        # Shares of another aggregate do not verify against the posted tally.
        ballot = EncryptedBallot.from_tlv(Entry.decode(staged.ballot(1)).body, manifest)
        bogus = EncryptedTally((), aggregate(manifest, [ballot]))
        assert refused(guardians[0], shares_of(1, bogus)) == grpc.StatusCode.INVALID_ARGUMENT
        shares = {}
        for guardian in (1, 2):
            entry = shares_of(guardian, tally)
            guardians[guardian - 1].Post(control_pb2.PostRequest(entry=entry), timeout=TIMEOUT)
            shares[guardian] = GuardianShares.from_tlv(Entry.decode(entry).body, manifest)
        # The same shares again are a retry (answered with their receipt); other shares from a
        # guardian who already answered are refused.
        guardians[0].Post(control_pb2.PostRequest(entry=shares_of(1, tally)), timeout=TIMEOUT)
        assert refused(guardians[0], shares_of(1, bogus)) == precondition
        outcome = tally_result(manifest, tally, shares, registered=2)
        result_entry = staged.entry(kinds.RESULT, outcome.to_tlv(), staged.officials)
        official.Post(control_pb2.PostRequest(entry=result_entry), timeout=TIMEOUT)
        assert refused(guardians[2], shares_of(3, tally)) == precondition  # after the result
    finally:
        client.close()
        servers.stop(None)
