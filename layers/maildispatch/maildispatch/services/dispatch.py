"""The dispatch service: one SQS record in, per-recipient outcomes out.

parse -> claim recipients in the ledger -> skip suppressed addresses -> render and build
MIME -> DKIM-sign (when configured) -> submit -> decide per recipient -> record -> report the undeliverable (and delay
warnings) to the dead-letter queue -> decide how the record waits for what is still due.
Every collaborator is behind a small interface, so this runs the same against AWS and the
relay, against moto and aiosmtpd, or against in-memory fakes in benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from maildispatch.core.budget import refused_wait
from maildispatch.core.campaign_keys import campaign_of_key
from maildispatch.core.decisions import RetryPolicy, WaitRequeued, decide, failed_recipient, plan_wait
from maildispatch.core.delivered_event import delivered_event_detail, delivered_event_entry, in_batches
from maildispatch.core.ledger import FINAL_STATES, NEVER, Claim, LedgerEntry, RecipientState
from maildispatch.core.mime import AttachmentData, BuiltMessage, build_message, message_id_for
from maildispatch.core.outcome import Bounced, Deferred, Envelope, Outcome, Reply, local_reply
from maildispatch.core.producer_envelope import Direct, Ignored, OutboxObject, eml_request, unwrap
from maildispatch.core.relay_quota import QuotaKind, RelayQuota, pause_seconds, relay_quota
from maildispatch.core.render import RenderError
from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason
from maildispatch.core.request import (
    Address,
    InvalidRequest,
    S3Attachment,
    SendRequest,
    StoredTemplateRef,
    ascii_domain,
    parse_send_request,
    salvage_envelope,
)
from maildispatch.core.retry import DEFAULT_STREAM, RetrySchedule
from maildispatch.core.return_paths import SentMessage, message_id_key, verp_key
from maildispatch.core.signing import REQUEUE_SIGNATURE_ATTRIBUTE, sign_requeue, verified_requeue
from maildispatch.core.sqs_record import RecordResult, SqsRecord
from maildispatch.core.suppression import suppressed_recipient
from maildispatch.core.tally import Tally
from maildispatch.core.unsubscribe import list_scope, with_unsubscribe
from maildispatch.core.verp import return_path, verp_id
from maildispatch.ports import (
    CampaignStore,
    ContentMissing,
    ContentStore,
    ContentTooLarge,
    ContentUnavailable,
    DeadLetters,
    DeliveryLedger,
    EventPublisher,
    InProcessRenderer,
    MailTransport,
    MessageSigner,
    NoSuppressionList,
    Outbox,
    Requeue,
    ReturnPathIndex,
    SuppressionList,
    TemplateRenderer,
)
from maildispatch.services.pacing import RelayPacer

if TYPE_CHECKING:  # the campaign model loads with the first campaign record, not at cold start
    from maildispatch.core.campaign import CampaignRecord

log = logging.getLogger("maildispatch.dispatch")

SUMMARY_REPLIES = 20  # distinct failure replies an invocation's summary line names, at most
MAX_REQUEST_OBJECT_BYTES = 2 * 1024 * 1024  # a JSON send request in the outbox (bodies are at most 1 MiB)
POISON_BODY_LIMIT = 64 * 1024  # how much of an unparseable body travels with its report
STATUS_CONTENT_ERROR = "5.6.0"  # RFC 3463: other or undefined media error
STATUS_TOO_BIG = "5.3.4"  # RFC 3463: message too big for system
STATUS_CONTENT_UNAVAILABLE = "4.3.0"  # RFC 3463: other mail system status, transient (S3 throttled or failing)
STATUS_NOT_SIGNED = "5.7.0"  # RFC 3463: other security status (DKIM_STRICT, and no key for the From domain)

# SQS message attributes that carry a message's identity when its record is re-enqueued. Only
# our own re-enqueue path sets them: they count only with its signature (REQUEUE_SIGNATURE_ATTRIBUTE,
# over the body, the key and the arrival); a producer's are ignored, counted and logged.
ATTRIBUTE_MESSAGE_KEY = "maildispatch-message-key"
ATTRIBUTE_ARRIVAL = "maildispatch-arrival"  # epoch seconds of the first enqueue


@dataclass(frozen=True)
class DispatchPolicy:
    """How the dispatch service decides: reporting MTA, retry schedules, limits and options."""

    reporting_mta: str
    retry: RetrySchedule = RetrySchedule()  # the default stream's schedule
    streams: Mapping[str, RetrySchedule] = field(default_factory=dict)  # more named streams
    uncertain_retries: int = 1
    delay_warning_after: float | None = None
    default_envelope_sender: str | None = None
    max_message_bytes: int = 10 * 1024 * 1024
    lease_seconds: int = 300
    queue_retention_seconds: float = 4 * 86400
    requeue_after_receives: int = 5
    verp: VerpPolicy | None = None  # per-recipient signed return paths, so returned mail maps back
    signing_key: bytes | None = field(default=None, repr=False)  # signs re-enqueue attributes; None: never trusted
    delivered_events: bool = False  # publish an "Email Delivered" event per delivered recipient (needs a publisher)
    event_bus_name: str = "default"
    unsubscribe: UnsubscribePolicy | None = None  # one-click unsubscribe for campaign mail (RFC 8058)
    quota_pause_seconds: float = 3600.0  # after a daily-quota reply the relay pauses this long (RELAY_QUOTA_PAUSE)
    rate_pause_seconds: float = 60.0  # after a rate reply (RELAY_RATE_PAUSE)
    dkim_strict: bool = False  # with a signer: refuse (report) a request whose From domain has no DKIM key
    campaign_pause_wait_seconds: int = 60  # how long a paused campaign's record waits before it asks again

    def retry_policy(self, stream: str | None) -> RetryPolicy | None:
        schedule = self.retry if stream in (None, DEFAULT_STREAM) else self.streams.get(stream)
        return RetryPolicy(schedule, self.uncertain_retries, self.delay_warning_after) if schedule else None


@dataclass(frozen=True)
class VerpPolicy:
    """VERP return paths: the bounce domain and the key that signs the tokens."""

    domain: str  # the bounce domain: bounces+<token>@<domain> receives the returned mail
    secret: bytes = field(repr=False)  # the HMAC key that signs the tokens: never in a repr or a log


@dataclass(frozen=True)
class UnsubscribePolicy:
    """One-click unsubscribe (RFC 8058) for campaign mail: token key and where the link points."""

    secret: bytes = field(repr=False)  # signs the tokens (UNSUBSCRIBE_SECRET): never in a repr or a log
    base_url: str | None = None  # https://... where the HTTP API serves /u/<token> (UNSUBSCRIBE_BASE_URL)
    mailto: str | None = None  # an address for mailto unsubscribes (UNSUBSCRIBE_MAILTO), if any


class DispatchTally(Tally):
    """Recipient counts of one invocation, for metrics and logs."""


class _Attempt:
    """What one pass over a record decided, before it is written anywhere (one per record: a plain class)."""

    __slots__ = ("built", "entries", "error", "failed", "pending", "quota", "released", "submitted", "wake_at")

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []
        self.failed: list[tuple[str, FailedRecipient]] = []  # (reason, recipient) to report
        self.wake_at: list[float] = []  # when recipients of this record are due again
        self.built: BuiltMessage | None = None
        self.error: str | None = None  # for content failures
        self.released: list[str] = []  # claimed, but the request failed before reaching them
        self.submitted = 0  # recipients the relay took a decision on (budget spent)
        self.quota: list[tuple[Claim, Reply, RelayQuota]] = []  # refused for the relay's quota
        self.pending: list[str] = []  # first claims a quota reply undid: back to no row (queued)


class DispatchService:
    def __init__(
        self,
        transport: MailTransport,
        ledger: DeliveryLedger,
        content: ContentStore,
        dead_letters: DeadLetters,
        policy: DispatchPolicy,
        *,
        suppressions: SuppressionList | None = None,
        requeue: Requeue | None = None,
        return_paths: ReturnPathIndex | None = None,
        renderer: TemplateRenderer | None = None,
        outbox: Outbox | None = None,
        publisher: EventPublisher | None = None,
        pacer: RelayPacer | None = None,
        signer: MessageSigner | None = None,
        campaigns: CampaignStore | None = None,
        campaign_events: EventPublisher | None = None,
        invocation_id: str = "local",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transport = transport
        self._ledger = ledger
        self._content = content
        self._dead_letters = dead_letters
        self._policy = policy
        self._suppressions = suppressions or NoSuppressionList()
        self._requeue = requeue
        self._return_paths = return_paths
        self._outbox = outbox
        self._pacer = pacer
        self._signer = signer  # None: DKIM is not configured, nothing is signed and nothing counted
        self._unsigned_domains: set[str | None] = set()  # warned about in this invocation
        self._publisher = publisher if policy.delivered_events else None
        self._campaigns = campaigns
        self._campaign_events = campaign_events
        # A campaign's state, read once per invocation: pause and cancel reach the next invocation's claims.
        self._campaign_states: dict[str, asyncio.Task[CampaignRecord | None]] = {}
        self._campaign_counts: dict[str, Counter[str]] = {}
        # Untrusted templates need a budgeted renderer (adapters/render_worker.py); in process for tests.
        self._renderer = renderer or InProcessRenderer()
        if policy.verp is not None and return_paths is None:
            raise ValueError("VERP return paths need a return-path index to map returned mail back")
        self._invocation_id = invocation_id
        self._clock = clock
        self._message_locks: dict[str, asyncio.Lock] = {}
        self._retry_policies: dict[str | None, RetryPolicy | None] = {}
        self.tally = DispatchTally()
        # The invocation's summary line (`summary()`): outcomes by state@domain, distinct failure replies.
        self._outcomes: Counter[str] = Counter()
        self._replies: set[str] = set()

    async def process(self, record: SqsRecord) -> RecordResult:
        attributes = record.message_attributes or {}
        body = record.body  # the request's own text, once unwrapped (for a report that salvages its envelope)
        try:
            carried = unwrap(record.body)
            if isinstance(carried, Ignored):
                self.tally.add("ignored_events")
                log.info("nothing to send", extra={"sqs_message_id": record.message_id, "why": carried.why})
                return RecordResult.finished(record.message_id)
            if isinstance(carried, OutboxObject):
                request = await self._outbox_request(carried)
            else:
                body = carried.body
                request = parse_send_request(body, decoded=carried.document if isinstance(carried, Direct) else None)
            retry = self._retry_policy(request.stream)
            if retry is None:
                known = ", ".join(sorted({DEFAULT_STREAM, *self._policy.streams}))
                raise InvalidRequest("stream", f"unknown stream {request.stream!r}; this deployment has: {known}")
        except ContentUnavailable as error:  # the outbox could not be read now: the record shows again
            log.warning("outbox object unavailable", extra={"sqs_message_id": record.message_id, "error": str(error)})
            return RecordResult.retry(record.message_id, visible_after=None)
        except InvalidRequest as error:
            await self._report_poison(record, error, body)
            return RecordResult.finished(record.message_id)

        # The producer's own delivery id (event id, SNS MessageId, S3 object version) keys a request
        # that names no key, so the producer's retries and duplicate deliveries send once.
        message_key = request.message_key or carried.default_key or f"sqs-{record.message_id}"
        arrival = record.sent_at.timestamp()
        requeued = self._requeued_identity(record, attributes)
        if requeued is not None:
            message_key, arrival = requeued
        self.tally.add(f"from_{carried.producer}")
        campaign_id = campaign_of_key(message_key)
        if campaign_id is not None and self._campaigns is not None:
            held = await self._campaign_gate(record, campaign_id, message_key, arrival)
            if held is not None:
                return held
        # Duplicates of one message in the same batch wait for each other here instead of
        # finding the ledger claim taken and waiting out its lease on the queue.
        async with self._message_locks.setdefault(message_key, asyncio.Lock()):
            return await self._process_request(record, request, message_key, arrival, retry)

    async def _campaign_gate(
        self, record: SqsRecord, campaign_id: str, message_key: str, arrival: float
    ) -> RecordResult | None:
        """Before any claim: a paused (or not yet started) campaign's record waits, a cancelled or
        expired one's is dropped unsent (the campaign's status counts it as not sent); None: go on."""
        assert self._campaigns is not None
        if campaign_id not in self._campaign_states:
            self._campaign_states[campaign_id] = asyncio.ensure_future(self._campaigns.get(campaign_id))
        campaign = await self._campaign_states[campaign_id]
        if campaign is None:
            return None  # not a campaign we know (a producer's own key in our format): an ordinary request
        action = campaign.dispatch_action(self._clock())
        if action == "drop":
            self.tally.add("campaign_dropped")
            return RecordResult.finished(record.message_id)
        if action == "hold":
            self.tally.add("campaign_held")
            return await self._wait(record, message_key, arrival, self._policy.campaign_pause_wait_seconds)
        return None

    def _count_campaign(self, campaign_id: str, entries: Sequence[LedgerEntry]) -> None:
        """Health and progress counters, added up over the invocation (`flush_campaign_counts`): one write
        per campaign and invocation to the campaign's item, not one per request."""
        counts = self._campaign_counts.setdefault(campaign_id, Counter())
        for e in entries:
            if e.state in FINAL_STATES or (e.state is RecipientState.UNCERTAIN and (e.next_attempt_at or 0) >= NEVER):
                counts["final"] += 1
            if e.state in (RecipientState.DELIVERED, RecipientState.BOUNCED):
                counts["attempted"] += 1
            if e.state is RecipientState.BOUNCED:
                counts["bounced"] += 1

    async def flush_campaign_counts(self) -> None:
        """Writes the invocation's campaign counters; a campaign whose health breaks a limit pauses itself.
        Counters are hints (health, and when to count the ledger): one lost with a killed invocation is
        harmless; the ledger stays the record."""
        if self._campaigns is None:
            return
        pending, self._campaign_counts = self._campaign_counts, {}
        if not pending:
            return
        from maildispatch.services.campaign_health import count_and_check  # campaign mail only

        for campaign_id, counts in pending.items():
            if not counts["final"]:
                continue
            try:
                paused = await count_and_check(
                    self._campaigns,
                    self._campaign_events,
                    campaign_id,
                    attempted=counts["attempted"],
                    bounced=counts["bounced"],
                    final=counts["final"],
                    now=self._clock(),
                    event_bus_name=self._policy.event_bus_name,
                )
            except Exception as error:  # the mail is recorded; only the hint is lost
                self.tally.add("campaign_count_failed")
                log.warning("campaign counters not updated", extra={"campaign": campaign_id, "error": str(error)})
                continue
            if paused is not None:
                self.tally.add("campaigns_auto_paused")

    async def _outbox_request(self, obj: OutboxObject) -> SendRequest:
        """The send request an outbox object holds; InvalidRequest (naming the field) when it holds none."""
        if self._outbox is None:
            raise InvalidRequest("Records[0].s3", f"{obj.where}: this deployment has no S3 outbox")
        limit = self._policy.max_message_bytes if obj.is_eml else MAX_REQUEST_OBJECT_BYTES
        if obj.size is not None and obj.size > limit:
            raise InvalidRequest(
                "Records[0].s3.object.size", f"{obj.where} is {obj.size} bytes, over the {limit} limit"
            )
        try:
            content = await self._outbox.read(obj, max_bytes=limit)
        except ContentTooLarge as error:
            raise InvalidRequest("Records[0].s3.object.size", str(error)) from None
        except ContentMissing as error:
            raise InvalidRequest("Records[0].s3.object.key", str(error)) from None
        if obj.is_eml:
            return eml_request(content.data, content.metadata, content.sidecar, where=obj.where)
        try:
            return parse_send_request(content.data)
        except InvalidRequest as error:
            raise InvalidRequest(error.field, f"{obj.where}: {error.message}") from None

    def _retry_policy(self, stream: str | None) -> RetryPolicy | None:
        """The policy's retry policy for a stream, made once per stream and invocation rather than per record."""
        if stream not in self._retry_policies:
            self._retry_policies[stream] = self._policy.retry_policy(stream)
        return self._retry_policies[stream]

    def _requeued_identity(self, record: SqsRecord, attributes: Mapping[str, str]) -> tuple[str, float] | None:
        """The message key and arrival our re-enqueue path gave this record, if it verifiably did."""
        if not attributes:  # most records carry none
            return None
        names = (ATTRIBUTE_MESSAGE_KEY, ATTRIBUTE_ARRIVAL, REQUEUE_SIGNATURE_ATTRIBUTE)
        if not any(name in attributes for name in names):
            return None
        identity = verified_requeue(
            self._policy.signing_key,
            record.body,
            attributes.get(ATTRIBUTE_MESSAGE_KEY),
            attributes.get(ATTRIBUTE_ARRIVAL),
            attributes.get(REQUEUE_SIGNATURE_ATTRIBUTE),
        )
        if identity is None:
            self.tally.add("untrusted_attributes")
            log.warning(
                "re-enqueue attributes without a valid signature ignored: the record's own key and SentTimestamp count",
                extra={"sqs_message_id": record.message_id, "attributes": sorted(n for n in names if n in attributes)},
            )
        return identity

    async def _process_request(
        self, record: SqsRecord, request: SendRequest, message_key: str, arrival: float, retry: RetryPolicy
    ) -> RecordResult:
        by_address = {a.address: a for a in request.recipients}
        if self._pacer is not None:  # the relay's shared budget first: a refused record touches nothing
            wait = await self._pacer.acquire(len(by_address))
            if wait is not None:
                self.tally.add("budget_waits")
                spread = (zlib.crc32(record.message_id.encode()) % 1000) / 1000  # the batch's records spread out
                return await self._wait(
                    record, message_key, arrival, refused_wait(wait, record.receive_count, spread=spread)
                )
        attempt = _Attempt()
        try:
            return await self._claimed_request(record, request, message_key, arrival, retry, by_address, attempt)
        finally:
            if self._pacer is not None:
                self._pacer.give_back(len(by_address) - attempt.submitted)

    async def _claimed_request(
        self,
        record: SqsRecord,
        request: SendRequest,
        message_key: str,
        arrival: float,
        retry: RetryPolicy,
        by_address: Mapping[str, Address],
        attempt: _Attempt,
    ) -> RecordResult:
        owner = f"{self._invocation_id}/{record.message_id}"
        claims = await self._ledger.claim(
            message_key, list(by_address), owner=owner, lease_seconds=self._policy.lease_seconds
        )
        granted: list[Claim] = []
        used_up: list[Claim] = []
        for claim in claims:
            if claim.granted:
                granted.append(claim)
            elif claim.state is RecipientState.SENDING and claim.lease_expires_at:
                attempt.wake_at.append(claim.lease_expires_at)  # a live invocation holds it (a duplicate in flight)
            elif claim.next_attempt_at is not None and claim.next_attempt_at < 1e11:
                attempt.wake_at.append(claim.next_attempt_at)  # deferred, not due yet
            elif claim.state in FINAL_STATES and not claim.reported:
                attempt.failed.append(_unreported(claim))  # an attempt died between recording and reporting
            else:
                self.tally.add("skipped_duplicate")
                used_up.append(claim)

        granted = self._after_takeover(granted, retry, attempt)
        to_send = await self._skip_suppressed(granted, request, attempt)
        if to_send:
            await self._send(record, request, message_key, arrival, retry, to_send, by_address, attempt)

        campaign_id = campaign_of_key(message_key) if self._campaigns is not None else None
        if attempt.entries:
            await self._ledger.record(message_key, attempt.entries)
            self._log_attempt(message_key, record, attempt.entries)
            if self._publisher is not None:
                await self._publish_delivered(request, message_key, attempt)
            if campaign_id is not None:
                self._count_campaign(campaign_id, attempt.entries)
        if attempt.released:  # failed before reaching anyone: the key is not used up, a fixed request may send
            await self._ledger.release(message_key, attempt.released, owner=owner)
        if attempt.pending:  # the relay's quota refused them: no attempt, they are queued as before
            await self._ledger.release(message_key, attempt.pending, owner=owner)
        reports = self._reports(attempt, request, message_key, record, arrival)
        if used_up and not granted and not attempt.failed and not attempt.wake_at:
            if campaign_id is not None:  # a resumed fan-out's batch enqueued again: expected, not news
                self.tally.add("campaign_repeat")
            else:
                reports.append(self._key_reused(used_up, request, message_key, record, arrival))
        for report in reports:
            await self._dead_letters.send(report)
        needs_marking = [
            f.address
            for reason, f in attempt.failed
            if reason != ReportReason.DELAYED and f.address not in attempt.released
        ]
        if needs_marking:
            await self._ledger.mark_reported(message_key, needs_marking)

        if not attempt.wake_at:
            return RecordResult.finished(record.message_id)
        return await self._wait(record, message_key, arrival, min(attempt.wake_at) - self._clock())

    # -- steps ---------------------------------------------------------------------------

    def _after_takeover(self, granted: list[Claim], retry: RetryPolicy, attempt: _Attempt) -> list[Claim]:
        """A claim taken over an expired lease follows an attempt that died at an unknown point,
        perhaps after the relay took the message: that attempt counts as uncertain, and the
        uncertain policy decides whether to send again (with the same Message-ID)."""
        still = []
        for claim in granted:
            if not claim.took_over:
                still.append(claim)
            elif claim.uncertain + 1 > retry.uncertain_retries:
                reply = local_reply("4.4.2", "an earlier attempt ended at an unknown point (its invocation died)")
                attempt.entries.append(
                    LedgerEntry(claim.recipient, RecipientState.UNCERTAIN, reply, next_attempt_at=NEVER)
                )
                self.tally.add("uncertain")
            else:
                still.append(replace(claim, uncertain=claim.uncertain + 1))
        return still

    async def _skip_suppressed(self, granted: list[Claim], request: SendRequest, attempt: _Attempt) -> list[Claim]:
        """Addresses on the suppression list are not sent to. Campaign mail also honours unsubscribes from its
        list, and those hold even with ignore_suppression (which overrides only the unscoped list)."""
        scopes = (list_scope(request.campaign.list_id),) if request.campaign is not None else ()
        if not granted or (request.ignore_suppression and not scopes):
            return granted
        addresses = [c.recipient for c in granted]
        if scopes:
            found = await self._suppressions.find(addresses, scopes=scopes)
        else:
            found = await self._suppressions.find(addresses)
        to_send = []
        for claim in granted:
            entry = found.get(claim.recipient.strip().lower())
            if entry is not None and request.ignore_suppression and entry.scope is None:
                entry = None
            if entry is None:
                to_send.append(claim)
                continue
            attempt.entries.append(
                LedgerEntry(
                    claim.recipient, RecipientState.SUPPRESSED, local_reply("5.0.0", entry.summary), reported=False
                )
            )
            attempt.failed.append((ReportReason.SUPPRESSED, suppressed_recipient(claim.recipient, entry)))
            self.tally.add("suppressed")
        return to_send

    async def _send(
        self,
        record: SqsRecord,
        request: SendRequest,
        message_key: str,
        arrival: float,
        retry: RetryPolicy,
        claims: list[Claim],
        by_address: Mapping[str, Address],
        attempt: _Attempt,
    ) -> None:
        built, failure = await self._build(self._with_unsubscribe(request), message_key, record)
        attempt.built = built
        outcomes: list[Outcome]
        if failure is not None and failure[0].startswith("4"):  # the content store may recover: retry later
            log.warning("content unavailable", extra={"message_key": message_key, "error": failure[1]})
            reply = local_reply(failure[0], failure[1])
            outcomes = [Deferred(c.recipient, reply) for c in claims]
        elif failure is not None:
            for claim in claims:  # reported, but not recorded: the claim is released, the key stays usable
                attempt.released.append(claim.recipient)
                attempt.failed.append((ReportReason.RENDER_FAILED, FailedRecipient(claim.recipient, failure[0])))
            attempt.error = failure[1]
            self.tally.add("rejected_input", len(claims))
            log.warning("request cannot be rendered", extra={"message_key": message_key, "error": failure[1]})
            return
        else:
            assert built is not None
            outcomes = await self._submit(request, message_key, built, [c.recipient for c in claims], by_address)
            attempt.submitted = len(claims)
        now = self._clock()
        for claim, outcome in zip(claims, outcomes, strict=False):
            quota = relay_quota(outcome.reply) if isinstance(outcome, (Deferred, Bounced)) else None
            if quota is not None:  # about the relay, not the recipient: decided below, never bounced
                attempt.quota.append((claim, outcome.reply, quota))
                continue
            decision = decide(claim, outcome, retry, age_seconds=now - arrival, now=now, jitter_key=message_key)
            entry = decision.entry
            if claim.took_over:  # record the earlier attempt of unknown outcome as uncertain
                entry = replace(entry, uncertain_attempts=1)
                self.tally.add("uncertain_retried")
            attempt.entries.append(entry)
            self.tally.add(decision.tally)
            if decision.report:
                attempt.failed.append(decision.report)
            if decision.due_at is not None:
                attempt.wake_at.append(decision.due_at)
        if attempt.quota:
            await self._relay_quota(message_key, attempt, now)

    def _with_unsubscribe(self, request: SendRequest) -> SendRequest:
        """Campaign mail with its recipient's one-click unsubscribe: List-Unsubscribe, List-Unsubscribe-Post
        (these replace any the producer gave) and, for templates, the variable unsubscribe_url."""
        unsubscribe = self._policy.unsubscribe
        if request.campaign is None:
            return request
        if unsubscribe is None or not (unsubscribe.base_url or unsubscribe.mailto):
            self.tally.add("campaign_without_unsubscribe")
            return request
        return with_unsubscribe(request, unsubscribe.secret, unsubscribe.base_url, unsubscribe.mailto)

    async def _relay_quota(self, message_key: str, attempt: _Attempt, now: float) -> None:
        """Recipients the relay refused for its own quota or rate: not an attempt, not a bounce. The first
        claim of a recipient is undone (no row: queued); a later one goes back to deferred with its attempt
        taken back. The relay's budget is paused for everyone until the window allows; the record waits."""
        policy = self._policy
        longest = max(
            (q for _, _, q in attempt.quota),
            key=lambda q: pause_seconds(q, daily=policy.quota_pause_seconds, rate=policy.rate_pause_seconds),
        )
        until = now + pause_seconds(longest, daily=policy.quota_pause_seconds, rate=policy.rate_pause_seconds)
        for claim, reply, quota in attempt.quota:
            if claim.attempts <= 1 and not claim.took_over:
                attempt.pending.append(claim.recipient)
            else:
                attempt.entries.append(
                    LedgerEntry(
                        claim.recipient,
                        RecipientState.DEFERRED,
                        reply,
                        next_attempt_at=until,
                        uncertain_attempts=1 if claim.took_over else 0,
                        counts_as_attempt=False,
                    )
                )
            self.tally.add("relay_quota")
            self.tally.add(f"relay_quota_{quota.kind}")
        attempt.submitted -= len(attempt.quota)
        attempt.wake_at.append(until)
        if longest.kind is not QuotaKind.RECIPIENTS and self._pacer is not None:
            await self._pacer.pause(until)
        log.warning(
            "relay quota reply: recipients stay queued, the relay's budget pauses",
            extra={
                "message_key": message_key,
                "recipients": len(attempt.quota),
                "kind": longest.kind.value,
                "rule": longest.rule,
                "reply": _redact(attempt.quota[0][1].diagnostic[:200]),
                "paused_for": round(until - now, 1),
            },
        )

    async def _submit(
        self,
        request: SendRequest,
        message_key: str,
        built: BuiltMessage,
        recipients: list[str],
        by_address: Mapping[str, Address],
    ) -> list[Outcome]:
        """One SMTP transaction for the message, or with VERP one per recipient, each with its own return path."""
        verp = self._policy.verp
        if verp is None or request.return_path is not None:  # a producer's own return path wins
            return await self._deliver_split_by_smtputf8(
                self._envelope_sender(request), [by_address[r].envelope for r in recipients], built
            )
        assert self._return_paths is not None

        def envelope_address(recipient: str) -> str:
            return by_address[recipient].envelope

        report_to = self._envelope_sender(request)

        def sent(r: str | None) -> SentMessage:
            return SentMessage(message_key, r, report_to, request.from_.address, request.subject, built.message_id)

        # The Message-ID is seen by every recipient: an entry found by it proves only that this message
        # went to these addresses (every recipient of the request, the same on every attempt).
        sent_to = tuple(sorted({a.lower() for a in by_address}))
        await self._return_paths.remember(
            [(verp_key(verp_id(message_key, r)), sent(r)) for r in recipients]
            + [(message_id_key(built.message_id), replace(sent(None), sent_to=sent_to))]
        )
        per_recipient = await asyncio.gather(
            *(
                self._transport.deliver(
                    Envelope(
                        return_path(message_key, r, secret=verp.secret, domain=verp.domain),
                        (envelope_address(r),),
                        built.requires_smtputf8,
                    ),
                    built.data,
                )
                for r in recipients
            )
        )
        return [outcomes[0] for outcomes in per_recipient]

    async def _deliver_split_by_smtputf8(self, sender: str, addresses: list[str], built: BuiltMessage) -> list[Outcome]:
        """SMTPUTF8 is decided per envelope: when only some recipients (a UTF-8 Bcc) need it, the ASCII
        ones go in a transaction of their own, so a relay without SMTPUTF8 still takes theirs."""
        utf8 = [i for i, a in enumerate(addresses) if not a.isascii()]
        # One transaction when everyone needs SMTPUTF8 (UTF-8 headers or return path) or no one does.
        if built.requires_smtputf8 or not sender.isascii() or not utf8 or len(utf8) == len(addresses):
            return await self._transport.deliver(
                Envelope(sender, tuple(addresses), built.requires_smtputf8), built.data
            )
        ascii_ = [i for i in range(len(addresses)) if i not in set(utf8)]
        groups = (ascii_, utf8)
        results = await asyncio.gather(
            *(
                self._transport.deliver(
                    Envelope(sender, tuple(addresses[i] for i in group), built.requires_smtputf8), built.data
                )
                for group in groups
            )
        )
        outcomes: dict[int, Outcome] = {}
        for group, group_outcomes in zip(groups, results, strict=True):
            outcomes.update(zip(group, group_outcomes, strict=False))
        return [outcomes[i] for i in range(len(addresses))]

    async def _build(
        self, request: SendRequest, message_key: str, record: SqsRecord
    ) -> tuple[BuiltMessage | None, tuple[str, str] | None]:
        """The message, or (status, error) when the request cannot make one: permanent for this request."""
        if request.raw_message is not None:
            built, refused = self._signed(request, _ready_message(request, request.raw_message, message_key))
            if refused is not None:
                return built, refused
            if len(built.data) > self._policy.max_message_bytes:
                return built, (STATUS_TOO_BIG, f"the message is {len(built.data)} bytes, over the size limit")
            return built, None
        try:
            template = (
                await self._content.template(request.template.key)
                if isinstance(request.template, StoredTemplateRef)
                else None
            )
            content = await self._renderer.render(request, template)
            # Base64 makes 3 bytes 4: what an attachment may weigh before it is fetched.
            attachments = []
            if request.attachments:  # most requests have none
                budget = self._policy.max_message_bytes * 3 // 4
                budget -= sum(len(a.content) for a in request.attachments if not isinstance(a, S3Attachment))
                for a in request.attachments:
                    if isinstance(a, S3Attachment):
                        data = await self._content.attachment(a, max_bytes=budget)
                        budget -= len(data)
                    else:
                        data = a.content
                    attachments.append(AttachmentData(a.filename, a.content_type, data))
        except ContentTooLarge as error:
            return None, (STATUS_TOO_BIG, str(error))
        except ContentUnavailable as error:
            return None, (STATUS_CONTENT_UNAVAILABLE, str(error))
        except (RenderError, ContentMissing) as error:
            return None, (STATUS_CONTENT_ERROR, str(error))
        built, refused = self._signed(
            request,
            build_message(
                request,
                content,
                attachments,
                message_id=message_id_for(message_key, request.from_.domain),
                date=record.sent_at,
            ),
        )
        if refused is not None:
            return built, refused
        if len(built.data) > self._policy.max_message_bytes:
            size_mb, limit_mb = len(built.data) / 1e6, self._policy.max_message_bytes / 1e6
            return built, (STATUS_TOO_BIG, f"the message is {size_mb:.1f} MB, over the {limit_mb:.1f} MB limit")
        return built, None

    def _signed(self, request: SendRequest, built: BuiltMessage) -> tuple[BuiltMessage, tuple[str, str] | None]:
        """The message with its DKIM-Signature fields on top: the bytes signed are the bytes sent. Without a
        key for the From domain: as it is (counted, warned once per domain and invocation), or refused
        when DKIM_STRICT is set."""
        if self._signer is None:
            return built, None
        domain = _from_domain(request, built)
        fields = self._signer.signature_fields(built.data, from_domain=domain) if domain else None
        if fields is not None:
            self.tally.add("dkim_signed")
            header_block = fields.decode("ascii") + built.header_block
            return replace(built, data=fields + built.data, header_block=header_block), None
        if self._policy.dkim_strict:
            self.tally.add("unsigned_refused")
            return built, (
                STATUS_NOT_SIGNED,
                f"not sent: no DKIM key for the From domain {domain or '(none)'} and DKIM_STRICT is set "
                "(add the domain to DKIM_KEYS, or send from a domain that has a key)",
            )
        self.tally.add("unsigned_messages")
        if domain not in self._unsigned_domains:
            self._unsigned_domains.add(domain)
            log.warning(
                "sent without a DKIM signature: no key for the From domain", extra={"domain": domain or "(none)"}
            )
        return built, None

    async def _publish_delivered(self, request: SendRequest, message_key: str, attempt: _Attempt) -> None:
        """An "Email Delivered" event per recipient just recorded as delivered, 10 per PutEvents call.

        Only after the ledger holds the delivery; a failure is logged and counted, never retried by
        sending again (the mail went out)."""
        if self._publisher is None:
            return
        delivered = [e for e in attempt.entries if e.state is RecipientState.DELIVERED]
        if not delivered:
            return
        now = _datetime(self._clock())
        message_id = attempt.built.message_id if attempt.built is not None else None
        entries = [
            delivered_event_entry(
                delivered_event_detail(
                    message_key=message_key,
                    message_id=message_id,
                    recipient=e.recipient,
                    reply=e.reply,
                    delivered_at=now,
                    tags=request.tags,
                ),
                event_bus_name=self._policy.event_bus_name,
            )
            for e in delivered
        ]
        for batch in in_batches(entries):
            try:
                await self._publisher.publish(batch)
            except Exception as error:  # the publisher is an adapter; the mail went out regardless
                self.tally.add("delivered_events_failed", len(batch))
                log.warning(
                    "Email Delivered events not published",
                    extra={"message_key": message_key, "events": len(batch), "error": str(error)},
                )
            else:
                self.tally.add("delivered_events", len(batch))

    def _envelope_sender(self, request: SendRequest) -> str:
        if request.return_path is not None:
            return request.return_path.envelope
        return self._policy.default_envelope_sender or request.from_.envelope

    async def _wait(self, record: SqsRecord, message_key: str, arrival: float, seconds: float) -> RecordResult:
        plan = plan_wait(
            seconds,
            receive_count=record.receive_count,
            enqueued_age_seconds=self._clock() - record.sent_at.timestamp(),
            retention_seconds=self._policy.queue_retention_seconds,
            requeue_after_receives=self._policy.requeue_after_receives,
        )
        if isinstance(plan, WaitRequeued) and self._requeue is not None:
            stamp = f"{arrival:.3f}"
            attributes = {ATTRIBUTE_MESSAGE_KEY: message_key, ATTRIBUTE_ARRIVAL: stamp}
            if self._policy.signing_key:
                signature = sign_requeue(self._policy.signing_key, record.body, message_key, stamp)
                attributes[REQUEUE_SIGNATURE_ATTRIBUTE] = signature
            await self._requeue.send(record.body, delay_seconds=plan.delay_seconds, attributes=attributes)
            self.tally.add("requeued")
            return RecordResult.finished(record.message_id)
        visible = plan.delay_seconds if isinstance(plan, WaitRequeued) else plan.seconds
        return RecordResult.retry(record.message_id, visible_after=visible)

    def _reports(
        self, attempt: _Attempt, request: SendRequest, message_key: str, record: SqsRecord, arrival: float
    ) -> list[BounceReport]:
        reports: list[BounceReport] = []
        if not attempt.failed:  # most messages: nothing to report
            return reports
        for reason in (
            ReportReason.REJECTED,
            ReportReason.EXPIRED,
            ReportReason.RENDER_FAILED,
            ReportReason.SUPPRESSED,
            ReportReason.DELAYED,
        ):
            recipients = [f for r, f in attempt.failed if r == reason]
            if not recipients:
                continue
            source = _source_of(record)
            if reason == ReportReason.DELAYED:
                schedule = self._policy.retry_policy(request.stream)
                if schedule is not None:
                    source["will_retry_until"] = _iso(arrival + schedule.schedule.max_age_seconds)
            reports.append(
                BounceReport(
                    reason=reason,
                    recipients=tuple(recipients),
                    arrival_date=_datetime(arrival),
                    message_key=message_key,
                    message_id=attempt.built.message_id if attempt.built else None,
                    envelope_sender=self._envelope_sender(request),
                    from_address=request.from_.address,
                    subject=request.subject,
                    original_headers=attempt.built.header_block if attempt.built else None,
                    error=attempt.error if reason == ReportReason.RENDER_FAILED else None,
                    tags=dict(request.tags),
                    source=source,
                )
            )
        return reports

    def _key_reused(
        self, used_up: list[Claim], request: SendRequest, message_key: str, record: SqsRecord, arrival: float
    ) -> BounceReport:
        """A request under a key whose every recipient already reached a final state: nothing is sent, and
        that is said (report, event, log line), never silent."""
        recipients = []
        for claim in used_up:
            state = claim.state.value if claim.state else "unknown"
            when = _iso(claim.updated_at) if claim.updated_at else "an earlier attempt"
            note = f"message key already used at {when}, state {state}"
            status = claim.reply.status if claim.reply and claim.state is not RecipientState.DELIVERED else "2.0.0"
            recipients.append(FailedRecipient(claim.recipient, status, note, action="failed"))
        log.warning(
            "message key already used: nothing sent",
            extra={
                "message_key": message_key,
                "sqs_message_id": record.message_id,
                "states": dict(Counter(c.state.value if c.state else "unknown" for c in used_up)),
            },
        )
        self.tally.add("key_reused")
        return BounceReport(
            reason=ReportReason.KEY_REUSED,
            recipients=tuple(recipients),
            arrival_date=_datetime(arrival),
            message_key=message_key,
            envelope_sender=self._envelope_sender(request),
            from_address=request.from_.address,
            subject=request.subject,
            error=f"message key {message_key!r} already used: " + "; ".join(r.diagnostic or "" for r in recipients),
            tags=dict(request.tags),
            source=_source_of(record),
        )

    async def _report_poison(self, record: SqsRecord, error: InvalidRequest, body: str) -> None:
        sender, recipients = salvage_envelope(body)
        report = BounceReport(
            reason=ReportReason.INVALID_REQUEST,
            recipients=tuple(FailedRecipient(r, STATUS_CONTENT_ERROR) for r in recipients),
            arrival_date=record.sent_at,
            envelope_sender=sender,
            error=str(error),
            original_body=record.body[:POISON_BODY_LIMIT],
            source=_source_of(record),
        )
        await self._dead_letters.send(report)
        self.tally.add("rejected_input")
        log.warning("invalid send request", extra={"sqs_message_id": record.message_id, "error": str(error)})

    def _log_attempt(self, message_key: str, record: SqsRecord, entries: Sequence[LedgerEntry]) -> None:
        """Counts the attempt into the invocation's summary; one line per message only at DEBUG."""
        # domains, not addresses: logs never carry full addresses
        keys = [f"{e.state.value}@{_domain(e.recipient)}" for e in entries]
        counted = self._outcomes
        for key in keys:  # what Counter.update() does with a Counter of them, without building one
            counted[key] += 1
        failed = [e.reply.diagnostic for e in entries if e.reply and e.state is not RecipientState.DELIVERED]
        if failed:
            replies = {_redact(text[:200]) for text in failed}
            if len(self._replies) < SUMMARY_REPLIES:
                self._replies.update(replies)
        else:
            replies = set()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "message attempted",
                extra={
                    "message_key": message_key,
                    "receive_count": record.receive_count,
                    "outcomes": dict(Counter(keys)),
                    "replies": sorted(replies),
                },
            )

    def summary(self) -> dict[str, Any]:
        """What this invocation did, for its one INFO line: counts, outcomes by state@domain, failure replies."""
        return {
            "outcomes": dict(self._outcomes),
            "replies": sorted(self._replies)[:SUMMARY_REPLIES],
        }


