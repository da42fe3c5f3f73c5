"""Walk a returned message: find its report parts, its human-readable text and the original it returns.

Pure functions of the message bytes, with the stdlib `email` package (compat32 policy: the most
forgiving and the cheapest to import). Bounces are often malformed: every decoder here falls back
rather than raising.
"""

from __future__ import annotations

import base64
import binascii
import email
import html
import quopri
import re
import urllib.parse
from dataclasses import dataclass, field
from email import errors
from email.message import Message

DELIVERY_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
FEEDBACK_REPORT_TYPES = ("message/feedback-report",)
# RFC 8098 message disposition notifications (read receipts), RFC 6533 5 for the UTF-8 form
DISPOSITION_TYPES = ("message/disposition-notification", "message/global-disposition-notification")
ORIGINAL_MESSAGE_TYPES = ("message/rfc822", "message/global", "message/partial")
MAX_DEPTH = 24  # MIME nesting read; deeper parts are ignored (real reports nest 3-4 deep)
MAX_PARTS = 500  # MIME parts visited per message
MAX_TEXT = 512 * 1024  # characters kept of one text part
ORIGINAL_HEADERS_TYPES = (
    "text/rfc822-headers",
    "message/rfc822-headers",
    "text/rfc822-header",
    "message/global-headers",
)


@dataclass
class Walked:
    """The parts of a returned message that the parsers read."""

    message: Message
    texts: list[str] = field(default_factory=list)  # human-readable parts, in order (HTML turned into text)
    delivery_status: list[str] = field(default_factory=list)  # message/delivery-status bodies
    feedback_reports: list[str] = field(default_factory=list)  # message/feedback-report bodies
    dispositions: list[str] = field(default_factory=list)  # message/disposition-notification bodies
    original: Message | None = None  # the returned message (message/rfc822), when enclosed
    original_headers: str | None = None  # its header block (text/rfc822-headers, or from `original`)


def parse_message(raw: bytes) -> Message:
    if isinstance(raw, str):  # tolerate text; the contract is bytes
        raw = raw.encode("utf-8", "surrogateescape")
    return email.message_from_bytes(raw)


def content_charset(part: Message) -> str | None:
    """The declared charset, or None when it is unreadable (NUL bytes, non-ASCII, too long)."""
    try:
        charset = part.get_content_charset()
    except (ValueError, LookupError, UnicodeError, TypeError):
        return None
    if not charset or len(charset) > 40 or not re.fullmatch(r"[A-Za-z0-9._:+-]+", charset):
        return None
    return charset


def header(msg: Message, name: str) -> str | None:
    """A header's value, RFC 2047 decoded and unfolded; None when absent."""
    value = msg.get(name)
    if value is None:
        return None
    return unfold(decode_words(str(value)))


def unfold(value: str) -> str:
    return " ".join(value.split())


def decode_words(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        from email.header import decode_header, make_header

        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, binascii.Error, TypeError, AssertionError):
        # A bad encoded-word (unknown or broken charset such as punycode, bad base64): keep the
        # words as written, decoding each one that can be decoded.
        return _ENCODED_WORD.sub(_decode_one_word, value)


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,40})\?([bBqQ])\?([^?\s]*)\?=")


def _decode_one_word(match: re.Match[str]) -> str:
    charset, encoding, text = match.groups()
    try:
        if encoding in "bB":
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), header=True)
        return decode_bytes(data, charset)
    except (ValueError, binascii.Error, UnicodeError):
        return match.group(0)


def walk(msg: Message, raw: bytes | None = None) -> Walked:
    """Collect the report parts and the readable text, without descending into the returned original.

    When the MIME structure is broken (a boundary that never appears, a nested multipart without
    one) and yields no readable part, the raw body is read as one text part instead.
    """
    out = Walked(message=msg)
    _visit(msg, out, top=True, budget=[MAX_PARTS])
    if raw is not None and not (out.texts or out.delivery_status or out.feedback_reports or out.dispositions):
        body = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)
        if len(body) == 2:
            text = decode_bytes(body[1][:MAX_TEXT], content_charset(msg))
            if "quoted-printable" in (msg.get("Content-Transfer-Encoding") or "").lower():
                text = quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
            out.texts.append(text)
    if out.original is not None and out.original_headers is None:
        out.original_headers = header_block_of(out.original)
    return out


