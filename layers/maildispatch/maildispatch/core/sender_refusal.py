"""Replies about the sender or our own set-up, not about a recipient: they never suppress anyone.

A refusal of MAIL FROM concerns the envelope sender, whatever its wording: Postfix says
`550 5.1.0 <sender>: Sender address rejected: User unknown in local recipient table`, which reads
like a dead recipient mailbox to a wording classifier. So a failure is about the sender when the
server answered MAIL FROM (or the returned report says the command was MAIL), when its enhanced
status is a bad sender address (X.1.7, X.1.8), or when its text says the sender was rejected.
Such failures are still reported to the sender (their own set-up must change) and counted.
"""

from __future__ import annotations

import re

SENDER_STATUSES = frozenset({"5.1.7", "5.1.8", "4.1.7", "4.1.8"})  # RFC 3463: bad sender's (system) address

_ABOUT_SENDER = re.compile(
    r"sender\s+address\s+rejected"
    r"|sender\s+verif\w*\s+(?:failed|failure)"
    r"|sender\s+(?:address\s+)?(?:domain\s+)?(?:is\s+)?(?:invalid|unknown|not\s+allowed|not\s+permitted|denied|refused)"
    r"|(?:bad|invalid|unverified|unknown)\s+sender"
    r"|sender\s+domain\s+(?:does\s+not\s+exist|not\s+found|must\s+resolve|must\s+exist)"
    r"|sender\s+rejected"
    r"|(?:^|\s)5\.1\.[78](?:\s|$)",
    re.IGNORECASE,
)


def is_about_sender(command: str | None, status: str | None, diagnostic: str | None) -> bool:
    """The failure concerns the envelope sender (or our set-up), not the recipient it is reported for."""
    if command and command.strip().upper().startswith("MAIL"):
        return True
    if status and status.strip() in SENDER_STATUSES:
        return True
    return bool(diagnostic and _ABOUT_SENDER.search(diagnostic[:2000]))
