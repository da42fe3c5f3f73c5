"""What template.yaml promises, checked on the CloudFormation that the SAM transform makes of it.

The template is transformed offline with aws-sam-translator (the same code CloudFormation runs for
`Transform: AWS::Serverless-2016-10-31`), so these tests see the IAM roles, event source mappings and
layer references that will really be deployed, not only what the SAM shorthand says.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from maildispatch.core.retry import parse_duration
from maildispatch.runtime.metric_names import METRIC_NAMES
from maildispatch.runtime.settings import DispatchSettings

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"

SIX_TIMES = 6  # AWS: queue visibility timeout >= 6 x the function timeout for SQS event sources
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# SAM attaches it to a function whose VpcConfig is conditional (mx mode in a VPC: the dispatch and bounce
# functions), even when the condition is false: network interfaces only, no data access.
VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
XRAY_WRITE = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
IN_VPC = ("DispatchFunction", "BounceFunction")  # mx mode: both send on port 25 from the NAT's Elastic IP
IN_VPC_IN_MX_MODE = {(f"{function_id}Role", VPC_ACCESS) for function_id in IN_VPC}
LEDGER_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:Query",
}
IDEMPOTENCY_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
# Actions that IAM cannot scope to a resource, so "Resource": "*" is the only possible form.
UNSCOPABLE_ACTIONS = {"ssm:DescribeParameters"}


# --- Loading and transforming ------------------------------------------------------------------


class _NoManagedPolicies:
    """Managed-policy loader for the offline transform: the template names no managed policy."""

    def load(self) -> dict[str, str]:
        return {}


def load_sam_template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())


def transform_template(sam: dict[str, Any], parameter_values: dict[str, str] | None = None) -> dict[str, Any]:
    """CloudFormation made of `sam`, as the AWS::Serverless transform would make it."""
    sam = copy.deepcopy(sam)
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):  # the raw translator only takes s3:// locations
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = "s3://placeholder-bucket/" + properties[key].strip("/")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return transform(sam, parameter_values or {}, _NoManagedPolicies())


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    return transform_template(sam)


# --- Reading the CloudFormation ----------------------------------------------------------------


def properties(cfn: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return cfn["Resources"][logical_id]["Properties"]


def ids_of_type(cfn: dict[str, Any], resource_type: str) -> list[str]:
    return sorted(k for k, r in cfn["Resources"].items() if r["Type"] == resource_type)


def parameter_default(cfn: dict[str, Any], value: Any) -> Any:
    """`value`, or the default of the template parameter it refers to."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in cfn["Parameters"]:
        return cfn["Parameters"][value["Ref"]]["Default"]
    return value


