"""moto server answering one request at a time: `python -m tests.stack.moto_serial -p PORT`.

moto's backends are not thread-safe. Under the stock (threaded) moto_server, two concurrent
conditional writes to one DynamoDB item can both succeed, and two concurrent ReceiveMessage
calls can hand out the same SQS message: races real AWS never has, which would show up here
as duplicate sends that are moto's and not ours. Serving requests one by one removes them;
werkzeug's HTTP/1.0 handler closes each connection, so no client can hold the server.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
