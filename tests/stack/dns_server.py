"""A small authoritative DNS server for tests, built with dnspython: UDP and TCP on 127.0.0.1.

    with DnsServer({
        "example.test": [("MX", "10 mx1.example.test."), ("MX", "20 mx2.example.test."),
                         ("TXT", "v=spf1 ip4:127.0.0.2 -all")],
        "mx1.example.test": [("A", "127.0.0.2")],
        "nullmx.test": [("MX", "0 .")],
        "alias.test": [("CNAME", "example.test.")],
    }, servfail={"broken.test"}) as dns:
        resolver.nameservers, resolver.port = [dns.host], dns.port

Records are `(type, text)` pairs in zone-file presentation form (`"MX"`, `"10 mx.example.test."`;
`"TLSA"`, `"3 1 1 <hex>"`; `"PTR"`, `"mail.example.test."`). A TXT value is the string itself, unquoted:
longer than 255 bytes it is split into several character-strings, as DKIM keys are published.
Names are written without the trailing dot; `ptr_name("127.0.0.2")` gives the reverse name.

Answers, as a recursive resolver would hand them to a stub:
- a name with records of the asked type: those records (CNAME chains followed inside the server);
- a name that exists without that type: NOERROR with no answer (NODATA);
- an unknown name under one of the served zones: NXDOMAIN. The served zones are the last label of
  every configured name (`test`, `arpa`, …) unless `zones=` names them;
- a name outside the served zones, or listed in `servfail`: SERVFAIL, which is what an unreachable
  upstream looks like from the stub's side;
- a name listed in `silent`: no answer at all (the client times out);
- a name listed in `authenticated`: the AD flag set, as a DNSSEC-validating resolver would.

It runs in two daemon threads (`socketserver`), so it works under any event loop and is stopped
cleanly by `stop()`. `queries` records every (name, type) asked, for tests about caching.
Self-contained: only dnspython and the standard library.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.reversename
import dns.rrset
import pytest

Record = tuple[str, str]
Zone = Mapping[str, Sequence[Record]]

HOST = "127.0.0.1"
DEFAULT_TTL = 300


def ptr_name(address: str) -> str:
    """The reverse-lookup name of an IPv4 or IPv6 address, without the trailing dot."""
    return dns.reversename.from_address(address).to_text(omit_final_dot=True)


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


class DnsServer:
    """An authoritative DNS server on 127.0.0.1 (UDP and TCP on the same free port)."""

    host = HOST

    def __init__(
        self,
        zone: Zone | None = None,
        *,
        zones: Iterable[str] | None = None,
        servfail: Iterable[str] = (),
        silent: Iterable[str] = (),
        authenticated: Iterable[str] = (),
        ttl: int = DEFAULT_TTL,
    ) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._records: dict[str, list[Record]] = {}
        self._explicit_zones = {_norm(z) for z in zones} if zones is not None else None
        self.servfail: set[str] = {_norm(n) for n in servfail}
        self.silent: set[str] = {_norm(n) for n in silent}
        self.authenticated: set[str] = {_norm(n) for n in authenticated}
        self.queries: list[tuple[str, str]] = []
        self.port = 0
        self._udp: socketserver.UDPServer | None = None
        self._tcp: socketserver.TCPServer | None = None
        self._threads: list[threading.Thread] = []
        for name, records in (zone or {}).items():
            for rdtype, value in records:
                self.add(name, rdtype, value)

    # -- configuration (safe while running) ---------------------------------------------------

    def add(self, name: str, rdtype: str, value: str) -> None:
        """Add one record; the value is checked now so a typo fails the test, not the lookup."""
        rdtype = rdtype.upper()
        self._rdata(rdtype, value)
        with self._lock:
            self._records.setdefault(_norm(name), []).append((rdtype, value))

    def remove(self, name: str, rdtype: str | None = None) -> None:
        """Remove a name's records of one type (all of them without a type): it becomes NXDOMAIN."""
        with self._lock:
            key = _norm(name)
            kept = [r for r in self._records.get(key, []) if rdtype is not None and r[0] != rdtype.upper()]
            if kept:
                self._records[key] = kept
            else:
                self._records.pop(key, None)

    def replace(self, name: str, rdtype: str, values: Sequence[str]) -> None:
        self.remove(name, rdtype)
        for value in values:
            self.add(name, rdtype, value)

    def queried(self, name: str, rdtype: str | None = None) -> int:
        """How many times a name (and type) was asked."""
        key = _norm(name)
        return sum(1 for n, t in self.queries if n == key and (rdtype is None or t == rdtype.upper()))

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> DnsServer:
        server = self
        for _attempt in range(20):
            udp = _UdpServer((HOST, 0), _UdpHandler)
            port = udp.server_address[1]
            try:
                tcp = _TcpServer((HOST, port), _TcpHandler)
            except OSError:  # the TCP side of this port is taken: try another
                udp.server_close()
                continue
            break
        else:  # pragma: no cover - the machine has no free ports
            raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")
        udp.dns = tcp.dns = server
        self._udp, self._tcp, self.port = udp, tcp, port
        for srv in (udp, tcp):
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for srv in (self._udp, self._tcp):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._udp = self._tcp = None
        self._threads = []

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- answering --------------------------------------------------------------------------------

    def answer(self, wire: bytes, *, max_size: int | None) -> bytes | None:
        """The response to one query in wire form (None: stay silent)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        qname = _norm(question.name.to_text())
        qtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries.append((qname, qtype))
            if qname in self.silent:
                return None
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA | dns.flags.RA
            self._fill(response, qname, qtype)
        if max_size is None:
            return response.to_wire()
        if query.edns >= 0:
            max_size = max(max_size, query.payload)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer = []
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _fill(self, response: dns.message.Message, qname: str, qtype: str) -> None:
        name = qname
        for _hop in range(8):  # CNAME chain, bounded
            if name in self.servfail or not self._in_zones(name):
                response.set_rcode(dns.rcode.SERVFAIL)
                response.answer = []
                return
            if name in self.authenticated:
                response.flags |= dns.flags.AD
            records = self._records.get(name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return
            wanted = [v for t, v in records if t == qtype]
            cnames = [v for t, v in records if t == "CNAME"]
            if wanted or qtype == "CNAME" or not cnames:
                if wanted:
                    response.answer.append(self._rrset(name, qtype, wanted))
                return
            response.answer.append(self._rrset(name, "CNAME", cnames[:1]))
            name = _norm(cnames[0])
        response.set_rcode(dns.rcode.SERVFAIL)

    def _in_zones(self, name: str) -> bool:
        zones = self._explicit_zones
        if zones is None:
            zones = {n.rsplit(".", 1)[-1] for n in self._records} | {n.rsplit(".", 1)[-1] for n in self.servfail}
        return any(name == z or name.endswith("." + z) for z in zones)

    def _rrset(self, name: str, rdtype: str, values: list[str]) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        for value in values:
            rrset.add(self._rdata(rdtype, value), self.ttl)
        return rrset

    @staticmethod
    def _rdata(rdtype: str, value: str) -> dns.rdata.Rdata:
        if rdtype == "TXT":
            raw = value.encode()
            chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
            return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), value)


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = False
    dns: DnsServer


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    dns: DnsServer


class _UdpHandler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.dns.answer(data, max_size=512)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(5)
        try:
            while True:
                header = _read_exactly(conn, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                data = _read_exactly(conn, length)
                if data is None:
                    return
                reply = self.server.dns.answer(data, max_size=None)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    """An empty running server; add records with `dns_server.add(name, type, value)`."""
    with DnsServer(zones=("test", "arpa")) as server:
        yield server
