"""tests.stack.provision against a real moto server: what template.yaml declares exists locally, as declared.

Uses the session `moto_server` fixture (tests/stack/moto_fixtures.py, registered in tests/conftest.py).
Each test provisions under its own name prefix, so tests share the server without resetting it.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from tests.stack.moto import aws_client
from tests.stack.provision import EventSource, ProvisionedStack, ProvisioningError, provision_from_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
# The template parameters without a default.
REQUIRED = {"ReportingMta": "mta.test", "PostmasterAddress": "postmaster@example.com"}


def template_ids(resource_type: str, template: dict[str, Any] | None = None) -> set[str]:
    template = template or yaml_parse(TEMPLATE.read_text())
    return {k for k, r in template["Resources"].items() if r["Type"] == resource_type}


def queue_attributes(stack: ProvisionedStack, logical_id: str) -> dict[str, str]:
    sqs = aws_client("sqs", stack.endpoint_url)
    return sqs.get_queue_attributes(QueueUrl=stack.queue_url(logical_id), AttributeNames=["All"])["Attributes"]


@pytest.fixture(scope="module")
def endpoint_url(moto_server) -> str:
    return moto_server.endpoint_url


@pytest.fixture(scope="module")
def provision(endpoint_url):
    def provision(template: Path = TEMPLATE, **kwargs: Any) -> ProvisionedStack:
        kwargs.setdefault("parameters", REQUIRED)
        prefix = kwargs.pop("name_prefix", "t" + uuid.uuid4().hex[:8])
        return provision_from_template(template, endpoint_url=endpoint_url, name_prefix=prefix, **kwargs)

    return provision


@pytest.fixture(scope="module")
def stack(provision) -> ProvisionedStack:
    """One stack for the module: the tests read it (and use queues of their own making or none)."""
    return provision()


# --- What is created ---------------------------------------------------------------------------


def test_every_stateful_resource_of_the_template_is_created(stack):
    sqs, dynamodb, s3 = (aws_client(s, stack.endpoint_url) for s in ("sqs", "dynamodb", "s3"))
    created: dict[str, set[str]] = {}
    for logical_id, resource in stack.resources.items():
        created.setdefault(resource.type, set()).add(logical_id)

    assert created == {
        "AWS::SQS::Queue": template_ids("AWS::SQS::Queue"),
        "AWS::DynamoDB::Table": template_ids("AWS::DynamoDB::Table"),
        "AWS::S3::Bucket": template_ids("AWS::S3::Bucket"),
        "AWS::SSM::Parameter": template_ids("AWS::SSM::Parameter"),
        "AWS::SecretsManager::Secret": template_ids("AWS::SecretsManager::Secret"),
        # the producers' wiring (and the key the SES topic is encrypted with)
        "AWS::SNS::Topic": template_ids("AWS::SNS::Topic"),
        "AWS::SNS::Subscription": template_ids("AWS::SNS::Subscription"),
        "AWS::Events::Rule": template_ids("AWS::Events::Rule"),
        "AWS::SQS::QueuePolicy": template_ids("AWS::SQS::QueuePolicy"),
        "AWS::KMS::Key": template_ids("AWS::KMS::Key"),
        "AWS::Scheduler::ScheduleGroup": template_ids("AWS::Scheduler::ScheduleGroup"),
        "AWS::IAM::Role": template_ids("AWS::IAM::Role"),  # the campaign schedules' role (moto checks no IAM)
        # named (id, execute-api URL), not created: the local stack serves it (tests/stack/http_api.py)
        "AWS::Serverless::HttpApi": template_ids("AWS::Serverless::HttpApi"),
    }
    assert set(sqs.list_queues(QueueNamePrefix=stack.name_prefix)["QueueUrls"]) == {
        stack.queue_url(q) for q in created["AWS::SQS::Queue"]
    }
    assert {stack.name(t) for t in created["AWS::DynamoDB::Table"]} <= set(dynamodb.list_tables()["TableNames"])
    assert {stack.name(b) for b in created["AWS::S3::Bucket"]} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_send_queue_has_the_template_settings_and_redrives_to_the_created_dead_letter_queue(stack):
    send = queue_attributes(stack, "SendQueue")
    dead = queue_attributes(stack, "DeadLetterQueue")

    assert stack.name("SendQueue") == f"{stack.name_prefix}-send"  # QueueName: !Sub ${AWS::StackName}-send
    assert (send["VisibilityTimeout"], send["MessageRetentionPeriod"], send["SqsManagedSseEnabled"]) == (
        "360",
        str(4 * 24 * 3600),
        "true",
    )
    assert json.loads(send["RedrivePolicy"]) == {"deadLetterTargetArn": dead["QueueArn"], "maxReceiveCount": 10}
    assert (dead["VisibilityTimeout"], dead["MessageRetentionPeriod"]) == ("360", str(14 * 24 * 3600))
    assert stack.arn("DeadLetterQueue") == dead["QueueArn"]


def test_a_message_received_more_than_max_receive_count_times_moves_to_the_dead_letter_queue(stack):
    sqs = aws_client("sqs", stack.endpoint_url)
    max_receive_count = json.loads(queue_attributes(stack, "SendQueue")["RedrivePolicy"])["maxReceiveCount"]
    sqs.send_message(QueueUrl=stack.queue_url("SendQueue"), MessageBody="crashes every time")

    receive_counts = []
    for _ in range(max_receive_count + 1):
        got = sqs.receive_message(
            QueueUrl=stack.queue_url("SendQueue"), VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"]
        ).get("Messages", [])
        receive_counts += [int(m["Attributes"]["ApproximateReceiveCount"]) for m in got]
    dead = sqs.receive_message(QueueUrl=stack.queue_url("DeadLetterQueue")).get("Messages", [])

    assert receive_counts == list(range(1, max_receive_count + 1))
    assert [m["Body"] for m in dead] == ["crashes every time"]


def test_ledger_table_has_the_template_keys_billing_ttl_and_recovery(stack):
    dynamodb = aws_client("dynamodb", stack.endpoint_url)
    table = dynamodb.describe_table(TableName=stack.name("DeliveryLedgerTable"))["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=stack.name("DeliveryLedgerTable"))["TimeToLiveDescription"]
    backups = dynamodb.describe_continuous_backups(TableName=stack.name("DeliveryLedgerTable"))

    assert table["KeySchema"] == [
        {"AttributeName": "message_key", "KeyType": "HASH"},
        {"AttributeName": "recipient", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    assert stack.arn("DeliveryLedgerTable") == table["TableArn"]


def test_content_bucket_is_private_encrypted_and_usable(stack):
    s3 = aws_client("s3", stack.endpoint_url)
    bucket = stack.name("ContentBucket")
    s3.put_object(Bucket=bucket, Key="templates/welcome.html", Body=b"<p>Hello {{ name }}</p>")

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert set(block.values()) == {True} and len(block) == 4
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="templates/welcome.html")["Body"].read() == b"<p>Hello {{ name }}</p>"


# --- Relay configuration -----------------------------------------------------------------------


def test_relay_parameter_and_secret_hold_the_callers_values_where_the_environment_points(provision):
    relay = {"host": "127.0.0.1", "port": 2525, "security": "starttls"}
    credentials = {"username": "u", "password": "p"}
    stack = provision(overrides={"RelayConfigParameter": json.dumps(relay), "RelayCredentialsSecret": credentials})
    environment = stack.function_environment("DispatchFunction")
    ssm, secrets = aws_client("ssm", stack.endpoint_url), aws_client("secretsmanager", stack.endpoint_url)

    assert json.loads(ssm.get_parameter(Name=environment["RELAY_PARAMETER"])["Parameter"]["Value"]) == relay
    secret = secrets.get_secret_value(SecretId=environment["RELAY_SECRET"])
    assert json.loads(secret["SecretString"]) == {"username": "u", "password": "p"}
    assert environment["RELAY_SECRET"] == secret["ARN"]  # Ref of a secret is its ARN, as in CloudFormation


def test_without_overrides_the_relay_parameter_is_rendered_from_the_template_parameters(provision):
    stack = provision(parameters={**REQUIRED, "RelayHost": "127.0.0.1", "RelayPort": 2465, "RelaySecurity": "tls"})
    ssm, secrets = aws_client("ssm", stack.endpoint_url), aws_client("secretsmanager", stack.endpoint_url)

    value = ssm.get_parameter(Name=stack.name("RelayConfigParameter"))["Parameter"]["Value"]
    assert json.loads(value) == {"host": "127.0.0.1", "port": 2465, "security": "tls"}
    assert stack.name("RelayConfigParameter") == f"/maildispatch/{stack.name_prefix}/relay"
    placeholder = secrets.get_secret_value(SecretId=stack.ref("RelayCredentialsSecret"))["SecretString"]
    assert json.loads(placeholder) == {"username": "", "password": ""}


# --- Event sources and function environment ----------------------------------------------------


def test_event_sources_are_read_from_the_template(provision):
    stack = provision(parameters={**REQUIRED, "BatchSize": 25})

    assert stack.event_sources == [
        EventSource("DispatchFunction", "SendQueue", stack.queue_url("SendQueue"), 25, 1, ("ReportBatchItemFailures",)),
        EventSource(
            "BounceFunction", "DeadLetterQueue", stack.queue_url("DeadLetterQueue"), 10, 0, ("ReportBatchItemFailures",)
        ),
        EventSource(
            "ReturnedFunction",
            "ReturnedMailQueue",
            stack.queue_url("ReturnedMailQueue"),
            10,
            0,
            ("ReportBatchItemFailures",),
        ),
        EventSource(
            "FanoutFunction", "FanoutQueue", stack.queue_url("FanoutQueue"), 1, 0, ("ReportBatchItemFailures",)
        ),
    ]


def test_function_environment_points_at_the_local_resources(stack):
    sqs, dynamodb, s3 = (aws_client(s, stack.endpoint_url) for s in ("sqs", "dynamodb", "s3"))
    dispatch = stack.function_environment("DispatchFunction")
    bounce = stack.function_environment("BounceFunction")

    # What the code will do with them works against moto.
    sqs.get_queue_attributes(QueueUrl=dispatch["SEND_QUEUE_URL"], AttributeNames=["QueueArn"])
    sqs.get_queue_attributes(QueueUrl=dispatch["DEAD_LETTER_QUEUE_URL"], AttributeNames=["QueueArn"])
    dynamodb.describe_table(TableName=dispatch["LEDGER_TABLE"])
    s3.head_bucket(Bucket=dispatch["CONTENT_BUCKET"])
    assert dispatch["SEND_QUEUE_URL"] == stack.queue_url("SendQueue")
    assert bounce["DEAD_LETTER_QUEUE_URL"] == dispatch["DEAD_LETTER_QUEUE_URL"] == stack.queue_url("DeadLetterQueue")
    # Globals, the function's own values, parameters (given and default) and literals.
    assert dispatch["POWERTOOLS_METRICS_NAMESPACE"] == bounce["POWERTOOLS_METRICS_NAMESPACE"] == "maildispatch"
    assert (dispatch["POWERTOOLS_SERVICE_NAME"], bounce["POWERTOOLS_SERVICE_NAME"]) == (
        "maildispatch-dispatch",
        "maildispatch-bounce",
    )
    assert (dispatch["REPORTING_MTA"], bounce["POSTMASTER_ADDRESS"]) == ("mta.test", "postmaster@example.com")
    assert (dispatch["POWERTOOLS_LOG_LEVEL"], bounce["EVENT_BUS_NAME"], dispatch["DEFAULT_ENVELOPE_SENDER"]) == (
        "INFO",
        "default",
        "",
    )
    assert (dispatch["RETRY_SCHEDULE"], dispatch["RETRY_MAX_AGE"], dispatch["SEND_QUEUE_RETENTION"]) == (
        "5m,10m,20m,40m,1h,2h,4h",
        "2d",
        "4d",
    )
    dynamodb.describe_table(TableName=dispatch["SUPPRESSION_TABLE"])
    # each function gets what it reads: dispatch publishes (optional) Email Delivered events on the bus too
    assert "SEND_QUEUE_URL" not in bounce and dispatch["EVENT_BUS_NAME"] == bounce["EVENT_BUS_NAME"] == "default"
    assert all(isinstance(v, str) for v in [*dispatch.values(), *bounce.values()])


def test_function_environment_takes_parameter_values_for_one_call(stack):
    once = stack.function_environment("BounceFunction", parameters={"EventBusName": "mail-events"})
    assert once["EVENT_BUS_NAME"] == "mail-events"
    again = stack.function_environment("BounceFunction")
    assert (again["EVENT_BUS_NAME"], again["REPORTING_MTA"]) == ("default", "mta.test")


def test_the_http_apis_url_in_an_environment_is_where_it_is_served_locally(stack):
    api_id = stack.ref("MailApi")
    deployed = stack.function_environment("DispatchFunction")
    served = stack.function_environment("DispatchFunction", api_urls={"MailApi": "http://127.0.0.1:8123/"})
    custom = stack.function_environment(
        "DispatchFunction", {"UnsubscribeBaseUrl": "https://mail.example.com"}, api_urls={"MailApi": "http://x"}
    )

    assert re.fullmatch("[a-z0-9]{10}", api_id)
    assert deployed["UNSUBSCRIBE_BASE_URL"] == f"https://{api_id}.execute-api.us-east-1.amazonaws.com"
    assert deployed["UNSUBSCRIBE_BASE_URL"] == stack.attribute("MailApi", "ApiEndpoint")
    assert served["UNSUBSCRIBE_BASE_URL"] == "http://127.0.0.1:8123"
    assert custom["UNSUBSCRIBE_BASE_URL"] == "https://mail.example.com"  # a custom domain is left alone
    assert {k: v for k, v in served.items() if k != "UNSUBSCRIBE_BASE_URL"} == {
        k: v for k, v in deployed.items() if k != "UNSUBSCRIBE_BASE_URL"
    }


def test_code_uri_is_the_function_directory(stack):
    assert stack.code_uri("DispatchFunction") == REPO / "functions" / "dispatch"
    assert (stack.code_uri("BounceFunction") / "app.py").is_file()


# --- Mistakes are reported, not guessed around -------------------------------------------------


def test_a_parameter_without_default_is_asked_for_when_it_is_needed(provision):
    stack = provision(parameters={})  # nothing created needs ReportingMta, so provisioning works

    with pytest.raises(ProvisioningError, match=r"ReportingMta.*no default.*parameters="):
        stack.function_environment("DispatchFunction")
    assert stack.function_environment("DispatchFunction", parameters=REQUIRED)["REPORTING_MTA"] == "mta.test"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parameters": {**REQUIRED, "RelaySecurity": "none"}}, r"RelaySecurity='none': must be one of"),
        ({"parameters": {**REQUIRED, "MaximumConcurrency": 1}}, r"MaximumConcurrency='1': must be at least 2"),
        ({"parameters": {**REQUIRED, "ReportingMta": "localhost"}}, r"ReportingMta='localhost': must be a fully"),
        ({"parameters": {**REQUIRED, "RelayHots": "x"}}, r"unknown template parameters \['RelayHots'\]"),
        ({"overrides": {"SendQueue": "x"}}, r"only SSM parameters and secrets"),
    ],
)
def test_mistakes_in_parameters_and_overrides_are_reported(provision, kwargs, message):
    with pytest.raises(ProvisioningError, match=message):
        provision(**kwargs)


def test_unknown_logical_ids_are_reported(stack):
    with pytest.raises(ProvisioningError, match="not a function of the template"):
        stack.function_environment("SendQueue")
    with pytest.raises(ProvisioningError, match="not provisioned locally"):
        stack.queue_url("DispatchFunction")


# --- The template is the only list -------------------------------------------------------------


def test_resources_added_to_the_template_appear_locally_without_code_changes(provision, tmp_path):
    template = yaml_parse(TEMPLATE.read_text())
    resources = template["Resources"]
    resources["ArchiveQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "VisibilityTimeout": 90,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, "maxReceiveCount": 5},
        },
    }
    resources["ArchiveFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "functions/archive/",
            "Handler": "app.handler",
            "Environment": {"Variables": {"ARCHIVE_QUEUE_ARN": {"Fn::GetAtt": ["ArchiveQueue", "Arn"]}}},
            "Events": {
                "Archive": {
                    "Type": "SQS",
                    "Properties": {"Queue": {"Fn::GetAtt": ["ArchiveQueue", "Arn"]}, "BatchSize": 5},
                }
            },
        },
    }
    resources["AlarmHistoryTable"] = {  # only when an alarm topic is given
        "Type": "AWS::DynamoDB::Table",
        "Condition": "HasAlarmTopic",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        },
    }
    changed = tmp_path / "template.yaml"
    changed.write_text(json.dumps(template))  # JSON is YAML

    without_topic = provision(changed)
    topic = "arn:aws:sns:us-east-1:123456789012:ops"
    with_topic = provision(changed, parameters={**REQUIRED, "AlarmTopicArn": topic})

    redrive = json.loads(queue_attributes(without_topic, "ArchiveQueue")["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": without_topic.arn("DeadLetterQueue"), "maxReceiveCount": 5}
    assert queue_attributes(without_topic, "ArchiveQueue")["VisibilityTimeout"] == "90"
    assert (
        EventSource("ArchiveFunction", "ArchiveQueue", without_topic.queue_url("ArchiveQueue"), 5, 0, ())
        in without_topic.event_sources
    )
    archive_environment = without_topic.function_environment("ArchiveFunction")
    assert archive_environment["ARCHIVE_QUEUE_ARN"] == without_topic.arn("ArchiveQueue")
    assert archive_environment["POWERTOOLS_METRICS_NAMESPACE"] == "maildispatch"  # Globals apply too
    assert "AlarmHistoryTable" not in without_topic.resources
    assert "AlarmHistoryTable" in with_topic.resources


def test_two_stacks_share_one_server_without_seeing_each_other(provision):
    first, second = provision(), provision()
    sqs = aws_client("sqs", first.endpoint_url)
    sqs.send_message(QueueUrl=first.queue_url("SendQueue"), MessageBody="for the first stack")

    assert first.queue_url("SendQueue") != second.queue_url("SendQueue")
    assert sqs.receive_message(QueueUrl=second.queue_url("SendQueue")).get("Messages", []) == []
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=first.queue_url("SendQueue"))["Messages"]] == [
        "for the first stack"
    ]
