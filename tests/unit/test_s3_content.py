"""S3 attachments (issue 9 point 5): confined to the attachment prefix, sized with HEAD, read in chunks,
and every S3 error a permanent or transient failure of the one request, never an exception through."""

from __future__ import annotations

import asyncio
import io

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from maildispatch.adapters.aws import S3ContentStore
from maildispatch.core.request import S3Attachment
from maildispatch.ports import ContentMissing, ContentTooLarge, ContentUnavailable


class FakeS3:
    def __init__(self, objects=None, error=None, lie_about_size=False):
        self.objects = objects or {}
        self.error = error
        self.lie = lie_about_size
        self.calls = []

    def head_object(self, **args):
        self.calls.append(("head", args))
        if self.error:
            raise self.error
        return {"ContentLength": 1 if self.lie else len(self.objects[args["Key"]]), "ETag": '"e"'}

    def get_object(self, **args):
        self.calls.append(("get", args))
        return {"Body": io.BytesIO(self.objects[args["Key"]])}


def client_error(code, status):
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "HeadObject")


def fetch(client, key="attachments/a.pdf", bucket="content", max_bytes=1000):
    store = S3ContentStore("content", client)
    return asyncio.run(store.attachment(S3Attachment("a.pdf", "application/pdf", bucket, key), max_bytes=max_bytes))


def test_an_object_under_the_prefix_is_read_after_a_head_that_pins_its_etag():
    s3 = FakeS3({"attachments/a.pdf": b"pdf"})
    assert fetch(s3) == b"pdf"
    assert [c[0] for c in s3.calls] == ["head", "get"] and s3.calls[1][1]["IfMatch"] == '"e"'


@pytest.mark.parametrize("key", ["templates/welcome.json", "other/a.pdf", "attachmentsx/a.pdf"])
def test_keys_outside_the_prefix_are_refused_without_asking_s3(key):
    s3 = FakeS3({key: b"x"})
    with pytest.raises(ContentMissing, match="outside the attachment prefix"):
        fetch(s3, key=key)
    assert s3.calls == []


def test_another_bucket_is_refused():
    with pytest.raises(ContentMissing, match="not in the content bucket"):
        fetch(FakeS3(), bucket="elsewhere")


def test_an_object_over_the_budget_is_refused_before_it_is_downloaded():
    s3 = FakeS3({"attachments/a.pdf": b"x" * 2000})
    with pytest.raises(ContentTooLarge, match="2000 bytes"):
        fetch(s3)
    assert [c[0] for c in s3.calls] == ["head"]


def test_a_body_longer_than_its_head_said_is_cut_off_at_the_cap():
    with pytest.raises(ContentTooLarge):
        fetch(FakeS3({"attachments/a.pdf": b"x" * 600_000}, lie_about_size=True))


@pytest.mark.parametrize(
    "code, status, kind, says",
    [
        ("AccessDenied", 403, ContentMissing, "access denied"),
        ("403", 403, ContentMissing, "access denied"),
        ("NoSuchBucket", 404, ContentMissing, "bucket that does not exist"),
        ("NoSuchVersion", 404, ContentMissing, "no such version"),
        ("404", 404, ContentMissing, "does not exist"),
        ("InvalidObjectState", 403, ContentMissing, "archived"),
        ("SlowDown", 503, ContentUnavailable, "SlowDown"),
        ("InternalError", 500, ContentUnavailable, "InternalError"),
        ("500", 500, ContentUnavailable, "500"),
    ],
)
def test_every_s3_error_is_a_permanent_or_transient_content_failure(code, status, kind, says):
    with pytest.raises(kind, match=says) as caught:
        fetch(FakeS3(error=client_error(code, status)))
    assert type(caught.value) is kind or kind is ContentMissing


def test_a_connection_failure_is_transient():
    with pytest.raises(ContentUnavailable):
        fetch(FakeS3(error=EndpointConnectionError(endpoint_url="https://s3")))
