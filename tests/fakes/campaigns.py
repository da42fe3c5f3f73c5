"""The campaign ports in memory: store, list reader, send queue, fan-out trigger, ledger counts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from maildispatch.core.campaign import (
    TRANSITIONS,
    BadRow,
    CampaignRecord,
    CampaignState,
    Checkpoint,
    TransitionRefused,
)
from maildispatch.core.campaign_keys import campaign_of_key
from maildispatch.core.ledger import NEVER, RecipientState
from maildispatch.ports import ContentMissing


@dataclass
class InMemoryCampaignStore:
    records: dict[str, CampaignRecord] = field(default_factory=dict)
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    bad: dict[tuple[str, int], BadRow] = field(default_factory=dict)
    gets: int = 0
    on_checkpoint: Any = None  # called with (campaign_id, checkpoint) before a checkpoint is stored

    async def create(self, record: CampaignRecord) -> bool:
        if record.campaign_id in self.records:
            return False
        self.records[record.campaign_id] = record
        return True

    async def get(self, campaign_id: str) -> CampaignRecord | None:
        self.gets += 1
        return self.records.get(campaign_id)

    async def transition(
        self, campaign_id: str, action: str, *, now: float, reason: str | None = None
    ) -> CampaignRecord:
        record = self.records.get(campaign_id)
        if record is None:
            raise LookupError(campaign_id)
        sources, target = TRANSITIONS[action]
        if record.state not in sources:
            raise TransitionRefused(campaign_id, action, record.state)
        started = record.started_at if record.started_at is not None or action != "start" else now
        keep_reason = reason if reason is not None else (None if action in ("resume", "start") else record.reason)
        record = replace(record, state=target, reason=keep_reason, started_at=started)
        self.records[campaign_id] = record
        return record

    async def save_checkpoint(self, campaign_id: str, checkpoint: Checkpoint, *, version: int) -> bool:
        if self.on_checkpoint is not None:
            self.on_checkpoint(campaign_id, checkpoint)
        record = self.records[campaign_id]
        if record.state is not CampaignState.RUNNING or record.version != version:
            return False
        self.records[campaign_id] = replace(record, checkpoint=checkpoint, version=version + 1)
        return True

    async def first_seen(self, campaign_id: str, rows: Sequence[tuple[str, int]]) -> list[bool]:
        answers = []
        for digest, row in rows:
            key = (campaign_id, digest)
            first = self.seen.setdefault(key, row)
            answers.append(first == row)
        return answers

    async def report_bad_rows(self, campaign_id: str, rows: Sequence[BadRow]) -> None:
        for row in rows:
            self.bad[(campaign_id, row.row)] = row

    async def bad_rows(self, campaign_id: str, *, limit: int = 1000) -> list[BadRow]:
        return [r for (c, _), r in sorted(self.bad.items()) if c == campaign_id][:limit]

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
        record = self.records.get(campaign_id)
        if record is None:
            return None
        record = replace(
            record,
            attempted=record.attempted + attempted,
            bounced=record.bounced + bounced,
            complained=record.complained + complained,
            final=record.final + final,
            unsubscribed=record.unsubscribed + unsubscribed,
        )
        self.records[campaign_id] = record
        return record


@dataclass
class BytesLists:
    """S3 objects in a dict; every ranged read is counted."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    reads: int = 0

    async def read(self, bucket: str, key: str, *, start: int, length: int) -> bytes:
        self.reads += 1
        if (bucket, key) not in self.objects:
            raise ContentMissing(f"s3://{bucket}/{key} does not exist")
        return self.objects[(bucket, key)][start : start + length]


@dataclass
class CollectingBatches:
    """The send queue: bodies by entry order; `refuse` ids (or a callable) fail once each."""

    bodies: list[str] = field(default_factory=list)
    calls: int = 0
    refuse_every: int = 0  # refuse every n-th entry on its first try
    latency: float = 0.0
    _refused: set[str] = field(default_factory=set)

    async def send(self, entries: Sequence[tuple[str, str]]) -> list[str]:
        assert 1 <= len(entries) <= 10, len(entries)
        assert len({e for e, _ in entries}) == len(entries), "entry ids must be unique in a batch"
        assert sum(len(b.encode()) for _, b in entries) <= 1024 * 1024
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        failed = []
        for n, (entry_id, body) in enumerate(entries):
            if self.refuse_every and (self.calls + n) % self.refuse_every == 0 and entry_id not in self._refused:
                self._refused.add(entry_id)
                failed.append(entry_id)
                continue
            self.bodies.append(body)
        return failed


@dataclass
class CollectingTrigger:
    runs: list[tuple[str, int]] = field(default_factory=list)
    progress: list[int | None] = field(default_factory=list)

    async def run_fanout(self, campaign_id: str, *, delay_seconds: int = 0, progress: int | None = None) -> None:
        self.runs.append((campaign_id, delay_seconds))
        self.progress.append(progress)


@dataclass
class LedgerCountsFromRows:
    """Counts an InMemoryLedger's rows (`ledger.rows`) by campaign and state, as the ByCampaign index does."""

    ledger: Any = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # fixed answers when there is no ledger

    async def by_state(self, campaign_id: str) -> dict[str, int]:
        if self.ledger is None:
            return dict(self.counts.get(campaign_id, {}))
        found: dict[str, int] = {}
        for (message_key, _), row in self.ledger.rows.items():
            if campaign_of_key(message_key) != campaign_id:
                continue
            state = row.state.value
            if row.state is RecipientState.UNCERTAIN and row.next_attempt_at < NEVER / 10:
                state = "uncertain_retry"
            found[state] = found.get(state, 0) + 1
        return found
