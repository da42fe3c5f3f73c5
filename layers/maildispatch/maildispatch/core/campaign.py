"""Batch campaigns: a recipient list in S3 sent to every recipient exactly once (the pure model).

A campaign is a template, a list (CSV with a header row or JSON Lines: an `email` column, optional
`name`, every other column a template variable), a sender and a stream, with an optional start time,
send-by deadline and rate. The fan-out (services/fanout.py) reads the list from a byte offset, turns
each row into one send request and saves its checkpoint only after the queue confirmed the requests,
so a killed fan-out resumes where the last confirmed batch ended: nothing skipped. Each recipient's
message key is the campaign id plus a hash of the normalised address, so whatever is enqueued twice
(a resumed batch, a duplicated row) meets the ledger's claim on the same key: nothing sent twice.

This module holds the values and the decisions: the spec and its validation, the state machine, the
row splitter (byte offsets, quoted CSV fields over several lines), a row to a recipient or a bad row,
the send request for a recipient, health (bounce and complaint rates) and the status arithmetic.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, Literal

from maildispatch.core.campaign_keys import CAMPAIGN_ID_RE, recipient_key
from maildispatch.core.request import InvalidRequest, parse_address, parse_send_request

MAX_ROW_BYTES = 64 * 1024  # a longer row (an unclosed quote, a binary file) is reported and skipped
DEFAULT_BOUNCE_RATE_LIMIT = 0.05
DEFAULT_COMPLAINT_RATE_LIMIT = 0.001
DEFAULT_HEALTH_MIN_SAMPLE = 100  # recipients attempted before a rate can pause the campaign
RESERVED_COLUMNS = ("email", "name")
_VARIABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

ListFormat = Literal["csv", "jsonl"]


class CampaignState(str, Enum):
    SCHEDULED = "scheduled"  # waiting for its start time
    RUNNING = "running"  # fanning out, or waiting for its last recipients to reach a final state
    PAUSED = "paused"  # by hand or by health; nothing new is claimed
    CANCELLED = "cancelled"  # nothing more is sent
    FINISHED = "finished"  # every recipient reached a final state
    EXPIRED = "expired"  # past its send-by deadline: what was not sent is reported

    @property
    def is_final(self) -> bool:
        return self in (CampaignState.CANCELLED, CampaignState.FINISHED, CampaignState.EXPIRED)


Action = Literal["start", "pause", "resume", "cancel", "finish", "expire"]

# (action) -> (states it may leave, state it enters)
TRANSITIONS: Mapping[str, tuple[frozenset[CampaignState], CampaignState]] = MappingProxyType(
    {
        "start": (frozenset({CampaignState.SCHEDULED}), CampaignState.RUNNING),
        "pause": (frozenset({CampaignState.SCHEDULED, CampaignState.RUNNING}), CampaignState.PAUSED),
        "resume": (frozenset({CampaignState.PAUSED}), CampaignState.RUNNING),
        "cancel": (
            frozenset({CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.PAUSED}),
            CampaignState.CANCELLED,
        ),
        "finish": (frozenset({CampaignState.RUNNING}), CampaignState.FINISHED),
        "expire": (
            frozenset({CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.PAUSED}),
            CampaignState.EXPIRED,
        ),
    }
)


class InvalidCampaign(ValueError):
    """The campaign document breaks the contract; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TransitionRefused(ValueError):
    """An action the campaign's state does not allow (resume a cancelled campaign)."""

    def __init__(self, campaign_id: str, action: str, state: CampaignState) -> None:
        super().__init__(f"campaign {campaign_id} is {state.value}: cannot {action}")
        self.campaign_id = campaign_id
        self.action = action
        self.state = state


def next_state(campaign_id: str, state: CampaignState, action: str) -> CampaignState:
    sources, target = TRANSITIONS[action]
    if state not in sources:
        raise TransitionRefused(campaign_id, action, state)
    return target


@dataclass(frozen=True)
class RecipientList:
    bucket: str
    key: str
    format: ListFormat


