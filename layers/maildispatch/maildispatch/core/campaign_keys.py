"""Campaign message keys: `cmp.<campaign id>.<32 hex>`, from which the ledger and dispatch find the campaign.

Kept apart from the campaign model (core/campaign.py) so that dispatch, which reads every key but meets
campaign mail only sometimes, loads the model with its first campaign record and not at cold start.
"""

from __future__ import annotations

import hashlib
import re

CAMPAIGN_KEY_PREFIX = "cmp."  # message keys cmp.<campaign id>.<32 hex>: the ledger finds the campaign from the key
CAMPAIGN_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def recipient_key(campaign_id: str, address: str) -> str:
    """The recipient's message key: the campaign plus a hash of the address, the same on every enqueue."""
    return f"{CAMPAIGN_KEY_PREFIX}{campaign_id}.{recipient_hash(address)}"


def recipient_hash(address: str) -> str:
    """32 hex digits of SHA-256 over the address as the ledger keys it (lower-cased)."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:32]


def campaign_of_key(message_key: str | None) -> str | None:
    """The campaign a message key belongs to (None for any other key)."""
    if not message_key or not message_key.startswith(CAMPAIGN_KEY_PREFIX):
        return None
    cid, dot, digest = message_key[len(CAMPAIGN_KEY_PREFIX) :].rpartition(".")
    if not dot or len(digest) != 32 or not CAMPAIGN_ID_RE.fullmatch(cid):
        return None
    return cid
