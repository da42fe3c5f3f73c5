"""MIME: a rendered send request as the bytes handed to the relay.

The message is written as bytes directly: header fields, part headers, boundaries and bodies go
into a list of byte strings joined once. Building an EmailMessage tree and running the SMTP
policy's generator over it was most of the dispatch path's CPU (issue 14): the generator buffers
every part in a BytesIO per level, splits each body into lines to rewrite its line ends, and finds
handlers and boundaries by re-parsing the Content-Type of every part; base64 went through a
Python loop per line and a str copy of the whole attachment. The writer produces exactly the bytes
the generator did (python -m bench.mime_build: under half the time for a text + html
message, an eighth or less with a 100 KB attachment). `_build_message_via_email_package` keeps the old
path: the reference the tests compare against byte for byte, and the path for the inputs where
the generator does something other than write the parts out (see `_generator_writes_verbatim`).

Header fields are encoded and folded here, not by the email package: it re-parses every string it is
given as a header, which decodes text that merely looks like an RFC 2047 encoded-word
("=?utf-8?q?...?=" in a subject) and costs a parse per header, several per MIME part.
Writing them directly is both correct and several times faster.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy as email_policy
from email.generator import BytesGenerator
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
    """An attachment's bytes, ready for the MIME writer."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class BuiltMessage:
    """A message ready to submit: its bytes, Message-ID and header block."""

    data: bytes  # CRLF line endings, ready for DATA
    message_id: str
    header_block: str  # the header section as in `data` (CRLF, without the blank line)
    requires_smtputf8: bool  # the headers carry UTF-8 (a shown address needs it); envelopes may need it besides


