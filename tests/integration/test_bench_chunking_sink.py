"""The latency-bound benchmark's relay stand-in (bench/chunking_sink.py) speaks what the transport sends.

If it misread BDAT or DATA, the benchmark would measure failures; these deliver through it in
process, with CHUNKING offered and not.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.chunking_sink import Session
from maildispatch.adapters.smtp_relay import CHUNKING_MAX_BYTES, RelaySettings, RelayTransport
from maildispatch.core.outcome import Delivered, Envelope, Outcome

SMALL = b"From: a@example.com\r\nSubject: t\r\n\r\n.a line with a dot\r\n.\r\nend\r\n"
LARGE = b"From: a@example.com\r\nSubject: t\r\n\r\n" + (b"z" * 76 + b"\r\n") * (CHUNKING_MAX_BYTES // 78 + 1)


def deliver_through_sink(*, offer_chunking: bool) -> list[list[Outcome]]:
    async def run() -> list[list[Outcome]]:
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(lambda: Session(offer_chunking), "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        settings = RelaySettings(host="127.0.0.1", port=port, security="none", allow_insecure=True, timeout=5)
        try:
            async with RelayTransport(settings) as transport:
                envelope = Envelope("a@example.com", ("b@example.net", "c@example.net"))
                return list(
                    await asyncio.gather(*(transport.deliver(envelope, m) for m in [SMALL] * 20 + [LARGE, SMALL]))
                )
        finally:
            listener.close()
            await listener.wait_closed()

    return asyncio.run(run())


@pytest.mark.parametrize("offer_chunking", [True, False], ids=["BDAT", "DATA"])
def test_every_message_is_delivered_through_the_stand_in(offer_chunking: bool) -> None:
    results = deliver_through_sink(offer_chunking=offer_chunking)
    assert all(isinstance(o, Delivered) for outcomes in results for o in outcomes)
