"""Checks Amazon SNS message signatures: the certificate fetched, its chain validated, the RSA signature verified.

The pure rules (what is signed, which certificate URLs are SNS's) are core/sns_signature.py. Here:

- The certificate at SigningCertURL is fetched over HTTPS (system CAs, host name checked, no
  redirects), at most MAX_CERT_BYTES within FETCH_TIMEOUT_S, once per container: cached by URL
  (SNS rotates certificates by publishing a new URL). A certificate that fails validation is
  cached as untrusted for UNTRUSTED_FOR_S, so a flood of messages naming it costs one fetch
  every ten minutes.
- Its chain is validated against the system CAs (the file and directory OpenSSL uses, which
  SSL_CERT_FILE/SSL_CERT_DIR override; botocore's bundle where there are none), at the time of the check: an expired certificate or one
  from an unknown issuer is untrusted. Intermediates come from the PEM itself and, if it holds
  only the leaf, from the leaf's Authority Information Access "CA Issuers" URL (one hop, same
  limits; such an intermediate is only ever a path to a system root, never trusted by itself).
- The leaf must name an SNS host (its subject alternative names or common name) and carry an RSA key.

A certificate that cannot be fetched for a network reason (timeout, connection, 5xx) raises
CertificateUnavailable: the record is retried rather than a real notification being distrusted.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from maildispatch.core.sns_signature import SignatureCheck, SignatureUncheckable, is_trusted_cert_url, signed_message

log = logging.getLogger("maildispatch.sns_signature")

FETCH_TIMEOUT_S = 5.0
MAX_CERT_BYTES = 64 * 1024  # an SNS PEM is about 2 KB
MAX_CACHED_CERTS = 32
UNTRUSTED_FOR_S = 600.0  # a refused certificate is fetched again after this long (a passing fault heals)
_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}
_SNS_CERT_NAMES = ("sns.amazonaws.com", "sns.amazonaws.com.cn")


class CertificateUnavailable(Exception):
    """The signing certificate could not be fetched for a reason that may pass (network, 5xx): retry."""


class _Untrusted(Exception):
    """The certificate was fetched and is not one to trust (not a certificate, bad chain, expired, wrong name)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead anywhere: the certificate must be where the URL says


@dataclass
class SnsSignatureVerifier:
    """The NotificationVerifier port: a check of one SNS envelope at a time, certificates cached per container."""

    executor: Executor
    expected_topic_arn: str | None = None
    test_cert_host: str | None = None  # tests only: a loopback host[:port] also allowed for SigningCertURL
    timeout_s: float = FETCH_TIMEOUT_S
    untrusted_for_s: float = UNTRUSTED_FOR_S  # how long a refused certificate stays refused without a new fetch
    _cache: dict[str, tuple[x509.Certificate | str, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def verify(self, envelope: Mapping[str, Any]) -> SignatureCheck:
        try:
            signed = signed_message(
                envelope, expected_topic_arn=self.expected_topic_arn, test_cert_host=self.test_cert_host
            )
        except SignatureUncheckable as error:
            return SignatureCheck(False, str(error.problem))
        loop = asyncio.get_running_loop()
        certificate = await loop.run_in_executor(self.executor, self._certificate, signed.cert_url)
        if isinstance(certificate, str):
            return SignatureCheck(False, certificate)
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return SignatureCheck(False, "certificate_key_not_rsa")
        try:
            key.verify(signed.signature, signed.canonical, padding.PKCS1v15(), _HASHES[signed.hash_name]())
        except InvalidSignature:
            return SignatureCheck(False, "bad_signature")
        return SignatureCheck(True)

    def _certificate(self, url: str) -> x509.Certificate | str:
        """The validated leaf for `url`, or why it is untrusted (a short code); cached either way."""
        with self._lock:
            cached, cached_at = self._cache.get(url, (None, 0.0))
        if isinstance(cached, x509.Certificate):
            return "certificate_expired" if _expired(cached) else cached
        if cached is not None and time.monotonic() - cached_at < self.untrusted_for_s:
            return cached
        try:
            result: x509.Certificate | str = _validated_leaf(_fetch(url, self.timeout_s), self.timeout_s)
        except _Untrusted as error:
            log.warning("SNS signing certificate not trusted", extra={"cert_url": url, "error": str(error)})
            result = "certificate_untrusted"
        with self._lock:
            if len(self._cache) >= MAX_CACHED_CERTS:
                self._cache.pop(next(iter(self._cache)))
            self._cache.pop(url, None)
            self._cache[url] = (result, time.monotonic())
        return result


def _fetch(url: str, timeout_s: float) -> bytes:
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ssl.create_default_context()), _NoRedirects()
    )
    try:
        with opener.open(url, timeout=timeout_s) as response:  # https only: core checked the URL
            body: bytes = response.read(MAX_CERT_BYTES + 1)
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise CertificateUnavailable(f"{url}: HTTP {error.code}") from None
        raise _Untrusted(f"HTTP {error.code}") from None
    except ssl.SSLCertVerificationError as error:
        raise _Untrusted(f"TLS: {error.verify_message}") from None
    except (urllib.error.URLError, OSError) as error:  # timeouts, refused connections, resets
        raise CertificateUnavailable(f"{url}: {error}") from None
    if len(body) > MAX_CERT_BYTES:
        raise _Untrusted(f"larger than {MAX_CERT_BYTES} bytes")
    return body


