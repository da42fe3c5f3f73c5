"""The benchmark's result schema, target checks and table (bench/report.py), on a made-up result: no benchmark runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bench.cold_start import parse_importtime
from bench.report import REQUIRED_KEYS, check_targets, lookup, markdown, missing_keys, write_json

RESULTS = {
    "schema_version": 1,
    "date": "2026-11-29T08:00:00+00:00",
    "command": "python -m bench --quick",
    "quick": True,
    "machine": {"cores": 2, "python": "3.11.7", "load_average_at_start": [1.0, 1.0, 1.0]},
    "cpu_bound": {
        "messages": 2000,
        "message_bytes": 2057,
        "batch": 100,
        "concurrency": 20,
        "max_connections": 10,
        "yardstick_connections": 20,
        "runs": 2,
        "msgs_per_s": 500.0,
        "bare_aiosmtplib_msgs_per_s": 1000.0,
        "ratio_to_bare_aiosmtplib": 0.5,
        "naive_python_msgs_per_s": 125.0,
        "ratio_to_naive_python": 4.0,
        "smtp_source_msgs_per_s": 8000.0,
        "ratio_to_smtp_source": 0.0625,
        "transport_per_batch_msgs_per_s": 600.0,
        "transport_per_batch_ratio_to_bare_aiosmtplib": 0.6,
        "render_workers": {"workers": 2, "msgs_per_s": 700.0, "ratio_to_bare_aiosmtplib": 0.7},
        "one_connection_per_request": {"max_connections": 20, "msgs_per_s": 450.0, "ratio_to_bare_aiosmtplib": 0.45},
    },
    "latency_bound": {
        "msgs_per_s": {"10": 60.0, "100": 150.0, "1000": 170.0},
        "ratio_to_naive": {"10": 9.0, "100": 45.0, "1000": 25.5},
        "naive_msgs_per_s": 6.66,
        "invocation_seconds": {"10": 0.17, "100": 0.67, "1000": 5.9},
        "max_connections": 10,
        "relay_max_connections": 10,
        "concurrency": 20,
        "template_concurrency": 10,
        "reply_delay_ms": 20.0,
        "without_pipelining": {"msgs_per_s": {"10": 45.0, "100": 90.0}},
        "without_chunking": {"msgs_per_s": {"10": 50.0, "100": 120.0}},
        "as_shipped": {
            "concurrency": 10,
            "max_connections": 2,
            "msgs_per_s": {"bdat": {"10": 77.0, "100": 89.0}, "data": {"10": 66.0, "100": 88.0}},
        },
        "by_concurrency": {"batch": 100, "msgs_per_s": {"10": 100.0, "20": 150.0}},
        "fresh_connections_per_invocation": {"msgs_per_s": {"10": 90.0, "100": 180.0}},
        "relay_refused_connections": 0,
    },
    "cold_start": {
        "runs": 3,
        "boto3_sqs_ms": 200.0,
        "bundle_built_with": "sam build",
        "interpreter": "cpython 3.11.7",
        "dispatch": {
            "ms": 150.0,
            "ratio_to_boto3": 0.75,
            "ms_without_pyc": 300.0,
            "ratio_to_boto3_without_pyc": 1.5,
            "bundle": {"function_bytes": 500, "layer_bytes": 6 * 2**20, "layer_zip_bytes": 2 * 2**20},
        },
        "bounce": {
            "ms": 400.0,
            "ratio_to_boto3": 2.0,
            "ms_without_pyc": 500.0,
            "ratio_to_boto3_without_pyc": 2.5,
            "bundle": {"function_bytes": 500, "layer_bytes": 6 * 2**20, "layer_zip_bytes": 2 * 2**20},
        },
    },
    "memory": {
        "peak_rss_mb": 300.0,
        "memory_size_mb": 512,
        "records": 1000,
        "attachment_kb": 100,
        "baseline_rss_mb": 30.0,
        "event_mb": 132.5,
        "peak_while_parsing_event_mb": 300.0,
        "after_event_parsed_rss_mb": 200.0,
        "peak_during_invocation_mb": 220.0,
        "worst_case_peak_rss_mb": 420.0,
        "worst_case": {
            "records": 10,
            "max_message_bytes": 10 * 2**20,
            "attachments_per_message": 3,
            "attachment_bytes": 2_545_848,
            "concurrency": 10,
            "max_connections": 2,
            "baseline_rss_mb": 42.0,
            "render_workers": 2,
            "render_workers_peak_rss_mb": 50.0,
            "with_render_workers_ratio_to_memory_size": 0.92,
            "seconds": 3.4,
        },
    },
    "campaign": {
        "rate_error": 0.012,
        "rate_budget_msgs_per_s": 50.0,
        "rate_achieved_msgs_per_s": 50.6,
        "rate_seconds": 120.0,
        "rate_containers": 4,
        "fanout_recipients_per_s": 2000.0,
        "peak_rss_mb_10k": 26.0,
        "peak_rss_mb_100k": 27.0,
        "rss_ratio_100k_to_10k": 1.04,
        "large_list_bytes": 5 * 2**20,
        "stand_ins": {"send_message_batch_s": 0.015, "dynamodb_call_s": 0.005, "group_batches": 10},
    },
    "cost": {
        "usd_per_million": 0.2,
        "batch_size": 10,
        "memory_mb": 512,
        "ses_usd_per_million": 100.0,
        "ratio_to_ses": 0.002,
        "by_batch_size": {"10": {"usd": 0.2, "usd_with_ledger": 1.45}},
        "prices": {"region": "us-east-1", "as_of": "2026-11"},
    },
    "dkim": {"sign_ms": 0.9, "dkimpy_sign_ms": 20.7, "ratio_to_dkimpy": 23.0, "message_bytes": 2057},
}


def results() -> dict:
    document = copy.deepcopy(RESULTS)
    document["targets"] = check_targets(document)
    return document


def test_every_target_says_what_it_wants_what_was_measured_and_whether_it_was_met() -> None:
    targets = results()["targets"]
    assert targets["cpu_bound.ratio_to_bare_aiosmtplib"] | {"what": ""} == {
        "what": "",
        "target": ">= 0.7",
        "threshold": 0.7,
        "comparison": ">=",
        "measured": 0.5,
        "met": False,
    }
    assert targets["latency_bound.ratio_to_naive.100"]["met"] is True
    assert targets["latency_bound.msgs_per_s.100"]["met"] is True
    assert targets["latency_bound.msgs_per_s.10"]["met"] is False
    assert targets["cold_start.dispatch.ratio_to_boto3"]["met"] is True
    assert targets["cold_start.bounce.ratio_to_boto3"]["met"] is False
    assert targets["campaign.rate_error"] | {"what": ""} == {
        "what": "",
        "target": "<= 0.05",
        "threshold": 0.05,
        "comparison": "<=",
        "measured": 0.012,
        "met": True,
    }
    assert targets["dkim.sign_ms"] | {"what": ""} == {
        "what": "",
        "target": "<= 1",
        "threshold": 1.0,
        "comparison": "<=",
        "measured": 0.9,
        "met": True,
    }
    assert targets["cpu_bound.ratio_to_naive_python"] | {"what": ""} == {
        "what": "",
        "target": ">= 3",
        "threshold": 3,
        "comparison": ">=",
        "measured": 4.0,
        "met": True,
    }
    assert targets["memory.worst_case_peak_rss_mb"]["threshold"] == 409.6, "80 % of MemorySize"
    assert targets["memory.worst_case_peak_rss_mb"]["met"] is False
    assert "memory.peak_rss_mb" not in targets, "an event Lambda cannot deliver: a reference, not a target"


def test_the_table_marks_every_missed_target() -> None:
    table = markdown(results())
    assert table.count("**missed**") == 4  # CPU-bound, batch 10 below 150 msg/s, bounce cold start, worst-case memory
    assert (
        "| CPU-bound: dispatch path to smtp-sink, batches of 100, 20 requests over 10 connections (yardstick: 20)"
        in table
    )
    assert "0.50" in table
    assert (
        "With a connection per request in flight, as the yardsticks have (20; nothing rides behind a final dot): 450 msg/s (0.45)"
        in table
    )
    assert "Missed targets:" in table and "bounce cold start" in table
    assert "(quick run" in table
    assert (
        "| Campaign: 4 containers sharing a relay budget for 120 s | 50.60 msg/s | budget 50 msg/s | error 1.2% |"
        in table
    )
    assert "| DKIM: sign one 2,057-byte message, RSA-2048" in table and "dkimpy 20.7 ms | 23.0× faster" in table
    assert "| Jinja2 + EmailMessage + aiosmtplib 125 msg/s | 4.00 | >= 3: met |" in table
    assert "Memory, worst case that can arrive: 10 records × 10 MiB" in table and "| 0.82 |" in table
    assert "With DATA instead of BDAT" in table
    assert (
        "As the template ships it (10 requests over 2 connections): batch 10: 77.0 msg/s with BDAT, 66.0 with DATA"
        in table
    )


def test_the_json_holds_every_required_key(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    write_json(results(), path)
    document = json.loads(path.read_text())
    assert missing_keys(document) == []
    assert set(document["latency_bound"]["msgs_per_s"]) == {"10", "100", "1000"}
    for key in REQUIRED_KEYS:
        assert lookup(document, key) is not None


def test_a_result_without_a_required_key_is_not_written(tmp_path: Path) -> None:
    document = results()
    del document["latency_bound"]["ratio_to_naive"]["1000"]
    assert missing_keys(document) == ["latency_bound.ratio_to_naive.1000"]
    with pytest.raises(ValueError, match=r"ratio_to_naive\.1000"):
        write_json(document, tmp_path / "latest.json")
    assert not (tmp_path / "latest.json").exists()


def test_importtime_output_is_summed_per_top_level_package() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |   _io",
            "import time:      2000 |       2000 |     jinja2.utils",
            "import time:      3000 |       5000 |   jinja2",
            "import time:      1500 |       1500 |       maildispatch.render",
            "import time:       500 |       7000 | app",
            "some other line",
        ]
    )
    assert parse_importtime(stderr) == [
        {"package": "jinja2", "ms": 5.0},
        {"package": "maildispatch", "ms": 1.5},
        {"package": "app", "ms": 0.5},
        {"package": "_io", "ms": 0.1},
    ]
