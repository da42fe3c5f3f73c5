"""The whole pipeline on loopback: moto server, a scripted TLS+AUTH relay, the template's
resources, and the real handlers driven by an SQS event-source emulator.

`LocalStack(workdir, mx_world=world)` starts without any relay: the dispatch and bounce functions
deliver by MX lookup in `world` (tests/stack/mx_world.py) and know no relay at all.

`make demo` and the pipeline tests both use this, so what the demo shows is what is tested.
"""

from __future__ import annotations

import email.policy
import importlib.util
import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tests.stack.event_source import EventSourceRunner, SqsEventSource, environment_set_to
from tests.stack.http_api import LocalHttpApi
from tests.stack.lambda_context import HandlerError
from tests.stack.moto import MotoServer, aws_client, local_aws_environment
from tests.stack.mx_world import NO_SUCH_DOMAIN, NULL_MX, TWO_MX, MxWorld
from tests.stack.provision import ProvisionedStack, provision_from_template
from tests.stack.relay_fixtures import RelayProcess
from tests.stack.sns_signing import SnsSigning

if TYPE_CHECKING:
    from tests.stack.dkim_dns import PublishedDkimKeys

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
RELAY_USER, RELAY_PASSWORD = "relay-user", "relay-pass"
EVENT_PATTERN = {"source": ["maildispatch"]}
# Message keys each producer path gives a request that names none (core/producer_envelope.py, services/message_api.py).
PRODUCER_KEY_PREFIXES = {"eventbridge": "eb-", "sns": "sns-", "s3": "s3-", "http": "api-"}
# Template parameters without defaults, as a user would give them to `sam deploy --guided`.
TEMPLATE_PARAMETERS = {
    "ReportingMta": "mail.example.com",
    "PostmasterAddress": "mailer-daemon@mail.example.com",
    "BounceDomain": "bounces.example.com",  # VERP on: returned mail maps back to message and recipient
}
VERP_SECRET = "local-verp-signing-key-not-for-production"
MX_FUNCTIONS = ("DispatchFunction", "BounceFunction")  # what DELIVERY_MODE=mx changes
GIVE_UP_AFTER_ERRORS = 3  # identical handler errors in a row that end a drain early
LOCAL_API = "MailApi"  # the template's HTTP API, served on loopback by tests/stack/http_api.py

# What the demo relay does with each demo recipient (events/requests/ uses these addresses).
DEMO_RELAY_SCRIPT = {
    "rcpt": {
        "ghost@example.net": [
            "550 5.1.1 <ghost@example.net>: Recipient address rejected: User unknown in virtual mailbox table"
        ],
        "busy@example.org": [
            "451 4.7.1 <busy@example.org>: Recipient address rejected: Greylisted, please try again in 1 seconds",
            "250 2.1.5 OK",
        ],
    }
}


@dataclass
class FunctionUnderTest:
    logical_id: str
    module: ModuleType
    environment: dict[str, str]
    counts: Counter[str] = field(default_factory=Counter)  # the tallies of its invocations (what it published)

    def handler(self, event: dict, context: Any) -> Any:
        with environment_set_to(self.environment):
            return self.module.handler(event, context)

    def close(self) -> None:
        """What the function keeps across warm invocations (relay connections, its event loop), closed."""
        from maildispatch.runtime.sqs_batch import SqsBatchFunction

        for value in vars(self.module).values():
            if isinstance(value, SqsBatchFunction):
                value.close()


