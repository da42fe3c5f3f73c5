"""One-click unsubscribe (RFC 8058): the signed token, the header fields, the event.

Campaign mail carries

    List-Unsubscribe: <https://HOST/u/TOKEN>, <mailto:ADDRESS?subject=unsubscribe%20TOKEN>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

and `{{ unsubscribe_url }}` for the visible link. The receiver POSTs `List-Unsubscribe=One-Click`
to the https URI with no cookies and follows no redirect, so the URI alone must say who leaves which
list: the token binds the address, the list and the campaign, and is signed (HMAC-SHA256 over a
domain-separated text, core/signing.py) with a key only we hold, so nobody can unsubscribe an
address they made up, and an altered token (another address, another list) fails. The token is
base64url (no padding): ASCII whatever the address, safe in a URL path and in a header field.

A GET never unsubscribes: link scanners and anti-spam systems fetch header URLs (RFC 8058's reason
for POST); it shows a page with a button that POSTs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from maildispatch.core.request import SendRequest
from maildispatch.core.signing import sign_unsubscribe, unsubscribe_signature_valid

TOKEN_VERSION = 1
TAG_BYTES = 16  # 128-bit tag: forging one is out of reach
MAX_TOKEN_CHARS = 1024  # a longer path segment is refused before anything is decoded
ONE_CLICK = "List-Unsubscribe=One-Click"
LIST_SCOPE_PREFIX = "list:"
EVENT_DETAIL_TYPE = "Email Unsubscribed"


@dataclass(frozen=True)
class Subscription:
    """Who leaves what: the address, the list (the scope of the unsubscribe) and the campaign that carried it."""

    address: str
    list_id: str
    campaign_id: str

    @property
    def scope(self) -> str:
        return list_scope(self.list_id)


def list_scope(list_id: str) -> str:
    """The suppression scope of a list: an unsubscribe blocks this list's mail, nothing else."""
    return LIST_SCOPE_PREFIX + list_id


def make_token(key: bytes, subscription: Subscription) -> str:
    address = subscription.address.strip().lower()
    parts = [address, subscription.list_id, subscription.campaign_id]
    if any("\0" in part for part in parts):
        raise ValueError("a token part holds NUL")
    payload = bytes([TOKEN_VERSION]) + "\0".join(parts).encode("utf-8")
    tag = bytes.fromhex(sign_unsubscribe(key, payload))[:TAG_BYTES]
    return base64.urlsafe_b64encode(payload + tag).decode("ascii").rstrip("=")


def read_token(key: bytes | None, token: str) -> Subscription | None:
    """The subscription a token names, or None when it is not one of ours (forged, altered, truncated)."""
    if not key or not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) <= TAG_BYTES + 1 or raw[0] != TOKEN_VERSION:
        return None
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not unsubscribe_signature_valid(key, payload, tag):
        return None
    try:
        address, list_id, campaign_id = payload[1:].decode("utf-8").split("\0")
    except ValueError:
        return None
    return Subscription(address, list_id, campaign_id)


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/u/{token}"


def list_unsubscribe_headers(base_url: str | None, mailto: str | None, token: str) -> tuple[tuple[str, str], ...]:
    """List-Unsubscribe (https first, then mailto) and, with an https URI, List-Unsubscribe-Post."""
    uris = []
    if base_url:
        uris.append(f"<{unsubscribe_url(base_url, token)}>")
    if mailto:
        uris.append(f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>")
    if not uris:
        return ()
    headers = [("List-Unsubscribe", ", ".join(uris))]
    if base_url:
        headers.append(("List-Unsubscribe-Post", ONE_CLICK))
    return tuple(headers)


def with_unsubscribe(request: SendRequest, key: bytes, base_url: str | None, mailto: str | None) -> SendRequest:
    """Campaign mail with its recipient's one-click unsubscribe: List-Unsubscribe, List-Unsubscribe-Post
    (replacing any the producer gave) and, for a template, the variable unsubscribe_url. Other mail, or
    no URI to offer, comes back unchanged."""
    if request.campaign is None or not (base_url or mailto):
        return request
    [recipient] = request.recipients  # the parser allows campaign mail one recipient
    token = make_token(key, Subscription(recipient.address, request.campaign.list_id, request.campaign.id))
    ours = list_unsubscribe_headers(base_url, mailto, token)
    theirs = tuple(h for h in request.headers if h[0].lower() not in ("list-unsubscribe", "list-unsubscribe-post"))
    variables = request.variables
    if request.template is not None and base_url:
        variables = MappingProxyType({**variables, "unsubscribe_url": unsubscribe_url(base_url, token)})
    return replace(request, headers=theirs + ours, variables=variables)


def unsubscribed_event_detail(subscription: Subscription, *, at: str, how: str) -> dict[str, Any]:
    """The detail of an `Email Unsubscribed` event (how: "one-click" from a mail client, "page" from the button)."""
    return {
        "version": 1,
        "address": subscription.address,
        "list": subscription.list_id,
        "campaign": subscription.campaign_id,
        "scope": subscription.scope,
        "unsubscribed_at": at,
        "how": how,
    }
