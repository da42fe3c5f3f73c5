"""Throwaway TLS certificates for the local stack: a private CA and a server certificate.

The server certificate is valid for 127.0.0.1 and localhost (and any `names` given: MX hosts,
mta-sts.<domain>). Clients trust it by passing the
CA file as `ca_file`; without it, verification fails as it would for any unknown issuer.
The extensions satisfy Python 3.13's strict X.509 checks (VERIFY_X509_STRICT).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertificateFiles:
    ca_file: Path  # PEM: the CA certificate, for clients' trust store
    cert_file: Path  # PEM: the server certificate
    key_file: Path  # PEM: the server's private key (unencrypted)


def make_certificates(directory: Path, *, valid_days: int = 2, names: Sequence[str] = ()) -> CertificateFiles:
    """Write ca.pem, server.pem and server.key into `directory` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    not_before = now - datetime.timedelta(minutes=5)
    not_after = now + datetime.timedelta(days=valid_days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maildispatch test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    *(x509.DNSName(name) for name in names),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    paths = CertificateFiles(
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
    )
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key_file.chmod(0o600)
    return paths


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class SnsSigningFiles:
    """A test CA standing in for the system CAs, a TLS certificate for the loopback server that serves
    the signing certificates, and SNS-like signing certificates (RSA, as SNS's) issued under that CA."""

    ca_file: Path  # PEM: the only CAs the function under test trusts (SSL_CERT_FILE)
    server_cert_file: Path
    server_key_file: Path
    signing: dict[str, tuple[bytes, rsa.RSAPrivateKey]]  # name -> (PEM served at /<name>.pem, its private key)
    intermediate_der: bytes  # served at the `aia` certificate's CA Issuers URL


def make_sns_signing_certificates(directory: Path, *, aia_url: str) -> SnsSigningFiles:
    """Signing certificates, each served as a PEM:

    - `valid`: CN sns.amazonaws.com, issued by the test root;
    - `chained`: issued by an intermediate CA, the PEM holding the leaf and the intermediate;
    - `aia`: issued by the intermediate, the PEM holding only the leaf (as SNS's does), the
      intermediate found at its Authority Information Access CA Issuers URL (`aia_url`);
    - `expired`, `self-signed` (no chain), `other-name` (a good chain, not an SNS name).
    """
    directory.mkdir(parents=True, exist_ok=True)
    tls = make_certificates(directory / "tls")
    now = datetime.datetime.now(datetime.UTC)
    keys = iter(_rsa_keys(8))
    root_key = next(keys)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maildispatch test SNS root CA")])
    root = _ca_certificate(root_name, root_key, root_name, root_key, now, path_length=1)
    middle_key = next(keys)
    middle_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maildispatch test SNS intermediate CA")])
    middle = _ca_certificate(middle_name, middle_key, root_name, root_key, now, path_length=0)

    def leaf(
        name: str, *, expired: bool = False, issuer: tuple | None = (root_name, root_key), aia: str | None = None
    ) -> tuple[bytes, rsa.RSAPrivateKey]:
        key = next(keys)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        if expired:
            window = (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
        else:
            window = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=2))
        issuer_name, issuer_key = issuer or (subject, key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(window[0])
            .not_valid_after(window[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
        if aia:
            access = x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia)
            )
            builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
        cert = builder.sign(issuer_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), key

    chained_pem, chained_key = leaf("sns.amazonaws.com", issuer=(middle_name, middle_key))
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(tls.ca_file.read_bytes() + root.public_bytes(serialization.Encoding.PEM))
    return SnsSigningFiles(
        ca_file=ca_file,
        server_cert_file=tls.cert_file,
        server_key_file=tls.key_file,
        signing={
            "valid": leaf("sns.amazonaws.com"),
            "chained": (chained_pem + middle.public_bytes(serialization.Encoding.PEM), chained_key),
            "aia": leaf("sns.amazonaws.com", issuer=(middle_name, middle_key), aia=aia_url),
            "expired": leaf("sns.amazonaws.com", expired=True),
            "self-signed": leaf("sns.amazonaws.com", issuer=None),
            "other-name": leaf("attacker.example"),
        },
        intermediate_der=middle.public_bytes(serialization.Encoding.DER),
    )


_RSA_KEYS: list[rsa.RSAPrivateKey] = []


def _rsa_keys(n: int) -> list[rsa.RSAPrivateKey]:
    """RSA keys made once per test process (making them is most of a test stack's certificate cost)."""
    while len(_RSA_KEYS) < n:
        _RSA_KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_KEYS[:n]


def _ca_certificate(subject, key, issuer_name, issuer_key, now, *, path_length: int) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())
