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
                                                      (when this server keeps the registry: only
                                                      after it closed, and exactly its list)
paillier-key (scheme B)           dealer, official    the dealer and a quorum of officials
paillier-share (scheme B)         dealer              exactly the dealer's key
paillier-key-check (scheme B)     guardian i          exactly guardian i's identity key
================================  ==================  ==========================================

A board takes only its scheme's kinds (:func:`evote.record.kinds.entry_rules`): scheme A's
ceremony kinds are refused on a scheme B board and the ``paillier-*`` kinds on a scheme A one.

Witnesses are clients too: a witness follows the public board, checks that the log only grew,
cosigns, and hands its cosignature line back with AddCosignature (witness role; the line must
carry the role's own witness name and verify under the key the manifest gives that name). The
board attaches it to the checkpoint it signed; it never calls out to witnesses.

The manifest itself is entry 0 and is never posted here. A kind the caller's role may not post
is PERMISSION_DENIED; wrong or missing signers, a bad signature or a malformed body is
INVALID_ARGUMENT, and so are decryption shares whose proofs fail against the posted tally; an
entry out of place (open twice, close before open, a second credential list, a tally before the
close or a second one, shares or a result before the tally, a guardian's second shares,
anything after the result; for scheme B a transport key after the dealer's key, the dealer's
key before every guardian's transport key or twice, a second share sealed to a guardian, a
key check before every share or twice, any of the dealer's ceremony after the credential
list) is FAILED_PRECONDITION: it would spoil the record for good.
Re-posting the exact bytes already on the board answers that
entry's receipt (idempotent retries).

Appends go through the ballot station's lock, so admission never interleaves with a phase
change, and the ballot box's health is refreshed after open and close.

The credential authority imports the roll (hashes of the one-time codes) and closes
registration: CloseRegistration closes the registry and answers the sorted credential list it
closed with. The authority checks that list, signs the ``credentials`` entry on its own machine
(the server never holds its key: the board operator is not the credential authority, design
``board-services-storage.md`` §1.3) and posts it with Post, which takes only the list the
registry closed with. Closing again answers the same list, and Ed25519 signatures are
deterministic, so a close interrupted between the registry and the board is completed by
running it again.

No entry opens the election before its keys and voters are fixed: the open mark is refused
until the joint key (scheme A) or the dealer's key (scheme B), a verifying key check from every
guardian, and the credential list are on the board.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import grpc
from cryptography import x509

from evote.board.entry import Entry
from evote.board.note import parse_note
from evote.ceremony.dealer import check_dealt_key, verify_paillier_key_check
from evote.ceremony.messages import (
    DealtKey,
    GuardianKey,
    JointKey,
    PaillierKeyCheck,
    SealedKeyShare,
)
from evote.crypto.signing import VerifyKey
from evote.election.context import ElectionContext
from evote.election.manifest import PAILLIER, Manifest
from evote.election.tally import EncryptedTally, check_guardian_shares
from evote.errors import (
    BoardError,
    CeremonyError,
    DecodeError,
    TransportSecurityError,
    VerificationError,
)
from evote.record import kinds
from evote.record.ballot_station import BallotStation
from evote.record.key_checks import guardians_without_key_check, key_check_kind
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
        kinds.PAILLIER_KEY_CHECK,
        kinds.DECRYPTION_SHARE,
    }
)
#: Scheme B's dealer ceremony: what the dealer role posts (the key co-signed by the officials).
DEALER_KINDS: Final = frozenset({kinds.PAILLIER_KEY, kinds.PAILLIER_SHARE})
_DEALER_CEREMONY: Final = frozenset({*DEALER_KINDS, kinds.PAILLIER_KEY_CHECK})
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
    if kind in DEALER_KINDS:
        allowed = (RoleKind.DEALER, RoleKind.OFFICIAL) if kind == kinds.PAILLIER_KEY else ()
        if role.kind is not RoleKind.DEALER and role.kind not in allowed:
            raise _denied(f"role {role} may not post a {kind} entry")
        dealer = manifest.dealer
        if dealer is None:
            raise _precondition(f"a scheme A (elgamal) election has no dealer: no {kind} entry")
        if kind == kinds.PAILLIER_SHARE:
            if entry.signers != (dealer,):
                raise _invalid("a paillier-share entry is signed by the dealer's key only")
            return
        quorum_of_officials({dealer})
        if dealer not in signers:
            raise _invalid("a paillier-key entry needs the dealer's signature")
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


