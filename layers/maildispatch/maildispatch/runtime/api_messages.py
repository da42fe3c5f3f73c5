"""The message routes of the HTTP API, as a Powertools Router (included under /v1 by api_function):

    POST /v1/messages        a send request -> 202 {message_key, status_url}, or 400 naming the fields
    GET  /v1/messages/{key}  per-recipient state from the ledger, or 404
    POST /v1/uploads         {filename, content_type?, size} -> a pre-signed S3 PUT and the attachment
                             reference to put in a request, so large files never pass through the API

A router is made per function object (`messages_router(api, idempotency)`), because Powertools
keeps the current request on the resolver a router is included in.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from maildispatch.core.request import MAX_BODY_BYTES, InvalidRequest
from maildispatch.runtime.api_caller import caller_identity
from maildispatch.runtime.api_idempotency import IdempotentSubmissions, idempotency_key
from maildispatch.services.message_api import Accepted, MessageApi

log = logging.getLogger(__name__)
JSON = "application/json"
MAX_UPLOAD_REQUEST_BYTES = 8 * 1024


class BodyTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the body is {size} bytes; at most {limit} bytes are taken here")


def status_path(message_key: str) -> str:
    return "/v1/messages/" + quote(message_key, safe="")


def messages_router(api: MessageApi, idempotency: IdempotentSubmissions) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    @router.post("/messages")
    def post_message() -> Response[str]:
        event = router.current_event.raw_event
        body = _body(event, MAX_BODY_BYTES)
        key = idempotency_key(router.current_event.headers or {})
        caller = caller_identity(event)
        doc = api.read(body)  # a bad request is refused here, before an idempotency record exists

        def submit() -> dict[str, Any]:
            accepted = api.accept(doc, caller=caller, idempotency_key=key)
            return {"status": 202, "body": _accepted(accepted)}

        if key is None:
            answer, replayed = submit(), False
        else:
            answer, replayed = idempotency.run(router.lambda_context, caller, key, doc, submit)
        log.info(
            "message accepted" if not replayed else "answer replayed",
            extra={"message_key": answer["body"]["message_key"], "caller": caller, "idempotency_key": key is not None},
        )
        headers = {"Location": answer["body"]["status_url"]}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(answer["status"], JSON, json.dumps(answer["body"], ensure_ascii=False), headers)

    @router.get("/messages/<key>")
    def get_message(key: str) -> Response[str]:
        status = api.status(unquote(key))
        return Response(200, JSON, json.dumps(status.to_json(), ensure_ascii=False))

    @router.post("/uploads")
    def post_upload() -> Response[str]:
        upload = api.upload_from(_body(router.current_event.raw_event, MAX_UPLOAD_REQUEST_BYTES))
        answer = {
            "upload": {
                "method": "PUT",
                "url": upload.target.url,
                "headers": dict(upload.target.headers),
                "expires_at": int(upload.target.expires_at),
            },
            "attachment": upload.attachment,
        }
        return Response(201, JSON, json.dumps(answer, ensure_ascii=False))

    return router


def _accepted(accepted: Accepted) -> dict[str, Any]:
    return {
        "message_key": accepted.message_key,
        "status_url": status_path(accepted.message_key),
        "recipients": len(accepted.recipients),
    }


def _body(event: dict[str, Any], limit: int) -> bytes:
    """The request body as bytes (base64-decoded when API Gateway encoded it), refused over `limit`."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        if len(raw) > (limit * 4) // 3 + 4:
            raise BodyTooLarge(len(raw) * 3 // 4, limit)
        try:
            data = base64.b64decode(raw, validate=True)
        except ValueError:
            raise InvalidRequest("$", "the body is marked base64 but is not") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise BodyTooLarge(len(data), limit)
    return data
