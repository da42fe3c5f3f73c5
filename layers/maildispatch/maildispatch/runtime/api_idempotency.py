"""The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header), on
Powertools' Idempotency utility with its DynamoDB persistence (the IdempotencyTable).

- The first request with a key runs; its response (status and body) is stored for
  IDEMPOTENCY_TTL (24 h by default, DynamoDB TTL on `expiration`) and replayed to every repeat.
- The same key with a different payload is refused (422): the payload's SHA-256 fingerprint,
  taken over the parsed JSON (key order and white space do not matter), is stored with the key.
- The same key while the first request is still being processed is refused (409). A request whose
  invocation died holds the key only until that invocation's timeout (Powertools records the
  Lambda's remaining time); a request that failed (the queue refused it) frees the key at once.
- Keys are scoped by caller (runtime/api_caller.py): the stored record is keyed by
  (caller, key), so two callers never see each other's responses.

A request refused before it ran (bad JSON, an invalid field) stores nothing: fixing it and sending
it again under the same key works.

Why Powertools and not a store of our own: its record states (INPROGRESS, COMPLETED, EXPIRED), the
in-progress expiry tied to the invocation's deadline and the payload validation are what the draft
asks for, written with conditional writes and kept up by its maintainers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

MAX_KEY_CHARS = 255
KEY_PREFIX = "POST /v1/messages"  # the record key: "<this>#<sha256 of [caller, key]>"


class InvalidIdempotencyKey(ValueError):
    """The header is not an sf-string of 1 to 255 printable characters."""


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """The header's value (an RFC 8941 sf-string, quoted; a bare token is accepted too), or None."""
    raw = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner, out, escaped = value[1:-1], [], False
        for char in inner:
            if escaped:
                if char not in '"\\':
                    raise InvalidIdempotencyKey('only \\" and \\\\ may be escaped in an sf-string')
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                raise InvalidIdempotencyKey("an unescaped quote inside the quoted key")
            else:
                out.append(char)
        if escaped:
            raise InvalidIdempotencyKey("the key ends in a lone backslash")
        value = "".join(out)
    elif "," in value or '"' in value:
        raise InvalidIdempotencyKey('one key, as a quoted string (sf-string), e.g. "8e03978e-40d5-43e8"')
    if not 1 <= len(value) <= MAX_KEY_CHARS or not all(" " <= c <= "~" for c in value):
        raise InvalidIdempotencyKey(f"1 to {MAX_KEY_CHARS} printable ASCII characters")
    return value


class IdempotentSubmissions:
    """Runs a submission once per (caller, Idempotency-Key); repeats get the stored response."""

    def __init__(self, table_name: str, *, expires_after_seconds: int, client: Any = None) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath="[caller, key]",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
            hash_function="sha256",
        )
        self.store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)

    def run(
        self, context: Any, caller: str, key: str, payload: Mapping[str, Any], work: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], bool]:
        """`work()`'s result (JSON: what to answer), run only for the first request; and whether this
        answer is a replay. Raises Powertools' IdempotencyAlreadyInProgressError (in flight),
        IdempotencyValidationError (another payload) or IdempotencyPersistenceLayerError."""
        ran = False

        def submit(submission: dict[str, Any]) -> dict[str, Any]:
            nonlocal ran
            ran = True
            return work()

        if context is not None:
            self.config.register_lambda_context(context)  # an in-flight record lasts only as long as this invocation
        once = idempotent_function(
            submit,
            data_keyword_argument="submission",
            persistence_store=self.store,
            config=self.config,
            key_prefix=KEY_PREFIX,
        )
        result = once(submission={"caller": caller, "key": key, "payload": dict(payload)})
        return result, not ran
