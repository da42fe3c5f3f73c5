"""The suppression list and the return-path index in dicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from maildispatch.core.return_paths import SentMessage
from maildispatch.core.suppression import SOFT_BOUNCE_WINDOW, Suppression, suppression_key


@dataclass
class InMemorySuppressionList:
    entries: dict[str, Suppression] = field(default_factory=dict)

    async def find(self, addresses: Sequence[str], *, scopes: Sequence[str] = ()) -> dict[str, Suppression]:
        found = {}
        for address in {a.strip().lower() for a in addresses}:
            for key in (*(suppression_key(address, scope) for scope in scopes), address):  # scoped first
                if key in self.entries:
                    found[address] = self.entries[key]
                    break
        return found

    soft: dict[str, dict[str, float]] = field(default_factory=dict)

    async def add(self, entries: Sequence[Suppression]) -> None:
        for entry in entries:  # as in DynamoDB, empty optional fields are not stored: they read back as None
            entry = replace(entry, **{n: getattr(entry, n) or None for n in ("status", "diagnostic", "message_key")})
            self.entries.setdefault(entry.key, entry)

    async def count_soft_bounce(self, address: str, *, at: float, event_id: str) -> int:
        seen = self.soft.setdefault(address.lower(), {})
        seen[event_id] = at
        return sum(1 for t in seen.values() if at - SOFT_BOUNCE_WINDOW < t <= at)


@dataclass
class InMemoryReturnPathIndex:
    entries: dict[str, SentMessage] = field(default_factory=dict)

    async def remember(self, entries: Sequence[tuple[str, SentMessage]]) -> None:
        for key, sent in entries:  # as in DynamoDB, empty optional fields are not stored: they read back as None
            optional = ("recipient", "report_to", "from_address", "subject", "message_id")
            self.entries[key] = replace(sent, **{n: getattr(sent, n) or None for n in optional})

    async def lookup(self, key: str) -> SentMessage | None:
        return self.entries.get(key)
