"""The container's MX transport, kept across warm invocations by a function that delivers by MX lookup.

In mx mode (DELIVERY_MODE=mx) the dispatch function delivers mail and the bounce function its DSNs
with an MxTransport (adapters/smtp_mx.py), each its own, made from the same MX_*, DNS_* and
MTA_STS settings. Like the relay transport (runtime/warm_relay.py) it lives as long as the container:
a warm invocation reuses its open connections per MX host, its DNS resolver and its MTA-STS policy
cache. Each invocation starts by forgetting the destinations that failed in the previous one (they
are tried again) and QUITting connections idle past `idle_timeout`.

dnspython and the MX modules are imported when the first mx-mode invocation asks for the transport,
so a relay-mode container never loads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mx mode imports them when it starts: relay mode's cold start never loads dnspython
    from maildispatch.adapters.smtp_mx import MxTransport, TlsReporter
    from maildispatch.runtime.settings import MxDelivery


class WarmMx:
    """One MxTransport per container; `tls_reporter` hears of each TLS policy failure (for a metric)."""

    def __init__(self, tls_reporter: TlsReporter | None = None) -> None:
        self._transport: MxTransport | None = None
        self._tls_reporter = tls_reporter

    async def transport(self, mx: MxDelivery) -> MxTransport:
        """The transport, with the previous invocation's failed destinations forgotten."""
        if self._transport is None:
            from maildispatch.adapters.dns_resolver import DnsResolver
            from maildispatch.adapters.mta_sts import MtaStsPolicies
            from maildispatch.adapters.smtp_mx import MxTransport

            resolver = DnsResolver(mx.resolver)
            policies = MtaStsPolicies(resolver, mx.mta_sts) if mx.mta_sts is not None else None
            self._transport = MxTransport(mx.transport, resolver, mta_sts=policies, tls_reporter=self._tls_reporter)
        self._transport.begin_invocation()
        await self._transport.expire_idle()
        return self._transport

    async def close(self) -> None:
        """QUIT every kept connection (tests, and a container that is told to shut down)."""
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.close()
