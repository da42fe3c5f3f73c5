"""SNS message signing on loopback: signing certificates served over HTTPS, envelopes signed as SNS signs them.

The function under test is told two things, both test-only (see docs/returned-mail.md):
`SSL_CERT_FILE` (OpenSSL's own variable) makes the test CA its only system CA, and
`SNS_SIGNING_CERT_TEST_HOST` adds this server's loopback host:port to the SNS hosts a
SigningCertURL may name. Everything else (https, .pem, chain, expiry, RSA) is checked as in production.
"""

from __future__ import annotations

import base64
import http.server
import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from maildispatch.core.sns_signature import CONFIRMATION_FIELDS, NOTIFICATION_FIELDS, canonical_string
from tests.stack.certs import SnsSigningFiles, make_sns_signing_certificates
from tests.stack.http_server import BackgroundHttpServer


@dataclass
class SnsSigning:
    """Start with `start(directory)`; `envelope(message, topic_arn)` signs; `function_env` configures a function."""

    files: SnsSigningFiles | None = None
    fetches: list[str] = field(default_factory=list)  # paths the server was asked for

    def start(self, directory: Path) -> SnsSigning:
        pems: dict[str, bytes] = {}
        fetches = self.fetches

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                fetches.append(self.path)
                if self.path.endswith("-slow.pem"):  # answers after any sensible timeout
                    time.sleep(3)
                body = b"A" * (100 * 1024) if self.path.endswith("-huge.pem") else pems.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server = BackgroundHttpServer(Handler, tls=context, name="sns-certificates")
        self.files = make_sns_signing_certificates(directory, aia_url=f"https://{self.host}/intermediate.cer")
        pems.update({f"/SimpleNotificationService-{name}.pem": pem for name, (pem, _) in self.files.signing.items()})
        pems["/intermediate.cer"] = self.files.intermediate_der
        context.load_cert_chain(self.files.server_cert_file, self.files.server_key_file)
        return self

    def stop(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.stop()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    @property
    def function_env(self) -> dict[str, str]:
        assert self.files is not None
        return {"SSL_CERT_FILE": str(self.files.ca_file), "SNS_SIGNING_CERT_TEST_HOST": self.host}

    def cert_url(self, cert: str = "valid") -> str:
        return f"https://{self.host}/SimpleNotificationService-{cert}.pem"

    def envelope(
        self,
        message: dict | str,
        topic_arn: str,
        *,
        version: str = "2",
        cert: str = "valid",
        cert_url: str | None = None,
        message_type: str = "Notification",
    ) -> dict[str, Any]:
        """The standard SNS envelope for `message`, signed with the named certificate's key."""
        assert self.files is not None
        envelope: dict[str, Any] = {
            "Type": message_type,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2026-11-29T08:02:12.000Z",
            "SignatureVersion": version,
            "SigningCertURL": cert_url or self.cert_url(cert),
            "UnsubscribeURL": f"https://{self.host}/?Action=Unsubscribe",
        }
        fields = NOTIFICATION_FIELDS if message_type == "Notification" else CONFIRMATION_FIELDS
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        _, key = self.files.signing[cert]
        signature = key.sign(canonical_string(envelope, fields), padding.PKCS1v15(), digest)
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope
