"""A DnsLookup from a table: (name, rdtype) -> answer; NXDOMAIN for what is not in it."""

from __future__ import annotations

from collections import Counter

from maildispatch.core.sender_check import DnsAnswer


class TableDns:
    def __init__(self, records: dict[tuple[str, str], DnsAnswer | list[str]] | None = None) -> None:
        self.records: dict[tuple[str, str], DnsAnswer] = {}
        self.queries: Counter[tuple[str, str]] = Counter()
        for (name, rdtype), answer in (records or {}).items():
            self.set(name, rdtype, answer)

    def set(self, name: str, rdtype: str, answer: DnsAnswer | list[str]) -> None:
        key = (name.lower(), rdtype.upper())
        self.records[key] = answer if isinstance(answer, DnsAnswer) else DnsAnswer("ok", tuple(answer))

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        key = (name.lower(), rdtype.upper())
        self.queries[key] += 1
        return self.records.get(key, DnsAnswer("nxdomain"))
