"""What an SNS signature covers and which certificate URLs may be fetched (core/sns_signature.py)."""

import base64

import pytest

from maildispatch.core.sns_signature import (
    SignatureProblem,
    SignatureUncheckable,
    canonical_string,
    is_loopback_host,
    is_trusted_cert_url,
    signed_message,
)
from maildispatch.runtime.settings import SettingsError
from maildispatch.runtime.settings_bounce import ReturnedFunctionSettings

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses"


def envelope(**changes):
    doc = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": '{"notificationType":"Bounce"}',
        "Timestamp": "2026-11-29T08:02:12.000Z",
        "SignatureVersion": "1",
        "Signature": base64.b64encode(b"s" * 256).decode(),
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def test_a_notification_signs_its_fields_in_name_order_each_as_name_newline_value_newline():
    assert canonical_string(envelope()) == (
        b'Message\n{"notificationType":"Bounce"}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n'
        b"Timestamp\n2026-11-29T08:02:12.000Z\nTopicArn\n" + TOPIC.encode() + b"\nType\nNotification\n"
    )


def test_the_subject_is_signed_only_when_present_and_values_are_taken_as_they_are():
    signed = canonical_string(envelope(Subject="Amazon SES Email Event", Message="a\nb ü"))
    assert b"Message\na\nb \xc3\xbc\nMessageId\n" in signed
    assert b"MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nAmazon SES Email Event\nTimestamp\n" in signed


def test_a_subscription_confirmation_signs_its_subscribe_url_and_token():
    doc = envelope(Type="SubscriptionConfirmation", SubscribeURL="https://sns.x/?a", Token="t0k")
    signed = signed_message(doc).canonical
    assert b"SubscribeURL\nhttps://sns.x/?a\nTimestamp\n" in signed and b"Token\nt0k\nTopicArn\n" in signed


@pytest.mark.parametrize(
    ("version", "hash_name"),
    [("1", "sha1"), ("2", "sha256")],
)
def test_signature_version_1_is_sha1_with_rsa_and_2_is_sha256_with_rsa(version, hash_name):
    assert signed_message(envelope(SignatureVersion=version)).hash_name == hash_name


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-central-2.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM:443/SimpleNotificationService-abc.pem",
    ],
)
def test_sns_certificate_urls_of_every_partition_are_fetched(url):
    assert is_trusted_cert_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",  # not https
        "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",  # look-alike host
        "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
        "https://sqs.us-east-1.amazonaws.com/x.pem",  # another service
        "https://bucket.s3.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem.exe",  # not .pem
        "https://sns.us-east-1.amazonaws.com/x.pem?x=.pem",  # a query
        "https://sns.us-east-1.amazonaws.com:8443/x.pem",  # another port
        "https://user@sns.us-east-1.amazonaws.com/x.pem",  # user info
        "https://sns.us-east-1.amazonaws.com\\@evil.example/x.pem",
        "https://sns.us-east-1.amazonaws.com /x.pem",
        "https://127.0.0.1:8443/x.pem",  # loopback: only when a test allows it
        "file:///etc/x.pem",
        "",
    ],
)
def test_any_other_certificate_url_is_never_fetched(url):
    assert not is_trusted_cert_url(url)


def test_a_test_may_add_one_loopback_host_and_nothing_else():
    assert is_trusted_cert_url("https://127.0.0.1:8443/x.pem", test_host="127.0.0.1:8443")
    assert not is_trusted_cert_url("http://127.0.0.1:8443/x.pem", test_host="127.0.0.1:8443")
    assert not is_trusted_cert_url("https://127.0.0.1:9999/x.pem", test_host="127.0.0.1:8443")
    assert [is_loopback_host(h) for h in ("127.0.0.1:1", "localhost:2", "[::1]:3", "evil.example", "10.0.0.1")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_the_test_host_setting_refuses_anything_but_loopback():
    env = {"LEDGER_TABLE": "t", "DEAD_LETTER_QUEUE_URL": "q"}
    assert ReturnedFunctionSettings.from_environ(env).sns_signing_cert_test_host is None  # strict by default
    with pytest.raises(SettingsError, match="loopback"):
        ReturnedFunctionSettings.from_environ({**env, "SNS_SIGNING_CERT_TEST_HOST": "evil.example"})


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"Signature": None, "SignatureVersion": None}, SignatureProblem.NOT_AN_ENVELOPE),
        ({"Type": "Other"}, SignatureProblem.UNKNOWN_TYPE),
        ({"SignatureVersion": "3"}, SignatureProblem.UNKNOWN_VERSION),
        ({"Signature": "not base64!"}, SignatureProblem.BAD_SIGNATURE_ENCODING),
        ({"Signature": None}, SignatureProblem.BAD_SIGNATURE_ENCODING),
        ({"SigningCertURL": "https://evil.example/x.pem"}, SignatureProblem.UNTRUSTED_CERT_URL),
        ({"SigningCertURL": None}, SignatureProblem.UNTRUSTED_CERT_URL),
        ({"TopicArn": "arn:aws:sns:us-east-1:999999999999:theirs"}, SignatureProblem.WRONG_TOPIC),
        ({"MessageId": None}, SignatureProblem.MISSING_FIELD),
        ({"Message": {"not": "a string"}}, SignatureProblem.MISSING_FIELD),
        ({"Message": "\ud800"}, SignatureProblem.MISSING_FIELD),
    ],
)
def test_an_envelope_that_cannot_be_checked_says_why(changes, problem):
    with pytest.raises(SignatureUncheckable) as raised:
        signed_message(envelope(**changes), expected_topic_arn=TOPIC)
    assert raised.value.problem == problem
