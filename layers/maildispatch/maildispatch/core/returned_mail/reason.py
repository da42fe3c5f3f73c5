"""Decide a recipient's reason: RFC 3463 status + SMTP reply + command + wording -> reason label.

Order of the evidence, strongest first:
  1. success (2.X.X, Action: delivered/relayed/expanded) -> delivered
  2. wording about the sender's own set-up (reverse DNS, SPF/DKIM/DMARC, IP reputation)
  3. the SMTP stage: a refusal at connect/HELO is a block of the sending host, at MAIL FROM a
     refusal of the sender (unless the wording names the host's IP or a block list)
  4. the specific wording rules of `wording.STRONG`
  5. a specific enhanced status code (X.1.1 user unknown, X.2.2 full, X.3.4 too big, ...)
  6. generic refusal wording (block lists, "sender rejected", "blocked", "filtered")
  7. the status code's class and subject (X.7.X security, X.4.X network, ...)
  8. Action: delayed -> expired; anything else said -> onhold; nothing at all -> undefined
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from maildispatch.core.enhanced_status import ENHANCED_STATUS

from . import codes, wording
from .model import CONFIDENCE_STRONG, CONFIDENCE_WEAK, HARD_REASONS, Confidence

SENDER_SIDE = ("requireptr", "authfailure", "badreputation")
# RFC 7504: a 521 greeting says the host accepts no mail at all (notaccept), not that we are blocked.
AT_CONNECT_EXCEPTIONS = ("toomanyconn", "speeding", "failedstarttls", "networkerror", "syntaxerror", "notaccept")
AT_MAIL_EXCEPTIONS = (
    "mesgtoobig",
    "exceedlimit",
    "systemfull",
    "spamdetected",
    "policyviolation",
    "speeding",
    "toomanyconn",
    "norelaying",
    "failedstarttls",
    "systemerror",
    "securityerror",
)

# Enhanced status codes specific enough to decide alone: the decisive entries of codes.ENHANCED
# (RFC 3463, RFC 7372, RFC 7505, IANA registry), plus X.4.1 "no answer from host" which, in a
# report that gave up, is a delivery that expired.
SPECIFIC_STATUS = {d: r for d, (_m, r, decisive) in codes.ENHANCED.items() if decisive and r and r != "delivered"}
SPECIFIC_STATUS.update({"2.1": "filtered", "4.1": "expired"})
# Less specific codes: read after the generic refusal wording.
STATUS_DETAIL = {
    "1.10": "userunknown",
    "3.0": "systemerror",  # X.3.0 other or undefined mail system status: the mail system, not the address
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "networkerror",  # 4.4.4; a permanent 5.4.4 is read as hostunknown in _decide
    "4.5": "systemerror",
    "7.1": "securityerror",
    "5.3": "toomanyconn",
    "7.9": "securityerror",
    "7.15": "policyviolation",
    "7.17": "hasmoved",
    "7.18": "hasmoved",
}
# What the status subject says when nothing more specific did.
STATUS_SUBJECT = {
    "1": "userunknown",
    "2": "mailboxfull",
    "3": "systemerror",
    "4": "networkerror",
    "5": "syntaxerror",
    "6": "contenterror",
    "7": "securityerror",
}
# Reply codes whose RFC 5321 / RFC 7504 meaning is specific enough to decide when nothing else did
# (552 "exceeded storage allocation", 551 "user not local", 521/556 "accepts no mail", 53x auth).
SPECIFIC_REPLY = (551, 552, 521, 556, 523, 530, 534, 535, 538)
SYNTAX_REPLIES = (500, 501, 502, 503, 504, 555)  # RFC 5321 4.2.2 / RFC 1869: command or parameter errors
NOT_DELIVERY = ("delivered", "relayed", "expanded")
# Rules whose wording names the reason but not unambiguously: they never make a hard verdict strong.
LOOSE_RULES = frozenset({"no-user-loose", "no-domain-loose", "refused-at-rcpt", "unrecognised", "nothing-said"})


@dataclass(frozen=True)
class Assessment:
    """A reason with what decided it."""

    reason: str
    rule: str
    evidence: str
    confidence: Confidence


_DISABLED: frozenset[str] = frozenset()


@contextmanager
def disabled_phrases(alternatives: Iterable[str]) -> Iterator[None]:
    """Switch single catalog phrases off (by their pattern text) for a measurement: used by the
    leave-one-family-out score to classify a family without the phrases only it writes."""
    global _DISABLED
    saved = _DISABLED
    _DISABLED = saved | frozenset(alternatives)
    _compiled_with.cache_clear()
    GENERIC.cache_clear()
    try:
        yield
    finally:
        _DISABLED = saved
        _compiled_with.cache_clear()
        GENERIC.cache_clear()


def _compiled(pattern: str) -> re.Pattern[str]:
    alternatives = getattr(pattern, "alternatives", ())
    return _compiled_with(pattern, _DISABLED if alternatives and _DISABLED else frozenset())


@lru_cache(maxsize=4096)
def _compiled_with(pattern: str, disabled: frozenset[str]) -> re.Pattern[str]:
    alternatives = getattr(pattern, "alternatives", ())
    if disabled and alternatives:
        kept = [a for a in alternatives if a not in disabled]
        return re.compile("|".join(f"(?:{a})" for a in kept) or r"(?!x)x", re.I)
    return re.compile(pattern, re.I)


def _strong(
    reasons: tuple[str, ...] | None = None, exclude: tuple[str, ...] = ()
) -> Iterator[tuple[str, str, re.Pattern[str]]]:
    for reason, name, pattern in wording.STRONG:
        if (reasons is None or reason in reasons) and reason not in exclude:
            yield reason, name, _compiled(pattern)


_INNER_REPLY = re.compile(rf"(?<=\S) [245]\d\d[ -](?:{ENHANCED_STATUS} )?(?=\S)")


def normalise(text: str | None) -> str:
    """Lower case, one line, and without the reply code repeated inside a multi-line reply
    ("... multiple 550-5.7.1 addresses ..." -> "... multiple addresses ...")."""
    text = " ".join((text or "")[:4000].lower().replace("’", "'").split())
    head, sep, rest = text.partition(" ")
    return head + sep + _INNER_REPLY.sub(" ", rest) if rest else text


def classify_reason(
    status: str | None,
    reply_code: int | None,
    diagnostic: str | None,
    command: str | None = None,
    action: str | None = None,
    context: str | None = None,
    single: bool = True,
) -> tuple[str, str]:
    """(reason, rule name) for one recipient (see `assess` for the evidence and confidence)."""
    found = assess(status, reply_code, diagnostic, command, action, context, single)
    return found.reason, found.rule


def assess(
    status: str | None,
    reply_code: int | None,
    diagnostic: str | None,
    command: str | None = None,
    action: str | None = None,
    context: str | None = None,
    single: bool = True,
) -> Assessment:
    """The reason for one recipient, the evidence that decided it, and how strong that is.

    `context` is the rest of the notification, read only when the recipient's own diagnostic
    decides nothing (some MTAs say why once for all recipients, away from the addresses).
    """
    text = normalise(diagnostic)
    reason, rule, how, matched = _decide(status, reply_code, text, command, (action or "").lower(), context, single)
    return _weigh(reason, rule, how, matched, status, reply_code, text, command)


def _decide(
    status: str | None,
    reply_code: int | None,
    text: str,
    command: str | None,
    action: str,
    context: str | None,
    single: bool,
) -> tuple[str, str, str, str]:
    """(reason, rule, kind of evidence, the words or code that decided)."""
    if reply_code and 200 <= reply_code < 300 and not status and action == "failed":
        # A failure report whose only reply is a success ("Delivery Failure Report ... because: 250 Message
        # received OK.", IBM technote 1100477 for Domino R5's improperly addressed SMTP mail): the report
        # says it failed and nothing says why; RFC 3464's Action: failed is the report's word, the quoted
        # 250 is no delivery.
        return "undefined", "success-reply-in-failure", "structure", str(reply_code)
    if (
        action in NOT_DELIVERY
        or (status or "").startswith("2")
        or (reply_code and 200 <= reply_code < 300 and not status)
    ):
        return "delivered", "success", "success", action or status or str(reply_code)

    for reason, name, pattern in _strong(SENDER_SIDE):
        m = pattern.search(text)
        if m:
            return reason, name, "phrase", m.group(0)
    if reply_code and reply_code >= 400 and str(reply_code) in text:
        m = _compiled(wording.SPF_IN_REPLY).search(text)
        if m:
            return "authfailure", "spf-in-reply", "phrase", m.group(0)
    if text.startswith("x-unix;"):
        # RFC 3464's diagnostic type names who wrote the text (a local program), not why it failed; words that
        # say the delivery time ran out ("X-Unix; delivery expired (message too old)", the final report a
        # FortiMail queue sends after its maximum time in queue) state the reason themselves.
        for reason, name, pattern in _strong(("expired",)):
            m = pattern.search(text)
            if m:
                return reason, name, "phrase", m.group(0)
        if status and codes.detail_of(status) == "4.7":  # RFC 3463 X.4.7 "delivery time expired"
            return "expired", f"status-{status}", "status", status
        if not any(p.search(text) for _, _, p in _strong(("mailboxfull",))):
            return "mailererror", "local-mailer", "phrase", "x-unix"

    if (
        reply_code is None
        and not status
        and action == "failed"
        and _NO_ANSWER.search(text)
        and _CONNECT_FAILED.search(text)
    ):
        # No server replied: the report names the connection it tried and the socket's error ("connect to
        # mx[192.0.2.1]: Connection refused", FastMail's help: https://www.fastmail.com/help/send/undeliverable.html).
        # RFC 3463 X.4.1 "no answer from host" (Postfix reports these as 4.4.1); in a report that gave up, a delivery
        # that expired, as below when no words decide. (With an enhanced code, the code decides, as before.)
        return "expired", "no-answer-from-host", "structure", "no reply; connection attempt failed"
    if command in ("CONN", "HELO"):
        # A network failure only when no server replied: a reply that says "connection refused" is a block.
        exceptions = (
            AT_CONNECT_EXCEPTIONS
            if reply_code is None
            else tuple(r for r in AT_CONNECT_EXCEPTIONS if r != "networkerror")
        )
        client_refused = _client_refused(text)
        for reason, name, pattern in _strong(exceptions):
            m = pattern.search(text)
            if m:
                if reason == "notaccept" and client_refused:
                    # "554-No SMTP service 554-IP address is block listed." (GMX): the service is refused
                    # to this client, which the reply names; not a domain that accepts no mail at all.
                    continue
                return reason, name, "phrase", m.group(0)
        if reply_code in (521, 556) and not client_refused:  # RFC 7504: this host (domain) accepts no mail
            return "notaccept", f"reply-{reply_code}", "reply", str(reply_code)
        busy = _busy_not_blocked(text, status, reply_code)
        if busy:
            return busy
        return "blocked", f"refused-at-{command.lower()}", "stage", command
    if command == "MAIL":
        login = _compiled(wording.SENDER_LOGIN).search(text)
        if login:
            # Postfix's reject_sender_login_mismatch answers MAIL FROM, the stage it is written for ("553 5.7.1
            # <s>: Sender address rejected: not owned by user <login>", postconf(5)): the client's authentication
            # does not cover the sender, not a refusal of the sender by the recipient's side.
            return "securityerror", "sender-login", "phrase", login.group(0)
        sender_refused = bool(_compiled(wording.SENDER_REFUSED).search(text))
        for reason, name, pattern in _strong(("blocked",) + AT_MAIL_EXCEPTIONS):
            m = pattern.search(text)
            if m and sender_refused and reason == "policyviolation" and _POLICY_POINTER.fullmatch(m.group(0)):
                # "<sender> sender rejected. Please see ... AUP#In-1310": the reply names our sender;
                # a pointer to the provider's acceptable use policy does not say what was violated.
                continue
            if m:
                reason, name = _refine(reason, name, status, codes.detail_of(status), command, text)
                return reason, name, "phrase", m.group(0)
        if not sender_refused and _HOST_REFUSED_AT_MAIL.search(text):
            # Refused at MAIL FROM in words that name the connecting host as blocked, not our sender address
            # (Trend Micro Deep Discovery Email Inspector's sender filtering answers "521 Block permanently
            # (Sender Filtering/Authentication)" and "550 Permanent denial of connection (550) for RBL+ matches
            # (ERS)": https://docs.trendmicro.com/en-us/documentation/article/deep-discovery-email-inspector-51-
            # online-help-smtp-error-codes): a block of the sending host, as the module docstring says.
            return "blocked", "host-refused-at-mail", "stage", command
        return "rejected", "refused-at-mail", "stage", command

    m = _compiled(wording.SENDER_LOGIN).search(text)
    if m:
        return "securityerror", "sender-login", "phrase", m.group(0)
    m = _compiled(wording.SENDER_REFUSED).search(text)
    if m and not _user_words(text) and not _rate_stated(text):
        # Not when the refusal says it is about our volume ("you are not allowed to send more e-mails within 24
        # hours ... since you sent too many e-mails"): a stated limit is read as such (speeding), as before any
        # block wording.
        return "rejected", "sender-refused", "phrase", m.group(0)
    detail = codes.detail_of(status)
    for reason, name, pattern in _strong(exclude=SENDER_SIDE):
        m = pattern.search(text)
        if m and reason == "policyviolation" and _POLICY_POINTER.fullmatch(m.group(0)):
            # "421 cmsmtp blocked. Refer to Error Codes ... AUP#CXCNCT" (Cox, Spectrum): the AUP code points to
            # the provider's page; what the reply says is that the sending host is blocked.
            blocked = _compiled(wording.HOST_BLOCKED).search(text)
            if blocked:
                return "blocked", "host-refused-aup-code", "phrase", blocked.group(0)
        if m:
            loose = _compiled(wording.USER_LOOSE)
            if reason == "userunknown" and loose.fullmatch(m.group(0)):
                # The first unknown-user words found may be loose while the same reply says it plainly further on
                # (Mail.ru: "invalid mailbox. Local mailbox <a> is unavailable: user not found"): the plain words
                # decide, as the reply's own explanation of its loose summary.
                m = next((f for f in pattern.finditer(text) if not loose.fullmatch(f.group(0))), m)
            if reason == "userunknown" and loose.fullmatch(m.group(0)):
                # The plain words may belong to another unknown-user rule (a catalog entry in the notice's language:
                # "Usuario desconocido: la dirección de correo no existe"): they decide all the same.
                name, m = next(
                    (
                        (other, f)
                        for _reason, other, candidate in _strong(reasons=("userunknown",))
                        for f in candidate.finditer(text)
                        if not loose.fullmatch(f.group(0))
                    ),
                    (name, m),
                )
            if reason == "userunknown" and loose.fullmatch(m.group(0)):
                if _ALTERNATIVE.match(text, m.end()):
                    # Loose words offered as one of two readings ("550 Mailbox unavailable or access denied", as
                    # RFC 5321 4.2.2's own 550 text "mailbox unavailable (e.g., mailbox not found, no access, or
                    # command rejected for policy reasons)" leaves it open): the reply does not say the address is
                    # missing; no ground for a hard verdict, the rest of the reply decides.
                    continue
                if _TEMPORARY.search(text):
                    # Loose refusal words ("Recipient address rejected", Postfix's prefix for any
                    # recipient restriction) in a reply that says its condition is temporary ("Please try
                    # again later"): an address that does not exist does not come back later, so this is
                    # no ground for a hard verdict; the rest of the reply decides.
                    continue
                name = "no-user-loose"
            reason, name = _refine(reason, name, status, detail, command, text, reply_code, m.group(0))
            if reason == "userunknown" and context and single:
                said_soft = _soft_in_notification(normalise(context), detail)
                if said_soft:
                    return said_soft
            return reason, name, "phrase", m.group(0)

    # `status and`: detail_of gives None for an empty status, so this only narrows the type.
    if status and detail in SPECIFIC_STATUS and not (detail == "4.1" and _answered(text, reply_code)):
        if SPECIFIC_STATUS[detail] == "hostunknown" and status.startswith("4"):
            # A transient "bad destination system address" (4.1.2) is a lookup that may succeed later.
            return "networkerror", f"status-{status}", "status", status
        return SPECIFIC_STATUS[detail], f"status-{status}", "status", status
    for reason, name, pattern in GENERIC():
        m = pattern.search(text)
        if m:
            media = _registered_reason(detail) if (detail or "").startswith("6.") else None
            if name == "filtered" and status and media:
                # Generic refusal words ("554 5.6.0 Message rejected due to content restrictions") say only that
                # mail was refused; RFC 3463 X.6.X says why: the message's content or media (round four's reading of
                # an explicit X.6.X, which these words would otherwise pre-empt).
                return media, f"status-{status}", "status-class", status
            if name == "filtered" and context and single:
                # "550 Message rejected" says only that; the report's own text may say why.
                said = _content_verdict(normalise(context))
                if said:
                    return said
            return reason, name, "phrase", m.group(0)
    if reply_code and reply_code >= 400 and str(reply_code) in text:
        m = _compiled(wording.TLS_IN_REPLY).search(text)
        if m:
            return "failedstarttls", "tls-in-reply", "phrase", m.group(0)
    if status and detail == "4.4" and codes.permanent(status, reply_code):
        # RFC 3463 X.4.4 "unable to route": "a DNS lookup returning only an SOA record for a domain
        # name is one example"; given up on for good, the domain has no route at all.
        return "hostunknown", f"status-{status}", "status", status
    if status and detail in STATUS_DETAIL:
        return STATUS_DETAIL[detail], f"status-{status}", "status", status
    if context:
        found = _from_context(normalise(context), single)
        if found:
            if found[0] == "hostunknown" and codes.permanent(status, reply_code) is False:
                # The notification's own sentence ("could not be found in Domain Name Service", Exchange 2003's
                # #5.4.0 text) beside a recipient whose code is temporary ("451 4.4.0 DNS Soft Error ... ServFail"):
                # the lookup failed for now, as _refine reads a temporary hostunknown (RFC 3463: 4.X.X transient).
                return "networkerror", f"{found[1]}-temporary", found[2], found[3]
            return found
    reply_reason = _reply_reason(reply_code)
    if reply_code in (521, 556) and _client_refused(text):
        # Whatever the stage a report states (none here): RFC 7504's "accepts no mail" said in words that
        # refuse this client ("521 Block permanently (Sender Filtering/Authentication)", "521 access denied")
        # is a block of the sending host, as at the greeting.
        return "blocked", f"reply-{reply_code}-client-refused", "reply", str(reply_code)
    if reply_code in SPECIFIC_REPLY and reply_reason and (not status or detail == "0.0"):
        return reply_reason, f"reply-{reply_code}", "reply", str(reply_code)
    registered = _registered_reason(detail)
    if status and registered and not (detail or "").endswith(".0"):
        # The registry's own meaning of the code (X.2.4 mailing list expansion, X.5.6 authentication
        # line too long, X.7.19 RRVS test, X.4.0/X.6.0 network/media): more precise than its subject.
        return registered, f"status-{status}", "status-class", status
    if status and detail and not detail.endswith(".0") and detail.split(".")[0] in STATUS_SUBJECT:
        # X.Y.0 is "other or undefined" status of that subject: it does not name a reason.
        return STATUS_SUBJECT[detail.split(".")[0]], f"status-class-{status}", "status-class", status
    if reply_code in SYNTAX_REPLIES and (not status or detail in ("0.0", "5.0")):
        # RFC 5321 4.2.2: 500-504 and 555 say the command or its parameters were not understood,
        # at whatever stage; with no enhanced code, or only X.5.0 (protocol status), that is all.
        return "syntaxerror", f"reply-{reply_code}", "reply", str(reply_code)
    if status and registered and detail and detail.startswith("6."):
        # RFC 3463 X.6.X "message content or media status": the enhanced code says the refusal is about
        # the message's content or form, whatever the stage (even X.6.0, "other or undefined media error").
        return registered, f"status-{status}", "status-class", status
    if command == "DATA":
        return "filtered", "refused-at-data", "stage", command
    if command == "RCPT" and _offers_alternative(text):
        # "550 Mailbox unavailable or access denied" at RCPT: the reply itself leaves the address's existence
        # open (RFC 5321 4.2.2's 550: "mailbox not found, no access, or command rejected for policy reasons");
        # when unsure, soft: the recipient's side refused this mail.
        return "filtered", "alternative-at-rcpt", "stage", command
    if command == "RCPT" and codes.permanent(status, reply_code) is not False:
        return "userunknown", "refused-at-rcpt", "stage", command
    if action == "delayed":
        return "expired", "delayed", "action", action
    if status and registered:
        # X.4.0 "other or undefined network or routing status", X.6.0 media, X.5.0 protocol: the subject's
        # registered reading, when nothing more specific was said.
        return registered, f"status-{status}", "status-class", status
    if reply_reason and (not status or detail == "0.0"):
        return reply_reason, f"reply-{reply_code}", "reply", str(reply_code)
    if reply_code is None and _NO_ANSWER.search(text) and action in ("failed", "delayed"):
        # No server replied at all, and the report names the connection it tried (an SMTP port, RFC
        # 5321 "<host>:25", or a connect attempt to an IP literal): RFC 3463 X.4.1 "no answer from
        # host", which in a report that gave up (or is still retrying) is a delivery that expired.
        return "expired", "no-answer-from-host", "structure", "no reply; connection attempt named"
    if text or context:
        return "onhold", "unrecognised", "fallback", ""
    return "undefined", "nothing-said", "fallback", ""


# Words that name the mailbox (the local part) rather than an address or the domain.
_MAILBOX_NAMED = re.compile(r"\b(?:mailbox|user|account)\b", re.I)
_DOMAIN_NAMED = re.compile(r"\b(?:domain|host|system)\b", re.I)
# A connection attempt named with no reply quoted: "<host or [ip]>:25", or "connect" with an IP literal.
_NO_ANSWER = re.compile(r"[\w\]]:25\b(?![\d.])|\bconnect\w*\b.{0,200}?\b\d{1,3}(?:\.\d{1,3}){3}\b", re.I)
# The socket's own errors for a connection attempt no server answered (connect(2): ECONNREFUSED, ETIMEDOUT,
# EHOSTUNREACH, ENETUNREACH), as MTAs write them after "connect to <host>".
_CONNECT_FAILED = re.compile(
    r"\bconnection (?:refused|timed out)\b|\bno route to host\b|\bnetwork is unreachable\b", re.I
)
# The reply itself says its condition is temporary (RFC 5321 4.2.1: that is what 4yz replies are for).
_TEMPORARY = re.compile(r"\btry (?:again )?later\b|\btemporar(?:il)?y\b|\bat (?:a|this) later time\b", re.I)
_POLICY_POINTER = re.compile(r"aup|acceptable use polic", re.I)
# The reporting MTA's own statement that it stopped retrying because the message's time in the queue ran out (RFC
# 3463 X.4.7 "delivery time expired"): qmail-send.c "I'm not going to try again; this message has been in the queue
# too long.", Exim "retry timeout exceeded", Sendmail "Message could not be delivered for 5 days".
_QUEUE_LIFE_OVER = re.compile(
    r"\bin the queue too long\b|\bretry timeout exceeded\b|\bcould not be delivered for \d+ (?:days|hours)\b", re.I
)
# A greeting that says the connection itself is refused refuses this client, even when it adds that the server is
# busy: a Korean portal's "421 4.4.5 CCRT <ip>: Connection refused. Server is busy(RT)", which its list explains as
# the sending IP temporarily blocked by its spam centre (https://oliveit.tistory.com/39), against "421 4.4.1 CHIC
# <ip>: Network is busy." (the server unable to answer).
_CONNECTION_REFUSED = re.compile(r"\bconnection (?:is )?(?:refused|rejected|denied)\b", re.I)


# A refusal that names the connecting client as refused, blocked or denied. RFC 7504's 521/556 say a
# host or domain accepts no mail from anyone ("521 <host> does not accept mail"); a 521 whose words
# are "<ip> is blocked" (AT&T), "access denied" or "Block permanently (Sender Filtering)" (Trend Micro)
# refuses this client only: a block of the sending host, never a recipient domain without mail.
_CLIENT_REFUSED_MORE = re.compile(
    r"\baccess denied\b|\bblock(?:ed)? (?:temporarily|permanently)\b|\bdenial of (?:connection|service|access)\b",
    re.I,
)


# At MAIL FROM, the words that refuse the connecting client rather than the sender address; not "access
# denied", which Postfix's access(5) writes for a refused sender ("550 5.7.1 Access denied" in reply to MAIL).
_HOST_REFUSED_AT_MAIL = re.compile(r"\bblock(?:ed)? (?:temporarily|permanently)\b|\bdenial of connection\b", re.I)


def _answered(text: str, reply_code: int | None) -> bool:
    """The remote server's reply is quoted with its code: some host answered. RFC 3463 X.4.1 "no answer
    from host" then cannot be what happened ("541 5.4.1 Mail rejected by destination domain", Zoho): the
    reply's own words decide."""
    return bool(reply_code and str(reply_code) in text)