@dataclass(frozen=True)
class HealthLimits:
    bounce_rate: float = DEFAULT_BOUNCE_RATE_LIMIT
    complaint_rate: float = DEFAULT_COMPLAINT_RATE_LIMIT
    min_sample: int = DEFAULT_HEALTH_MIN_SAMPLE


@dataclass(frozen=True)
class CampaignSpec:
    """What a campaign sends, to whom, and when: validated by `parse_campaign`."""

    campaign_id: str
    recipients: RecipientList
    sender: Any  # the request's "from": "Name <addr>" or {"address", "name"}
    template: Mapping[str, Any]  # the request's "template": {"key": ...} or {"subject", "text", "html"}
    subject: str | None = None  # when the template has none
    stream: str | None = None
    list_id: str | None = None  # the list unsubscribes are scoped to (default: the campaign id)
    start_at: float | None = None  # epoch seconds; None: now
    send_by: float | None = None  # epoch seconds; past it nothing more is sent
    rate: float | None = None  # recipients per second the fan-out releases at most; None: the relay's budget
    required_variables: tuple[str, ...] = ()  # a row without one of these is a bad row
    health: HealthLimits = HealthLimits()
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    preflight: bool = True  # False: the fan-out does not check the From domain's DNS before the first send

    @property
    def scope(self) -> str:
        return self.list_id or self.campaign_id

    @property
    def sender_domain(self) -> str:
        """The From address's domain, lower case (what the pre-flight check looks up)."""
        sample = Recipient("recipient@example.com", None, MappingProxyType({}), row=0)
        address = parse_send_request(send_request_for(self, sample)).from_.address
        return address.rpartition("@")[2].rstrip(".").lower()

    def to_document(self) -> dict[str, Any]:
        """The spec as stored (and as `parse_campaign` reads it back)."""
        doc: dict[str, Any] = {
            "id": self.campaign_id,
            "list": {"bucket": self.recipients.bucket, "key": self.recipients.key, "format": self.recipients.format},
            "from": self.sender,
            "template": dict(self.template),
            "health": {"bounce_rate": self.health.bounce_rate, "complaint_rate": self.health.complaint_rate},
        }
        optional = {
            "subject": self.subject,
            "stream": self.stream,
            "list_id": self.list_id,
            "start_at": _iso(self.start_at) if self.start_at is not None else None,
            "send_by": _iso(self.send_by) if self.send_by is not None else None,
            "rate": self.rate,
            "required_variables": list(self.required_variables) or None,
            "tags": dict(self.tags) or None,
            "preflight": False if not self.preflight else None,
        }
        doc.update({k: v for k, v in optional.items() if v is not None})
        if self.health.min_sample != DEFAULT_HEALTH_MIN_SAMPLE:
            doc["health"]["min_sample"] = self.health.min_sample
        return doc


_CAMPAIGN_FIELDS = frozenset(
    {
        "id",
        "list",
        "from",
        "template",
        "subject",
        "stream",
        "list_id",
        "start_at",
        "send_by",
        "rate",
        "required_variables",
        "health",
        "tags",
        "preflight",
    }
)