def _validated_leaf(pem: bytes, timeout_s: float) -> x509.Certificate:
    try:
        leaf, *intermediates = x509.load_pem_x509_certificates(pem)
    except ValueError as error:
        raise _Untrusted(f"not a PEM certificate: {error}") from None
    if not _names_sns(leaf):
        raise _Untrusted("the certificate does not name an SNS host")
    if not intermediates:
        intermediates = _issuer_from_aia(leaf, timeout_s)
    policy = (
        PolicyBuilder()
        .store(system_trust_store())
        .time(datetime.datetime.now(datetime.UTC))
        # the CAs are held to the Web PKI rules; the leaf is a signing certificate, not a TLS server's
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
    )
    try:
        policy.build_client_verifier().verify(leaf, intermediates)
    except VerificationError as error:
        raise _Untrusted(f"chain: {error}") from None
    return leaf


def _names_sns(leaf: x509.Certificate) -> bool:
    names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
    try:
        names += leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        pass
    return any(name.lower() in _SNS_CERT_NAMES or _is_regional_sns_name(name.lower()) for name in names)


def _is_regional_sns_name(name: str) -> bool:
    return is_trusted_cert_url(f"https://{name}/x.pem")


def _issuer_from_aia(leaf: x509.Certificate, timeout_s: float) -> list[x509.Certificate]:
    try:
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    for description in aia:
        location = description.access_location
        if description.access_method != AuthorityInformationAccessOID.CA_ISSUERS:
            continue
        if not isinstance(location, x509.UniformResourceIdentifier) or not location.value.startswith(
            ("http://", "https://")
        ):
            continue
        try:
            with urllib.request.urlopen(location.value, timeout=timeout_s) as response:
                body: bytes = response.read(MAX_CERT_BYTES + 1)
        except (urllib.error.URLError, OSError) as error:
            raise CertificateUnavailable(f"the issuer of the SNS certificate: {error}") from None
        if len(body) > MAX_CERT_BYTES:
            return []
        try:  # published as DER (RFC 5280 4.2.2.1), sometimes as PEM
            return [x509.load_der_x509_certificate(body)]
        except ValueError:
            try:
                return x509.load_pem_x509_certificates(body)
            except ValueError:
                return []
    return []


def _expired(certificate: x509.Certificate) -> bool:
    return certificate.not_valid_after_utc <= datetime.datetime.now(datetime.UTC)


_stores: dict[tuple[str | None, str | None], Store] = {}


def system_trust_store() -> Store:
    """The system CAs, as OpenSSL finds them (SSL_CERT_FILE / SSL_CERT_DIR honoured): read once per container."""
    paths = ssl.get_default_verify_paths()
    key = (paths.cafile, paths.capath)
    store = _stores.get(key)
    if store is None:
        certificates: list[x509.Certificate] = []
        if paths.cafile:
            certificates += _pem_certificates(Path(paths.cafile))
        if paths.capath and Path(paths.capath).is_dir():
            for entry in sorted(Path(paths.capath).iterdir())[:5000]:  # hash links and their files: deduplicated
                if entry.is_file():
                    certificates += _pem_certificates(entry)
        if not certificates:  # a runtime without an OpenSSL CA bundle: the one botocore ships (Mozilla's)
            certificates += _pem_certificates(Path(_botocore_ca_bundle()))
        if not certificates:
            raise CertificateUnavailable("no system CA certificates found")
        store = _stores[key] = Store(_unique(certificates))
    return store


def _botocore_ca_bundle() -> str:
    try:
        from botocore.httpsession import DEFAULT_CA_BUNDLE

        return str(DEFAULT_CA_BUNDLE)
    except ImportError:
        return ""


def _pem_certificates(path: Path) -> list[x509.Certificate]:
    try:
        with warnings.catch_warnings():  # a system bundle may hold an old CA with a non-positive serial
            warnings.simplefilter("ignore")
            return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        return []


def _unique(certificates: list[x509.Certificate]) -> list[x509.Certificate]:
    seen: dict[bytes, x509.Certificate] = {}
    for certificate in certificates:
        seen.setdefault(certificate.fingerprint(hashes.SHA256()), certificate)
    return list(seen.values())