def _client_refused(text: str) -> bool:
    if _compiled(wording.HOST_BLOCKED).search(text) or _CLIENT_REFUSED_MORE.search(text):
        return True
    return any(p.search(text) for _r, _n, p in _strong(("blocked", "badreputation")))


def _busy_not_blocked(text: str, status: str | None, reply_code: int | None) -> tuple[str, str, str, str] | None:
    """A temporary refusal at the greeting that says the server is busy or unavailable ("421 Server
    temporarily unavailable. Try again later.", RFC 5321 421 "service not available") and names no
    block: the receiving system's state, not a block of the sending host."""
    if codes.permanent(status, reply_code) is not False:
        return None
    if any(p.search(text) for _r, _n, p in _strong(("blocked", "policyviolation", "spamdetected"))):
        return None
    if _compiled(wording.HOST_BLOCKED).search(text) or _CONNECTION_REFUSED.search(text):
        return None
    for reason, name, pattern in _strong(("systemerror",)):
        m = pattern.search(text)
        if m:
            return reason, f"{name}-at-greeting", "phrase", m.group(0)
    if status and (codes.detail_of(status) or "").startswith("3."):
        # RFC 3463 X.3.X "mail system status" is the receiving system's own state (X.3.2 "system not
        # accepting network messages": shutdown, load, maintenance; Postfix postscreen "421 4.3.2 All
        # server ports are busy"), not a block of the sending host.
        return "systemerror", f"status-{status}-at-greeting", "status", status
    return None


