"""Non-standard bounces: find the failed recipients and what was said about each in human-readable text.

Most MTAs write the same shapes, whatever their wording (Exim, Postfix, Sendmail, qmail, Courier,
OpenSMTPD, Exchange/Office 365, Gmail, Domino, MailEnable, ...):

  - an address alone on a line, the explanation indented below it        (Exim, Gmail, qmail, Domino)
  - "<address>: explanation" with continuation lines                       (Postfix, qmail, Courier)
  - "address: explanation" on one line                                     (OpenSMTPD)
  - "address<mailto:address>" followed by the explanation                  (Exchange / Office 365)
  - "Recipient: <address>" with a transcript ">>> RCPT TO" / "<<< 550 ..." (Sendmail-like gateways)
  - "address on <date>", the explanation and "<server #5.1.1>" below it    (Exchange 2000/2003)

Each recipient's block runs to the next recipient line; from it come the diagnostic (the remote
server's reply when one is quoted, else the first paragraphs), the SMTP command and the remote MTA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .smtp_text import clean_diagnostic, find_command, find_reply_code

# Domain labels may hold "_": not a valid host name, but exactly what a report about an "illegal
# host/domain name" names.
ADDRESS = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)+"
_ADDRESS = re.compile(ADDRESS)
_RECIPIENT_LINES = (
    # "  <a@b>:" / "  a@b" / "  * a@b" / '"a@b":' / "Recipient: <a@b>" / "Recipient: [SMTP:a@b]" / "a@b<mailto:a@b>"
    re.compile(
        rf"^\s*(?:[*\-•]\s*|(?:recipient|to|address|rcpt|original-recipient|failed recipient)s?:\s*|(?:sent\s*)?(?:>>>|<<<)?\s*rcpt to:\s*)?[<\"\[]?(?:smtp:)?({ADDRESS})[>\"\]]?(?:<mailto:[^>]+>)?\s*:?\s*(?:\((?:generated|expanded|ultimately generated) from [^)]*\))?\s*$",
        re.I,
    ),
    # "<a@b>: text" / "<a@b> (expanded from <c@d>): text"
    re.compile(rf"^\s{{0,2}}<({ADDRESS})>(?:\s*\(expanded from[^)]*\))?\s*:\s*(\S.*)$", re.I),
    # "a@b: text" (not a header such as "From: a@b")
    re.compile(rf"^({ADDRESS}):\s+(\S.*)$", re.I),
    # "a@b (text)": the address and the reason in parentheses (GroupWise-like gateways)
    re.compile(
        rf"^\s*<?({ADDRESS})>?\s+\((?!(?:generated|expanded|ultimately generated) from)([^()]{{3,300}})\)\s*$", re.I
    ),
    # "a@b, text" / "<a@b>, text": the address, a comma and the reply on one line (not a list of addresses)
    re.compile(rf"^\s*<?({ADDRESS})>?,\s+(?![^\s@]+@)(\S.*)$", re.I),
    # "a@b    550 5.1.1 User unknown" / "a@b - 550 ...": the address, blanks or a dash, and the remote
    # reply starting with its reply code (a table of recipients and replies)
    re.compile(rf"^\s*<?({ADDRESS})>?(?:\s+-\s+|\s+)([245]\d\d(?:[ -]\S.*)?)$", re.I),
    # "There was an error delivering your mail to <a@b>." (dma mail.c bounce()), "Your message could
    # not be sent to <a@b>:": one sentence naming the recipient in angle brackets at its end, the
    # explanation in the lines below it
    re.compile(
        rf"^\s*[^<>@:]{{0,80}}\b(?:deliver\w*|sen[dt]\w*|message|mail)\b[^<>@:]{{0,40}}\bto\s*<({ADDRESS})>\s*[.:]?\s*$",
        re.I,
    ),
    # "  a@b on 12/5/2026 9:00 AM", the explanation and "<server #5.1.1>" indented below it
    # (Exchange 2000/2003 "The following recipient(s) could not be reached:")
    re.compile(rf"^\s*<?({ADDRESS})>?\s+on\s+(?:\d|(?:mon|tue|wed|thu|fri|sat|sun)\w*,?\s)[^@]*$", re.I),
    # The same line as Exchange and Outlook write it in the sender's language: the address (quoted as the user
    # typed it, "'a@b'" or "'<a@b'"), the word for "on" or none, and a numeric date ("a@b am 05.12.2026 09:00",
    # "a@b le 05/12/2026", "'a@b' en 14/10/2019 8:15", "a@b 2026/12/05 9:00": https://pastebin.com/dUJNHrB0,
    # https://pastebin.com/rrDb8Y6g)
    re.compile(
        rf"^\s*['\"]?<?({ADDRESS})>?['\"]?\s+(?:[^\W\d_]{{1,4}}\s+)?\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}\b[^@]*$", re.I
    ),
    # "was not        a@b": a two-column table flattened to text, a short label without a colon, a wide gap
    # and the address (Domino's Delivery Failure Report as a forwarding client renders it: "was not / delivered
    # / to:" beside the address, "because:" beside the reason, https://pastebin.com/ESqDdi4N)
    re.compile(rf"^\s*[^\W\d_]+(?: [^\W\d_]+){{0,3}}\s{{3,}}<?({ADDRESS})>?\s*$", re.I),
)
# "<a few words>: <address>" alone on a line: the label names the recipient's part ("Could not be
# delivered to:", "Unknown user:", "Addressed To:", "Recipient address:", "Failed recipient(s):"),
# and often why; header lines of a quoted original (From:, Reply-To:, ...) are not recipients.
_LABELLED_RECIPIENT = re.compile(
    # letters of any script ("宛先：a@b"), the ASCII or the full-width colon
    rf"^\s*([^\W\d_](?:[^\W\d_]|[ '()-]){{0,60}}?)\s*[:：]\s*[<\"\[]?(?:smtp:|rfc822;\s*)?({ADDRESS})[>\"\]]?\s*\.?\s*$",
    re.I,
)
_NOT_RECIPIENT_LABEL = re.compile(
    r"^(?:from|sender|reply-to|return-path|errors-to|cc|bcc|delivered-to|envelope-to|x-[\w-]+|message-id|in-reply-to"
    r"|references|resent-[\w-]+|list-[\w-]+|mail from|disposition-notification-to|reporting-mta|received-from-mta"
    r"|(?:the )?(?:sender|from|originator|return path|reply address))$",
    re.I,
)
# Addresses a notification names for help, not as recipients ("contact: postmaster@...").
_ROLE_ADDRESS = re.compile(r"^(?:postmaster|mailer-daemon|abuse|hostmaster|webmaster|no-?reply|support|help)@", re.I)
_REPLY_START = re.compile(
    r"(?:said|returned(?: was)?|reason|error|reply|response|answer|failed with)\s*[:=]?\s*['\"]?\s*(?=[245]\d\d[ -])|<<<\s*|^\s*(?=[245]\d\d[ -])|\b(?=[245]\d\d[ -][245]\.\d{1,3}\.\d)",
    re.I | re.M,
)
_REMOTE_MTA = re.compile(
    r"\b(?:host|server|mta)[: ]+\[?([A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}|\d{1,3}(?:\.\d{1,3}){3})\]?|by ([A-Za-z0-9.-]+\.[A-Za-z]{2,})\.? \[",
    re.I,
)
_BOILERPLATE = re.compile(
    r"^(?:this (?:is|message was) .*automatically|please (?:do not|don't) reply|for (?:further|more) (?:assistance|information|help)|if you (?:do so|have questions)"
    r"|you can delete your own text|the mail system|the postfix program|no action is required|delivery attempts will continue|eventually the mail delivery"
    r"|learn more at|for email administrators|diagnostic information for administrators|generating server:)",
    re.I,
)


MAX_RECIPIENTS = 500  # recipients read from one notification
MAX_LINES = 20_000  # lines of a notification searched for recipients
MAX_NOTIFICATION_READ = 256 * 1024  # characters searched for a paragraph naming an address


@dataclass
class TextRecipient:
    recipient: str
    diagnostic: str | None
    command: str | None
    remote_mta: str | None
    block: str  # the whole block, for the command and for wording when the diagnostic is thin
    # The address the sender wrote when the line names it beside the failed one: Postfix's "<final> (expanded from
    # <alias>):" (bounce(5) templates, https://www.postfix.org/bounce.5.html), Exim's "final (generated from alias)"
    # and Sendmail's "(expanded from: <alias>)"; as RFC 3464's Original-Recipient beside the Final-Recipient.
    original: str | None = None


_EXPANDED_FROM = re.compile(rf"\((?:expanded|generated|ultimately generated) from:?\s*<?({ADDRESS})>?\s*\)", re.I)


def unquote(text: str) -> str:
    """Remove '> ' quoting when a bounce was forwarded inline."""
    lines = text.splitlines()
    quoted = [line for line in lines if line.startswith(">")]
    if len(quoted) >= max(5, len([line for line in lines if line.strip()]) // 2):
        return "\n".join(re.sub(r"^>+ ?", "", line) for line in lines)
    return text


def recipients_in_text(notification: str, exclude: set[str]) -> list[TextRecipient]:
    """The recipients a plain-text notification names, with the block of text about each."""
    lines = unquote(notification).replace("\r", "").split("\n")[:MAX_LINES]
    starts: list[tuple[int, str, str]] = []  # (line index, address, rest of the line)
    originals: dict[str, str] = {}  # failed address (lower case) -> the address it was expanded from
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if len(line) > 2000 or "@" not in line:
            continue
        for pattern in _RECIPIENT_LINES:
            match = pattern.match(line)
            if match:
                address = match.group(1)
                repeated = bool(starts) and starts[-1][1].lower() == address.lower()
                if (
                    address.lower() not in exclude
                    and not repeated
                    and (address.lower() in seen or len(seen) < MAX_RECIPIENTS)
                ):
                    seen.add(address.lower())
                    expanded = _EXPANDED_FROM.search(line)
                    if expanded and expanded.group(1).lower() != address.lower():
                        originals.setdefault(address.lower(), expanded.group(1))
                    rest = match.group(2) if match.lastindex and match.lastindex >= 2 else ""
                    starts.append((i, address, rest or ""))
                break
        else:
            labelled = _LABELLED_RECIPIENT.match(line)
            if (
                labelled
                and not _NOT_RECIPIENT_LABEL.match(labelled.group(1).strip())
                and not _ROLE_ADDRESS.match(labelled.group(2))
            ):
                address = labelled.group(2)
                repeated = bool(starts) and starts[-1][1].lower() == address.lower()
                if (
                    address.lower() not in exclude
                    and not repeated
                    and (address.lower() in seen or len(seen) < MAX_RECIPIENTS)
                ):
                    seen.add(address.lower())
                    starts.append((i, address, labelled.group(1).strip()))
    blocks: list[str] = []
    for k, (i, _address, rest) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        blocks.append("\n".join([rest] + lines[i + 1 : end]).strip("\n"))
    # A list of addresses with one explanation below the last ("The following recipients could
    # not be reached: a, b. Reason: ..."): an address with nothing of its own shares it.
    for k in range(len(blocks) - 2, -1, -1):
        if not blocks[k].strip() and starts[k + 1][1].lower() != starts[k][1].lower():
            blocks[k] = blocks[k + 1]
    found: dict[str, TextRecipient] = {}
    for (_i, address, _rest), block in zip(starts, blocks, strict=True):
        entry = _entry(address, block)
        key = address.lower()
        entry.original = originals.get(key)
        if key not in found or _better(entry, found[key]):
            found[key] = entry
    return list(found.values())


def _better(entry: TextRecipient, than: TextRecipient) -> bool:
    """A later block about the same address wins when it says more: a diagnostic where there was
    none, or the remote server's reply where there was only prose (a transcript after a list)."""
    if not than.diagnostic:
        return bool(entry.diagnostic)
    return (
        bool(entry.diagnostic)
        and find_reply_code(entry.diagnostic) is not None
        and find_reply_code(than.diagnostic) is None
    )


