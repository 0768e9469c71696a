"""The public registry service: a voter enrolls a credential with a one-time code.

On the public port (server-auth TLS): the enrollment code in the request is the voter's
secret, so the caller's transport identity plays no part. An enrollment is answered only after
it is durable (:class:`evote.record.registry.Registry`). Never logged: codes, credentials.

Status codes: unknown code PERMISSION_DENIED; a code already used (with another credential) or
a credential already enrolled ALREADY_EXISTS; registration closed FAILED_PRECONDITION; a
malformed code or credential INVALID_ARGUMENT. Repeating the same enrollment is OK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import grpc

from evote.record.registry import (
    CodeAlreadyUsed,
    Counts,
    CredentialTaken,
    RegistrationClosed,
    Registry,
    RegistryError,
    UnknownCode,
)
from evote.services.status import Refused, rpc
from evote.wire.v1 import control_pb2, control_pb2_grpc

REGISTRY_STATUS: Final[Mapping[type[RegistryError], grpc.StatusCode]] = {
    UnknownCode: grpc.StatusCode.PERMISSION_DENIED,
    CodeAlreadyUsed: grpc.StatusCode.ALREADY_EXISTS,
    CredentialTaken: grpc.StatusCode.ALREADY_EXISTS,
    RegistrationClosed: grpc.StatusCode.FAILED_PRECONDITION,
}


def refused(error: RegistryError) -> Refused:
    """The precise status of a registry refusal (its message is for the caller)."""
    for cls in type(error).__mro__:
        code = REGISTRY_STATUS.get(cls)
        if code is not None:
            return Refused(code, str(error))
    return Refused(grpc.StatusCode.FAILED_PRECONDITION, str(error))


def status_message(counts: Counts) -> control_pb2.RegistrationStatus:
    return control_pb2.RegistrationStatus(
        eligible=counts.eligible, enrolled=counts.enrolled, closed=counts.closed
    )


class RegistryService(control_pb2_grpc.RegistryServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @rpc
    def Enroll(
        self, request: control_pb2.EnrollRequest, context: grpc.ServicerContext
    ) -> control_pb2.RegistrationStatus:
        try:
            counts = self.registry.enroll(request.enrollment_code, request.credential)
        except RegistryError as error:
            raise refused(error) from None
        return status_message(counts)

    @rpc
    def Status(
        self, request: control_pb2.Empty, context: grpc.ServicerContext
    ) -> control_pb2.RegistrationStatus:
        return status_message(self.registry.counts())
