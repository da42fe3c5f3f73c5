"""Dispatch function: SQS batch of send requests -> rendered mail submitted to the relay."""

import os

from maildispatch.runtime.dispatch_function import DispatchFunction
from maildispatch.runtime.observability import logger, metrics, publish_counts

dispatch = DispatchFunction.from_environ(os.environ)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    response, tally = dispatch.handle(event, context)
    publish_counts(tally)
    return response
