"""A small Internet on loopback for direct-to-MX delivery: DNS and MX hosts on 127.0.0.x.

    with MxWorld(tmp / "mx") as world:
        stack.use_mx_mode(world)          # the dispatch function resolves through world.dns
        ...send to ann@two-mx.test...

The zones (all under .test, served by tests/stack/dns_server.py):
- `two-mx.test`: MX 10 mx1.two-mx.test (127.0.0.2, where nothing listens: connection refused),
  MX 20 mx2.two-mx.test (127.0.0.3, an aiosmtpd server offering STARTTLS);
- `null-mx.test`: a null MX (`0 .`, RFC 7505) and an A record that must never be used;
- anything else under .test (`no-such-domain.test`): NXDOMAIN.
Every MX host listens on the same port (`port`), as they would all listen on 25.
"""

from __future__ import annotations

import socket
from pathlib import Path
from types import TracebackType

from tests.stack.dns_server import DnsServer
from tests.stack.relay_fixtures import RelayProcess

REFUSING, ACCEPTING = "127.0.0.2", "127.0.0.3"
TWO_MX, NULL_MX, NO_SUCH_DOMAIN = "two-mx.test", "null-mx.test", "no-such-domain.test"
HELO_NAME = "out.maildispatch.test"

ZONE = {
    TWO_MX: [("MX", f"10 mx1.{TWO_MX}."), ("MX", f"20 mx2.{TWO_MX}.")],
    f"mx1.{TWO_MX}": [("A", REFUSING)],
    f"mx2.{TWO_MX}": [("A", ACCEPTING)],
    NULL_MX: [("MX", "0 ."), ("A", ACCEPTING)],
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
        self.dns = DnsServer(ZONE, zones=("test",))
        self.mx = RelayProcess()
        self.port = 0

    def start(self) -> MxWorld:
        try:
            self.port = free_port_on(REFUSING, ACCEPTING)
            self.dns.start()
            self.mx.start(
                self.directory / "mx2", host=ACCEPTING, port=self.port, tls_optional=True, cert_names=[f"mx2.{TWO_MX}"]
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.mx.stop()
        self.dns.stop()

    def __enter__(self) -> MxWorld:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def function_env(self) -> dict[str, str]:
        """The dispatch function's settings for direct-to-MX delivery in this world."""
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
