"""The election CA: the TLS identities of the gRPC services and of the parties that call them.

Design: ``board-services-storage.md`` §2.3. One small CA per election, made at the key
ceremony:

* ECDSA P-256 throughout (grpcio's BoringSSL refuses Ed25519 chains with
  ``NO_COMMON_SIGNATURE_ALGORITHMS``); Ed25519 stays at the application layer;
* the CA certificate has ``BasicConstraints(ca=True, path_length=0)``, key usage
  keyCertSign/cRLSign, and is valid for the election window only;
* leaves are short-lived (days): servers carry EKU serverAuth and DNS/IP names, clients carry
  EKU clientAuth and exactly one role in a URI SAN (``urn:evote:role:official``,
  ``urn:evote:role:guardian:3``, ``urn:evote:role:witness:party-a``, ...).

Transport identity decides only who may *call* an RPC. It is never evidence on the board:
state-changing requests carry the Ed25519 signatures that go on the board themselves.

Every function takes the current time as an argument (``now``), defaulting to the clock, so
that tests pin it. Failures raise :class:`~evote.errors.TransportSecurityError`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evote.crypto.rng import random_bytes
from evote.errors import TransportSecurityError
from evote.files import write_atomically

ROLE_URN_PREFIX = "urn:evote:role:"
"""Every role URI SAN starts with this; other URIs in a certificate are ignored."""

CA_LIFETIME_DEFAULT = timedelta(days=30)
LEAF_LIFETIME_DEFAULT = timedelta(days=3)
LEAF_LIFETIME_MAX = timedelta(days=14)
"""Leaves are for days, not years: a stolen key stops working soon without any revocation."""

_BACKDATE = timedelta(minutes=5)  # tolerate small clock skew between issuer and peers
_WITNESS_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")


#: What ``cryptography`` raises for a certificate or key it cannot read. It parses a
#: certificate's public key, names and extensions only when they are first used, so a damaged
#: certificate that loaded can still fail later, where it is read.
_UNREADABLE: Final = (
    ValueError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Turn ``cryptography``'s errors while reading ``what`` into :class:`TransportSecurityError`
    (a damaged file is a clear refusal, never a traceback)."""
    try:
        yield
    except _UNREADABLE as exc:
        raise TransportSecurityError(f"{what} cannot be read: {exc}") from None


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise TransportSecurityError("times must be timezone-aware (UTC)")
    return now


# ---------------------------------------------------------------------------------------------
# Roles


