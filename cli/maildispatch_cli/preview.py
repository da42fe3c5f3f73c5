"""Render a send request locally and write the message it makes (.eml), with the dispatch function's code.

The request is checked as the dispatch function checks it (a bad one: its fields named, exit 1),
rendered and built into MIME exactly as dispatch would. A stored template is read from
--template-dir DIR (DIR/<key>.json) or from the content bucket (--bucket NAME, or the
ContentBucketName output of --stack NAME); S3 attachments from the content bucket too. Campaign
mail gets its List-Unsubscribe headers and `{{ unsubscribe_url }}` as dispatch makes them, with a
preview key and --unsubscribe-url (default https://unsubscribe.invalid): the link looks real but
opens nothing. Writes --out FILE (default: standard output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from maildispatch.adapters.aws import S3ContentStore
from maildispatch.core.mime import AttachmentData, build_message, message_id_for
from maildispatch.core.render import RenderError, TemplateSource, render_content
from maildispatch.core.request import InvalidRequest, S3Attachment, SendRequest, StoredTemplateRef, parse_send_request
from maildispatch.core.unsubscribe import with_unsubscribe
from maildispatch.ports import ContentMissing, ContentUnavailable
from maildispatch_cli.aws import Aws
from maildispatch_cli.client import BUCKET_OUTPUT, MaildispatchClient
from maildispatch_cli.errors import CliError, UsageError
from maildispatch_cli.send import read_requests

NAME = "preview"
HELP = "render a send request locally and write the .eml dispatch would send"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
PREVIEW_UNSUBSCRIBE_KEY = b"maildispatch preview: not a deployment's key"


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("request", help="a JSON file holding one send request; - reads stdin")
    parser.add_argument("--out", default=None, metavar="FILE", help="where to write the message (default: stdout)")
    parser.add_argument("--template-dir", default=None, metavar="DIR", help="stored templates as DIR/<key>.json")
    parser.add_argument("--bucket", default=None, help=f"the content bucket (default: --stack's {BUCKET_OUTPUT})")
    parser.add_argument(
        "--unsubscribe-url",
        default="https://unsubscribe.invalid",
        metavar="URL",
        help="campaign mail: the unsubscribe base URL shown (default: https://unsubscribe.invalid)",
    )


def run(args: argparse.Namespace) -> int:
    doc = read_requests(args.request)
    try:
        request = parse_send_request(doc if isinstance(doc, dict) else json.dumps(doc))
    except InvalidRequest as exc:
        raise CliError(f"invalid request: {exc.field}: {exc.message}") from None
    data = preview(request, args)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out} ({len(data)} bytes)", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def preview(request: SendRequest, args: argparse.Namespace, *, now: datetime | None = None) -> bytes:
    """The message dispatch would build for `request` (a .eml's bytes)."""
    store = _content_store(request, args)
    base_url = getattr(args, "unsubscribe_url", None) or "https://unsubscribe.invalid"
    request = with_unsubscribe(request, PREVIEW_UNSUBSCRIBE_KEY, base_url.rstrip("/"), None)
    try:
        template = _template(request, args.template_dir, store)
        content = render_content(request, template)
        attachments = [
            AttachmentData(a.filename, a.content_type, _fetch(store, a)) if isinstance(a, S3Attachment) else a
            for a in request.attachments
        ]
    except RenderError as exc:
        raise CliError(f"cannot render: {exc}") from None
    except (ContentMissing, ContentUnavailable) as exc:
        raise CliError(str(exc)) from None
    key = request.message_key or "preview"
    built = build_message(
        request,
        content,
        attachments,
        message_id=message_id_for(key, request.from_.domain),
        date=now or datetime.now(UTC),
    )
    return built.data


def _content_store(request: SendRequest, args: argparse.Namespace) -> S3ContentStore | None:
    needs_s3 = any(isinstance(a, S3Attachment) for a in request.attachments) or (
        isinstance(request.template, StoredTemplateRef) and not args.template_dir
    )
    if not needs_s3:
        return None
    client = MaildispatchClient(bucket=args.bucket, stack=getattr(args, "stack", None), aws=Aws.from_args(args))
    try:
        bucket = client.bucket
    except UsageError:
        raise UsageError(
            "the request needs the content bucket (a stored template or an S3 attachment): "
            "pass --template-dir DIR, --bucket NAME or --stack NAME",
            f"maildispatch {NAME}",
        ) from None
    return S3ContentStore(bucket, client.aws.client("s3"))


def _template(request: SendRequest, template_dir: str | None, store: S3ContentStore | None) -> TemplateSource | None:
    if not isinstance(request.template, StoredTemplateRef):
        return None
    key = request.template.key
    if template_dir:
        path = Path(template_dir) / f"{key}.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return TemplateSource(subject=doc["subject"], text=doc.get("text"), html=doc.get("html"))
        except OSError as exc:
            raise CliError(f"template {key!r}: cannot read {path}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise CliError(
                f"template {key!r}: {path} is not a JSON object with subject, text and/or html: {exc}"
            ) from None
    assert store is not None
    return asyncio.run(store.template(key))


def _fetch(store: S3ContentStore | None, ref: S3Attachment) -> bytes:
    assert store is not None
    return asyncio.run(store.attachment(ref, max_bytes=MAX_ATTACHMENT_BYTES))
