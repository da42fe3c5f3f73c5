"""A sending function's transports, kept across warm invocations: the dispatch and bounce functions each
hold one. The relay's (runtime/warm_relay.py) and, in mx mode, the MX sessions' (runtime/warm_mx.py);
a TLS policy failure of an MX session counts in the running invocation's tally."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maildispatch.runtime.warm_mx import WarmMx
from maildispatch.runtime.warm_relay import WarmRelay

if TYPE_CHECKING:
    from maildispatch.adapters.smtp_mx import MxTransport, TlsReport
    from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
    from maildispatch.core.tally import Tally
    from maildispatch.runtime.settings import MxDelivery


class WarmTransports:
    def __init__(self) -> None:
        self._relay = WarmRelay()
        self._mx = WarmMx(tls_reporter=self._tls_report)
        self.tally: Tally | None = None  # the running invocation's, for TLS policy reports

    async def relay(self, relay: RelaySettings) -> RelayTransport:
        """The container's transport for `relay`, with its expired idle connections closed."""
        return await self._relay.transport(relay)

    async def mx(self, mx: MxDelivery) -> MxTransport:
        """The container's MX transport, with the previous invocation's failed destinations forgotten."""
        return await self._mx.transport(mx)

    def _tls_report(self, report: TlsReport) -> None:
        if self.tally is not None:
            self.tally.add("tls_policy_failures")

    async def close(self) -> None:
        """QUIT every kept connection (tests, and a container that is told to shut down)."""
        await self._relay.close()
        await self._mx.close()
