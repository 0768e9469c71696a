"""Transport security over real gRPC servers on 127.0.0.1: server-auth TLS on the public
port, mutual TLS with role certificates on the control port, deny by default, and an authz
matrix that walks every method of every evote service in the generated descriptors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from evote.services.auth import (
    METHOD_RULES,
    PUBLIC_MAX_RECEIVE,
    Listener,
    Port,
    add_listener,
    channel_credentials,
    channel_options,
    control_listener,
    new_server,
    public_listener,
)
from evote.services.ca import ElectionCA, LeafCredentials, Role, RoleKind
from evote.wire.v1 import (
    ballot_box_pb2,
    board_pb2,
    board_pb2_grpc,
    control_pb2,
    control_pb2_grpc,
    witness_pb2,
)

TIMEOUT = 5.0
SERVICES: list[ServiceDescriptor] = [
    service
    for module in (board_pb2, ballot_box_pb2, control_pb2, witness_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
]


class FixedBoard(board_pb2_grpc.BoardServicer):
    def GetCheckpoint(
        self, request: board_pb2.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> board_pb2.Checkpoint:
        return board_pb2.Checkpoint(note="fixed checkpoint\n")

    def GetEntries(
        self, request: board_pb2.GetEntriesRequest, context: grpc.ServicerContext
    ) -> board_pb2.Entries:
        return board_pb2.Entries()

    def GetInclusionProof(
        self, request: board_pb2.GetInclusionProofRequest, context: grpc.ServicerContext
    ) -> board_pb2.InclusionProof:
        return board_pb2.InclusionProof()

    def GetConsistencyProof(
        self, request: board_pb2.GetConsistencyProofRequest, context: grpc.ServicerContext
    ) -> board_pb2.ConsistencyProof:
        return board_pb2.ConsistencyProof()

    def GetReceipt(
        self, request: board_pb2.GetReceiptRequest, context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        return board_pb2.Receipt()


class FixedControl(control_pb2_grpc.ControlServicer):
    def Post(
        self, request: control_pb2.PostRequest, context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        return board_pb2.Receipt(leaf_index=7)

    def ImportRoll(
        self, request: control_pb2.ImportRollRequest, context: grpc.ServicerContext
    ) -> control_pb2.RegistrationStatus:
        return control_pb2.RegistrationStatus(eligible=len(request.enrollment_codes))

    def CloseRegistration(
        self, request: control_pb2.Empty, context: grpc.ServicerContext
    ) -> control_pb2.RegistrationStatus:
        return control_pb2.RegistrationStatus(closed=True)

    def AddCosignature(
        self, request: control_pb2.AddCosignatureRequest, context: grpc.ServicerContext
    ) -> board_pb2.Checkpoint:
        return board_pb2.Checkpoint(note=request.line)


def _fixed_handlers(service: ServiceDescriptor) -> grpc.GenericRpcHandler:
    """Every method of ``service`` answering its empty response: a stand-in servicer."""

    def behaviour(output: type[Message]) -> Callable[[Any, grpc.ServicerContext], Message]:
        return lambda request, context: output()

    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        output = _message_class(method.output_type.full_name)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            behaviour(output),
            request_deserializer=_message_class(method.input_type.full_name).FromString,
            response_serializer=output.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


def _message_class(full_name: str) -> type[Message]:
    for module in (board_pb2, ballot_box_pb2, control_pb2, witness_pb2):
        short = full_name.rsplit(".", 1)[-1]
        if short in module.DESCRIPTOR.message_types_by_name:
            cls = getattr(module, short)
            assert isinstance(cls, type)
            assert issubclass(cls, Message)
            return cls
    raise AssertionError(full_name)


def _serve(listener: Listener) -> tuple[grpc.Server, int]:
    server = new_server(listener, max_workers=4)
    board_pb2_grpc.add_BoardServicer_to_server(FixedBoard(), server)
    control_pb2_grpc.add_ControlServicer_to_server(FixedControl(), server)
    # The other services (and every Board/Control method the fixed servicers leave out)
    # are registered too, so that a refusal is the interceptor's, not "method not found".
    server.add_generic_rpc_handlers(
        [_fixed_handlers(s) for s in SERVICES if s.name not in ("Board", "Control")]
    )
    port = add_listener(server, listener, "127.0.0.1:0")
    assert port > 0
    server.start()
    return server, port


@dataclass
class Election:
    ca: ElectionCA
    rogue: ElectionCA
    public_port: int
    control_port: int
    clients: dict[str, LeafCredentials]


ROLES: dict[str, Role] = {
    "voter": Role.voter(),
    "official": Role.official(),
    "guardian": Role.for_guardian(2),
    "witness": Role.for_witness("party-a"),
    "credential-authority": Role.credential_authority(),
    "dealer": Role.dealer(),
    "board": Role.board(),
    "admin": Role.admin(),
}


@pytest.fixture(scope="module")
def election() -> Iterator[Election]:
    ca = ElectionCA.create("evote integration election")
    rogue = ElectionCA.create("evote integration election")  # same name, other key
    server_leaf = ca.issue_server()
    public, public_port = _serve(public_listener(server_leaf))
    control, control_port = _serve(control_listener(server_leaf))
    clients = {name: ca.issue_client(role) for name, role in ROLES.items()}
    try:
        yield Election(ca, rogue, public_port, control_port, clients)
    finally:
        public.stop(None)
        control.stop(None)


def _channel(
    port: int, credentials: grpc.ChannelCredentials, *, retry: bool = True
) -> grpc.Channel:
    options = channel_options(retry=retry)
    return grpc.secure_channel(f"localhost:{port}", credentials, options=options)


def _failing(port: int, credentials: grpc.ChannelCredentials) -> grpc.Channel:
    """A channel whose handshake is expected to fail: no retries, so the test stays fast."""
    return _channel(port, credentials, retry=False)


def _raw_call(channel: grpc.Channel, method: str) -> bytes:
    call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
        method, request_serializer=None, response_deserializer=None
    )
    response = call(b"", timeout=TIMEOUT)
    assert isinstance(response, bytes)
    return response


def _code_of(channel: grpc.Channel, method: str) -> grpc.StatusCode:
    try:
        _raw_call(channel, method)
    except grpc.RpcError as exc:
        code = exc.code()
        assert isinstance(code, grpc.StatusCode)
        return code
    return grpc.StatusCode.OK


def _role_less(ca: ElectionCA) -> LeafCredentials:
    """A valid election-CA client certificate that carries no role."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from evote.services.ca import load_private_key

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nobody")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(load_private_key(ca.key_pem()), hashes.SHA256())
    )
    return LeafCredentials(key, cert, ca.certificate)


