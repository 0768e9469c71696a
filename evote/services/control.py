"""The control service: officials, guardians and the credential authority change the board.

On the control port only (mutual TLS, role certificates from the election CA; the
:class:`~evote.services.auth.AuthorizationInterceptor` lets only those roles in). The
transport role decides which *kinds* a caller may post; the entry's own Ed25519 signatures,
checked against the keys the manifest (entry 0) gives that role, are the authorization that
goes on the board:

================================  ==================  ==========================================
kind                              role                signers (all of them from the manifest)
================================  ==================  ==========================================
open, close, tally, result        official            a quorum of officials, nobody else
joint-key                         official, guardian  a quorum of officials and every guardian
ceremony-*, guardian-key,         guardian i          exactly guardian i's identity key
key-check, decryption-share
credentials                       credential auth.    exactly the credential-authority key
                                                      (only when this server hosts no registry:
                                                      otherwise CloseRegistration posts it)
================================  ==================  ==========================================

Witnesses are clients too: a witness follows the public board, checks that the log only grew,
cosigns, and hands its cosignature line back with AddCosignature (witness role; the line must
carry the role's own witness name and verify under the key the manifest gives that name). The
board attaches it to the checkpoint it signed; it never calls out to witnesses.

The manifest itself is entry 0 and is never posted here. A kind the caller's role may not post
is PERMISSION_DENIED; wrong or missing signers, a bad signature or a malformed body is
INVALID_ARGUMENT, and so are decryption shares whose proofs fail against the posted tally; an
entry out of place (open twice, close before open, a second credential list, a tally before the
close or a second one, shares or a result before the tally, a guardian's second shares,
anything after the result) is FAILED_PRECONDITION: it would spoil the record for good.
Re-posting the exact bytes already on the board answers that
entry's receipt (idempotent retries).

Appends go through the ballot station's lock, so admission never interleaves with a phase
change, and the ballot box's health is refreshed after open and close.

The credential authority imports the roll (hashes of the one-time codes) and closes
registration: the server then signs the sorted credential list with the authority key and
appends it. Closing again re-derives the same entry (Ed25519 signatures are deterministic),
so a CloseRegistration interrupted between the registry and the board is completed by a retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import grpc
from cryptography import x509

from evote.board.entry import Entry
from evote.board.note import parse_note
from evote.ceremony.messages import GuardianKey, JointKey
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.manifest import Manifest
from evote.election.tally import EncryptedTally, check_guardian_shares
from evote.errors import BoardError, DecodeError, TransportSecurityError
from evote.record import kinds
from evote.record.ballot_station import BallotStation
from evote.record.kinds import CredentialList, PhaseMark
from evote.record.registry import Registry, RegistryError
from evote.services.board import receipt_for
from evote.services.ca import Role, RoleKind, role_from_auth_context
from evote.services.registry import refused, status_message
from evote.services.status import Refused, rpc
from evote.wire.v1 import board_pb2, control_pb2, control_pb2_grpc

OFFICIAL_KINDS: Final = frozenset({kinds.OPEN, kinds.CLOSE, kinds.TALLY, kinds.RESULT})
GUARDIAN_KINDS: Final = frozenset(
    {
        kinds.CEREMONY_TRANSPORT,
        kinds.CEREMONY_COMMIT,
        kinds.GUARDIAN_KEY,
        kinds.CEREMONY_SHARES,
        kinds.CEREMONY_COMPLAINT,
        kinds.CEREMONY_SHARE_REVEAL,
        kinds.KEY_CHECK,
        kinds.DECRYPTION_SHARE,
    }
)
_PAGE: Final = 1000


def _invalid(message: str) -> Refused:
    return Refused(grpc.StatusCode.INVALID_ARGUMENT, message)


def _denied(message: str) -> Refused:
    return Refused(grpc.StatusCode.PERMISSION_DENIED, message)


def _precondition(message: str) -> Refused:
    return Refused(grpc.StatusCode.FAILED_PRECONDITION, message)


def check_signers(entry: Entry, manifest: Manifest, role: Role) -> None:
    """Refuse unless ``role`` may post ``entry.kind`` and the manifest's keys for it signed.

    The signatures themselves are verified by the caller (and again by the board).
    """
    signers = set(entry.signers)
    officials = set(manifest.officials)
    guardians = set(manifest.guardians)
    kind = entry.kind

    def quorum_of_officials(extra: set[VerifyKey]) -> None:
        if not signers <= officials | extra:
            raise _invalid(f"a {kind} entry is signed by keys that are not the manifest's")
        if len(signers & officials) < manifest.official_quorum:
            raise _invalid(
                f"a {kind} entry needs {manifest.official_quorum} officials' signatures, "
                f"has {len(signers & officials)}"
            )

    if kind == kinds.MANIFEST:
        raise _precondition("the manifest is entry 0 and is never posted again")
    if kind == kinds.JOINT_KEY:
        if role.kind not in (RoleKind.OFFICIAL, RoleKind.GUARDIAN):
            raise _denied(f"role {role} may not post a {kind} entry")
        quorum_of_officials(guardians)
        if not guardians <= signers:
            raise _invalid("a joint-key entry needs every guardian's signature")
        return
    if kind in OFFICIAL_KINDS:
        if role.kind is not RoleKind.OFFICIAL:
            raise _denied(f"role {role} may not post a {kind} entry")
        quorum_of_officials(set())
        return
    if kind in GUARDIAN_KINDS:
        if role.kind is not RoleKind.GUARDIAN or role.guardian is None:
            raise _denied(f"role {role} may not post a {kind} entry")
        if not 1 <= role.guardian <= len(manifest.guardians):
            raise _denied(f"guardian {role.guardian} is not in the manifest")
        if entry.signers != (manifest.guardians[role.guardian - 1],):
            raise _invalid(
                f"a {kind} entry from guardian {role.guardian} is signed by that "
                "guardian's identity key only"
            )
        return
    if kind == kinds.CREDENTIALS:
        if role.kind is not RoleKind.CREDENTIAL_AUTHORITY:
            raise _denied(f"role {role} may not post a {kind} entry")
        if entry.signers != (manifest.credential_authority,):
            raise _invalid("a credentials entry is signed by the credential authority only")
        return
    raise _denied(f"{kind} entries are not posted on the control port")


def check_body(entry: Entry) -> None:
    """Parse the bodies the ballot station reads on replay (a bad one would stop it)."""
    try:
        if entry.kind == kinds.GUARDIAN_KEY:
            GuardianKey.from_tlv(entry.body)
        elif entry.kind == kinds.JOINT_KEY:
            JointKey.from_tlv(entry.body)
        elif entry.kind == kinds.CREDENTIALS:
            CredentialList.from_tlv(entry.body)
        elif entry.kind == kinds.OPEN:
            PhaseMark.from_tlv(entry.body, "open")
        elif entry.kind == kinds.CLOSE:
            PhaseMark.from_tlv(entry.body, "close")
    except DecodeError as error:
        raise _invalid(f"malformed {entry.kind} body: {error}") from None


class ControlService(control_pb2_grpc.ControlServicer):
    """Post, ImportRoll and CloseRegistration over one election's board and registry.

    ``authority_key`` is the credential authority's signing key (needed to close
    registration); ``on_phase_change`` runs after an open or close mark was appended.
    """

    def __init__(
        self,
        station: BallotStation,
        manifest: Manifest,
        ca_certificate: x509.Certificate | bytes,
        *,
        registry: Registry | None = None,
        authority_key: SigningKey | None = None,
        on_phase_change: Callable[[], None] = lambda: None,
    ) -> None:
        if authority_key is not None and authority_key.verify_key != manifest.credential_authority:
            raise TransportSecurityError("this key is not the manifest's credential authority")
        self.station = station
        self.manifest = manifest
        self.registry = registry
        self._ca = ca_certificate
        self._authority_key = authority_key
        self._on_phase_change = on_phase_change

    def _role(self, context: grpc.ServicerContext) -> Role:
        try:
            role = role_from_auth_context(context.auth_context(), self._ca)
        except TransportSecurityError:
            role = None
        if role is None:
            raise Refused(grpc.StatusCode.UNAUTHENTICATED, "a role certificate is required")
        return role

    def _entries_of(self, kind: str) -> list[Entry]:
        """Every entry of ``kind`` on the board, in order."""
        board = self.station.board
        found: list[Entry] = []
        start = 0
        while start < board.size:
            page = board.entries(start, start + _PAGE)
            found.extend(entry for entry in map(Entry.decode, page) if entry.kind == kind)
            start += len(page)
        return found

    def _append(self, entry: Entry) -> tuple[int, str, bool]:
        """Append under the station's lock after the phase checks: (index, checkpoint, fresh);
        an entry already there is answered with its index and the latest checkpoint.

        The tally, the decryption shares and the result each have one place in the election:
        one tally after the close, each guardian's shares of that tally (proofs checked) once
        and before the result, one result. An entry out of place would spoil the record for
        good, so it is refused before it reaches the board.
        """
        context = self.station.context if entry.kind == kinds.DECRYPTION_SHARE else None

        def check(phase: str) -> None:
            if entry.kind == kinds.OPEN and phase != "setup":
                raise _precondition(f"the election cannot open: it is {phase}")
            if entry.kind == kinds.CLOSE and phase != "open":
                raise _precondition(f"the election cannot close: it is {phase}")
            if entry.kind == kinds.CREDENTIALS and self._entries_of(kinds.CREDENTIALS):
                raise _precondition("the credential list is already on the board")
            if entry.kind == kinds.TALLY:
                if phase != "closed":
                    raise _precondition(f"the tally comes after the close: the election is {phase}")
                if self._entries_of(kinds.TALLY):
                    raise _precondition("the tally is already on the board")
            if entry.kind in (kinds.DECRYPTION_SHARE, kinds.RESULT):
                tallies = self._entries_of(kinds.TALLY)
                if not tallies:
                    raise _precondition(f"a {entry.kind} entry needs the tally on the board first")
                if self._entries_of(kinds.RESULT):
                    raise _precondition("the result is already on the board")
            if entry.kind == kinds.DECRYPTION_SHARE:
                if any(
                    posted.signers == entry.signers
                    for posted in self._entries_of(kinds.DECRYPTION_SHARE)
                ):
                    raise _precondition("this guardian's decryption shares are already posted")
                if context is None:
                    raise _precondition("the election has no joint key: nothing to decrypt")
                tally = EncryptedTally.from_tlv(tallies[0].body, self.manifest)
                check_guardian_shares(entry.body, entry.signers, context, tally)

        return self.station.append_checked(entry, check)

    @rpc
    def Post(
        self, request: control_pb2.PostRequest, context: grpc.ServicerContext
    ) -> board_pb2.Receipt:
        role = self._role(context)
        board = self.station.board
        entry = board.rules.check(request.entry)
        check_signers(entry, self.manifest, role)
        entry.verify_signatures()
        check_body(entry)
        if entry.kind == kinds.CREDENTIALS and self.registry is not None:
            raise _precondition("this server keeps the registry: use CloseRegistration")
        index, checkpoint, fresh = self._append(entry)
        if fresh and entry.kind in (kinds.OPEN, kinds.CLOSE):
            self._on_phase_change()
        return receipt_for(board, index, checkpoint)

    def _registry(self) -> Registry:
        if self.registry is None:
            raise Refused(grpc.StatusCode.UNIMPLEMENTED, "this server keeps no registry")
        return self.registry

    @rpc
    def ImportRoll(
        self, request: control_pb2.ImportRollRequest, context: grpc.ServicerContext
    ) -> control_pb2.RegistrationStatus:
        registry = self._registry()
        try:
            counts = registry.import_roll(request.enrollment_codes)
        except RegistryError as error:
            raise refused(error) from None
        return status_message(counts)

    @rpc
    def AddCosignature(
        self, request: control_pb2.AddCosignatureRequest, context: grpc.ServicerContext
    ) -> board_pb2.Checkpoint:
        role = self._role(context)
        if role.kind is not RoleKind.WITNESS or role.witness is None:
            raise _denied(f"role {role} may not add a cosignature")
        board = self.station.board
        try:
            text = board.checkpoint_at(request.size)
        except BoardError as error:
            raise Refused(grpc.StatusCode.NOT_FOUND, str(error)) from None
        if f"\n{request.line}\n" in text:
            return board_pb2.Checkpoint(note=text)  # a retry: this line is attached already
        # A malformed line or a cosignature that does not verify is a CheckpointError
        # (INVALID_ARGUMENT); the board checks it under the manifest's key for that name.
        signature = parse_note(f"{text}{request.line}\n").signatures[-1]
        if signature.name != role.witness:
            raise _denied(f"witness {role.witness} may not hand in {signature.name}'s cosignature")
        return board_pb2.Checkpoint(note=board.add_cosignature(request.size, signature))

    @rpc
    def CloseRegistration(
        self, request: control_pb2.Empty, context: grpc.ServicerContext
    ) -> control_pb2.RegistrationStatus:
        registry = self._registry()
        if self._authority_key is None:
            raise _precondition("this server does not hold the credential authority's key")
        body = registry.close()
        entry = Entry.create(
            kinds.CREDENTIALS, self.manifest.election_id, body, [self._authority_key]
        )
        self._append(entry)
        return status_message(registry.counts())