def parse_campaign(doc: Any, *, campaign_id: str | None = None) -> CampaignSpec:
    """A campaign document (the body of POST /v1/campaigns, a CLI file) to a spec, or InvalidCampaign.

    The template, sender, stream and tags are checked by building a sample send request, so a campaign
    the dispatch function would refuse for every row is refused here, once."""
    if not isinstance(doc, Mapping):
        raise InvalidCampaign("$", "must be a JSON object")
    unknown = sorted(set(doc) - _CAMPAIGN_FIELDS)
    if unknown:
        raise InvalidCampaign(unknown[0], f"unknown field; allowed: {', '.join(sorted(_CAMPAIGN_FIELDS))}")
    cid = doc.get("id", campaign_id)
    if not isinstance(cid, str) or not CAMPAIGN_ID_RE.fullmatch(cid):
        raise InvalidCampaign("id", "must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit")
    recipients = _recipient_list(doc.get("list"))
    if "from" not in doc:
        raise InvalidCampaign("from", "required: the sender")
    if not isinstance(doc.get("template"), Mapping):
        raise InvalidCampaign("template", "required: {'key': stored template} or {'subject', 'text', 'html'}")
    start_at = _time(doc, "start_at")
    send_by = _time(doc, "send_by")
    if start_at is not None and send_by is not None and send_by <= start_at:
        raise InvalidCampaign("send_by", "must be after start_at")
    rate = doc.get("rate")
    if rate is not None and (not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 10_000):
        raise InvalidCampaign("rate", "recipients per second: a number above 0, at most 10000")
    required = doc.get("required_variables", [])
    if not isinstance(required, list) or not all(isinstance(v, str) and _VARIABLE_RE.fullmatch(v) for v in required):
        raise InvalidCampaign("required_variables", "a list of variable names (letters, digits, '_')")
    list_id = doc.get("list_id")
    if list_id is not None and (not isinstance(list_id, str) or not CAMPAIGN_ID_RE.fullmatch(list_id)):
        raise InvalidCampaign("list_id", "1 to 63 lowercase letters, digits or '-'")
    preflight = doc.get("preflight", True)
    if not isinstance(preflight, bool):
        raise InvalidCampaign("preflight", "true (default: check the From domain's DNS before the first send) or false")
    spec = CampaignSpec(
        campaign_id=cid,
        recipients=recipients,
        sender=doc["from"],
        template=MappingProxyType(dict(doc["template"])),
        subject=doc.get("subject"),
        stream=doc.get("stream"),
        list_id=list_id,
        start_at=start_at,
        send_by=send_by,
        rate=float(rate) if rate is not None else None,
        required_variables=tuple(required),
        health=_health(doc.get("health")),
        tags=MappingProxyType(dict(doc.get("tags") or {})),
        preflight=preflight,
    )
    sample = Recipient("recipient@example.com", None, MappingProxyType({}), row=0)
    try:
        parse_send_request(send_request_for(spec, sample))
    except InvalidRequest as error:
        raise InvalidCampaign(error.field, error.message) from None
    return spec


def _recipient_list(value: Any) -> RecipientList:
    if not isinstance(value, Mapping):
        raise InvalidCampaign("list", "required: {'bucket', 'key', 'format': 'csv' | 'jsonl'}")
    bucket, key = value.get("bucket"), value.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise InvalidCampaign("list", "needs bucket and key (the S3 object holding the recipients)")
    fmt = value.get("format") or ("jsonl" if key.endswith((".jsonl", ".ndjson")) else "csv")
    if fmt == "csv":
        return RecipientList(bucket, key, "csv")
    if fmt == "jsonl":
        return RecipientList(bucket, key, "jsonl")
    raise InvalidCampaign("list.format", "csv (with a header row) or jsonl")


def _health(value: Any) -> HealthLimits:
    if value is None:
        return HealthLimits()
    if not isinstance(value, Mapping):
        raise InvalidCampaign("health", "an object: {bounce_rate, complaint_rate, min_sample}")
    limits = HealthLimits()
    for name in ("bounce_rate", "complaint_rate"):
        if name in value:
            rate = value[name]
            if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1:
                raise InvalidCampaign(f"health.{name}", "a fraction above 0, at most 1 (0.05 is 5 %)")
            limits = (
                replace(limits, bounce_rate=float(rate))
                if name == "bounce_rate"
                else replace(limits, complaint_rate=float(rate))
            )
    if "min_sample" in value:
        if not isinstance(value["min_sample"], int) or value["min_sample"] < 1:
            raise InvalidCampaign("health.min_sample", "a positive whole number of recipients")
        limits = replace(limits, min_sample=value["min_sample"])
    return limits


def _time(doc: Mapping[str, Any], name: str) -> float | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.timestamp()
    raise InvalidCampaign(name, "an ISO 8601 time with a zone (2026-12-05T09:00:00Z) or epoch seconds")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


# --- Rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    address: str  # normalised: stripped, NFC, domain lower-cased
    name: str | None
    variables: Mapping[str, Any]
    row: int  # 1-based data row (the CSV header is row 0)

    @property
    def dedup_key(self) -> str:
        return self.address.lower()