def _registered_reason(detail: str | None) -> str | None:
    """The reason the registry's meaning of a code names (codes.ENHANCED), when it is not a hard one:
    a hard verdict needs more than an undecisive code. Not `notaccept` either: X.3.2 "system not
    accepting network messages" is the receiving host's state (RFC 3463: shutdown, load, maintenance;
    Exchange writes 4.3.2 for its throttling), read as its subject, a system error."""
    entry = codes.ENHANCED.get(detail or "")
    if not entry or not entry[1] or entry[1] in HARD_REASONS or entry[1] in ("delivered", "notaccept"):
        return None
    return entry[1]


def _reply_reason(reply_code: int | None) -> str | None:
    """The reason a reply code names (codes.REPLY), or None when unregistered or naming none."""
    entry = codes.REPLY.get(reply_code) if reply_code is not None else None
    return entry[1] if entry else None


def _weigh(
    reason: str,
    rule: str,
    how: str,
    matched: str,
    status: str | None,
    reply_code: int | None,
    text: str,
    command: str | None,
) -> Assessment:
    """The evidence, readable, and its confidence (see model.Confidence)."""
    detail = codes.detail_of(status)
    entry = codes.ENHANCED.get(detail or "")
    if how == "phrase":
        evidence = f"phrase '{matched[:80]}' ({rule})"
    elif how in ("status", "status-class"):
        evidence = f"status {status} (RFC 3463 X.{detail}: {entry[0]})" if entry else f"status {status}"
    elif how == "reply" and reply_code is not None:
        evidence = f"reply {reply_code} (RFC 5321: {codes.REPLY[reply_code][0]})"
    elif how == "stage":
        evidence = f"refused at {matched} ({rule})"
    elif how in ("action", "success"):
        evidence = f"action/status {matched}"
    else:
        evidence = rule
    if status and how != "status":
        evidence += f"; status {status}"
    if reply_code and how != "reply":
        evidence += f"; reply {reply_code}"

    if reason in HARD_REASONS or reason == "notaccept":
        permanent = codes.permanent(status, reply_code)
        code_reason = entry[1] if entry else None
        code_decisive = bool(entry and entry[2])
        if reason == "notaccept" and permanent is False:
            strong = False  # a temporary "accepts no mail" is soft anyway
        elif permanent is not True:
            strong = False
        elif how == "status":
            strong = code_decisive and code_reason == reason
        elif how == "phrase":
            contradicted = code_decisive and code_reason not in (reason, None)
            strong = (rule not in LOOSE_RULES and not contradicted) or (code_decisive and code_reason == reason)
        elif how == "reply":
            strong = False
        else:
            strong = False
        return Assessment(reason, rule, evidence, CONFIDENCE_STRONG if strong else CONFIDENCE_WEAK)
    strong = how in ("phrase", "success") or (how == "status" and bool(entry and entry[2]))
    return Assessment(reason, rule, evidence, CONFIDENCE_STRONG if strong else CONFIDENCE_WEAK)


