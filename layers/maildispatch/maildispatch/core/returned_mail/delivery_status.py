"""RFC 3464 delivery-status fields: the per-message fields and every per-recipient group.

Reads the body of a `message/delivery-status` part, and the same fields where an MTA writes them
into a text part (Amazon WorkMail, some Exchange and Postfix reports). Tolerates what real reports
do: no blank line between groups, groups that repeat per-message fields, folded multi-line
Diagnostic-Code values, and fields in any letter case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_GROUPS = 500  # per-recipient groups read from one report; the rest are not classified
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
_PER_RECIPIENT = frozenset(
    _RECIPIENT_FIELDS
    + (
        "action",
        "status",
        "remote-mta",
        "diagnostic-code",
        "last-attempt-date",
        "final-log-id",
        "will-retry-until",
        "x-supplementary-info",
        "x-display-name",
    )
)
_PER_MESSAGE = frozenset(
    (
        "reporting-mta",
        "dsn-gateway",
        "received-from-mta",
        "arrival-date",
        "original-envelope-id",
        "x-postfix-queue-id",
        "x-postfix-sender",
        "x-original-message-id",
        "x-sendmail-queue-id",
    )
)


@dataclass
class DeliveryStatus:
    message_fields: dict[str, str] = field(default_factory=dict)
    recipients: list[dict[str, str]] = field(default_factory=list)


def parse_delivery_status(text: str) -> DeliveryStatus:
    """Per-message fields and the per-recipient groups, field names lower-cased, values unfolded."""
    result = DeliveryStatus()
    group: dict[str, str] = {}

    def close() -> None:
        nonlocal group
        if (any(k in group for k in _RECIPIENT_FIELDS) or ("status" in group and "action" in group)) and len(
            result.recipients
        ) < MAX_GROUPS:
            result.recipients.append(group)
        group = {}

    last: tuple[dict[str, str], str] | None = None
    for line in _fields_lines(text):
        if not line.strip():
            if any(k in group for k in _RECIPIENT_FIELDS):
                close()
            last = None
            continue
        if line[:1] in " \t" and last is not None:
            target, name = last
            if len(target[name]) < 4000:  # a folded value: kept to a sane length
                target[name] = f"{target[name]} {line.strip()}".strip()
            continue
        match = _FIELD.match(line)
        if not match:
            last = None
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name in _PER_RECIPIENT:
            # A field the group already has, or a new recipient after the group's Action/Status,
            # begins the next group (some MTAs leave out the blank line between groups).
            starts_new = name in group and name != "diagnostic-code"
            starts_new = starts_new or (
                name in ("final-recipient", "original-recipient")
                and any(k in group for k in _RECIPIENT_FIELDS)
                and ("action" in group or "status" in group)
            )
            if starts_new:
                close()
            group[name] = value
            last = (group, name)
        elif name in _PER_MESSAGE:
            result.message_fields.setdefault(name, value)
            last = (result.message_fields, name)
        else:
            last = None
    close()
    return result


def _fields_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((line for line in lines if line.strip()), "")
    if first[:1] in " \t" and _FIELD.match(first.lstrip()):
        # The whole block indented (a report pasted or rendered inside a text part): the fields start at
        # the common indentation, and only lines indented further continue a field (RFC 3464 2.1.1).
        indent = min(len(line) - len(line.lstrip(" \t")) for line in lines if line.strip())
        lines = [line[indent:] for line in lines]
    return lines


def looks_like_delivery_status(text: str) -> bool:
    """True when text carries RFC 3464 per-recipient fields (Final-Recipient with Action or Status)."""
    lowered = text.lower()
    return "final-recipient:" in lowered and ("status:" in lowered or "action:" in lowered)


def strip_comments(value: str) -> str:
    """The value without its comments: RFC 3464 2.1.1 ("Text that appears in parentheses is considered a
    comment and not part of the contents of that notification field"), with RFC 5322 3.2.2's nesting,
    quoted strings and quoted pairs. One pass over the value."""
    if "(" not in value:
        return value
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for ch in value:
        if escaped:
            escaped = False
            if not depth:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if not depth:
                out.append(ch)
        elif quoted:
            quoted = ch != '"'
            out.append(ch)
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if not depth:
                out.append(" ")
        elif not depth:
            if ch == '"':
                quoted = True
            out.append(ch)
    return " ".join("".join(out).split())


# RFC 3461 4 (xtext): "+" and two upper-case hex digits stand for a character that may not be written
# as is. A conforming encoder encodes only "+", "=" and characters outside "!".."~"; of those only "+",
# "=" and a space (in a quoted local part) can be in an rfc822 address, so any other "+XX" is a literal
# plus in the address ("user+AB@...", "user+4A@...") and is kept.
_XTEXT = re.compile(r"\+([0-9A-F]{2})")
# RFC 6533 3: the utf-8 address type writes a non-ASCII character in an ASCII report as "\x{HEX}".
_EMBEDDED_UNICODE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


def _xtext_char(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if chr(code) in "+= " else match.group(0)


def _unicode_char(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if 0x20 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def address_of(value: str | None, xtext: bool = False) -> str | None:
    """The address of a recipient field: 'rfc822; <a@b> (comment)' -> 'a@b'.

    `xtext` for Original-Recipient, which carries the ORCPT parameter (RFC 3461 4.2) as it was given,
    xtext-encoded. A "utf-8" address (RFC 6533 3) has its "\\x{HEX}" characters decoded; a quoted local
    part (RFC 5321 4.1.2) keeps its quotes; a domain written as an absolute name ("example.net.") loses
    its final dot."""
    if not value:
        return None
    value = strip_comments(value)
    addr_type, sep, addr = value.partition(";")
    if not sep:
        addr, addr_type = addr_type, ""
    addr = addr.strip()
    if addr.startswith("<") and addr.endswith(">"):
        addr = addr[1:-1]
    elif addr.endswith(">") and "<" in addr and "@" in addr.rsplit("<", 1)[1]:
        addr = addr.rsplit("<", 1)[1][:-1]  # a name-addr ('Jane Doe <a@b>') where an addr-spec belongs
    if addr[:7].lower() == "mailto:":
        addr = addr[7:]
    addr = addr.strip().strip("<>").strip()
    if addr.startswith('"') and addr.endswith('"') and '"' not in addr[1:-1]:
        addr = addr[1:-1]  # the whole address quoted
    if addr.lower().startswith("rfc822:") or addr.lower().startswith("smtp:"):
        addr = addr.split(":", 1)[1]
    addr = addr.strip().strip("<>").strip()
    if "\\x{" in addr and addr_type.strip().lower() in ("utf-8", "utf8", ""):
        addr = _EMBEDDED_UNICODE.sub(_unicode_char, addr)
    if xtext and "+" in addr:
        addr = _XTEXT.sub(_xtext_char, addr)
    if "@" in addr and addr.endswith(".") and not addr.endswith(".."):
        addr = addr[:-1]
    return addr or None


def diagnostic_of(value: str | None) -> tuple[str | None, str | None]:
    """(diagnostic type, text) of a Diagnostic-Code value: 'smtp; 550 5.1.1 ...' -> ('SMTP', '550 5.1.1 ...')."""
    if not value:
        return None, None
    kind, sep, text = value.partition(";")
    if sep and re.fullmatch(r"\s*[A-Za-z][\w-]*\s*", kind):
        return kind.strip().upper(), " ".join(text.split()) or None
    return None, " ".join(value.split()) or None


def mta_of(value: str | None) -> str | None:
    """'dns; mx.example.org' -> 'mx.example.org'."""
    if not value:
        return None
    _, sep, name = value.partition(";")
    name = (name if sep else value).strip().strip("[]")
    return name.split()[0] if name else None
