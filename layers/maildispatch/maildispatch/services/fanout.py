"""The campaign fan-out: a recipient list in S3 to send requests on the send queue, resumable.

One run reads the list from the campaign's checkpoint (a byte offset), in groups of up to
`group_batches` x 10 recipients:

    state still running? -> rows -> recipients or bad rows -> first row with the address? ->
    suppressed? -> SendMessageBatch (10 per call, failed entries retried) -> bad rows stored ->
    checkpoint (offset past the group, counters), only now

so a run killed anywhere resumes at the last confirmed group; the requests of a group it had sent
before dying are sent again, and meet the ledger's claim on the same message key. The checkpoint is a
conditional write on the campaign's version and state: a paused or cancelled campaign, or a second
fan-out of the same campaign, stops at its next group. A run stops itself before Lambda's time is up,
or when the campaign's rate says wait, and asks for a continuation (a message on the fan-out queue);
the queue's redelivery restarts a run that died without asking.

When the whole list is read the campaign waits for its last recipients: each continuation counts the
ledger, and the campaign is finished when nothing is pending.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from maildispatch.core.campaign import (
    BadRow,
    CampaignRecord,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    Checkpoint,
    InvalidCampaign,
    RawRow,
    Recipient,
    RowSplitter,
    TransitionRefused,
    campaign_event_entry,
    fields_of_row,
    parse_header,
    recipient_from_fields,
    send_request_for,
)
from maildispatch.core.campaign_keys import recipient_hash
from maildispatch.core.tally import Tally
from maildispatch.ports import (
    CampaignStore,
    ContentMissing,
    EventPublisher,
    FanoutTrigger,
    LedgerCounts,
    RecipientListReader,
    SendBatches,
    SuppressionList,
)
from maildispatch.services.sender_check import CampaignPreflight, PreflightResult

log = logging.getLogger("maildispatch.fanout")

SQS_BATCH_ENTRIES = 10
SQS_BATCH_BYTES = 1024 * 1024  # SendMessageBatch: the sum of the bodies
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds
BAD_ROWS_PER_EVENT = 100  # a row's report is under 1 KB: an event stays far below EventBridge's 256 KB


@dataclass(frozen=True)
class FanoutPolicy:
    read_bytes: int = 1024 * 1024  # one ranged GET
    group_batches: int = 10  # SendMessageBatch calls in flight together, between two checkpoints
    send_attempts: int = 5  # per entry, before the group is given up (not checkpointed) for a later run
    retry_pause_seconds: float = 0.2
    reserve_seconds: float = 20.0  # stop with this much of the invocation left
    finish_poll_seconds: int = 60  # how often a fully read campaign counts its pending recipients
    event_bus_name: str = "default"
    preflight_retry_seconds: int = 60  # a sender check DNS could not answer is run again after this


@dataclass
class FanoutOutcome:
    """What one run did, and whether it asked for another."""

    campaign_id: str
    state: str
    continue_after: int | None = None  # seconds; None: no continuation asked
    progress: int | None = None  # the `final` counter this run saw, for the continuation
    retry_after: int | None = None  # seconds: the run could not decide (DNS failed): its message comes back
    preflight: PreflightResult | None = None  # the sender check this run made, if any
    tally: Tally = field(default_factory=Tally)


class FanoutInterrupted(Exception):
    """The queue kept refusing entries: the group is not checkpointed, a later run sends it again."""


@dataclass
class _Group:
    recipients: list[Recipient] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    end: int = 0  # offset past the group's last row
    rows: int = 0  # rows read through the group's end
    header: tuple[str, ...] | None = None
    done: bool = False  # the group reaches the end of the list


class FanoutService:
    def __init__(
        self,
        store: CampaignStore,
        lists: RecipientListReader,
        queue: SendBatches,
        trigger: FanoutTrigger,
        ledger: LedgerCounts,
        *,
        suppressions: SuppressionList | None = None,
        events: EventPublisher | None = None,
        preflight: CampaignPreflight | None = None,
        policy: FanoutPolicy = FanoutPolicy(),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._lists = lists
        self._queue = queue
        self._trigger = trigger
        self._ledger = ledger
        self._suppressions = suppressions
        self._events = events
        self._preflight = preflight
        self._policy = policy
        self._clock = clock
        self._sleep = sleep

    async def run(
        self, campaign_id: str, *, time_left: Callable[[], float], progress: int | None = None
    ) -> FanoutOutcome:
        """One run. `progress`: the campaign's `final` counter as the run that asked for this one saw it."""
        outcome = FanoutOutcome(campaign_id, "unknown")
        record = await self._store.get(campaign_id)
        if record is None:
            log.warning("no such campaign", extra={"campaign": campaign_id})
            return outcome
        outcome.state = record.state.value
        now = self._clock()
        spec = record.spec
        if record.state is CampaignState.SCHEDULED:
            if spec.start_at is not None and now < spec.start_at:  # early (a schedule fired early, a resend)
                outcome.continue_after = min(MAX_DELAY_SECONDS, int(spec.start_at - now) + 1)
                return await self._continue(outcome)
            record = await self._move(record, "start", now=now)
            if record.state is not CampaignState.RUNNING:
                outcome.state = record.state.value
                return outcome
            await self._publish("Campaign Started", record)
        if record.state is not CampaignState.RUNNING:
            return outcome  # paused: resume asks for a run; final: nothing to do
        outcome.state = CampaignState.RUNNING.value
        if spec.start_at is not None and now < spec.start_at:  # resumed before its start time
            outcome.continue_after = min(MAX_DELAY_SECONDS, int(spec.start_at - now) + 1)
            return await self._continue(outcome)
        if spec.send_by is not None and now >= spec.send_by:
            return await self._expire(record, outcome)
        if self._preflight_due(record):
            checked = await self._check_sender(record, outcome)
            if checked is None:
                return outcome
            record = checked
        if not record.checkpoint.done:
            record = await self._fan_out(record, outcome, time_left)
            if outcome.continue_after is not None or not record.checkpoint.done:
                return await self._continue(outcome)
        return await self._finish_or_wait(record, outcome, progress)

    # -- the pre-flight sender check -------------------------------------------------------------

    def _preflight_due(self, record: CampaignRecord) -> bool:
        """Before the first group: not opted out, not passed already, nothing checkpointed yet."""
        cp = record.checkpoint
        return self._preflight is not None and record.spec.preflight and not cp.preflight_passed and cp.offset == 0

    async def _check_sender(self, record: CampaignRecord, outcome: FanoutOutcome) -> CampaignRecord | None:
        """The record to fan out from (the pass recorded), or None: paused, DNS failed (retry) or overtaken."""
        assert self._preflight is not None
        spec = record.spec
        result = await self._preflight.check(spec.sender_domain, stream=spec.stream)
        outcome.preflight = result
        if result.transient:
            log.warning(
                "sender check: DNS did not answer, the run is retried",
                extra={"campaign": spec.campaign_id, "reason": result.reason()},
            )
            outcome.tally.add("preflight_dns_errors")
            outcome.retry_after = self._policy.preflight_retry_seconds
            return None
        if not result.passed:
            reason = result.reason()
            outcome.tally.add("preflight_failed")
            try:
                record = await self._store.transition(spec.campaign_id, "pause", now=self._clock(), reason=reason)
            except TransitionRefused:
                outcome.state = "stopped"
                return None
            outcome.state = record.state.value
            log.warning("sender check failed: campaign paused", extra={"campaign": spec.campaign_id, "reason": reason})
            lines = [{"check": line.check, "status": line.status, "detail": line.detail} for line in result.lines]
            await self._publish("Campaign Paused", record, {"automatic": True, "sender_check": lines})
            return None
        outcome.tally.add("preflight_passed")
        cp = record.checkpoint.advanced(preflight_passed=True)
        if not await self._store.save_checkpoint(spec.campaign_id, cp, version=record.version):
            outcome.state = "stopped"
            outcome.tally.add("checkpoint_refused")
            return None
        return _with(record, cp)

    # -- reading and sending -----------------------------------------------------------------

    async def _fan_out(
        self, record: CampaignRecord, outcome: FanoutOutcome, time_left: Callable[[], float]
    ) -> CampaignRecord:
        spec, cp = record.spec, record.checkpoint
        started, enqueued_before = self._clock(), cp.enqueued
        group_size = self._policy.group_batches * SQS_BATCH_ENTRIES
        if spec.rate is not None:  # groups of about two seconds' worth: the pace stays smooth
            group_size = min(group_size, max(SQS_BATCH_ENTRIES, int(spec.rate * 2)))
        try:
            async for group in self._groups(spec, cp, group_size):
                if not await self._still_running(spec.campaign_id, record.version):
                    outcome.state = "stopped"
                    return record
                try:
                    cp = await self._send_group(spec, cp, group, outcome)
                except FanoutInterrupted as error:
                    log.warning(
                        "queue refused entries: later", extra={"campaign": spec.campaign_id, "error": str(error)}
                    )
                    outcome.tally.add("interrupted")
                    outcome.continue_after = 5
                    return record
                if not await self._store.save_checkpoint(spec.campaign_id, cp, version=record.version):
                    outcome.state = "stopped"  # paused, cancelled or overtaken since the last group
                    outcome.tally.add("checkpoint_refused")
                    return record
                record = _with(record, cp)
                outcome.tally.add("checkpoints")
                if time_left() < self._policy.reserve_seconds:
                    outcome.continue_after = 0
                    return record
                wait = self._rate_wait(spec, cp.enqueued - enqueued_before, started)
                if wait > 0:
                    if wait > 5 or time_left() - wait < self._policy.reserve_seconds:
                        outcome.continue_after = min(MAX_DELAY_SECONDS, int(wait + 0.999))
                        return record
                    await self._sleep(wait)
        except _ListUnreadable as error:
            outcome.state = "cancelled"
            await self._cancel(record, str(error))
            return record
        # the whole list read: the last group's checkpoint already carries done=True
        return record

    def _rate_wait(self, spec: CampaignSpec, enqueued: int, started: float) -> float:
        if spec.rate is None:
            return 0.0
        return enqueued / spec.rate - (self._clock() - started)

    async def _still_running(self, campaign_id: str, version: int) -> bool:
        current = await self._store.get(campaign_id)
        return current is not None and current.state is CampaignState.RUNNING and current.version == version

    async def _groups(self, spec: CampaignSpec, cp: Checkpoint, size: int) -> AsyncIterator[_Group]:
        """The list from the checkpoint in groups of up to `size` recipients; the last has `done`."""
        header, row = cp.header, cp.row
        group = _Group(end=cp.offset, rows=row, header=header)
        csv = spec.recipients.format == "csv"
        async for raw in self._raw_rows(spec, cp.offset):
            if csv and header is None:
                try:
                    header = parse_header(raw.data)
                except (InvalidCampaign, UnicodeDecodeError) as error:
                    raise _ListUnreadable(f"the list's header row: {error}") from None
                group.header, group.end = header, raw.end
                continue
            row += 1
            fields = fields_of_row(raw, header, spec.recipients.format, row)
            if isinstance(fields, BadRow):
                group.bad.append(fields)
            elif fields is not None:
                found = recipient_from_fields(fields, row=row, offset=raw.start, required=spec.required_variables)
                if isinstance(found, BadRow):
                    group.bad.append(found)
                else:
                    group.recipients.append(found)
            group.end, group.rows = raw.end, row
            if len(group.recipients) >= size:
                yield group
                group = _Group(end=group.end, rows=row, header=header)
        group.done = True
        yield group

    async def _raw_rows(self, spec: CampaignSpec, offset: int) -> AsyncIterator[RawRow]:
        """Rows streamed from `offset` by ranged reads: memory holds one read and one unfinished row."""
        splitter = RowSplitter(offset, quoted=spec.recipients.format == "csv")
        position = offset
        while True:
            try:
                data = await self._lists.read(
                    spec.recipients.bucket, spec.recipients.key, start=position, length=self._policy.read_bytes
                )
            except ContentMissing as error:
                raise _ListUnreadable(f"the list: {error}") from None
            if not data:
                break
            position += len(data)
            for raw in splitter.feed(data):
                yield raw
            if len(data) < self._policy.read_bytes:
                break
        for raw in splitter.finish():
            yield raw

    async def _send_group(
        self, spec: CampaignSpec, cp: Checkpoint, group: _Group, outcome: FanoutOutcome
    ) -> Checkpoint:
        unique: list[Recipient] = []
        duplicates = 0
        # The first row of an address in the group wins here; the markers decide between groups (their
        # writes for one group run at once, so two rows of one address must not both reach them).
        candidates: dict[str, Recipient] = {}
        for recipient in group.recipients:
            digest = recipient_hash(recipient.address)
            if digest in candidates:
                duplicates += 1
            else:
                candidates[digest] = recipient
        if candidates:
            seen = await self._store.first_seen(spec.campaign_id, [(h, r.row) for h, r in candidates.items()])
            for recipient, first in zip(candidates.values(), seen, strict=True):
                if first:
                    unique.append(recipient)
                else:
                    duplicates += 1
        suppressed = 0
        to_send = unique
        if unique and self._suppressions is not None:
            found = await self._suppressions.find([r.address for r in unique])
            to_send = [r for r in unique if r.address.lower() not in found]
            suppressed = len(unique) - len(to_send)
        await asyncio.gather(*(self._send_batch(batch) for batch in _batches(spec, to_send)))
        if group.bad:
            await self._store.report_bad_rows(spec.campaign_id, group.bad)
            await self._publish_bad_rows(spec.campaign_id, group.bad)
        outcome.tally.add("enqueued", len(to_send))
        outcome.tally.add("duplicates", duplicates)
        outcome.tally.add("suppressed", suppressed)
        outcome.tally.add("invalid_rows", len(group.bad))
        return cp.advanced(
            offset=group.end,
            row=group.rows,
            header=group.header,
            enqueued=cp.enqueued + len(to_send),
            invalid=cp.invalid + len(group.bad),
            suppressed=cp.suppressed + suppressed,
            duplicates=cp.duplicates + duplicates,
            done=group.done,
        )

    async def _send_batch(self, entries: list[tuple[str, str]]) -> None:
        pending = entries
        for attempt in range(self._policy.send_attempts):
            failed = set(await self._queue.send(pending))
            pending = [e for e in pending if e[0] in failed]
            if not pending:
                return
            await self._sleep(self._policy.retry_pause_seconds * (2**attempt))
        raise FanoutInterrupted(f"{len(pending)} entries refused {self._policy.send_attempts} times")

    # -- the end -------------------------------------------------------------------------------

    async def _finish_or_wait(
        self, record: CampaignRecord, outcome: FanoutOutcome, progress: int | None
    ) -> FanoutOutcome:
        """Finished when the ledger has every enqueued recipient in a final state. Counting the ledger reads
        every item of the campaign, so it is done only when dispatch's `final` counter says everyone may be
        final, or did not move since the last look (a counter missed by a crash must not hold the end back)."""
        hint = record.final
        if hint < record.checkpoint.enqueued and hint != progress:
            outcome.tally.add("finish_polls")
            outcome.continue_after = self._policy.finish_poll_seconds
            outcome.progress = hint
            return await self._continue(outcome)
        status = await self.status(record)
        outcome.tally.add("ledger_counts")
        outcome.tally.add("pending", status.pending)
        if status.complete:
            try:
                record = await self._store.transition(record.campaign_id, "finish", now=self._clock())
            except TransitionRefused:
                return outcome
            outcome.state = record.state.value
            await self._publish("Campaign Finished", record, status.to_document())
            return outcome
        outcome.continue_after = self._policy.finish_poll_seconds
        outcome.progress = hint
        return await self._continue(outcome)

    async def status(self, record: CampaignRecord) -> CampaignStatus:
        return CampaignStatus(
            record.campaign_id,
            record.state,
            record.checkpoint,
            await self._ledger.by_state(record.campaign_id),
            complained=record.complained,
            unsubscribed=record.unsubscribed,
            started_at=record.started_at,
            now=self._clock(),
            reason=record.reason,
        )

    async def _expire(self, record: CampaignRecord, outcome: FanoutOutcome) -> FanoutOutcome:
        record = await self._move(record, "expire", now=self._clock(), reason="past its send-by deadline")
        outcome.state = record.state.value
        status = await self.status(record)
        # What it did not send: enqueued recipients not final, and (when the list was not read to its end)
        # the rows after the checkpoint, which `maildispatch campaign status` counts from the offset.
        detail = {
            **status.to_document(),
            "unsent_enqueued": status.pending,
            "unread_from_offset": record.checkpoint.offset,
        }
        log.warning("campaign expired", extra={"campaign": record.campaign_id, "unsent_enqueued": status.pending})
        await self._publish("Campaign Expired", record, detail)
        return outcome

    async def _cancel(self, record: CampaignRecord, reason: str) -> None:
        try:
            record = await self._store.transition(record.campaign_id, "cancel", now=self._clock(), reason=reason)
        except TransitionRefused:
            return
        log.warning("campaign cancelled", extra={"campaign": record.campaign_id, "reason": reason})
        await self._publish("Campaign Cancelled", record)

    async def _move(
        self, record: CampaignRecord, action: str, *, now: float, reason: str | None = None
    ) -> CampaignRecord:
        try:
            return await self._store.transition(record.campaign_id, action, now=now, reason=reason)
        except TransitionRefused:
            return await self._store.get(record.campaign_id) or record

    async def _continue(self, outcome: FanoutOutcome) -> FanoutOutcome:
        if outcome.continue_after is not None:
            await self._trigger.run_fanout(
                outcome.campaign_id, delay_seconds=outcome.continue_after, progress=outcome.progress
            )
        return outcome

    async def _publish_bad_rows(self, campaign_id: str, rows: list[BadRow]) -> None:
        """`Campaign Rows Rejected`, up to BAD_ROWS_PER_EVENT rows an event (row, offset, field, problem; never
        the row's content). At least once: a group sent again publishes its rows again, with the same numbers."""
        if self._events is None:
            return
        entries = [
            campaign_event_entry(
                "Campaign Rows Rejected",
                {"campaign": campaign_id, "rows": [r.to_document() for r in rows[start : start + BAD_ROWS_PER_EVENT]]},
                event_bus_name=self._policy.event_bus_name,
            )
            for start in range(0, len(rows), BAD_ROWS_PER_EVENT)
        ]
        for start in range(0, len(entries), 10):  # PutEvents takes 10 entries
            try:
                await self._events.publish(entries[start : start + 10])
            except Exception as error:  # the rows are stored with the campaign: the event only tells sooner
                log.warning("bad-row event not published", extra={"campaign": campaign_id, "error": str(error)})

    async def _publish(self, detail_type: str, record: CampaignRecord, extra: dict[str, Any] | None = None) -> None:
        if self._events is None:
            return
        detail = {"campaign": record.campaign_id, "state": record.state.value, "reason": record.reason, **(extra or {})}
        try:
            await self._events.publish(
                [campaign_event_entry(detail_type, detail, event_bus_name=self._policy.event_bus_name)]
            )
        except Exception as error:  # a lost event is logged, the campaign goes on
            log.warning("campaign event not published", extra={"campaign": record.campaign_id, "error": str(error)})


class _ListUnreadable(Exception):
    """The list cannot be used at all (no such object, no email column): the campaign is cancelled."""


def _with(record: CampaignRecord, cp: Checkpoint) -> CampaignRecord:
    return replace(record, checkpoint=cp, version=record.version + 1)


def _batches(spec: CampaignSpec, recipients: list[Recipient]) -> Iterator[list[tuple[str, str]]]:
    """Send requests in SendMessageBatch entries: at most 10 and 1 MiB of bodies per call."""
    batch: list[tuple[str, str]] = []
    size = 0
    for recipient in recipients:
        body = json.dumps(send_request_for(spec, recipient), ensure_ascii=False, separators=(",", ":"))
        length = len(body.encode("utf-8"))
        if batch and (len(batch) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((f"r{recipient.row}", body))
        size += length
    if batch:
        yield batch
