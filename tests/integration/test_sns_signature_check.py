"""The SNS signature check against a loopback HTTPS server serving test signing certificates
(adapters/sns_signature.py): the certificate's URL, fetch limits, chain, expiry and the RSA signature."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from maildispatch.adapters.sns_signature import CertificateUnavailable, SnsSignatureVerifier
from tests.stack.sns_signing import SnsSigning

TOPIC = "arn:aws:sns:us-east-1:123456789012:maildispatch-SesNotificationTopic"
BOUNCE = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent"}}


@pytest.fixture(scope="module")
def signing(tmp_path_factory):
    running = SnsSigning().start(tmp_path_factory.mktemp("sns-certs"))
    yield running
    running.stop()


@pytest.fixture
def verify(signing, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(signing.files.ca_file))  # the test CA is the "system" CA
    verifier = SnsSignatureVerifier(
        ThreadPoolExecutor(2), expected_topic_arn=TOPIC, test_cert_host=signing.host, timeout_s=1.0
    )

    def check(envelope):
        return asyncio.run(verifier.verify(envelope))

    return check


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("cert", ["valid", "chained", "aia"])
def test_a_message_signed_with_an_sns_certificate_verifies(signing, verify, version, cert):
    """Directly under a system CA, through an intermediate in the PEM, or through one found by AIA."""
    assert verify(signing.envelope(BOUNCE, TOPIC, version=version, cert=cert)).valid
    assert cert != "aia" or "/intermediate.cer" in signing.fetches


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "Type"])
def test_any_signed_field_altered_fails(signing, verify, field):
    envelope = signing.envelope(BOUNCE, TOPIC)
    envelope[field] = "SubscriptionConfirmation" if field == "Type" else envelope[field] + "x"
    assert not verify(envelope).valid


def test_a_signature_made_for_the_other_version_fails(signing, verify):
    envelope = signing.envelope(BOUNCE, TOPIC, version="1")
    envelope["SignatureVersion"] = "2"
    assert verify(envelope).problem == "bad_signature"


@pytest.mark.parametrize(
    ("cert", "problem"),
    [
        ("expired", "certificate_untrusted"),
        ("self-signed", "certificate_untrusted"),  # no chain to a system CA
        ("other-name", "certificate_untrusted"),  # a good chain, but not SNS's
        ("missing", "certificate_untrusted"),  # 404
        ("huge", "certificate_untrusted"),  # over the size limit
    ],
)
def test_a_certificate_that_is_not_sns_s_is_not_trusted(signing, verify, cert, problem):
    url = signing.cert_url(cert)
    signed_by = cert if cert in signing.files.signing else "valid"
    check = verify(signing.envelope(BOUNCE, TOPIC, cert=signed_by, cert_url=url))
    assert (check.valid, check.problem) == (False, problem)


def test_the_certificate_url_must_be_https_on_an_allowed_host(signing, verify):
    http = signing.envelope(BOUNCE, TOPIC, cert_url=signing.cert_url().replace("https:", "http:"))
    elsewhere = signing.envelope(BOUNCE, TOPIC, cert_url=signing.cert_url().replace("127.0.0.1", "localhost"))
    assert verify(http).problem == verify(elsewhere).problem == "untrusted_cert_url"


def test_a_message_from_another_topic_fails_even_when_sns_signed_it(signing, verify):
    assert verify(signing.envelope(BOUNCE, "arn:aws:sns:us-east-1:999999999999:theirs")).problem == "wrong_topic"


def test_each_certificate_is_fetched_once_per_container(signing, verify):
    before = len(signing.fetches)
    for _ in range(3):
        assert verify(signing.envelope(BOUNCE, TOPIC, cert="chained")).valid
    assert len(signing.fetches) - before <= 1


def test_a_certificate_that_does_not_arrive_in_time_is_a_retry_not_a_verdict(signing, verify):
    with pytest.raises(CertificateUnavailable):
        verify(signing.envelope(BOUNCE, TOPIC, cert_url=signing.cert_url("slow")))


def test_a_refused_certificate_is_fetched_again_only_after_a_while(signing, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(signing.files.ca_file))
    envelope = signing.envelope(BOUNCE, TOPIC, cert="self-signed")
    for ttl, fetches in ((600.0, 1), (0.0, 3)):
        verifier = SnsSignatureVerifier(
            ThreadPoolExecutor(1), expected_topic_arn=TOPIC, test_cert_host=signing.host, untrusted_for_s=ttl
        )
        before = len(signing.fetches)
        for _ in range(3):
            assert not asyncio.run(verifier.verify(envelope)).valid
        assert len(signing.fetches) - before == fetches
