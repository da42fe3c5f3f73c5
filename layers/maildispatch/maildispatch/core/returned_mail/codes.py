"""What the standard codes mean: RFC 3463 enhanced status codes and SMTP reply codes -> reason.

Data, not rules about any MTA's wording. Sources:
  - RFC 3463 (Enhanced Mail System Status Codes), section 3 "subject" and section 4 "detail"
  - the IANA "SMTP Enhanced Status Codes" registry (RFC 5248), which adds X.7.8..X.7.30 etc.:
    RFC 4468/4954 (X.5.6, X.7.8, X.7.9, X.7.11, X.7.12), RFC 5248, RFC 6710 (X.7.14, X.7.15, X.7.16..),
    RFC 7293 (X.7.17..X.7.19, X.7.13 "user account disabled"), RFC 7372 (X.7.20..X.7.26 DKIM/SPF/
    reverse DNS), RFC 7505 (X.1.10 null MX), RFC 8689 (X.7.30 REQUIRETLS), RFC 3886 (X.1.9),
    RFC 6531/6533 (X.6.7..X.6.10 internationalised addresses), RFC 7504 (521/556)
  - RFC 5321 section 4.2 (reply codes) and RFC 7504 (521 and 556: the host/domain accepts no mail)

An entry is (meaning, reason or None, decisive). `decisive` marks a code whose meaning alone names a
reason (X.1.1 "bad destination mailbox" is userunknown); an entry that is not decisive only breaks
a tie when the words say nothing (X.7.1 "delivery not authorized" may be a block, a relay refusal,
a spam verdict, ...). None: the code says nothing about a reason.
"""

from __future__ import annotations

# subject.detail -> (RFC meaning, reason, decisive)
ENHANCED: dict[str, tuple[str, str | None, bool]] = {
    # X.0.0 Other undefined status
    "0.0": ("other undefined status", None, False),
    # X.1.X Addressing status
    "1.0": ("other address status", "userunknown", False),
    "1.1": ("bad destination mailbox address", "userunknown", True),
    "1.2": ("bad destination system address", "hostunknown", True),
    "1.3": ("bad destination mailbox address syntax", "userunknown", True),
    "1.4": ("destination mailbox address ambiguous", "userunknown", False),
    "1.5": ("destination address valid", "delivered", True),
    "1.6": ("destination mailbox has moved, no forwarding address", "hasmoved", True),
    "1.7": ("bad sender's mailbox address syntax", "rejected", True),
    "1.8": ("bad sender's system address", "rejected", True),
    "1.9": ("message relayed to non-compliant mailer", None, False),  # RFC 3886
    # RFC 7505; but Exchange Online writes 5.1.10 for "RESOLVER.ADR.RecipientNotFound" too, so
    # only the words decide between a null MX and an unknown recipient.
    "1.10": ("recipient address has null MX", "notaccept", False),
    # X.2.X Mailbox status
    "2.0": ("other or undefined mailbox status", None, False),
    "2.1": ("mailbox disabled, not accepting messages", "filtered", False),
    "2.2": ("mailbox full", "mailboxfull", True),
    "2.3": ("message length exceeds administrative limit", "exceedlimit", True),
    "2.4": ("mailing list expansion problem", "mailererror", False),
    # X.3.X Mail system status
    "3.0": ("other or undefined mail system status", None, False),
    "3.1": ("mail system full", "systemfull", True),
    "3.2": ("system not accepting network messages", "notaccept", False),
    "3.3": ("system not capable of selected features", "systemerror", False),
    "3.4": ("message too big for system", "mesgtoobig", True),
    "3.5": ("system incorrectly configured", "systemerror", True),
    "3.6": ("requested priority was changed", None, False),  # RFC 6710
    # X.4.X Network and routing status
    "4.0": ("other or undefined network or routing status", "networkerror", False),
    "4.1": ("no answer from host", "expired", False),
    "4.2": ("bad connection", "networkerror", False),
    "4.3": ("directory server failure", "systemerror", False),
    "4.4": ("unable to route", "hostunknown", False),
    "4.5": ("mail system congestion", "systemerror", False),
    "4.6": ("routing loop detected", "networkerror", True),
    "4.7": ("delivery time expired", "expired", True),
    # X.5.X Mail delivery protocol status
    "5.0": ("other or undefined protocol status", "syntaxerror", False),
    "5.1": ("invalid command", "syntaxerror", False),
    "5.2": ("syntax error", "syntaxerror", False),
    "5.3": ("too many recipients", "toomanyconn", False),
    "5.4": ("invalid command arguments", "syntaxerror", False),
    "5.5": ("wrong protocol version", "syntaxerror", False),
    "5.6": ("authentication exchange line is too long", "securityerror", False),  # RFC 4954
    # X.6.X Message content or media status
    "6.0": ("other or undefined media error", "contenterror", False),
    "6.1": ("media not supported", "contenterror", True),
    "6.2": ("conversion required and prohibited", "contenterror", True),
    "6.3": ("conversion required but not supported", "contenterror", True),
    "6.4": ("conversion with loss performed", "contenterror", False),
    "6.5": ("conversion failed", "contenterror", True),
    "6.6": ("message content not available", "contenterror", False),  # RFC 4468
    "6.7": ("non-ASCII addresses not permitted for that sender/recipient", "contenterror", False),  # RFC 6531
    "6.8": ("UTF-8 string reply is required, but not permitted by the client", "contenterror", False),
    "6.9": ("UTF-8 header message cannot be transferred to one or more recipients", "contenterror", True),
    "6.10": ("reserved", None, False),
    # X.7.X Security or policy status
    "7.0": ("other or undefined security status", None, False),
    "7.1": ("delivery not authorized, message refused", "securityerror", False),
    "7.2": ("mailing list expansion prohibited", "securityerror", False),
    "7.3": ("security conversion required but not possible", "securityerror", True),
    "7.4": ("security features not supported", "securityerror", True),
    "7.5": ("cryptographic failure", "securityerror", True),
    "7.6": ("cryptographic algorithm not supported", "securityerror", True),
    "7.7": ("message integrity failure", "securityerror", True),
    "7.8": ("authentication credentials invalid", "securityerror", True),  # RFC 4954
    "7.9": ("authentication mechanism is too weak", "securityerror", False),  # RFC 4954
    "7.10": ("encryption needed", "securityerror", True),  # RFC 5248
    "7.11": ("encryption required for requested authentication mechanism", "securityerror", True),
    "7.12": ("a password transition is needed", "securityerror", True),
    "7.13": ("user account disabled", "suspend", True),  # RFC 7293 / RFC 5248
    "7.14": ("trust relationship required", "securityerror", False),
    "7.15": ("priority level is too low", "policyviolation", False),  # RFC 6710
    "7.16": ("message is too big for the specified priority", "mesgtoobig", False),
    "7.17": ("mailbox owner has changed", "hasmoved", False),  # RFC 7293 (require-recipient-valid-since)
    "7.18": ("domain owner has changed", "hasmoved", False),
    "7.19": ("RRVS test cannot be completed", "systemerror", False),
    "7.20": ("no passing DKIM signature found", "authfailure", True),  # RFC 7372
    "7.21": ("no acceptable DKIM signature found", "authfailure", True),
    "7.22": ("no valid author-matched DKIM signature found", "authfailure", True),
    "7.23": ("SPF validation failed", "authfailure", True),
    "7.24": ("SPF validation error", "authfailure", True),
    "7.25": ("reverse DNS validation failed", "requireptr", True),
    "7.26": ("multiple authentication checks failed", "authfailure", True),
    "7.27": ("sender address has null MX", "rejected", True),  # RFC 7505
    "7.28": ("mail flood detected", "speeding", True),  # IANA registry
    "7.29": ("ARC validation failure", "authfailure", True),  # RFC 8617
    "7.30": ("REQUIRETLS support required", "failedstarttls", True),  # RFC 8689
}