def check_body(entry: Entry, manifest: Manifest) -> None:
    """Parse the bodies the ballot station reads on replay (a bad one would stop it), and
    judge the dealer's key as the officials and guardians do (it must fit the manifest)."""
    try:
        if entry.kind == kinds.PAILLIER_KEY:
            check_dealt_key(manifest, DealtKey.from_tlv(entry.body))
        elif entry.kind == kinds.PAILLIER_SHARE:
            SealedKeyShare.from_tlv(entry.body)
        elif entry.kind == kinds.GUARDIAN_KEY:
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
    except CeremonyError as error:
        raise _invalid(f"refused {entry.kind} entry: {error}") from None


class ControlService(control_pb2_grpc.ControlServicer):
    """Post, ImportRoll and CloseRegistration over one election's board and registry.

    The server holds no party's signing key: the credential authority signs the credential
    list on its own machine. ``on_phase_change`` runs after an open or close mark was appended.
    """

    def __init__(
        self,
        station: BallotStation,
        manifest: Manifest,
        ca_certificate: x509.Certificate | bytes,
        *,
        registry: Registry | None = None,
        on_phase_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.station = station
        self.manifest = manifest
        self.registry = registry
        self._ca = ca_certificate
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

    def _guardian_of(self, entry: Entry) -> int | None:
        """The guardian (1..n) whose identity key alone signed ``entry``, if any."""
        if len(entry.signers) == 1 and entry.signers[0] in self.manifest.guardians:
            return self.manifest.guardians.index(entry.signers[0]) + 1
        return None

    def _check_dealer_ceremony(self, entry: Entry, context: ElectionContext | None) -> None:
        """Scheme B's phase order (docs/election-record.md): every guardian's transport key,
        the dealer's key once, one sealed share per guardian, then one key check per guardian,
        all before the credential list. Caller holds the station's lock."""
        kind = entry.kind
        if kind != kinds.CEREMONY_TRANSPORT and kind not in _DEALER_CEREMONY:
            return  # the board is scanned only while the dealer's ceremony runs
        guardians = range(1, len(self.manifest.guardians) + 1)
        if kind in _DEALER_CEREMONY and self._entries_of(kinds.CREDENTIALS):
            raise _precondition(
                f"the credential list is on the board: the dealer's ceremony ({kind}) is over"
            )
        posted_key = bool(self._entries_of(kinds.PAILLIER_KEY))
        if kind == kinds.CEREMONY_TRANSPORT and posted_key:
            raise _precondition(
                "the dealer's key is on the board: every transport key comes before it"
            )
        if kind == kinds.PAILLIER_KEY:
            if posted_key:
                raise _precondition("the dealer's key is already on the board")
            have = {self._guardian_of(e) for e in self._entries_of(kinds.CEREMONY_TRANSPORT)}
            missing = [g for g in guardians if g not in have]
            if missing:
                raise _precondition(
                    f"guardians {missing} posted no transport key yet: the dealer's key comes "
                    "after every guardian's"
                )
            return
        if kind not in (kinds.PAILLIER_SHARE, kinds.PAILLIER_KEY_CHECK):
            return
        if not posted_key or context is None:
            raise _precondition(f"a {kind} entry needs the dealer's key on the board first")
        sealed = {
            SealedKeyShare.from_tlv(e.body).guardian for e in self._entries_of(kinds.PAILLIER_SHARE)
        }
        if kind == kinds.PAILLIER_SHARE:
            guardian = SealedKeyShare.from_tlv(entry.body).guardian
            if guardian not in guardians:
                raise _invalid(
                    f"the share is sealed to guardian {guardian}; the manifest names guardians "
                    f"1 to {len(guardians)}"
                )
            if guardian in sealed:  # key checks wait for every share: none follows them
                raise _precondition(f"a share sealed to guardian {guardian} is already posted")
            return
        check = PaillierKeyCheck.from_tlv(entry.body, context.paillier_key)
        if check.guardian != self._guardian_of(entry):
            raise _invalid(
                f"the key check names guardian {check.guardian}; it is signed by another one"
            )
        missing = [g for g in guardians if g not in sealed]
        if missing:
            raise _precondition(
                f"no share is sealed to guardians {missing} yet: key checks come after every share"
            )
        checked = {
            PaillierKeyCheck.from_tlv(e.body, context.paillier_key).guardian
            for e in self._entries_of(kinds.PAILLIER_KEY_CHECK)
        }
        if check.guardian in checked:
            raise _precondition(f"guardian {check.guardian}'s key check is already posted")
        try:
            verify_paillier_key_check(check, context)
        except VerificationError as error:
            raise _invalid(
                f"guardian {check.guardian}'s key check does not verify against its v_i: {error}"
            ) from None

    def _check_ready_to_open(self, context: ElectionContext | None) -> None:
        """Refuse the opening unless the election key and the credential list are final: the
        joint key (scheme A) or the dealer's key (scheme B), a key check from every guardian
        that verifies, and the credential list. Ballots cast before any of them would be
        encrypted to a key nobody showed they can decrypt, or signed by credentials nobody
        listed. Caller holds the station's lock."""
        scheme_b = self.manifest.scheme_name == PAILLIER
        key_kind = kinds.PAILLIER_KEY if scheme_b else kinds.JOINT_KEY
        if not self._entries_of(key_kind) or context is None:
            raise _precondition(
                f"the election cannot open before the {key_kind} entry is on the board: finish "
                "the key ceremony first"
            )
        missing = guardians_without_key_check(self._entries_of(key_check_kind(context)), context)
        if missing:
            raise _precondition(
                f"the election cannot open: guardians {missing} have no key check on the board "
                "that verifies (each guardian shows it can decrypt before the opening)"
            )
        if not self._entries_of(kinds.CREDENTIALS):
            raise _precondition(
                "the election cannot open before the credential list is on the board: close "
                "registration first"
            )

    def _append(self, entry: Entry) -> tuple[int, str, bool]:
        """Append under the station's lock after the phase checks: (index, checkpoint, fresh);
        an entry already there is answered with its index and the latest checkpoint.

        The tally, the decryption shares and the result each have one place in the election:
        one tally after the close, each guardian's shares of that tally (proofs checked) once
        and before the result, one result. An entry out of place would spoil the record for
        good, so it is refused before it reaches the board.
        """
        needs_context = (
            kinds.DECRYPTION_SHARE,
            kinds.PAILLIER_SHARE,
            kinds.PAILLIER_KEY_CHECK,
            kinds.OPEN,
        )
        context = self.station.context if entry.kind in needs_context else None
        scheme_b = self.manifest.scheme_name == PAILLIER

        def check(phase: str) -> None:
            if scheme_b:
                self._check_dealer_ceremony(entry, context)
            if entry.kind == kinds.OPEN:
                if phase != "setup":
                    raise _precondition(f"the election cannot open: it is {phase}")
                self._check_ready_to_open(context)
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
                tally = EncryptedTally.from_tlv(tallies[0].body, context)
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
        check_body(entry, self.manifest)
        if entry.kind == kinds.CREDENTIALS and self.registry is not None:
            self._check_closed_list(entry, self.registry)
        index, checkpoint, fresh = self._append(entry)
        if fresh and entry.kind in (kinds.OPEN, kinds.CLOSE):
            self._on_phase_change()
        return receipt_for(board, index, checkpoint)

    @staticmethod
    def _check_closed_list(entry: Entry, registry: Registry) -> None:
        """A credentials entry on a server that keeps the registry lists exactly the
        credentials the registry closed with: nobody listed who did not enroll, nobody who
        enrolled left out."""
        counts = registry.counts()
        if not counts.closed:
            raise _precondition(
                "registration is still open: close it first (CloseRegistration answers the "
                "list to sign)"
            )
        if entry.body != registry.credential_list().to_tlv():
            raise _precondition(
                f"this credential list is not the one the registry closed with ({counts.enrolled} "
                "enrolled credentials): sign the list CloseRegistration answers"
            )

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
        try:
            body = registry.close()
        except RegistryError as error:
            raise refused(error) from None
        answer = status_message(registry.counts())
        answer.credential_list = body
        return answer
