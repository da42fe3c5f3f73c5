"""Bounce function: dead-letter queue -> RFC 3464 report to the sender + "Email Bounced" event."""

import os

from maildispatch.runtime.bounce_function import BounceFunction
from maildispatch.runtime.observability import logger, metrics, publish_counts

bounce = BounceFunction.from_environ(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    response, tally = bounce.handle(event, context)
    publish_counts(tally)
    return response
