"""Damaged role certificates, keys and CA files: every reading refuses them with
:class:`TransportSecurityError`, never with ``cryptography``'s own exceptions.

``cryptography`` parses a certificate's public key, names and extensions only when they are
first used, so a certificate that loads can still fail where it is read: an unknown curve
(``UnsupportedAlgorithm``), a key that is not on its curve or a malformed extension
(``ValueError``), an extension given twice (``DuplicateExtension``). Each of those reached
``evote post``, ``evote official``, ``evote registry``, ``evote observe`` and ``evote ca
issue`` as a traceback.
"""

from __future__ import annotations

import base64
import re
import ssl
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from evote.errors import TransportSecurityError
from evote.services.ca import (
    ROLE_CA_FILE,
    ROLE_CERTIFICATE_FILE,
    ROLE_KEY_FILE,
    ElectionCA,
    LeafCredentials,
    Role,
    load_certificate,
    load_private_key,
    load_role_dir,
    role_of,
    verify_client_certificate,
    write_role_dir,
)

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)

#: The DER of the named curve P-256 (OID 1.2.840.10045.3.1.7), and the same arcs after one
#: flipped bit (0.26.840.10045.3.1.7): a curve no library knows.
P256 = bytes.fromhex("06082a8648ce3d030107")
UNKNOWN_CURVE = bytes.fromhex("06081a8648ce3d030107")
#: The DER of the extended key usage's OID (2.5.29.37), and of an unassigned one as long.
EKU_OID = bytes.fromhex("0603551d25")
STAND_IN_OID = bytes.fromhex("0603551d63")


@pytest.fixture(scope="module")
def ca() -> ElectionCA:
    return ElectionCA.create("evote damaged files", not_before=T0)


@pytest.fixture(scope="module")
def leaf(ca: ElectionCA) -> LeafCredentials:
    return ca.issue_client(Role.credential_authority(), now=NOW)


@pytest.fixture
def role_dir(tmp_path: Path, leaf: LeafCredentials) -> Path:
    directory = tmp_path / "role"
    write_role_dir(directory, leaf)
    return directory


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def _pem(der: bytes) -> bytes:
    return ssl.DER_cert_to_PEM_cert(der).encode()


def _unknown_curve(certificate: x509.Certificate) -> bytes:
    der = _der(certificate)
    assert der.count(P256) == 1
    return _pem(der.replace(P256, UNKNOWN_CURVE))


def test_the_role_directory_as_written_loads(role_dir: Path, leaf: LeafCredentials) -> None:
    loaded = load_role_dir(role_dir)
    assert loaded.certificate == leaf.certificate
    assert loaded.ca_certificate == leaf.ca_certificate
    assert role_of(loaded.certificate) == Role.credential_authority()


def test_a_certificate_with_an_unknown_curve_is_refused(
    role_dir: Path, leaf: LeafCredentials, ca: ElectionCA
) -> None:
    damaged = _unknown_curve(leaf.certificate)
    certificate = load_certificate(damaged)  # the curve is read only when the key is
    with pytest.raises(TransportSecurityError, match="not issued by the election CA"):
        verify_client_certificate(certificate, ca.certificate, now=NOW)
    (role_dir / ROLE_CERTIFICATE_FILE).write_bytes(damaged)
    with pytest.raises(
        TransportSecurityError, match=re.escape("cert.pem: the certificate's public key")
    ):
        load_role_dir(role_dir)


def test_a_ca_certificate_with_an_unknown_curve_is_refused(role_dir: Path, ca: ElectionCA) -> None:
    damaged = _unknown_curve(ca.certificate)
    with pytest.raises(TransportSecurityError, match="public key cannot be read"):
        ElectionCA.from_pem(ca.key_pem(), damaged)
    (role_dir / ROLE_CA_FILE).write_bytes(damaged)
    with pytest.raises(
        TransportSecurityError, match=re.escape("ca.pem: the certificate's public key")
    ):
        load_role_dir(role_dir)


def test_a_key_with_an_unknown_curve_is_refused(role_dir: Path, leaf: LeafCredentials) -> None:
    der = leaf.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    assert der.count(P256) == 1
    body = base64.encodebytes(der.replace(P256, UNKNOWN_CURVE))
    damaged = b"-----BEGIN PRIVATE KEY-----\n" + body + b"-----END PRIVATE KEY-----\n"
    with pytest.raises(TransportSecurityError, match="cannot load the private key"):
        load_private_key(damaged)
    (role_dir / ROLE_KEY_FILE).write_bytes(damaged)
    with pytest.raises(
        TransportSecurityError, match=re.escape("key.pem: cannot load the private key")
    ):
        load_role_dir(role_dir)


def _leaf_with(
    ca: ElectionCA, extensions: list[tuple[x509.ExtensionType, bool]]
) -> x509.Certificate:
    """A client leaf signed by ``ca`` with the given extensions (and no others)."""
    ca_key = load_private_key(ca.key_pem())
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hand made")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=2))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca_key, hashes.SHA256())


