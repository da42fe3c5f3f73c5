"""RFC 3464 delivery status notifications: tell the sender, in mail, what could not be delivered.

A DSN is a `multipart/report; report-type=delivery-status` with three parts, as Postfix and
Haraka write them: a note for people, the `message/delivery-status` fields for programs, and
the original's headers (`text/rfc822-headers`, never its body). It is built from a
BounceReport alone, without I/O, and is plain 7-bit ASCII with CRLF line endings unless the
sender's own address needs SMTPUTF8 (then only the To header carries UTF-8).
"""

from __future__ import annotations

import binascii
import hashlib
import re
import textwrap
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from maildispatch.core.enhanced_status import is_enhanced_status
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason

SUBJECT_FAILED = "Undelivered Mail Returned to Sender"
SUBJECT_DELAYED = "Delayed Mail (still being retried)"
DIAGNOSTIC_TYPE_LOCAL = "x-maildispatch"  # Diagnostic-Code type for failures that were not an SMTP reply

# Optional facts a report's `source` may carry (ISO 8601 strings); see bounce.report_from_dlq_message.
SOURCE_LAST_ATTEMPT = "last_attempt_at"
SOURCE_WILL_RETRY_UNTIL = "will_retry_until"

_CRLF = "\r\n"
_FOLD_AT = 76
_MAX_LINE = 998
_UNUSABLE_ADDRESS = re.compile(r'[\s\x00-\x1f\x7f<>(),;:"\\]')
_MESSAGE_ID = re.compile(r"^<?([^<>\s]+@[^<>\s]+)>?$")

# What an RFC 3463 status means to a person, most specific first.
_STATUS_MEANING = {
    "1.1": "the address does not exist at the recipient's domain",
    "1.2": "the recipient's domain does not exist or accepts no mail",
    "1.10": "the recipient's domain accepts no mail",
    "2.1": "the mailbox is disabled",
    "2.2": "the mailbox is full",
    "3.4": "the message is too large for the recipient's server",
    "4.7": "delivery time expired",
    "6.0": "the message content could not be processed",
    "7": "the recipient's server refused the message by policy (spam filter, sender authentication or reputation)",
}


def dsn_recipient(report: BounceReport) -> str | None:
    """Where the DSN goes: the original envelope sender.

    None when there is nobody to tell: the sender is unknown, empty or the null sender (a
    bounce never bounces), is a mailer daemon, or is not a single plain address; and when
    the report names no recipient, as RFC 3464 requires at least one per-recipient group.
    """
    sender = (report.envelope_sender or "").strip()
    if sender.startswith("<") and sender.endswith(">"):
        sender = sender[1:-1].strip()
    if not report.recipients or not _is_plain_address(sender):
        return None
    if sender.rsplit("@", 1)[0].lower() == "mailer-daemon":
        return None
    return sender


def build_dsn(report: BounceReport, *, reporting_mta: str, postmaster: str, now: datetime, message_id: str) -> bytes:
    """The DSN for `report`, ready to send with the null envelope sender to `dsn_recipient(report)`.

    Raises ValueError when the report has no DSN recipient.
    """
    to = dsn_recipient(report)
    if to is None:
        raise ValueError("the report names no usable envelope sender or no recipient: it gets no DSN")
    now = _aware(now)
    all_delayed = all(r.action == "delayed" for r in report.recipients)
    parts = [
        _text_part("Notification", _notification(report, reporting_mta, now, all_delayed)),
        _part(
            {"Content-Description": "Delivery report", "Content-Type": "message/delivery-status"},
            delivery_status(report, reporting_mta),
        ),
    ]
    if report.original_headers and report.original_headers.strip():
        parts.append(_headers_part(report.original_headers))
    boundary = _boundary(message_id, parts)

    headers = [
        ("From", f"Mail Delivery System <{_one_line(postmaster)}>"),
        ("To", _header_address(to)),
        ("Subject", SUBJECT_DELAYED if all_delayed else SUBJECT_FAILED),
        ("Date", format_datetime(now)),
        ("Message-ID", _angle(message_id) or f"<{_digest(message_id)[:32]}@{_domain(reporting_mta)}>"),
    ]
    original_id = _angle(report.message_id)
    if original_id:
        headers += [("In-Reply-To", original_id), ("References", original_id)]
    headers += [("Auto-Submitted", "auto-replied"), ("MIME-Version", "1.0")]
    out = "".join(f"{name}: {value}{_CRLF}" for name, value in headers)
    out += f'Content-Type: multipart/report; report-type=delivery-status;{_CRLF} boundary="{boundary}"{_CRLF}'
    out += _CRLF + "This is a MIME-encapsulated message." + _CRLF
    for part in parts:
        out += _CRLF + "--" + boundary + _CRLF + part
    out += _CRLF + "--" + boundary + "--" + _CRLF
    return out.encode("utf-8", "replace")


