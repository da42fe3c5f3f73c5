"""Returned-mail function: bounces and complaints that came back after the relay accepted a message."""

import os

from maildispatch.runtime.observability import logger, metrics, publish_counts
from maildispatch.runtime.returned_function import ReturnedFunction

returned = ReturnedFunction.from_environ(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    response, tally = returned.handle(event, context)
    publish_counts(tally)
    return response