class RoleKind(StrEnum):
    """The kinds of caller the services know. ``PUBLIC`` is anyone, and is never certified."""

    PUBLIC = "public"
    VOTER = "voter"
    OFFICIAL = "official"
    GUARDIAN = "guardian"
    WITNESS = "witness"
    CREDENTIAL_AUTHORITY = "credential-authority"
    DEALER = "dealer"
    """Scheme B's trusted dealer: it posts its key and the guardians' sealed shares."""
    BOARD = "board"
    """The board's sequencer, when it pushes checkpoints to the witnesses' servers."""
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Role:
    """One caller's role: a kind, plus the guardian's index or the witness's name."""

    kind: RoleKind
    guardian: int | None = None
    witness: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is RoleKind.GUARDIAN) != (self.guardian is not None):
            raise TransportSecurityError("a guardian role, and only it, carries an index")
        if (self.kind is RoleKind.WITNESS) != (self.witness is not None):
            raise TransportSecurityError("a witness role, and only it, carries a name")
        if self.guardian is not None and (
            isinstance(self.guardian, bool) or not 1 <= self.guardian <= 1_000
        ):
            raise TransportSecurityError(f"guardian index out of range: {self.guardian!r}")
        if self.witness is not None and not _WITNESS_NAME.fullmatch(self.witness):
            raise TransportSecurityError(
                "a witness name is 1-64 characters of a-z, 0-9, '.', '_', '-' "
                "(starting and ending with a letter or digit)"
            )

    @classmethod
    def public(cls) -> Role:
        return cls(RoleKind.PUBLIC)

    @classmethod
    def voter(cls) -> Role:
        return cls(RoleKind.VOTER)

    @classmethod
    def official(cls) -> Role:
        return cls(RoleKind.OFFICIAL)

    @classmethod
    def for_guardian(cls, index: int) -> Role:
        return cls(RoleKind.GUARDIAN, guardian=index)

    @classmethod
    def for_witness(cls, name: str) -> Role:
        return cls(RoleKind.WITNESS, witness=name)

    @classmethod
    def credential_authority(cls) -> Role:
        return cls(RoleKind.CREDENTIAL_AUTHORITY)

    @classmethod
    def dealer(cls) -> Role:
        return cls(RoleKind.DEALER)

    @classmethod
    def board(cls) -> Role:
        return cls(RoleKind.BOARD)

    @classmethod
    def admin(cls) -> Role:
        return cls(RoleKind.ADMIN)

    @property
    def uri(self) -> str:
        """The URI SAN that certifies this role (``PUBLIC`` has none)."""
        if self.kind is RoleKind.PUBLIC:
            raise TransportSecurityError("the public role is anyone; it is never certified")
        suffix = ""
        if self.guardian is not None:
            suffix = f":{self.guardian}"
        elif self.witness is not None:
            suffix = f":{self.witness}"
        return f"{ROLE_URN_PREFIX}{self.kind.value}{suffix}"

    @classmethod
    def from_uri(cls, uri: str) -> Role:
        """Parse ``urn:evote:role:...``; raises :class:`TransportSecurityError` if malformed."""
        if not uri.startswith(ROLE_URN_PREFIX):
            raise TransportSecurityError(f"not an evote role URI: {uri!r}")
        kind_text, _, rest = uri[len(ROLE_URN_PREFIX) :].partition(":")
        try:
            kind = RoleKind(kind_text)
        except ValueError:
            raise TransportSecurityError(f"unknown role in {uri!r}") from None
        if kind is RoleKind.PUBLIC:
            raise TransportSecurityError("the public role is never certified")
        if kind is RoleKind.GUARDIAN:
            if not rest.isascii() or not rest.isdigit() or rest.startswith("0"):
                raise TransportSecurityError(f"bad guardian index in {uri!r}")
            return cls.for_guardian(int(rest))
        if kind is RoleKind.WITNESS:
            return cls.for_witness(rest)
        if rest:
            raise TransportSecurityError(f"role {kind.value!r} takes no qualifier: {uri!r}")
        return cls(kind)

    def __str__(self) -> str:
        if self.kind is RoleKind.PUBLIC:
            return "public"
        return self.uri[len(ROLE_URN_PREFIX) :]


# ---------------------------------------------------------------------------------------------
# PEM helpers


def load_certificate(pem: bytes) -> x509.Certificate:
    """One PEM certificate; raises :class:`TransportSecurityError` if it does not parse."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except _UNREADABLE as exc:
        raise TransportSecurityError(f"not a PEM certificate: {exc}") from None


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """A PEM P-256 private key (optionally passphrase-encrypted)."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise TransportSecurityError(f"cannot load the private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise TransportSecurityError("TLS keys must be ECDSA P-256")
    return key


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM; encrypted with the best available scheme when ``passphrase`` is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _serial() -> int:
    # 159 random bits: positive, below 2**159, as RFC 5280 asks (at most 20 octets).
    return int.from_bytes(random_bytes(20), "big") >> 1 or 1


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


# ---------------------------------------------------------------------------------------------
# Issued credentials