def delivery_status(report: BounceReport, reporting_mta: str) -> str:
    """The `message/delivery-status` body: per-message fields, then one group per recipient.

    Each field ends in CRLF and each group is preceded by one empty line (RFC 3464 section 2.1).
    """
    fields = [f"Reporting-MTA: dns; {_domain(reporting_mta)}"]
    if report.message_key:
        fields.append(f"Original-Envelope-Id: {xtext(report.message_key)}")
    fields.append(f"Arrival-Date: {format_datetime(_aware(report.arrival_date))}")
    groups = [fields] + [_recipient_fields(report, r) for r in report.recipients]
    return _CRLF.join("".join(_field_line(line) for line in group) for group in groups)


def xtext(value: str) -> str:
    """RFC 3461 xtext: printable ASCII except '+' and '=' as is, every other octet as '+HH'."""
    return "".join(
        chr(b) if 0x21 <= b <= 0x7E and b not in (0x2B, 0x3D) else f"+{b:02X}" for b in value.encode("utf-8", "replace")
    )


_ADDRESS_XTEXT_LIMIT = 900  # "Final-Recipient: utf-8; " + this stays under 998 octets


def address_field(address: str) -> str:
    """An address as a DSN address field value: `rfc822; a@b`, the domain in IDNA when it is not
    ASCII, and the RFC 6533 `utf-8;` type (utf-8-addr-xtext) only when the local part is not ASCII."""
    local, at, domain = address.rpartition("@")
    if _is_atext(address):
        return f"rfc822; {address}"
    if at and _is_atext(local):
        idna = _idna(domain)
        if idna is not None and _is_atext(idna):
            return f"rfc822; {local}@{idna}"
    encoded = "".join(_utf8_xtext_char(c) for c in address)
    if len(encoded) > _ADDRESS_XTEXT_LIMIT:
        # Longer than any real address encodes to: cut at a whole \x{...} so the field stays one
        # unbroken word within a line (splitting it would change the address when unfolded).
        encoded = encoded[:_ADDRESS_XTEXT_LIMIT]
        escape = encoded.rfind("\\x{")
        if escape != -1 and "}" not in encoded[escape:]:
            encoded = encoded[:escape]
    return "utf-8; " + encoded


# -- the parts ------------------------------------------------------------------------------


def _recipient_fields(report: BounceReport, recipient: FailedRecipient) -> list[str]:
    fields = [
        f"Final-Recipient: {address_field(recipient.address)}",
        f"Action: {'delayed' if recipient.action == 'delayed' else 'failed'}",
        f"Status: {_status(recipient.status, '4.0.0' if recipient.action == 'delayed' else '5.0.0')}",
    ]
    if recipient.remote_mta:
        fields.append(f"Remote-MTA: dns; {_domain(recipient.remote_mta)}")
    diagnostic = _ascii(recipient.diagnostic or "")
    if recipient.reply_code is not None:
        if not diagnostic.startswith(str(recipient.reply_code)):
            diagnostic = f"{recipient.reply_code} {diagnostic}".rstrip()
        fields.append(f"Diagnostic-Code: smtp; {diagnostic}")
    elif diagnostic:
        fields.append(f"Diagnostic-Code: {DIAGNOSTIC_TYPE_LOCAL}; {diagnostic}")
    last_attempt = _source_date(report, SOURCE_LAST_ATTEMPT)
    if last_attempt is not None:
        fields.append(f"Last-Attempt-Date: {format_datetime(last_attempt)}")
    retry_until = _source_date(report, SOURCE_WILL_RETRY_UNTIL)
    if recipient.action == "delayed" and retry_until is not None:
        fields.append(f"Will-Retry-Until: {format_datetime(retry_until)}")
    return fields


