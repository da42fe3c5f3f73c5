"""DKIM through the real dispatch handler: keys in Secrets Manager (moto), DKIM_KEYS in the function's
environment, the message through RelayTransport to the scripted relay, and the bytes the relay stored
verified by dkimpy against the public keys the DNS test server publishes."""

from __future__ import annotations

import json
import uuid

import dkim
import dns.exception
import dns.resolver
import pytest

from maildispatch.adapters.dkim_signer import SigningKey
from maildispatch.core.dkim import SignerIdentity, key_record
from tests.fakes import dkim as keys
from tests.integration.test_handlers import invoke, sqs_event
from tests.stack.dns_server import DnsServer
from tests.stack.local_stack import LocalStack
from tests.stack.moto import aws_client

SECRET_PREFIX = "maildispatch/dkim/"


@pytest.fixture(scope="module")
def published():
    with DnsServer({name: [("TXT", text)] for name, text in keys.published().items()}, zones=["com"]) as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    suffix = uuid.uuid4().hex[:6]
    secrets = aws_client("secretsmanager", moto_server.endpoint_url)
    arns = {
        name: secrets.create_secret(Name=f"{SECRET_PREFIX}{name}-{suffix}", SecretString=pem.decode())["ARN"]
        for name, pem in (("rsa", keys.pem(keys.rsa_key())), ("ed", keys.pem(keys.ed25519_key())))
    }
    dkim_keys = {
        keys.DOMAIN: {
            "selector": keys.RSA_SELECTOR,
            "secret_arn": arns["rsa"],
            "ed25519_selector": keys.ED25519_SELECTOR,
            "ed25519_secret_arn": arns["ed"],
        }
    }
    with LocalStack(
        tmp_path_factory.mktemp("dkim"), function_env={"DKIM_KEYS": json.dumps(dkim_keys)}, moto=moto_server
    ) as running:
        yield running


def txt_from(server: DnsServer):
    """dkimpy's dnsfunc, asking the DNS test server."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [server.host], server.port, 2.0

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        try:
            answer = resolver.resolve(name.decode("ascii"), "TXT")
        except dns.exception.DNSException:
            return None
        return b"".join(answer[0].strings)

    return lookup


def stored(stack, recipient: str) -> bytes:
    [path] = [p for p in stack.delivered_files() if f"X-Envelope-To: {recipient}".encode() in p.read_bytes()]
    return path.read_bytes()


def verdicts(message: bytes, server: DnsServer) -> list[tuple[str, bool]]:
    found = []
    lookup = txt_from(server)
    signatures = [v for n, v in dkim.DKIM(message).headers if n.lower() == b"dkim-signature"]
    for index, value in enumerate(signatures):
        algorithm = dict(t.strip().split("=", 1) for t in value.decode().split(";") if "=" in t)["a"]
        try:
            good = bool(dkim.DKIM(message).verify(idx=index, dnsfunc=lookup))
        except dkim.DKIMException:
            good = False
        found.append((algorithm, good))
    return found


def test_what_the_relay_received_verifies_against_the_published_keys(stack, published):
    body = json.dumps(
        {
            "message_key": "dkim-1",
            "from": "Cửa hàng <shop@example.com>",
            "to": ["binh@example.net"],
            "subject": "Đơn hàng đã gửi",
            "text": "Xin chào,\nđơn hàng của bạn đã gửi.  \n",
            "html": "<p>Xin chào</p>",
            "headers": {
                "List-Unsubscribe": "<https://example.com/u/t0k3n>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
    )
    assert invoke(stack, "DispatchFunction", sqs_event(stack, "SendQueue", [body])) == {"batchItemFailures": []}
    message = stored(stack, "binh@example.net")
    assert verdicts(message, published) == [("rsa-sha256", True), ("ed25519-sha256", True)]
    assert dkim.verify(message, dnsfunc=txt_from(published))


def test_mail_from_a_domain_without_a_key_goes_out_unsigned(stack, published):
    body = json.dumps(
        {"message_key": "dkim-2", "from": "x@other.example", "to": ["an@example.net"], "subject": "s", "text": "t"}
    )
    assert invoke(stack, "DispatchFunction", sqs_event(stack, "SendQueue", [body])) == {"batchItemFailures": []}
    assert b"DKIM-Signature" not in stored(stack, "an@example.net")


def test_a_key_the_dns_does_not_publish_fails_verification(stack, published):
    """The check can fail: the same stored message against another published key does not verify."""
    message = stored(stack, "binh@example.net")
    another = key_record(
        "rsa-sha256", SigningKey(SignerIdentity("example.com", "x"), keys.rsa_key(2048, 1)).public_key_bytes()
    )
    with DnsServer({f"{keys.RSA_SELECTOR}._domainkey.example.com": [("TXT", another)]}, zones=["com"]) as wrong:
        assert verdicts(message, wrong)[0] == ("rsa-sha256", False)
