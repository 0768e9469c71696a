"""Who may call which RPC, on which port: one table, an interceptor that denies by default,
and the TLS credentials and limits of the two listeners.

Design: ``board-services-storage.md`` §2.2-§2.6, §2.8.

* **Public port:** TLS with server authentication only. Everything on it is for anyone:
  the board's reads, ``BallotBox.Cast``/``Audit`` (a ballot is authenticated by its credential
  signature, never by transport identity) and the registry (the one-time enrolment code is
  the secret), plus health.
* **Control port:** mutual TLS; the client certificate must come from the election CA and
  carry a role (:mod:`evote.services.ca`). Officials, guardians and the credential authority
  post their signed entries; the credential authority imports the roll and closes
  registration; the board's sequencer pushes checkpoints to a witness; reflection is for
  admins.

:data:`METHOD_RULES` is the one table. An RPC missing from it is refused (UNIMPLEMENTED, as
gRPC answers an unknown method), so is an RPC served on a port its rule does not name, and a
caller whose verified role the rule does not allow gets PERMISSION_DENIED (UNAUTHENTICATED
when the caller has no valid certificate at all).

Sync interceptors see only the method name, not the peer: :class:`AuthorizationInterceptor`
therefore wraps the handler and checks ``context.auth_context()`` when the call runs. The
wrapper also answers a request that is not a valid protobuf message of its type with
INVALID_ARGUMENT (after the role check): gRPC alone answers INTERNAL, the code of a server bug.

Logs name the method, the role and the outcome only: never the peer's address, a
certificate, a credential, an enrolment code or a tracking code.

The composition root uses :func:`public_listener` / :func:`control_listener`, then
:func:`new_server` and :func:`add_listener` (or takes the credentials, interceptors and
options from the :class:`Listener` and builds the server itself).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

import grpc
from cryptography import x509
from google.protobuf.message import DecodeError as ProtobufDecodeError

from evote.errors import TransportSecurityError
from evote.services.ca import (
    LeafCredentials,
    Role,
    RoleKind,
    load_certificate,
    peer_certificate,
    verify_client_certificate,
)

log = logging.getLogger(__name__)

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


class Port(StrEnum):
    """The two listeners of an evote server (§2.2)."""

    PUBLIC = "public"
    CONTROL = "control"


@dataclass(frozen=True, slots=True)
class MethodRule:
    """Where an RPC is served and which role kinds may call it (``PUBLIC``: anyone)."""

    port: Port
    roles: frozenset[RoleKind]

    def __post_init__(self) -> None:
        if not self.roles:
            raise TransportSecurityError("a method rule must allow at least one role")
        if RoleKind.PUBLIC in self.roles and len(self.roles) > 1:
            raise TransportSecurityError("a public method needs no other role")

    @property
    def is_public(self) -> bool:
        return RoleKind.PUBLIC in self.roles

    def allows(self, role: Role | None) -> bool:
        """Whether a caller with ``role`` (``None``: no certified role) may call."""
        return self.is_public or (role is not None and role.kind in self.roles)


def _rule(port: Port, *roles: RoleKind) -> MethodRule:
    return MethodRule(port, frozenset(roles))


_ANYONE = _rule(Port.PUBLIC, RoleKind.PUBLIC)
_BOARD = "/evote.wire.v1.Board/"
_BALLOT_BOX = "/evote.wire.v1.BallotBox/"
_REGISTRY = "/evote.wire.v1.Registry/"
_CONTROL = "/evote.wire.v1.Control/"
_WITNESS = "/evote.wire.v1.Witness/"
_HEALTH = "/grpc.health.v1.Health/"
_REFLECTION_V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/"
_REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/"

METHOD_RULES: Final[Mapping[str, MethodRule]] = {
    # Public port: the board is public data; observers verify it without trusting transport.
    _BOARD + "GetCheckpoint": _ANYONE,
    _BOARD + "GetEntries": _ANYONE,
    _BOARD + "GetInclusionProof": _ANYONE,
    _BOARD + "GetConsistencyProof": _ANYONE,
    _BOARD + "GetReceipt": _ANYONE,
    # Ballots are authenticated by the voter's credential signature, not by who connects.
    _BALLOT_BOX + "Cast": _ANYONE,
    _BALLOT_BOX + "Audit": _ANYONE,
    # The one-time enrolment code in the request is the voter's secret.
    _REGISTRY + "Enroll": _ANYONE,
    _REGISTRY + "Status": _ANYONE,
    _HEALTH + "Check": _ANYONE,
    _HEALTH + "Watch": _ANYONE,
    _HEALTH + "List": _ANYONE,
    # Control port: the server further checks each entry's kind and signatures against the
    # caller's role and the election's rules.
    _CONTROL + "Post": _rule(
        Port.CONTROL,
        RoleKind.OFFICIAL,
        RoleKind.GUARDIAN,
        RoleKind.CREDENTIAL_AUTHORITY,
        RoleKind.DEALER,
    ),
    _CONTROL + "ImportRoll": _rule(Port.CONTROL, RoleKind.CREDENTIAL_AUTHORITY),
    _CONTROL + "CloseRegistration": _rule(Port.CONTROL, RoleKind.CREDENTIAL_AUTHORITY),
    _CONTROL + "AddCosignature": _rule(Port.CONTROL, RoleKind.WITNESS),
    # Served by a witness operator's server; the caller is the log (C2SP tlog-witness). The
    # witness checks the log's signature and consistency itself; mTLS keeps strangers out.
    _WITNESS + "AddCheckpoint": _rule(Port.CONTROL, RoleKind.BOARD),
    # Reflection only on admin/dev servers (§2.7).
    _REFLECTION_V1ALPHA + "ServerReflectionInfo": _rule(Port.CONTROL, RoleKind.ADMIN),
    _REFLECTION_V1 + "ServerReflectionInfo": _rule(Port.CONTROL, RoleKind.ADMIN),
}
"""Every RPC evote serves → its port and allowed roles. Not in the table: refused."""

HEALTH_METHODS: Final[frozenset[str]] = frozenset(m for m in METHOD_RULES if m.startswith(_HEALTH))
"""Health answers on every port, so that both listeners can be probed."""


# ---------------------------------------------------------------------------------------------
# The interceptor


class AuthorizationInterceptor(grpc.ServerInterceptor):
    """Deny by default: serve a method only if :data:`METHOD_RULES` names it for one of
    ``ports`` and the caller's role is allowed.

    Give one interceptor per server. A server listening only on the control port passes
    ``ports={Port.CONTROL}`` (then a public method registered on it by mistake is refused, and
    vice versa). A server that listens on both ports passes both: a role is only ever read
    from a client certificate the election CA issued, and the public port never asks for
    one, so control methods stay out of reach there.

    ``clock`` gives the time for the certificate re-check (tests pin it).
    """

    def __init__(
        self,
        ca_certificate: x509.Certificate | bytes,
        ports: Iterable[Port] = (Port.PUBLIC, Port.CONTROL),
        *,
        rules: Mapping[str, MethodRule] = METHOD_RULES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._ca = (
            ca_certificate
            if isinstance(ca_certificate, x509.Certificate)
            else load_certificate(ca_certificate)
        )
        self._ports = frozenset(ports)
        if not self._ports:
            raise TransportSecurityError("an interceptor must serve at least one port")
        self._rules = rules
        self._clock = clock

    def _rule(self, method: str) -> MethodRule | None:
        rule = self._rules.get(method)
        if rule is None:
            return None
        if rule.port in self._ports or method in HEALTH_METHODS:
            return rule
        return None

    def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], grpc.RpcMethodHandler[_Req, _Resp] | None
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        method = handler_call_details.method
        handler = continuation(handler_call_details)
        if handler is None:
            return None  # gRPC answers UNIMPLEMENTED
        rule = self._rule(method)
        if rule is None:
            log.warning("refused %s: not served on this port (not in the method table)", method)
            return _wrap(handler, _refuse_unimplemented)
        if rule.is_public:
            return _wrap(handler, _anyone)  # no role check; requests still must decode
        return _wrap(handler, self._checker(method, rule))

    def _checker(self, method: str, rule: MethodRule) -> Callable[[grpc.ServicerContext], None]:
        def check(context: grpc.ServicerContext) -> None:
            now = self._clock() if self._clock is not None else None
            try:
                certificate = peer_certificate(context.auth_context())
            except TransportSecurityError:
                log.warning("refused %s: no client certificate", method)
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "a client certificate is required")
            try:
                role = verify_client_certificate(certificate, self._ca, now=now)
            except TransportSecurityError:
                log.warning("refused %s: client certificate not valid for this election", method)
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "client certificate not valid for this election",
                )
            if not rule.allows(role):
                log.warning("refused %s: role %s not allowed", method, role or "none")
                context.abort(
                    grpc.StatusCode.PERMISSION_DENIED, "this role may not call this method"
                )

        return check


def _refuse_unimplemented(context: grpc.ServicerContext) -> None:
    context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")


def _anyone(context: grpc.ServicerContext) -> None:
    """A public method: every caller may call it."""


class _Undecodable:
    """What a request that is not a valid protobuf message of its type decodes to.

    gRPC answers a request its deserializer cannot parse with INTERNAL, the code of a server
    bug, which tells a client nothing and would hide real bugs among hostile inputs. The
    wrapped handler answers INVALID_ARGUMENT instead, after the role check (so a caller who
    may not call the method learns nothing about its request format).
    """

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def refuse(self, context: grpc.ServicerContext) -> None:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request is not a valid {self.type_name} message (protobuf)",
        )


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer``, answering :class:`_Undecodable` instead of raising on bad bytes."""
    if deserializer is None:
        return None
    request_type = getattr(deserializer, "__self__", None)
    descriptor = getattr(request_type, "DESCRIPTOR", None)
    type_name = str(getattr(descriptor, "full_name", "request"))
    parse = deserializer

    def tolerant(data: bytes) -> Any:
        try:
            return parse(data)
        except ProtobufDecodeError:
            return _Undecodable(type_name)

    return tolerant