def mentioned(address: str, notification: str) -> TextRecipient:
    """A recipient the notification names only inside a paragraph: that paragraph is its block."""
    for para in re.split(r"\n\s*\n", unquote(notification)[:MAX_NOTIFICATION_READ]):
        if address.lower() in para.lower():
            return _entry(address, para.strip("\n"))
    return TextRecipient(address, None, None, None, "")


def _entry(address: str, block: str) -> TextRecipient:
    return TextRecipient(
        recipient=address,
        diagnostic=diagnostic_from_block(block),
        command=find_command(block),
        remote_mta=_remote_mta(block),
        block=block,
    )


def diagnostic_from_block(block: str) -> str | None:
    """The remote reply quoted in a block, to the end of its paragraph; else the first paragraphs."""
    match = _REPLY_START.search(block)
    if match:
        start = match.end()
        para = re.split(r"\n\s*\n", block[start:], maxsplit=1)[0]
        # An indented continuation keeps going; a line back at the margin after a reply ends it.
        text = clean_diagnostic(para)
        if text:
            return text[:1000]
    paragraphs = [p for p in re.split(r"\n\s*\n", block) if p.strip()]
    kept: list[str] = []
    for para in paragraphs:
        sentences = [line for line in para.splitlines() if line.strip() and not _BOILERPLATE.match(line.strip())]
        if sentences:
            kept.append(" ".join(" ".join(s.split()) for s in sentences))
        if sum(len(k) for k in kept) > 300 or len(kept) >= 3:
            break
    text = " ".join(kept).strip()
    return text[:1000] or None


