"""A campaign's health: outcomes counted as they are decided, and the pause when a rate is over its limit.

The dispatch service counts each campaign recipient it records delivered or bounced, the bounce
service each complaint; the counters live on the campaign item (one atomic ADD per record), and the
answer carries the totals, so the check costs no extra read. Over the bounce rate (default 5 %) or the
complaint rate (default 0.1 %), after at least `min_sample` recipients, the campaign pauses itself
(a conditional write: only a running campaign), publishes `Campaign Paused` with the reason, and the
caller counts `CampaignsAutoPaused` (the template's alarm watches that metric).
"""

from __future__ import annotations

import logging

from maildispatch.core.campaign import CampaignState, TransitionRefused, campaign_event_entry, health_breach
from maildispatch.ports import CampaignStore, EventPublisher

log = logging.getLogger("maildispatch.campaigns")


async def count_and_check(
    store: CampaignStore,
    events: EventPublisher | None,
    campaign_id: str,
    *,
    attempted: int = 0,
    bounced: int = 0,
    complained: int = 0,
    final: int = 0,
    now: float,
    event_bus_name: str = "default",
) -> str | None:
    """Counts the outcomes; pauses the campaign when its health breaks a limit. The reason it paused, or None."""
    record = await store.count_outcomes(
        campaign_id, attempted=attempted, bounced=bounced, complained=complained, final=final
    )
    if record is None or record.state is not CampaignState.RUNNING or not (attempted or complained):
        return None
    reason = health_breach(
        record.spec.health, attempted=record.attempted, bounced=record.bounced, complained=record.complained
    )
    if reason is None:
        return None
    try:
        await store.transition(campaign_id, "pause", now=now, reason=f"health: {reason}")
    except (TransitionRefused, LookupError):
        return None  # another invocation paused it first (or it moved on): one event, from that one
    log.warning("campaign paused itself", extra={"campaign": campaign_id, "reason": reason})
    if events is not None:
        detail = {"campaign": campaign_id, "state": "paused", "reason": f"health: {reason}", "automatic": True}
        try:
            await events.publish([campaign_event_entry("Campaign Paused", detail, event_bus_name=event_bus_name)])
        except Exception as error:  # the campaign is paused; the lost event is logged
            log.warning("campaign event not published", extra={"campaign": campaign_id, "error": str(error)})
    return reason