def _wrap(
    handler: grpc.RpcMethodHandler[_Req, _Resp],
    check: Callable[[grpc.ServicerContext], None],
) -> grpc.RpcMethodHandler[_Req, _Resp]:
    """The same handler, running ``check(context)`` before the behaviour (every call kind);
    a single request that does not decode is refused INVALID_ARGUMENT after the check."""
    deserializer = handler.request_deserializer
    serializer = handler.response_serializer
    if handler.unary_unary is not None:
        uu = handler.unary_unary

        def unary_unary(request: _Req, context: grpc.ServicerContext) -> _Resp:
            check(context)
            if isinstance(request, _Undecodable):
                request.refuse(context)
            return uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, _tolerant(deserializer), serializer)
    if handler.unary_stream is not None:
        us = handler.unary_stream

        def unary_stream(request: _Req, context: grpc.ServicerContext) -> Iterator[_Resp]:
            check(context)
            if isinstance(request, _Undecodable):
                request.refuse(context)
            return us(request, context)

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, _tolerant(deserializer), serializer
        )
    if handler.stream_unary is not None:
        su = handler.stream_unary

        def stream_unary(requests: Iterator[_Req], context: grpc.ServicerContext) -> _Resp:
            check(context)
            return su(requests, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, deserializer, serializer)
    if handler.stream_stream is not None:
        ss = handler.stream_stream

        def stream_stream(
            requests: Iterator[_Req], context: grpc.ServicerContext
        ) -> Iterator[_Resp]:
            check(context)
            return ss(requests, context)

        return grpc.stream_stream_rpc_method_handler(stream_stream, deserializer, serializer)
    raise TransportSecurityError("a method handler with no behaviour")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Limits, credentials and listeners

