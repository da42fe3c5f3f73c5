"""Direct-to-MX delivery against a real DNS server and SMTP servers on distinct loopback addresses.

One module-scoped stack (started once, about a second):
- DNS: tests/stack/dns_server.py serving the zones below;
- 127.0.0.2: nothing listens (connection refused);
- 127.0.0.3: a good MX, STARTTLS offered (not required), certificate for every *.test MX name below;
- 127.0.0.4: answers 421 at the greeting;
- 127.0.0.5: a good MX without STARTTLS;
- 127.0.0.6: a socket that accepts connections and never says a word;
- an HTTPS server with MTA-STS policies, certificate from its own test CA.
All SMTP servers listen on the same port, as MX hosts all listen on 25.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from maildispatch.adapters.dns_resolver import DnsResolver, ResolverSettings
from maildispatch.adapters.mta_sts import MtaStsPolicies, MtaStsSettings
from maildispatch.adapters.smtp_mx import MxSettings, MxTransport
from maildispatch.core.outcome import Bounced, Deferred, Delivered, Envelope
from tests.stack.dns_server import DnsServer
from tests.stack.mta_sts_server import PolicyServer, policy_text
from tests.stack.mx_world import free_port_on
from tests.stack.relay_fixtures import RelayProcess

DOWN, GOOD, BUSY, PLAIN, SILENT = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"
GOOD_NAMES = ["good.pref.test", "mx.sts-enforce.test", "mx.sts-testing.test", "good.cname.test"]

ZONE = {
    # two MX hosts, the better one refuses connections
    "pref.test": [("MX", "10 down.pref.test."), ("MX", "20 good.pref.test.")],
    "down.pref.test": [("A", DOWN)],
    "good.pref.test": [("A", GOOD)],
    # the better MX answers 421 at the greeting
    "busy.test": [("MX", "10 mx.busy.test."), ("MX", "20 good.pref.test.")],
    "mx.busy.test": [("A", BUSY)],
    # no MX: the domain's own address
    "implicit.test": [("A", GOOD), ("TXT", "v=spf1 -all")],
    "nullmx.test": [("MX", "0 ."), ("A", GOOD)],
    "alias.test": [("CNAME", "pref.test.")],  # the MX lookup follows the CNAME
    "cname.test": [("MX", "10 good.cname.test.")],
    "good.cname.test": [("CNAME", "good.pref.test.")],
    "alldown.test": [("MX", "10 down.pref.test.")],
    # the better MX takes the connection and never greets
    "silent.test": [("MX", "10 mx.silent.test."), ("MX", "20 good.pref.test.")],
    "mx.silent.test": [("A", SILENT)],
    # MTA-STS
    "sts-enforce.test": [("MX", "10 mx.sts-enforce.test.")],
    "_mta-sts.sts-enforce.test": [("TXT", "v=STSv1; id=one")],
    "mx.sts-enforce.test": [("A", GOOD)],
    "sts-nomatch.test": [("MX", "10 good.pref.test.")],
    "_mta-sts.sts-nomatch.test": [("TXT", "v=STSv1; id=one")],
    "sts-notls.test": [("MX", "10 mx.sts-notls.test.")],
    "_mta-sts.sts-notls.test": [("TXT", "v=STSv1; id=one")],
    "mx.sts-notls.test": [("A", PLAIN)],
    "sts-badcert.test": [("MX", "10 mx.sts-badcert.test.")],  # 127.0.0.3's certificate does not name it
    "_mta-sts.sts-badcert.test": [("TXT", "v=STSv1; id=one")],
    "mx.sts-badcert.test": [("A", GOOD)],
    # DANE (TLSA records added by the fixture, once the port is known)
    "dane-ok.test": [("MX", "10 mx.dane-ok.test.")],
    "mx.dane-ok.test": [("A", GOOD)],
    "dane-bad.test": [("MX", "10 mx.dane-bad.test.")],
    "mx.dane-bad.test": [("A", GOOD)],
    "dane-unsigned.test": [("MX", "10 mx.dane-unsigned.test.")],
    "mx.dane-unsigned.test": [("A", GOOD)],
    "dane-notls.test": [("MX", "10 mx.dane-notls.test.")],
    "mx.dane-notls.test": [("A", PLAIN)],
    "dane-sts.test": [("MX", "10 mx.sts-badcert.test.")],  # MTA-STS enforce would refuse its certificate
    "_mta-sts.dane-sts.test": [("TXT", "v=STSv1; id=one")],
    "sts-testing.test": [("MX", "10 mx.sts-testing.test.")],
    "_mta-sts.sts-testing.test": [("TXT", "v=STSv1; id=one")],
    "mx.sts-testing.test": [("A", PLAIN)],
}
POLICIES = {
    "sts-enforce.test": policy_text("enforce", "mx.sts-enforce.test"),
    "sts-nomatch.test": policy_text("enforce", "*.elsewhere.test"),
    "sts-notls.test": policy_text("enforce", "*.sts-notls.test"),
    "sts-badcert.test": policy_text("enforce", "mx.sts-badcert.test"),
    "dane-sts.test": policy_text("enforce", "mx.sts-badcert.test"),
    "sts-testing.test": policy_text("testing", "*.sts-testing.test"),
}


@dataclass
class Stack:
    dns: DnsServer
    good: RelayProcess
    plain: RelayProcess
    busy: RelayProcess
    sts: PolicyServer
    port: int

    def transport(
        self, *, dane: bool = False, idle_timeout: float = 30.0, timeout: float = 3.0, **changes: object
    ) -> MxTransport:
        resolver = DnsResolver(
            ResolverSettings(nameservers=(self.dns.host,), port=self.dns.port, timeout=0.3, lifetime=0.6, cache=False)
        )
        policies = MtaStsPolicies(
            resolver, MtaStsSettings(ca_file=str(self.sts.ca_file), policy_host_override=self.sts.endpoint)
        )
        settings = MxSettings(
            helo_name="sender.maildispatch.test",
            port=self.port,
            timeout=3.0,
            allow_private_addresses=True,
            ca_file=self.good.ca_file,
        )
        settings = dataclasses.replace(
            settings, dane=dane, idle_timeout=idle_timeout, timeout=timeout, connect_timeout=0.3
        )
        return MxTransport(settings, resolver, mta_sts=policies, rng=random.Random(1), **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root: Path = tmp_path_factory.mktemp("mx")
    port = free_port_on(DOWN, GOOD, BUSY, PLAIN, SILENT)
    silent = socket.create_server((SILENT, port), backlog=16)  # the kernel completes connections; no one reads
    started: list[RelayProcess] = []
    try:
        good = RelayProcess().start(root / "good", host=GOOD, port=port, tls_optional=True, cert_names=GOOD_NAMES)
        started.append(good)
        busy = RelayProcess().start(
            root / "busy", host=BUSY, port=port, security="none", greeting="421 4.3.2 Too busy, come back later"
        )
        started.append(busy)
        plain = RelayProcess().start(root / "plain", host=PLAIN, port=port, security="none")
        started.append(plain)
        with (
            DnsServer(ZONE, servfail={"broken.test"}, zones=("test",)) as dns,
            PolicyServer(root / "sts", POLICIES) as sts,
        ):
            publish_tlsa(dns, port, good)
            yield Stack(dns, good, plain, busy, sts, port)
    finally:
        silent.close()
        for process in started:
            process.stop()


def publish_tlsa(dns: DnsServer, port: int, good: RelayProcess) -> None:
    """TLSA 3 1 1 records for the good server's key: validated (AD) for dane-ok, dane-notls and the
    dane-sts MX; a wrong one, validated, for dane-bad; a right one, not validated, for dane-unsigned."""
    assert good.certificates is not None
    cert = x509.load_pem_x509_certificate(good.certificates.cert_file.read_bytes())
    key = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    right, wrong = "3 1 1 " + hashlib.sha256(key).hexdigest(), "3 1 1 " + "00" * 32
    for host, record, validated in [
        ("mx.dane-ok.test", right, True),
        ("mx.dane-notls.test", right, True),
        ("mx.sts-badcert.test", right, True),
        ("mx.dane-bad.test", wrong, True),
        ("mx.dane-unsigned.test", wrong, False),
    ]:
        dns.add(f"_{port}._tcp.{host}", "TLSA", record)
        if validated:
            dns.authenticated.add(f"_{port}._tcp.{host}")


def deliver(transport: MxTransport, *recipients: str, sender: str = "shop@sender.test") -> list:
    message = b"From: shop@sender.test\r\nSubject: hi\r\nMessage-ID: <m1@sender.test>\r\n\r\nHello\r\n"

    async def run() -> list:
        try:
            return await transport.deliver(Envelope(sender, recipients), message)
        finally:
            await transport.close()

    return asyncio.run(run())


def received_by(relay: RelayProcess, recipient: str) -> int:
    return sum(1 for m in relay.messages() if recipient in m.get_all("X-Envelope-To", []))


def test_the_next_mx_takes_the_mail_when_the_best_refuses_connections(stack: Stack) -> None:
    (outcome,) = deliver(stack.transport(), "ann@pref.test")
    assert isinstance(outcome, Delivered)
    assert outcome.reply.remote_mta == "good.pref.test"  # the DSN's and the event's Remote-MTA
    assert received_by(stack.good, "ann@pref.test") == 1
    ehlo = stack.good.log_events("ehlo")[-1]
    assert ehlo["hostname"] == "sender.maildispatch.test"


def test_a_421_greeting_sends_the_mail_to_the_next_mx(stack: Stack) -> None:
    (outcome,) = deliver(stack.transport(), "bea@busy.test")
    assert isinstance(outcome, Delivered) and outcome.reply.remote_mta == "good.pref.test"
    assert stack.busy.log_events("greeting"), "the 421 server was tried first"


def test_an_mx_that_never_greets_costs_the_connect_timeout_then_the_next_one_takes_the_mail(stack: Stack) -> None:
    (outcome,) = deliver(stack.transport(), "cy@silent.test")
    assert isinstance(outcome, Delivered) and outcome.reply.remote_mta == "good.pref.test"


def test_no_next_mx_is_started_once_a_command_timeout_has_passed(stack: Stack) -> None:
    (outcome,) = deliver(stack.transport(timeout=0.2), "di@silent.test")
    assert isinstance(outcome, Deferred) and outcome.reply.status == "4.4.1"
    assert outcome.reply.remote_mta == "mx.silent.test" and "no greeting" in outcome.reply.text
    assert received_by(stack.good, "di@silent.test") == 0


def test_opportunistic_starttls_is_used_when_offered(stack: Stack) -> None:
    deliver(stack.transport(), "tls@implicit.test")
    assert stack.good.log_events("ehlo")[-1]["tls"] is True


def test_no_mx_delivers_to_the_domains_own_address(stack: Stack) -> None:
    (outcome,) = deliver(stack.transport(), "cal@implicit.test")
    assert isinstance(outcome, Delivered) and outcome.reply.remote_mta == "implicit.test"


def test_cname_chains_are_followed_for_the_domain_and_the_mx_host(stack: Stack) -> None:
    outcomes = deliver(stack.transport(), "dan@alias.test", "eve@cname.test")
    assert [type(o) for o in outcomes] == [Delivered, Delivered]


def test_null_mx_nxdomain_and_servfail(stack: Stack) -> None:
    null, nx, servfail = deliver(stack.transport(), "fay@nullmx.test", "gus@nosuch.test", "hal@broken.test")
    assert isinstance(null, Bounced) and null.reply.status == "5.1.10"
    assert received_by(stack.good, "fay@nullmx.test") == 0, "a null MX never falls back to the A record"
    assert isinstance(nx, Bounced) and nx.reply.status == "5.1.2"
    assert isinstance(servfail, Deferred) and servfail.reply.status == "4.4.3"


def test_a_domain_that_cannot_be_written_in_dns_bounces_as_nonexistent(stack: Stack) -> None:
    long_label, empty_label = deliver(stack.transport(), "ann@" + "a" * 70 + ".test", "bob@a..test")
    assert isinstance(long_label, Bounced) and long_label.reply.status == "5.1.2"
    assert isinstance(empty_label, Bounced) and empty_label.reply.status == "5.1.2"


def test_per_recipient_replies_stay_per_recipient_and_domains_get_one_transaction_each(stack: Stack) -> None:
    stack.good.set_script({"rcpt": {"ghost@pref.test": ["550 5.1.1 <ghost@pref.test>: User unknown"]}})
    try:
        outcomes = deliver(stack.transport(), "ivy@pref.test", "ghost@pref.test", "jon@implicit.test")
    finally:
        stack.good.set_script({})
    assert [type(o) for o in outcomes] == [Delivered, Bounced, Delivered]
    assert outcomes[1].reply.status == "5.1.1" and outcomes[1].reply.remote_mta == "good.pref.test"


def test_a_failed_destination_is_remembered_for_the_invocation(stack: Stack) -> None:
    transport = stack.transport()

    async def run() -> tuple[list, list, int]:
        message = b"Subject: x\r\n\r\nx\r\n"
        first = await transport.deliver(Envelope("a@sender.test", ("kim@alldown.test",)), message)
        remembered = transport.failed_destinations
        second = await transport.deliver(Envelope("a@sender.test", ("lea@pref.test",)), message)
        await transport.close()
        return first, second, remembered

    first, second, remembered = asyncio.run(run())
    assert isinstance(first[0], Deferred) and first[0].reply.status.startswith("4.4")
    assert remembered == 1
    assert isinstance(second[0], Delivered)
    transport.begin_invocation()
    assert transport.failed_destinations == 0


def test_mta_sts_enforce_delivers_over_verified_tls(stack: Stack) -> None:
    transport = stack.transport()
    (outcome,) = deliver(transport, "max@sts-enforce.test")
    assert isinstance(outcome, Delivered)
    assert stack.good.log_events("ehlo")[-1]["tls"] is True
    assert transport.tls_reports == []
    assert stack.sts.hits["sts-enforce.test"] >= 1


def test_mta_sts_enforce_refuses_a_certificate_not_valid_for_the_mx_name(stack: Stack) -> None:
    transport = stack.transport()
    (outcome,) = deliver(transport, "quin@sts-badcert.test")
    assert isinstance(outcome, Deferred) and outcome.reply.status == "4.7.5"
    assert "certificate" in outcome.reply.text
    assert received_by(stack.good, "quin@sts-badcert.test") == 0
    assert [r.result for r in transport.tls_reports] == ["certificate-host-mismatch"]


def test_mta_sts_enforce_refuses_an_mx_outside_the_policy_or_without_starttls(stack: Stack) -> None:
    transport = stack.transport()
    nomatch, notls = deliver(transport, "ned@sts-nomatch.test", "ola@sts-notls.test")
    assert isinstance(nomatch, Deferred) and nomatch.reply.status == "4.7.5" and "MTA-STS" in nomatch.reply.text
    assert isinstance(notls, Deferred) and "STARTTLS" in notls.reply.text
    assert received_by(stack.plain, "ola@sts-notls.test") == 0
    assert {r.result for r in transport.tls_reports} == {"certificate-host-mismatch", "starttls-not-supported"}


def test_mta_sts_testing_delivers_and_reports(stack: Stack) -> None:
    transport = stack.transport()
    (outcome,) = deliver(transport, "pat@sts-testing.test")
    assert isinstance(outcome, Delivered)
    assert [(r.domain, r.result, r.mode) for r in transport.tls_reports] == [
        ("sts-testing.test", "starttls-not-supported", "testing")
    ]


def test_dane_a_matching_certificate_is_required_and_enough(stack: Stack) -> None:
    transport = stack.transport(dane=True)
    ok, bad, notls = deliver(transport, "rae@dane-ok.test", "sam@dane-bad.test", "tom@dane-notls.test")
    assert isinstance(ok, Delivered)  # DANE-EE: the key matches; the name on the certificate does not matter
    assert isinstance(bad, Deferred) and bad.reply.status == "4.7.5" and "TLSA" in bad.reply.text
    assert isinstance(notls, Deferred) and "STARTTLS" in notls.reply.text
    assert received_by(stack.good, "sam@dane-bad.test") == 0 and received_by(stack.plain, "tom@dane-notls.test") == 0
    assert sorted(r.result for r in transport.tls_reports) == ["dane-required", "tlsa-invalid"]


def test_dane_ignores_tlsa_records_that_were_not_dnssec_validated(stack: Stack) -> None:
    (outcome,) = deliver(stack.transport(dane=True), "uma@dane-unsigned.test")
    assert isinstance(outcome, Delivered)


def test_dane_wins_over_mta_sts(stack: Stack) -> None:
    (without_dane,) = deliver(stack.transport(), "vic@dane-sts.test")
    assert isinstance(without_dane, Deferred), "MTA-STS enforce alone refuses this certificate"
    (with_dane,) = deliver(stack.transport(dane=True), "wes@dane-sts.test")
    assert isinstance(with_dane, Delivered)


def test_a_warm_transport_reuses_its_mx_connection_and_forgets_it_once_idle(stack: Stack) -> None:
    transport = stack.transport(idle_timeout=0.2)
    message = b"Subject: x\r\n\r\nx\r\n"

    async def run() -> tuple[int, int, int]:
        before = len(stack.good.log_events("connect"))
        for name in ("xia", "yan"):
            await transport.deliver(Envelope("a@sender.test", (f"{name}@implicit.test",)), message)
        connections = len(stack.good.log_events("connect")) - before
        await asyncio.sleep(0.3)
        expired = await transport.expire_idle()
        return connections, expired, transport.sessions

    connections, expired, sessions = asyncio.run(run())
    assert connections == 1, "the second message went over the first one's connection"
    assert (expired, sessions) == (1, 0)