@dataclass
class LocalStack:
    """Start with `start()`, feed with `enqueue()`, run with `drain()`, read with `summary()`."""

    workdir: Path
    relay_script: dict = field(default_factory=lambda: dict(DEMO_RELAY_SCRIPT))
    function_env: dict[str, str] = field(default_factory=dict)  # overrides for both functions
    moto: MotoServer | None = None  # pass a running one to share it (tests); else one is started
    relay_smtputf8: bool = True  # False: the relay does not offer SMTPUTF8
    relay_pipelining: bool = False  # True: the relay offers PIPELINING (waiting deliveries then ride)
    dkim: bool = False  # sign mail from example.com (keys in moto, published by a DNS test server)
    parameters: dict[str, str] = field(default_factory=dict)  # template parameters over TEMPLATE_PARAMETERS
    mx_world: MxWorld | None = None  # given: mx mode from the start in this world, and no relay running

    def start(self) -> LocalStack:
        try:
            return self._start()
        except BaseException:
            self.stop()  # whatever did start is stopped by its PID
            raise

    def _start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._own_moto = self.moto is None
        if self.moto is None:
            self.moto = MotoServer().start()
        self.aws_env = local_aws_environment(self.moto.endpoint_url)
        os.environ.update(self.aws_env)  # boto3 clients made by the functions read these
        self.sns_signing = SnsSigning().start(self.workdir / "sns-certs")  # signs what notify_from_ses delivers
        overrides = {"VerpSigningSecret": VERP_SECRET}
        self.relay: RelayProcess | None = None
        if self.mx_world is None:
            self.relay = RelayProcess().start(
                self.workdir / "relay",
                self.relay_script,
                security="starttls",
                auth=(RELAY_USER, RELAY_PASSWORD),
                smtputf8=self.relay_smtputf8,
                pipelining=self.relay_pipelining,
            )
            overrides["RelayConfigParameter"] = json.dumps(
                {"host": "127.0.0.1", "port": self.relay.port, "security": "starttls"}
            )
            overrides["RelayCredentialsSecret"] = json.dumps({"username": RELAY_USER, "password": RELAY_PASSWORD})
        else:  # no relay: the functions are not even told where one would be
            self.function_env = {**self.function_env, "RELAY_PARAMETER": "", "RELAY_SECRET": ""}
        prefix = "md" + uuid.uuid4().hex[:6]
        self.stack: ProvisionedStack = provision_from_template(
            TEMPLATE,
            endpoint_url=self.moto.endpoint_url,
            name_prefix=prefix,
            parameters={**TEMPLATE_PARAMETERS, **self.parameters},
            overrides=overrides,
        )
        self.sqs = aws_client("sqs", self.moto.endpoint_url)
        self.dkim_keys: PublishedDkimKeys | None = None
        if self.dkim:
            from tests.stack.dkim_dns import PublishedDkimKeys  # cryptography and dkimpy: only when asked

            self.dkim_keys = PublishedDkimKeys(self.moto.endpoint_url).start()
            self.function_env = {**self.function_env, "DKIM_KEYS": self.dkim_keys.dkim_keys_setting}
        self.events_queue_url = self._observe_bounce_events(prefix)
        _clear_parameter_caches()
        # The HTTP API function behind a local HTTP server (API Gateway's part): each container loads
        # functions/api/app.py afresh, as a Lambda cold start does. Started first: the API's URL (MailApi)
        # is in the other functions' environment (one-click unsubscribe links).
        self.api = LocalHttpApi(lambda: self._load_function("ApiFunction").module.handler).start()
        self.functions = {
            source.function_logical_id: self._load_function(source.function_logical_id)
            for source in self.stack.event_sources
        }
        self.runner = EventSourceRunner(
            [
                SqsEventSource(
                    self.sqs,
                    source.queue_url,
                    self.stack.arn(source.queue_logical_id),
                    self.functions[source.function_logical_id].handler,
                    batch_size=source.batch_size,
                    function_name=source.function_logical_id,
                    function_timeout_s=60,
                )
                for source in self.stack.event_sources
            ]
        )
        return self

    def close_functions(self) -> None:
        """QUIT the relay connections the functions keep across warm invocations (as a container's end would)."""
        for function in getattr(self, "functions", {}).values():
            function.close()

    def stop(self) -> None:
        self.close_functions()
        if getattr(self, "api", None) is not None:
            self.api.stop()
        if getattr(self, "dkim_keys", None) is not None:
            self.dkim_keys.stop()
        if getattr(self, "sns_signing", None) is not None:
            self.sns_signing.stop()
        if getattr(self, "relay", None) is not None:
            self.relay.stop()
        if getattr(self, "_own_moto", False) and self.moto is not None:
            self.moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- feeding and running ------------------------------------------------------------

    def enqueue(self, bodies: list[str]) -> list[str]:
        url = self.stack.queue_url("SendQueue")
        return [self.sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"] for body in bodies]

    # -- producers: each puts a request on the send queue through the template's own wiring ------

    def put_event(self, detail: dict | str, *, source: str = "maildispatch.producer") -> str:
        """A "Send Email" event on the producers' bus (the SendEmailRule routes it to the send queue)."""
        events = aws_client("events", self.moto.endpoint_url)
        entry = {
            "Source": source,
            "DetailType": "Send Email",
            "Detail": detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False),
            "EventBusName": self.stack.parameters["ProducerEventBusName"],
        }
        response = events.put_events(Entries=[entry])
        assert not response["FailedEntryCount"], response
        return response["Entries"][0]["EventId"]

    def publish(self, message: dict | str) -> str:
        """A send request published on the SendTopic (its subscription delivers to the send queue)."""
        sns = aws_client("sns", self.moto.endpoint_url)
        body = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
        return sns.publish(TopicArn=self.stack.ref("SendTopic"), Message=body)["MessageId"]

    def put_outbox(self, key: str, body: bytes | str, metadata: dict[str, str] | None = None) -> str:
        """An object in the S3 outbox (the bucket notifies the send queue); returns its version id."""
        s3 = aws_client("s3", self.moto.endpoint_url)
        data = body.encode("utf-8") if isinstance(body, str) else body
        response = s3.put_object(Bucket=self.stack.name("OutboxBucket"), Key=key, Body=data, Metadata=metadata or {})
        return response.get("VersionId", "")

    def post_message(self, request: dict | str, *, idempotency_key: str | None = None) -> tuple[int, dict]:
        """POST /v1/messages on the local HTTP API; (status, JSON body)."""
        return http_request(self.api.url + "/v1/messages", request, idempotency_key=idempotency_key)

    def return_mail(self, raw: bytes) -> str:
        """Mail that came back to a return path, stored as an SES receipt rule would store it."""
        key = f"returned/{uuid.uuid4().hex}"
        aws_client("s3", self.moto.endpoint_url).put_object(
            Bucket=self.stack.name("ReturnedMailBucket"), Key=key, Body=raw
        )
        return key

    def notify_from_ses(self, notification: dict, **signing: Any) -> dict:
        """An SES bounce/complaint notification, as its SNS subscription delivers it to the queue: in the
        SNS envelope, signed (SignatureVersion 2 unless `version="1"`; see SnsSigning.envelope)."""
        envelope = self.ses_notification_envelope(notification, **signing)
        self.deliver_to_returned_mail_queue(json.dumps(envelope))
        return envelope

    def ses_notification_envelope(self, notification: dict, **signing: Any) -> dict:
        return self.sns_signing.envelope(notification, self.stack.ref("SesNotificationTopic"), **signing)

    def deliver_to_returned_mail_queue(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.stack.queue_url("ReturnedMailQueue"), MessageBody=body)

    def suppressed_addresses(self) -> list[str]:
        ddb = aws_client("dynamodb", self.moto.endpoint_url)
        items = ddb.scan(TableName=self.stack.name("SuppressionTable"))["Items"]
        return sorted(i["address"]["S"] for i in items if " " not in i["address"]["S"])

    def send_through_each_producer(self, request: dict) -> dict[str, str]:
        """`request` (with no message_key) once through each producer: an EventBridge event, an SNS
        notification, an S3 outbox object and an HTTP POST to the local API, each to its own recipient
        (the request's first one, +<producer> added to the local part). What each path answered."""
        local, _, domain = str(request["to"][0]).partition("@")

        def to(producer: str) -> dict:
            return {**request, "to": [f"{local}+{producer}@{domain}"]}

        status, answer = self.post_message(to("http"))
        assert status == 202, answer
        return {
            "eventbridge": self.put_event(to("eventbridge")),
            "sns": self.publish(to("sns")),
            "s3": self.put_outbox("outbox/demo-request.json", json.dumps(to("s3"), ensure_ascii=False)),
            "http": answer["message_key"],
        }

    def enqueue_samples(self, directory: Path = REPO / "events" / "requests") -> list[Path]:
        samples = sorted(p for p in directory.iterdir() if p.suffix in (".json", ".txt"))
        self.enqueue([p.read_text(encoding="utf-8") for p in samples])
        return samples

    def drain(self, timeout_s: float = 60.0) -> list:
        """Run the functions until every queue is empty; returns the invocations.

        A handler that raises is a bug here (the functions report record failures, they do not raise):
        drain raises HandlerKeepsFailing, with the traceback, after three identical errors in a row or
        as soon as only the failed batches' records are left, instead of waiting out `timeout_s`."""
        return self.runner.drain(timeout_s=timeout_s, idle_s=1.5, give_up_after_errors=GIVE_UP_AFTER_ERRORS)

    def handler_errors(self) -> list[HandlerError]:
        """Every handler invocation that raised (event sources and the HTTP API), in the order seen."""
        errors = [error for source in self.runner.sources for error in source.handler_errors]
        if getattr(self, "api", None) is not None:
            errors += self.api.handler_errors
        return sorted(errors, key=lambda error: error.at)

    # -- reading results ------------------------------------------------------------------

    def delivered_files(self) -> list[Path]:
        """Files of the messages the relay accepted for real recipients (DSNs, sent from <>, excluded)."""
        return [path for path, message in self._stored() if message["X-Envelope-From"] != "<>"]

    def relay_files(self) -> list[Path]:
        """Every message the relay stored, DSNs included."""
        return [path for path, _ in self._stored()]

    def copies_received(self) -> dict[str, int]:
        """How many copies each recipient got (a stored message lists every envelope recipient)."""
        copies: dict[str, int] = {}
        for message in self.delivered_messages():
            for recipient in message.get_all("X-Envelope-To", []):
                copies[recipient] = copies.get(recipient, 0) + 1
        return copies

    def delivered_messages(self) -> list:
        return [message for _, message in self._stored() if message["X-Envelope-From"] != "<>"]

    def dsn_messages(self) -> list:
        """DSNs the relay took, then those delivered by MX lookup to the MX world's hosts."""
        by_relay = [message for _, message in self._stored() if message["X-Envelope-From"] == "<>"]
        return by_relay + (self.mx_world.dsn_messages() if self.mx_world is not None else [])

    def _stored(self) -> list:
        if self.relay is None:
            return []
        parser = BytesParser(policy=email.policy.default)
        new = self.relay.directory / "maildir" / "new"
        return (
            [(path, parser.parsebytes(path.read_bytes())) for path in sorted(new.glob("*.eml"))] if new.exists() else []
        )

    def bounce_events(self) -> list[dict]:
        events = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def ledger_items(self) -> list[dict]:
        ddb = aws_client("dynamodb", self.moto.endpoint_url)
        items, start = [], None
        while True:
            page = ddb.scan(
                TableName=self.stack.name("DeliveryLedgerTable"), **({"ExclusiveStartKey": start} if start else {})
            )
            items += [i for i in page["Items"] if "state" in i]  # recipients' rows, not return-path entries
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def queue_depth(self, logical_id: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.stack.queue_url(logical_id),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def summary(self, events: list[dict]) -> dict:
        items = self.ledger_items()
        delivered = [i for i in items if i["state"]["S"] == "delivered"]
        return {
            "delivered": len(delivered),
            "retried": sum(1 for i in delivered if int(i.get("attempts", {}).get("N", "1")) > 1),
            "bounced": sum(1 for i in items if i["state"]["S"] == "bounced"),
            "dsn_delivered": len(self.dsn_messages()),
            "poison": sum(1 for e in events if e["detail"]["reason"] == "invalid_request"),
            "dlq_remaining": self.queue_depth("DeadLetterQueue"),
            "events": len(events),
            "producers": {
                producer: sum(1 for i in delivered if i["message_key"]["S"].startswith(prefix))
                for producer, prefix in PRODUCER_KEY_PREFIXES.items()
            },
            **self._dkim_counts(),
            "files": [str(path) for path in self.delivered_files()],
        }

    def _dkim_counts(self) -> dict[str, int]:
        """Delivered messages whose DKIM signatures dkimpy verified against the published keys, or did not
        (a failed signature, or none where the stack signs)."""
        if self.dkim_keys is None:
            return {"dkim_verified": 0, "dkim_failed": 0}
        verdicts = [self.dkim_keys.verifies(path.read_bytes()) for path in self.delivered_files()]
        return {"dkim_verified": verdicts.count(True), "dkim_failed": len(verdicts) - verdicts.count(True)}

    # -- set-up steps ----------------------------------------------------------------------

    def _observe_bounce_events(self, prefix: str) -> str:
        """Route the functions' EventBridge events to a queue, as a subscriber service would."""
        url = self.sqs.create_queue(QueueName=f"{prefix}-observed-events")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = aws_client("events", self.moto.endpoint_url)
        rule = f"{prefix}-bounces"
        events.put_rule(Name=rule, EventPattern=json.dumps(EVENT_PATTERN), EventBusName="default")
        events.put_targets(Rule=rule, EventBusName="default", Targets=[{"Id": "observer", "Arn": arn}])
        return url

    # -- direct-to-MX --------------------------------------------------------------------------

    def use_mx_mode(self, world: MxWorld) -> None:
        """From now on the dispatch function delivers by MX lookup in `world`, and the bounce function
        its DSNs (to the MX of the envelope sender's domain)."""
        self.mx_world = world
        for logical_id in MX_FUNCTIONS:
            self.functions[logical_id].close()  # its relay connections, as a replaced container's end would
            function = self._load_function(logical_id)
            self.functions[logical_id] = function
            for source in self.runner.sources:
                if source.function_name == logical_id:
                    source.handler = function.handler

    def mx_summary(self, domains: tuple[str, ...] = (TWO_MX, NULL_MX, NO_SUCH_DOMAIN)) -> dict:
        """Recipients at `domains` delivered by MX lookup, and bounced with a DSN to the sender."""
        items = [i for i in self.ledger_items() if i["recipient"]["S"].rpartition("@")[2] in domains]
        reported = {
            line.split(";", 1)[1].strip().lower()
            for message in self.dsn_messages()
            for line in message.as_string().splitlines()
            if line.lower().startswith("final-recipient:")
        }
        return {
            "mx_delivered": sum(1 for i in items if i["state"]["S"] == "delivered"),
            "mx_bounced": sum(1 for i in items if i["state"]["S"] == "bounced" and i["recipient"]["S"] in reported),
            "mx_outcomes": {
                i["recipient"]["S"]: f"{i['state']['S']} {i.get('reply_status', {}).get('S', '')}".strip()
                for i in items
            },
        }

    def _load_function(self, logical_id: str, extra_env: dict[str, str] | None = None) -> FunctionUnderTest:
        api = getattr(self, "api", None)
        served = {LOCAL_API: api.url} if api is not None else {}  # None: the API's own first container
        env = {
            **self.stack.function_environment(logical_id, api_urls=served),
            **self.aws_env,
            **({"SMTP_CA_FILE": str(self.relay.ca_file)} if self.relay is not None else {}),
            # the schedule compressed to seconds, not skipped: the demo and tests run real waits
            "RETRY_SCHEDULE": "1s,2s,4s",
            "RETRY_MAX_AGE": "60s",
            "RETRY_STATED_DELAY_FLOOR": "1s",
            "POWERTOOLS_SERVICE_NAME": logical_id,
            "POWERTOOLS_DEV": "false",
            **(self.sns_signing.function_env if logical_id == "ReturnedFunction" else {}),
            **self.function_env,
            **(self.mx_world.function_env() if self.mx_world is not None and logical_id in MX_FUNCTIONS else {}),
            **(extra_env or {}),
        }
        code_uri = self.stack.code_uri(logical_id)
        module_name = f"app_{logical_id}_{uuid.uuid4().hex[:6]}"
        spec = importlib.util.spec_from_file_location(module_name, REPO / code_uri / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        with environment_set_to(env):
            spec.loader.exec_module(module)  # the handler module reads its settings at import, as in Lambda
        function = FunctionUnderTest(logical_id, module, env)
        _count_invocations(module, function.counts)
        return function


def http_request(
    url: str,
    body: dict | str | bytes | None = None,
    *,
    method: str | None = None,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict]:
    """One HTTP request with a JSON (or given) body; (status, the JSON answer)."""
    import urllib.error
    import urllib.request

    data = (
        None
        if body is None
        else body
        if isinstance(body, bytes)
        else body.encode("utf-8")
        if isinstance(body, str)
        else json.dumps(body, ensure_ascii=False).encode("utf-8")
    )
    sent = {"Content-Type": "application/json", **(headers or {})}
    if idempotency_key is not None:
        sent["Idempotency-Key"] = f'"{idempotency_key}"'
    request = urllib.request.Request(
        url, data=data, method=method or ("POST" if data is not None else "GET"), headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    answer = json.loads(raw) if raw else {}
    if isinstance(answer, dict):
        answer["_headers"] = {k.lower(): v for k, v in got.items()}
    return status, answer


def _count_invocations(module: ModuleType, counts: Counter[str]) -> None:
    """Add each invocation's tally (the counts its handler publishes as metrics) to `counts`."""
    from maildispatch.runtime.sqs_batch import SqsBatchFunction

    for function in [v for v in vars(module).values() if isinstance(v, SqsBatchFunction)]:
        handle = function.handle

        def counted(event: dict, context: Any, handle: Any = handle) -> Any:
            response, tally = handle(event, context)
            counts.update(tally)
            return response, tally

        function.handle = counted  # type: ignore[method-assign]


def _clear_parameter_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()