KIB: Final = 1024
MIB: Final = 1024 * KIB

PUBLIC_MAX_RECEIVE: Final = 256 * KIB
"""The largest valid ballot for a local-election manifest is far below this (§2.6)."""
CONTROL_MAX_RECEIVE: Final = 4 * MIB
MAX_SEND: Final = 4 * MIB
"""Board pages (≤ 1000 entries of about 1 KiB) fit with room to spare."""
MAX_CONCURRENT_RPCS: Final = 256
"""Cheap load shedding: beyond it, RESOURCE_EXHAUSTED (§2.6)."""
DEFAULT_TIMEOUT_S: Final = 10.0
"""The deadline clients apply to every call that does not set its own (§2.5)."""

_KEEPALIVE: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 30_000),
    ("grpc.http2.max_ping_strikes", 2),
    ("grpc.max_connection_idle_ms", 5 * 60_000),
    ("grpc.max_connection_age_ms", 30 * 60_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
)


def server_options(
    port: Port, *, max_receive: int | None = None, max_send: int = MAX_SEND
) -> list[tuple[str, Any]]:
    """``grpc.server(options=...)`` for a listener: message-size limits and keepalive
    enforcement. Never lowers ``grpc.max_concurrent_streams`` (§2.6: refused streams)."""
    receive = max_receive
    if receive is None:
        receive = PUBLIC_MAX_RECEIVE if port is Port.PUBLIC else CONTROL_MAX_RECEIVE
    if receive <= 0 or max_send <= 0:
        raise TransportSecurityError("message-size limits must be positive")
    return [
        ("grpc.max_receive_message_length", receive),
        ("grpc.max_send_message_length", max_send),
        *_KEEPALIVE,
    ]


def public_server_credentials(server: LeafCredentials) -> grpc.ServerCredentials:
    """TLS with server authentication only: no client certificate is asked for."""
    return grpc.ssl_server_credentials(
        [(server.key_pem, server.chain_pem)], root_certificates=None, require_client_auth=False
    )


