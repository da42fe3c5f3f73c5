"""The relay transport (adapters/smtp_relay.py) reads and sets a few of aiosmtplib 5.1's protocol
internals to read replies without extra turns of the loop. An aiosmtplib that renames or drops them
fails here, by name, instead of as a hung or mispaired reply in production."""

import asyncio
import inspect

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol

INTERNALS_READ = ("_response_waiter", "_response_pending", "_loop", "_buffer")
METHODS_CALLED = ("_read_response_from_buffer", "_drain_helper", "read_response")


def test_the_pinned_aiosmtplib_is_the_one_the_transport_was_written_for():
    assert aiosmtplib.__version__.startswith("5.1."), "re-check adapters/smtp_relay.py's use of its internals"


def test_the_protocol_has_the_internals_the_transport_reads():
    loop = asyncio.new_event_loop()
    try:
        protocol = SMTPProtocol(loop=loop)
        assert [name for name in INTERNALS_READ if not hasattr(protocol, name)] == []
        assert [name for name in METHODS_CALLED if not callable(getattr(protocol, name, None))] == []
    finally:
        loop.close()


def test_read_response_still_keeps_the_bookkeeping_the_transport_repeats():
    """_awaited_reply does what read_response does around its waiter: the pending flag and a fresh waiter."""
    source = inspect.getsource(SMTPProtocol.read_response)
    assert "_response_pending" in source
    assert "_response_waiter" in source
