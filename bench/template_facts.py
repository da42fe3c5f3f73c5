"""What template.yaml says that the benchmarks need: memory size, architecture, each function's
environment (with dummy values for what only exists once deployed), batch and concurrency settings."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
ACCOUNT, REGION = "123456789012", "us-east-1"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref X becomes {"Ref": "X"}, !If [...] {"If": [...]})."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@lru_cache(maxsize=1)
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)


def globals_function() -> dict[str, Any]:
    return template().get("Globals", {}).get("Function", {})


def function_properties(logical_id: str) -> dict[str, Any]:
    return template()["Resources"][logical_id]["Properties"]


def memory_size(logical_id: str) -> int:
    return int(function_properties(logical_id).get("MemorySize", globals_function().get("MemorySize", 128)))


def architecture(logical_id: str) -> str:
    return str(
        (function_properties(logical_id).get("Architectures") or globals_function().get("Architectures") or ["x86_64"])[
            0
        ]
    )


def parameter_default(name: str) -> Any:
    return template().get("Parameters", {}).get(name, {}).get("Default")


def event_source_batch_size(function_id: str) -> int:
    for resource in template()["Resources"].values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Lambda::EventSourceMapping" and props.get("FunctionName") == {
            "Ref": function_id
        }:
            return int(_value(props.get("BatchSize", 10)))
    return 10


def function_environment(logical_id: str) -> dict[str, str]:
    """The function's environment as the template sets it, references replaced by plausible dummies."""
    variables: dict[str, Any] = {}
    variables.update(globals_function().get("Environment", {}).get("Variables", {}))
    variables.update(function_properties(logical_id).get("Environment", {}).get("Variables", {}))
    environment = {}
    for name, raw in variables.items():
        value = _value(raw)
        if value is not None:
            environment[name] = str(value)
    return environment


def _value(raw: Any) -> Any:
    """A plausible deployed value for a template value; None for AWS::NoValue."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return raw
    ((function, argument),) = raw.items()
    function = function.removeprefix("Fn::")
    if function == "Ref":
        return _reference(argument)
    if function == "If":
        return _value(argument[1])  # the condition's true branch
    if function == "GetAtt":
        target = argument if isinstance(argument, str) else ".".join(argument)
        return f"arn:aws:bench:{REGION}:{ACCOUNT}:{target}"
    if function == "Sub":
        text = argument if isinstance(argument, str) else argument[0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(_reference(m.group(1))), text)
    return "bench"


def _reference(name: str) -> Any:
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": "maildispatch",
        "AWS::NoValue": None,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    if name in pseudo:
        return pseudo[name]
    parameters = template().get("Parameters", {})
    if name in parameters:
        default = parameters[name].get("Default")
        if default is not None:
            return default
        lowered = name.lower()
        return "postmaster@example.com" if "address" in lowered else "mail.example.com"
    kind = template()["Resources"].get(name, {}).get("Type", "")
    return {
        "AWS::SQS::Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/maildispatch-{name}",
        "AWS::SSM::Parameter": f"/maildispatch/bench/{name}",
        "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:maildispatch-{name}-AbCdEf",
        "AWS::S3::Bucket": f"maildispatch-{name.lower()}",
    }.get(kind, f"maildispatch-{name}")
