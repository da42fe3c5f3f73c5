"""DKIM (RFC 6376, RFC 8463): the pure half of signing.

Canonicalisation (relaxed/relaxed), the choice of header fields, the body hash and the
DKIM-Signature tag list are computed here, from the message bytes alone; the one thing left to an
adapter is the public-key operation over `PreparedSignature.digest` (RSA PKCS#1 v1.5 over a SHA-256
digest, or Ed25519 over the same 32 bytes, as RFC 8463 §3 defines ed25519-sha256). That keeps the
cryptography library out of this module and out of every stack that does not sign.

What is signed is the message exactly as the transport sends it: line ends are read as aiosmtplib
writes them (a bare LF or CR becomes CRLF), so a message built with bare LFs still verifies.

Header fields (`h=`): SIGNED_HEADERS that are present, each listed once more than it occurs
("over-signing", as OpenDKIM's OversignHeaders does): a receiver then fails the signature if anyone
adds another instance on the way (a second From, Subject or Content-Type above ours). Those in
SIGNED_WHEN_ABSENT are listed once even when absent, so nobody can add them later (a Reply-To or
a List-Unsubscribe slipped into a signed message). Date, Message-ID, To and MIME-Version are not:
relays add those to messages that lack them (RFC 6409 §8), which would break an honest signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Literal

Algorithm = Literal["rsa-sha256", "ed25519-sha256"]
ALGORITHMS: tuple[Algorithm, ...] = ("rsa-sha256", "ed25519-sha256")

SIGNED_HEADERS: tuple[str, ...] = (
    "from",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
SIGNED_WHEN_ABSENT: frozenset[str] = frozenset(
    {"reply-to", "cc", "subject", "list-unsubscribe", "list-unsubscribe-post"}
)

_LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")  # aiosmtplib's: what goes on the wire is CRLF
_WSP_RUN = re.compile(rb"[ \t]+")
_SELECTOR_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*")
_DOMAIN_RE = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+")
_FOLD_WIDTH = 76  # DKIM-Signature lines stay under 78 octets


@dataclass(frozen=True)
class SignerIdentity:
    """Who signs: `d=` (an ASCII domain, lower case) and `s=`, for one algorithm."""

    domain: str
    selector: str
    algorithm: Algorithm = "rsa-sha256"

    def __post_init__(self) -> None:
        if not _DOMAIN_RE.fullmatch(self.domain):
            raise ValueError(f"{self.domain!r} is not a signing domain (lower-case ASCII, like example.com)")
        if not _SELECTOR_RE.fullmatch(self.selector) or len(self.selector) > 63:
            raise ValueError(f"{self.selector!r} is not a DKIM selector (letters, digits, '-', '_', dots)")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"{self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")

    @property
    def record_name(self) -> str:
        """Where the public key is published: <selector>._domainkey.<domain>."""
        return f"{self.selector}._domainkey.{self.domain}"


@dataclass(frozen=True)
class MessageForSigning:
    """A message parsed once for any number of signatures: its header fields and its body hash."""

    fields: tuple[bytes, ...]  # each field as written (folding kept, CRLF inside, no final CRLF)
    body_hash: bytes  # SHA-256 of the relaxed body

    def field_names(self) -> list[str]:
        return [_field_name(field) for field in self.fields]


@dataclass(frozen=True)
class PreparedSignature:
    """A DKIM-Signature field up to its empty `b=`, and the digest the algorithm must sign."""

    identity: SignerIdentity
    field_without_b: bytes  # "DKIM-Signature: v=1; ...;\r\n b="
    digest: bytes  # SHA-256 over the canonical header fields and this field (b= empty)


def parse_for_signing(message: bytes) -> MessageForSigning:
    """The header fields and the body hash of `message` (line ends read as CRLF, as they are sent)."""
    message = wire_form(message)
    if message.startswith(b"\r\n"):
        head, body = b"", message[2:]
    else:
        head, separator, body = message.partition(b"\r\n\r\n")
        if not separator and head.endswith(b"\r\n"):
            head = head[:-2]
    return MessageForSigning(tuple(_fields(head)), hashlib.sha256(relaxed_body(body)).digest())


def wire_form(message: bytes) -> bytes:
    """The message with every line end CRLF and a CRLF at the end, as aiosmtplib puts it on the wire."""
    crlf = message.count(b"\r\n")
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _LINE_END.sub(b"\r\n", message)
    return message if message.endswith(b"\r\n") else message + b"\r\n"  # the common case: nothing copied


def _fields(head: bytes) -> Iterable[bytes]:
    if not head:
        return []
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields


def _field_name(field: bytes) -> str:
    return field.partition(b":")[0].rstrip(b" \t").decode("ascii", "replace").lower()


def relaxed_header(field: bytes) -> bytes:
    """RFC 6376 §3.4.2: lower-case name, unfolded, whitespace runs as one space, none around the colon
    or at the end; followed by CRLF."""
    name, _, value = field.partition(b":")
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.rstrip(b" \t").lower() + b":" + value + b"\r\n"


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 §3.4.4: whitespace runs as one space, none at line ends, no empty lines at the end;
    a non-empty body ends with CRLF, an empty one stays empty. `body` has CRLF line ends.

    Written with bytes.replace (C speed, and skipped when there is nothing to replace) rather than a
    regular expression, which takes about a second for a 14 MB body of base64 attachments."""
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    while b"  " in body:  # each pass halves every run of spaces
        body = body.replace(b"  ", b" ")
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    collapsed = body.rstrip(b" \r\n")
    return collapsed + b"\r\n" if collapsed else b""


