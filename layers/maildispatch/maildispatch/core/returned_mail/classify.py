"""classify_returned_message: the bytes of a returned message -> a ReturnedMessage.

The order of reading: a provider's JSON notification (Amazon SES through SNS), an RFC 5965
complaint, the RFC 3464 per-recipient groups (completed from the human-readable text: the SMTP
command, the reply when the group has none), the human-readable text alone for non-standard
bounces, then RFC 3834 auto-replies. What none of them explains is `unclassified`, kept with what
could be read. Pure: no I/O, no clock, no environment.
"""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import Message
from typing import Any

from maildispatch.core.enhanced_status import ENHANCED_STATUS, is_enhanced_status
from maildispatch.core.returned_mail.model import ReturnedKind

from . import arf, auto_reply, bounce_text, delivery_status, mimewalk, ses_notification
from .model import CONFIDENCE_STRONG, CONFIDENCE_WEAK, RecipientVerdict, ReturnedMessage, is_hard
from .reason import assess
from .smtp_text import (
    complete_multiline,
    find_command,
    find_reply_code,
    find_status,
    status_agrees,
    unwrap_relayed_reply,
)

_DAEMON = re.compile(
    r"\b(?:mailer-daemon|postmaster|mail delivery (?:system|subsystem|service|agent)|mail administrator|mmdf|mail\.delivery\.system"
    r"|internet mail delivery|system administrator)\b",
    re.I,
)
_FAILURE_SUBJECT = re.compile(
    r"undeliver|undelivered|returned|delivery (?:status|failure|failed|notification|report|problem)|failure notice|not delivered|could not be delivered"
    r"|delivery has failed|mail delivery failed|mail failure|nondeliverable|non-delivery|rejected|error|bounce|delayed|warning|system error"
    r"|(?:failed|unable) to deliver|can(?:no|')t deliver|couldn't be delivered",
    re.I,
)
_DELAY_WORDING = re.compile(
    r"\bthis is (?:a|only a) warning|warning: message .{0,40} delayed|delivery (?:status notification )?\(delay\)|\bstill being retried|will (?:be )?retr(?:y|ied)"
    r"|has not yet been delivered|not yet been delivered|delivery attempts will continue|temporary failure report|delayed for more than|will continue trying",
    re.I,
)
_ORIGINAL_X = re.compile(r"^x-", re.I)
_EMPTY_ADDRESS_SLOT = re.compile(rf"^\s*[245]\d\d(?: {ENHANCED_STATUS})? : ")
# Exchange 2003-2010 write a remote refusal as "<host> #<host> #X.Y.Z smtp;<reply>> #SMTP#": X.Y.Z is the
# relay's own reading of the reply. When the reply quoted after "smtp;" carries no enhanced code of its own
# ("#5.1.1 smtp; 550 MIKEG FOUND lv2"), the X.Y.Z (and the user text Exchange writes from it) is that
# reading of a bare reply code, not the remote server's word (pastebin.com/bGW4Kdrz).
_RELAY_READING = re.compile(rf"#({ENHANCED_STATUS})\s+smtp;\s*[245]\d\d(?![ -]+#?{ENHANCED_STATUS})", re.I)
_QUOTES_RECIPIENT = re.compile(rf"^\s*(?:[245]\d\d[ -](?:{ENHANCED_STATUS} )?)?<?[^\s<>@]+@[^\s<>@]+?(?:>:|>?\.\.\.)")


# Limits that keep classification linear and bounded whatever the input (issue 9):
MAX_BYTES = 2 * 1024 * 1024  # only the first 2 MiB of a message are read: every real report says
#                              what it has to say long before; a larger attachment is cut off
MAX_VERDICTS = 500  # recipients classified per message (RFC 3464 groups or text recipients)
MAX_NOTIFICATION = 256 * 1024  # characters of human-readable notification read


