"""DKIM settings (DKIM_KEYS, DKIM_STRICT), and what a stack that does not sign pays for signing: nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from maildispatch.core.dkim import SigningDomain
from maildispatch.runtime.settings import DispatchSettings, SettingsError

REPO = Path(__file__).resolve().parents[2]
LOCAL = {"SEND_QUEUE_URL": "q", "DEAD_LETTER_QUEUE_URL": "dlq", "LEDGER_TABLE": "t", "SMTP_HOST": "127.0.0.1"}
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:maildispatch/dkim/example-AbCdEf"


def settings(**env: str) -> DispatchSettings:
    return DispatchSettings.from_environ({**LOCAL, **env})


def test_without_dkim_keys_nothing_is_signed():
    assert settings().dkim_keys == () and settings().dkim_strict is False


def test_several_signing_domains_each_with_its_selector_and_secret():
    keys = {
        "example.com": {"selector": "md2026", "secret_arn": ARN},
        "Bücher.example": {
            "selector": "s1",
            "secret_arn": "dkim/buecher",
            "ed25519_selector": "s1e",
            "ed25519_secret_arn": "dkim/buecher-ed",
        },
    }
    found = settings(DKIM_KEYS=json.dumps(keys), DKIM_STRICT="true")
    assert found.dkim_keys == (
        SigningDomain("example.com", "md2026", ARN),
        SigningDomain("xn--bcher-kva.example", "s1", "dkim/buecher", "s1e", "dkim/buecher-ed"),
    )
    assert found.dkim_strict is True


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("not json", "DKIM_KEYS is not JSON"),
        ('["example.com"]', "DKIM_KEYS is not a JSON object"),
        ('{"example.com": "arn"}', "DKIM_KEYS.example.com is not an object"),
        ('{"example.com": {"selector": "s1"}}', "DKIM_KEYS.example.com needs selector and secret_arn"),
        (
            '{"example.com": {"selector": "s 1", "secret_arn": "x"}}',
            "DKIM_KEYS.example.com: 's 1' is not a DKIM selector",
        ),
        ('{"com": {"selector": "s1", "secret_arn": "x"}}', "DKIM_KEYS.com: 'com' is not a signing domain"),
        ('{"example.com": {"selector": "s1", "secret_arn": "x", "key": "y"}}', "unknown field(s) key"),
        (
            '{"example.com": {"selector": "s1", "secret_arn": "x", "ed25519_selector": "s2"}}',
            "needs both ed25519_selector and ed25519_secret_arn",
        ),
        (
            '{"example.com": {"selector": "s1", "secret_arn": "x"}, "EXAMPLE.com": {"selector": "s2", "secret_arn": "y"}}',
            "names a domain twice",
        ),
    ],
)
def test_a_bad_dkim_setting_is_an_error_naming_it(value, named):
    with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
        settings(DKIM_KEYS=value)


def test_a_secret_outside_the_prefix_the_function_may_read_is_refused_at_start():
    keys = json.dumps(
        {"example.com": {"selector": "s1", "secret_arn": "arn:aws:secretsmanager:eu-west-1:1:secret:other/k"}}
    )
    with pytest.raises(SettingsError, match="not named under DKIM_SECRETS_PREFIX 'maildispatch/dkim/'"):
        settings(DKIM_KEYS=keys, DKIM_SECRETS_PREFIX="maildispatch/dkim/")
    assert settings(DKIM_KEYS=keys.replace("other/", "maildispatch/dkim/"), DKIM_SECRETS_PREFIX="maildispatch/dkim/")


def test_strict_without_keys_is_refused_at_start_not_by_refusing_every_message():
    with pytest.raises(SettingsError, match="DKIM_STRICT is set but DKIM_KEYS is empty"):
        settings(DKIM_STRICT="true")


def test_the_settings_repr_names_secrets_never_keys():
    shown = repr(settings(DKIM_KEYS=json.dumps({"example.com": {"selector": "md2026", "secret_arn": ARN}})))
    assert "md2026" in shown and "PRIVATE KEY" not in shown


_PROBE = """
import json, os, sys
from maildispatch.runtime.bounce_function import BounceFunction
from maildispatch.runtime.dispatch_function import DispatchFunction
function = DispatchFunction.from_environ(json.loads(sys.argv[1]))
assert function.dkim_signer() is None
bounce = BounceFunction.from_environ(json.loads(sys.argv[1]))
assert bounce.signed("transport") == "transport"
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] == "cryptography")))
"""


def test_functions_without_dkim_never_import_cryptography():
    env = {"PYTHONPATH": str(REPO / "layers" / "maildispatch"), "AWS_DEFAULT_REGION": "eu-west-1"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(LOCAL)], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout) == []


def test_a_stack_with_dkim_signs_with_the_keys_from_its_secrets(monkeypatch):
    from maildispatch.runtime import dispatch_function
    from tests.fakes import dkim as keys

    secrets = {ARN: keys.pem(keys.rsa_key())}
    monkeypatch.setattr(dispatch_function, "fetch_secret_bytes", lambda name: secrets[name])
    function = dispatch_function.DispatchFunction(
        settings(DKIM_KEYS=json.dumps({"example.com": {"selector": "md2026", "secret_arn": ARN}}))
    )
    signer = function.dkim_signer()
    message = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
    assert keys.verify_all(signer.signature_fields(message, from_domain="example.com") + message) == [True]
    assert function.dkim_signer() is not signer  # a signer per invocation (secrets may rotate) ...
    assert function._dkim_keyring is not None  # ... over one keyring: keys parsed once per container


def test_no_key_material_in_logs_or_errors(monkeypatch, caplog):
    import logging

    from maildispatch.adapters.dkim_signer import DkimKeyError
    from maildispatch.runtime import dispatch_function
    from tests.fakes import dkim as keys
    from tests.unit.test_dispatch_dkim import SigningHarness
    from tests.unit.test_dispatch_service import request

    pem = keys.pem(keys.rsa_key())
    material = [line for line in pem.decode().splitlines() if "PRIVATE KEY" not in line]
    secrets = {ARN: pem}
    monkeypatch.setattr(dispatch_function, "fetch_secret_bytes", lambda name: secrets[name])
    function = dispatch_function.DispatchFunction(
        settings(DKIM_KEYS=json.dumps({"example.com": {"selector": "md2026", "secret_arn": ARN}}))
    )
    with caplog.at_level(logging.DEBUG):
        h = SigningHarness(signer=function.dkim_signer())
        h.process(request())
        h.process(request(message_key="k2", **{"from": "x@other.example"}))
    assert h.transport.deliveries and caplog.records
    logged = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    assert not [line for line in material if line in logged]

    secrets[ARN] = pem[: len(pem) // 2]  # a damaged secret: the error names it, shows nothing of it
    function._dkim_keyring = None
    with pytest.raises(DkimKeyError) as caught:
        function.dkim_signer()
    assert ARN in str(caught.value) and "example.com" in str(caught.value)
    assert not [line for line in material if line in str(caught.value)]