def message_id_for(message_key: str, domain: str) -> str:
    """The Message-ID of the message with this key: every retry carries the same one."""
    digest = hashlib.sha256(message_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{_message_id_host(domain)}>"


@functools.lru_cache(maxsize=256)
def _message_id_host(domain: str) -> str:
    """The sender's domain as a Message-ID's right-hand side, checked once: a batch has a few senders."""
    host = ascii_domain(domain).lower()
    if not _HOST_RE.fullmatch(host):
        raise ValueError(f"{domain!r} is not a domain for a Message-ID")
    return host


def build_message(
    request: SendRequest,
    content: RenderedContent,
    attachments: Sequence[AttachmentData | InlineAttachment],
    *,
    message_id: str,
    date: datetime,
) -> BuiltMessage:
    """The message for `request` with `content`; `attachments` are all of them, S3 ones fetched."""
    _check_message_id_and_date(message_id, date)
    if not _generator_writes_verbatim(request, attachments):
        return _build_message_via_email_package(request, content, attachments, message_id=message_id, date=date)
    utf8 = _needs_utf8_headers(request)
    charset = "utf-8" if utf8 else "ascii"
    header_text = "".join(header.folded for header in _message_headers(request, content, message_id, date, utf8))
    out: list[bytes] = [b""]  # the header section goes first, once the body has said its Content-Type
    content_headers = _write_body(out, content, attachments, charset)
    # surrogateescape, as the generator's fold_binary(): it is what turns the text into bytes.
    out[0] = (header_text + content_headers + "\r\n").encode(charset, "surrogateescape")
    return _built(b"".join(out), message_id, request, utf8)


def _check_message_id_and_date(message_id: str, date: datetime) -> None:
    if not _MESSAGE_ID_RE.fullmatch(message_id):
        raise ValueError(f"{message_id!r} is not a Message-ID like <id@domain>")
    if date.tzinfo is None:
        raise ValueError("the Date needs a time zone")


def _needs_utf8_headers(request: SendRequest) -> bool:
    shown = (request.from_, *request.to, *request.cc, *request.reply_to)
    return any(address.needs_smtputf8 for address in shown)


def _message_headers(
    request: SendRequest,
    content: RenderedContent,
    message_id: str,
    date: datetime,
    utf8: bool,
) -> list[_PreparedHeader]:
    """The top-level header fields before the body's Content-*, in the documented order."""
    headers = [_from_header(request.from_, utf8)]
    if request.to or not request.cc:
        headers.append(
            _address_header("To", request.to, utf8) if request.to else _header("To", "undisclosed-recipients:;")
        )
    if request.cc:
        headers.append(_address_header("Cc", request.cc, utf8))
    if request.reply_to:
        headers.append(_address_header("Reply-To", request.reply_to, utf8))
    headers.append(_text_header("Subject", content.subject, utf8))
    headers.append(_date_header(date.replace(microsecond=0), date.utcoffset()))
    headers.append(_header("Message-ID", message_id))
    headers.append(_MIME_VERSION)
    headers.extend(_text_header(name, value, utf8) for name, value in request.headers)
    return headers


@functools.lru_cache(maxsize=64)
def _from_header(address: Address, utf8: bool) -> _PreparedHeader:
    """A sender's From field, written once: a batch mostly comes from a few senders."""
    return _address_header("From", (address,), utf8)


@functools.lru_cache(maxsize=64)
def _date_header(when: datetime, offset: timedelta | None) -> _PreparedHeader:
    """The Date field of a time to the second (format_datetime() writes no more); the records of a batch arrive
    in a few seconds. The offset is in the key because times in different zones compare equal at the same instant."""
    return _header("Date", format_datetime(when))


def _built(data: bytes, message_id: str, request: SendRequest, utf8: bool) -> BuiltMessage:
    header_end = data.index(b"\r\n\r\n") + 2
    # Only the headers count: a UTF-8 Bcc or return path needs SMTPUTF8 in its own envelope, which
    # Envelope.needs_smtputf8 sees; it must not force it on the transaction of the ASCII recipients.
    return BuiltMessage(
        data=data,
        message_id=message_id,
        header_block=data[:header_end].decode("utf-8"),
        requires_smtputf8=utf8,
    )


def _generator_writes_verbatim(request: SendRequest, attachments: Sequence[AttachmentData | InlineAttachment]) -> bool:
    """Whether the email package's generator writes every part as it is, which is all the writer can do.

    It doesn't when the request's own headers carry a Content-Type: the generator reads the first
    one, so that one would pick the body's handler and boundary. Nor for an attachment of a type it
    has a handler of its own for (multipart/*, message/*), which writes the payload without
    converting its line ends or fails. The request parser refuses both; for anything else that
    builds such a request the email package stays the one to say what the bytes are.
    """
    if any(name.lower() == "content-type" for name, _ in request.headers):
        return False
    return all(_written_as_text(attachment.content_type) for attachment in attachments)


@functools.lru_cache(maxsize=256)
def _written_as_text(content_type: str) -> bool:
    """Whether BytesGenerator writes a part of this type with its text handler, found as its _dispatch() finds it."""
    media_type = content_type.partition(";")[0].strip().lower()  # Message.get_content_type()
    main, _, sub = media_type.partition("/") if media_type.count("/") == 1 else ("text", "/", "plain")
    names = ("_handle_" + f"{main}_{sub}".replace("-", "_"), "_handle_" + main.replace("-", "_"))
    handler = next((getattr(BytesGenerator, name) for name in names if hasattr(BytesGenerator, name)), _TEXT_HANDLER)
    return handler is _TEXT_HANDLER


_TEXT_HANDLER = vars(BytesGenerator)["_handle_text"]  # also its _writeBody, for types without a handler


# --- body, written -------------------------------------------------------------------------
# What the generator writes for a part is its header fields, a blank line, then the payload with
# every line end made CRLF; for a multipart, "--boundary" before each part, "--boundary--" after the
# last. Each write_* function appends a body to `out` and returns the header fields that go above it.

_PartWriter = Callable[[list[bytes]], str]  # appends a part's body, returns its header fields


def _write_body(
    out: list[bytes],
    content: RenderedContent,
    attachments: Sequence[AttachmentData | InlineAttachment],
    charset: str,
) -> str:
    bodies = [
        (text, subtype) for text, subtype in ((content.text, "plain"), (content.html, "html")) if text is not None
    ]
    if not bodies:
        raise ValueError("rendered content has neither text nor html")
    if len(bodies) == 1 and not attachments:
        return _write_text(out, *bodies[0])
    if not attachments:
        return _write_multipart(out, "alternative", _new_boundary(), _text_writers(bodies), charset)
    boundary = _new_boundary()  # the outer one first, as the tree was built
    parts: list[_PartWriter]
    if len(bodies) == 1:
        parts = _text_writers(bodies)
    else:
        parts = [lambda sink: _write_multipart(sink, "alternative", _new_boundary(), _text_writers(bodies), charset)]
    parts.extend(functools.partial(_write_attachment, attachment=attachment) for attachment in attachments)
    return _write_multipart(out, "mixed", boundary, parts, charset)


def _text_writers(bodies: list[tuple[str, str]]) -> list[_PartWriter]:
    return [functools.partial(_write_text, text=text, subtype=subtype) for text, subtype in bodies]


def _write_multipart(out: list[bytes], subtype: str, boundary: str, parts: Sequence[_PartWriter], charset: str) -> str:
    delimiter = b"\r\n--" + boundary.encode("ascii") + b"\r\n"
    out.append(delimiter[2:])
    for index, write_part in enumerate(parts):
        if index:
            out.append(delimiter)
        slot = len(out)
        out.append(b"")
        out[slot] = (write_part(out) + "\r\n").encode(charset, "surrogateescape")  # header fields, blank line
    out.append(delimiter[:-2] + b"--\r\n")
    return _multipart_content_type(subtype, boundary)


def _write_text(out: list[bytes], text: str, subtype: str) -> str:
    transfer_encoding, data = _text_encoding(text)
    if transfer_encoding == "7bit":
        out.append(data.replace(b"\n", b"\r\n"))  # no CR in data: every line ends in LF
    elif transfer_encoding == "quoted-printable":
        out.append(binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n"))
    else:
        _write_base64(out, data.replace(b"\n", b"\r\n"))
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {transfer_encoding}\r\n'


def _write_attachment(out: list[bytes], attachment: AttachmentData | InlineAttachment) -> str:
    if not _MEDIA_TYPE_RE.fullmatch(attachment.content_type):
        raise ValueError(f"{attachment.content_type!r} is not a media type like application/pdf")
    disposition = _disposition(attachment.filename).folded
    _write_base64(out, attachment.content)
    return f"Content-Type: {attachment.content_type}\r\nContent-Transfer-Encoding: base64\r\n{disposition}"


# Base64 in whole 76-character lines of 57 input bytes, as base64.encodebytes() writes it, but with
# CRLF line ends and a chunk at a time: a large attachment is never also held as one base64 string,
# nor as a list of lines. A Struct cuts a chunk's encoding into its lines in one C call.
_BASE64_LINE_BYTES = 57
_BASE64_CHUNK_LINES = 256
_BASE64_CHUNK_BYTES = _BASE64_LINE_BYTES * _BASE64_CHUNK_LINES
_BASE64_CHUNK_LINES_STRUCT = struct.Struct("76s" * _BASE64_CHUNK_LINES)


def _write_base64(out: list[bytes], data: bytes) -> None:
    view = memoryview(data).cast("B")
    size = len(view)
    whole = size - size % _BASE64_CHUNK_BYTES
    for start in range(0, whole, _BASE64_CHUNK_BYTES):
        encoded = binascii.b2a_base64(view[start : start + _BASE64_CHUNK_BYTES], newline=False)
        out.append(b"\r\n".join((*_BASE64_CHUNK_LINES_STRUCT.unpack(encoded), b"")))  # b"" for the last CRLF
    if whole < size:
        encoded = binascii.b2a_base64(view[whole:], newline=False)
        out.append(b"\r\n".join([*(encoded[start : start + 76] for start in range(0, len(encoded), 76)), b""]))


# --- body, as an EmailMessage tree ----------------------------------------------------------
# The path build_message() took before the writer: the reference its output is tested against, and
# what it still takes for what _generator_writes_verbatim() turns away. Part headers are written
# here too, and bodies encoded with the C codecs: set_content() would build each Content-* header
# as text and parse it back, several times per part.


def _build_message_via_email_package(
    request: SendRequest,
    content: RenderedContent,
    attachments: Sequence[AttachmentData | InlineAttachment],
    *,
    message_id: str,
    date: datetime,
) -> BuiltMessage:
    """build_message() by the SMTP policy's generator over an EmailMessage tree."""
    _check_message_id_and_date(message_id, date)
    utf8 = _needs_utf8_headers(request)
    policy = _UTF8_POLICY if utf8 else _ASCII_POLICY

    message = EmailMessage(policy=policy)
    # set_raw() stores the prepared headers as they are; item assignment would consult the
    # header registry, which builds a class on every call.
    for header in _message_headers(request, content, message_id, date, utf8):
        message.set_raw(header.name, header)
    _set_body(message, content, attachments, policy)
    return _built(message.as_bytes(), message_id, request, utf8)


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
    boundary = _new_boundary()
    value = f'multipart/{subtype}; boundary="{boundary}"'
    container.set_raw(
        "Content-Type", _PreparedHeader("Content-Type", value, _multipart_content_type(subtype, boundary))
    )
    container.set_payload([])


def _new_boundary() -> str:
    # Random, so text in a 7bit part can't forge it; "=_" never occurs in quoted-printable or base64.
    return "=_" + _RANDOM.take(16).hex()


class _RandomBytes:
    """os.urandom() read in bulk: one system call per 256 boundaries instead of one each. The bytes are
    the same kind (the kernel's CSPRNG), each handed out once; a forked child starts with none."""

    _SIZE = 4096

    def __init__(self) -> None:
        self._data = b""
        self._at = 0

    def take(self, n: int) -> bytes:
        if self._at + n > len(self._data):
            self._data, self._at = os.urandom(self._SIZE), 0
        start = self._at
        self._at = start + n
        return self._data[start : start + n]

    def forget(self) -> None:
        self._data, self._at = b"", 0


_RANDOM = _RandomBytes()
os.register_at_fork(after_in_child=_RANDOM.forget)


def _multipart_content_type(subtype: str, boundary: str) -> str:
    lines = _FoldedLines("Content-Type")
    lines.word(" ", f"multipart/{subtype};")
    lines.word(" ", f'boundary="{boundary}"')
    return lines.text()


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
    transfer_encoding, data = _text_encoding(text)
    if transfer_encoding == "7bit":
        return transfer_encoding, data.decode("ascii")  # the generator writes every line end as CRLF
    if transfer_encoding == "quoted-printable":
        return transfer_encoding, binascii.b2a_qp(data, istext=True).decode("ascii")
    # Base64 hides the line ends from the generator, so they go in as CRLF (RFC 2045 canonical form).
    return transfer_encoding, base64.encodebytes(data.replace(b"\n", b"\r\n")).decode("ascii")


def _text_encoding(text: str) -> tuple[str, bytes]:
    """UTF-8 text as 7bit when it already is short ASCII lines, else quoted-printable or base64, the smaller.

    Returns the encoding and the text's lines, each ended by LF (CR and CRLF line ends become LF).
    """
    encoded = text.encode("utf-8")
    if b"\r" in encoded:
        data = b"\n".join(encoded.splitlines()) + b"\n"  # bytes.splitlines() breaks at CR, LF and CRLF only
    else:  # what splitting at LF and joining again gives, without the copies
        data = encoded if encoded.endswith(b"\n") else encoded + b"\n"
    if data.isascii() and b"\0" not in data and max(map(len, data.split(b"\n"))) <= _LINE_LIMIT:
        return "7bit", data
    escaped = len(data.translate(None, _QP_LITERAL_BYTES))  # each of these costs "=XX" in quoted-printable
    if len(data) + 2 * escaped <= len(data) * 4 // 3:
        return "quoted-printable", data
    return "base64", data


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


# --- part headers ---------------------------------------------------------------------------


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


_MIME_VERSION = _header("MIME-Version", "1.0")


def _one_line(name: str, text: str) -> None:
    # The request parser and the renderer refuse these already; this keeps any other caller
    # from injecting header lines (a "\r\nBcc:" in a subject) through build_message.
    unsafe = UNSAFE_HEADER_TEXT.search(text)
    if unsafe is not None:
        raise ValueError(f"{name}: {unsafe.group()!r} is not allowed in a header field")


def _text_header(name: str, value: str, utf8: bool) -> _PreparedHeader:
    """Unstructured text (Subject, X-*): raw words where possible, encoded-words where needed."""
    _one_line(name, value)
    text = value.strip(" \t")  # a reader drops the outer whitespace anyway
    if text and text.isascii() and "=?" not in text and len(name) + 2 + len(text) <= _LINE_LIMIT:
        # Plain words that fit on the first line: what writing them word by word gives, at once.
        return _PreparedHeader(name, value, f"{name}: {text}\r\n")
    return _PreparedHeader(name, value, _folded_text(name, text, utf8))


def _folded_text(name: str, text: str, utf8: bool) -> str:
    """The field `name` with `text`, word by word: folded between words, encoded-words where needed."""
    lines = _FoldedLines(name)
    run_separator, run = " ", ""  # consecutive words to encode, with the whitespace between them
    for separator, word in _WORD_RE.findall(text):
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
    return lines.text()


def _address_header(name: str, addresses: Sequence[Address], utf8: bool) -> _PreparedHeader:
    if len(addresses) == 1 and not addresses[0].name:
        # One bare address, as most mail has in To: the first word of a field is never folded, so it is the line.
        address = addresses[0]
        _one_line(name, address.address)
        spec = address.address if utf8 else address.envelope
        return _PreparedHeader(name, address.address, f"{name}: {spec}\r\n")
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