@dataclass(frozen=True, slots=True)
class LeafCredentials:
    """A leaf key and its certificate, plus the CA certificate it chains to."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    ca_certificate: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return private_key_pem(self.key)

    @property
    def certificate_pem(self) -> bytes:
        return certificate_pem(self.certificate)

    @property
    def chain_pem(self) -> bytes:
        """The leaf then the CA: what ``grpc.ssl_*_credentials`` take as the chain."""
        return certificate_pem(self.certificate) + certificate_pem(self.ca_certificate)

    @property
    def ca_pem(self) -> bytes:
        return certificate_pem(self.ca_certificate)


class ElectionCA:
    """The election's certificate authority: a P-256 key and its self-signed certificate."""

    __slots__ = ("_certificate", "_key")

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        _check_ca_certificate(certificate)
        if not isinstance(key.curve, ec.SECP256R1):
            raise TransportSecurityError("the election CA key must be ECDSA P-256")
        if key.public_key().public_numbers() != _ec_public_key(certificate).public_numbers():
            raise TransportSecurityError("the CA key does not match the CA certificate")
        self._key = key
        self._certificate = certificate

    @classmethod
    def create(
        cls,
        name: str,
        *,
        not_before: datetime | None = None,
        lifetime: timedelta = CA_LIFETIME_DEFAULT,
    ) -> ElectionCA:
        """A new CA named ``name`` (e.g. ``"evote election 1f2e..."``), valid for ``lifetime``
        from ``not_before`` (default: now): the election window."""
        if not name or len(name) > 64:
            raise TransportSecurityError("the CA name must be 1-64 characters")
        if lifetime <= timedelta(0) or lifetime > timedelta(days=366):
            raise TransportSecurityError("the CA lifetime must be positive and at most a year")
        start = _now(not_before)
        key = _new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(_serial())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def from_pem(
        cls, key_pem: bytes, certificate_pem: bytes, passphrase: bytes | None = None
    ) -> ElectionCA:
        return cls(load_private_key(key_pem, passphrase), load_certificate(certificate_pem))

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def certificate_pem(self) -> bytes:
        return certificate_pem(self._certificate)

    def key_pem(self, passphrase: bytes | None = None) -> bytes:
        """The CA's private key as PEM. Keep it offline after the ceremony."""
        return private_key_pem(self._key, passphrase)

    def issue_server(
        self,
        *,
        dns_names: Sequence[str] = ("localhost",),
        ip_addresses: Sequence[str] = ("127.0.0.1",),
        lifetime: timedelta = LEAF_LIFETIME_DEFAULT,
        now: datetime | None = None,
    ) -> LeafCredentials:
        """A server certificate: EKU serverAuth, SAN with the given DNS names and IPs."""
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        try:
            names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        except ValueError as exc:
            raise TransportSecurityError(
                f"bad IP address for a server certificate: {exc}"
            ) from None
        if not names:
            raise TransportSecurityError("a server certificate needs at least one DNS name or IP")
        common_name = dns_names[0] if dns_names else ip_addresses[0]
        return self._issue(
            common_name, names, ExtendedKeyUsageOID.SERVER_AUTH, lifetime=lifetime, now=now
        )

    def issue_client(
        self,
        role: Role,
        *,
        lifetime: timedelta = LEAF_LIFETIME_DEFAULT,
        now: datetime | None = None,
    ) -> LeafCredentials:
        """A client certificate for ``role``: EKU clientAuth, the role's URI as the only SAN."""
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(role.uri)]
        return self._issue(
            str(role), names, ExtendedKeyUsageOID.CLIENT_AUTH, lifetime=lifetime, now=now
        )

    def _issue(
        self,
        common_name: str,
        names: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        *,
        lifetime: timedelta,
        now: datetime | None,
    ) -> LeafCredentials:
        if lifetime <= timedelta(0) or lifetime > LEAF_LIFETIME_MAX:
            raise TransportSecurityError(
                f"a leaf certificate lives at most {LEAF_LIFETIME_MAX.days} days"
            )
        start = _now(now)
        ca_start = self._certificate.not_valid_before_utc
        ca_end = self._certificate.not_valid_after_utc
        if not ca_start <= start < ca_end:
            raise TransportSecurityError("the election CA is outside its validity window")
        key = _new_key()
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
            .issuer_name(self._certificate.subject)
            .public_key(public)
            .serial_number(_serial())
            .not_valid_before(max(start - _BACKDATE, ca_start))
            .not_valid_after(min(start + lifetime, ca_end))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return LeafCredentials(key, certificate, self._certificate)


