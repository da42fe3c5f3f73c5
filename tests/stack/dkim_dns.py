"""DKIM on the local stack: keys in Secrets Manager (moto), their public halves in a DNS test server,
and dkimpy's verdict on what the relay received, checked against that server.

    with PublishedDkimKeys(moto_endpoint) as dkim:
        env = {"DKIM_KEYS": dkim.dkim_keys_setting}
        ...
        dkim.verifies(raw_message)   # True, False (a signature failed) or None (not signed)
"""

from __future__ import annotations

import json
import uuid
from types import TracebackType

import dkim
import dns.exception
import dns.resolver

from tests.fakes import dkim as keys
from tests.stack.dns_server import DnsServer
from tests.stack.moto import aws_client

SECRET_PREFIX = "maildispatch/dkim/"  # the template's DkimSecretsPrefix default


class PublishedDkimKeys:
    """RSA and Ed25519 keys for example.com: private halves as secrets, public halves in DNS."""

    def __init__(self, moto_endpoint: str) -> None:
        self._endpoint = moto_endpoint
        self.dns = DnsServer({name: [("TXT", text)] for name, text in keys.published().items()}, zones=["com"])
        self.dkim_keys_setting = ""

    def start(self) -> PublishedDkimKeys:
        self.dns.start()
        secrets = aws_client("secretsmanager", self._endpoint)
        suffix = uuid.uuid4().hex[:6]
        arns = {
            kind: secrets.create_secret(
                Name=f"{SECRET_PREFIX}{keys.DOMAIN}-{kind}-{suffix}", SecretString=pem.decode()
            )["ARN"]
            for kind, pem in (("rsa", keys.pem(keys.rsa_key())), ("ed25519", keys.pem(keys.ed25519_key())))
        }
        self.dkim_keys_setting = json.dumps(
            {
                keys.DOMAIN: {
                    "selector": keys.RSA_SELECTOR,
                    "secret_arn": arns["rsa"],
                    "ed25519_selector": keys.ED25519_SELECTOR,
                    "ed25519_secret_arn": arns["ed25519"],
                }
            }
        )
        return self

    def stop(self) -> None:
        self.dns.stop()

    def __enter__(self) -> PublishedDkimKeys:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def txt_lookup(self, server: DnsServer | None = None):
        """dkimpy's dnsfunc, asking the DNS test server (this one's, or `server`)."""
        server = server or self.dns
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = [server.host], server.port, 2.0

        def lookup(name: bytes, timeout: int = 5) -> bytes | None:
            try:
                answer = resolver.resolve(name.decode("ascii"), "TXT")
            except dns.exception.DNSException:
                return None
            return b"".join(answer[0].strings)

        return lookup

    def verdicts(self, message: bytes, server: DnsServer | None = None) -> list[tuple[str, bool]]:
        """(algorithm, verified) for every DKIM-Signature of `message`, top first."""
        lookup = self.txt_lookup(server)
        found = []
        signatures = [v for n, v in dkim.DKIM(message).headers if n.lower() == b"dkim-signature"]
        for index, value in enumerate(signatures):
            algorithm = dict(t.strip().split("=", 1) for t in value.decode().split(";") if "=" in t).get("a", "?")
            try:
                good = bool(dkim.DKIM(message, minkey=1024).verify(idx=index, dnsfunc=lookup))
            except (dkim.DKIMException, ValueError):  # PyNaCl raises ValueError on a key of the wrong kind
                good = False
            found.append((algorithm, good))
        return found

    def verifies(self, message: bytes) -> bool | None:
        """True when every signature verifies, False when one does not, None when the message is unsigned."""
        found = self.verdicts(message)
        return all(good for _, good in found) if found else None
