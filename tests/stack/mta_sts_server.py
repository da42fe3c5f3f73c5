"""An HTTPS server for MTA-STS policies (RFC 8461) on 127.0.0.1, with a certificate from the test CA.

    with PolicyServer(tmp / "sts", {"example.test": "version: STSv1\\nmode: enforce\\n..."}) as sts:
        MtaStsSettings(ca_file=str(sts.ca_file), policy_host_override=sts.endpoint)

It answers `GET /.well-known/mta-sts.txt` for the Host `mta-sts.<domain>` of each configured domain
(text/plain, 200), 404 for others; `hits[domain]` counts fetches. The certificate names every
`mta-sts.<domain>` (and `extra_names`, e.g. MX hosts, so SMTP test servers can share the CA).
Runs in a daemon thread; `stop()` shuts it down.
"""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType

from tests.stack.certs import CertificateFiles, make_certificates
from tests.stack.http_server import BackgroundHttpServer

POLICY_PATH = "/.well-known/mta-sts.txt"


class PolicyServer:
    def __init__(self, directory: Path, policies: dict[str, str], *, extra_names: Iterable[str] = ()) -> None:
        self.policies = dict(policies)
        self.hits: Counter[str] = Counter()
        names = [f"mta-sts.{domain}" for domain in policies] + list(extra_names)
        self.certificates: CertificateFiles = make_certificates(directory, names=names)
        self._server: BackgroundHttpServer | None = None
        self.port = 0

    @property
    def ca_file(self) -> Path:
        return self.certificates.ca_file

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> PolicyServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                domain = host.removeprefix("mta-sts.")
                policy = owner.policies.get(domain)
                if self.path != POLICY_PATH or not host.startswith("mta-sts.") or policy is None:
                    self.send_error(404)
                    return
                owner.hits[domain] += 1
                body = policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificates.cert_file, self.certificates.key_file)
        self._server = BackgroundHttpServer(Handler, tls=context, name="mta-sts")
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> PolicyServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def policy_text(mode: str, *mx: str, max_age: int = 86400) -> str:
    return "version: STSv1\r\n" + f"mode: {mode}\r\n" + "".join(f"mx: {m}\r\n" for m in mx) + f"max_age: {max_age}\r\n"