def classify_returned_message(raw: bytes) -> ReturnedMessage:
    """Classify one returned message. Never raises on malformed input.

    Only the first MAX_BYTES bytes are read. When the structured reading fails on a malformed
    message (an internal error, not a verdict), the message is read again as flat text with the
    same rules (`degraded` says why), so that a mutated bounce is still classified rather than
    silently `unclassified`; only if that fails too is it `unclassified` with `parse_error`.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return ReturnedMessage(
            ReturnedKind.UNCLASSIFIED, (), parse_error=f"TypeError: expected bytes, got {type(raw).__name__}"
        )
    raw = _without_leading_noise(bytes(raw[:MAX_BYTES]))
    try:
        msg = mimewalk.parse_message(raw)
        return _classify(msg, raw)
    except Exception as exc:
        first = f"{type(exc).__name__}: {exc}"[:200]
    try:
        return replace(_classify(_flat_message(raw), raw), degraded=first)
    except Exception as exc:
        return ReturnedMessage(
            ReturnedKind.UNCLASSIFIED, (), parse_error=f"{first}; flat reading: {type(exc).__name__}: {exc}"[:300]
        )


_LEADING_NOISE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:[ \t]*\r?\n){0,20}(?=[A-Za-z][A-Za-z0-9-]{0,60}:|From )")


def _without_leading_noise(raw: bytes) -> bytes:
    """The message without a UTF-8 byte-order mark or blank lines before its first header line, which
    a store or a forwarding tool may add: read as they are, they end the header before it starts
    (RFC 5322 2.1: the header comes first)."""
    match = _LEADING_NOISE.match(raw)
    return raw[match.end() :] if match and match.end() else raw


def _flat_message(raw: bytes) -> Message:
    """The message as one text/plain part: header lines kept only when plainly readable, the
    body (MIME boundaries and all) decoded leniently. For input the MIME reading cannot handle."""
    head, _sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    msg = Message()
    for line in head.decode("latin-1").split("\n")[:200]:
        name, colon, value = line.partition(":")
        if (
            colon
            and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,60}", name)
            and name.lower() not in ("content-type", "content-transfer-encoding", "mime-version")
        ):
            clean = "".join(ch for ch in value.strip() if ch.isprintable())[:1000]
            try:
                msg[name] = clean
            except Exception:
                continue
    msg["Content-Type"] = "text/plain; charset=utf-8"
    msg.set_payload(mimewalk.decode_bytes(body[:MAX_BYTES], None))
    return msg


def _classify(msg: Message, raw: bytes | None = None, depth: int = 0) -> ReturnedMessage:
    walked = mimewalk.walk(msg, raw)
    headers = {name.lower(): mimewalk.unfold(mimewalk.decode_words(_header_text(value))) for name, value in msg.items()}
    subject = headers.get("subject")
    sender = headers.get("from")
    body = "\n".join(walked.texts)[:MAX_NOTIFICATION]

    notification, inline_original = body, None
    if walked.original is None and walked.original_headers is None:
        notification, inline_original = mimewalk.split_original(body)
    original = _original_facts(walked, inline_original)
    context = dict(original, subject=subject, from_address=sender)

    ses = ses_notification.find_ses_notification(body)
    if ses is not None:
        return replace(ses_notification.verdicts_from_ses(ses), subject=subject, from_address=sender)

    if walked.feedback_reports:
        return _complaint(walked, context)
    if walked.dispositions and not walked.delivery_status:
        receipt = _read_receipt(walked, context)
        if receipt is not None:
            return receipt

    reports = [delivery_status.parse_delivery_status(t) for t in walked.delivery_status]
    if not any(r.recipients for r in reports):
        reports += [
            delivery_status.parse_delivery_status(t)
            for t in walked.texts
            if delivery_status.looks_like_delivery_status(t)
        ]
    groups = [g for r in reports for g in r.recipients][:MAX_VERDICTS]
    message_fields: dict[str, str] = {}
    for r in reports:
        for k, v in r.message_fields.items():
            message_fields.setdefault(k, v)

    exclude = _not_recipients(headers, original)
    text_recipients = bounce_text.recipients_in_text(notification, exclude)[:MAX_VERDICTS]
    delayed_wording = bool(_DELAY_WORDING.search(notification) or _DELAY_WORDING.search(subject or ""))

    if groups:
        # Groups that say nothing of their own (no Diagnostic-Code, no paragraph per recipient) share
        # what the notification says once for all of them, as the text-only reading does.
        said_once = (
            len(groups) > 1
            and not any(g.get("diagnostic-code") for g in groups)
            and not any(t.diagnostic for t in text_recipients)
        )
        verdicts = [_from_group(g, text_recipients, notification, len(groups) == 1 or said_once) for g in groups]
    else:
        verdicts = _from_text(text_recipients, headers, notification, delayed_wording)

    if not groups and (not verdicts or all(v.rule in ("unrecognised", "nothing-said") for v in verdicts)):
        inner = walked.original
        if depth == 0 and inner is not None and _is_bounce_message(inner):
            # A gateway forwarded the real report as an attachment: read that one. Not when the outer
            # report names its own recipients in RFC 3464 groups, or names recipients the enclosed one does
            # not: then the enclosed report is the returned original (RFC 6522 3), a report that itself
            # failed to reach its sender (a double bounce), and what it says is about someone else.
            nested = _classify(inner, None, depth + 1)
            named = {v.recipient.lower() for v in verdicts if v.recipient}
            if nested.recipients and named <= {(v.recipient or "").lower() for v in nested.recipients}:
                return nested
    if not verdicts:
        # an unsubscribe request (RFC 2369/8058) is the more specific reading of a reply a provider sent
        if arf.is_unsubscribe_request(subject, headers, body):
            return ReturnedMessage(
                ReturnedKind.COMPLAINT,
                (RecipientVerdict(_address(sender), None, None, None, "feedback", None),),
                feedback_type="opt-out",
                **_message_facts(context, message_fields),
            )
        if auto_reply.auto_reply_signals(headers, subject, body) and not _looks_like_bounce(headers, walked):
            return ReturnedMessage(
                ReturnedKind.AUTO_REPLY,
                (RecipientVerdict(_address(sender), None, None, None, "vacation", None),),
                **_message_facts(context, message_fields),
            )
        if _looks_like_bounce(headers, walked) and notification.strip():
            fallback: list[str | None] = [*_domain_recipients(headers, original, notification, exclude)] or [
                _fallback_recipient(headers, original, notification, exclude)
            ]
            verdicts = [
                _verdict(
                    recipient,
                    None,
                    None,
                    _stated_once(_text_diagnostic(notification), notification),
                    find_command(notification),
                    "delayed" if delayed_wording else "failed",
                    None,
                    None,
                    notification,
                    len(fallback) == 1,
                )
                for recipient in fallback
            ]
    if not verdicts:
        return ReturnedMessage(ReturnedKind.UNCLASSIFIED, (), **_message_facts(context, message_fields))
    return ReturnedMessage(_kind(verdicts), tuple(verdicts), **_message_facts(context, message_fields))


def _header_text(value: object) -> str:
    """A header value as text, whatever the email package made of it (8-bit bytes in a header
    come back as a Header object with unknown-8bit chunks)."""
    try:
        return str(value)[:4000]
    except Exception:
        return repr(value)[:4000]


def _from_group(
    group: dict[str, str], text_recipients: list[bounce_text.TextRecipient], notification: str, single: bool
) -> RecipientVerdict:
    final = delivery_status.address_of(group.get("final-recipient"))
    original_rcpt = delivery_status.address_of(
        group.get("original-recipient"), xtext=True
    ) or delivery_status.address_of(group.get("x-actual-recipient"))
    recipient = final or original_rcpt
    if final and "@" not in final and original_rcpt and "@" in original_rcpt:
        # RFC 3464 2.3.2: Final-Recipient is the address where the report was made, which past a gateway or a
        # local delivery agent may be no mail address ("x400; /C=US/...", "LOCAL; jdoe"); the sender's
        # address is then the Original-Recipient.
        recipient = original_rcpt
    diag_type, diagnostic = delivery_status.diagnostic_of(group.get("diagnostic-code"))
    diagnostic = complete_multiline(diagnostic, notification)
    block = _block_for(text_recipients, recipient, original_rcpt, single=len(text_recipients) == 1)
    if block is not None and (not diagnostic or _is_thin(diagnostic)) and block.diagnostic:
        diagnostic = f"{diagnostic} {block.diagnostic}".strip() if diagnostic else block.diagnostic
    if diag_type and diag_type.startswith("X-UNIX") and diagnostic:
        diagnostic = f"x-unix; {diagnostic}"
    command = find_command(block.block if block else None) or find_command(diagnostic)
    # RFC 3464 2.1.1: a comment in parentheses is no part of a field's value ("Status: 5.2.2 (mailbox full)").
    stated_status = delivery_status.strip_comments(group.get("status") or "")
    stated_action = delivery_status.strip_comments(group.get("action") or "").strip().lower()
    status = stated_status.split()[0] if stated_status.strip() else None
    if status and not is_enhanced_status(status):
        status = find_status(group.get("status"))
    action = stated_action.split()[0] if stated_action else None
    if action in ("failure", "expired"):
        action = "failed" if action == "failure" else "delayed"
    remote = delivery_status.mta_of(group.get("remote-mta")) or (block.remote_mta if block else None)
    return _verdict(
        recipient,
        status,
        find_reply_code(diagnostic),
        diagnostic,
        command,
        action,
        remote,
        original_rcpt,
        notification,
        single,
    )


def _from_text(
    found: list[bounce_text.TextRecipient], headers: dict[str, str], notification: str, delayed: bool
) -> list[RecipientVerdict]:
    failed = bounce_text.addresses_in(headers.get("x-failed-recipients"))
    if failed:
        by_address = {f.recipient.lower(): f for f in found}
        kept = [by_address[a.lower()] for a in failed if a.lower() in by_address]
        if kept:
            # Every address the header names failed, also one the text names only in a sentence:
            # that one is read from the paragraph that names it.
            unique = {a.lower(): a for a in reversed(failed)}  # the first spelling of each address
            kept = [
                by_address.get(key) or bounce_text.mentioned(unique[key], notification)
                for key in dict.fromkeys(a.lower() for a in failed)
            ]
        found = kept or found
        if not found:
            diagnostic = _text_diagnostic(notification)
            return [
                _verdict(
                    a,
                    None,
                    None,
                    diagnostic,
                    find_command(notification),
                    "delayed" if delayed else "failed",
                    None,
                    None,
                    notification,
                )
                for a in failed
            ]
    action = "delayed" if delayed else "failed"
    # When no recipient has words of its own, what the notification says is said of all of them
    # ("... failed because the recipient's mailbox is full:" above a list of addresses).
    said_once = len(found) > 1 and not any(f.diagnostic for f in found)
    out = []
    for f in found:
        diagnostic = f.diagnostic or _text_diagnostic(f.block)
        if len(found) == 1 and not find_reply_code(diagnostic):
            # The reply may be quoted away from the address (before it, or once for all).
            whole = _text_diagnostic(notification)
            if find_reply_code(whole):
                diagnostic = whole
            else:
                diagnostic = _stated_once(diagnostic, notification)
        out.append(
            _verdict(
                f.recipient,
                None,
                None,
                diagnostic,
                f.command,
                action,
                f.remote_mta,
                f.original,
                notification,
                len(found) == 1 or said_once,
            )
        )
    return out


def _verdict(
    recipient: str | None,
    status: str | None,
    reply_code: int | None,
    diagnostic: str | None,
    command: str | None,
    action: str | None,
    remote_mta: str | None,
    original_rcpt: str | None,
    context: str | None = None,
    single: bool = True,
) -> RecipientVerdict:
    relayed_status, relayed_code, relayed_text = unwrap_relayed_reply(diagnostic)
    if relayed_text:
        diagnostic, reply_code = relayed_text, relayed_code
        status = relayed_status or status
    found_status = find_status(diagnostic)
    reply_code = reply_code or find_reply_code(diagnostic)
    if (
        found_status
        and found_status != status
        and (
            not status
            or (status_agrees(found_status, reply_code) and found_status[0] == status[0])
            or status.endswith(".0.0")
        )
    ):
        status = found_status  # the remote server's own code is more precise than the reporting MTA's summary
    if (
        command is None
        and diagnostic
        and _QUOTES_RECIPIENT.search(diagnostic)
        and not (status or "").startswith(("5.2.", "4.2."))
    ):
        command = "RCPT"  # a reply quoting the recipient ("<a@b>: ...", "a@b... User unknown") answered RCPT TO
    elif command is None and diagnostic and _EMPTY_ADDRESS_SLOT.match(diagnostic):
        # "550 : User unknown": the "<address>: " of a per-recipient reply left empty is the reply to the
        # end of DATA (au/KDDI answer RCPT TO with "550 <a@b>: User unknown" and a recipient's own filter
        # with "550 : User unknown" after DATA), where no single recipient is named.
        command = "DATA"
    found = assess(status, reply_code, diagnostic, command, action, context, single)
    reason, rule = found.reason, found.rule
    hard = is_hard(reason, status, reply_code)
    if hard and action == "delayed":
        # RFC 3464 2.3.3: "delayed" says the reporting MTA will continue to attempt delivery; whatever code
        # it quotes, the address has not failed yet, so the verdict is soft (the failure report, if it
        # comes, decides).
        hard = False
        found = replace(found, evidence=f"{found.evidence}; soft: Action delayed (still being retried)")
    reading = _RELAY_READING.search(diagnostic or "")
    if hard and found.confidence == CONFIDENCE_STRONG and reading and reading.group(1) == status:
        # hard, but on the relay's reading of a reply that names no enhanced code: never suppressed at once
        found = replace(
            found,
            evidence=f"{found.evidence}; {status} is the relay's reading of a reply without a code",
            confidence=CONFIDENCE_WEAK,
        )
    if not status and reply_code:
        status = f"{str(reply_code)[0]}.0.0"
    if not status and action in ("failed", "delayed") and reason not in ("delivered", "vacation", "feedback"):
        status = "4.0.0" if action == "delayed" else "5.0.0"
    return RecipientVerdict(
        recipient=recipient,
        status=status,
        reply_code=reply_code,
        diagnostic=diagnostic,
        reason=reason,
        hard=hard,
        remote_mta=remote_mta,
        action=action,
        original_recipient=original_rcpt,
        command=command,
        rule=rule,
        evidence=found.evidence,
        confidence=found.confidence,
    )


def _block_for(
    found: list[bounce_text.TextRecipient], recipient: str | None, original_rcpt: str | None, single: bool
) -> bounce_text.TextRecipient | None:
    for f in found:
        if f.recipient.lower() in {(recipient or "").lower(), (original_rcpt or "").lower()}:
            return f
    return found[0] if single and found else None


def _is_thin(diagnostic: str) -> bool:
    """A diagnostic with no words worth reading ('550', '5.0.0', 'smtp; 550 5.1.1')."""
    return len(re.sub(r"[\d.;:\s-]|smtp", "", diagnostic, flags=re.I)) < 4


def _text_diagnostic(text: str) -> str | None:
    return bounce_text.diagnostic_from_block(text)


def _stated_once(diagnostic: str | None, notification: str) -> str | None:
    """A one-recipient report with neither a reply nor a status beside the address may state the reason
    once under its own heading, starting with its RFC 3463 code ("Důvod / Reason: ... 5.1.1 szn; User
    hasn't got the service mapped", Seznam): that paragraph is the diagnostic."""
    if find_reply_code(diagnostic) or find_status(diagnostic):
        return diagnostic
    return bounce_text.status_paragraph(notification) or diagnostic


def _kind(verdicts: list[RecipientVerdict]) -> ReturnedKind:
    if all(v.reason == "delivered" for v in verdicts):
        return ReturnedKind.DELIVERED
    failed = [v for v in verdicts if v.hard is not None]
    if failed and all(v.action == "delayed" for v in failed):
        return ReturnedKind.DELAY
    return ReturnedKind.BOUNCE if failed else ReturnedKind.UNCLASSIFIED


def _complaint(walked: mimewalk.Walked, context: dict[str, Any]) -> ReturnedMessage:
    report = arf.parse_feedback_report("\n".join(walked.feedback_reports))
    recipients = report.recipients
    if not recipients and walked.original is not None:
        recipients = bounce_text.addresses_in(walked.original.get("To"))[:50]
    if not recipients:
        # RFC 5965 3.2: Original-Rcpt-To is optional; the returned header block (text/rfc822-headers)
        # still names whom the reported message was sent to.
        recipients = bounce_text.addresses_in(context.get("original_to"))[:50]
    targets: list[str | None] = list(recipients) if recipients else [None]
    verdicts = tuple(RecipientVerdict(r, None, None, None, "feedback", None) for r in targets)
    facts = _message_facts(
        context,
        {
            "reporting-mta": report.fields.get("reporting-mta", ""),
            "arrival-date": report.fields.get("arrival-date", ""),
        },
    )
    return ReturnedMessage(ReturnedKind.COMPLAINT, verdicts, feedback_type=report.feedback_type or "abuse", **facts)


# RFC 8098 3.2.6: "Disposition: <action-mode>/<sending-mode>; <type>[/<modifier>]". Displayed, dispatched and
# processed say the recipient's own mail reader had the message. "deleted" does not: a Sieve "reject" (RFC 5429
# 2.1) is sent as an automatic MDN with the type deleted, and is a refusal, read as any other.
_DISPOSITION = re.compile(r"^disposition[ \t]*:[^;\n]*;[ \t]*([a-z-]+)(/[^\n]*)?", re.I | re.M)
_RECEIVED_TYPES = ("displayed", "dispatched", "processed")


def _read_receipt(walked: mimewalk.Walked, context: dict[str, Any]) -> ReturnedMessage | None:
    """An RFC 8098 message disposition notification saying the message was displayed, dispatched or
    processed (a read receipt): it was delivered, never a failure. None for any other disposition."""
    text = "\n".join(walked.dispositions)
    disposition = _DISPOSITION.search(text)
    if not disposition or disposition.group(1).lower() not in _RECEIVED_TYPES or disposition.group(2):
        return None
    verdicts = []
    for group in delivery_status.parse_delivery_status(text).recipients[:MAX_VERDICTS]:
        final = delivery_status.address_of(group.get("final-recipient"))
        original_rcpt = delivery_status.address_of(group.get("original-recipient"), xtext=True)
        if final or original_rcpt:
            verdicts.append(
                RecipientVerdict(
                    final or original_rcpt,
                    None,
                    None,
                    None,
                    "delivered",
                    None,
                    original_recipient=original_rcpt,
                    rule="disposition-notification",
                    evidence=f"RFC 8098 disposition {disposition.group(1).lower()}: the recipient's mail reader had it",
                )
            )
    if not verdicts:
        return None
    return ReturnedMessage(ReturnedKind.DELIVERED, tuple(verdicts), **_message_facts(context, {}))


def _original_facts(walked: mimewalk.Walked, inline_original: str | None) -> dict[str, Any]:
    block = walked.original_headers
    if block is None and inline_original:
        block = _leading_header_block(inline_original)
    if not block:
        return {
            "original_headers": None,
            "original_message_id": None,
            "original_x_headers": (),
            "original_from": None,
            "original_to": None,
        }
    parsed = mimewalk.parse_message(block.encode("utf-8", "replace") if isinstance(block, str) else block)
    x_headers = tuple((k, mimewalk.unfold(str(v))) for k, v in parsed.items() if _ORIGINAL_X.match(k))
    return {
        "original_headers": block,
        "original_message_id": (parsed.get("Message-ID") or parsed.get("Message-Id") or "").strip() or None,
        "original_x_headers": x_headers,
        "original_from": " ".join(str(parsed.get(h, "")) for h in ("From", "Return-Path", "Sender", "Reply-To")),
        "original_to": " ".join(str(parsed.get(h, "")) for h in ("To", "Cc")),
    }


def _leading_header_block(text: str) -> str:
    lines: list[str] = []
    for line in text.lstrip("\n").split("\n"):
        if not line.strip():
            if lines:
                break
            continue
        lines.append(
            re.sub(r"^\s{0,4}(?=[A-Za-z-]+:)", "", line)
            if line[:1] not in " \t" or re.match(r"^\s{1,4}[A-Za-z-]+:\s", line)
            else line
        )
    return "\n".join(lines) + "\n"


def _not_recipients(headers: dict[str, str], original: dict[str, Any]) -> set[str]:
    """Addresses in a bounce that are not failed recipients: the sender the bounce goes back to."""
    out: set[str] = set()
    for value in (headers.get("to"), headers.get("from"), original.get("original_from")):
        out.update(a.lower() for a in bounce_text.addresses_in(value))
    return out


def _looks_like_bounce(headers: dict[str, str], walked: mimewalk.Walked) -> bool:
    if walked.delivery_status or "x-failed-recipients" in headers:
        return True
    if "report-type=delivery-status" in (headers.get("content-type") or "").lower():
        return True
    return bool(_DAEMON.search(headers.get("from") or "")) or bool(
        _FAILURE_SUBJECT.search(headers.get("subject") or "")
    )


def _is_bounce_message(msg: Message) -> bool:
    if "report-type=delivery-status" in str(msg.get("Content-Type", "")).lower() or msg.get("X-Failed-Recipients"):
        return True
    return bool(_DAEMON.search(str(msg.get("From", ""))))


def _fallback_recipient(
    headers: dict[str, str],
    original: dict[str, Any],
    notification: str = "",
    exclude: frozenset[str] | set[str] = frozenset(),
) -> str | None:
    for value in (headers.get("x-failed-recipients"), original.get("original_to")):
        found = bounce_text.addresses_in(value)
        if found:
            return found[0]
    # "Your message to a@b couldn't be delivered.": a notification that names exactly one address
    # other than the sender and help addresses is about that address; one whose body names none,
    # "Delivery failure to a@b", names it in the Subject.
    for text in (notification[:20_000], headers.get("subject")):
        named = {a.lower() for a in bounce_text.addresses_in(text)}
        named = {a for a in named if a not in exclude and not bounce_text.is_role_address(a)}
        if named:
            return named.pop() if len(named) == 1 else None
    return None


def _domain_recipients(
    headers: dict[str, str], original: dict[str, Any], notification: str, exclude: frozenset[str] | set[str]
) -> list[str]:
    """A report that names no address but the recipients' domain ("Your message addressed to the target domain
    (example.com) could not be delivered because the mail server responsible for this domain returned a permanent
    error", MailEnable ME-E0193) is about every recipient of the returned original in that domain, when there are
    several: the reason it states once is said of all of them. Empty otherwise (the single-recipient fallback)."""
    if headers.get("x-failed-recipients"):
        return []
    named = {a.lower() for a in bounce_text.addresses_in(notification[:20_000])}
    if {a for a in named if a not in exclude and not bounce_text.is_role_address(a)}:
        return []
    candidates = [
        a for a in dict.fromkeys(bounce_text.addresses_in(original.get("original_to"))) if a.lower() not in exclude
    ]
    text = notification[:20_000].lower()
    in_named_domain = [
        a for a in candidates if re.search(rf"(?<![\w.-]){re.escape(a.rsplit('@', 1)[1].lower())}(?![\w-])", text)
    ]
    return in_named_domain if len(in_named_domain) > 1 else []


def _address(value: str | None) -> str | None:
    found = bounce_text.addresses_in(value)
    return found[0] if found else None


def _message_facts(context: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    return {
        "original_message_id": context.get("original_message_id"),
        "original_headers": context.get("original_headers"),
        "original_envelope_id": fields.get("original-envelope-id") or None,
        "original_x_headers": context.get("original_x_headers") or (),
        "reporting_mta": delivery_status.mta_of(fields.get("reporting-mta")) or None,
        "arrival_date": fields.get("arrival-date") or None,
        "subject": context.get("subject"),
        "from_address": context.get("from_address"),
    }


__all__ = ["classify_returned_message"]
