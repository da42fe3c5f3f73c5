"""A small Internet on loopback for direct-to-MX delivery: DNS and MX hosts on 127.0.0.x.

    with MxWorld(tmp / "mx") as world:
        stack.use_mx_mode(world)          # the dispatch function resolves through world.dns
        ...send to ann@two-mx.test...

The zones (served by tests/stack/dns_server.py):
- `two-mx.test`: MX 10 mx1.two-mx.test (127.0.0.2, where nothing listens: connection refused),
  MX 20 mx2.two-mx.test (127.0.0.3, an aiosmtpd server offering STARTTLS); it refuses
  `nobody@two-mx.test` at RCPT (550 5.1.1);
- `null-mx.test`: a null MX (`0 .`, RFC 7505) and an A record that must never be used;
- `example.com`, the senders' domain: MX 10 mx.example.com (127.0.0.4, STARTTLS), where the bounce
  function in mx mode delivers its DSNs; it refuses `gone@example.com` (550 5.1.1);
- anything else under .test or example.com (`no-such-domain.test`): NXDOMAIN.
Every MX host listens on the same port (`port`), as they would all listen on 25.
"""

from __future__ import annotations

import socket
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType

from tests.stack.dns_server import DnsServer
from tests.stack.relay_fixtures import RelayProcess

REFUSING, ACCEPTING, SENDER_MX = "127.0.0.2", "127.0.0.3", "127.0.0.4"
TWO_MX, NULL_MX, NO_SUCH_DOMAIN = "two-mx.test", "null-mx.test", "no-such-domain.test"
SENDER_DOMAIN = "example.com"  # events/mx-requests/ send from shop@example.com
HELO_NAME = "out.maildispatch.test"
UNKNOWN_RECIPIENT = f"nobody@{TWO_MX}"  # mx2 refuses it at RCPT: a bounce, and a DSN to the sender by MX
GONE_SENDER = f"gone@{SENDER_DOMAIN}"  # the senders' MX refuses it: a DSN nobody takes
REFUSALS = {
    ACCEPTING: {
        "rcpt": {UNKNOWN_RECIPIENT: [f"550 5.1.1 <{UNKNOWN_RECIPIENT}>: Recipient address rejected: User unknown"]}
    },
    SENDER_MX: {"rcpt": {GONE_SENDER: [f"550 5.1.1 <{GONE_SENDER}>: Recipient address rejected: User unknown"]}},
}

ZONE = {
    TWO_MX: [("MX", f"10 mx1.{TWO_MX}."), ("MX", f"20 mx2.{TWO_MX}.")],
    f"mx1.{TWO_MX}": [("A", REFUSING)],
    f"mx2.{TWO_MX}": [("A", ACCEPTING)],
    NULL_MX: [("MX", "0 ."), ("A", ACCEPTING)],
    SENDER_DOMAIN: [("MX", f"10 mx.{SENDER_DOMAIN}.")],
    f"mx.{SENDER_DOMAIN}": [("A", SENDER_MX)],
}


def free_port_on(*addresses: str) -> int:
    """A TCP port free on every one of these addresses."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = probe.getsockname()[1]
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no port free on all of {addresses}")


class MxWorld:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.dns = DnsServer(ZONE, zones=("test", SENDER_DOMAIN))
        self.mx = RelayProcess()  # mx2.two-mx.test: the recipients' MX
        self.sender_mx = RelayProcess()  # mx.example.com: the senders' MX, where DSNs arrive
        self.port = 0

    def start(self) -> MxWorld:
        try:
            self.port = free_port_on(REFUSING, ACCEPTING, SENDER_MX)
            self.dns.start()
            for process, name, address in (
                (self.mx, f"mx2.{TWO_MX}", ACCEPTING),
                (self.sender_mx, f"mx.{SENDER_DOMAIN}", SENDER_MX),
            ):
                process.start(
                    self.directory / name,
                    REFUSALS[address],
                    host=address,
                    port=self.port,
                    tls_optional=True,
                    cert_names=[name],
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.sender_mx.stop()
        self.mx.stop()
        self.dns.stop()

    def dsn_messages(self) -> list[EmailMessage]:
        """The DSNs (from <>) the world's MX hosts received, in arrival order per host."""
        return [m for host in (self.sender_mx, self.mx) for m in host.messages() if m["X-Envelope-From"] == "<>"]

    def __enter__(self) -> MxWorld:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def function_env(self) -> dict[str, str]:
        """The dispatch and bounce functions' settings for direct-to-MX delivery in this world."""
        return {
            "DELIVERY_MODE": "mx",
            "MX_HELO_NAME": HELO_NAME,
            "MX_PORT": str(self.port),
            "MX_TIMEOUT": "5",
            "MX_ALLOW_PRIVATE_ADDRESSES": "true",  # 127.0.0.x: only here
            "DNS_NAMESERVERS": self.dns.host,
            "DNS_PORT": str(self.dns.port),
            "DNS_TIMEOUT": "0.5",
            "DNS_LIFETIME": "1",
        }