@dataclass(frozen=True)
class BadRow:
    row: int
    offset: int  # byte offset where the row starts in the list object
    field: str
    problem: str

    def to_document(self) -> dict[str, Any]:
        return {"row": self.row, "offset": self.offset, "field": self.field, "problem": self.problem}


def normalise_address(value: Any) -> str:
    """The address as the ledger keys it, but with its local part's case kept: stripped, NFC,
    domain lower-cased. Raises InvalidRequest when it is no address."""
    if not isinstance(value, str):
        raise InvalidRequest("email", "missing" if value is None else "must be text")
    text = unicodedata.normalize("NFC", value.strip())
    if not text:
        raise InvalidRequest("email", "missing")
    address = parse_address(text, "email")
    if address.name:
        raise InvalidRequest("email", "a bare address, without a display name")
    return f"{address.local_part}@{address.domain.lower()}"


def recipient_from_fields(
    fields: Mapping[str, Any], *, row: int, offset: int, required: Sequence[str] = ()
) -> Recipient | BadRow:
    try:
        address = normalise_address(fields.get("email"))
    except InvalidRequest as error:
        return BadRow(row, offset, "email", error.message)
    name = fields.get("name")
    if name is not None and not isinstance(name, str):
        return BadRow(row, offset, "name", "must be text")
    name = (name or "").strip() or None
    variables = {k: v for k, v in fields.items() if k not in RESERVED_COLUMNS}
    for variable in required:
        value = variables.get(variable)
        if value is None or (isinstance(value, str) and not value.strip()):
            return BadRow(row, offset, variable, "missing variable")
    if name is not None:
        variables.setdefault("name", name)
    variables.setdefault("email", address)  # for a footer: "sent to {{ email }}"
    return Recipient(address, name, MappingProxyType(variables), row)


@dataclass(frozen=True)
class RawRow:
    data: bytes  # without its line end
    start: int  # byte offset of its first byte
    end: int  # byte offset just past its line end: where the next row starts


class RowSplitter:
    """Bytes in (as they stream from S3), whole rows out, each with its byte offsets.

    A CSV row ends at a newline outside quotes, so a quoted field may hold newlines; a JSON Lines row
    ends at every newline. Memory holds one unfinished row at most (MAX_ROW_BYTES, then it is cut)."""

    def __init__(self, offset: int, *, quoted: bool) -> None:
        self._base = offset  # offset of self._buffer[0]
        self._buffer = b""
        self._quoted = quoted
        self._quotes = 0  # quotes counted in the buffer up to self._scanned
        self._scanned = 0

    def feed(self, chunk: bytes) -> Iterator[RawRow]:
        self._buffer += chunk
        start = 0
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline < 0:
                break
            if self._quoted:
                self._quotes += self._buffer.count(b'"', self._scanned, newline)
            self._scanned = newline + 1
            if self._quoted and self._quotes % 2 and newline - start < MAX_ROW_BYTES:
                continue  # inside a quoted field: the row goes on
            yield RawRow(self._buffer[start:newline].rstrip(b"\r"), self._base + start, self._base + newline + 1)
            start = newline + 1
            self._quotes = 0
        if start:
            self._buffer = self._buffer[start:]
            self._base += start
            self._scanned -= start
        if len(self._buffer) > MAX_ROW_BYTES:  # no line end in sight: cut, so memory stays bounded
            yield RawRow(self._buffer, self._base, self._base + len(self._buffer))
            self._base += len(self._buffer)
            self._buffer, self._scanned, self._quotes = b"", 0, 0

    def finish(self) -> Iterator[RawRow]:
        """The last row, when the object does not end with a newline."""
        if self._buffer:
            yield RawRow(self._buffer.rstrip(b"\r"), self._base, self._base + len(self._buffer))
            self._base += len(self._buffer)
            self._buffer = b""


def parse_header(data: bytes) -> tuple[str, ...]:
    """The CSV header row's column names; the `email` column is required."""
    text = data.decode("utf-8-sig", errors="strict")
    columns = tuple(c.strip() for c in next(csv.reader(io.StringIO(text, newline="")), []))
    if "email" not in columns:
        raise InvalidCampaign("list", f"the CSV header has no 'email' column (it has: {', '.join(columns)[:200]})")
    return columns


