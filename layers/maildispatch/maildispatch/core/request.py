"""The send request: the JSON document producers put on the send queue (version 1).

`parse_send_request` turns a queue body into a validated, typed `SendRequest` or raises
`InvalidRequest` naming the offending field by its path (`to[1]`, `headers.From`); no other
exception leaves it. `schema/send-request.v1.json` states the same contract for producers;
the parser also checks what a JSON Schema cannot: sizes summed across fields, octet lengths
and IDNA encoding of addresses.
"""

from __future__ import annotations

import binascii
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

REQUEST_VERSION = 1
MAX_BODY_BYTES = 1024 * 1024  # SQS's message size limit
MAX_RECIPIENTS = 50  # to + cc + bcc
MAX_INLINE_ATTACHMENT_BYTES = 512 * 1024  # decoded, summed over the request
MAX_TAGS = 20
MAX_HEADERS = 50  # custom header fields (X-* and the allowed list)
MAX_REPLY_TO = 10
MAX_ATTACHMENTS = 20  # inline and S3 together
MAX_S3_KEY_CHARS = 1024
MAX_HEADER_VALUE_CHARS = 998
MAX_HEADER_NAME_CHARS = 76  # so that "Name: " leaves room on a folded line

# Header fields a producer may set, besides any X-*; everything else is built by us.
ALLOWED_HEADERS = (
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "List-Help",
    "List-Archive",
    "In-Reply-To",
    "References",
    "Keywords",
    "Comments",
    "Precedence",
    "Auto-Submitted",
    "Importance",
    "Priority",
)
_ALLOWED_HEADERS = {name.lower(): name for name in ALLOWED_HEADERS}


class InvalidRequest(ValueError):
    """The request breaks the contract. `field` is a path into the document ("$" for all of it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_Owner = TypeVar("_Owner")
_Value = TypeVar("_Value")


class _computed_once(Generic[_Owner, _Value]):
    """A value computed on first access and kept in the instance's __dict__ (which a frozen dataclass has):
    functools.cached_property without the lock Python 3.11 takes on every first access (3.12 dropped it),
    a measurable part of a message's cost."""

    def __init__(self, func: Callable[[_Owner], _Value]) -> None:
        self._func = func
        self._name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, instance: None, owner: type[_Owner]) -> _computed_once[_Owner, _Value]: ...

    @overload
    def __get__(self, instance: _Owner, owner: type[_Owner]) -> _Value: ...

    def __get__(self, instance: _Owner | None, owner: type[_Owner]) -> _computed_once[_Owner, _Value] | _Value:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._func(instance)
        return value


@dataclass(frozen=True)
class Address:
    """A mailbox. `address` is the addr-spec as given (local part quoted if it was)."""

    address: str
    name: str | None = None

    @property
    def local_part(self) -> str:
        return self.address.rpartition("@")[0]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @_computed_once
    def envelope(self) -> str:
        """The form SMTP needs: IDNA-encoded domain, local part unchanged (computed once per address: the
        parser checks it, and the recipients, the envelope and the headers read it again)."""
        local, _, domain = self.address.rpartition("@")
        return f"{local}@{ascii_domain(domain)}"

    @property
    def needs_smtputf8(self) -> bool:
        """A UTF-8 local part cannot be encoded, so only SMTPUTF8 relays can carry it."""
        return not self.address.isascii() and not self.local_part.isascii()  # most addresses: one C scan


@dataclass(frozen=True)
class InlineTemplate:
    """A template given in the request itself (Jinja2 source for subject, text and HTML)."""

    subject: str | None
    text: str | None
    html: str | None


@dataclass(frozen=True)
class StoredTemplateRef:
    """A template stored in the content bucket, named by its key."""

    key: str  # under the content bucket's templates/ prefix; the adapter fetches it


