"""The election CA: P-256 certificates with the right constraints, roles in URI SANs, short
lives, and a verification helper that refuses other CAs, expired leaves and wrong usages."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evote.errors import EvoteError, TransportSecurityError
from evote.services.ca import (
    ElectionCA,
    Role,
    RoleKind,
    load_certificate,
    load_private_key,
    role_from_auth_context,
    role_of,
    verify_client_certificate,
)

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> ElectionCA:
    return ElectionCA.create("evote test election", not_before=T0)


@pytest.fixture(scope="module")
def rogue() -> ElectionCA:
    return ElectionCA.create("evote test election", not_before=T0)  # same name, other key


def test_ca_certificate_properties(ca: ElectionCA) -> None:
    cert = ca.certificate
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    assert cert.subject == cert.issuer
    assert cert.not_valid_before_utc == T0
    assert cert.not_valid_after_utc == T0 + timedelta(days=30)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)


def test_server_certificate_properties(ca: ElectionCA) -> None:
    server = ca.issue_server(now=T0 + timedelta(days=1))
    cert = server.certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.certificate.subject
    cert.verify_directly_issued_by(ca.certificate)
    assert cert.not_valid_after_utc - (T0 + timedelta(days=1)) == timedelta(days=3)
    assert role_of(cert) is None
    # A server certificate is not a client identity.
    with pytest.raises(TransportSecurityError, match="client authentication"):
        verify_client_certificate(cert, ca.certificate, now=T0 + timedelta(days=1))


@pytest.mark.parametrize(
    ("role", "uri"),
    [
        (Role.voter(), "urn:evote:role:voter"),
        (Role.official(), "urn:evote:role:official"),
        (Role.for_guardian(3), "urn:evote:role:guardian:3"),
        (Role.for_witness("party-a"), "urn:evote:role:witness:party-a"),
        (Role.credential_authority(), "urn:evote:role:credential-authority"),
        (Role.dealer(), "urn:evote:role:dealer"),
        (Role.board(), "urn:evote:role:board"),
        (Role.admin(), "urn:evote:role:admin"),
    ],
)
def test_client_certificate_carries_its_role(ca: ElectionCA, role: Role, uri: str) -> None:
    now = T0 + timedelta(days=2)
    client = ca.issue_client(role, now=now)
    san = client.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [uri]
    eku = client.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert role.uri == uri
    assert Role.from_uri(uri) == role
    assert verify_client_certificate(client.certificate_pem, ca.certificate_pem, now=now) == role


def test_pem_round_trip(ca: ElectionCA) -> None:
    again = ElectionCA.from_pem(ca.key_pem(b"pass phrase"), ca.certificate_pem, b"pass phrase")
    assert again.certificate == ca.certificate
    leaf = again.issue_client(Role.official(), now=T0)
    assert verify_client_certificate(leaf.certificate, ca.certificate, now=T0) == Role.official()
    assert load_certificate(leaf.certificate_pem) == leaf.certificate
    key = load_private_key(leaf.key_pem)
    assert key.public_key() == leaf.certificate.public_key()
    assert leaf.chain_pem == leaf.certificate_pem + ca.certificate_pem
    with pytest.raises(TransportSecurityError):
        ElectionCA.from_pem(ca.key_pem(b"pass phrase"), ca.certificate_pem, b"wrong")


def test_ca_refuses_a_key_that_is_not_its_own(ca: ElectionCA, rogue: ElectionCA) -> None:
    with pytest.raises(TransportSecurityError, match="does not match"):
        ElectionCA.from_pem(rogue.key_pem(), ca.certificate_pem)


def test_a_leaf_is_not_a_ca(ca: ElectionCA) -> None:
    leaf = ca.issue_client(Role.admin(), now=T0)
    with pytest.raises(TransportSecurityError):
        ElectionCA.from_pem(leaf.key_pem, leaf.certificate_pem)


def test_certificate_from_a_rogue_ca_is_refused(ca: ElectionCA, rogue: ElectionCA) -> None:
    forged = rogue.issue_client(Role.official(), now=T0)
    assert forged.certificate.issuer == ca.certificate.subject  # same name, different key
    with pytest.raises(TransportSecurityError, match="not issued by the election CA"):
        verify_client_certificate(forged.certificate, ca.certificate, now=T0)
    # The role parses (it is only a reading); what matters is that verification refuses it.
    assert role_of(forged.certificate) == Role.official()


def test_expired_and_not_yet_valid_leaves_are_refused(ca: ElectionCA) -> None:
    leaf = ca.issue_client(Role.for_guardian(1), lifetime=timedelta(days=1), now=T0)
    assert verify_client_certificate(leaf.certificate, ca.certificate, now=T0) is not None
    with pytest.raises(TransportSecurityError, match="not valid at"):
        verify_client_certificate(leaf.certificate, ca.certificate, now=T0 + timedelta(days=2))
    later = ca.issue_client(Role.for_guardian(1), now=T0 + timedelta(days=10))
    with pytest.raises(TransportSecurityError, match="not valid at"):
        verify_client_certificate(later.certificate, ca.certificate, now=T0 + timedelta(days=1))


def test_leaves_are_short_lived_and_inside_the_ca_window(ca: ElectionCA) -> None:
    with pytest.raises(TransportSecurityError, match="at most"):
        ca.issue_client(Role.official(), lifetime=timedelta(days=365), now=T0)
    near_end = T0 + timedelta(days=29)
    leaf = ca.issue_client(Role.official(), lifetime=timedelta(days=5), now=near_end)
    assert leaf.certificate.not_valid_after_utc == ca.certificate.not_valid_after_utc
    with pytest.raises(TransportSecurityError, match="validity window"):
        ca.issue_client(Role.official(), now=T0 + timedelta(days=31))
    with pytest.raises(TransportSecurityError, match="validity window"):
        ca.issue_client(Role.official(), now=T0 - timedelta(days=1))
    # The CA itself expires with the election window: its leaves stop verifying.
    with pytest.raises(TransportSecurityError, match="election CA is not valid"):
        verify_client_certificate(leaf.certificate, ca.certificate, now=T0 + timedelta(days=31))


def _hand_made_leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    uris: list[str],
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hand made")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if uris:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256())


def test_role_less_two_role_and_malformed_certificates(ca: ElectionCA) -> None:
    ca_key = load_private_key(ca.key_pem())
    plain = _hand_made_leaf(ca_key, ca.certificate, [])
    assert verify_client_certificate(plain, ca.certificate, now=T0) is None
    foreign = _hand_made_leaf(ca_key, ca.certificate, ["https://example.org/me"])
    assert verify_client_certificate(foreign, ca.certificate, now=T0) is None
    two = _hand_made_leaf(
        ca_key, ca.certificate, ["urn:evote:role:official", "urn:evote:role:admin"]
    )
    with pytest.raises(TransportSecurityError, match="at most one"):
        verify_client_certificate(two, ca.certificate, now=T0)
    bad = _hand_made_leaf(ca_key, ca.certificate, ["urn:evote:role:emperor"])
    with pytest.raises(TransportSecurityError, match="unknown role"):
        verify_client_certificate(bad, ca.certificate, now=T0)


@pytest.mark.parametrize(
    "uri",
    [
        "urn:evote:role:public",
        "urn:evote:role:guardian",
        "urn:evote:role:guardian:0",
        "urn:evote:role:guardian:01",
        "urn:evote:role:guardian:x",
        "urn:evote:role:witness",
        "urn:evote:role:witness:Party A",
        "urn:evote:role:official:1",
        "urn:other:role:official",
    ],
)
def test_malformed_role_uris(uri: str) -> None:
    with pytest.raises(TransportSecurityError):
        Role.from_uri(uri)


def test_role_construction_rules() -> None:
    with pytest.raises(TransportSecurityError):
        Role(RoleKind.GUARDIAN)
    with pytest.raises(TransportSecurityError):
        Role(RoleKind.OFFICIAL, guardian=1)
    with pytest.raises(TransportSecurityError):
        Role.for_witness("")
    with pytest.raises(TransportSecurityError):
        _ = Role.public().uri
    assert str(Role.for_guardian(7)) == "guardian:7"
    assert str(Role.public()) == "public"
    assert issubclass(TransportSecurityError, EvoteError)


def test_role_from_auth_context(ca: ElectionCA, rogue: ElectionCA) -> None:
    leaf = ca.issue_client(Role.for_witness("party-a"), now=T0)
    context = {"transport_security_type": [b"ssl"], "x509_pem_cert": [leaf.certificate_pem]}
    assert role_from_auth_context(context, ca.certificate, now=T0) == Role.for_witness("party-a")
    with pytest.raises(TransportSecurityError, match="no certificate"):
        role_from_auth_context({"transport_security_type": [b"ssl"]}, ca.certificate, now=T0)
    with pytest.raises(TransportSecurityError, match="not TLS"):
        role_from_auth_context({}, ca.certificate, now=T0)
    forged = rogue.issue_client(Role.official(), now=T0)
    context = {"transport_security_type": [b"ssl"], "x509_pem_cert": [forged.certificate_pem]}
    with pytest.raises(TransportSecurityError, match="not issued"):
        role_from_auth_context(context, ca.certificate, now=T0)


def test_naive_times_are_refused(ca: ElectionCA) -> None:
    with pytest.raises(TransportSecurityError, match="timezone"):
        ca.issue_client(Role.official(), now=datetime(2026, 5, 1))
