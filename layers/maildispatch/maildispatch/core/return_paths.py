"""What a returned message needs to find its way back: which message, which recipient, whose report.

When the dispatcher sends with a VERP return path it remembers, under the token's id and under
the Message-ID, the message key, the recipient and where reports go. Returned mail is matched by
the token first, then by the Message-ID of the returned original (which proves only the addresses
that message was sent to, kept with its entry), then only by the recipient it names. The entries live in the ledger table (partition keys `verp#<id>` and `msgid#<id>`), with
the ledger's retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MatchedBy(StrEnum):
    """How returned mail was matched to what we sent."""

    VERP = "verp"  # the signed return path it came back to
    MESSAGE_ID = "message_id"  # the Message-ID of the original it quotes: proves only recipients it was sent to
    RECIPIENT = "recipient"  # only the recipient it names: reported, never suppresses
    UNPROVEN = "unproven"  # matched, but nothing proves this recipient's failure: reported, never suppresses


# Only these can suppress an address.
VERIFIED_MATCHES = frozenset({MatchedBy.VERP, MatchedBy.MESSAGE_ID})


@dataclass(frozen=True)
class SentMessage:
    """What we sent to a recipient, as the returned-mail function needs it to prove a bounce is ours."""

    message_key: str
    recipient: str | None  # None for an entry found by Message-ID (the returned report names the recipient)
    report_to: str | None  # the original sender's address, where reports about this message go
    from_address: str | None = None
    subject: str | None = None
    message_id: str | None = None
    # For an entry found by Message-ID: every address this message was sent to (lower case). A report
    # matched by Message-ID proves a failure only for addresses in this set; None (an entry written
    # before the set was kept) proves it for none.
    sent_to: tuple[str, ...] | None = None


def verp_key(verp_id: str) -> str:
    return f"verp#{verp_id}"


def message_id_key(message_id: str) -> str:
    return f"msgid#{message_id.strip().strip('<>').lower()}"
