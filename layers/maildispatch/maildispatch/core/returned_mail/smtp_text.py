"""Read SMTP facts out of free text: reply codes, RFC 3463 enhanced status codes, the SMTP command.

Bounce text quotes the remote server in many shapes ("host mx[192.0.2.1] said: 550 5.1.1 ...",
"<<< 550-5.7.1 ...", "Remote Server returned '550 5.1.10 ...'", "554 554 5.7.0 ..."); these helpers
find the codes without mistaking IP addresses, dates or sizes for them.
"""

from __future__ import annotations

import re

from maildispatch.core.enhanced_status import ENHANCED_STATUS

_STATUS = re.compile(rf"(?<![\d.])({ENHANCED_STATUS})(?![\d]|\.\d)")
_REPLY_WITH_STATUS = re.compile(rf"(?<![\d.])([245][0-5]\d)[ -]+#?({ENHANCED_STATUS})(?![\d]|\.\d)")
_REPLY = re.compile(r"(?:^|[\s:'\"(<\[=]|said:|<<<)\s*([245][0-5]\d)(?:[ -](?!\d{2,}[:.]\d)|$)")

# The SMTP command the remote server was answering, from the wording MTAs use around its reply.
_COMMANDS = (
    (
        "CONN",
        re.compile(
            r"after (?:initial )?connection|while connect|on connect|connection (?:was )?rejected|greeting|banner|in reply to (?:the )?(?:initial|220)|smtp;\s*554 [^\n]*\bconnection refused"
            r"|refused to talk to me"  # Postfix smtp_proto.c: a greeting that was not 220
            # RFC 5321 4.2 / 4.3.1: a greeting is "<code> <domain> [text]", conventionally "<domain> ESMTP ...";
            # a reply of that shape is the server's answer to the connection itself ("554 mx.example ESMTP not
            # accepting connections"), whatever MTA quotes it
            r"|(?:^|[\s:(<]|<<<)[45]\d\d [a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+\.? e?smtp\b"
            # the first line of a multi-line greeting is often the host name alone ("554-mx.example.net", then
            # the reason on the next lines): Exchange's NDR quotes only that line ("#< #5.5.0 SMTP;
            # 554-ironport4.example.net> #SMTP#"); a reply to a command starts with its words or code instead
            r"|(?:^|[\s:(<;]|<<<)[45]\d\d-[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+\.?(?=\s*(?:>|$))",
            re.I,
        ),
    ),
    (
        "HELO",
        re.compile(r"(?:after|in reply to|>>>)\s*(?:EHLO|HELO)\b|\b(?:EHLO|HELO) command|my name was rejected", re.I),
    ),
    (
        "MAIL",
        re.compile(
            r"(?:after|in reply to|>>>|for)\s*MAIL(?: FROM)?\b|MAIL FROM command|SMTP:MAIL\b|sender was rejected"
            r"|did not like our MAIL\b",  # dma net.c "%s [%s] did not like our %s:" (the command it sent)
            re.I,
        ),
    ),
    (
        "RCPT",
        re.compile(
            r"(?:after|in reply to|>>>|for)\s*RCPT(?: TO)?\b|RCPT TO command|SMTP:RCPT\b|after RCPT\b|does not like recipient"
            r"|did not like our RCPT\b"
            # Sun/Oracle Messaging Server's reason for a recipient the remote server refused, "Reason: Remote SMTP
            # server has rejected address" (https://pastebin.com/nuTmn3Nu): the reply answered the address, RCPT TO
            r"|\bserver has rejected (?:the )?(?:recipient )?address\b",
            re.I,
        ),
    ),
    (
        "DATA",
        re.compile(
            r"(?:after|in reply to|>>>|for)\s*(?:end of data|end of DATA|DATA|TEXT)\b|(?:after|in reply to) (?:the )?end of (?:data|message)|SMTP:DATA\b|after the dot|(?:DATA|TEXT) command"
            r"|did not like our (?:final )?DATA\b",
            re.I,
        ),
    ),
)


def find_status(text: str | None) -> str | None:
    """The first RFC 3463 enhanced status code in text, preferring one next to a reply code."""
    if not text:
        return None
    paired = _REPLY_WITH_STATUS.search(text)
    if paired:
        return paired.group(2)
    match = _STATUS.search(text)
    return match.group(1) if match else None