def _notification(report: BounceReport, reporting_mta: str, now: datetime, all_delayed: bool) -> str:
    lines = [f"This is the mail delivery system at {_domain(reporting_mta)}.", ""]
    if all_delayed:
        lines += _wrap(
            "Your message has not been delivered yet to the recipients listed below. "
            "Delivery is still being retried; you do not need to do anything now."
        )
    elif report.reason in (ReportReason.INVALID_REQUEST, ReportReason.RENDER_FAILED):
        what = (
            "your send request could not be read"
            if report.reason == ReportReason.INVALID_REQUEST
            else "the message could not be built from its template"
        )
        lines += _wrap(f"Your message was not sent to any recipient: {what}.")
    elif report.reason == ReportReason.EXPIRED:
        tried = _duration((_source_date(report, SOURCE_LAST_ATTEMPT) or now) - _aware(report.arrival_date))
        lines += _wrap(
            f"Your message could not be delivered to one or more recipients. It was retried for {tried}; "
            "the receiving servers only ever answered with temporary failures, so delivery has been given up."
        )
    elif report.reason == ReportReason.REDRIVEN:
        lines += _wrap(
            "Your message could not be delivered: the dispatch service failed repeatedly while handling it "
            "and has given up. Some recipients may have received it before the failures."
        )
    elif report.reason == ReportReason.SUPPRESSED:
        lines += _wrap(
            "Your message was not sent to one or more recipients: their addresses are on the suppression list, "
            "because earlier mail to them bounced permanently or they complained."
        )
    else:
        lines += _wrap(
            "Your message could not be delivered to one or more recipients. "
            "Their mail servers refused it permanently; it will not be retried."
        )
    lines.append("")
    for label, value in (
        ("Subject", report.subject),
        ("From", report.from_address),
        ("Message-ID", report.message_id),
        ("Message key", report.message_key),
    ):
        if value:
            lines.append(f"  {label + ':':<13}{_one_line(value)}")
    lines.append(f"  {'Sent:':<13}{format_datetime(_aware(report.arrival_date))}")
    if report.error:
        lines += ["", "The problem:", *_wrap(_one_line(report.error), indent="    ")]
    lines += ["", "Recipients:" if not all_delayed else "Not delivered yet:"]
    for recipient in report.recipients:
        lines += _wrap(
            f"<{_one_line(recipient.address)}>: {_meaning(recipient.status)} (status {_status(recipient.status)})",
            indent="  ",
            subsequent="    ",
        )
        if recipient.reply_code is not None and recipient.diagnostic:
            server = f" ({_one_line(recipient.remote_mta)})" if recipient.remote_mta else ""
            lines += _wrap(f"The server{server} said: {_one_line(recipient.diagnostic)}", indent="    ")
        elif recipient.diagnostic and recipient.diagnostic != report.error:
            lines += _wrap(_one_line(recipient.diagnostic), indent="    ")
    lines += ["", "What you can do:", *_wrap(_advice(report, all_delayed), indent="  ")]
    attached = (
        "The technical report and the original message's headers are attached."
        if (report.original_headers or "").strip()
        else "The technical report is attached."
    )
    lines += ["", attached]
    return _CRLF.join(piece for line in lines for piece in _within_line_limit(line)) + _CRLF


def _within_line_limit(line: str, continuation: str = "    ") -> list[str]:
    """`line` as lines of at most 998 octets (RFC 5322 2.1.1): a long subject or word is split, the rest indented."""
    pieces: list[str] = []
    while len(line.encode("utf-8")) > _MAX_LINE:
        cut, size = 0, 0
        for cut, char in enumerate(line):  # noqa: B007  (cut is used after the loop)
            size += len(char.encode("utf-8"))
            if size > _MAX_LINE:
                break
        space = line.rfind(" ", len(continuation) + 1, cut)
        cut = space if space > len(continuation) else cut
        pieces.append(line[:cut].rstrip(" "))
        line = continuation + line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


def _advice(report: BounceReport, all_delayed: bool) -> str:
    if all_delayed:
        return "Nothing yet. You will get another notice if delivery finally fails."
    if report.reason == ReportReason.INVALID_REQUEST:
        return "Correct the request as described above and send it again. Nothing was delivered."
    if report.reason == ReportReason.RENDER_FAILED:
        return (
            "Fix the template or the data it uses as described above and send the message again. Nothing was delivered."
        )
    if report.reason == ReportReason.EXPIRED:
        return "Check that the addresses are right and try again later, or reach the recipients another way."
    if report.reason == ReportReason.SUPPRESSED:
        return (
            "Check the addresses. If one is valid again, remove it from the suppression list "
            '(maildispatch suppression remove ADDRESS) or send with "ignore_suppression": true.'
        )
    if report.reason == ReportReason.REDRIVEN:
        return "Ask the recipients whether the message arrived before sending it again, or contact your mail administrator."
    return (
        "Check the addresses for typing mistakes and send the message again, or reach the recipients another way. "
        "If the server refused the message by policy, contact your mail administrator."
    )


def _meaning(status: str) -> str:
    klass, _, detail = _status(status).partition(".")
    if detail in _STATUS_MEANING:
        return _STATUS_MEANING[detail]
    subject = detail.split(".")[0]
    if subject in _STATUS_MEANING:
        return _STATUS_MEANING[subject]
    return "delivery failed permanently" if klass == "5" else "delivery failed after temporary errors"