def _refine(
    reason: str,
    name: str,
    status: str | None,
    detail: str | None,
    command: str | None,
    text: str = "",
    reply_code: int | None = None,
    matched: str = "",
) -> tuple[str, str]:
    """Wording read against the status and the SMTP stage it came with (`matched`: the words that decided)."""
    own_words = status is None and reply_code is None and command is None and name != "no-user-loose"
    if (
        reason == "userunknown"
        and command != "RCPT"
        and (not (detail or "").startswith("1.") or (command == "DATA" and detail not in codes.ENHANCED))
        and not _compiled(wording.USER_CERTAIN).search(text)
        and not own_words
    ):
        # "User unknown" refused after DATA (or with a mailbox status that is not X.1.X) is a
        # recipient-side filter dressed as an unknown user: the address was accepted at RCPT.
        # Not when no server replied at all (no code, no stage) and the words are unambiguous: then
        # the reporting system says itself that it has no such mailbox (hard, but weak without a
        # permanent code).
        if command == "DATA" or detail in ("2.1", "2.0", "0.0", "7.1") or detail is None:
            return "filtered", f"{name}-after-rcpt"
    if reason == "userunknown" and detail == "1.2" and name != "no-user-loose":
        if _MAILBOX_NAMED.search(matched) and not _DOMAIN_NAMED.search(text):
            # The words name the mailbox itself, not an address that may be the domain's ("550 5.1.2 Mailbox
            # does not exist.", Stalwart crates/smtp/src/inbound/rcpt.rs): the local part is unknown; the
            # code that disagrees keeps the verdict weak (_weigh).
            return reason, f"{name}-mailbox-named"
        # RFC 3463 X.1.2 "bad destination system address": the words "address ... does not exist" are
        # about the domain part ("Domain of recipient address x does not exist").
        return "hostunknown", f"{name}-system-address"
    if reason == "mesgtoobig" and detail == "2.3":
        return "exceedlimit", f"status-{status}"
    if reason == "hostunknown" and (status or "").startswith("4"):
        if _QUEUE_LIFE_OVER.search(text):
            # A temporary name-service failure (qmail-remote "Sorry, I couldn't find any host by that name.
            # (#4.1.2)") that outlived the queue: the delivery expired; the name was never shown not to exist.
            return "expired", f"{name}-queue-life-over"
        return "networkerror", f"{name}-temporary"
    return reason, name


