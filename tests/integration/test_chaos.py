"""The fault test, small: `make chaos` (tests/stack/chaos.py) in well under a minute, plus its tools.

Same mechanics as the full run (every record twice, invocations cut off mid-batch, waves, a seeded
fault relay, the real handlers on moto server) with 20 requests. The relay injects every fault type
at its first opportunity (`at_least_once`), and cut-offs come late enough to catch the relay having
accepted a message the ledger does not know about yet, so each is tested in every run: a chaos test
that injected nothing proves nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
from maildispatch.core.outcome import Bounced, Delivered, Envelope
from tests.stack.chaos import CHAOS_FUNCTION_ENV, ChaosConfig, default_faults, print_report, run_chaos
from tests.stack.event_source import CutOffs, ForkServer, HandlerSpec, InvocationOutcome, SqsEventSource
from tests.stack.moto import MotoServer, aws_client
from tests.stack.relay_fixtures import RELAY_PASSWORD, RELAY_USER, RelayProcess

EVERY_FAULT = (
    "rcpt_421",
    "rcpt_450",
    "rcpt_451",
    "rcpt_452",
    "rcpt_550",
    "rcpt_552",
    "rcpt_554",
    "dead",
    "greylist",
    "drop_mid_data",
    "drop_after_dot",
    "hang_after_dot",
    "slow",
    "cut_off_invocations",
    "duplicated_records",
    "cut_off_after_the_relay_accepted",
)


def small_run_faults() -> dict[str, Any]:
    faults = default_faults()
    faults["at_least_once"] = True  # every fault type at its first opportunity, then at random
    faults["rcpt"] = {code: 0.02 for code in faults["rcpt"]}
    faults["greylist"] = {"probability": 0.1, "delay_seconds": 1}
    faults["data"].update(
        drop_mid_data=0.3, drop_after_dot=0.03, hang_after_dot=0.02, slow=0.05, slow_seconds=[0.1, 0.4]
    )
    return faults


SMALL_RUN = ChaosConfig(
    requests=20,
    seed=3,
    wave_requests=10,
    pool_size=16,
    large_every=10,
    cut_off_fraction=0.6,  # a few of ~20 invocations, killed past their claims, into the sends
    # Early and late kills in turn: the test insists that some kill lands after the relay accepted a
    # copy, and when that happens depends on how fast (how loaded) the machine is.
    cut_off_ladder_s=(0.3, 0.6, 1.2, 2.4, 4.8),
    faults=small_run_faults(),
    function_env={**CHAOS_FUNCTION_ENV, "RETRY_SCHEDULE": "1s,2s"},
    queue_visibility_s=4,
    pipelining=True,  # as most relays offer it: records waiting for a connection ride behind a final dot
    max_run_s=150,
)


def test_no_mail_is_lost_and_none_is_sent_twice_under_faults(tmp_path: Path, fresh_moto: MotoServer, capsys) -> None:
    result = run_chaos(SMALL_RUN, tmp_path / "chaos", moto=fresh_moto)
    with capsys.disabled():
        print_report(result)
    summary, details = result.summary, result.details

    def evidence(problem: str) -> str:
        examples = details["examples"].get(problem, [])
        return json.dumps(
            {"summary": summary, "checks": details["checks"], "examples": examples}, indent=1, default=str
        )

    assert result.settled, f"the queues did not empty within {SMALL_RUN.max_run_s} s:\n{evidence('lost')}"
    not_injected = [name for name in EVERY_FAULT if not summary["faults"].get(name)]
    assert not not_injected, f"faults never injected, so not tested: {not_injected}"
    assert summary["lost"] == 0, f"recipients lost:\n{evidence('lost')}"
    assert summary["duplicates"] == 0, f"recipients sent a second copy:\n{evidence('duplicates')}"
    for check in (
        "delivered in the ledger, no copy at the relay",
        "bounced, in no DSN",
        "delivered, yet named as failed in a DSN",
    ):
        assert details["checks"][check] == 0, f"{check}:\n{evidence(check)}"
    assert (
        summary["recipients"]
        == summary["delivered"] + summary["bounced"] + summary["suppressed"] + summary["uncertain"]
    )
    assert summary["suppressed"] > 0, "dead mailboxes are suppressed after their first hard bounce"


# -- the fault relay is seeded and reproducible -----------------------------------------------------------

PROFILE = {
    "rcpt": {"421": 0.05, "450": 0.05, "451": 0.05, "452": 0.05, "550": 0.05, "552": 0.05, "554": 0.05},
    "dead": ["gone@example.net"],
    "greylist": {"probability": 0.3, "delay_seconds": 1},
    "data": {"drop_after_dot": 0.1, "slow": 0.1, "slow_seconds": [0.01, 0.02]},
}
RECIPIENTS = [f"user{i}@example.net" for i in range(6)]


def _replies_from(relay: RelayProcess, sender: str) -> list[tuple[str, str, str]]:
    settings = RelaySettings(
        host=relay.host,
        port=relay.port,
        username=RELAY_USER,
        password=RELAY_PASSWORD,
        ca_file=relay.ca_file,
        timeout=5.0,
        max_connections=1,
    )

    async def send_all() -> None:
        async with RelayTransport(settings) as transport:
            for n in range(20):
                recipients = (RECIPIENTS[n % 6], RECIPIENTS[(n + 1) % 6], "gone@example.net")
                message = f"Message-ID: <m{n}@shop.example>\r\nSubject: {n}\r\n\r\nHello\r\n".encode()
                await transport.deliver(Envelope(sender, recipients), message)

    asyncio.run(send_all())
    return [
        (e["event"], e.get("recipient", ""), e["reply"]) for e in relay.log_events() if e["event"] in ("rcpt", "data")
    ]


def test_the_fault_relay_replays_the_same_faults_for_the_same_seed(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("first", 11), ("again", 11), ("other", 12)):
        with RelayProcess().start(
            tmp_path / name, auth=(RELAY_USER, RELAY_PASSWORD), faults=PROFILE, seed=seed
        ) as relay:
            runs[name] = (_replies_from(relay, "shop@shop.example"), relay.injected_faults())
    assert runs["first"] == runs["again"]
    assert runs["first"][0] != runs["other"][0]
    faults = runs["first"][1]
    assert {"dead", "greylist", "drop_after_dot", "slow"} <= set(faults), faults


def test_dsns_from_the_null_sender_get_no_random_faults(tmp_path: Path) -> None:
    always = {"rcpt": {"451": 1.0}, "greylist": {"probability": 1.0}, "data": {"drop_after_dot": 1.0}}
    with RelayProcess().start(tmp_path / "r", auth=(RELAY_USER, RELAY_PASSWORD), faults=always, seed=1) as relay:
        settings = RelaySettings(
            host=relay.host, port=relay.port, username=RELAY_USER, password=RELAY_PASSWORD, ca_file=relay.ca_file
        )

        async def deliver(sender: str) -> list:
            async with RelayTransport(settings) as transport:
                return await transport.deliver(
                    Envelope(sender, ("shop@shop.example",)), b"Message-ID: <d@x>\r\n\r\nDSN\r\n"
                )

        [dsn] = asyncio.run(deliver(""))
        [mail] = asyncio.run(deliver("shop@shop.example"))
        assert isinstance(dsn, Delivered) and not isinstance(mail, (Delivered, Bounced))
        assert relay.stored_copies(null_sender=True) == {("<d@x>", "shop@shop.example"): 1}
        assert relay.injected_faults() == {"rcpt_451": 1}


# -- cut-offs: the runtime killed mid-batch ---------------------------------------------------------------

SLOW_HANDLER = """
import os, time
def handler(event, context):
    for record in event["Records"]:
        with open(os.environ["PROGRESS"], "a") as progress:
            progress.write(f"{os.getpid()} {record['messageId']}\\n")
        time.sleep(0.2)
    return {"batchItemFailures": []}