def _text_part(description: str, text: str) -> str:
    if text.isascii():
        return _part({"Content-Description": description, "Content-Type": "text/plain; charset=us-ascii"}, text)
    return _part(
        {
            "Content-Description": description,
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Transfer-Encoding": "quoted-printable",
        },
        _quoted_printable(text),
    )


def _headers_part(original_headers: str) -> str:
    lines = original_headers.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    text = _CRLF.join(lines) + _CRLF
    description = "Undelivered Message Headers"
    if all(len(line) <= _MAX_LINE and all(c == "\t" or " " <= c <= "~" for c in line) for line in lines):
        return _part({"Content-Description": description, "Content-Type": "text/rfc822-headers"}, text)
    return _part(
        {
            "Content-Description": description,
            "Content-Type": "text/rfc822-headers; charset=utf-8",
            "Content-Transfer-Encoding": "quoted-printable",
        },
        _quoted_printable(text),
    )


def _part(headers: dict[str, str], body: str) -> str:
    return "".join(f"{name}: {value}{_CRLF}" for name, value in headers.items()) + _CRLF + body


def _quoted_printable(text: str) -> str:
    encoded = binascii.b2a_qp(text.replace(_CRLF, "\n").encode("utf-8", "replace"), istext=True).decode("ascii")
    return encoded.replace("\n", _CRLF)


def _boundary(seed: str, parts: list[str]) -> str:
    digest = _digest(seed)
    for n in range(100):
        boundary = f"=_maildispatch_{digest[:24]}_{n}"
        if not any(boundary in part for part in parts):
            return boundary
    raise AssertionError("no free MIME boundary")  # pragma: no cover: would need 100 crafted collisions


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


# -- values ---------------------------------------------------------------------------------


def _field_line(line: str) -> str:
    """One DSN field, folded before a space so that unfolding (RFC 5322 2.2.3) restores it exactly.

    Never folds right after the field name; a word too long for any line (over 998 octets) is split.
    """
    out: list[str] = []
    lo = line.find(":") + 2
    while len(line) > _FOLD_AT:
        cut = line.rfind(" ", lo, _FOLD_AT + 1)
        if cut < lo:
            cut = line.find(" ", _FOLD_AT + 1)
        if 0 < cut <= _MAX_LINE:
            out.append(line[:cut])
            line = line[cut:]
        elif len(line) > _MAX_LINE:
            out.append(line[:_MAX_LINE])
            line = " " + line[_MAX_LINE:]
        else:
            break
        lo = 1
    out.append(line)
    return _CRLF.join(out) + _CRLF


def _header_address(address: str) -> str:
    local, _, domain = address.rpartition("@")
    if not domain.isascii() and local.isascii():
        idna = _idna(domain)
        if idna is not None:
            return f"{local}@{idna}"
    return address


def _is_plain_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and address.isprintable() and not _UNUSABLE_ADDRESS.search(address)


def _is_atext(text: str) -> bool:
    """Non-empty printable ASCII without spaces: fit for an rfc822 address field as is."""
    return bool(text) and all("\x21" <= c <= "\x7e" for c in text)


def _idna(domain: str) -> str | None:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _utf8_xtext_char(c: str) -> str:
    """RFC 6533 utf-8-addr-xtext: QCHARs as is, everything else as \\x{HEX}."""
    if 0x21 <= ord(c) <= 0x7E and c not in "+=\\":
        return c
    return f"\\x{{{ord(c):02X}}}"


def _ascii(text: str) -> str:
    """Text for a DSN field: one line, non-ASCII characters as RFC 6533 \\x{HEX} escapes."""
    return "".join(c if c.isascii() else f"\\x{{{ord(c):X}}}" for c in _one_line(text))


def _one_line(text: str) -> str:
    """Text for one header or field line: controls (CR, LF, ...) and lone surrogates become spaces."""
    return " ".join("".join(c if c.isprintable() or c.isspace() else " " for c in text).split())


def _domain(host: str) -> str:
    host = _one_line(host).rstrip(".")
    return host if host.isascii() else (_idna(host) or _ascii(host))


def _status(status: str, default: str = "5.0.0") -> str:
    status = (status or "").strip()
    return status if is_enhanced_status(status) else default


def _angle(message_id: str | None) -> str | None:
    match = _MESSAGE_ID.match((message_id or "").strip())
    return f"<{match.group(1)}>" if match and match.group(1).isascii() else None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _source_date(report: BounceReport, key: str) -> datetime | None:
    value = report.source.get(key)
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _duration(span: timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    units = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in units if n][:2]
    return " ".join(words) if words else "less than a minute"


def _wrap(text: str, indent: str = "", subsequent: str | None = None) -> list[str]:
    wrapped = textwrap.wrap(
        text,
        width=72,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped or [""]
