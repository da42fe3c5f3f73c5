"""maildispatch: serverless email dispatch for AWS (SQS -> Lambda -> SMTP), shipped as a Lambda layer.

The parts, one folder each:
- core/: pure values and functions (the send-request contract, rendering, MIME, outcomes, retry
  schedule, DSNs, VERP, reports, the returned-mail classifier): no I/O, no AWS, no SMTP.
- ports.py: every interface the services talk through, once.
- services/: the use cases (dispatch, reporting, returned mail), written against the ports.
- adapters/: the ports for real (AWS clients, DynamoDB tables, the SMTP relay).
- runtime/: settings, observability, the one SQS batch runtime and each function's wiring.
"""