def header_list(names: Sequence[str]) -> list[str]:
    """The `h=` names for a message whose header fields are `names` (lower case, in order)."""
    present = {name: names.count(name) for name in SIGNED_HEADERS}
    listed: list[str] = []
    for name in SIGNED_HEADERS:
        count = present[name]
        if count:
            listed.extend([name] * (count + 1))  # over-signed: one more than there are
        elif name in SIGNED_WHEN_ABSENT:
            listed.append(name)
    return listed


def selected_fields(message: MessageForSigning, listed: Sequence[str]) -> list[bytes]:
    """The fields `h=` names, in its order: each name takes its instances from the bottom up
    (RFC 6376 §5.4.2); a name listed more often than it occurs contributes nothing more."""
    by_name: dict[str, list[bytes]] = {}
    for field in message.fields:
        by_name.setdefault(_field_name(field), []).append(field)
    chosen: list[bytes] = []
    for name in listed:
        instances = by_name.get(name)
        if instances:
            chosen.append(instances.pop())
    return chosen


def prepare_signature(message: MessageForSigning, identity: SignerIdentity, *, timestamp: int) -> PreparedSignature:
    """The DKIM-Signature field (b= still empty) for `message` by `identity`, and the digest to sign."""
    listed = header_list(message.field_names())
    if "from" not in listed:
        raise ValueError("the message has no From field: DKIM signs From, always")
    tags = [
        "v=1",
        f"a={identity.algorithm}",
        "c=relaxed/relaxed",
        f"d={identity.domain}",
        f"s={identity.selector}",
        f"t={int(timestamp)}",
    ]
    field = _fold_tags("DKIM-Signature:", tags, listed, base64.b64encode(message.body_hash).decode("ascii"))
    data = b"".join(relaxed_header(f) for f in selected_fields(message, listed))
    data += relaxed_header(field)[:-2]  # the signature field itself, b= empty, without its CRLF (§3.7)
    return PreparedSignature(identity, field, hashlib.sha256(data).digest())


def finish_signature(prepared: PreparedSignature, signature: bytes) -> bytes:
    """The whole DKIM-Signature field, CRLF-ended, with `signature` as b= (folded: verifiers drop the
    whitespace inside b=, and the digest covered the field with b= empty)."""
    value = base64.b64encode(signature).decode("ascii")
    last = prepared.field_without_b.rsplit(b"\r\n", 1)[-1]
    first = max(0, _FOLD_WIDTH - len(last))
    pieces = [value[:first]] + [value[i : i + _FOLD_WIDTH - 1] for i in range(first, len(value), _FOLD_WIDTH - 1)]
    return prepared.field_without_b + "\r\n ".join(p for p in pieces if p).encode("ascii") + b"\r\n"


def _fold_tags(start: str, tags: Sequence[str], listed: Sequence[str], body_hash: str) -> bytes:
    lines = [start]

    def put(text: str, *, space: bool = True) -> None:
        separator = " " if space else ""
        if len(lines[-1]) + len(separator) + len(text) <= _FOLD_WIDTH:
            lines[-1] += separator + text
        else:
            lines.append(" " + text)

    for tag in tags:
        put(tag + ";")
    names = [name + ":" for name in listed]
    names[-1] = names[-1][:-1] + ";"
    put("h=" + names[0])
    for name in names[1:]:  # a long h= folds after a colon
        put(name, space=False)
    put(f"bh={body_hash};")
    put("b=")
    return "\r\n".join(lines).encode("ascii")


