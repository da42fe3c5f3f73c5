"""The ports: every interface the services talk through, once.

Services depend on these Protocols only; adapters (DynamoDB, SQS, S3, EventBridge, SMTP)
implement them, and tests/fakes holds in-memory stand-ins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from maildispatch.core.ledger import Claim, LedgerEntry
from maildispatch.core.outcome import Envelope, Outcome
from maildispatch.core.producer_envelope import OutboxObject
from maildispatch.core.render import RenderedContent, TemplateSource, render_content
from maildispatch.core.report import BounceReport
from maildispatch.core.request import S3Attachment, SendRequest
from maildispatch.core.return_paths import SentMessage
from maildispatch.core.suppression import Suppression

if TYPE_CHECKING:  # in annotations only: a function that never uses these ports never loads them
    from maildispatch.core.budget import Draw, Granted
    from maildispatch.core.campaign import BadRow, CampaignRecord, Checkpoint
    from maildispatch.core.message_status import MessageStatus
    from maildispatch.core.sender_check import DnsAnswer
    from maildispatch.core.sns_signature import SignatureCheck


class DeliveryLedger(Protocol):
    async def claim(
        self, message_key: str, recipients: Sequence[str], *, owner: str, lease_seconds: int
    ) -> list[Claim]: ...

    async def record(self, message_key: str, entries: Sequence[LedgerEntry]) -> None: ...

    async def mark_reported(self, message_key: str, recipients: Sequence[str]) -> None: ...

    async def release(self, message_key: str, recipients: Sequence[str], *, owner: str) -> None:
        """Forget claims this owner holds (SENDING) that reached no one: the key is not used up."""
        ...


class SuppressionList(Protocol):
    async def find(self, addresses: Sequence[str], *, scopes: Sequence[str] = ()) -> dict[str, Suppression]:
        """Entries for these addresses, keyed by lower-cased address: unscoped ones, and those scoped to any
        of `scopes`; a scoped entry wins over an unscoped one (it holds even where the unscoped list is ignored)."""
        ...

    async def add(self, entries: Sequence[Suppression]) -> None: ...

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        """Soft bounces within the window before `at`, this one included; counting the same event twice counts it once."""
        ...


class NoSuppressionList:
    """For deployments without a suppression table: nothing is ever suppressed."""

    async def find(self, addresses: Sequence[str], *, scopes: Sequence[str] = ()) -> dict[str, Suppression]:
        return {}

    async def add(self, entries: Sequence[Suppression]) -> None:
        return None

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        return 0


class RelayBudget(Protocol):
    """The relay's shared budget (core/budget.py): every invocation draws from it before it submits."""

    async def draw(self, count: int, *, now: float) -> Draw:
        """`count` recipients' worth of rate and quota, all or nothing; Refused says until when."""
        ...

    async def refund(self, granted: Granted, count: int, *, now: float) -> None:
        """Give back `count` recipients of a grant that were never sent (best effort)."""
        ...

    async def pause(self, until: float, *, now: float) -> None:
        """Refuse every draw until `until` (a later pause wins; an earlier one changes nothing)."""
        ...


class ReturnPathIndex(Protocol):
    async def remember(self, entries: Sequence[tuple[str, SentMessage]]) -> None: ...

    async def lookup(self, key: str) -> SentMessage | None: ...


class MailTransport(Protocol):
    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]: ...  # never raises


class MessageSigner(Protocol):
    """Signs the bytes about to be sent (DKIM): adapters/dkim_signer.py."""

    def signature_fields(self, message: bytes, *, from_domain: str) -> bytes | None:
        """Header fields (CRLF-ended) to put above `message` as it is, or None when no key signs mail
        from `from_domain` (an ASCII domain)."""
        ...


class DnsLookup(Protocol):
    """DNS as a stub resolver sees it (adapters/dns_resolver.py: `query`): never raises, says NXDOMAIN, NODATA,
    SERVFAIL or timeout as the answer's status."""

    async def query(self, name: str, rdtype: str) -> DnsAnswer: ...  # TXT, A, AAAA, MX, PTR (name: the IP)


class ContentStore(Protocol):
    """Stored templates and large attachments (S3 on AWS)."""

    async def template(self, key: str) -> TemplateSource: ...  # raises ContentMissing when there is no such template

    async def attachment(self, ref: S3Attachment, *, max_bytes: int) -> bytes:
        """The object's bytes. Raises ContentMissing (permanent: no such object, not allowed, outside the
        attachment prefix), ContentTooLarge (over `max_bytes`, found before it is downloaded) or
        ContentUnavailable (transient: throttling, a server error; try again later)."""
        ...


@dataclass(frozen=True)
class OutboxContent:
    """An object dropped in the outbox: its bytes, metadata and optional envelope sidecar."""

    data: bytes
    metadata: Mapping[str, str]  # the object's user metadata (x-amz-meta-*), names lower-cased
    sidecar: Mapping[str, Any] | None = None  # an .eml's <key>.envelope.json, when there is one


class Outbox(Protocol):
    """Objects producers put in the S3 outbox (a JSON send request or a ready .eml)."""

    async def read(self, obj: OutboxObject, *, max_bytes: int) -> OutboxContent:
        """Raises ContentMissing (no such object, outside the outbox), ContentTooLarge (over `max_bytes`, found
        before it is downloaded) or ContentUnavailable (transient)."""
        ...


class TemplateRenderer(Protocol):
    """Subject and bodies of a request; a template's failure, or its exceeding the render budget, is a RenderError."""

    async def render(self, request: SendRequest, template: TemplateSource | None) -> RenderedContent: ...


class InProcessRenderer:
    """Renders in this process, on the event loop, without a CPU or memory budget: for trusted
    templates, tests and benchmarks. Deployments render through a budgeted worker process."""

    async def render(self, request: SendRequest, template: TemplateSource | None) -> RenderedContent:
        return render_content(request, template)


