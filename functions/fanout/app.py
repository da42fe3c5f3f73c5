"""Fan-out function: a campaign's recipient list in S3 -> send requests on the send queue, resumable."""

import os

from maildispatch.runtime.fanout_function import FanoutFunction
from maildispatch.runtime.observability import logger, metrics, publish_counts

fanout = FanoutFunction.from_environ(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    response, tally = fanout.handle(event, context)
    publish_counts(tally)
    return response
