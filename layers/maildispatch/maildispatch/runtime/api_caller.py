"""Who is calling the HTTP API, from the API Gateway HTTP API (payload 2.0) request context.

The caller scopes Idempotency-Keys (two callers may use the same key without meeting) and is part
of a derived message key. With IAM authorization it is the IAM principal: for an assumed role the
role (`arn:aws:sts::<account>:assumed-role/<role>`, without the session name, which changes from one
Lambda invocation or credential refresh to the next); with the JWT authorizer the token's issuer
and subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANONYMOUS = "anonymous"  # only reachable when a route is deployed without authorization


def caller_identity(event: Mapping[str, Any]) -> str:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    iam = authorizer.get("iam")
    if isinstance(iam, Mapping):
        arn = str(iam.get("userArn") or "")
        if ":assumed-role/" in arn:
            arn = arn.rsplit("/", 1)[0]  # the role, not the session
        return "iam:" + (arn or f"{iam.get('accountId', '')}:{iam.get('userId', '')}")
    jwt = authorizer.get("jwt")
    if isinstance(jwt, Mapping):
        claims = jwt.get("claims") or {}
        return f"jwt:{claims.get('iss', '')}|{claims.get('sub', '')}"
    return ANONYMOUS