# --------------------------------------------------------------------------------------------
# Handshakes


def test_public_port_serves_anyone_over_tls(election: Election) -> None:
    with _channel(election.public_port, channel_credentials(election.ca.certificate_pem)) as ch:
        stub = board_pb2_grpc.BoardStub(ch)
        reply = stub.GetCheckpoint(board_pb2.GetCheckpointRequest(), timeout=TIMEOUT)
        assert reply.note == "fixed checkpoint\n"


@pytest.mark.parametrize("port", [Port.PUBLIC, Port.CONTROL])
def test_a_client_without_the_ca_cannot_connect(election: Election, port: Port) -> None:
    number = election.public_port if port is Port.PUBLIC else election.control_port
    # The system roots (no election CA) and a rogue CA as roots both fail the handshake.
    for creds in (
        grpc.ssl_channel_credentials(),
        channel_credentials(election.rogue.certificate_pem, election.clients["official"]),
    ):
        with _failing(number, creds) as ch:
            assert _code_of(ch, "/evote.wire.v1.Board/GetCheckpoint") is (
                grpc.StatusCode.UNAVAILABLE
            )


def test_control_port_requires_a_client_certificate(election: Election) -> None:
    with _failing(election.control_port, channel_credentials(election.ca.certificate_pem)) as ch:
        assert _code_of(ch, "/evote.wire.v1.Control/Post") is grpc.StatusCode.UNAVAILABLE


def test_a_client_certificate_from_a_rogue_ca_fails_the_handshake(election: Election) -> None:
    forged = election.rogue.issue_client(Role.official())
    creds = channel_credentials(election.ca.certificate_pem, forged)
    with _failing(election.control_port, creds) as ch:
        assert _code_of(ch, "/evote.wire.v1.Control/Post") is grpc.StatusCode.UNAVAILABLE


def test_an_expired_client_certificate_fails_the_handshake() -> None:
    ca = ElectionCA.create("expiry election", not_before=datetime.now(UTC) - timedelta(days=10))
    expired = ca.issue_client(
        Role.official(), lifetime=timedelta(days=1), now=datetime.now(UTC) - timedelta(days=5)
    )
    server, port = _serve(control_listener(ca.issue_server()))
    try:
        with _failing(port, channel_credentials(ca.certificate_pem, expired)) as ch:
            assert _code_of(ch, "/evote.wire.v1.Control/Post") is grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(None)


# --------------------------------------------------------------------------------------------
# Roles


def _control(election: Election, client: LeafCredentials) -> grpc.Channel:
    return _channel(election.control_port, channel_credentials(election.ca.certificate_pem, client))


def test_an_official_may_post(election: Election) -> None:
    with _control(election, election.clients["official"]) as ch:
        receipt = control_pb2_grpc.ControlStub(ch).Post(
            control_pb2.PostRequest(entry=b"signed entry"), timeout=TIMEOUT
        )
        assert receipt.leaf_index == 7


