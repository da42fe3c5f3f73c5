"""HTTP API function: API Gateway HTTP API requests -> send queue, ledger status, upload URLs."""

import os

from maildispatch.runtime.api_function import ApiFunction
from maildispatch.runtime.observability import logger

api = ApiFunction.from_environ(os.environ)


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return api.handle(event, context)