def fields_of_row(
    raw: RawRow, header: Sequence[str] | None, fmt: ListFormat, row: int
) -> Mapping[str, Any] | BadRow | None:
    """A row's fields (None for a blank row), or why they cannot be read."""
    if len(raw.data) >= MAX_ROW_BYTES:
        return BadRow(row, raw.start, "$", f"row longer than {MAX_ROW_BYTES} bytes (an unclosed quote?)")
    try:
        text = raw.data.decode("utf-8")
    except UnicodeDecodeError:
        return BadRow(row, raw.start, "$", "not UTF-8")
    if not text.strip():
        return None
    if fmt == "jsonl":
        try:
            doc = json.loads(text)
        except ValueError as error:
            return BadRow(row, raw.start, "$", f"not JSON: {error}")
        if not isinstance(doc, dict):
            return BadRow(row, raw.start, "$", "a JSON Lines row must be an object")
        return doc
    assert header is not None
    try:
        values = next(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        return BadRow(row, raw.start, "$", f"not CSV: {error}")
    if len(values) != len(header):
        return BadRow(row, raw.start, "$", f"{len(values)} fields; the header has {len(header)}")
    return dict(zip(header, values, strict=True))


# --- Send requests ---------------------------------------------------------------------------------


def campaign_reference(spec: CampaignSpec) -> dict[str, str] | None:
    """The request's `campaign` object: the campaign, and the list unsubscribes are scoped to (the contract's
    optional `campaign`, docs/request.md). Campaign mail carries one-click unsubscribe headers from it."""
    return {"id": spec.campaign_id, "list": spec.scope}


def send_request_for(spec: CampaignSpec, recipient: Recipient) -> dict[str, Any]:
    """The send request (contract v1) for one recipient of the campaign."""
    to: dict[str, str] = {"address": recipient.address}
    if recipient.name:
        to["name"] = recipient.name
    doc: dict[str, Any] = {
        "version": 1,
        "message_key": recipient_key(spec.campaign_id, recipient.address),
        "from": spec.sender,
        "to": [to],
        "template": dict(spec.template),
        "variables": dict(recipient.variables),
        "tags": {**spec.tags, "campaign": spec.campaign_id},
    }
    if spec.subject is not None:
        doc["subject"] = spec.subject
    if spec.stream is not None:
        doc["stream"] = spec.stream
    reference = campaign_reference(spec)
    if reference is not None:
        doc["campaign"] = reference
    return doc


# --- Progress, status and health -------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """Where the fan-out is: saved only after the queue confirmed every request before `offset`."""

    offset: int = 0  # byte offset of the next row to read
    row: int = 0  # data rows read so far
    header: tuple[str, ...] | None = None
    enqueued: int = 0  # unique recipients whose send request the queue confirmed
    invalid: int = 0  # bad rows reported
    suppressed: int = 0  # recipients skipped at fan-out: on the suppression list
    duplicates: int = 0  # rows whose address an earlier row already had
    done: bool = False  # the whole list was read
    preflight_passed: bool = False  # the sender check passed (or was opted out of): not run again

    def advanced(self, **changes: Any) -> Checkpoint:
        return replace(self, **changes)


LEDGER_STATES = ("sending", "delivered", "deferred", "bounced", "suppressed", "uncertain")


@dataclass(frozen=True)
class CampaignStatus:
    campaign_id: str
    state: CampaignState
    checkpoint: Checkpoint
    ledger: Mapping[str, int]  # recipients by ledger state (uncertain split: 'uncertain' final, 'uncertain_retry')
    complained: int = 0
    unsubscribed: int = 0
    started_at: float | None = None
    now: float = 0.0
    reason: str | None = None  # why it paused, expired or was cancelled

    @property
    def sent(self) -> int:
        return self.ledger.get("delivered", 0)

    @property
    def final(self) -> int:
        return sum(self.ledger.get(s, 0) for s in ("delivered", "bounced", "suppressed", "uncertain"))

    @property
    def pending(self) -> int:
        """Enqueued recipients not in a final state (no ledger row yet, sending, deferred, retry due)."""
        return max(0, self.checkpoint.enqueued - self.final)

    @property
    def rate(self) -> float | None:
        """Recipients finalised per second since the start."""
        if self.started_at is None or self.now <= self.started_at or not self.final:
            return None
        return self.final / (self.now - self.started_at)

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        if rate is None or self.state is not CampaignState.RUNNING:
            return None
        return self.pending / rate

    @property
    def complete(self) -> bool:
        """Finished: the whole list read and nothing pending."""
        return self.checkpoint.done and self.pending == 0

    def to_document(self) -> dict[str, Any]:
        cp = self.checkpoint
        return {
            "id": self.campaign_id,
            "state": self.state.value,
            "reason": self.reason,
            "rows_read": cp.row,
            "list_read": cp.done,
            "recipients": cp.enqueued + cp.suppressed,
            "enqueued": cp.enqueued,
            "pending": self.pending,
            "sent": self.sent,
            "deferred": self.ledger.get("deferred", 0),
            "bounced": self.ledger.get("bounced", 0),
            "suppressed": cp.suppressed + self.ledger.get("suppressed", 0),
            "uncertain": self.ledger.get("uncertain", 0),
            "unsubscribed": self.unsubscribed,
            "complained": self.complained,
            "invalid_rows": cp.invalid,
            "duplicate_rows": cp.duplicates,
            "rate_per_s": round(self.rate, 2) if self.rate is not None else None,
            "eta_s": round(self.eta_seconds) if self.eta_seconds is not None else None,
        }


@dataclass(frozen=True)
class CampaignRecord:
    """A campaign as stored: its spec, state, checkpoint and the counters dispatch keeps for health."""

    spec: CampaignSpec
    state: CampaignState
    checkpoint: Checkpoint = Checkpoint()
    version: int = 0  # bumped by every checkpoint: two fan-outs of one campaign cannot both advance it
    reason: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    attempted: int = 0  # recipients dispatch recorded delivered or bounced (health's denominator)
    bounced: int = 0
    final: int = 0  # recipients dispatch recorded in a final state (a hint: the ledger has the exact count)
    complained: int = 0
    unsubscribed: int = 0

    @property
    def campaign_id(self) -> str:
        return self.spec.campaign_id

    def dispatch_action(self, now: float) -> Literal["send", "hold", "drop"]:
        """What dispatch does with this campaign's records before any claim: a paused (or not yet
        started) campaign's wait, a cancelled or expired one's (or past its send-by) are dropped unsent."""
        if self.state in (CampaignState.CANCELLED, CampaignState.EXPIRED) or (
            self.spec.send_by is not None and now >= self.spec.send_by
        ):
            return "drop"
        if self.state in (CampaignState.PAUSED, CampaignState.SCHEDULED):
            return "hold"
        return "send"


def health_breach(limits: HealthLimits, *, attempted: int, bounced: int, complained: int) -> str | None:
    """Why the campaign must pause itself (its bounce or complaint rate over the limit), or None."""
    if attempted < limits.min_sample:
        return None
    if bounced / attempted > limits.bounce_rate:
        return f"bounce rate {bounced / attempted:.1%} over {limits.bounce_rate:.1%} ({bounced} of {attempted})"
    if complained / attempted > limits.complaint_rate:
        return (
            f"complaint rate {complained / attempted:.2%} over {limits.complaint_rate:.2%} "
            f"({complained} of {attempted})"
        )
    return None


def campaign_event_entry(detail_type: str, detail: Mapping[str, Any], *, event_bus_name: str) -> dict[str, Any]:
    """A PutEvents entry: Campaign Started / Paused / Resumed / Cancelled / Finished / Expired."""
    return {
        "Source": "maildispatch",
        "DetailType": detail_type,
        "Detail": json.dumps(dict(detail), separators=(",", ":")),
        "EventBusName": event_bus_name,
    }