def _ec_public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TransportSecurityError(
            f"the certificate's public key cannot be read: {exc}"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise TransportSecurityError("certificates must carry ECDSA P-256 keys")
    return key


def _check_ca_certificate(certificate: x509.Certificate) -> None:
    _ec_public_key(certificate)
    with _reading("the CA certificate"):
        try:
            extensions = certificate.extensions
            constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            raise TransportSecurityError("the CA certificate has no BasicConstraints") from None
        self_issued = certificate.subject == certificate.issuer
    if not constraints.ca or constraints.path_length != 0:
        raise TransportSecurityError("the CA certificate must be a CA with path length 0")
    if not self_issued:
        raise TransportSecurityError("the election CA certificate must be self-signed")
    if not _issued_by(certificate, certificate):
        raise TransportSecurityError("the CA certificate's self-signature is invalid")


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key signed ``certificate`` (False for a signature or algorithm
    that cannot be read: a damaged certificate proves nothing)."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, UnsupportedAlgorithm, _CryptoInvalidSignature):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Verifying peers and reading their roles


def role_of(certificate: x509.Certificate) -> Role | None:
    """The evote role in ``certificate``'s URI SANs: ``None`` if it has none. More than one
    role URI, or a malformed one, raises :class:`TransportSecurityError`. This only reads the
    certificate; call :func:`verify_client_certificate` to check who issued it."""
    with _reading("the certificate's extensions (where its role is)"):
        try:
            extensions = certificate.extensions
            san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return None
        uris = list(san.get_values_for_type(x509.UniformResourceIdentifier))
    return _single_role(uris)


def _single_role(uris: Iterable[str]) -> Role | None:
    roles = [Role.from_uri(uri) for uri in uris if uri.startswith(ROLE_URN_PREFIX)]
    if len(roles) > 1:
        raise TransportSecurityError("a certificate must carry at most one evote role")
    return roles[0] if roles else None


def verify_client_certificate(
    certificate: x509.Certificate | bytes,
    ca_certificate: x509.Certificate | bytes,
    *,
    now: datetime | None = None,
) -> Role | None:
    """Check that ``certificate`` is a client leaf issued by the election CA and valid at
    ``now``, and return its role (``None`` for a valid certificate without a role).

    Raises :class:`TransportSecurityError` for a certificate from another CA, a bad
    signature, an expired (or not yet valid) leaf or CA, a CA or non-clientAuth leaf, or a
    malformed role. gRPC has already checked the chain during the handshake on the control
    port; this is the same check done again where the role is read (defence in depth), and
    the check tools use offline.
    """
    leaf = (
        certificate if isinstance(certificate, x509.Certificate) else load_certificate(certificate)
    )
    ca = (
        ca_certificate
        if isinstance(ca_certificate, x509.Certificate)
        else load_certificate(ca_certificate)
    )
    _check_ca_certificate(ca)
    at = _now(now)
    if not _issued_by_ca(leaf, ca):
        raise TransportSecurityError("the certificate was not issued by the election CA")
    for which, cert in (("the election CA", ca), ("the certificate", leaf)):
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            raise TransportSecurityError(f"{which} is not valid at {at.isoformat()}")
    with _reading("the certificate's extensions"):
        try:
            extensions = leaf.extensions
            constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
            usages = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            raise TransportSecurityError(
                "a client certificate needs BasicConstraints and EKU"
            ) from None
    if constraints.ca:
        raise TransportSecurityError("a CA certificate cannot be a client identity")
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise TransportSecurityError("the certificate is not for client authentication")
    return role_of(leaf)


def _issued_by_ca(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca`` issued ``leaf``: the issuer's name and the signature under its key."""
    with _reading("the certificate's issuer"):
        named = leaf.issuer == ca.subject
    return named and _issued_by(leaf, ca)


def peer_certificate(auth_context: Mapping[str, Sequence[bytes] | bytes]) -> x509.Certificate:
    """The peer's leaf certificate from a gRPC ``context.auth_context()``.

    Raises :class:`TransportSecurityError` if the connection is not TLS or the peer sent no
    certificate (as on the public port, where none is asked for).
    """
    if _first(auth_context.get("transport_security_type")) != b"ssl":
        raise TransportSecurityError("the connection is not TLS")
    pem = _first(auth_context.get("x509_pem_cert"))
    if not pem:
        raise TransportSecurityError("the peer presented no certificate")
    return load_certificate(pem)


def role_from_auth_context(
    auth_context: Mapping[str, Sequence[bytes] | bytes],
    ca_certificate: x509.Certificate | bytes,
    *,
    now: datetime | None = None,
) -> Role | None:
    """The verified role of the peer of a gRPC call (see :func:`verify_client_certificate`)."""
    return verify_client_certificate(peer_certificate(auth_context), ca_certificate, now=now)


def _first(value: Sequence[bytes] | bytes | None) -> bytes | None:
    # grpc's auth_context maps each property to a list of values (typeshed says ``bytes``).
    if value is None or isinstance(value, bytes):
        return value
    return value[0] if value else None


# ---------------------------------------------------------------------------------------------
# A party's role directory: what `evote ca issue` hands over, and what its clients load

ROLE_KEY_FILE = "key.pem"
ROLE_CERTIFICATE_FILE = "cert.pem"
ROLE_CA_FILE = "ca.pem"


def write_role_dir(directory: Path, leaf: LeafCredentials) -> None:
    """Write a role's key (mode 0600), certificate and the CA certificate into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    write_atomically(directory / ROLE_KEY_FILE, leaf.key_pem, 0o600)
    write_atomically(directory / ROLE_CERTIFICATE_FILE, leaf.certificate_pem)
    write_atomically(directory / ROLE_CA_FILE, leaf.ca_pem)


def load_role_dir(directory: Path) -> LeafCredentials:
    """The role credentials :func:`write_role_dir` wrote, checked to belong together: the key
    is the certificate's, the certificate names a role, and the directory's CA issued it (a
    certificate from another election's CA, or a CA copy from another election, is refused
    here rather than by the server's handshake). Each file that is damaged is named."""
    files = {
        name: directory / name for name in (ROLE_KEY_FILE, ROLE_CERTIFICATE_FILE, ROLE_CA_FILE)
    }
    try:
        data = {name: path.read_bytes() for name, path in files.items()}
    except OSError as error:
        raise TransportSecurityError(
            f"cannot read the role credentials in {directory}: {error.strerror or error}"
        ) from None

    def refuse(name: str, problem: object) -> TransportSecurityError:
        return TransportSecurityError(f"{files[name]}: {problem}")

    try:
        key = load_private_key(data[ROLE_KEY_FILE])
    except TransportSecurityError as error:
        raise refuse(ROLE_KEY_FILE, error) from None
    try:
        certificate = load_certificate(data[ROLE_CERTIFICATE_FILE])
        public = _ec_public_key(certificate)
        role = role_of(certificate)
    except TransportSecurityError as error:
        raise refuse(ROLE_CERTIFICATE_FILE, error) from None
    try:
        ca_certificate = load_certificate(data[ROLE_CA_FILE])
        _check_ca_certificate(ca_certificate)
    except TransportSecurityError as error:
        raise refuse(ROLE_CA_FILE, error) from None
    if key.public_key().public_numbers() != public.public_numbers():
        raise TransportSecurityError(f"{directory}: the key does not match the certificate")
    if role is None:
        raise TransportSecurityError(f"{directory}: the certificate names no evote role")
    if not _issued_by_ca(certificate, ca_certificate):
        raise TransportSecurityError(
            f"{directory}: {ROLE_CERTIFICATE_FILE} was not issued by the CA in {ROLE_CA_FILE} "
            "(a certificate or CA of another election?): issue the role again with "
            "`evote ca issue`"
        )
    return LeafCredentials(key, certificate, ca_certificate)