def _visit(part: Message, out: Walked, top: bool = False, depth: int = 0, budget: list[int] | None = None) -> None:
    budget = budget if budget is not None else [MAX_PARTS]
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        return  # pathological nesting: what is deeper than any real report is not read
    ctype = part.get_content_type()
    if part.is_multipart() and not ctype.startswith("message/"):
        for sub in part.get_payload() or ():
            if isinstance(sub, Message):
                _visit(sub, out, depth=depth + 1, budget=budget)
        return
    if ctype in DELIVERY_STATUS_TYPES:
        out.delivery_status.append(_field_block_text(part))
    elif ctype in FEEDBACK_REPORT_TYPES:
        out.feedback_reports.append(_field_block_text(part))
    elif ctype in DISPOSITION_TYPES:
        out.dispositions.append(_field_block_text(part))
    elif ctype in ORIGINAL_MESSAGE_TYPES:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            if out.original is None:
                out.original = inner[0]
        elif isinstance(inner, str) and inner.strip():
            if out.original is None:
                out.original = email.message_from_string(_decoded_text(part))
    elif ctype in ORIGINAL_HEADERS_TYPES:
        if out.original_headers is None:
            inner = part.get_payload()
            if isinstance(inner, list):
                # message/global-headers (RFC 6533 6.3) is a message/* type: the email package parses it
                # into a header-only message instead of keeping it as text.
                if inner and isinstance(inner[0], Message):
                    out.original_headers = recover_8bit(header_block_of(inner[0]))
            else:
                out.original_headers = _decoded_text(part)
    elif ctype == "text/html":
        out.texts.append(html_to_text(_decoded_text(part)))
    elif ctype.startswith("text/") or (top and ctype == "application/octet-stream"):
        out.texts.append(_decoded_text(part))
    elif ctype == "application/octet-stream":
        # A report part declared as opaque bytes (RFC 2046 4.5.1 default for an unknown type): read as
        # delivery status when its text carries the RFC 3464 per-recipient fields, otherwise not at all.
        text = _decoded_text(part)
        if _DS_RECIPIENT.search(text) and _DS_OUTCOME.search(text):
            out.delivery_status.append(text)
    elif ctype == "message/delivery-status" or ctype.startswith("message/"):
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    _visit(sub, out, depth=depth + 1, budget=budget)


