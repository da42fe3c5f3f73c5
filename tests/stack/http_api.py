"""The HTTP API on loopback: a small threaded HTTP server that turns each request into an API Gateway
HTTP API event (payload format 2.0) for the real handler, and the handler's answer into the response.

What API Gateway does in front of the function, done here the same way:
- IAM authorization: the caller is put in `requestContext.authorizer.iam`. Signatures are not checked
  locally; the caller is the server's default principal, or the ARN a test names in the
  `X-Local-Caller-Arn` header (taken off the request, as the real caller cannot set it).
- Header names lower-cased, repeated headers joined with commas, cookies apart; text bodies passed as
  text, others base64-encoded (`isBase64Encoded`); bodies over 10 MB refused with 413 before the function.
- Concurrency: each request runs in a "container" that serves one request at a time; a request that
  finds none idle gets a new one (a cold start: the handler module loaded afresh), as Lambda scales.
  So two requests in flight at once really run side by side, each with its own function object.
- A handler that raises (or returns something that is not a response) answers 500 Internal Server Error;
  the error is logged as the Lambda runtime logs it and kept in `handler_errors`.

Start with `start()` (a free port on 127.0.0.1), stop with `stop()`; `url` is the base URL.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.stack.http_server import BackgroundHttpServer
from tests.stack.lambda_context import FakeLambdaContext, HandlerError, handler_raised
from tests.stack.moto import FAKE_ACCOUNT_ID

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit
CALLER_HEADER = "x-local-caller-arn"
DEFAULT_CALLER = f"arn:aws:sts::{FAKE_ACCOUNT_ID}:assumed-role/producer/session-1"
TEXT_TYPES = ("text/", "application/json", "application/problem+json", "application/xml", "application/x-www-form")

Handler = Callable[[dict[str, Any], Any], Any]


class LocalHttpApi:
    def __init__(
        self,
        new_container: Callable[[], Handler],
        *,
        function_name: str = "ApiFunction",
        timeout_s: float = 15.0,
        caller_arn: str = DEFAULT_CALLER,
    ) -> None:
        self._new_container = new_container
        self.function_name = function_name
        self.timeout_s = timeout_s
        self.caller_arn = caller_arn
        self._idle: list[Handler] = []
        self._lock = threading.Lock()
        self.containers = 0  # how many were started (cold starts)
        self.handler_errors: list[HandlerError] = []  # requests whose handler raised (answered 500)
        self.requests = 0
        self._server: BackgroundHttpServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> LocalHttpApi:
        self._idle.append(self._start_container())  # one warm container, as after a first request
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                api._serve(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the responses
                return

        self._server = BackgroundHttpServer(RequestHandler, name="local-http-api")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalHttpApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- containers ----------------------------------------------------------------------------

    def _start_container(self) -> Handler:
        handler = self._new_container()
        with self._lock:
            self.containers += 1
        return handler

    def _take(self) -> Handler:
        with self._lock:
            self.requests += 1
            if self._idle:
                return self._idle.pop()
        return self._start_container()

    def _give_back(self, handler: Handler) -> None:
        with self._lock:
            self._idle.append(handler)

    # -- one request ------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            request.close_connection = True  # the body is not read
            _reply(request, 413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = request.rfile.read(length) if length else b""
        event = self.event(request.command, request.path, list(request.headers.items()), body)
        handler = self._take()
        try:
            context = FakeLambdaContext(self.function_name, self.timeout_s)
            answer = handler(json.loads(json.dumps(event)), context)  # as Lambda deserializes it
            status, headers, payload = _response(answer)
        except Exception as raised:
            self.handler_errors.append(handler_raised(self.function_name, raised))  # logged, as Lambda does
            status, headers, payload = 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
        finally:
            self._give_back(handler)
        _reply(request, status, headers, payload)

    def event(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> dict[str, Any]:
        """The HTTP API payload 2.0 event API Gateway would make of this request."""
        split = urlsplit(target)
        joined: dict[str, str] = {}
        cookies: list[str] = []
        caller = self.caller_arn
        for name, value in headers:
            lower = name.lower()
            if lower == CALLER_HEADER:
                caller = value
            elif lower == "cookie":
                cookies += [c.strip() for c in value.split(";") if c.strip()]
            else:
                joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        content_type = joined.get("content-type", "").lower()
        as_text = not body or content_type.startswith(TEXT_TYPES)
        if as_text:
            try:
                text, encoded = body.decode("utf-8"), False
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(body).decode("ascii"), True
        else:
            text, encoded = base64.b64encode(body).decode("ascii"), True
        now = datetime.now(UTC)
        role_session = caller.rsplit("/", 1)[-1]
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": split.path,
            "rawQueryString": split.query,
            "headers": joined,
            "requestContext": {
                "accountId": FAKE_ACCOUNT_ID,
                "apiId": "localapi",
                "authorizer": {
                    "iam": {
                        "accessKey": "ASIALOCALACCESSKEY",
                        "accountId": caller.split(":")[4] if caller.count(":") >= 5 else FAKE_ACCOUNT_ID,
                        "callerId": f"AROALOCAL:{role_session}",
                        "cognitoIdentity": None,
                        "principalOrgId": None,
                        "userArn": caller,
                        "userId": f"AROALOCAL:{role_session}",
                    }
                },
                "domainName": "127.0.0.1",
                "domainPrefix": "localapi",
                "http": {
                    "method": method,
                    "path": split.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": joined.get("user-agent", ""),
                },
                "requestId": uuid.uuid4().hex,
                "routeKey": "$default",
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "isBase64Encoded": encoded,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if body:
            event["body"] = text
        return event


def _response(answer: Any) -> tuple[int, dict[str, str], bytes]:
    """A payload 2.0 response: {statusCode, headers, body, isBase64Encoded, cookies}."""
    if not isinstance(answer, dict) or not isinstance(answer.get("statusCode"), int):
        raise ValueError(f"not an HTTP API response: {answer!r:.200}")
    headers = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(v) for v in values)
    body = answer.get("body") or ""
    payload = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode("utf-8")
    if answer.get("cookies"):
        headers["set-cookie"] = "; ".join(answer["cookies"])
    return answer["statusCode"], headers, payload


def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes) -> None:
    request.send_response(status)
    for name, value in headers.items():
        if name not in ("content-length", "connection", "transfer-encoding"):
            request.send_header(name, value)
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(payload)