class ContentMissing(LookupError):
    """A stored template or attachment the request names does not exist or may not be used: permanent for this request."""


class ContentTooLarge(ContentMissing):
    """An attachment larger than what is left of the message size limit: permanent for this request."""


class ContentUnavailable(Exception):
    """The content store failed in a way that may pass (throttling, a server error): retry the request later."""


class DeadLetters(Protocol):
    async def send(self, report: BounceReport) -> None: ...


class Requeue(Protocol):
    """Puts a fresh copy of a record on the send queue (for waits visibility cannot reach)."""

    async def send(self, body: str, *, delay_seconds: int, attributes: Mapping[str, str]) -> None: ...


class EventPublisher(Protocol):
    async def publish(self, entries: list[dict[str, Any]]) -> None: ...  # raises on failure


class NotificationVerifier(Protocol):
    """Checks the signature of an Amazon SNS envelope (adapters/sns_signature.py).

    Returns the verdict; raises only when the signing certificate cannot be fetched for a reason that
    may pass (the record is then retried, not distrusted).
    """

    async def verify(self, envelope: Mapping[str, Any]) -> SignatureCheck: ...


class MailStore(Protocol):
    """Where returned mail is stored as it arrived (S3, written by an SES receipt rule)."""

    async def read(self, bucket: str, key: str) -> bytes: ...


# --- The HTTP API's ports. Synchronous: the API function serves one request per invocation. ---------


class SubmissionQueue(Protocol):
    """The send queue, as the HTTP API writes to it."""

    def send(self, body: str) -> None:
        """Raises SubmissionFailed when the queue did not take the body (nothing was enqueued)."""
        ...


class SubmissionFailed(Exception):
    """The send queue refused or could not be reached: the request was not enqueued; it may be sent again."""


class MessageLedger(Protocol):
    """A message's per-recipient state (the delivery ledger), and the record of what the API accepted."""

    def status(self, message_key: str, named: Sequence[str] = ()) -> MessageStatus: ...

    def record_submission(self, message_key: str, recipients: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class PresignedUpload:
    """A URL that lets its holder PUT one object, with these headers, until `expires_at` (epoch seconds)."""

    url: str
    headers: Mapping[str, str]
    bucket: str
    key: str
    expires_at: float


class UploadSigner(Protocol):
    def presign_put(self, key: str, *, content_type: str, size: int, expires_in: int) -> PresignedUpload: ...


# --- Campaigns -------------------------------------------------------------------------------------


class CampaignStore(Protocol):
    """Campaigns, their checkpoints and per-recipient first-seen markers (DynamoDB CampaignTable)."""

    async def create(self, record: CampaignRecord) -> bool: ...  # False: a campaign with that id exists

    async def get(self, campaign_id: str) -> CampaignRecord | None: ...

    async def transition(
        self, campaign_id: str, action: str, *, now: float, reason: str | None = None
    ) -> CampaignRecord:
        """Moves the campaign by `action` (core.campaign.TRANSITIONS) with a conditional write.
        Raises TransitionRefused when its state does not allow it, LookupError when there is no such campaign."""
        ...

    async def save_checkpoint(self, campaign_id: str, checkpoint: Checkpoint, *, version: int) -> bool:
        """Stores the checkpoint if the campaign is still running at `version`; False when it is not
        (paused, cancelled, or another fan-out moved it on): the caller stops."""
        ...

    async def first_seen(self, campaign_id: str, rows: Sequence[tuple[str, int]]) -> list[bool]:
        """For (recipient hash, row number) pairs: True when this row is the first with the address, or
        is that same row read again (a resumed fan-out); False for a later row with the same address."""
        ...

    async def report_bad_rows(self, campaign_id: str, rows: Sequence[BadRow]) -> None: ...

    async def bad_rows(self, campaign_id: str, *, limit: int = 1000) -> list[BadRow]: ...

    async def count_outcomes(
        self,
        campaign_id: str,
        *,
        attempted: int,
        bounced: int,
        complained: int = 0,
        final: int = 0,
        unsubscribed: int = 0,
    ) -> CampaignRecord | None:
        """Adds to the counters (health; `final`, a cheap hint of progress; `unsubscribed`, for its status);
        the record after the addition (None: no such campaign)."""
        ...


class RecipientListReader(Protocol):
    async def read(self, bucket: str, key: str, *, start: int, length: int) -> bytes:
        """Up to `length` bytes of the object from `start` (b"" past its end). Raises ContentMissing
        (no such object, not allowed) or ContentUnavailable (transient)."""
        ...


class SendBatches(Protocol):
    async def send(self, entries: Sequence[tuple[str, str]]) -> list[str]:
        """SendMessageBatch of up to 10 (id, body) entries; the ids that failed (empty: all confirmed)."""
        ...


class FanoutTrigger(Protocol):
    async def run_fanout(self, campaign_id: str, *, delay_seconds: int = 0, progress: int | None = None) -> None:
        """Asks a fan-out to run (a message on the fan-out queue), at most 900 s from now; `progress` is the
        campaign's `final` counter when the run that asks saw it (the next run counts the ledger only when
        it did not move)."""
        ...


class CampaignSchedules(Protocol):
    async def schedule_start(self, campaign_id: str, *, at: float) -> None:
        """Starts the campaign's fan-out at `at` (EventBridge Scheduler, one-time schedule)."""
        ...


class LedgerCounts(Protocol):
    async def by_state(self, campaign_id: str) -> dict[str, int]:
        """The campaign's recipients by ledger state; an uncertain recipient with a retry due counts
        as 'uncertain_retry', one the policy will not send again as 'uncertain'."""
        ...