_MESSAGE_ID_HEADER = re.compile(rb"(?im)^message-id:[ \t]*(<[!-~]{3,250}>)[ \t]*\r?$")


def _ready_message(request: SendRequest, data: bytes, message_key: str) -> BuiltMessage:
    """A message from the outbox, sent as it is; a Message-ID is added only when it has none (RFC 6409 8.3)."""
    head = data.partition(b"\r\n\r\n")[0]
    found = _MESSAGE_ID_HEADER.search(head)
    if found:
        message_id = found.group(1).decode("ascii")
    else:
        message_id = message_id_for(message_key, request.from_.domain)
        data = b"Message-ID: " + message_id.encode("ascii") + b"\r\n" + data
        head = data.partition(b"\r\n\r\n")[0]
    return BuiltMessage(data, message_id, head.decode("utf-8", "replace"), requires_smtputf8=not head.isascii())


def _from_domain(request: SendRequest, built: BuiltMessage) -> str | None:
    """The ASCII domain DKIM signs for: the From field's (a ready message's envelope sender need not be
    it); None when there is no usable one."""
    if request.raw_message is not None:
        from maildispatch.core.dkim import header_from_domain  # loaded with the signer: DKIM_KEYS only

        shown = header_from_domain(built.data)
    else:
        shown = request.from_.domain
    try:
        return ascii_domain(shown).lower() if shown else None
    except ValueError:
        return None


def _unreported(claim: Claim) -> tuple[str, FailedRecipient]:
    """The report an attempt recorded but did not get to write; written now, without sending again."""
    reply = claim.reply or local_reply("5.0.0", "undeliverable")
    if claim.state is RecipientState.SUPPRESSED:
        return ReportReason.SUPPRESSED, FailedRecipient(claim.recipient, "5.0.0", reply.text)
    if not reply.is_permanent:
        return ReportReason.EXPIRED, failed_recipient(claim.recipient, reply, "4.4.7")
    return ReportReason.REJECTED, failed_recipient(claim.recipient, reply)


def _source_of(record: SqsRecord) -> dict[str, Any]:
    return {
        "queue": record.event_source_arn,
        "sqs_message_id": record.message_id,
        "receive_count": record.receive_count,
    }


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _iso(epoch: float) -> str:
    return _datetime(epoch).isoformat()


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


_ADDRESS_IN_TEXT = re.compile(r"[^\s<>\"'@]+@([A-Za-z0-9.-]+)")


def _redact(text: str) -> str:
    """Servers quote the recipient in their replies; keep only its domain in logs."""
    return _ADDRESS_IN_TEXT.sub(r"…@\1", text)
