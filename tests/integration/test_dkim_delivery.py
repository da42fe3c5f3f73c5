"""DKIM through the real dispatch handler: keys in Secrets Manager (moto), DKIM_KEYS in the function's
environment, the message through RelayTransport to the scripted relay, and the bytes the relay stored
verified by dkimpy against the public keys the DNS test server publishes (tests/stack/dkim_dns.py)."""

from __future__ import annotations

import json

import dkim
import pytest

from maildispatch.adapters.dkim_signer import SigningKey
from maildispatch.core.dkim import SignerIdentity, key_record
from tests.fakes import dkim as keys
from tests.integration.test_handlers import invoke, sqs_event
from tests.stack.dns_server import DnsServer
from tests.stack.local_stack import LocalStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    moto_server.reset()
    with LocalStack(tmp_path_factory.mktemp("dkim"), moto=moto_server, dkim=True) as running:
        yield running


def stored(stack, recipient: str) -> bytes:
    [path] = [p for p in stack.delivered_files() if f"X-Envelope-To: {recipient}".encode() in p.read_bytes()]
    return path.read_bytes()


def test_what_the_relay_received_verifies_against_the_published_keys(stack):
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
    assert stack.dkim_keys.verdicts(message) == [("rsa-sha256", True), ("ed25519-sha256", True)]
    assert dkim.verify(message, dnsfunc=stack.dkim_keys.txt_lookup())


def test_mail_from_a_domain_without_a_key_goes_out_unsigned(stack):
    body = json.dumps(
        {"message_key": "dkim-2", "from": "x@other.example", "to": ["an@example.net"], "subject": "s", "text": "t"}
    )
    assert invoke(stack, "DispatchFunction", sqs_event(stack, "SendQueue", [body])) == {"batchItemFailures": []}
    assert stack.dkim_keys.verifies(stored(stack, "an@example.net")) is None
    assert stack.summary([])["dkim_failed"] == 1  # the stack signs example.com: an unsigned message counts as failed


def test_the_bounce_functions_dsn_is_signed_too(stack):
    """mailer-daemon@mail.example.com (PostmasterAddress) signs as example.com, the nearest domain with a key."""
    body = json.dumps(
        {"message_key": "dkim-3", "from": "shop@example.com", "to": ["ghost@example.net"], "subject": "s", "text": "t"}
    )
    stack.enqueue([body])
    stack.drain(timeout_s=30)
    [dsn] = [p.read_bytes() for p in stack.relay_files() if b"X-Envelope-From: <>" in p.read_bytes()]
    assert stack.dkim_keys.verdicts(dsn) == [("rsa-sha256", True), ("ed25519-sha256", True)]


def test_a_key_the_dns_does_not_publish_fails_verification(stack):
    """The check can fail: the same stored message against another published key does not verify."""
    message = stored(stack, "binh@example.net")
    another = SigningKey(SignerIdentity("example.com", "x"), keys.rsa_key(2048, 1)).public_key_bytes()
    record = {f"{keys.RSA_SELECTOR}._domainkey.example.com": [("TXT", key_record("rsa-sha256", another))]}
    with DnsServer(record, zones=["com"]) as wrong:
        assert stack.dkim_keys.verdicts(message, wrong)[0] == ("rsa-sha256", False)