def find_reply_code(text: str | None) -> int | None:
    """The remote server's SMTP reply code in text, preferring one that comes with an enhanced status."""
    if not text:
        return None
    paired = _REPLY_WITH_STATUS.search(text)
    if paired:
        return int(paired.group(1))
    match = _REPLY.search(text)
    return int(match.group(1)) if match else None


def find_command(text: str | None) -> str | None:
    """CONN, HELO, MAIL, RCPT or DATA: the SMTP stage the text says the failure happened at."""
    if not text:
        return None
    # Reports wrap long lines anywhere ("refused to talk to\n    me"): read the words, not the lines.
    text = " ".join(text[:20_000].split())
    best: tuple[int, str] | None = None
    for command, pattern in _COMMANDS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), command)
    return best[1] if best else None


def status_agrees(status: str | None, reply_code: int | None) -> bool:
    """RFC 3463: the enhanced code's class must agree with the reply code's."""
    return not (status and reply_code) or status[0] == str(reply_code)[0]


def clean_diagnostic(text: str) -> str:
    """One line: continuation prefixes ('550-') dropped, whitespace collapsed."""
    text = re.sub(r"(?m)^\s*([245]\d\d)-(?=\S)", "", text)
    text = re.sub(r"\n\s*([245]\d\d)[ -](?=[245]\.\d)", " ", text)
    return " ".join(text.split())


_CONTINUED = re.compile(r"^\s*(?:smtp;\s*)?([245]\d\d)-(\S.*)$", re.S | re.I)


def complete_multiline(diagnostic: str | None, text: str) -> str | None:
    """RFC 5321 4.2.1: a multiline reply is "<code>-" lines ended by a "<code> " line. A report field
    that kept only the first line (RFC 3464 Diagnostic-Code written from the first line, as Sendmail
    does) is completed from the report's transcript or text that quotes the whole reply. Only a line
    cut mid-sentence is completed: a first line that ends its sentence already says what it says."""
    found = _CONTINUED.match(diagnostic or "")
    if not found or "\n" in (diagnostic or "").strip() or (diagnostic or "").rstrip()[-1:] in ".!?)":
        return diagnostic
    code, first = found.group(1), " ".join(found.group(2).split())
    lines = text[:200_000].splitlines()
    for i, line in enumerate(lines):
        if not " ".join(line.split()).endswith(f"{code}-{first}"):
            continue
        parts = [f"{code}-{first}"]
        for following in lines[i + 1 : i + 40]:
            more = re.match(rf"\s*(?:<<<\s*)?({code})([ -])(.*)$", following)
            if not more:
                break
            parts.append(f"{code}{more.group(2)}{more.group(3).strip()}")
            if more.group(2) == " ":
                break
        if len(parts) > 1:
            return " ".join(parts)
    return diagnostic


# A relay (Amazon SES among them) may prefix the remote reply with its own reading of it:
#   "5.1.0 - Unknown address error 550-'5.7.1 <a@b>... Access denied' (delivery attempts: 0)"
# The remote server's words, in quotes, are what to classify.
_RELAYED = re.compile(
    rf"^\s*(?:smtp;\s*)?{ENHANCED_STATUS} - [^']*?\b([245]\d\d)[- ]'(.*)'(?: \(delivery attempts: \d+\))?\s*$",
    re.S | re.I,
)


# Exchange and Exchange Online do the same after their own code and reading of the remote reply code:
#   "550 5.1.351 Remote server returned unknown recipient or mailbox unavailable -> 550 : User unknown"
# ("mailbox unavailable" is RFC 5321's text for any 550, so the reading adds nothing to the reply).
_RELAYED_AFTER_ARROW = re.compile(
    rf"^\s*(?:smtp;\s*)?(?:[245]\d\d[ -])?{ENHANCED_STATUS} remote server returned [^>]{{0,160}}?\s->\s*([245]\d\d)\b[ -]?(.*?)'?\s*$",
    re.S | re.I,
)


def unwrap_relayed_reply(diagnostic: str | None) -> tuple[str | None, int | None, str | None]:
    """(status, reply code, text) of the remote reply quoted inside a relay's diagnostic, or Nones."""
    match = _RELAYED.match(diagnostic or "") or _RELAYED_AFTER_ARROW.match(diagnostic or "")
    if not match:
        return None, None, None
    reply_code, text = int(match.group(1)), " ".join(match.group(2).split())
    return find_status(text), reply_code, f"{reply_code} {text}"