# A report that contradicts itself is no ground for a hard verdict ("when unsure, soft"): its one
# recipient's reply reads "user unknown" while the report's own explanation (RFC 3464's
# human-readable part) says the mailbox is disabled or full. Disabled accounts read as "unknown"
# by many MTAs; a full mailbox is stated only by a system that found the mailbox. With an explicit
# X.1.1/X.1.3 code only the full-mailbox wording overrides (a disabled account may be removed).
_SOFT_OVERRIDES = {"suspend": True, "mailboxfull": False, "systemfull": False}  # reason -> also over X.1.1


def _soft_in_notification(context: str, detail: str | None) -> tuple[str, str, str, str] | None:
    explicit = detail in ("1.1", "1.3")
    for reason, name, pattern in _strong(tuple(_SOFT_OVERRIDES)):
        if explicit and _SOFT_OVERRIDES[reason]:
            continue
        said = pattern.search(context)
        if said:
            return reason, f"{name}-in-notification", "phrase", said.group(0)
    return None


def _content_verdict(context: str) -> tuple[str, str, str, str] | None:
    for reason, name, pattern in _strong(wording.CONTENT_VERDICTS):
        said = pattern.search(context)
        if said:
            return reason, f"{name}-in-notification", "phrase", said.group(0)
    return None


