"""What an Amazon SNS message signature covers and where its certificate may come from: pure rules.

SNS signs every message it delivers in its standard JSON envelope (not with raw message delivery).
The signature (`SignatureVersion` 1: SHA1withRSA, 2: SHA256withRSA, base64 in `Signature`) is over
a canonical string: for each signed field present, in byte order of the names, the name, a newline,
the value, a newline. Notifications sign Message, MessageId, Subject (only when present),
Timestamp, TopicArn, Type; subscription and unsubscribe confirmations sign Message, MessageId,
SubscribeURL, Timestamp, Token, TopicArn, Type. Source: AWS, "Verifying the signatures of Amazon
SNS messages" and "HTTP/HTTPS notification JSON format" (Amazon SNS Developer Guide).

The public key is in the certificate at `SigningCertURL`, which must be fetched over HTTPS from an
SNS endpoint of a known partition (`sns.<region>.amazonaws.com`, `.amazonaws.com.cn`, and the
GovCloud regions, which use the same name form) with a path ending in `.pem`: a certificate named
by anything else is never fetched, so a forger cannot point us at a key of their own. The
crypto (fetching, chain validation, RSA) is the adapter's (adapters/sns_signature.py).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_OPTIONAL_FIELDS = frozenset({"Subject"})
HASH_FOR_VERSION = {"1": "sha1", "2": "sha256"}  # SignatureVersion -> the digest of SHA...withRSA
MAX_SIGNATURE_BYTES = 1024  # an RSA-4096 signature is 512 bytes

# sns.<region>.amazonaws.com (commercial and GovCloud, e.g. us-gov-west-1) and
# sns.<region>.amazonaws.com.cn (China). Regions are lower-case letters, digits and hyphens.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?")


class SignatureProblem(StrEnum):
    """Why a message's signature cannot be checked (before any cryptography)."""

    NOT_AN_ENVELOPE = "not_an_envelope"  # raw message delivery, or not from SNS at all
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    UNKNOWN_VERSION = "unknown_signature_version"
    BAD_SIGNATURE_ENCODING = "bad_signature_encoding"
    UNTRUSTED_CERT_URL = "untrusted_cert_url"
    WRONG_TOPIC = "wrong_topic"


class SignatureUncheckable(ValueError):
    def __init__(self, problem: SignatureProblem, detail: str) -> None:
        super().__init__(f"{problem}: {detail}")
        self.problem = problem


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one SNS envelope: valid, or why not (a short code for logs and metrics)."""

    valid: bool
    problem: str | None = None


@dataclass(frozen=True)
class SignedMessage:
    """What the adapter needs to check one envelope's signature."""

    canonical: bytes  # the string to sign, UTF-8
    signature: bytes
    hash_name: str  # "sha1" or "sha256"
    cert_url: str
    topic_arn: str


def signed_message(
    envelope: Mapping[str, Any], *, expected_topic_arn: str | None = None, test_cert_host: str | None = None
) -> SignedMessage:
    """The parts of an SNS envelope its signature is checked with; raises SignatureUncheckable.

    `test_cert_host`: a loopback host[:port] also allowed for SigningCertURL (tests only; see
    runtime/settings.py).
    """
    message_type = envelope.get("Type")
    if not isinstance(message_type, str) or ("Signature" not in envelope and "SignatureVersion" not in envelope):
        raise SignatureUncheckable(SignatureProblem.NOT_AN_ENVELOPE, "no SNS envelope with a signature")
    fields: tuple[str, ...]
    if message_type == "Notification":
        fields = NOTIFICATION_FIELDS
    elif message_type in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        fields = CONFIRMATION_FIELDS
    else:
        raise SignatureUncheckable(SignatureProblem.UNKNOWN_TYPE, f"type {message_type[:40]!r}")
    hash_name = HASH_FOR_VERSION.get(str(envelope.get("SignatureVersion")))
    if hash_name is None:
        raise SignatureUncheckable(SignatureProblem.UNKNOWN_VERSION, "SignatureVersion must be 1 or 2")
    signature = _decode_signature(envelope.get("Signature"))
    cert_url = envelope.get("SigningCertURL")
    if not isinstance(cert_url, str) or not is_trusted_cert_url(cert_url, test_host=test_cert_host):
        raise SignatureUncheckable(SignatureProblem.UNTRUSTED_CERT_URL, "SigningCertURL is not an SNS certificate")
    topic_arn = envelope.get("TopicArn")
    if expected_topic_arn is not None and topic_arn != expected_topic_arn:
        raise SignatureUncheckable(SignatureProblem.WRONG_TOPIC, "TopicArn is not our SES notification topic")
    return SignedMessage(canonical_string(envelope, fields), signature, hash_name, cert_url, str(topic_arn))


def canonical_string(envelope: Mapping[str, Any], fields: tuple[str, ...] = NOTIFICATION_FIELDS) -> bytes:
    """The string SNS signs: `name\\nvalue\\n` for each field, in order, optional ones only when present."""
    parts: list[str] = []
    for name in fields:
        value = envelope.get(name)
        if value is None and name in _OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise SignatureUncheckable(SignatureProblem.MISSING_FIELD, f"{name} missing or not a string")
        parts += [name, "\n", value, "\n"]
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a JSON \ud800 escape: SNS never signs those
        raise SignatureUncheckable(SignatureProblem.MISSING_FIELD, "a signed field is not valid Unicode") from None


def is_trusted_cert_url(url: str, *, test_host: str | None = None) -> bool:
    """https, an SNS host of a known partition (no user info, default port), a path ending in .pem."""
    if len(url) > 2048 or any(c.isspace() or ord(c) < 0x20 for c in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return False
    if parts.query or parts.fragment or not parts.path.endswith(".pem"):
        return False
    host = (parts.hostname or "").lower()
    if test_host is not None and parts.netloc.lower() == test_host.lower():
        return True
    return port in (None, 443) and _SNS_HOST.fullmatch(host) is not None


def is_loopback_host(netloc: str) -> bool:
    """`localhost[:port]` or a loopback IP[:port]: the only thing a test may add to the allowed cert hosts."""
    try:
        parts = urlsplit("//" + netloc)
        _ = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.username is not None or parts.path or host == "":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _decode_signature(value: Any) -> bytes:
    if not isinstance(value, str) or not value or len(value) > MAX_SIGNATURE_BYTES * 2:
        raise SignatureUncheckable(SignatureProblem.BAD_SIGNATURE_ENCODING, "Signature missing or too long")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureUncheckable(SignatureProblem.BAD_SIGNATURE_ENCODING, "Signature is not base64") from None