def referenced_ids(value: Any) -> set[str]:
    """Logical ids of the resources and parameters that `value` refers to (Ref, GetAtt, Sub)."""
    if isinstance(value, list):
        return set().union(*(referenced_ids(item) for item in value))
    if not isinstance(value, dict):
        return set()
    if set(value) == {"Ref"}:
        return set() if value["Ref"].startswith("AWS::") else {value["Ref"]}
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        return {target.split(".")[0] if isinstance(target, str) else target[0]}
    if set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names = {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
        return {n for n in names if n not in variables and not n.startswith("AWS::")} | referenced_ids(
            list(variables.values())
        )
    return referenced_ids(list(value.values()))


def event_source_mappings(cfn: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{mapping id: (function id, queue id)} for every event source mapping."""
    mappings = {}
    for logical_id in ids_of_type(cfn, "AWS::Lambda::EventSourceMapping"):
        props = properties(cfn, logical_id)
        (function_id,) = referenced_ids(props["FunctionName"])
        assert props["EventSourceArn"] == {"Fn::GetAtt": [props["EventSourceArn"]["Fn::GetAtt"][0], "Arn"]}
        mappings[logical_id] = (function_id, props["EventSourceArn"]["Fn::GetAtt"][0])
    return mappings


def mapping_of(cfn: dict[str, Any], function_id: str) -> dict[str, Any]:
    (mapping_id,) = [m for m, (f, _) in event_source_mappings(cfn).items() if f == function_id]
    return properties(cfn, mapping_id)


def role_of(cfn: dict[str, Any], function_id: str) -> dict[str, Any]:
    role_id = properties(cfn, function_id)["Role"]["Fn::GetAtt"][0]
    return properties(cfn, role_id)


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in role.get("Policies", []):
        document_statements = policy["PolicyDocument"]["Statement"]
        found += document_statements if isinstance(document_statements, list) else [document_statements]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(role: dict[str, Any]) -> dict[str, set[str]]:
    """{action: logical ids of what it is allowed on ("*" for any resource)} from the inline policies."""
    allowed: dict[str, set[str]] = {}
    for statement in statements(role):
        assert statement["Effect"] == "Allow", statement
        targets = set()
        for resource in as_list(statement["Resource"]):
            targets |= {"*"} if resource == "*" else referenced_ids(resource)
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(targets)
    return allowed


def least_privilege_problems(cfn: dict[str, Any]) -> list[str]:
    """What in the template's IAM roles grants more than the functions' jobs need."""
    problems = []
    for role_id in ids_of_type(cfn, "AWS::IAM::Role"):
        role = properties(cfn, role_id)
        for arn in role.get("ManagedPolicyArns", []):
            if arn not in (BASIC_EXECUTION, XRAY_WRITE) and (role_id, arn) not in IN_VPC_IN_MX_MODE:
                problems.append(f"{role_id}: managed policy {arn}")
        for statement in statements(role):
            actions = as_list(statement["Action"])
            resources = as_list(statement["Resource"])
            if set(actions) <= IDEMPOTENCY_ACTIONS and resources == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]:
                continue  # Powertools idempotency records: a request that failed deletes its own
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    problems.append(f"{role_id}: wildcard action {action}")
                if action.startswith("dynamodb:") and action not in LEDGER_ACTIONS:
                    problems.append(f"{role_id}: {action} is not needed for the ledger")
            resources = as_list(statement["Resource"])
            if "*" in resources and not set(actions) <= UNSCOPABLE_ACTIONS:
                problems.append(f"{role_id}: {actions} on every resource")
            tables = [
                {"Fn::GetAtt": [table, "Arn"]}
                for table in ("DeliveryLedgerTable", "SuppressionTable", "RelayBudgetTable", "CampaignTable")
            ] + [{"Fn::Sub": "${DeliveryLedgerTable.Arn}/index/ByCampaign"}]
            if any(a.startswith("dynamodb:") for a in actions) and (len(resources) != 1 or resources[0] not in tables):
                problems.append(f"{role_id}: dynamodb actions on {resources}, not only one of the service's tables")
    return problems


# --- Queues and redrive ------------------------------------------------------------------------


def test_each_function_consumes_exactly_its_own_queue(cfn):
    assert sorted(event_source_mappings(cfn).values()) == [
        ("BounceFunction", "DeadLetterQueue"),
        ("DispatchFunction", "SendQueue"),
        ("FanoutFunction", "FanoutQueue"),
        ("ReturnedFunction", "ReturnedMailQueue"),
    ]


@pytest.mark.parametrize("function_id", ["DispatchFunction", "BounceFunction"])
def test_queue_visibility_is_at_least_six_times_the_consuming_function_timeout(cfn, function_id):
    queue_id = mapping_of(cfn, function_id)["EventSourceArn"]["Fn::GetAtt"][0]
    timeout = properties(cfn, function_id)["Timeout"]
    assert timeout == 60
    assert properties(cfn, queue_id)["VisibilityTimeout"] >= SIX_TIMES * timeout


def test_send_queue_redrives_to_the_dead_letter_queue_only_after_more_receives_than_dispatch_waits(cfn):
    """The function re-enqueues a record it has received REQUEUE_AFTER_RECEIVES times before it waits
    again, so only crashes can reach maxReceiveCount: redrive is the safety net, never the retry path."""
    redrive = properties(cfn, "SendQueue")["RedrivePolicy"]
    variables = properties(cfn, "DispatchFunction")["Environment"]["Variables"]
    requeue_after = int(variables.get("REQUEUE_AFTER_RECEIVES", DispatchSettings.requeue_after_receives))

    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert int(redrive["maxReceiveCount"]) >= 5  # AWS guidance for Lambda consumers
    assert int(redrive["maxReceiveCount"]) >= 2 * requeue_after


def test_the_queue_retention_the_function_plans_with_is_the_send_queues(cfn):
    variables = properties(cfn, "DispatchFunction")["Environment"]["Variables"]
    assert parse_duration(variables["SEND_QUEUE_RETENTION"]) == properties(cfn, "SendQueue")["MessageRetentionPeriod"]


def test_dead_letter_queue_keeps_messages_14_days_longer_than_the_send_queue(cfn):
    # Standard queues keep a message's original enqueue time when it is redriven.
    dead_letter_retention = properties(cfn, "DeadLetterQueue")["MessageRetentionPeriod"]
    assert dead_letter_retention == 14 * 24 * 3600
    assert dead_letter_retention > properties(cfn, "SendQueue")["MessageRetentionPeriod"]
    assert properties(cfn, "SendQueue")["MessageRetentionPeriod"] == 4 * 24 * 3600


def test_dead_letter_queue_accepts_redrive_only_from_the_send_queue(cfn):
    allow = properties(cfn, "DeadLetterQueue")["RedriveAllowPolicy"]
    send_queue_name = properties(cfn, "SendQueue")["QueueName"]["Fn::Sub"]

    assert allow["redrivePermission"] == "byQueue"
    assert allow["sourceQueueArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + send_queue_name}
    ]


def test_queues_are_encrypted(cfn):
    queue_ids = ids_of_type(cfn, "AWS::SQS::Queue")
    assert queue_ids == [
        "DeadLetterQueue",
        "FanoutDeadLetterQueue",
        "FanoutQueue",
        "ReturnedMailDeadLetterQueue",
        "ReturnedMailQueue",
        "SendQueue",
    ]
    for queue_id in queue_ids:
        assert properties(cfn, queue_id)["SqsManagedSseEnabled"] is True, queue_id


def test_topics_are_encrypted_with_a_key_ses_may_use(cfn):
    """SES publishes bounce and complaint notifications to the topic: an encrypted topic needs a customer
    managed key whose policy lets ses.amazonaws.com use it (alias/aws/sns cannot; SES's messages would be lost)."""
    assert ids_of_type(cfn, "AWS::SNS::Topic") == ["SendTopic", "SesNotificationTopic"]
    # Producers (IAM principals of the account) publish to SendTopic: the AWS managed key serves them.
    assert properties(cfn, "SendTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    for topic_id in ["SesNotificationTopic"]:
        (key_id,) = referenced_ids(properties(cfn, topic_id)["KmsMasterKeyId"])
        key = properties(cfn, key_id)
        assert cfn["Resources"][key_id]["Type"] == "AWS::KMS::Key"
        assert key["EnableKeyRotation"] is True
        (ses,) = [s for s in key["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "ses.amazonaws.com"}]
        assert ses["Effect"] == "Allow"
        assert set(ses["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
        assert ses["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


# --- Event source mappings ---------------------------------------------------------------------


@pytest.mark.parametrize("function_id", ["DispatchFunction", "BounceFunction"])
def test_mappings_report_partial_batch_failures_and_cap_concurrency(cfn, function_id):
    mapping = mapping_of(cfn, function_id)
    assert mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    assert 2 <= int(parameter_default(cfn, mapping["ScalingConfig"]["MaximumConcurrency"])) <= 1000


def test_dispatch_concurrency_and_batch_size_come_from_the_parameters(cfn):
    mapping = mapping_of(cfn, "DispatchFunction")
    concurrency = cfn["Parameters"]["MaximumConcurrency"]

    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "MaximumConcurrency"}
    assert (concurrency["MinValue"], concurrency["MaxValue"], concurrency["Default"]) == (2, 1000, 5)
    assert mapping["BatchSize"] == {"Ref": "BatchSize"}
    assert cfn["Parameters"]["BatchSize"]["Default"] == 10
    assert mapping["MaximumBatchingWindowInSeconds"] == 1


# --- Functions and layer -----------------------------------------------------------------------


def test_functions_run_python313_on_arm64_with_the_core_layer(cfn):
    (layer_id,) = ids_of_type(cfn, "AWS::Lambda::LayerVersion")
    layer = properties(cfn, layer_id)
    function_ids = ids_of_type(cfn, "AWS::Lambda::Function")

    assert layer_id.startswith("CoreLayer")  # SAM suffixes a hash of the content
    assert layer["CompatibleRuntimes"] == ["python3.13"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert function_ids == ["ApiFunction", "BounceFunction", "DispatchFunction", "FanoutFunction", "ReturnedFunction"]
    for function_id in function_ids:
        function = properties(cfn, function_id)
        assert function["Runtime"] == "python3.13", function_id
        assert function["Architectures"] == ["arm64"], function_id
        assert function.get("Layers") == [{"Ref": layer_id}], function_id
        assert function["Handler"] == "app.handler", function_id
        # the API: API Gateway waits at most 30 s; the fan-out reads for minutes (a continuation when its
        # time is up) and holds one read of the list
        expected = {"ApiFunction": (15, 512), "FanoutFunction": (300, 256)}.get(function_id, (60, 512))
        assert (function["Timeout"], function["MemorySize"]) == expected, function_id


def test_layer_is_built_from_the_package_for_python313_arm64_with_pyc(sam):
    layer = sam["Resources"]["CoreLayer"]
    content = REPO / layer["Properties"]["ContentUri"]

    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert (content / "requirements.txt").is_file()
    assert list((content / "maildispatch").glob("*.py"))
    makefile = (content / "Makefile").read_text(encoding="utf-8")
    assert "build-CoreLayer:" in makefile  # the target sam build runs: build-<LogicalId>
    assert "PYTHON ?= python3.13" in makefile and "--python-version $(RUNTIME_VERSION)" in makefile
    assert "--platform $(PLATFORM)" in makefile and "PLATFORM ?= manylinux2014_aarch64" in makefile
    assert "-m compileall" in makefile and "--invalidation-mode unchecked-hash" in makefile


@pytest.mark.parametrize("function_id", ["DispatchFunction", "BounceFunction", "ApiFunction"])
def test_function_code_directory_has_the_handler_module(sam, function_id):
    code = REPO / sam["Resources"][function_id]["Properties"]["CodeUri"]
    assert (code / "app.py").is_file()
    assert (code / "requirements.txt").is_file()


def test_each_function_logs_to_its_own_log_group_with_retention(cfn):
    groups = []
    for function_id in ids_of_type(cfn, "AWS::Lambda::Function"):
        (group_id,) = referenced_ids(properties(cfn, function_id)["LoggingConfig"]["LogGroup"])
        assert cfn["Resources"][group_id]["Type"] == "AWS::Logs::LogGroup"
        assert properties(cfn, group_id)["RetentionInDays"] == 30
        groups.append(group_id)
    assert len(set(groups)) == len(groups) == 5


def test_in_mx_mode_the_dispatch_and_bounce_functions_share_the_vpc_condition_and_port_25_security_group(cfn):
    """Both deliver on port 25 in mx mode (mail, and DSNs to the sender's MX): from the same NAT Elastic IP."""
    in_vpc = {
        "Fn::If": [
            "DispatchInVpc",
            {"SubnetIds": {"Ref": "VpcSubnetIds"}, "SecurityGroupIds": [{"Ref": "DispatchSecurityGroup"}]},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert [properties(cfn, f).get("VpcConfig") for f in IN_VPC] == [in_vpc, in_vpc]
    assert cfn["Conditions"]["DispatchInVpc"]["Fn::And"][0] == {"Condition": "DeliverToMx"}
    egress = properties(cfn, "DispatchSecurityGroup")["SecurityGroupEgress"]
    assert {(rule["FromPort"], rule["ToPort"]) for rule in egress} == {(25, 25), (443, 443)}
    for function_id in ("ApiFunction", "ReturnedFunction"):
        assert "VpcConfig" not in properties(cfn, function_id)


def test_tracing_is_off_by_default_and_a_parameter_turns_it_on(sam, cfn):
    traced = transform_template(sam, {"Tracing": "Active"})
    for function_id in ("DispatchFunction", "BounceFunction"):
        assert "TracingConfig" not in properties(cfn, function_id)
        assert XRAY_WRITE not in role_of(cfn, function_id)["ManagedPolicyArns"]
        assert properties(traced, function_id)["TracingConfig"] == {"Mode": {"Ref": "Tracing"}}
        assert XRAY_WRITE in role_of(traced, function_id)["ManagedPolicyArns"]


# --- Environment -------------------------------------------------------------------------------

# Globals.Function.Environment: every function gets these.
UNSUBSCRIBE_BASE_URL_ENV = {
    "Fn::If": [
        "HasUnsubscribeBaseUrl",
        {"Ref": "UnsubscribeBaseUrl"},
        {"Fn::Sub": "https://${MailApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
    ]
}
GLOBAL_ENVIRONMENT = {
    "POWERTOOLS_METRICS_NAMESPACE": "maildispatch",
    "POWERTOOLS_LOG_LEVEL": {"Ref": "LogLevel"},
    "DEAD_LETTER_QUEUE_URL": {"Ref": "DeadLetterQueue"},
    "LEDGER_TABLE": {"Ref": "DeliveryLedgerTable"},
    "SUPPRESSION_TABLE": {"Ref": "SuppressionTable"},
    "CAMPAIGN_TABLE": {"Ref": "CampaignTable"},
    "RELAY_PARAMETER": {"Ref": "RelayConfigParameter"},
    "RELAY_SECRET": {"Ref": "RelayCredentialsSecret"},
    "REPORTING_MTA": {"Ref": "ReportingMta"},
}
EXPECTED_ENVIRONMENT = {
    "DispatchFunction": {
        **GLOBAL_ENVIRONMENT,
        "POWERTOOLS_SERVICE_NAME": "maildispatch-dispatch",
        "SEND_QUEUE_URL": {"Ref": "SendQueue"},
        "CONTENT_BUCKET": {"Ref": "ContentBucket"},
        "OUTBOX_BUCKET": {"Ref": "OutboxBucket"},
        "DEFAULT_ENVELOPE_SENDER": {"Ref": "DefaultEnvelopeSender"},
        "RETRY_SCHEDULE": {"Ref": "RetrySchedule"},
        "RETRY_MAX_AGE": {"Ref": "RetryMaxAge"},
        "UNCERTAIN_POLICY": {"Ref": "UncertainPolicy"},
        "DELAY_WARNING_AFTER": {"Ref": "DelayWarningAfter"},
        "SEND_QUEUE_RETENTION": "4d",
        "VERP_DOMAIN": {"Ref": "BounceDomain"},
        "VERP_SECRET": {"Ref": "VerpSigningSecret"},
        "SIGNING_SECRET": {"Ref": "InternalSigningSecret"},
        "DELIVERED_EVENTS": {"Ref": "PublishDeliveredEvents"},
        "EVENT_BUS_NAME": {"Ref": "EventBusName"},
        "RELAY_BUDGET_TABLE": {"Ref": "RelayBudgetTable"},
        "RELAY_RATE_PER_SECOND": {"Ref": "RelayRatePerSecond"},
        "RELAY_DAILY_QUOTA": {"Ref": "RelayDailyQuota"},
        "UNSUBSCRIBE_SECRET": {"Ref": "UnsubscribeSigningSecret"},
        # one-click unsubscribe at a custom domain, or by default at the stack's own HTTP API
        "UNSUBSCRIBE_BASE_URL": UNSUBSCRIBE_BASE_URL_ENV,
        "DKIM_KEYS": {"Ref": "DkimKeys"},
        "DKIM_STRICT": {"Ref": "DkimStrict"},
        "DKIM_SECRETS_PREFIX": {"Ref": "DkimSecretsPrefix"},
        "DISPATCH_CONCURRENCY": "10",
        "SMTP_MAX_CONNECTIONS": "2",
        "DELIVERY_MODE": {"Ref": "DeliveryMode"},
        "MX_HELO_NAME": {"Fn::If": ["HasMxHeloName", {"Ref": "MxHeloName"}, {"Ref": "ReportingMta"}]},
    },
    "BounceFunction": {
        **GLOBAL_ENVIRONMENT,
        "POWERTOOLS_SERVICE_NAME": "maildispatch-bounce",
        "EVENT_BUS_NAME": {"Ref": "EventBusName"},
        "POSTMASTER_ADDRESS": {"Ref": "PostmasterAddress"},
        "DEFAULT_ENVELOPE_SENDER": {"Ref": "DefaultEnvelopeSender"},
        "SIGNING_SECRET": {"Ref": "InternalSigningSecret"},
        "DKIM_KEYS": {"Ref": "DkimKeys"},
        "DKIM_SECRETS_PREFIX": {"Ref": "DkimSecretsPrefix"},
        "DELIVERY_MODE": {"Ref": "DeliveryMode"},  # mx: its DSNs go by MX lookup too
        "MX_HELO_NAME": {"Fn::If": ["HasMxHeloName", {"Ref": "MxHeloName"}, {"Ref": "ReportingMta"}]},
    },
    "ApiFunction": {
        **GLOBAL_ENVIRONMENT,
        "POWERTOOLS_SERVICE_NAME": "maildispatch-api",
        "SEND_QUEUE_URL": {"Ref": "SendQueue"},
        "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
        "IDEMPOTENCY_TTL": "24h",
        "CONTENT_BUCKET": {"Ref": "ContentBucket"},
        "UNSUBSCRIBE_SECRET": {"Ref": "UnsubscribeSigningSecret"},  # one-click unsubscribe (/u/{token})
        "EVENT_BUS_NAME": {"Ref": "EventBusName"},  # Email Unsubscribed; campaign events
        "FANOUT_QUEUE_URL": {"Ref": "FanoutQueue"},  # starts a campaign's fan-out
        "FANOUT_QUEUE_ARN": {"Fn::GetAtt": ["FanoutQueue", "Arn"]},  # a later start's schedule target
        "CAMPAIGN_SCHEDULE_GROUP": {"Ref": "CampaignScheduleGroup"},
        "CAMPAIGN_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": ["CampaignSchedulerRole", "Arn"]},
    },
    "FanoutFunction": {
        **GLOBAL_ENVIRONMENT,
        "POWERTOOLS_SERVICE_NAME": "maildispatch-fanout",
        "SEND_QUEUE_URL": {"Ref": "SendQueue"},
        "FANOUT_QUEUE_URL": {"Ref": "FanoutQueue"},
        "EVENT_BUS_NAME": {"Ref": "EventBusName"},
        # the campaign pre-flight sender check
        "DELIVERY_MODE": {"Ref": "DeliveryMode"},
        "RELAY_HOST": {"Ref": "RelayHost"},
        "MX_HELO_NAME": {"Fn::If": ["HasMxHeloName", {"Ref": "MxHeloName"}, {"Ref": "ReportingMta"}]},
        "MX_EGRESS_IP": {"Ref": "MxEgressIp"},
        "UNSUBSCRIBE_BASE_URL": UNSUBSCRIBE_BASE_URL_ENV,
        "DKIM_KEYS": {"Ref": "DkimKeys"},
        "DKIM_SECRETS_PREFIX": {"Ref": "DkimSecretsPrefix"},
    },
    "ReturnedFunction": {
        **GLOBAL_ENVIRONMENT,
        "POWERTOOLS_SERVICE_NAME": "maildispatch-returned",
        "EVENT_BUS_NAME": {"Ref": "EventBusName"},
        "VERP_SECRET": {"Ref": "VerpSigningSecret"},
        "SIGNING_SECRET": {"Ref": "InternalSigningSecret"},
        "SES_NOTIFICATION_TOPIC_ARN": {"Ref": "SesNotificationTopic"},
    },
}


@pytest.mark.parametrize("function_id", sorted(EXPECTED_ENVIRONMENT))
def test_functions_get_the_environment_the_code_reads(cfn, function_id):
    assert properties(cfn, function_id)["Environment"]["Variables"] == EXPECTED_ENVIRONMENT[function_id]


def test_one_click_unsubscribe_links_point_at_the_stacks_own_api_unless_a_custom_domain_is_given(cfn):
    variable = properties(cfn, "DispatchFunction")["Environment"]["Variables"]["UNSUBSCRIBE_BASE_URL"]
    condition, custom, default = variable["Fn::If"]

    assert cfn["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "UnsubscribeBaseUrl"}, ""]}]}
    assert custom == {"Ref": "UnsubscribeBaseUrl"} and cfn["Parameters"]["UnsubscribeBaseUrl"]["Default"] == ""
    assert default == cfn["Outputs"]["MailApiUrl"]["Value"]  # the API that serves /u/{token}


def test_no_credentials_in_the_environment(cfn):
    for function_id in ids_of_type(cfn, "AWS::Lambda::Function"):
        names = properties(cfn, function_id)["Environment"]["Variables"]
        assert not [n for n in names if re.search("PASSWORD|USERNAME|SECRET_VALUE|KEY_ID", n)], function_id


# --- Permissions -------------------------------------------------------------------------------

POLLER = {
    "sqs:ChangeMessageVisibility",
    "sqs:ChangeMessageVisibilityBatch",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
}
RELAY_READ = {
    "ssm:DescribeParameters": {"*"},
    "ssm:GetParameter": {"RelayConfigParameter"},
    "ssm:GetParameters": {"RelayConfigParameter"},
    "ssm:GetParametersByPath": {"RelayConfigParameter"},
    "secretsmanager:GetSecretValue": {"RelayCredentialsSecret"},
}
LEDGER = {action: {"DeliveryLedgerTable"} for action in LEDGER_ACTIONS}
EXPECTED_GRANTS = {
    "ApiFunction": {
        "sqs:SendMessage*": {"SendQueue", "FanoutQueue"},  # send requests; a campaign's fan-out
        # a message's rows; idempotency records; campaign control (records, bad rows, the ByCampaign counts)
        "dynamodb:Query": {"DeliveryLedgerTable", "CampaignTable"},
        "dynamodb:UpdateItem": {"DeliveryLedgerTable", "IdempotencyTable", "CampaignTable"},
        "dynamodb:GetItem": {"IdempotencyTable", "CampaignTable"},
        "dynamodb:PutItem": {"IdempotencyTable", "SuppressionTable", "CampaignTable"},  # ...; unsubscribes
        "dynamodb:BatchGetItem": {"SuppressionTable"},
        "dynamodb:DeleteItem": {"IdempotencyTable"},
        "s3:PutObject": {"ContentBucket"},  # what its pre-signed upload URLs do (attachments/* only)
        "secretsmanager:GetSecretValue": {"UnsubscribeSigningSecret"},
        "events:PutEvents": {"EventBusName"},
        "scheduler:CreateSchedule": {"CampaignScheduleGroup"},  # a campaign that starts later
        "iam:PassRole": {"CampaignSchedulerRole"},
    },
    "DispatchFunction": {
        **{action: {"SendQueue"} for action in POLLER},
        "sqs:SendMessage*": {"DeadLetterQueue", "SendQueue"},
        **{
            action: {"ContentBucket", "OutboxBucket"}  # templates and attachments; the S3 outbox
            for action in (
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetLifecycleConfiguration",
            )
        },
        **RELAY_READ,
        **LEDGER,
        "dynamodb:BatchGetItem": {"DeliveryLedgerTable", "SuppressionTable"},  # looks suppressed addresses up
        # the relay's shared budget: draws, refunds, pauses, the quota window; a campaign's state before
        # its claims and its health counters
        "dynamodb:GetItem": {"DeliveryLedgerTable", "RelayBudgetTable", "CampaignTable"},
        "dynamodb:UpdateItem": {"DeliveryLedgerTable", "RelayBudgetTable", "CampaignTable"},
        "dynamodb:Query": {"DeliveryLedgerTable", "RelayBudgetTable"},
        # signs return paths; signs reports and re-enqueue attributes; DKIM keys (secrets under the prefix)
        "secretsmanager:GetSecretValue": {
            "RelayCredentialsSecret",
            "VerpSigningSecret",
            "InternalSigningSecret",
            "UnsubscribeSigningSecret",
            "DkimSecretsPrefix",
        },
        "events:PutEvents": {"EventBusName"},  # Email Delivered events (PublishDeliveredEvents)
    },
    "BounceFunction": {
        **{action: {"DeadLetterQueue"} for action in POLLER},
        "events:PutEvents": {"EventBusName"},
        **RELAY_READ,
        **LEDGER,
        "dynamodb:PutItem": {"DeliveryLedgerTable", "SuppressionTable"},  # suppresses hard-bounced addresses
        # counts soft bounces; a complaint toward its campaign's health
        "dynamodb:UpdateItem": {"DeliveryLedgerTable", "SuppressionTable", "CampaignTable"},
        # verifies reports; signs DSNs with the DKIM keys
        "secretsmanager:GetSecretValue": {"RelayCredentialsSecret", "InternalSigningSecret", "DkimSecretsPrefix"},
    },
    "FanoutFunction": {
        **{action: {"FanoutQueue"} for action in POLLER},
        "sqs:SendMessage*": {"FanoutQueue", "SendQueue"},  # continuations; the campaign's send requests
        **{
            action: {"ContentBucket"}  # recipient lists (lists/)
            for action in (
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetLifecycleConfiguration",
            )
        },
        **{
            action: {"CampaignTable"}
            for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")
        },
        "dynamodb:Query": {"CampaignTable", "DeliveryLedgerTable"},  # bad rows; the ByCampaign index (counts)
        "dynamodb:BatchGetItem": {"SuppressionTable"},
        "events:PutEvents": {"EventBusName"},
        "secretsmanager:GetSecretValue": {"DkimSecretsPrefix"},  # the pre-flight compares published DKIM keys
    },
    "ReturnedFunction": {
        **{action: {"ReturnedMailQueue"} for action in POLLER},
        **{
            action: {"ReturnedMailBucket"}
            for action in (
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetLifecycleConfiguration",
            )
        },
        "sqs:SendMessage*": {"DeadLetterQueue"},  # returned bounces enter the bounce function's path
        "secretsmanager:GetSecretValue": {"VerpSigningSecret", "InternalSigningSecret"},  # signs its reports
        "events:PutEvents": {"EventBusName"},
        "dynamodb:GetItem": {"DeliveryLedgerTable"},  # return-path lookups
    },
}


@pytest.mark.parametrize("function_id", sorted(EXPECTED_GRANTS))
def test_each_function_may_do_its_job_on_its_own_resources_and_nothing_else(cfn, function_id):
    role = role_of(cfn, function_id)
    assert grants(role) == EXPECTED_GRANTS[function_id]
    vpc = [VPC_ACCESS] if function_id in IN_VPC else []  # mx mode may run it in a VPC
    assert role["ManagedPolicyArns"] == [BASIC_EXECUTION, *vpc]  # logs only


def test_no_role_can_scan_or_delete_the_ledger_or_use_wildcard_actions(cfn):
    assert least_privilege_problems(cfn) == []


def test_least_privilege_check_finds_broad_grants(sam):
    """The check above must fail on the mistakes it is there to catch."""
    broad = copy.deepcopy(sam)
    dispatch = broad["Resources"]["DispatchFunction"]["Properties"]
    dispatch["Policies"].append({"DynamoDBCrudPolicy": {"TableName": {"Ref": "DeliveryLedgerTable"}}})
    # An SQS event in SAM form attaches AWSLambdaSQSQueueExecutionRole (any queue in the account).
    bounce = broad["Resources"]["BounceFunction"]["Properties"]
    bounce["Events"] = {"Dead": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}}}

    problems = "\n".join(least_privilege_problems(transform_template(broad)))

    assert "dynamodb:Scan" in problems
    assert "dynamodb:DeleteItem" in problems
    assert "AWSLambdaSQSQueueExecutionRole" in problems


# --- State, content and relay configuration ----------------------------------------------------


def test_ledger_is_keyed_by_message_and_recipient_and_expires_items(cfn):
    table = properties(cfn, "DeliveryLedgerTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "message_key", "KeyType": "HASH"},
        {"AttributeName": "recipient", "KeyType": "RANGE"},
    ]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "campaign_shard", "AttributeType": "S"},
        {"AttributeName": "message_key", "AttributeType": "S"},
        {"AttributeName": "recipient", "AttributeType": "S"},
        {"AttributeName": "state", "AttributeType": "S"},
    ]
    # campaigns count their recipients by state (adapters/dynamodb_campaigns.py)
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ByCampaign"
    assert index["KeySchema"] == [
        {"AttributeName": "campaign_shard", "KeyType": "HASH"},
        {"AttributeName": "state", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["next_attempt_at"]}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_content_bucket_is_private_encrypted_and_expires_only_attachments(cfn):
    bucket = properties(cfn, "ContentBucket")
    expiring = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]

    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    # Templates must never expire: every expiring rule is limited to attachments/.
    assert [(r.get("Prefix"), r["ExpirationInDays"], r["Status"]) for r in expiring] == [
        ("attachments/", 30, "Enabled")
    ]


def test_content_bucket_refuses_unencrypted_connections(cfn):
    (statement,) = properties(cfn, "ContentBucketPolicy")["PolicyDocument"]["Statement"]
    assert properties(cfn, "ContentBucketPolicy")["Bucket"] == {"Ref": "ContentBucket"}
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def render_sub(text: str, values: dict[str, Any]) -> str:
    return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: str(values[m.group(1)]), text)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"host": "smtp.gmail.com", "port": 587, "security": "starttls"}),
        (
            {"RelayHost": "email-smtp.eu-west-1.amazonaws.com", "RelayPort": 2465, "RelaySecurity": "tls"},
            {"host": "email-smtp.eu-west-1.amazonaws.com", "port": 2465, "security": "tls"},
        ),
    ],
)
def test_relay_parameter_holds_host_port_and_security_as_json(cfn, overrides, expected):
    parameter = properties(cfn, "RelayConfigParameter")
    values = {name: spec.get("Default") for name, spec in cfn["Parameters"].items()} | overrides

    assert parameter["Type"] == "String"
    assert json.loads(render_sub(parameter["Value"]["Fn::Sub"], values)) == expected
    assert cfn["Parameters"]["RelaySecurity"]["AllowedValues"] == ["starttls", "tls"]


def test_credentials_secret_is_deployed_as_an_empty_placeholder(cfn):
    secret = properties(cfn, "RelayCredentialsSecret")
    assert json.loads(secret["SecretString"]) == {"username": "", "password": ""}
    assert "GenerateSecretString" not in secret
    assert "put-secret-value" in cfn["Outputs"]["RelayCredentialsSecretArn"]["Description"]


# --- Returned mail received with SES -----------------------------------------------------------


def test_ses_receipt_rule_takes_only_the_dedicated_bounce_domain_and_scans_what_it_stores(sam):
    """SES matches a recipient domain or one exact address, never a local-part pattern such as bounces+*:
    the rule names only BounceDomain, which the template documents must be a subdomain for return paths alone."""
    with_ses = transform_template(sam, {"BounceDomain": "bounces.example.com", "ReceiveReturnedMailWithSes": "true"})
    resource = with_ses["Resources"]["ReturnedMailReceiptRule"]
    rule = resource["Properties"]["Rule"]
    (action,) = rule["Actions"]

    assert resource["Condition"] == "ReceiveWithSes"
    assert with_ses["Conditions"]["ReceiveWithSes"] == {
        "Fn::And": [{"Fn::Equals": [{"Ref": "ReceiveReturnedMailWithSes"}, "true"]}, {"Condition": "UseVerp"}]
    }
    assert rule["Recipients"] == [{"Ref": "BounceDomain"}]  # the VERP domain dispatch signs return paths with
    assert properties(with_ses, "DispatchFunction")["Environment"]["Variables"]["VERP_DOMAIN"] == {
        "Ref": "BounceDomain"
    }
    assert rule["ScanEnabled"] is True  # SES adds X-SES-Spam-Verdict / X-SES-Virus-Verdict; FAIL is dropped
    assert rule["Enabled"] is True
    assert action == {"S3Action": {"BucketName": {"Ref": "ReturnedMailBucket"}, "ObjectKeyPrefix": "returned/"}}
    assert "dedicated subdomain" in with_ses["Parameters"]["BounceDomain"]["Description"]


# --- Parameters --------------------------------------------------------------------------------


def test_parameter_defaults(cfn):
    defaults = {name: spec.get("Default") for name, spec in cfn["Parameters"].items()}
    assert defaults == {
        "RelayHost": "smtp.gmail.com",
        "RelayPort": 587,
        "RelaySecurity": "starttls",
        "DefaultEnvelopeSender": "",
        "ReportingMta": None,  # no sensible default: the operator names their own host
        "PostmasterAddress": None,
        "MaximumConcurrency": 5,
        "BatchSize": 10,
        "EventBusName": "default",
        "ProducerEventBusName": "default",
        "ProducerEventSources": "maildispatch.producer",
        "AlarmTopicArn": "",
        "LogLevel": "INFO",
        "Tracing": "Disabled",
        "BounceDomain": "",
        "ReceiveReturnedMailWithSes": "false",
        "RetrySchedule": "5m,10m,20m,40m,1h,2h,4h",
        "RetryMaxAge": "2d",
        "UncertainPolicy": "retry-once",
        "DelayWarningAfter": "off",
        "PublishDeliveredEvents": "false",
        "DeliveryMode": "relay",
        "MxHeloName": "",
        "MxEgressIp": "",
        "VpcId": "",
        "VpcSubnetIds": "",
        "ApiJwtIssuer": "",  # IAM authorization unless an issuer is given
        "ApiJwtAudience": "",
        "RelayRatePerSecond": "off",  # no budget calls unless asked for
        "RelayDailyQuota": "off",
        "UnsubscribeBaseUrl": "",
        "DkimKeys": "",
        "DkimStrict": "false",
        "DkimSecretsPrefix": "maildispatch/dkim/",
    }


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        ("ReportingMta", ["mail.example.com", "mx-1.eu.example.org"], ["", "localhost", "mail example.com", "-a.com"]),
        ("PostmasterAddress", ["postmaster@example.com"], ["", "postmaster", "a@b", "a b@example.com"]),
        ("AlarmTopicArn", ["", "arn:aws:sns:eu-west-1:123456789012:ops-alerts"], ["arn:aws:sqs:eu-west-1:1:q", "x"]),
        ("RelayHost", ["smtp.gmail.com", "127.0.0.1"], ["smtp.gmail.com:587", "smtp gmail"]),
        ("RetrySchedule", ["5m,10m,20m,40m,1h,2h,4h", "1m*3,1h", "90s"], ["", "5 m", "5m,,1h", "fast"]),
        ("RetryMaxAge", ["2d", "36h", "1.5d"], ["", "2", "forever"]),
        ("DelayWarningAfter", ["off", "4h"], ["", "soon", "4"]),
        ("RelayRatePerSecond", ["off", "14", "0.5"], ["", "fast", "-1", "1e3"]),
        ("RelayDailyQuota", ["off", "500", "2000"], ["", "500.5", "lots"]),
        (
            "UnsubscribeBaseUrl",
            ["", "https://mail.example.com", "https://a1.execute-api.eu-west-1.amazonaws.com/"],
            ["http://mail.example.com", "https://a b", "mail.example.com"],
        ),
        ("DkimKeys", ["", '{"example.com": {"selector": "s1", "secret_arn": "arn:x"}}'], ["example.com", "[1]"]),
    ],
)
def test_parameter_patterns_accept_real_values_and_reject_mistakes(cfn, parameter, good, bad):
    pattern = re.compile(cfn["Parameters"][parameter]["AllowedPattern"])
    assert [v for v in good if not pattern.fullmatch(v)] == []
    assert [v for v in bad if pattern.fullmatch(v)] == []


# --- Alarms ------------------------------------------------------------------------------------


def alarm_on(cfn: dict[str, Any], metric: str, queue_id: str) -> dict[str, Any]:
    dimensions = [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    alarms = [
        properties(cfn, a)
        for a in ids_of_type(cfn, "AWS::CloudWatch::Alarm")
        if properties(cfn, a)["MetricName"] == metric and properties(cfn, a)["Dimensions"] == dimensions
    ]
    assert len(alarms) == 1, f"expected one alarm on {metric} of {queue_id}, found {len(alarms)}"
    return alarms[0]


def test_dead_letter_queue_depth_alarm_fires_when_the_queue_has_not_drained_for_15_minutes(cfn):
    alarm = properties(cfn, "DeadLetterQueueDepthAlarm")

    assert alarm is alarm_on(cfn, "ApproximateNumberOfMessagesVisible", "DeadLetterQueue")
    assert alarm["Namespace"] == "AWS/SQS"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["Statistic"] == "Minimum"  # never empty in a period, not merely touched
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 15 * 60
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]


def test_dead_letter_queue_age_alarm_catches_a_message_the_bounce_function_keeps_failing_on(cfn):
    alarm = alarm_on(cfn, "ApproximateAgeOfOldestMessage", "DeadLetterQueue")
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert 0 < alarm["Threshold"] <= 3600


FUNCTION_SERVICES = {
    "DispatchFunction": "maildispatch-dispatch",
    "BounceFunction": "maildispatch-bounce",
    "ReturnedFunction": "maildispatch-returned",
}


def alarms_on(
    cfn: dict[str, Any], namespace: str, metric: str, dimensions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        properties(cfn, a)
        for a in ids_of_type(cfn, "AWS::CloudWatch::Alarm")
        if (properties(cfn, a)["Namespace"], properties(cfn, a)["MetricName"], properties(cfn, a)["Dimensions"])
        == (namespace, metric, dimensions)
    ]


def assert_fires_on_any(alarm: dict[str, Any]) -> None:
    assert alarm["Statistic"] == "Sum"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 15 * 60
    assert alarm["TreatMissingData"] == "notBreaching"  # no invocations or no counts: nothing wrong


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function_id", sorted([*FUNCTION_SERVICES, "ApiFunction"]))
def test_each_function_has_an_alarm_on_lambda_errors_and_throttles(cfn, function_id, metric):
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    (alarm,) = alarms_on(cfn, "AWS/Lambda", metric, dimensions)
    assert_fires_on_any(alarm)


@pytest.mark.parametrize("function_id", sorted(FUNCTION_SERVICES))
def test_each_function_has_an_alarm_on_the_record_errors_it_publishes(cfn, function_id):
    """The batch runtime tallies `record_errors`; powertools publishes it in the POWERTOOLS_METRICS_NAMESPACE
    with the function's POWERTOOLS_SERVICE_NAME as its `service` dimension."""
    variables = properties(cfn, function_id)["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == FUNCTION_SERVICES[function_id]
    dimensions = [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    (alarm,) = alarms_on(cfn, variables["POWERTOOLS_METRICS_NAMESPACE"], METRIC_NAMES["record_errors"], dimensions)
    assert_fires_on_any(alarm)


def test_forged_return_paths_raise_an_alarm(cfn):
    variables = properties(cfn, "ReturnedFunction")["Environment"]["Variables"]
    dimensions = [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    (alarm,) = alarms_on(
        cfn, variables["POWERTOOLS_METRICS_NAMESPACE"], METRIC_NAMES["forged_return_paths"], dimensions
    )
    assert_fires_on_any(alarm)


def test_mail_sent_unsigned_while_dkim_is_configured_raises_an_alarm(cfn):
    variables = properties(cfn, "DispatchFunction")["Environment"]["Variables"]
    dimensions = [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    (alarm,) = alarms_on(cfn, variables["POWERTOOLS_METRICS_NAMESPACE"], METRIC_NAMES["unsigned_messages"], dimensions)
    assert_fires_on_any(alarm)


def test_ses_notifications_arrive_signed_from_our_topic_and_forged_ones_raise_an_alarm(cfn):
    """The subscription delivers SNS's signed envelope (not raw); the function knows which topic is ours."""
    subscription = properties(cfn, "SesNotificationSubscription")
    assert subscription["RawMessageDelivery"] is False
    variables = properties(cfn, "ReturnedFunction")["Environment"]["Variables"]
    assert variables["SES_NOTIFICATION_TOPIC_ARN"] == {"Ref": "SesNotificationTopic"} == subscription["TopicArn"]
    assert "SNS_SIGNING_CERT_TEST_HOST" not in variables  # strict by default: tests only
    dimensions = [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    (alarm,) = alarms_on(
        cfn, variables["POWERTOOLS_METRICS_NAMESPACE"], METRIC_NAMES["forged_notifications"], dimensions
    )
    assert_fires_on_any(alarm)


@pytest.mark.parametrize("queue_id", ["SendQueue", "ReturnedMailQueue", "DeadLetterQueue"])
def test_consumed_queues_have_an_alarm_on_the_age_of_their_oldest_message(cfn, queue_id):
    alarm = alarm_on(cfn, "ApproximateAgeOfOldestMessage", queue_id)
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Statistic"] == "Maximum"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert 0 < alarm["Threshold"] <= 3600
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_send_queue_age_alarm_leaves_room_for_the_default_retry_waits(cfn):
    """SQS leaves a message received three times or more out of ApproximateAgeOfOldestMessage: a deferred
    request counts while it waits out the first two retry waits, which must not raise the alarm."""
    alarm = alarm_on(cfn, "ApproximateAgeOfOldestMessage", "SendQueue")
    first_two = [parse_duration(w) for w in cfn["Parameters"]["RetrySchedule"]["Default"].split(",")[:2]]
    timeout = properties(cfn, "DispatchFunction")["Timeout"]
    assert sum(first_two) + 2 * timeout < alarm["Threshold"]


def test_alarms_notify_only_when_a_topic_is_given(cfn):
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    alarm_ids = ids_of_type(cfn, "AWS::CloudWatch::Alarm")

    assert cfn["Conditions"]["HasAlarmTopic"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    assert alarm_ids
    for alarm_id in alarm_ids:
        assert properties(cfn, alarm_id)["AlarmActions"] == notify, alarm_id
        assert properties(cfn, alarm_id)["OKActions"] == notify, alarm_id


# --- Outputs -----------------------------------------------------------------------------------


def test_outputs_give_users_what_they_need(cfn):
    outputs = {name: output["Value"] for name, output in cfn["Outputs"].items()}
    (layer_id,) = ids_of_type(cfn, "AWS::Lambda::LayerVersion")

    assert {
        "SendQueueUrl": {"Ref": "SendQueue"},
        "SendQueueArn": {"Fn::GetAtt": ["SendQueue", "Arn"]},
        "DeadLetterQueueUrl": {"Ref": "DeadLetterQueue"},
        "DeliveryLedgerTableName": {"Ref": "DeliveryLedgerTable"},
        "SuppressionTableName": {"Ref": "SuppressionTable"},
        "ContentBucketName": {"Ref": "ContentBucket"},
        "RelayCredentialsSecretArn": {"Ref": "RelayCredentialsSecret"},
        "DispatchFunctionArn": {"Fn::GetAtt": ["DispatchFunction", "Arn"]},
        "BounceFunctionArn": {"Fn::GetAtt": ["BounceFunction", "Arn"]},
        "CoreLayerArn": {"Ref": layer_id},
    }.items() <= outputs.items()
    for name, output in cfn["Outputs"].items():
        assert output.get("Description"), name


# --- HTTP API ----------------------------------------------------------------------------------

API_ROUTES = {
    ("post", "/v1/messages"),
    ("get", "/v1/messages/{key}"),
    ("post", "/v1/uploads"),
    ("post", "/v1/campaigns"),
    ("get", "/v1/campaigns/{id}"),
    ("get", "/v1/campaigns/{id}/{action}"),
    ("post", "/v1/campaigns/{id}/{action}"),
}
PUBLIC_ROUTES = {("get", "/u/{token}"), ("post", "/u/{token}")}  # one-click unsubscribe


def api_operations(cfn: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    body = properties(cfn, "MailApi")["Body"]
    return {(method, path): op for path, methods in body["paths"].items() for method, op in methods.items()}


def resolve_if(value: Any, conditions: dict[str, bool]) -> Any:
    """`value` with every Fn::If decided by `conditions` (and AWS::NoValue dropped)."""
    if isinstance(value, list):
        return [v for v in (resolve_if(item, conditions) for item in value) if v != {"Ref": "AWS::NoValue"}]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return resolve_if(when_true if conditions[name] else when_false, conditions)
        resolved = {k: resolve_if(v, conditions) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != {"Ref": "AWS::NoValue"}}
    return value


def test_the_api_routes_each_go_to_the_api_function_with_payload_2(cfn):
    operations = api_operations(cfn)
    assert set(operations) == API_ROUTES | PUBLIC_ROUTES
    for route, operation in operations.items():
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy" and integration["payloadFormatVersion"] == "2.0", route
        assert "${ApiFunction.Arn}" in integration["uri"]["Fn::Sub"], route


@pytest.mark.parametrize("jwt", [False, True])
def test_only_the_unsubscribe_routes_are_public(cfn, jwt):
    body = resolve_if(properties(cfn, "MailApi")["Body"], {"UseJwtAuth": jwt})
    public = {
        (method, path) for path, ops in body["paths"].items() for method, op in ops.items() if op["security"] == []
    }
    assert public == PUBLIC_ROUTES  # RFC 8058: a mailbox provider POSTs with no credentials; the token decides


@pytest.mark.parametrize(("jwt", "scheme"), [(False, "AWS_IAM"), (True, "JwtAuthorizer")])
def test_every_route_needs_iam_signatures_or_with_an_issuer_a_jwt(cfn, jwt, scheme):
    body = resolve_if(properties(cfn, "MailApi")["Body"], {"UseJwtAuth": jwt})
    for route in API_ROUTES:
        method, path = route
        assert body["paths"][path][method]["security"] == [{scheme: []}], route
    schemes = body["components"]["securitySchemes"]
    assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    if jwt:
        authorizer = schemes["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]
        assert authorizer["type"] == "jwt"
        assert authorizer["jwtConfiguration"] == {
            "issuer": {"Ref": "ApiJwtIssuer"},
            "audience": {"Ref": "ApiJwtAudience"},
        }
    else:
        assert "JwtAuthorizer" not in schemes
    assert cfn["Conditions"]["UseJwtAuth"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiJwtIssuer"}, ""]}]}


def test_only_the_rule_the_topic_the_bucket_and_the_api_role_may_send_to_the_queue(cfn):
    [policy] = [
        properties(cfn, p)
        for p in ids_of_type(cfn, "AWS::SQS::QueuePolicy")
        if {"Ref": "SendQueue"} in properties(cfn, p)["Queues"]
    ]
    assert policy["Queues"] == [{"Ref": "SendQueue"}]
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(by_sid) == {"SendEmailRule", "SendTopic", "OutboxBucket", "MailApiFunction"}
    for statement in by_sid.values():
        assert (statement["Effect"], statement["Action"]) == ("Allow", "sqs:SendMessage")
        assert statement["Resource"] == {"Fn::GetAtt": ["SendQueue", "Arn"]}
    for sid in ("SendEmailRule", "SendTopic", "OutboxBucket"):  # services only for their own resource
        assert "aws:SourceArn" in by_sid[sid]["Condition"]["ArnEquals"], sid
    api = by_sid["MailApiFunction"]
    assert api["Principal"] == {"AWS": {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}}
    assert properties(cfn, "ApiFunction")["Role"] == {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}


def test_api_uploads_are_signed_only_under_the_attachment_prefix(cfn):
    [statement] = [s for s in statements(role_of(cfn, "ApiFunction")) if s.get("Sid") == "AttachmentUploads"]
    assert statement["Resource"] == {"Fn::Sub": "${ContentBucket.Arn}/attachments/*"}


def test_idempotency_records_expire_by_ttl(cfn):
    table = properties(cfn, "IdempotencyTable")
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert parse_duration(properties(cfn, "ApiFunction")["Environment"]["Variables"]["IDEMPOTENCY_TTL"]) == 86400