def control_server_credentials(server: LeafCredentials) -> grpc.ServerCredentials:
    """Mutual TLS: the client must present a certificate issued by the election CA."""
    return grpc.ssl_server_credentials(
        [(server.key_pem, server.chain_pem)],
        root_certificates=server.ca_pem,
        require_client_auth=True,
    )


def channel_credentials(
    ca_pem: bytes, client: LeafCredentials | None = None
) -> grpc.ChannelCredentials:
    """Client side: trust only the election CA; present ``client`` (a role certificate) on
    the control port, nothing on the public port."""
    if client is None:
        return grpc.ssl_channel_credentials(root_certificates=ca_pem)
    return grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=client.key_pem, certificate_chain=client.chain_pem
    )


def channel_options(
    *, max_receive: int = MAX_SEND, timeout_s: float = DEFAULT_TIMEOUT_S, retry: bool = True
) -> list[tuple[str, Any]]:
    """``grpc.secure_channel(options=...)``: a receive limit matching the servers' send limit,
    a default deadline for every evote method, and (``retry``) retries of UNAVAILABLE only,
    with backoff (§2.5): Cast is idempotent, so a retried ballot gets its original receipt."""
    if timeout_s <= 0:
        raise TransportSecurityError("the default deadline must be positive")
    services = ("Board", "BallotBox", "Registry", "Control", "Witness")
    method_config: dict[str, Any] = {
        "name": [{"service": f"evote.wire.v1.{service}"} for service in services],
        "timeout": f"{timeout_s:.3f}s",
    }
    if retry:
        method_config["retryPolicy"] = {
            "maxAttempts": 4,
            "initialBackoff": "0.2s",
            "maxBackoff": "2s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
    return [
        ("grpc.max_receive_message_length", max_receive),
        ("grpc.service_config", json.dumps({"methodConfig": [method_config]})),
        ("grpc.enable_retries", 1 if retry else 0),
    ]


@dataclass(frozen=True, slots=True)
class Listener:
    """What one listening port needs: its credentials, interceptors and server options."""

    port: Port
    credentials: grpc.ServerCredentials
    interceptors: tuple[grpc.ServerInterceptor, ...]
    options: tuple[tuple[str, Any], ...]
    maximum_concurrent_rpcs: int = MAX_CONCURRENT_RPCS


def public_listener(
    server: LeafCredentials, *, max_receive: int | None = None, max_send: int = MAX_SEND
) -> Listener:
    """The public port: server-auth TLS, public methods only."""
    return Listener(
        Port.PUBLIC,
        public_server_credentials(server),
        (AuthorizationInterceptor(server.ca_certificate, (Port.PUBLIC,)),),
        tuple(server_options(Port.PUBLIC, max_receive=max_receive, max_send=max_send)),
    )


def control_listener(
    server: LeafCredentials,
    *,
    max_receive: int | None = None,
    max_send: int = MAX_SEND,
    clock: Callable[[], datetime] | None = None,
) -> Listener:
    """The control port: mutual TLS with the election CA, role-checked methods."""
    return Listener(
        Port.CONTROL,
        control_server_credentials(server),
        (AuthorizationInterceptor(server.ca_certificate, (Port.CONTROL,), clock=clock),),
        tuple(server_options(Port.CONTROL, max_receive=max_receive, max_send=max_send)),
    )


def new_server(
    listener: Listener,
    *,
    max_workers: int = 16,
    extra_interceptors: Iterable[grpc.ServerInterceptor] = (),
) -> grpc.Server:
    """A sync ``grpc.server`` for one listener, authorization first (§2.4's order); add the
    servicers, then :func:`add_listener`, then ``start()``."""
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=[*listener.interceptors, *extra_interceptors],
        options=list(listener.options),
        maximum_concurrent_rpcs=listener.maximum_concurrent_rpcs,
    )


def add_listener(server: grpc.Server, listener: Listener, address: str) -> int:
    """Bind ``listener`` on ``address`` (``"127.0.0.1:0"`` picks a free port); returns the
    bound port. Raises :class:`TransportSecurityError` if gRPC could not bind."""
    try:
        bound = server.add_secure_port(address, listener.credentials)
    except RuntimeError:  # gRPC's "failed to bind": an address no interface has, a port in use
        bound = 0
    if bound == 0:
        raise TransportSecurityError(
            f"could not listen on {address} for the {listener.port.value} port: is the address "
            "one of this machine's, and the port free?"
        )
    return bound
