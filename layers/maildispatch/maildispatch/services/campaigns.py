"""Campaign control: create (and start or schedule), pause, resume, cancel, status.

The HTTP API's router (runtime/api_campaigns.py) and the command line (`maildispatch campaign`)
both go through this service. Pause and cancel are conditional writes on the campaign item; the
fan-out stops at its next group, and the dispatch function checks the campaign's state before it
claims a campaign recipient, so both take effect before the next claim (messages in flight finish).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from maildispatch.core.campaign import (
    BadRow,
    CampaignRecord,
    CampaignState,
    CampaignStatus,
    campaign_event_entry,
    parse_campaign,
)
from maildispatch.ports import CampaignSchedules, CampaignStore, EventPublisher, FanoutTrigger, LedgerCounts

log = logging.getLogger("maildispatch.campaigns")

MAX_QUEUE_DELAY_SECONDS = 900  # later starts go through a schedule

EVENT_TYPES = {
    "start": "Campaign Started",
    "pause": "Campaign Paused",
    "resume": "Campaign Resumed",
    "cancel": "Campaign Cancelled",
}


class CampaignExists(ValueError):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"campaign {campaign_id} already exists")
        self.campaign_id = campaign_id


class NoSuchCampaign(LookupError):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"no campaign {campaign_id}")
        self.campaign_id = campaign_id


class CampaignControl:
    def __init__(
        self,
        store: CampaignStore,
        trigger: FanoutTrigger,
        ledger: LedgerCounts,
        *,
        schedules: CampaignSchedules | None = None,
        events: EventPublisher | None = None,
        event_bus_name: str = "default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._trigger = trigger
        self._ledger = ledger
        self._schedules = schedules
        self._events = events
        self._bus = event_bus_name
        self._clock = clock

    async def create(self, document: Mapping[str, Any]) -> CampaignRecord:
        """Validates and stores the campaign, then starts its fan-out now, after a queue delay, or
        through a one-time schedule when the start is more than 15 minutes away.
        Raises InvalidCampaign (naming the field) or CampaignExists."""
        spec = parse_campaign(document, campaign_id=f"c{uuid.uuid4().hex[:15]}")
        now = self._clock()
        record = CampaignRecord(spec, CampaignState.SCHEDULED, created_at=now)
        if not await self._store.create(record):
            raise CampaignExists(spec.campaign_id)
        delay = 0 if spec.start_at is None else spec.start_at - now
        if delay > MAX_QUEUE_DELAY_SECONDS and self._schedules is not None:
            await self._schedules.schedule_start(spec.campaign_id, at=spec.start_at or now)
        else:
            # without a scheduler the fan-out re-asks every 15 minutes until the start time
            await self._trigger.run_fanout(
                spec.campaign_id, delay_seconds=max(0, min(int(delay), MAX_QUEUE_DELAY_SECONDS))
            )
        log.info("campaign created", extra={"campaign": spec.campaign_id, "start_in_s": max(0, int(delay))})
        return record

    async def pause(self, campaign_id: str, *, reason: str = "paused by hand") -> CampaignRecord:
        return await self._act(campaign_id, "pause", reason)

    async def resume(self, campaign_id: str) -> CampaignRecord:
        record = await self._act(campaign_id, "resume", None)
        await self._trigger.run_fanout(campaign_id)  # reads on, or counts what is pending and finishes
        return record

    async def cancel(self, campaign_id: str, *, reason: str = "cancelled by hand") -> CampaignRecord:
        return await self._act(campaign_id, "cancel", reason)

    async def get(self, campaign_id: str) -> CampaignRecord:
        record = await self._store.get(campaign_id)
        if record is None:
            raise NoSuchCampaign(campaign_id)
        return record

    async def bad_rows(self, campaign_id: str, *, limit: int = 1000) -> list[BadRow]:
        return await self._store.bad_rows(campaign_id, limit=limit)

    async def status(self, campaign_id: str) -> CampaignStatus:
        record = await self.get(campaign_id)
        return CampaignStatus(
            record.campaign_id,
            record.state,
            record.checkpoint,
            await self._ledger.by_state(campaign_id),
            complained=record.complained,
            unsubscribed=record.unsubscribed,
            started_at=record.started_at,
            now=self._clock(),
            reason=record.reason,
        )

    async def _act(self, campaign_id: str, action: str, reason: str | None) -> CampaignRecord:
        try:
            record = await self._store.transition(campaign_id, action, now=self._clock(), reason=reason)
        except LookupError:
            raise NoSuchCampaign(campaign_id) from None
        log.info("campaign " + action, extra={"campaign": campaign_id, "reason": reason})
        if self._events is not None and action in EVENT_TYPES:
            detail = {"campaign": campaign_id, "state": record.state.value, "reason": reason}
            try:
                await self._events.publish(
                    [campaign_event_entry(EVENT_TYPES[action], detail, event_bus_name=self._bus)]
                )
            except Exception as error:  # the state changed: a lost event is logged
                log.warning("campaign event not published", extra={"campaign": campaign_id, "error": str(error)})
        return record
