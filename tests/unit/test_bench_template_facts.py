"""The benchmark reads memory size, architecture and each function's environment from template.yaml."""

from __future__ import annotations

from bench import template_facts


def test_memory_size_and_architecture_come_from_the_template() -> None:
    assert template_facts.memory_size("DispatchFunction") == int(template_facts.globals_function()["MemorySize"])
    assert template_facts.architecture("DispatchFunction") == "arm64"


def test_the_functions_environment_has_plausible_values_for_references() -> None:
    env = template_facts.function_environment("DispatchFunction")
    assert env["SEND_QUEUE_URL"].startswith("https://sqs.us-east-1.amazonaws.com/")
    assert env["DEAD_LETTER_QUEUE_URL"].startswith("https://sqs.")
    assert env["POWERTOOLS_SERVICE_NAME"] == "maildispatch-dispatch"
    assert int(env["DISPATCH_CONCURRENCY"]) >= 1
    assert all(isinstance(value, str) for value in env.values())
    bounce = template_facts.function_environment("BounceFunction")
    assert "@" in bounce["POSTMASTER_ADDRESS"]


def test_cloudformation_functions_get_dummy_values() -> None:
    assert template_facts._value({"Ref": "AWS::Region"}) == "us-east-1"
    assert template_facts._value({"Ref": "AWS::NoValue"}) is None
    assert template_facts._value({"If": ["Cond", "yes", "no"]}) == "yes"
    assert template_facts._value({"Sub": "${AWS::StackName}-core"}) == "maildispatch-core"
    assert template_facts._value({"GetAtt": "SendQueue.Arn"}).startswith("arn:aws:")