@pytest.mark.parametrize("who", ["voter", "role-less"])
def test_a_voter_or_role_less_client_is_denied_control(
    election: Election, who: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="evote.services.auth")
    client = election.clients["voter"] if who == "voter" else _role_less(election.ca)
    with _control(election, client) as ch:
        stub = control_pb2_grpc.ControlStub(ch)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Post(control_pb2.PostRequest(entry=b"x"), timeout=TIMEOUT)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as refused:
            stub.ImportRoll(control_pb2.ImportRollRequest(), timeout=TIMEOUT)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as refused:
            stub.CloseRegistration(control_pb2.Empty(), timeout=TIMEOUT)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # The denial is logged with the method and role only: no address, no certificate.
    logged = [r.getMessage() for r in caplog.records if r.name == "evote.services.auth"]
    assert any("/evote.wire.v1.Control/Post" in line for line in logged)
    for line in logged:
        assert "127.0.0.1" not in line
        assert "ipv4" not in line
        assert "localhost" not in line
        assert "BEGIN CERTIFICATE" not in line


def test_unknown_methods_are_refused(election: Election) -> None:
    with _control(election, election.clients["admin"]) as ch:
        assert _code_of(ch, "/evote.wire.v1.Control/Nope") is grpc.StatusCode.UNIMPLEMENTED
    with _channel(election.public_port, channel_credentials(election.ca.certificate_pem)) as ch:
        assert _code_of(ch, "/evote.wire.v1.Board/Nope") is grpc.StatusCode.UNIMPLEMENTED


def test_public_port_limits_message_size(election: Election) -> None:
    with _channel(election.public_port, channel_credentials(election.ca.certificate_pem)) as ch:
        cast: grpc.UnaryUnaryMultiCallable[bytes, bytes] = ch.unary_unary(
            "/evote.wire.v1.BallotBox/Cast", request_serializer=None, response_deserializer=None
        )
        big = ballot_box_pb2.CastRequest(entry=b"\0" * (PUBLIC_MAX_RECEIVE + 1))
        with pytest.raises(grpc.RpcError) as refused:
            cast(big.SerializeToString(), timeout=TIMEOUT)
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


# --------------------------------------------------------------------------------------------
# The authz matrix, walked from the generated descriptors


def _methods() -> list[tuple[ServiceDescriptor, MethodDescriptor]]:
    return [(service, method) for service in SERVICES for method in service.methods]


def test_every_method_has_an_authorization_rule() -> None:
    names = {f"/{service.full_name}/{method.name}" for service, method in _methods()}
    assert len(names) >= 13
    missing = sorted(names - METHOD_RULES.keys())
    assert not missing, f"RPCs without an authorization rule: {missing}"
    for service, method in _methods():
        # The interceptor wraps every call kind, but the matrix below calls unary methods.
        assert not method.client_streaming, f"{service.name}/{method.name}"
        assert not method.server_streaming, f"{service.name}/{method.name}"


@pytest.fixture(scope="module")
def channels(election: Election) -> Iterator[dict[str, grpc.Channel]]:
    opened = {name: _control(election, client) for name, client in election.clients.items()}
    opened["role-less"] = _control(election, _role_less(election.ca))
    opened["anonymous@public"] = _channel(
        election.public_port, channel_credentials(election.ca.certificate_pem)
    )
    opened["official@public"] = _channel(
        election.public_port,
        channel_credentials(election.ca.certificate_pem, election.clients["official"]),
    )
    try:
        yield opened
    finally:
        for channel in opened.values():
            channel.close()


@pytest.mark.parametrize(
    "name",
    [f"/{service.full_name}/{method.name}" for service, method in _methods()],
)
def test_authz_matrix(channels: dict[str, grpc.Channel], name: str) -> None:
    rule = METHOD_RULES[name]
    public = channels["anonymous@public"]
    if rule.port is Port.PUBLIC:
        assert rule.roles == frozenset({RoleKind.PUBLIC})
        assert _code_of(public, name) is grpc.StatusCode.OK
        # Served on the public port only: the control port refuses it, whoever calls.
        for who in (*ROLES, "role-less"):
            assert _code_of(channels[who], name) is grpc.StatusCode.UNIMPLEMENTED, who
        return
    # A control method is never served on the public port, not even to a certified client.
    assert _code_of(public, name) is grpc.StatusCode.UNIMPLEMENTED
    assert _code_of(channels["official@public"], name) is grpc.StatusCode.UNIMPLEMENTED
    allowed = [who for who, role in ROLES.items() if role.kind in rule.roles]
    assert allowed, f"{name}: no role may call it"
    for who in (*ROLES, "role-less"):
        expected = grpc.StatusCode.OK if who in allowed else grpc.StatusCode.PERMISSION_DENIED
        assert _code_of(channels[who], name) is expected, who