"""


def test_a_cut_off_invocation_dies_mid_batch_and_its_records_come_back(tmp_path: Path, fresh_moto: MotoServer) -> None:
    sqs = aws_client("sqs", fresh_moto.endpoint_url)
    url = sqs.create_queue(QueueName="cut", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"record {n}")
    (tmp_path / "app.py").write_text(SLOW_HANDLER)
    progress = tmp_path / "progress.txt"
    spec = HandlerSpec(str(tmp_path / "app.py"), {"PROGRESS": str(progress)})

    with ForkServer(tmp_path / "forked.log") as forks:
        cut = CutOffs(forks, spec, fraction=1.0, delay_s=(0.5, 0.5), seed=0)
        source = SqsEventSource(sqs, url, arn, lambda e, c: None, function_name="slow", batch_size=5, cut_offs=cut)
        result = source.poll_once()

    assert result is not None and result.outcome is InvocationOutcome.CUT_OFF
    assert result.cut_off_after_s == 0.5 and result.deleted_ids == ()
    lines = progress.read_text().splitlines()
    assert 1 <= len(lines) < 5, "killed in the middle of the batch"
    assert {line.split()[0] for line in lines} != {str(os.getpid())}, "the handler ran in a child process"

    again = SqsEventSource(sqs, url, arn, lambda e, c: {"batchItemFailures": []}, function_name="slow", batch_size=10)
    results = again.drain(timeout_s=15, idle_s=0.2)
    assert sorted(r for res in results for r in res.deleted_ids) == sorted(result.record_ids), "every record came back"
