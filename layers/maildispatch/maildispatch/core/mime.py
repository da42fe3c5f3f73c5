"""MIME: a rendered send request as the bytes handed to the relay.

An EmailMessage holds the structure and the SMTP policy's generator writes it out. Header
fields are encoded and folded here, not by the email package: it re-parses every string it is
given as a header, which decodes text that merely looks like an RFC 2047 encoded-word
("=?utf-8?q?...?=" in a subject) and costs a parse per header, several per MIME part.
Writing them directly is both correct and several times faster.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from maildispatch.core.render import RenderedContent
from maildispatch.core.request import UNSAFE_HEADER_TEXT, Address, InlineAttachment, SendRequest, ascii_domain

# Bodies are quoted-printable or base64 (7bit when already plain ASCII), so no relay needs 8BITMIME.
_ASCII_POLICY = email_policy.SMTP.clone(cte_type="7bit")
# RFC 6532: a UTF-8 local part can't be encoded, so such messages carry UTF-8 headers (SMTPUTF8).
_UTF8_POLICY = email_policy.SMTP.clone(cte_type="7bit", utf8=True)

_LINE_LIMIT = 78  # RFC 5322's SHOULD; lines only pass it for one long token, never 998
_RAW_WORD_LIMIT = 900  # longer words are encoded, so a line with one stays under 998 octets
_ENCODED_WORD_OVERHEAD = len("=?utf-8?b??=")
_ENCODED_WORD_BYTES = 45  # 60 base64 characters: an encoded-word of 72, under RFC 2047's 75
_WORD_RE = re.compile(r"([ \t]*)([^ \t]+)")
_ASCII_ATOM_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_UTF8_ATOM_RE = re.compile(r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f])+")
_MESSAGE_ID_RE = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[A-Za-z0-9.-]+>")
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class AttachmentData:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class BuiltMessage:
    data: bytes  # CRLF line endings, ready for DATA
    message_id: str
    header_block: str  # the header section as in `data` (CRLF, without the blank line)
    requires_smtputf8: bool


def message_id_for(message_key: str, domain: str) -> str:
    """The Message-ID of the message with this key: every retry carries the same one."""
    host = ascii_domain(domain).lower()
    if not _HOST_RE.fullmatch(host):
        raise ValueError(f"{domain!r} is not a domain for a Message-ID")
    digest = hashlib.sha256(message_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{host}>"


def build_message(
    request: SendRequest,
    content: RenderedContent,
    attachments: Sequence[AttachmentData | InlineAttachment],
    *,
    message_id: str,
    date: datetime,
) -> BuiltMessage:
    """The message for `request` with `content`; `attachments` are all of them, S3 ones fetched."""
    if not _MESSAGE_ID_RE.fullmatch(message_id):
        raise ValueError(f"{message_id!r} is not a Message-ID like <id@domain>")
    if date.tzinfo is None:
        raise ValueError("the Date needs a time zone")
    shown = (request.from_, *request.to, *request.cc, *request.reply_to)
    utf8 = any(address.needs_smtputf8 for address in shown)
    hidden = (*request.bcc, *((request.return_path,) if request.return_path else ()))
    policy = _UTF8_POLICY if utf8 else _ASCII_POLICY

    message = EmailMessage(policy=policy)
    # set_raw() stores the prepared headers as they are; item assignment would consult the
    # header registry, which builds a class on every call.
    message.set_raw("From", _address_header("From", (request.from_,), utf8))
    if request.to or not request.cc:
        message.set_raw(
            "To", _address_header("To", request.to, utf8) if request.to else _header("To", "undisclosed-recipients:;")
        )
    if request.cc:
        message.set_raw("Cc", _address_header("Cc", request.cc, utf8))
    if request.reply_to:
        message.set_raw("Reply-To", _address_header("Reply-To", request.reply_to, utf8))
    message.set_raw("Subject", _text_header("Subject", content.subject, utf8))
    message.set_raw("Date", _header("Date", format_datetime(date)))
    message.set_raw("Message-ID", _header("Message-ID", message_id))
    message.set_raw("MIME-Version", _header("MIME-Version", "1.0"))
    for name, value in request.headers:
        message.set_raw(name, _text_header(name, value, utf8))
    _set_body(message, content, attachments, policy)

    data = message.as_bytes()
    header_end = data.index(b"\r\n\r\n") + 2
    return BuiltMessage(
        data=data,
        message_id=message_id,
        header_block=data[:header_end].decode("utf-8"),
        requires_smtputf8=utf8 or any(address.needs_smtputf8 for address in hidden),
    )


# --- body ---------------------------------------------------------------------------------
# Part headers are written here too, and bodies encoded with the C codecs: set_content() would
# build each Content-* header as text and parse it back, several times per part.


def _set_body(
    message: EmailMessage,
    content: RenderedContent,
    attachments: Sequence[AttachmentData | InlineAttachment],
    policy: EmailPolicy[Any],
) -> None:
    bodies = [
        (text, subtype) for text, subtype in ((content.text, "plain"), (content.html, "html")) if text is not None
    ]
    if not bodies:
        raise ValueError("rendered content has neither text nor html")
    if len(bodies) == 1 and not attachments:
        _fill_text(message, *bodies[0])
        return
    if not attachments:
        _make_multipart(message, "alternative")
        _attach_all(message, (_text_part(text, subtype, policy) for text, subtype in bodies))
        return
    _make_multipart(message, "mixed")
    if len(bodies) == 1:
        _attach_all(message, [_text_part(*bodies[0], policy)])
    else:
        alternative = MIMEPart(policy=policy)
        _make_multipart(alternative, "alternative")
        _attach_all(alternative, (_text_part(text, subtype, policy) for text, subtype in bodies))
        _attach_all(message, [alternative])
    _attach_all(message, (_attachment_part(attachment, policy) for attachment in attachments))


def _make_multipart(container: MIMEPart, subtype: str) -> None:
    # Random, so text in a 7bit part can't forge it; "=_" never occurs in quoted-printable or base64.
    boundary = "=_" + os.urandom(16).hex()
    lines = _FoldedLines("Content-Type")
    lines.word(" ", f"multipart/{subtype};")
    lines.word(" ", f'boundary="{boundary}"')
    container.set_raw(
        "Content-Type", _PreparedHeader("Content-Type", f'multipart/{subtype}; boundary="{boundary}"', lines.text())
    )
    container.set_payload([])


def _attach_all(container: MIMEPart, parts: Iterable[MIMEPart]) -> None:
    for part in parts:
        container.attach(part)


def _text_part(text: str, subtype: str, policy: EmailPolicy[Any]) -> MIMEPart:
    part = MIMEPart(policy=policy)  # not EmailMessage: a body part carries no MIME-Version
    _fill_text(part, text, subtype)
    return part


def _fill_text(part: MIMEPart, text: str, subtype: str) -> None:
    transfer_encoding, payload = _encode_text(text)
    part.set_raw("Content-Type", _header("Content-Type", f'text/{subtype}; charset="utf-8"'))
    part.set_raw("Content-Transfer-Encoding", _header("Content-Transfer-Encoding", transfer_encoding))
    part.set_payload(payload)


def _encode_text(text: str) -> tuple[str, str]:
    """UTF-8 text as 7bit when it already is short ASCII lines, else quoted-printable or base64, the smaller."""
    lines = text.encode("utf-8").splitlines()
    data = b"\n".join(lines) + b"\n"  # the generator writes every line end as CRLF
    if data.isascii() and b"\0" not in data and max(map(len, lines), default=0) <= _LINE_LIMIT:
        return "7bit", data.decode("ascii")
    escaped = len(data.translate(None, _QP_LITERAL_BYTES))  # each of these costs "=XX" in quoted-printable
    if len(data) + 2 * escaped <= len(data) * 4 // 3:
        return "quoted-printable", binascii.b2a_qp(data, istext=True).decode("ascii")
    # Base64 hides the line ends from the generator, so they go in as CRLF (RFC 2045 canonical form).
    return "base64", base64.encodebytes(b"".join(line + b"\r\n" for line in lines)).decode("ascii")


_QP_LITERAL_BYTES = bytes(range(32, 61)) + bytes(range(62, 127)) + b"\t\n"


def _attachment_part(attachment: AttachmentData | InlineAttachment, policy: EmailPolicy[Any]) -> MIMEPart:
    if not _MEDIA_TYPE_RE.fullmatch(attachment.content_type):
        raise ValueError(f"{attachment.content_type!r} is not a media type like application/pdf")
    part = MIMEPart(policy=policy)
    part.set_raw("Content-Type", _header("Content-Type", attachment.content_type))
    part.set_raw("Content-Transfer-Encoding", _header("Content-Transfer-Encoding", "base64"))
    part.set_raw("Content-Disposition", _disposition(attachment.filename))
    part.set_payload(base64.encodebytes(attachment.content).decode("ascii"))
    return part


def _disposition(filename: str) -> _PreparedHeader:
    """attachment; filename="..." for plain ASCII names, else RFC 2231 (UTF-8, percent-encoded, in pieces)."""
    _one_line("Content-Disposition", filename)
    lines = _FoldedLines("Content-Disposition")
    lines.word(" ", "attachment;")
    quoted = '"' + filename.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if filename.isascii() and "=?" not in filename and len(quoted) <= _RAW_WORD_LIMIT:
        lines.word(" ", f"filename={quoted}")
    else:
        # "=?" goes this way too: readers decode RFC 2047 inside a quoted filename.
        pieces = _pieces(quote(filename, safe="!#$&+^`|~"), 60)
        if len(pieces) == 1:
            lines.word(" ", f"filename*=utf-8''{pieces[0]}")
        for index, piece in enumerate(pieces if len(pieces) > 1 else ()):
            charset = "utf-8''" if index == 0 else ""
            lines.word(" ", f"filename*{index}*={charset}{piece}" + (";" if index < len(pieces) - 1 else ""))
    return _PreparedHeader("Content-Disposition", f"attachment; filename={quoted}", lines.text())


def _pieces(encoded: str, size: int) -> list[str]:
    """Percent-encoded text in pieces of at most `size` characters, never splitting a %XX escape."""
    pieces = []
    start = 0
    while start < len(encoded):
        end = start + size
        escape = encoded.rfind("%", end - 2, end)
        if escape > start and end < len(encoded):
            end = escape
        pieces.append(encoded[start:end])
        start = end
    return pieces


_MEDIA_TYPE_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")


# --- headers ------------------------------------------------------------------------------


class _PreparedHeader(str):
    """A header field encoded and folded here; the email package writes `folded` as it is."""

    name: str
    folded: str

    def __new__(cls, name: str, value: str, folded: str) -> _PreparedHeader:
        header = super().__new__(cls, value)
        header.name = name
        header.folded = folded
        return header

    def fold(self, *, policy: email_policy.Policy) -> str:
        return self.folded


class _FoldedLines:
    """Builds one header field, folding before whitespace so that lines stay near 78 octets."""

    def __init__(self, name: str) -> None:
        self._lines: list[str] = []
        self._line = name + ":"
        self._width = len(self._line)
        self._empty = True  # nothing after "Name:" yet: never fold there

    def word(self, separator: str, word: str) -> None:
        """An unbreakable token after whitespace `separator`, where the line may fold."""
        width = len(separator) + _octets(word)
        if not self._empty and self._width + width > _LINE_LIMIT:
            self._lines.append(self._line)
            self._line, self._width = separator + word, width
        else:
            self._line += separator + word
            self._width += width
        self._empty = False

    def encoded(self, separator: str, text: str) -> None:
        """`text` as base64 UTF-8 encoded-words, split between characters to fit the lines."""
        if len(separator) > 1:
            # Whitespace before an encoded-word is kept by decoders, but a long run of it would
            # make a long line: carry all but one character inside the encoding instead.
            text, separator = separator[1:] + text, separator[0]
        data = text.encode("utf-8")
        start = 0
        while start < len(data):
            room = _LINE_LIMIT - self._width - len(separator) - _ENCODED_WORD_OVERHEAD
            if room < 8 and not self._empty:
                self._lines.append(self._line)
                self._line, self._width = "", 0
                room = _LINE_LIMIT - len(separator) - _ENCODED_WORD_OVERHEAD
            end = start + max(6, min(_ENCODED_WORD_BYTES, room // 4 * 3))  # 6 bytes hold any character
            while end < len(data) and 0x80 <= data[end] < 0xC0:
                end -= 1  # an encoded-word holds whole characters: don't cut inside one
            chunk = base64.b64encode(data[start:end]).decode("ascii")
            self.word(separator, f"=?utf-8?b?{chunk}?=")
            separator, start = " ", end  # decoders drop the space between two encoded-words

    def text(self) -> str:
        return "\r\n".join((*self._lines, self._line)) + "\r\n"


def _octets(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _needs_encoding(separator: str, word: str, utf8: bool) -> bool:
    # "=?" is encoded too: left raw, a reader would decode text that only looks like an encoded-word.
    return (
        "=?" in word
        or (not utf8 and not word.isascii())
        or _octets(word) > _RAW_WORD_LIMIT
        or len(separator) + _octets(word) > _RAW_WORD_LIMIT
    )


def _header(name: str, value: str) -> _PreparedHeader:
    """A header whose value is plain ASCII already (Date, Message-ID)."""
    return _PreparedHeader(name, value, f"{name}: {value}\r\n")


def _one_line(name: str, text: str) -> None:
    # The request parser and the renderer refuse these already; this keeps any other caller
    # from injecting header lines (a "\r\nBcc:" in a subject) through build_message.
    unsafe = UNSAFE_HEADER_TEXT.search(text)
    if unsafe is not None:
        raise ValueError(f"{name}: {unsafe.group()!r} is not allowed in a header field")


def _text_header(name: str, value: str, utf8: bool) -> _PreparedHeader:
    """Unstructured text (Subject, X-*): raw words where possible, encoded-words where needed."""
    _one_line(name, value)
    lines = _FoldedLines(name)
    run_separator, run = " ", ""  # consecutive words to encode, with the whitespace between them
    for separator, word in _WORD_RE.findall(value.strip(" \t")):  # a reader drops the outer whitespace anyway
        separator = separator or " "
        if _needs_encoding(separator, word, utf8):
            if run:
                run += separator + word
            else:
                run_separator, run = separator, word
            continue
        if run:
            lines.encoded(run_separator, run)
            run = ""
        lines.word(separator, word)
    if run:
        lines.encoded(run_separator, run)
    return _PreparedHeader(name, value, lines.text())


def _address_header(name: str, addresses: Sequence[Address], utf8: bool) -> _PreparedHeader:
    lines = _FoldedLines(name)
    for index, address in enumerate(addresses):
        _one_line(name, address.address + (address.name or ""))
        spec = address.address if utf8 else address.envelope
        comma = "," if index < len(addresses) - 1 else ""
        if address.name:
            _write_phrase(lines, address.name, utf8)
            lines.word(" ", f"<{spec}>{comma}")
        else:
            lines.word(" ", spec + comma)
    return _PreparedHeader(name, ", ".join(address.address for address in addresses), lines.text())


def _write_phrase(lines: _FoldedLines, name: str, utf8: bool) -> None:
    """A display name: atoms if it is plain words, else a quoted-string, else encoded-words."""
    atom_re = _UTF8_ATOM_RE if utf8 else _ASCII_ATOM_RE
    words = name.split(" ")
    if "=?" not in name and all(
        word and atom_re.fullmatch(word) and _octets(word) <= _RAW_WORD_LIMIT for word in words
    ):
        for word in words:
            lines.word(" ", word)
        return
    if "=?" not in name and (utf8 or name.isascii()):
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if _octets(quoted) <= _RAW_WORD_LIMIT:
            lines.word(" ", quoted)
            return
    lines.encoded(" ", name)