# A paragraph that starts with an RFC 3463 enhanced status code of a failure (4.X.X or 5.X.X) and words:
# the reason a report states once, under its own heading ("Důvod / Reason:\n---\n\n5.1.1 szn; User hasn't got
# the service mapped", Seznam) rather than beside the address.
_STATUS_PARAGRAPH = re.compile(r"(?m)^[ \t]*[45]\.\d{1,3}\.\d{1,3}[ \t]+\S[^\n]*(?:\n[ \t]*\S[^\n]*)*")


# Where a copy of the message begins, when it is quoted in the text: its header lines (a numbered section
# "5.2.1 Installation" in the quoted body is no reason of the report's).
_QUOTED_HEADERS = re.compile(r"(?im)^(?:received|return-path|from|to|subject|date|message-id):[ \t]")


def status_paragraph(notification: str) -> str | None:
    """The first paragraph of the notification's own text (before any quoted header lines) that starts
    with a failure's enhanced status code."""
    text = unquote(notification)[:MAX_NOTIFICATION_READ]
    quoted = _QUOTED_HEADERS.search(text)
    match = _STATUS_PARAGRAPH.search(text[: quoted.start()] if quoted else text)
    return clean_diagnostic(match.group(0))[:1000] if match else None


def _remote_mta(block: str) -> str | None:
    match = _REMOTE_MTA.search(block)
    if not match:
        return None
    return (match.group(1) or match.group(2)).rstrip(".")


def is_role_address(address: str) -> bool:
    """postmaster@, mailer-daemon@, abuse@, ...: named for help, not as a recipient."""
    return bool(_ROLE_ADDRESS.match(address))


def addresses_in(value: str | None) -> list[str]:
    return _ADDRESS.findall(value or "")
