"""Create what template.yaml declares in a moto server, so local runs use the template's own settings.

`provision_from_template` reads the template and creates, through boto3, every resource of a type
listed in `PROVISIONED_TYPES`: SQS queues (visibility, retention, redrive resolved to the created
dead-letter queue, ...), DynamoDB tables (keys, billing, TTL, point-in-time recovery), S3 buckets
(public access block, encryption, notifications to queues), SSM parameters and Secrets Manager secrets. The list comes from
the template, never from here: a queue added to the template appears locally with no code change.
An HTTP API (`AWS::Serverless::HttpApi`) is given an id and its execute-api URL but nothing is created:
whoever serves it locally (tests/stack/http_api.py) passes its loopback URL as `function_environment(...,
api_urls=...)`, which puts it wherever a function's environment holds the API's URL.

Intrinsics are resolved as CloudFormation would: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
`Fn::Select`, `Fn::If` (with the template's Conditions) and pseudo parameters, with
`AWS::StackName` = `name_prefix`, moto's account id, and template Parameters taken from
`parameters=` or their defaults (validated against AllowedValues/AllowedPattern/MinValue/MaxValue).
Not applied locally: S3 lifecycle rules, tags, alarms, IAM. Functions are not created; their event
sources and environment are read from the template for whoever runs the handlers in-process.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from samtranslator.yaml_helper import yaml_parse

from tests.stack.moto import FAKE_ACCOUNT_ID, aws_client

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
PARTITION = "aws"
SQS_DEFAULT_BATCH_SIZE = 10
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_NO_VALUE = object()  # what Ref AWS::NoValue resolves to: the property or list item disappears
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class ProvisioningError(Exception):
    """The template asks for something that cannot be created or resolved locally; says what and where."""


class EventSource(NamedTuple):
    """An SQS event source of a function, as the template declares it, with the local queue URL."""

    function_logical_id: str
    queue_logical_id: str
    queue_url: str
    batch_size: int
    maximum_batching_window_seconds: int
    function_response_types: tuple[str, ...]


@dataclass(frozen=True)
class ProvisionedResource:
    """One created resource: what `Ref` and `Fn::GetAtt` give for it, as in CloudFormation."""

    logical_id: str
    type: str
    name: str  # queue, table, bucket, parameter or secret name
    arn: str
    ref: str  # queue URL, secret ARN, otherwise the name
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ProvisionedStack:
    """The template's resources as created in moto, by logical id."""

    template_path: Path
    endpoint_url: str
    region: str
    name_prefix: str
    parameters: dict[str, str]  # every template parameter's value: given, or the default
    resources: dict[str, ProvisionedResource]
    event_sources: list[EventSource]
    _template: dict[str, Any] = field(repr=False)

    def resource(self, logical_id: str) -> ProvisionedResource:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise ProvisioningError(
                f"{logical_id} was not provisioned locally; provisioned: {', '.join(sorted(self.resources))}"
            ) from None

    def name(self, logical_id: str) -> str:
        return self.resource(logical_id).name

    def arn(self, logical_id: str) -> str:
        return self.resource(logical_id).arn

    def ref(self, logical_id: str) -> str:
        return self.resource(logical_id).ref

    def attribute(self, logical_id: str, attribute: str) -> str:
        return _attribute(self.resource(logical_id), attribute)

    def queue_url(self, logical_id: str) -> str:
        resource = self.resource(logical_id)
        if resource.type != "AWS::SQS::Queue":
            raise ProvisioningError(f"{logical_id} is a {resource.type}, not an SQS queue")
        return resource.ref

    def code_uri(self, function_logical_id: str) -> Path:
        """The function's code directory (absolute)."""
        properties = self._function_properties(function_logical_id)
        code_uri = properties.get("CodeUri", _globals(self._template).get("CodeUri"))
        if not isinstance(code_uri, str):
            raise ProvisioningError(f"{function_logical_id} has no local CodeUri (found {code_uri!r})")
        return (self.template_path.parent / code_uri).resolve()

    def function_environment(
        self,
        function_logical_id: str,
        parameters: Mapping[str, object] | None = None,
        *,
        api_urls: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The function's environment variables (Globals, then its own) with local physical values.

        `parameters` overrides template parameter values for this call only. `api_urls`: {HTTP API
        logical id: the base URL it is served at locally}; a value holding the API's execute-api URL
        (`https://{id}.execute-api.{region}.amazonaws.com`) gets the local URL in its place.
        """
        properties = self._function_properties(function_logical_id)
        variables = {
            **_globals(self._template).get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        values = self.parameters | _validated_parameters(self._template, parameters or {})
        resolver = _Resolver(self._template, values, self._pseudo(), self._lookup)
        environment = {}
        for name, value in variables.items():
            resolved = resolver.resolve(value, where=f"{function_logical_id} environment variable {name}")
            if resolved is _NO_VALUE:
                continue
            environment[name] = _as_env_string(resolved, f"{function_logical_id} environment variable {name}")
        for api_id, local_url in (api_urls or {}).items():
            deployed = self.attribute(api_id, "ApiEndpoint")
            environment = {name: value.replace(deployed, local_url.rstrip("/")) for name, value in environment.items()}
        return environment

    def _function_properties(self, logical_id: str) -> dict[str, Any]:
        resource = self._template["Resources"].get(logical_id)
        if resource is None or resource["Type"] not in FUNCTION_TYPES:
            functions = [k for k, r in self._template["Resources"].items() if r["Type"] in FUNCTION_TYPES]
            raise ProvisioningError(
                f"{logical_id} is not a function of the template; functions: {', '.join(functions)}"
            )
        return resource.get("Properties", {})

    def _lookup(self, logical_id: str, where: str) -> ProvisionedResource:
        if logical_id in self.resources:
            return self.resources[logical_id]
        resource_type = self._template["Resources"][logical_id]["Type"]
        raise ProvisioningError(f"{where} refers to {logical_id} ({resource_type}), which is not created locally")

    def _pseudo(self) -> dict[str, Any]:
        return _pseudo_parameters(self.name_prefix, self.region)


def provision_from_template(
    template_path: Path,
    *,
    endpoint_url: str,
    region: str = "us-east-1",
    name_prefix: str,
    parameters: Mapping[str, object] | None = None,
    overrides: Mapping[str, str | Mapping[str, Any]] | None = None,
) -> ProvisionedStack:
    """Create the template's stateful resources in the moto server at `endpoint_url`.

    `parameters`: template parameter values (others take their defaults).
    `overrides`: {logical id: value} replacing the value of an SSM parameter or the secret string of a
    secret (a mapping is stored as JSON), since the template's values point at real relays.
    """
    template = yaml_parse(Path(template_path).read_text(encoding="utf-8"))
    values = _checked_parameters(template, parameters or {})
    builder = _StackBuilder(template, values, endpoint_url, region, name_prefix, dict(overrides or {}))
    resources = builder.provision_all()
    stack = ProvisionedStack(
        template_path=Path(template_path).resolve(),
        endpoint_url=endpoint_url,
        region=region,
        name_prefix=name_prefix,
        parameters=values,
        resources=resources,
        event_sources=[],
        _template=template,
    )
    stack.event_sources = builder.event_sources(resources)
    return stack


def create_table_from_template(ddb: Any, logical_id: str, template_path: Path = TEMPLATE) -> str:
    """One fresh table with the keys and billing mode the template gives `logical_id` (contract tests); its name."""
    properties = yaml_parse(template_path.read_text(encoding="utf-8"))["Resources"][logical_id]["Properties"]
    name = f"{logical_id}-{uuid.uuid4().hex[:8]}"
    indexes = (
        {"GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"]}
        if "GlobalSecondaryIndexes" in properties
        else {}
    )
    ddb.create_table(
        TableName=name,
        BillingMode=properties["BillingMode"],
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        **indexes,
    )
    return name


# --- Creating resources --------------------------------------------------------------------------


class _StackBuilder:
    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        endpoint_url: str,
        region: str,
        name_prefix: str,
        overrides: dict[str, str | Mapping[str, Any]],
    ) -> None:
        self.template = template
        self.region = region
        self.name_prefix = name_prefix
        self.endpoint_url = endpoint_url
        self.overrides = overrides
        self.created: dict[str, ProvisionedResource] = {}
        self._in_progress: list[str] = []
        self._clients: dict[str, Any] = {}
        self.resolver = _Resolver(template, parameters, _pseudo_parameters(name_prefix, region), self._lookup)
        self._create: dict[str, Callable[[str, dict[str, Any]], ProvisionedResource]] = {
            "AWS::SQS::Queue": self._create_queue,
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::S3::Bucket": self._create_bucket,
            "AWS::SSM::Parameter": self._create_parameter,
            "AWS::SecretsManager::Secret": self._create_secret,
            "AWS::SNS::Topic": self._create_topic,
            "AWS::SNS::Subscription": self._create_subscription,
            "AWS::Events::Rule": self._create_rule,
            "AWS::SQS::QueuePolicy": self._create_queue_policy,
            "AWS::KMS::Key": self._create_key,
            "AWS::Scheduler::ScheduleGroup": self._create_schedule_group,
            "AWS::IAM::Role": self._create_role,
            "AWS::Serverless::HttpApi": self._name_http_api,
        }
        overridable = ("AWS::SSM::Parameter", "AWS::SecretsManager::Secret")
        for logical_id in overrides:
            resource_type = template["Resources"].get(logical_id, {}).get("Type")
            if resource_type not in overridable:
                raise ProvisioningError(
                    f"overrides[{logical_id!r}]: only SSM parameters and secrets take a value, "
                    f"and {logical_id} is {resource_type or 'not in the template'}"
                )

    def provision_all(self) -> dict[str, ProvisionedResource]:
        for logical_id, resource in self.template["Resources"].items():
            if resource["Type"] in self._create and self._included(logical_id):
                self._provision(logical_id)
        return dict(self.created)

    def _included(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.resolver.condition(condition)

    def _provision(self, logical_id: str) -> ProvisionedResource:
        if logical_id in self.created:
            return self.created[logical_id]
        if logical_id in self._in_progress:
            cycle = " -> ".join([*self._in_progress, logical_id])
            raise ProvisioningError(f"circular reference between resources: {cycle}")
        self._in_progress.append(logical_id)
        try:
            resource = self.template["Resources"][logical_id]
            properties = self.resolver.resolve(resource.get("Properties", {}), where=logical_id)
            for dependency in _depends_on(resource):
                if (
                    dependency in self.template["Resources"]
                    and self.template["Resources"][dependency]["Type"] in self._create
                ):
                    self._provision(dependency)
            self.created[logical_id] = self._create[resource["Type"]](logical_id, properties)
        finally:
            self._in_progress.pop()
        return self.created[logical_id]

    def _lookup(self, logical_id: str, where: str) -> ProvisionedResource:
        resource_type = self.template["Resources"][logical_id]["Type"]
        if resource_type not in self._create:
            raise ProvisioningError(f"{where} refers to {logical_id} ({resource_type}), which is not created locally")
        if not self._included(logical_id):
            raise ProvisioningError(f"{where} refers to {logical_id}, whose condition is false")
        return self._provision(logical_id)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws_client(service, self.endpoint_url, self.region)
        return self._clients[service]

    def _physical_name(self, logical_id: str, explicit: object, *, max_length: int, suffix: str = "") -> str:
        if explicit is not None:
            return str(explicit)
        return f"{self.name_prefix}-{logical_id}"[: max_length - len(suffix)] + suffix

    def _create_queue(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        fifo = properties.get("FifoQueue") in (True, "true")
        suffix = ".fifo" if fifo else ""
        name = self._physical_name(logical_id, properties.get("QueueName"), max_length=80, suffix=suffix)
        attributes = {}
        for key, value in properties.items():  # CloudFormation property names are the SQS attribute names
            if key in ("QueueName", "Tags"):
                continue
            if isinstance(value, (dict, list)):
                attributes[key] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[key] = "true" if value else "false"
            else:
                attributes[key] = str(value)
        sqs = self._client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"Arn": arn, "QueueName": name, "QueueUrl": url}
        return ProvisionedResource(logical_id, "AWS::SQS::Queue", name, arn, ref=url, attributes=attributes)

    def _create_table(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        name = self._physical_name(logical_id, properties.get("TableName"), max_length=255)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "KeySchema": properties["KeySchema"],
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        for key in ("ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in properties:
                request[key] = properties[key]
        if "StreamSpecification" in properties:
            request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
        dynamodb = self._client("dynamodb")
        description = dynamodb.create_table(**request)["TableDescription"]
        if "TimeToLiveSpecification" in properties:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"])
        if "PointInTimeRecoverySpecification" in properties:
            pitr = properties["PointInTimeRecoverySpecification"]
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr["PointInTimeRecoveryEnabled"]},
            )
        attributes = {"Arn": description["TableArn"]}
        if "LatestStreamArn" in description:
            attributes["StreamArn"] = description["LatestStreamArn"]
        arn = description["TableArn"]
        return ProvisionedResource(logical_id, "AWS::DynamoDB::Table", name, arn, ref=name, attributes=attributes)

    def _create_bucket(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        name = self._physical_name(logical_id, properties.get("BucketName"), max_length=63).lower()
        s3 = self._client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if "PublicAccessBlockConfiguration" in properties:
            block = properties["PublicAccessBlockConfiguration"]
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
        if "BucketEncryption" in properties:
            api_name = {"ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault"}  # CFN name -> S3 API
            rules = [
                {api_name.get(key, key): value for key, value in rule.items()}
                for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "VersioningConfiguration" in properties:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=properties["VersioningConfiguration"])
        if "NotificationConfiguration" in properties:
            notifications = _s3_notifications(properties["NotificationConfiguration"])
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=notifications)
            for queue_arn in {q["QueueArn"] for q in notifications["QueueConfigurations"]}:
                self._consume_s3_test_events(queue_arn)
        arn = f"arn:{PARTITION}:s3:::{name}"
        attributes = {"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"}
        return ProvisionedResource(logical_id, "AWS::S3::Bucket", name, arn, ref=name, attributes=attributes)

    def _consume_s3_test_events(self, queue_arn: str) -> None:
        """S3 puts an s3:TestEvent on a queue when a notification is configured (on AWS and in moto); the
        functions ignore it. Taken off here, as a deployed function would have, so that a new stack's
        queues start empty."""
        queue = next((r for r in self.created.values() if r.arn == queue_arn), None)
        if queue is None:
            return
        sqs = self._client("sqs")
        got = sqs.receive_message(QueueUrl=queue.ref, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in got.get("Messages", []):
            if '"s3:TestEvent"' in message["Body"]:
                sqs.delete_message(QueueUrl=queue.ref, ReceiptHandle=message["ReceiptHandle"])

    def _create_parameter(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        name = self._physical_name(logical_id, properties.get("Name"), max_length=2048)
        value = self._value(logical_id, properties.get("Value"))
        parameter_type = properties.get("Type", "String")
        self._client("ssm").put_parameter(Name=name, Value=value, Type=parameter_type)
        arn = f"arn:{PARTITION}:ssm:{self.region}:{FAKE_ACCOUNT_ID}:parameter/{name.lstrip('/')}"
        attributes = {"Type": parameter_type, "Value": value}
        return ProvisionedResource(logical_id, "AWS::SSM::Parameter", name, arn, ref=name, attributes=attributes)

    def _create_secret(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        generated = "GenerateSecretString" in properties and logical_id not in self.overrides
        if logical_id not in self.overrides and "SecretString" not in properties and not generated:
            raise ProvisioningError(
                f"{logical_id} has no SecretString in the template: pass overrides={{{logical_id!r}: ...}}"
            )
        name = self._physical_name(logical_id, properties.get("Name"), max_length=512)
        # GenerateSecretString: made here, as CloudFormation would make it (alphanumeric, its length)
        length = int(properties.get("GenerateSecretString", {}).get("PasswordLength", 32))
        value = (
            secrets.token_hex(length)[:length] if generated else self._value(logical_id, properties.get("SecretString"))
        )
        arn = self._client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        return ProvisionedResource(
            logical_id, "AWS::SecretsManager::Secret", name, arn, ref=arn, attributes={"Id": arn}
        )

    def _create_topic(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        name = self._physical_name(logical_id, properties.get("TopicName"), max_length=256)
        attributes = {"KmsMasterKeyId": properties["KmsMasterKeyId"]} if "KmsMasterKeyId" in properties else {}
        arn = self._client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return ProvisionedResource(
            logical_id, "AWS::SNS::Topic", name, arn, ref=arn, attributes={"TopicArn": arn, "TopicName": name}
        )

    def _create_subscription(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        attributes = {}
        if "RawMessageDelivery" in properties:
            attributes["RawMessageDelivery"] = str(properties["RawMessageDelivery"]).lower()
        arn = self._client("sns").subscribe(
            TopicArn=properties["TopicArn"],
            Protocol=properties["Protocol"],
            Endpoint=properties["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return ProvisionedResource(logical_id, "AWS::SNS::Subscription", arn, arn, ref=arn)

    def _create_rule(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        """A rule and its targets. moto delivers the whole event to an SQS target (InputPath is not honoured)."""
        name = self._physical_name(logical_id, properties.get("Name"), max_length=64)
        bus = properties.get("EventBusName", "default")
        events = self._client("events")
        if bus != "default":
            try:
                events.create_event_bus(Name=bus)
            except events.exceptions.ResourceAlreadyExistsException:
                pass
        arn = events.put_rule(
            Name=name, EventPattern=json.dumps(properties["EventPattern"]), EventBusName=bus, State="ENABLED"
        )["RuleArn"]
        targets = [
            {k: v for k, v in t.items() if k in ("Id", "Arn", "InputPath")} for t in properties.get("Targets", [])
        ]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return ProvisionedResource(logical_id, "AWS::Events::Rule", name, arn, ref=name, attributes={"Arn": arn})

    def _create_queue_policy(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        for url in properties["Queues"]:
            self._client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])}
            )
        return ProvisionedResource(logical_id, "AWS::SQS::QueuePolicy", logical_id, "", ref=logical_id)

    def _create_key(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        key = self._client("kms").create_key(Description=str(properties.get("Description", logical_id)))["KeyMetadata"]
        return ProvisionedResource(
            logical_id, "AWS::KMS::Key", key["KeyId"], key["Arn"], ref=key["KeyId"], attributes={"Arn": key["Arn"]}
        )

    def _create_schedule_group(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        name = self._physical_name(logical_id, properties.get("Name"), max_length=64)
        arn = self._client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        return ProvisionedResource(
            logical_id, "AWS::Scheduler::ScheduleGroup", name, arn, ref=name, attributes={"Arn": arn}
        )

    def _create_role(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        """The role only (moto checks no IAM): what a schedule or a PassRole names."""
        name = self._physical_name(logical_id, properties.get("RoleName"), max_length=64)
        policy = json.dumps(properties.get("AssumeRolePolicyDocument", {}), default=str)
        arn = self._client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=policy)["Role"]["Arn"]
        return ProvisionedResource(logical_id, "AWS::IAM::Role", name, arn, ref=name, attributes={"Arn": arn})

    def _name_http_api(self, logical_id: str, properties: dict[str, Any]) -> ProvisionedResource:
        """An id (ten lower-case letters and digits, as API Gateway's) and the execute-api URL; nothing is
        created: the local stack serves the API on loopback and passes that URL as `api_urls`."""
        api_id = hashlib.sha256(f"{self.name_prefix}/{logical_id}".encode()).hexdigest()[:10]
        endpoint = f"https://{api_id}.execute-api.{self.region}.amazonaws.com"
        arn = f"arn:{PARTITION}:apigateway:{self.region}::/apis/{api_id}"
        attributes = {"ApiId": api_id, "ApiEndpoint": endpoint}
        return ProvisionedResource(
            logical_id, "AWS::Serverless::HttpApi", api_id, arn, ref=api_id, attributes=attributes
        )

    def _value(self, logical_id: str, template_value: object) -> str:
        value = self.overrides.get(logical_id, template_value)
        return json.dumps(value) if isinstance(value, Mapping) else str(value)

    # --- Event sources --------------------------------------------------------------------------

    def event_sources(self, resources: Mapping[str, ProvisionedResource]) -> list[EventSource]:
        """SQS event sources: SAM `Events` of type SQS and AWS::Lambda::EventSourceMapping resources."""
        by_arn = {r.arn: r for r in resources.values()}
        found = []
        for logical_id, resource in self.template["Resources"].items():
            if not self._included(logical_id):
                continue
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Serverless::Function":
                for event_name, event in properties.get("Events", {}).items():
                    if event.get("Type") == "SQS":
                        where = f"{logical_id} event {event_name}"
                        mapping = self.resolver.resolve(event.get("Properties", {}), where=where)
                        found.append(self._event_source(logical_id, mapping, mapping.get("Queue"), by_arn, where))
            elif resource["Type"] == "AWS::Lambda::EventSourceMapping":
                source_id = _referenced_id(properties.get("EventSourceArn"))
                if source_id not in resources or resources[source_id].type != "AWS::SQS::Queue":
                    continue  # a stream or a queue outside the template: nothing to emulate locally
                function_id = _referenced_id(properties.get("FunctionName"))
                if function_id not in self.template["Resources"]:
                    raise ProvisioningError(f"{logical_id}: FunctionName must refer to a function of the template")
                settings = {k: v for k, v in properties.items() if k != "FunctionName"}  # functions are not created
                mapping = self.resolver.resolve(settings, where=logical_id)
                found.append(self._event_source(function_id, mapping, mapping["EventSourceArn"], by_arn, logical_id))
        return [source for source in found if source is not None]

    @staticmethod
    def _event_source(
        function_id: str,
        mapping: dict[str, Any],
        queue_arn: object,
        by_arn: Mapping[str, ProvisionedResource],
        where: str,
    ) -> EventSource | None:
        if mapping.get("Enabled") in (False, "false"):
            return None
        queue = by_arn.get(str(queue_arn))
        if queue is None or queue.type != "AWS::SQS::Queue":
            raise ProvisioningError(f"{where}: {queue_arn!r} is not a queue created from the template")
        return EventSource(
            function_logical_id=function_id,
            queue_logical_id=queue.logical_id,
            queue_url=queue.ref,
            batch_size=int(mapping.get("BatchSize", SQS_DEFAULT_BATCH_SIZE)),
            maximum_batching_window_seconds=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            function_response_types=tuple(mapping.get("FunctionResponseTypes", ())),
        )


# --- Template parameters -------------------------------------------------------------------------


def _checked_parameters(template: dict[str, Any], given: Mapping[str, object]) -> dict[str, str]:
    """The defaults of the template's parameters, replaced by the given values (checked)."""
    specs = template.get("Parameters", {})
    defaults = {name: str(spec["Default"]) for name, spec in specs.items() if "Default" in spec}
    return defaults | _validated_parameters(template, given)


def _validated_parameters(template: dict[str, Any], given: Mapping[str, object]) -> dict[str, str]:
    """The given values as strings, after checking them as CloudFormation would."""
    specs = template.get("Parameters", {})
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise ProvisioningError(f"unknown template parameters {unknown}; the template has {sorted(specs)}")
    values = {}
    for name, raw in given.items():
        value = str(raw)
        problem = _constraint_problem(value, specs[name])
        if problem:
            raise ProvisioningError(f"template parameter {name}={value!r}: {problem}")
        values[name] = value
    return values


def _constraint_problem(value: str, spec: Mapping[str, Any]) -> str | None:
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return f"must be one of {spec['AllowedValues']}"
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return spec.get("ConstraintDescription") or f"must match {spec['AllowedPattern']}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"must be at least {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"must be at most {spec['MaxValue']}"
    return None


def _pseudo_parameters(name_prefix: str, region: str) -> dict[str, Any]:
    return {
        "AWS::StackName": name_prefix,
        "AWS::Region": region,
        "AWS::AccountId": FAKE_ACCOUNT_ID,
        "AWS::Partition": PARTITION,
        "AWS::URLSuffix": "amazonaws.com",
        # The last part is unique per stack, as CloudFormation's is (bucket names are built from it).
        "AWS::StackId": f"arn:{PARTITION}:cloudformation:{region}:{FAKE_ACCOUNT_ID}:stack/{name_prefix}/{name_prefix}-local",
        "AWS::NotificationARNs": [],
        "AWS::NoValue": _NO_VALUE,
    }


# --- Intrinsic functions -------------------------------------------------------------------------


class _Resolver:
    """Resolves intrinsic functions the way CloudFormation does, against local physical values."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: Mapping[str, str],
        pseudo: Mapping[str, Any],
        lookup: Callable[[str, str], ProvisionedResource],
    ) -> None:
        self.template = template
        self.parameters = parameters
        self.pseudo = pseudo
        self.lookup = lookup

    def resolve(self, value: Any, *, where: str) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item, where=where) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument, where)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self.get_att(logical_id, attribute, where)
            if key == "Fn::Sub":
                return self.sub(argument, where)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self.resolve(items, where=where))
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text, where=where)).split(separator)
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items, where=where)[int(self.resolve(index, where=where))]
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false, where=where)
            if key.startswith("Fn::"):
                raise ProvisioningError(f"{where}: {key} is not supported locally")
        resolved = {key: self.resolve(item, where=where) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def ref(self, name: str, where: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.get("Parameters", {}):
            if name not in self.parameters:
                raise ProvisioningError(
                    f"{where} needs template parameter {name}, which has no default: pass parameters={{{name!r}: ...}}"
                )
            spec = self.template["Parameters"][name]
            value = self.parameters[name]
            return value.split(",") if spec.get("Type") == "CommaDelimitedList" else value
        if name in self.template["Resources"]:
            return self.lookup(name, where).ref
        raise ProvisioningError(f"{where}: Ref {name} names no parameter or resource of the template")

    def get_att(self, logical_id: str, attribute: str, where: str) -> str:
        implicit_role = _implicit_role_of(self.template, logical_id)
        if implicit_role is not None and attribute == "Arn":
            # SAM makes <Function>Role for a function without Role; IAM is not applied locally, so its ARN is
            # all that is needed (a queue policy naming it as principal)
            return f"arn:{PARTITION}:iam::{FAKE_ACCOUNT_ID}:role/{self.pseudo['AWS::StackName']}-{logical_id}"
        if logical_id not in self.template["Resources"]:
            raise ProvisioningError(f"{where}: GetAtt {logical_id}.{attribute} names no resource of the template")
        return _attribute(self.lookup(logical_id, where), attribute)

    def sub(self, argument: str | list[Any], where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(v, where=where) for name, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1), where)
            return str(self.ref(name, where))

        return _SUB_VARIABLE.sub(replace, text)

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise ProvisioningError(f"condition {name} is not defined in the template")
        return self._evaluate(conditions[name], where=f"condition {name}")

    def _evaluate(self, expression: Any, *, where: str) -> bool:
        ((key, argument),) = expression.items()
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Equals":
            left, right = (self.resolve(side, where=where) for side in argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._evaluate(argument[0], where=where)
        if key == "Fn::And":
            return all(self._evaluate(item, where=where) for item in argument)
        if key == "Fn::Or":
            return any(self._evaluate(item, where=where) for item in argument)
        raise ProvisioningError(f"{where}: {key} is not supported in conditions locally")


def _attribute(resource: ProvisionedResource, attribute: str) -> str:
    try:
        return resource.attributes[attribute]
    except KeyError:
        raise ProvisioningError(
            f"GetAtt {resource.logical_id}.{attribute}: a local {resource.type} has {sorted(resource.attributes)}"
        ) from None


def _implicit_role_of(template: dict[str, Any], logical_id: str) -> str | None:
    """The function whose implicit SAM role `logical_id` is (<Function>Role), if it is one."""
    if logical_id in template["Resources"] or not logical_id.endswith("Role"):
        return None
    function = template["Resources"].get(logical_id.removesuffix("Role"))
    if function and function["Type"] == "AWS::Serverless::Function" and "Role" not in function.get("Properties", {}):
        return logical_id.removesuffix("Role")
    return None


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    depends = resource.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else list(depends)


def _referenced_id(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return target.split(".", 1)[0] if isinstance(target, str) else target[0]
    return None


def _globals(template: dict[str, Any]) -> dict[str, Any]:
    return template.get("Globals", {}).get("Function", {})


def _as_env_string(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ProvisioningError(f"{where} resolves to {value!r}, not a string")


def _s3_notifications(cfn: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's NotificationConfiguration in CloudFormation's shape, in the S3 API's (queue targets)."""
    queues = []
    for target in cfn.get("QueueConfigurations", []):
        entry: dict[str, Any] = {"QueueArn": target["Queue"], "Events": [target["Event"]]}
        rules = target.get("Filter", {}).get("S3Key", {}).get("Rules")
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
        queues.append(entry)
    return {"QueueConfigurations": queues}
