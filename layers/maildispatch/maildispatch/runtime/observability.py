"""Structured logs and CloudWatch metrics (powertools), shared by the functions.

No Tracer: importing the X-Ray SDK costs about 0.2 s of every cold start.
Logs carry message keys and recipient domains, never bodies, passwords or full addresses.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from maildispatch.runtime.metric_names import METRIC_NAMES

logger = Logger()
metrics = Metrics()
# Our modules log through the standard library ("maildispatch.*"); give them the same JSON format.
copy_config_to_registered_loggers(source_logger=logger, include={"maildispatch"})


def publish_counts(counts: Mapping[str, int]) -> None:
    for name, value in counts.items():
        metrics.add_metric(name=METRIC_NAMES.get(name, name), unit=MetricUnit.Count, value=value)