@dataclass(frozen=True)
class InlineAttachment:
    """An attachment carried in the request, already decoded from base64."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class S3Attachment:
    """An attachment the content store fetches from S3 (confined to ATTACHMENT_PREFIX)."""

    filename: str
    content_type: str
    bucket: str
    key: str
    version_id: str | None = None


@dataclass(frozen=True)
class Campaign:
    """The campaign a message belongs to, and the list its recipient is on (unsubscribes are per list)."""

    id: str
    list_id: str  # the request's "list"; defaults to the campaign id


Template = InlineTemplate | StoredTemplateRef
Attachment = InlineAttachment | S3Attachment


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class SendRequest:
    """A validated send request (contract v1, docs/request.md): who, what and how it is sent."""

    from_: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    return_path: Address | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: Template | None = None
    variables: Mapping[str, Any] = field(default_factory=_empty_mapping, hash=False)
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    tags: Mapping[str, str] = field(default_factory=_empty_mapping, hash=False)
    message_key: str | None = None
    version: int = REQUEST_VERSION
    stream: str | None = None  # which retry schedule applies (None: the default stream)
    ignore_suppression: bool = False  # send even to addresses on the suppression list
    raw_message: bytes | None = field(default=None, repr=False)  # a ready RFC 5322 message (S3 outbox .eml): sent as is
    campaign: Campaign | None = None  # campaign mail: carries one-click unsubscribe headers, scoped to the list

    @_computed_once
    def recipients(self) -> tuple[Address, ...]:
        """Everyone the message goes to, once each (case-insensitively), in to, cc, bcc order."""
        if len(self.to) == 1 and not self.cc and not self.bcc:  # most requests
            return self.to
        seen: set[str] = set()
        unique = []
        for address in (*self.to, *self.cc, *self.bcc):
            key = address.envelope.casefold()
            if key not in seen:
                seen.add(key)
                unique.append(address)
        return tuple(unique)


# --- address syntax (RFC 5321/5322, with RFC 6531/6532 UTF-8) ---------------------------
# The schema's address patterns are built from the same pieces; keep them in step.
# Each class is one negated set: ASCII it excludes, plus what no address holds beyond ASCII
# (C1 controls, line separators, unencodable lone surrogates). One set compiles far faster
# than "[ascii]|[non-ascii]" and reads the same in ECMA-262 for the schema.
_NOT_UTF8_TEXT = r"\x7f-\x9f\u2028\u2029\ud800-\udfff"
_ATEXT = r'[^\x00-\x20"(),.:;<>@\[\\\]' + _NOT_UTF8_TEXT + "]"  # RFC 5322 atext + UTF8-non-ascii
_DOT_ATOM = _ATEXT + r"+(?:\." + _ATEXT + "+)*"
_QTEXT = r'[^\x00-\x1f"\\' + _NOT_UTF8_TEXT + "]"
_QUOTED_LOCAL = r'"(?:' + _QTEXT + r'|\\[\x20-\x7e])+"'
_LET_DIG = r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e" + _NOT_UTF8_TEXT + "]"
_LDH = r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x60\x7b-\x7e" + _NOT_UTF8_TEXT + "]"
_LETTER = r"[^\x00-\x40\x5b-\x60\x7b-\x7e" + _NOT_UTF8_TEXT + "]"
_LABEL = _LET_DIG + "(?:" + _LDH + "{0,61}" + _LET_DIG + ")?"
# A top-level label with a letter in it: "1.2.3.4" is not a domain name.
_TOP_LABEL = "(?=" + _LDH + "*" + _LETTER + ")" + _LABEL
_DOMAIN = "(?:" + _LABEL + r"\.)+" + _TOP_LABEL
_ADDR_SPEC = "(?:" + _DOT_ATOM + "|" + _QUOTED_LOCAL + ")@" + _DOMAIN
# Characters never allowed in header text: controls but HTAB, and everything
# str.splitlines() breaks on (the email package refuses those, and they would inject lines).
_UNSAFE_HEADER_CHARS = r"\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029"
_QUOTED_NAME = r'"(?P<quoted_name>(?:[^"\\' + _UNSAFE_HEADER_CHARS + r"]|\\[^" + _UNSAFE_HEADER_CHARS + '])*)"[ \\t]*'
_PLAIN_NAME = r'(?P<name>[^"<>' + _UNSAFE_HEADER_CHARS + "]*)"

_ADDR_SPEC_RE = re.compile(_ADDR_SPEC)
# "Name <spec>": the spec inside is then checked with _ADDR_SPEC_RE (one compiled copy of it).
_NAME_AND_SPEC_RE = re.compile("(?:" + _QUOTED_NAME + "|" + _PLAIN_NAME + ")<(?P<angle>[^<>]*)>")
# Text matching this never goes into a header field (render and mime check it too).
UNSAFE_HEADER_TEXT = re.compile("[" + _UNSAFE_HEADER_CHARS + "]")
_LINE_BREAK_RE = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_ASCII_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@lru_cache(maxsize=1024)
def ascii_domain(domain: str) -> str:
    """The domain as SMTP and ASCII headers need it: IDNA-encoded. Raises ValueError if it cannot be."""
    if domain.isascii():
        return domain
    try:
        # The stdlib codec is IDNA 2003 (nameprep); the `idna` package is kept out of the layer.
        encoded = domain.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise ValueError(f"domain {domain!r} cannot be IDNA-encoded ({error})") from None
    labels = encoded.split(".")
    if len(encoded) > 253 or len(labels) < 2 or not all(_ASCII_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"domain {domain!r} IDNA-encodes to {encoded!r}, which is not a host name")
    return encoded


def parse_address(value: Any, path: str) -> Address:
    """An address as the contract allows: "a@b.example", "Name <a@b.example>" or {"address", "name"}."""
    if isinstance(value, str):
        if len(value) > _MAX_ADDRESS_STRING_CHARS:  # before any regex sees a megabyte of it
            raise InvalidRequest(path, f"{len(value)} characters: longer than any address")
        if _ADDR_SPEC_RE.fullmatch(value):
            return _checked_address(value, None, path)
        match = _NAME_AND_SPEC_RE.fullmatch(value)
        if match is None or not _ADDR_SPEC_RE.fullmatch(match["angle"]):
            raise InvalidRequest(path, f"{_clip(value)!r} is not an address: {_address_hint(value)}")
        if match["quoted_name"] is not None:
            name = _QUOTED_PAIR_RE.sub(r"\1", match["quoted_name"])
        else:
            name = match["name"]
        if len(name) > MAX_HEADER_VALUE_CHARS:
            raise InvalidRequest(path, f"the display name is {len(name)} characters; at most {MAX_HEADER_VALUE_CHARS}")
        return _checked_address(match["angle"], name.strip() or None, path)
    if isinstance(value, Mapping):
        _reject_unknown(value, _ADDRESS_FIELDS, path)
        if "address" not in value:
            raise InvalidRequest(f"{path}.address", "required")
        spec = _string(value["address"], f"{path}.address")
        if len(spec) > _MAX_ADDRESS_STRING_CHARS or not _ADDR_SPEC_RE.fullmatch(spec):
            raise InvalidRequest(f"{path}.address", f"{_clip(spec)!r} is not an address: {_address_hint(spec)}")
        display = _header_text(value["name"], f"{path}.name") if "name" in value else None
        return _checked_address(spec, display or None, path)
    raise InvalidRequest(path, "must be an address string or an object with address and name")


@lru_cache(maxsize=256)
def _sender_address(text: str) -> Address:
    """parse_address(text, "from"), parsed once per sender: a batch comes from a few (an error is not kept)."""
    return parse_address(text, "from")


_ADDRESS_FIELDS = frozenset({"address", "name"})
_MAX_ADDRESS_STRING_CHARS = 4096  # a 998-character name, quoted and escaped, and a 254-octet address fit


def _checked_address(spec: str, name: str | None, path: str) -> Address:
    address = Address(spec, name)
    if len(address.local_part.encode("utf-8")) > 64:
        raise InvalidRequest(path, "the local part (before @) is longer than 64 octets")
    try:
        envelope = address.envelope
    except ValueError as error:
        raise InvalidRequest(path, str(error)) from None
    if len(envelope.encode("utf-8")) > 254:
        raise InvalidRequest(path, "the address is longer than 254 octets")
    return address


def _address_hint(text: str) -> str:
    """Why an address failed the grammar, for the common mistakes; the regex alone says nothing."""
    if _LINE_BREAK_RE.search(text):
        return "contains a line break"
    spec = text[text.rfind("<") + 1 :].rstrip(">") if "<" in text else text
    if "@" not in spec:
        return "no @ in it"
    domain = spec.rpartition("@")[2]
    if "." not in domain:
        return f"the domain {domain!r} has no dot"
    return "expected name@domain or Name <name@domain> (RFC 5322 syntax)"


# --- the document -----------------------------------------------------------------------
_REQUEST_FIELDS = frozenset(
    {
        "version",
        "message_key",
        "from",
        "to",
        "cc",
        "bcc",
        "reply_to",
        "return_path",
        "subject",
        "text",
        "html",
        "template",
        "variables",
        "headers",
        "attachments",
        "tags",
        "stream",
        "ignore_suppression",
        "campaign",
    }
)
_INLINE_TEMPLATE_FIELDS = frozenset({"subject", "text", "html"})
_STORED_TEMPLATE_FIELDS = frozenset({"key"})
_ATTACHMENT_FIELDS = frozenset({"filename", "content_type", "content_base64", "s3"})
_S3_FIELDS = frozenset({"bucket", "key", "version_id"})
_MESSAGE_KEY_RE = re.compile(r"[\x21-\x7e]{1,200}")
_STREAM_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# Campaign and list ids go into message keys, unsubscribe tokens, URLs and table keys: keep them plain.
_CAMPAIGN_FIELDS = frozenset({"id", "list"})
_CAMPAIGN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HEADER_NAME_RE = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_TEMPLATE_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)*")
_CONTENT_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
_FILENAME_UNSAFE_RE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An S3 key as a path: '/'-separated segments, none empty, '.' or '..', no backslash or controls.
_S3_SEGMENT = r"[^/\\\x00-\x1f\x7f-\x9f]+"
_S3_KEY_RE = re.compile("(?:" + _S3_SEGMENT + "/)*" + _S3_SEGMENT)
# Executables a mail client runs when opened. Refused by file name (the last extension: "a.pdf.exe"
# is an .exe) and by declared type, so neither a type nor a name can smuggle one in.
DANGEROUS_EXTENSIONS = frozenset(
    [
        "exe",
        "com",
        "scr",
        "pif",
        "bat",
        "cmd",
        "msi",
        "msp",
        "mst",
        "cpl",
        "hta",
        "jar",
        "js",
        "jse",
        "vb",
        "vbs",
        "vbe",
        "wsf",
        "wsh",
        "wsc",
        "ps1",
        "ps1xml",
        "psm1",
        "lnk",
        "reg",
        "scf",
        "inf",
        "dll",
        "sys",
        "application",
        "gadget",
        "msc",
        "url",
    ]
)
DANGEROUS_CONTENT_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-ms-shortcut",
        "application/vnd.microsoft.portable-executable",
        "application/x-bat",
        "application/x-sh",
        "application/x-csh",
        "application/x-shellscript",
        "application/hta",
        "application/java-archive",
        "application/x-java-archive",
        "application/javascript",
        "text/javascript",
        "application/x-javascript",
        "text/vbscript",
        "application/x-vbscript",
        "application/x-powershell",
    }
)
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BASE64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")

# Guessed attachment types. A fixed table rather than `mimetypes`, which reads the
# machine's mime.types files: the same file name must get the same type everywhere.
_CONTENT_TYPES_BY_EXTENSION = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "txt": "text/plain",
    "csv": "text/csv",
    "htm": "text/html",
    "html": "text/html",
    "ics": "text/calendar",
    "json": "application/json",
    "xml": "application/xml",
    "zip": "application/zip",
    "gz": "application/gzip",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "rtf": "application/rtf",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "wav": "audio/wav",
}


def guess_content_type(filename: str) -> str:
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return _CONTENT_TYPES_BY_EXTENSION.get(extension, "application/octet-stream")


def parse_send_request(
    body: str | bytes | Mapping[str, Any], *, decoded: Mapping[str, Any] | None = None
) -> SendRequest:
    """Validate a send request. Raises InvalidRequest (and nothing else) naming the field at fault.

    A Mapping is taken as already decoded (its size is not checked: it did not come off a queue).
    `decoded` is the JSON text `body` as json.loads() read it with NaN and Infinity refused, as
    `producer_envelope.unwrap` keeps it: the body is then checked (size, text) but not decoded twice.
    """
    doc = _decode(body, enforce_size=True, decoded=decoded)
    if _may_hold_surrogates(body):
        _reject_surrogates(doc)
    _reject_unknown(doc, _REQUEST_FIELDS, "")
    version = doc.get("version", REQUEST_VERSION)
    if isinstance(version, bool) or not isinstance(version, (int, float)) or version != REQUEST_VERSION:
        raise InvalidRequest("version", f"unsupported version {_clip(repr(version))}; this parser reads version 1")
    message_key = None
    if "message_key" in doc:
        message_key = _string(doc["message_key"], "message_key")
        if not _MESSAGE_KEY_RE.fullmatch(message_key):
            raise InvalidRequest("message_key", "must be 1 to 200 printable ASCII characters without spaces")
    if "from" not in doc:
        raise InvalidRequest("from", "required")
    sender = doc["from"]
    from_ = _sender_address(sender) if isinstance(sender, str) else parse_address(sender, "from")
    to, cc, bcc = (_address_list(doc, name) for name in ("to", "cc", "bcc"))
    _check_recipient_count(to, cc, bcc)
    if isinstance(doc.get("reply_to"), (list, tuple)) and len(doc["reply_to"]) > MAX_REPLY_TO:
        raise InvalidRequest("reply_to", f"{len(doc['reply_to'])} addresses; at most {MAX_REPLY_TO}")
    reply_to = _address_list(doc, "reply_to")
    return_path = parse_address(doc["return_path"], "return_path") if "return_path" in doc else None
    subject = _header_text(doc["subject"], "subject") if "subject" in doc else None
    text = _string(doc["text"], "text") if "text" in doc else None
    html = _string(doc["html"], "html") if "html" in doc else None
    template = _template(doc["template"]) if "template" in doc else None
    variables: Mapping[str, Any] = _empty_mapping()
    if "variables" in doc:
        variables = MappingProxyType(dict(_object(doc["variables"], "variables")))
    _check_content(doc, subject, template)
    stream = None
    if "stream" in doc:
        stream = _string(doc["stream"], "stream")
        if not _STREAM_RE.fullmatch(stream):
            raise InvalidRequest("stream", "must be 1 to 64 lowercase letters, digits, '-' or '_'")
    ignore_suppression = doc.get("ignore_suppression", False)
    if not isinstance(ignore_suppression, bool):
        raise InvalidRequest("ignore_suppression", "must be true or false")
    campaign = None
    if "campaign" in doc:
        campaign = _campaign(doc["campaign"])
        for name in ("cc", "bcc"):
            if name in doc:
                raise InvalidRequest(name, "not allowed with campaign: campaign mail goes to one recipient, in to")
        if len(to) != 1:
            raise InvalidRequest(
                "to", "campaign mail goes to one recipient a request (its unsubscribe link is the recipient's own)"
            )
    return SendRequest(
        from_=from_,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        return_path=return_path,
        subject=subject,
        text=text,
        html=html,
        template=template,
        variables=variables,
        headers=_headers(doc["headers"]) if "headers" in doc else (),
        attachments=_attachments(doc["attachments"]) if "attachments" in doc else (),
        tags=_tags(doc["tags"]) if "tags" in doc else _empty_mapping(),
        message_key=message_key,
        version=REQUEST_VERSION,
        stream=stream,
        ignore_suppression=ignore_suppression,
        campaign=campaign,
    )


def salvage_envelope(body: str | bytes) -> tuple[str | None, list[str]]:
    """Best-effort (return address, recipients) of a body that failed validation, for its bounce report.

    Only syntactically valid addresses come back (their `.address`), at most MAX_RECIPIENTS
    recipients; the return address is the return_path, else the From. Never raises.
    """
    try:
        doc = _decode(body, enforce_size=False)
    except Exception:
        return None, []
    sender = None
    for name in ("return_path", "from"):
        address = _try_address(doc.get(name))
        if address is not None:
            sender = address.address
            break
    recipients: list[str] = []
    seen: set[str] = set()
    for name in ("to", "cc", "bcc"):
        items = doc.get(name)
        for item in items if isinstance(items, list) else ():
            address = _try_address(item)
            if address is None or address.address.casefold() in seen:
                continue
            if len(recipients) == MAX_RECIPIENTS:
                return sender, recipients
            seen.add(address.address.casefold())
            recipients.append(address.address)
    return sender, recipients


def _try_address(value: Any) -> Address | None:
    try:
        return parse_address(value, "$")
    except Exception:  # a poison record may hold anything; salvage must not fail on it
        return None


def _decode(body: Any, *, enforce_size: bool, decoded: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    if type(body) is not str and isinstance(body, Mapping):
        doc: Any = body
    else:
        if isinstance(body, (bytes, bytearray, memoryview)):
            raw = bytes(body)
            _check_body_size(len(raw), enforce_size)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvalidRequest("$", f"not UTF-8 (bad byte at offset {error.start})") from None
        elif isinstance(body, str):
            text = body
            # A str is at most 4 octets a character: skip encoding it when it cannot be too big.
            if len(text) * 4 > MAX_BODY_BYTES:
                _check_body_size(len(text.encode("utf-8", "surrogatepass")), enforce_size)
        else:
            raise InvalidRequest("$", f"expected a JSON document, got {type(body).__name__}")
        doc = decoded if decoded is not None else _json_object(text)
    if type(doc) is not dict and not isinstance(doc, Mapping):
        raise InvalidRequest("$", "must be a JSON object")
    return doc


def _json_object(text: str) -> Any:
    try:
        return json.loads(text.removeprefix("\ufeff"), parse_constant=_reject_constant)
    except InvalidRequest:
        raise
    except json.JSONDecodeError as error:
        raise InvalidRequest("$", f"not valid JSON: {error.msg} (line {error.lineno} column {error.colno})") from None
    except (ValueError, RecursionError) as error:  # huge integers, absurd nesting
        raise InvalidRequest("$", f"not valid JSON: {error}") from None


_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES_RE = re.compile(rb"\\u[dD][89a-fA-F]")


def _may_hold_surrogates(body: Any) -> bool:
    """Cheap pre-check: JSON may escape a lone surrogate ("\\ud800"), which no mail can encode."""
    if isinstance(body, str):
        # One scan for the literal "\\u" by the regex engine (faster than two `in` tests); isascii() is a flag.
        escaped = _SURROGATE_ESCAPE_RE.search(body)
        return bool(escaped or (not body.isascii() and _SURROGATE_RE.search(body)))
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bool(_SURROGATE_ESCAPE_BYTES_RE.search(body))
    return True


def _reject_surrogates(doc: Any) -> None:
    stack: list[tuple[str, Any]] = [("$", doc)]
    while stack:  # iterative: the document may be nested as deep as the JSON decoder allows
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE_RE.search(value):
                raise InvalidRequest(path, "contains an unpaired UTF-16 surrogate, which is not text")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                key_path = str(key) if path == "$" else f"{path}.{key}"
                if isinstance(key, str) and _SURROGATE_RE.search(key):
                    raise InvalidRequest(key_path, "the name contains an unpaired UTF-16 surrogate")
                stack.append((key_path, item))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _check_body_size(size: int, enforce: bool) -> None:
    if enforce and size > MAX_BODY_BYTES:
        raise InvalidRequest("$", f"the request is {size} bytes; at most {MAX_BODY_BYTES} (1 MiB)")


def _reject_constant(name: str) -> Any:
    raise InvalidRequest("$", f"not valid JSON: {name} is not a JSON number")


def _reject_unknown(doc: Mapping[str, Any], allowed: frozenset[str], path: str, why: str = "unknown field") -> None:
    for name in doc:
        if name not in allowed:
            raise InvalidRequest(f"{path}.{name}" if path else str(name), why)


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(path, f"must be a string, not {_json_type(value)}")
    return value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    # JSON objects are dicts: the exact-type test first spares the ABC's isinstance check (slow, even cached).
    if type(value) is not dict and not isinstance(value, Mapping):
        raise InvalidRequest(path, f"must be an object, not {_json_type(value)}")
    return value


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise InvalidRequest(path, f"must be a list, not {_json_type(value)}")
    return list(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _header_text(value: Any, path: str) -> str:
    """Text that goes into a header: one line, no controls (header injection), at most 998 chars."""
    text = _string(value, path)
    unsafe = UNSAFE_HEADER_TEXT.search(text)
    if unsafe is not None:
        what = (
            "a line break (CR, LF or another line separator)"
            if _LINE_BREAK_RE.match(unsafe.group())
            else "a control character"
        )
        raise InvalidRequest(path, f"contains {what} at position {unsafe.start()}: header text must be one line")
    if len(text) > MAX_HEADER_VALUE_CHARS:
        raise InvalidRequest(path, f"{len(text)} characters; at most {MAX_HEADER_VALUE_CHARS}")
    return text.strip()


def _address_list(doc: Mapping[str, Any], name: str) -> tuple[Address, ...]:
    if name not in doc:
        return ()
    return tuple(parse_address(item, f"{name}[{i}]") for i, item in enumerate(_array(doc[name], name)))


def _check_recipient_count(*lists: tuple[Address, ...]) -> None:
    total = sum(map(len, lists))
    if 0 < total <= MAX_RECIPIENTS:  # most requests: no need to find the one over the limit
        return
    count = 0
    for name, addresses in zip(("to", "cc", "bcc"), lists, strict=False):
        for i in range(len(addresses)):
            count += 1
            if count > MAX_RECIPIENTS:
                raise InvalidRequest(
                    f"{name}[{i}]", f"more than {MAX_RECIPIENTS} recipients in to, cc and bcc together"
                )
    if count == 0:
        raise InvalidRequest("to", "no recipients: give at least one in to, cc or bcc")


def _template(value: Any) -> Template:
    doc = _object(value, "template")
    if "key" in doc:
        _reject_unknown(doc, _STORED_TEMPLATE_FIELDS, "template", "not allowed with a stored template (key)")
        key = _string(doc["key"], "template.key")
        if len(key) > 200 or not _TEMPLATE_KEY_RE.fullmatch(key):
            raise InvalidRequest(
                "template.key", "must be up to 200 characters of letters, digits, '_.-', in '/'-separated segments"
            )
        return StoredTemplateRef(key)
    _reject_unknown(doc, _INLINE_TEMPLATE_FIELDS, "template")
    subject = _string(doc["subject"], "template.subject") if "subject" in doc else None
    text = _string(doc["text"], "template.text") if "text" in doc else None
    html = _string(doc["html"], "template.html") if "html" in doc else None
    if text is None and html is None:
        raise InvalidRequest("template", "an inline template needs text or html (or give key, for a stored template)")
    return InlineTemplate(subject, text, html)


def _check_content(doc: Mapping[str, Any], subject: str | None, template: Template | None) -> None:
    """Bodies or a template, never both; a subject from exactly one place."""
    if template is None:
        if "text" not in doc and "html" not in doc:
            raise InvalidRequest("text", "no body: give text and/or html, or a template")
        if "variables" in doc:
            raise InvalidRequest("variables", "only allowed with a template")
        if subject is None:
            raise InvalidRequest("subject", "required (no template supplies one)")
        return
    for body in ("text", "html"):
        if body in doc:
            raise InvalidRequest(body, "not allowed with a template: bodies and template are mutually exclusive")
    if isinstance(template, InlineTemplate):
        if template.subject is None and subject is None:
            raise InvalidRequest("subject", "required: the inline template has no subject")
        if template.subject is not None and subject is not None:
            raise InvalidRequest("template.subject", "conflicts with subject: give the subject in one place")


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    headers = []
    seen: set[str] = set()
    doc = _object(value, "headers")
    if len(doc) > MAX_HEADERS:
        raise InvalidRequest("headers", f"{len(doc)} header fields; at most {MAX_HEADERS}")
    for name, header_value in doc.items():
        path = f"headers.{name}"
        if len(name) > MAX_HEADER_NAME_CHARS or not _HEADER_NAME_RE.fullmatch(name):
            raise InvalidRequest(
                path,
                f"not a valid header field name (printable ASCII without ':' or space, at most {MAX_HEADER_NAME_CHARS})",
            )
        lower = name.lower()
        if lower.startswith("x-") and len(name) > 2:
            canonical = name
        elif lower in _ALLOWED_HEADERS:
            canonical = _ALLOWED_HEADERS[lower]
        else:
            raise InvalidRequest(
                path, "this header may not be set: only X-* and " + ", ".join(ALLOWED_HEADERS) + " may"
            )
        if lower in seen:
            raise InvalidRequest(path, "given twice (header names are case-insensitive)")
        seen.add(lower)
        headers.append((canonical, _header_text(header_value, path)))
    return tuple(headers)


def _attachments(value: Any) -> tuple[Attachment, ...]:
    attachments: list[Attachment] = []
    inline_bytes = 0
    items = _array(value, "attachments")
    if len(items) > MAX_ATTACHMENTS:
        raise InvalidRequest("attachments", f"{len(items)} attachments; at most {MAX_ATTACHMENTS}")
    for i, item in enumerate(items):
        path = f"attachments[{i}]"
        doc = _object(item, path)
        _reject_unknown(doc, _ATTACHMENT_FIELDS, path)
        if "filename" not in doc:
            raise InvalidRequest(f"{path}.filename", "required")
        filename = _filename(doc["filename"], f"{path}.filename")
        content_type = guess_content_type(filename)
        if "content_type" in doc:
            content_type = _content_type(doc["content_type"], f"{path}.content_type")
            if content_type in DANGEROUS_CONTENT_TYPES:
                raise InvalidRequest(f"{path}.content_type", f"{content_type} is an executable type: not sent")
        if "content_base64" in doc and "s3" in doc:
            raise InvalidRequest(f"{path}.s3", "give content_base64 or s3, not both")
        if "content_base64" in doc:
            content = _base64(doc["content_base64"], f"{path}.content_base64")
            inline_bytes += len(content)
            if inline_bytes > MAX_INLINE_ATTACHMENT_BYTES:
                raise InvalidRequest(
                    f"{path}.content_base64",
                    f"inline attachments come to {inline_bytes} bytes; at most {MAX_INLINE_ATTACHMENT_BYTES} "
                    "(512 KiB): put large files in S3 and refer to them with s3",
                )
            attachments.append(InlineAttachment(filename, content_type, content))
        elif "s3" in doc:
            attachments.append(_s3_attachment(doc["s3"], filename, content_type, f"{path}.s3"))
        else:
            raise InvalidRequest(path, "needs content_base64 (inline) or s3 (a stored file)")
    return tuple(attachments)


def check_attachment_file(filename: Any, content_type: Any | None) -> tuple[str, str]:
    """An attachment's file name and media type, checked as a request's attachments are (paths
    `filename`, `content_type`); the media type is guessed from the name when not given."""
    name = _filename(filename, "filename")
    if content_type is None:
        return name, guess_content_type(name)
    media_type = _content_type(content_type, "content_type")
    if media_type in DANGEROUS_CONTENT_TYPES:
        raise InvalidRequest("content_type", f"{media_type} is an executable type: not sent")
    return name, media_type


def _filename(value: Any, path: str) -> str:
    name = _string(value, path)
    if not name or len(name) > 255:
        raise InvalidRequest(path, "must be 1 to 255 characters")
    if _FILENAME_UNSAFE_RE.search(name) or name in (".", ".."):
        raise InvalidRequest(path, "a file name, not a path: no '/', '\\' or control characters")
    for position, char in enumerate(name):
        if unicodedata.category(char) == "Cf":
            raise InvalidRequest(
                path,
                f"contains the format character U+{ord(char):04X} at position {position} "
                "(bidi controls and invisible characters can disguise a file's extension)",
            )
    # Windows drops trailing dots and spaces: "a.exe. " opens as "a.exe".
    shown = name.rstrip(" .")
    extension = shown.rpartition(".")[2].lower() if "." in shown else ""
    if extension in DANGEROUS_EXTENSIONS:
        raise InvalidRequest(path, f"{_clip(name)!r}: executable attachments (.{extension}) are not sent")
    return name


def _content_type(value: Any, path: str) -> str:
    content_type = _string(value, path)
    if not _CONTENT_TYPE_RE.fullmatch(content_type):
        raise InvalidRequest(path, f"{_clip(content_type)!r} is not a media type like application/pdf (no parameters)")
    content_type = content_type.lower()
    if content_type.startswith(("multipart/", "message/")):
        raise InvalidRequest(path, f"{content_type} cannot be sent as an attachment; use application/octet-stream")
    return content_type


def _base64(value: Any, path: str) -> bytes:
    encoded = _string(value, path)
    if not _BASE64_RE.fullmatch(encoded):
        raise InvalidRequest(path, "not valid base64 (standard alphabet, padded, no line breaks)")
    return binascii.a2b_base64(encoded)


def _s3_attachment(value: Any, filename: str, content_type: str, path: str) -> S3Attachment:
    doc = _object(value, path)
    _reject_unknown(doc, _S3_FIELDS, path)
    for name in ("bucket", "key"):
        if name not in doc:
            raise InvalidRequest(f"{path}.{name}", "required")
    bucket = _string(doc["bucket"], f"{path}.bucket")
    if not _BUCKET_RE.fullmatch(bucket):
        raise InvalidRequest(f"{path}.bucket", f"{_clip(bucket)!r} is not an S3 bucket name")
    key = _string(doc["key"], f"{path}.key")
    if not 1 <= len(key) <= MAX_S3_KEY_CHARS:
        raise InvalidRequest(f"{path}.key", f"must be 1 to {MAX_S3_KEY_CHARS} characters")
    if not _S3_KEY_RE.fullmatch(key) or any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidRequest(
            f"{path}.key",
            f"{_clip(key)!r} is not a plain object key: '/'-separated names, none empty, '.' or '..', "
            "no backslash or control characters",
        )
    version_id = None
    if "version_id" in doc:
        version_id = _string(doc["version_id"], f"{path}.version_id")
        if not 1 <= len(version_id) <= 1024:
            raise InvalidRequest(f"{path}.version_id", "must be 1 to 1024 characters")
    return S3Attachment(filename, content_type, bucket, key, version_id)


def _campaign(value: Any) -> Campaign:
    doc = _object(value, "campaign")
    _reject_unknown(doc, _CAMPAIGN_FIELDS, "campaign")
    if "id" not in doc:
        raise InvalidRequest("campaign.id", "required")
    ids = {}
    for name in ("id", "list"):
        if name in doc:
            text = _string(doc[name], f"campaign.{name}")
            if not _CAMPAIGN_ID_RE.fullmatch(text):
                raise InvalidRequest(
                    f"campaign.{name}",
                    "must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
                )
            ids[name] = text
    return Campaign(id=ids["id"], list_id=ids.get("list", ids["id"]))


def _tags(value: Any) -> Mapping[str, str]:
    doc = _object(value, "tags")
    if len(doc) > MAX_TAGS:
        raise InvalidRequest("tags", f"{len(doc)} tags; at most {MAX_TAGS}")
    for name, tag in doc.items():
        if not 1 <= len(name) <= 64:
            raise InvalidRequest(f"tags.{name}", "tag names are 1 to 64 characters")
        if len(_string(tag, f"tags.{name}")) > 256:
            raise InvalidRequest(f"tags.{name}", "tag values are at most 256 characters")
    return MappingProxyType(dict(doc))
