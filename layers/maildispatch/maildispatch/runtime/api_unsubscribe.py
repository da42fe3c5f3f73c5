"""The unsubscribe routes of the HTTP API, as a Powertools Router (public: no auth, no session):

    GET  /u/{token}   a page naming the address and the list, with a button that POSTs; changes nothing
    POST /u/{token}   unsubscribes (RFC 8058 one-click: body List-Unsubscribe=One-Click), 200, no redirect

A forged or altered token changes nothing and gets a 400 page. Link scanners and anti-spam
systems fetch the URLs in List-Unsubscribe, which is why a GET only shows the page. The router is
included at the root of the resolver (api_function.py: `app.include_router(unsubscribe_router(...))`)
and its routes are declared in the template without an authorizer.
"""

from __future__ import annotations

import asyncio
import base64
import html
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from maildispatch.adapters.aws import EventBridgePublisher, aws_client, fetch_secret_bytes, io_executor
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore
from maildispatch.adapters.dynamodb_suppression import DynamoDbSuppressionList
from maildispatch.core.unsubscribe import MAX_TOKEN_CHARS, ONE_CLICK, Subscription
from maildispatch.runtime.settings_api import UnsubscribeSettings
from maildispatch.services.unsubscribe import UnsubscribeService

HTML = "text/html; charset=utf-8"
MAX_FORM_BYTES = 4096
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token stays out of other sites' logs
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


def unsubscribe_router(service: UnsubscribeService) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    @router.get("/u/<token>")
    def confirm(token: str) -> Response[str]:
        subscription = service.look_up(token) if len(token) <= MAX_TOKEN_CHARS else None
        if subscription is None:
            return _not_ours()
        return _page(200, "Unsubscribe", _confirmation(subscription))

    @router.post("/u/<token>")
    def unsubscribe(token: str) -> Response[str]:
        if len(token) > MAX_TOKEN_CHARS:
            return _not_ours()
        form = _form(router.current_event.raw_event)
        how = "page" if form.get("source") == ["page"] else "one-click"
        done = asyncio.run(service.unsubscribe(token, how=how))
        if done is None:
            return _not_ours()
        list_id = html.escape(done.subscription.list_id)
        return _page(200, "Unsubscribed", f"<p>You will no longer get mail from the list <b>{list_id}</b>.</p>")

    return router


def unsubscribe_service(settings: UnsubscribeSettings | None = None) -> UnsubscribeService:
    """The service wired to DynamoDB and EventBridge, for the API function."""
    settings = settings or UnsubscribeSettings.from_environ(os.environ)
    return UnsubscribeService(
        DynamoDbSuppressionList(aws_client("dynamodb"), settings.suppression_table, io_executor()),
        fetch_secret_bytes(settings.unsubscribe_secret),
        publisher=EventBridgePublisher(),
        event_bus_name=settings.event_bus_name,
        campaigns=(
            DynamoDbCampaignStore(aws_client("dynamodb"), settings.campaign_table, io_executor())
            if settings.campaign_table
            else None
        ),
    )


def _confirmation(subscription: Subscription) -> str:
    address, list_id = html.escape(subscription.address), html.escape(subscription.list_id)
    return (
        f"<p>Unsubscribe <b>{address}</b> from the list <b>{list_id}</b>?</p>"
        '<form method="post" action="">'
        f'<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK.split("=", 1)[1]}">'
        '<input type="hidden" name="source" value="page">'
        '<button type="submit">Unsubscribe</button>'
        "</form>"
    )


def _not_ours() -> Response[str]:
    return _page(400, "Link not valid", "<p>This unsubscribe link is not valid. Nothing was changed.</p>")


def _page(status: int, title: str, body: str) -> Response[str]:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(status, HTML, document, dict(PAGE_HEADERS))


def _form(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """The POSTed form (RFC 8058 sends List-Unsubscribe=One-Click); anything unreadable reads as empty."""
    body = event.get("body") or ""
    if not isinstance(body, str) or len(body) > MAX_FORM_BYTES * 2:
        return {}
    try:
        text = base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body
    except ValueError:
        return {}
    return parse_qs(text[:MAX_FORM_BYTES])
