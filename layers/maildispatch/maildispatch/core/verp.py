"""VERP return paths: an envelope sender per (message, recipient) that returned mail maps back to.

`bounces+<id><tag>@<bounce domain>`: `id` names the (message key, recipient) pair (the ledger
keeps an alias from it, since a message key may be far longer than a local part's 64 octets),
and `tag` is an HMAC of the id with a key only we hold, so nobody can make up a return path
that would suppress an arbitrary address. Case-insensitive base32: some MTAs lower-case local
parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "bounces"
ID_BYTES = 10  # 80 bits: collisions are negligible within a ledger's 30-day retention
TAG_BYTES = 5  # 40-bit HMAC tag: a forged token is accepted once in 10^12 tries
_TOKEN = re.compile(rf"^{PREFIX}\+([a-z2-7]{{16}})([a-z2-7]{{8}})@(.+)$", re.IGNORECASE)


def verp_id(message_key: str, recipient: str) -> str:
    digest = hashlib.sha256(f"{message_key}\0{recipient.strip().lower()}".encode()).digest()[:ID_BYTES]
    return _b32(digest)


def return_path(message_key: str, recipient: str, *, secret: bytes, domain: str) -> str:
    token = verp_id(message_key, recipient)
    return f"{PREFIX}+{token}{_tag(token, secret)}@{domain}"


@dataclass(frozen=True)
class VerpToken:
    """The token a VERP return path carries, after its tag was verified."""

    id: str  # look the (message key, recipient) pair up by this


def parse_return_path(address: str, *, secret: bytes) -> VerpToken | None:
    """The token in a VERP address, or None when the address is not one or its tag is forged."""
    match = _TOKEN.match(address.strip().strip("<>"))
    if not match:
        return None
    token, tag = match.group(1).lower(), match.group(2).lower()
    if not hmac.compare_digest(tag, _tag(token, secret)):
        return None
    return VerpToken(token)


def _tag(token: str, secret: bytes) -> str:
    return _b32(hmac.new(secret, token.encode(), hashlib.sha256).digest()[:TAG_BYTES])


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()
