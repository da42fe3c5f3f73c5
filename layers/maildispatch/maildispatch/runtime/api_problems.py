"""Error answers of the HTTP API as RFC 9457 problem details (`application/problem+json`).

Every refusal says what to fix: `type` names the kind of problem, `title` says it in words,
`detail` says it about this request, and a refused send request lists its `errors`, each naming
the field by its path in the request (`to[1]`, `attachments[0].s3.key`) or the header at fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:maildispatch:problem:"  # + the kind, e.g. urn:maildispatch:problem:invalid-request

TITLES = {
    "invalid-request": "The request is not a valid send request",
    "invalid-header": "A request header is not valid",
    "body-too-large": "The request body is too large",
    "unknown-message": "No message with this key is known",
    "not-found": "No such resource",
    "idempotency-key-in-use": "A request with this Idempotency-Key is still being processed",
    "idempotency-key-reused": "This Idempotency-Key was used for a different request",
    "unavailable": "The service could not take the request now",
    "internal-error": "The request failed inside the service",
    "invalid-campaign": "The campaign document is not valid",
    "unknown-campaign": "No campaign with this id is known",
    "campaign-exists": "A campaign with this id exists already",
    "campaign-state": "The campaign's state does not allow this",
}


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response[str]:
    doc: dict[str, Any] = {"type": PROBLEM_TYPE + kind, "title": TITLES[kind], "status": status, "detail": detail}
    if errors:
        doc["errors"] = [dict(error) for error in errors]
    doc.update(extra)
    return Response(
        status_code=status,
        content_type=PROBLEM_JSON,
        body=json.dumps(doc, ensure_ascii=False),
        headers=dict(headers or {}),
    )


def field_error(field: str, message: str) -> dict[str, str]:
    """One entry of `errors`: the field's path and what is wrong with it."""
    return {"field": field, "detail": message}