def _field_block_text(part: Message) -> str:
    """The body of a message/delivery-status (or feedback-report) part as text.

    The email package parses such bodies into a list of header blocks; put them back together,
    keeping folded continuation lines (a multi-line Diagnostic-Code) and any unparsed lines.
    """
    payload = part.get_payload()
    if isinstance(payload, str):
        return _decoded_text(part)
    lines: list[str] = []
    for block in payload or ():
        if not isinstance(block, Message):
            continue
        # A block whose lines are all indented has no header the email package can start with: it keeps
        # each such line only in a FirstHeaderLineIsContinuationDefect. Put them back, in order.
        for defect in block.defects:
            line = getattr(defect, "line", None)
            if isinstance(defect, errors.FirstHeaderLineIsContinuationDefect) and isinstance(line, str):
                lines.append(line.rstrip("\r\n"))
        # Message._headers is private and untyped in typeshed, but it is the only place the raw
        # (still folded) header values are kept; the public accessors unfold or decode them.
        for name, value in block._headers:  # type: ignore[union-attr]
            lines.append(f"{name}: {value}")
        rest = block.get_payload()
        if isinstance(rest, str) and rest.strip():
            # get_payload() turns 8-bit bytes into U+FFFD; decode=True gives them back as they came
            raw_rest = block.get_payload(decode=True)
            lines.append((raw_rest.decode("latin-1") if isinstance(raw_rest, bytes) else rest).rstrip("\n"))
        lines.append("")
    # 8-bit UTF-8 in the fields (message/global-delivery-status, RFC 6533 6.4; or an SMTPUTF8 MTA writing
    # a utf-8 address into message/delivery-status) arrives as undecoded bytes: decode it.
    text = recover_8bit("\n".join(lines))
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte == "base64":
        try:
            return base64.b64decode("".join(text.split()), validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return text
    if cte == "quoted-printable":
        return quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    return text


_DS_RECIPIENT = re.compile(r"^(?:final|original)-recipient[ \t]*:", re.I | re.M)
_DS_OUTCOME = re.compile(r"^(?:action|status)[ \t]*:", re.I | re.M)
_UNDECODED = re.compile("[\udc80-\udcff\u0080-\u00ff]")


def recover_8bit(text: str) -> str:
    """Text the email package read from 8-bit bytes (as surrogate escapes, or as Latin-1 from a
    decoded payload) back to the UTF-8 it was written in; unchanged when it is not UTF-8."""
    if not _UNDECODED.search(text):
        return text
    try:
        data = text.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:
        return text  # real non-Latin-1 characters: already decoded
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decoded_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, UnicodeError, binascii.Error):
        data = None
    if not isinstance(data, bytes):  # None for a multipart part: decode=True yields bytes otherwise
        payload = part.get_payload()
        return payload[:MAX_TEXT] if isinstance(payload, str) else ""
    return decode_bytes(data[:MAX_TEXT], content_charset(part))


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes to text: the declared charset, then UTF-8, then Latin-1 (which never fails).

    ISO-2022-JP (RFC 1468) is 7-bit: UTF-8 or US-ASCII "decode" it without error and leave its
    escape sequences in the text, so escape sequences win over a missing or ASCII-only charset."""
    declared = (charset or "").lower().replace("_", "-")
    if b"\x1b$" in data and (
        not declared or declared in ("us-ascii", "ascii", "utf-8", "iso-8859-1", "latin-1", "iso-2022-jp")
    ):
        try:
            return data.decode("iso-2022-jp")
        except UnicodeDecodeError:
            # Japanese mail writes NEC's row-13 characters (①, ㈱) and other vendor extensions in
            # ISO-2022-JP that no strict codec knows: keep the rest of the text readable rather
            # than let UTF-8 "decode" the 7-bit escape sequences into garbage.
            return data.decode("iso-2022-jp", errors="replace")
    for candidate in (charset, _SUPERSETS.get(declared), "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(_charset_alias(candidate))
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue  # unknown charset, undecodable bytes, a codec that is not a text charset
    if b"\x1b$" in data:  # ISO-2022-JP escape sequences without a declared charset
        try:
            return data.decode("iso-2022-jp")
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


# A narrow charset label and the vendor superset that mail declared with it really carries:
# GB2312 labels over GBK/GB18030 characters (Chinese mail, names outside GB2312), Shift_JIS labels
# over Windows-31J (cp932: ①, ㈱, NEC/IBM extensions), EUC-KR labels over cp949 (Unified Hangul).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-cn": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
}


# Codecs Python knows that are not charsets of mail text: never decode a part with them.
_NOT_CHARSETS = frozenset(
    {
        "punycode",
        "idna",
        "rot13",
        "rot_13",
        "base64",
        "hex",
        "zlib",
        "bz2",
        "uu",
        "quopri",
        "unicode_escape",
        "raw_unicode_escape",
    }
)


def _charset_alias(charset: str) -> str:
    charset = charset.strip().strip('"').lower()
    if "\x00" in charset or charset.replace("-", "_") in _NOT_CHARSETS or charset in _NOT_CHARSETS:
        raise LookupError(charset)
    return {"x-unknown": "latin-1", "unknown-8bit": "latin-1", "ks_c_5601-1987": "cp949", "shift-jis": "shift_jis"}.get(
        charset, charset
    )


_TAG = re.compile(r"<[^<>]{0,2000}>")
_BLOCK_END = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d|p|div|tr|li)\b[^<>]{0,2000}>", re.I)
_SCRIPT_OPEN = re.compile(r"<(script|style)\b", re.I)


def _drop_scripts(markup: str) -> str:
    """Remove <script>/<style> elements in one pass (an unclosed one drops the rest): linear, where
    a lazy regular expression would rescan the rest of the text for every unclosed tag."""
    lowered = markup.lower()
    out, pos = [], 0
    while True:
        match = _SCRIPT_OPEN.search(markup, pos)
        if not match:
            out.append(markup[pos:])
            break
        out.append(markup[pos : match.start()])
        close = lowered.find(f"</{match.group(1).lower()}", match.end())
        if close < 0:
            break
        end = lowered.find(">", close)
        pos = len(markup) if end < 0 else end + 1
    return " ".join(out)


# A mailto link whose visible text is a display name ('<a href="mailto:a@b">Anna Berg</a>'): the address would be lost
# with the tag, and it may be the only place an HTML-only notice names the recipient (RFC 6068 mailto URIs).
_MAILTO_LINK = re.compile(
    r"""<a\b[^<>]{0,500}?\bhref\s*=\s*["']?mailto:([^"'<>?\s]{3,320})[^<>]{0,500}>([^<]{0,300})</a\s*>""", re.I
)


