"""Internal signatures: what our own functions write to a queue, provably written by them.

Producers can put anything on the send queue, and SQS moves a crash-looping record to the
dead-letter queue as it came, message attributes included. So neither a report-shaped body on
the dead-letter queue nor a re-enqueue attribute on the send queue says who wrote it. The
functions sign what they write with an internal key (HMAC-SHA256, from Secrets Manager), and
trust only what verifies:

- a bounce report on the dead-letter queue: the report body, in REPORT_SIGNATURE_ATTRIBUTE;
- a re-enqueued send record: its body, message key and arrival time, in REQUEUE_SIGNATURE_ATTRIBUTE;
- a one-click unsubscribe token (core/unsubscribe.py): the address, list and campaign it names.

Each kind of signature is over its own domain-separated text, so one can never stand in for the
other. Keys are never logged or shown: only `key_id` (a short fingerprint) may be.
"""

from __future__ import annotations

import hashlib
import hmac
import math

REPORT_SIGNATURE_ATTRIBUTE = "maildispatch-report-signature"
REQUEUE_SIGNATURE_ATTRIBUTE = "maildispatch-requeue-signature"

_REPORT_DOMAIN = b"maildispatch bounce report v1\n"
_REQUEUE_DOMAIN = b"maildispatch requeue v1\n"
_UNSUBSCRIBE_DOMAIN = b"maildispatch unsubscribe v1\n"


def _mac(key: bytes, domain: bytes, *parts: bytes) -> str:
    mac = hmac.new(key, domain, hashlib.sha256)
    for part in parts:
        mac.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two part lists sign alike
        mac.update(part)
    return mac.hexdigest()


def sign_report(key: bytes, body: str) -> str:
    return _mac(key, _REPORT_DOMAIN, body.encode("utf-8"))


def report_signature_valid(key: bytes | None, body: str, signature: str | None) -> bool:
    if not key or not signature:
        return False
    return hmac.compare_digest(sign_report(key, body), signature)


def sign_requeue(key: bytes, body: str, message_key: str, arrival: str) -> str:
    return _mac(key, _REQUEUE_DOMAIN, body.encode("utf-8"), message_key.encode("utf-8"), arrival.encode("utf-8"))


def verified_requeue(
    key: bytes | None, body: str, message_key: str | None, arrival: str | None, signature: str | None
) -> tuple[str, float] | None:
    """The (message key, arrival) a re-enqueued record carries, when our signature over them and the
    body verifies and the arrival is a finite time; None otherwise (then the record's own facts count)."""
    if not key or not signature or not message_key or arrival is None:
        return None
    if not hmac.compare_digest(sign_requeue(key, body, message_key, arrival), signature):
        return None
    try:
        when = float(arrival)
    except ValueError:
        return None
    return (message_key, when) if math.isfinite(when) and when > 0 else None


def sign_unsubscribe(key: bytes, payload: bytes) -> str:
    return _mac(key, _UNSUBSCRIBE_DOMAIN, payload)


def unsubscribe_signature_valid(key: bytes, payload: bytes, tag: bytes) -> bool:
    """`tag`: the leading bytes of the signature (a token carries a truncated one)."""
    if len(tag) < 16:  # under 128 bits a tag could be guessed
        return False
    return hmac.compare_digest(bytes.fromhex(sign_unsubscribe(key, payload))[: len(tag)], tag)


def key_id(key: bytes) -> str:
    """A short fingerprint of a key, safe to log."""
    return hashlib.sha256(b"key id\n" + key).hexdigest()[:8]
