"""The container's relay transport, kept across warm invocations by a function that sends mail.

A Lambda container runs one invocation at a time and keeps the function object (and its event
loop, runtime/sqs_batch.py) between them. The dispatch and bounce functions keep their
RelayTransport here (in mx mode, runtime/warm_mx.py does the same for MX sessions), so a warm invocation
sends over the connections the previous one left open, without a new TCP, TLS and AUTH handshake.
Each invocation starts by QUITting connections idle past the relay settings' `idle_timeout` (the
loop did not run while the container was frozen); the transport checks one that waited longer
than `recheck_after` with NOOP before reusing it. When the relay settings change (fetched with a
5-minute cache: a rotated password, a new host), the old pool is closed and a new one made.
"""

from __future__ import annotations

from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport


class WarmRelay:
    """One RelayTransport per container, replaced when the relay settings change."""

    def __init__(self) -> None:
        self._transport: RelayTransport | None = None

    async def transport(self, relay: RelaySettings) -> RelayTransport:
        """The transport for `relay`, with its expired idle connections closed."""
        if self._transport is not None and self._transport.settings != relay:
            old, self._transport = self._transport, None
            await old.close()
        if self._transport is None:
            self._transport = RelayTransport(relay)
        await self._transport.expire_idle()
        return self._transport

    async def close(self) -> None:
        """QUIT every kept connection (tests, and a container that is told to shut down)."""
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.close()