def signing_domain(from_domain: str, domains: Collection[str]) -> str | None:
    """The configured signing domain for mail from `from_domain`: the domain itself, else its nearest
    parent with a key (news.example.com signs as example.com, which DMARC's relaxed alignment accepts);
    None when no key applies. `domains` are lower-case ASCII."""
    labels = from_domain.rstrip(".").lower().split(".")
    for start in range(len(labels) - 1):  # never a bare top-level domain
        candidate = ".".join(labels[start:])
        if candidate in domains:
            return candidate
    return None


def header_from_domain(message: bytes) -> str | None:
    """The domain of the (first) address in the message's From field: what DMARC aligns with, which a
    ready message's envelope sender need not be. None without a From field or an address in it."""
    for field in parse_for_signing_head(message):
        if _field_name(field) == "from":
            value = field.partition(b":")[2].replace(b"\r\n", b"").decode("utf-8", "replace")
            for _, address in getaddresses([value]):
                domain = address.rpartition("@")[2].strip().rstrip(".")
                if "@" in address and domain:
                    return domain.lower()
            return None
    return None


def parse_for_signing_head(message: bytes) -> list[bytes]:
    """The header fields of `message` (as parse_for_signing reads them), without reading its body."""
    if message.startswith((b"\r\n", b"\n")):
        return []
    end = message.find(b"\n\r\n")  # the blank line, CRLF; a bare-LF one is looked for only before it
    lf = message.find(b"\n\n", 0, end if end >= 0 else len(message))
    end = lf if lf >= 0 else (end if end >= 0 else len(message))
    return list(_fields(wire_form(message[:end]).removesuffix(b"\r\n")))


def parse_tag_list(text: str) -> dict[str, str]:
    """A DKIM tag list (`v=DKIM1; k=rsa; p=...`) as a dict; whitespace inside values dropped (§3.2)."""
    tags: dict[str, str] = {}
    for item in text.split(";"):
        name, equals, value = item.partition("=")
        if equals and name.strip():
            tags[name.strip()] = "".join(value.split())
    return tags


def key_record(algorithm: Algorithm, public_key: bytes) -> str:
    """The TXT record to publish at <selector>._domainkey.<domain>: RSA keys as SubjectPublicKeyInfo
    DER, Ed25519 keys as the raw 32 bytes (RFC 8463 §4)."""
    kind = "rsa" if algorithm == "rsa-sha256" else "ed25519"
    return f"v=DKIM1; k={kind}; p={base64.b64encode(public_key).decode('ascii')}"


@dataclass(frozen=True)
class SigningDomain:
    """One signing domain's configuration: the RSA key (required) and an optional Ed25519 second key.

    The secrets are names or ARNs of Secrets Manager secrets holding PEM private keys (PKCS#8 or
    traditional); never key material, so this is safe to log."""

    domain: str
    selector: str
    secret: str
    ed25519_selector: str | None = None
    ed25519_secret: str | None = None

    def __post_init__(self) -> None:
        SignerIdentity(self.domain, self.selector)  # raises ValueError naming what is wrong
        if (self.ed25519_selector is None) != (self.ed25519_secret is None):
            raise ValueError(f"{self.domain}: an Ed25519 key needs both ed25519_selector and ed25519_secret_arn")
        if self.ed25519_selector is not None:
            SignerIdentity(self.domain, self.ed25519_selector, "ed25519-sha256")
            if self.ed25519_selector == self.selector:
                raise ValueError(f"{self.domain}: the Ed25519 key needs a selector of its own, not {self.selector!r}")

    @property
    def identities(self) -> list[tuple[SignerIdentity, str]]:
        """(who signs, the secret holding the key): RSA first, then Ed25519 when configured."""
        found = [(SignerIdentity(self.domain, self.selector), self.secret)]
        if self.ed25519_selector is not None and self.ed25519_secret is not None:
            found.append((SignerIdentity(self.domain, self.ed25519_selector, "ed25519-sha256"), self.ed25519_secret))
        return found