def _from_context(context: str, single: bool) -> tuple[str, str, str, str] | None:
    for reason, name, pattern in wording.CONTEXT:
        m = _compiled(pattern).search(context)
        if m:
            return reason, name, "phrase", m.group(0)
    if not single:  # the notification may be about another recipient
        return None
    for reason, name, rx in _strong(exclude=SENDER_SIDE + ("systemerror", "securityerror", "blocked")):
        m = rx.search(context)
        if m and reason == "userunknown" and _ALTERNATIVE.match(context, m.end()):
            continue  # the reply's own "mailbox unavailable or access denied", quoted again (see _decide)
        if m:
            return reason, f"{name}-in-notification", "phrase", m.group(0)
    return None


@lru_cache(maxsize=1)
def GENERIC() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    return (
        ("filtered", "filtered-more", _compiled(wording.FILTERED_MORE)),
        ("rejected", "sender-refused", _compiled(wording.SENDER_REFUSED)),
        ("blocked", "host-refused", _compiled(wording.HOST_BLOCKED)),
        ("filtered", "filtered", _compiled(wording.FILTERED)),
    )


def _detail(status: str | None) -> str | None:
    """'5.1.1' -> '1.1'."""
    return codes.detail_of(status)


# "<loose unknown-user words> or <another cause>": the reply names two readings (see _decide)
_ALTERNATIVE = re.compile(
    r"\s*(?:,\s*)?or (?:access|permission|relaying|relay|policy|blocked|denied|refused|rejected)\b", re.I
)


def _offers_alternative(text: str) -> bool:
    """Loose unknown-user words followed by "or <another cause>" (see _ALTERNATIVE)."""
    return any(_ALTERNATIVE.match(text, m.end()) for m in _compiled(wording.USER_LOOSE).finditer(text))


def _rate_stated(text: str) -> bool:
    return any(p.search(text) for _r, _n, p in _strong(("speeding",)))


def _user_words(text: str) -> bool:
    return bool(re.search(r"\b(?:recipient|mailbox|user)\b", text))


def is_vacation_text(text: str | None) -> bool:
    return bool(text) and _compiled(wording.VACATION).search(normalise(text)) is not None