# The three-digit reply codes (RFC 5321 4.2.2-4.2.3, RFC 7504). Used only when no enhanced status
# code and no words decided: (meaning, reason or None).
REPLY: dict[int, tuple[str, str | None]] = {
    421: ("service not available, closing transmission channel", "systemerror"),
    450: ("mailbox unavailable (busy or temporarily blocked)", None),
    451: ("local error in processing", "systemerror"),
    452: ("insufficient system storage", "systemfull"),
    455: ("server unable to accommodate parameters", "systemerror"),
    500: ("syntax error, command unrecognised", "syntaxerror"),
    501: ("syntax error in parameters or arguments", "syntaxerror"),
    502: ("command not implemented", "syntaxerror"),
    503: ("bad sequence of commands", "syntaxerror"),
    504: ("command parameter not implemented", "syntaxerror"),
    521: ("host does not accept mail", "notaccept"),  # RFC 7504
    523: ("encryption needed", "securityerror"),  # RFC 5248 (X.7.10)
    530: ("authentication required", "securityerror"),  # RFC 4954
    534: ("authentication mechanism is too weak", "securityerror"),  # RFC 4954
    535: ("authentication credentials invalid", "securityerror"),  # RFC 4954
    538: ("encryption required for requested authentication mechanism", "securityerror"),  # RFC 4954
    550: ("mailbox unavailable / not found / refused for policy", None),
    551: ("user not local; please try <forward-path>", "hasmoved"),
    552: ("exceeded storage allocation", "mailboxfull"),
    553: ("mailbox name not allowed", None),
    554: ("transaction failed / no SMTP service here", None),
    555: ("MAIL FROM/RCPT TO parameters not recognised or not implemented", "syntaxerror"),
    556: ("domain does not accept mail", "notaccept"),  # RFC 7504
}


def detail_of(status: str | None) -> str | None:
    """'5.1.1' -> '1.1'."""
    if not status or status.count(".") != 2:
        return None
    return status.split(".", 1)[1]


def enhanced(status: str | None) -> tuple[str, str | None, bool] | None:
    """(meaning, reason, decisive) of an enhanced status code, or None when not registered."""
    detail = detail_of(status)
    return ENHANCED.get(detail) if detail else None


def permanent(status: str | None, reply_code: int | None) -> bool | None:
    """True for a permanent failure (5.X.X / 5yz), False for a transient one, None when unknown.
    The enhanced code is the more precise of the two (RFC 3463 section 2)."""
    if status and status[:1] in "45":
        return status[0] == "5"
    if reply_code and 400 <= reply_code < 600:
        return reply_code >= 500
    return None


__all__ = ["ENHANCED", "REPLY", "detail_of", "enhanced", "permanent"]
