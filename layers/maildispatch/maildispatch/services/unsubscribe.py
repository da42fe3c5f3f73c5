"""The unsubscribe use case: a token in, a scoped suppression entry and an `Email Unsubscribed` event out.

`look_up` (for GET) reads a token and changes nothing; `unsubscribe` (for POST) adds the entry
"unsubscribed from list:<id>" for the address, which the dispatch service's very next claim reads
(the suppression list is read with consistent reads), and publishes the event once: unsubscribing
again finds the entry and changes nothing. A token that does not verify changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from maildispatch.core.suppression import Suppression, SuppressionReason
from maildispatch.core.unsubscribe import EVENT_DETAIL_TYPE, Subscription, read_token, unsubscribed_event_detail
from maildispatch.ports import CampaignStore, EventPublisher, SuppressionList

log = logging.getLogger("maildispatch.unsubscribe")

EVENT_SOURCE = "maildispatch"


@dataclass(frozen=True)
class Unsubscribed:
    subscription: Subscription
    already: bool  # the address had left this list before: nothing changed


class UnsubscribeService:
    def __init__(
        self,
        suppressions: SuppressionList,
        key: bytes,
        *,
        publisher: EventPublisher | None = None,
        event_bus_name: str = "default",
        campaigns: CampaignStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._suppressions = suppressions
        self._campaigns = campaigns  # counts the unsubscribe toward its campaign's status
        self._key = key
        self._publisher = publisher
        self._event_bus_name = event_bus_name
        self._clock = clock

    def look_up(self, token: str) -> Subscription | None:
        """Whom a token names, or None when it is not one of ours. Changes nothing."""
        return read_token(self._key, token)

    async def unsubscribe(self, token: str, *, how: str) -> Unsubscribed | None:
        """Unsubscribe the token's address from its list; None (and nothing changed) for a token not ours."""
        subscription = read_token(self._key, token)
        if subscription is None:
            return None
        address, scope = subscription.address, subscription.scope
        found = await self._suppressions.find([address], scopes=[scope])
        if address in found and found[address].scope == scope:
            return Unsubscribed(subscription, already=True)
        now = self._clock()
        entry = Suppression(
            address,
            SuppressionReason.UNSUBSCRIBED,
            diagnostic=f"unsubscribed ({how}) from campaign {subscription.campaign_id}",
            created_at=now,
            scope=scope,
        )
        await self._suppressions.add([entry])
        await self._publish(subscription, now, how)
        await self._count(subscription)
        log.info("unsubscribed", extra={"list": subscription.list_id, "domain": address.rpartition("@")[2]})
        return Unsubscribed(subscription, already=False)

    async def _count(self, subscription: Subscription) -> None:
        """One more unsubscribed recipient in the campaign's status; a counter, so a failure is only logged."""
        if self._campaigns is None:
            return
        try:
            await self._campaigns.count_outcomes(subscription.campaign_id, attempted=0, bounced=0, unsubscribed=1)
        except Exception as error:
            log.warning("unsubscribe not counted for its campaign", extra={"error": str(error)})

    async def _publish(self, subscription: Subscription, now: float, how: str) -> None:
        if self._publisher is None:
            return
        at = datetime.fromtimestamp(now, tz=UTC).isoformat()
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": EVENT_DETAIL_TYPE,
            "Detail": json.dumps(unsubscribed_event_detail(subscription, at=at, how=how), separators=(",", ":")),
            "EventBusName": self._event_bus_name,
        }
        try:
            await self._publisher.publish([entry])
        except Exception as error:
            log.warning("Email Unsubscribed event not published", extra={"error": str(error)})
