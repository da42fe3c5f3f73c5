"""API Gateway HTTP API events (payload format 2.0) for the /u/{token} routes, as the HTTP API hands them over."""

from __future__ import annotations

import base64


def http_event(method: str, path: str, body: str | None = None, *, base64_body: bool = False) -> dict:
    """An API Gateway HTTP API (payload format 2.0) event, as the HTTP API hands it to the function."""
    encoded = base64.b64encode(body.encode()).decode() if body is not None and base64_body else body
    return {
        "version": "2.0",
        "routeKey": f"{method} /u/{{token}}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": "mail.example.com",
            "user-agent": "Mail client",
            "content-type": "application/x-www-form-urlencoded",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1",
            "domainName": "mail.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "x"},
            "requestId": "r1",
            "routeKey": f"{method} /u/{{token}}",
            "stage": "$default",
            "time": "15/Jan/2027:08:00:00 +0000",
            "timeEpoch": 1_800_000_000_000,
        },
        "pathParameters": {"token": path.rsplit("/", 1)[1]},
        "isBase64Encoded": base64_body,
        **({"body": encoded} if encoded is not None else {}),
    }