def _mailto_shown(match: re.Match[str]) -> str:
    address, shown = urllib.parse.unquote(match.group(1)), match.group(2)
    # escaped, so that the tag stripping below keeps it and unescaping gives "Anna Berg <a@b>"
    return shown if address.lower() in html.unescape(shown).lower() else f"{shown} &lt;{html.escape(address)}&gt;"


def html_to_text(markup: str) -> str:
    text = _drop_scripts(markup[:MAX_TEXT])
    text = _MAILTO_LINK.sub(_mailto_shown, text)
    text = _BLOCK_END.sub("\n", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def header_block_of(msg: Message) -> str:
    # Message._headers (private, untyped in typeshed) keeps the raw header values as they came.
    return "".join(f"{name}: {value}\n" for name, value in msg._headers)  # type: ignore[attr-defined]


# Lines that introduce the returned original inside a plain-text bounce: the marker wording of the
# common MTAs ("------ This is a copy of the message, including all the headers. ------",
# "----- Original message -----", "--- Below this line is a copy of the message.", ...).
_ORIGINAL_MARKER = re.compile(
    r"^\s*(?:[-=_*#>]{2,}.*)?\b(?:"
    r"(?:this is a )?copy of (?:the |your )?(?:original )?message"
    r"|original message(?: follows| headers?| as follows)?"
    r"|(?:un(?:sent|delivered|deliverable)|returned|rejected|failed) message(?: follows| headers?)?"
    r"|message (?:headers )?follows"
    r"|(?:the )?header of the original message"
    r"|original mail(?: as follows| header)?"
    r"|(?:included|original|returned) (?:message|mail) (?:text|headers)"
    r"|below this line is a copy"
    r"|message text follows"
    r")\b.*$",
    re.I,
)
_HEADER_LINE = re.compile(
    r"^(?:Received|Return-Path|From|To|Subject|Date|Message-Id|MIME-Version|Content-Type|X-[\w-]+|DKIM-Signature|Reply-To|Cc|Sender|Delivered-To|Authentication-Results):\s",
    re.I,
)


def split_original(text: str) -> tuple[str, str | None]:
    """Split a plain-text bounce into its notification and the original it returns inline.

    The original starts at a marker line, or else at the first run of RFC 822 header lines
    that begins with a Received/Return-Path/From/Date/Message-ID line after the notification.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _ORIGINAL_MARKER.match(line) and _headers_follow(lines, i + 1):
            return "\n".join(lines[:i]), "\n".join(lines[i + 1 :])
    for i, line in enumerate(lines):
        if (
            i > 2
            and re.match(r"^(?:Received|Return-Path|Message-Id|DKIM-Signature):\s", line, re.I)
            and _headers_follow(lines, i)
        ):
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return text, None


def _headers_follow(lines: list[str], start: int) -> bool:
    """True when a block of header lines starts within a few lines of `start`."""
    seen = 0
    for line in lines[start : start + 12]:
        if not line.strip():
            if seen:
                break
            continue
        stripped = line.lstrip("> ")
        if _HEADER_LINE.match(stripped):
            seen += 1
        elif line[:1] in " \t" and seen:
            continue
        elif seen:
            break
    return seen >= 2