def test_a_malformed_subject_alternative_name_is_refused(ca: ElectionCA) -> None:
    """A SAN that does not parse is not "no role": it is refused, as a malformed role is (the
    control port would otherwise take the caller for a certificate without any role)."""
    garbled = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x04\x02ab")
    certificate = _leaf_with(
        ca,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
            (garbled, False),
        ],
    )
    with pytest.raises(TransportSecurityError, match=r"extensions .*cannot be read"):
        role_of(certificate)
    with pytest.raises(TransportSecurityError, match="cannot be read"):
        verify_client_certificate(certificate, ca.certificate, now=NOW)


def test_an_extension_given_twice_is_refused(role_dir: Path, ca: ElectionCA) -> None:
    """A certificate carrying its EKU twice (no builder makes one: the second is written
    under another OID, which is then changed in the DER)."""
    usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    stand_in = x509.ObjectIdentifier("2.5.29.99")
    certificate = _leaf_with(
        ca,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (usage, False),
            (x509.UnrecognizedExtension(stand_in, usage.public_bytes()), False),
        ],
    )
    der = _der(certificate)
    assert der.count(STAND_IN_OID) == 1
    twice = load_certificate(_pem(der.replace(STAND_IN_OID, EKU_OID)))
    with pytest.raises(TransportSecurityError, match="cannot be read"):
        role_of(twice)
    with pytest.raises(TransportSecurityError, match="not issued by the election CA"):
        verify_client_certificate(twice, ca.certificate, now=NOW)


def test_a_certificate_from_another_ca_is_refused_when_the_directory_is_loaded(
    role_dir: Path, ca: ElectionCA
) -> None:
    other = ElectionCA.create("evote damaged files", not_before=T0)  # same name, other key
    leaf = other.issue_client(Role.credential_authority(), now=NOW)
    write_role_dir(role_dir, leaf)
    (role_dir / ROLE_CA_FILE).write_bytes(ca.certificate_pem)  # this election's CA
    with pytest.raises(
        TransportSecurityError, match=re.escape("cert.pem was not issued by the CA in ca.pem")
    ):
        load_role_dir(role_dir)
    # With its own CA's copy the directory is whole again (the server decides whom it trusts).
    (role_dir / ROLE_CA_FILE).write_bytes(other.certificate_pem)
    assert load_role_dir(role_dir).certificate == leaf.certificate


def test_a_leaf_in_place_of_the_ca_copy_is_refused(role_dir: Path, leaf: LeafCredentials) -> None:
    (role_dir / ROLE_CA_FILE).write_bytes(leaf.certificate_pem)
    with pytest.raises(
        TransportSecurityError, match=re.escape("ca.pem: the CA certificate must be a CA")
    ):
        load_role_dir(role_dir)


def _flips(data: bytes) -> Iterator[bytes]:
    """``data`` with one bit of each byte flipped in turn (bit ``position % 8``, so every
    bit position is hit across the bytes): a byte's every field, kept to seconds."""
    for position in range(len(data)):
        flipped = data[position] ^ (1 << (position % 8))
        yield data[:position] + bytes([flipped]) + data[position + 1 :]


@pytest.mark.parametrize("name", [ROLE_CERTIFICATE_FILE, ROLE_CA_FILE])
def test_every_flipped_bit_of_a_certificate_is_refused_or_harmless(
    role_dir: Path, leaf: LeafCredentials, name: str
) -> None:
    """A flipped bit in each byte of the DER of the role's certificate or of its CA copy:
    the directory either loads as the same role, or is refused with TransportSecurityError."""
    original = leaf.certificate if name == ROLE_CERTIFICATE_FILE else leaf.ca_certificate
    refused = 0
    for damaged in _flips(_der(original)):
        (role_dir / name).write_bytes(_pem(damaged))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # cryptography warns of a non-positive serial
                loaded = load_role_dir(role_dir)
        except TransportSecurityError:
            refused += 1
            continue
        assert role_of(loaded.certificate) == Role.credential_authority()
    assert refused >= len(_der(original)) * 9 // 10


def test_every_flipped_bit_of_the_key_is_refused_or_harmless(
    role_dir: Path, leaf: LeafCredentials
) -> None:
    """The same for the key file's PEM text, one bit at a time in the base64 body: the key
    is the certificate's, or the directory is refused."""
    original = leaf.key_pem
    start = original.index(b"\n") + 1
    end = original.rindex(b"-----END")
    for position in range(start, end):
        for bit in range(7):
            damaged = bytearray(original)
            damaged[position] ^= 1 << bit
            (role_dir / ROLE_KEY_FILE).write_bytes(bytes(damaged))
            try:
                loaded = load_role_dir(role_dir)
            except TransportSecurityError:
                continue
            assert loaded.key.private_numbers() == leaf.key.private_numbers()
