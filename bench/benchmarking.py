"""What the benchmarks share: a fake AWS environment, a root key, a DynamoDB request counter,
moto served on a loopback port to other processes.

Import it first: it sets the environment before Herald's modules are imported.
"""

import json
import os
import re
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    HERALD_STAGE="dev",
)

import time

import botocore.session
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from moto.core.botocore_stubber import BotocoreStubber

from chalicelib.domain import keys

ROOT_KEY = keys.new_root_key()
os.environ["HERALD_ROOT_KEY_HASH"] = keys.hash_key(ROOT_KEY)


class RequestCounter:
    """Counts DynamoDB API calls of every botocore client (PynamoDB's included), while active.
    It hooks client creation, so it must exist before the first client is made."""

    def __init__(self):
        self.calls: Counter = Counter()
        self._active = False
        original = botocore.session.Session.create_client

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call.dynamodb.*", self._count)
            return client

        botocore.session.Session.create_client = create_client

    def _count(self, model, **_kwargs):
        if self._active:
            self.calls[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def __enter__(self):
        self.calls.clear()
        self._active = True
        return self

    def __exit__(self, *exc):
        self._active = False


COUNTER = RequestCounter()


class MotoClock:
    """The seconds spent inside moto answering requests."""

    def __init__(self):
        self.seconds = 0.0
        original = BotocoreStubber.__call__

        def timed(stubber, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(stubber, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        BotocoreStubber.__call__ = timed


MOTO = MotoClock()


def create_tenant(client) -> tuple[dict, dict, str]:
    """A new app through the API: its creation answer, admin JSON headers, and its base path."""
    made = client.http.post(
        "/v1/apps",
        headers={"Authorization": f"Bearer {ROOT_KEY}", "Content-Type": "application/json"},
        body=json.dumps({"name": "Bench"}),
    )
    tenant = json.loads(made.body)
    admin = {"Authorization": f"Bearer {tenant['admin_key']}", "Content-Type": "application/json"}
    return tenant, admin, f"/v1/apps/{tenant['app_id']}"


# --- AWS for other processes ------------------------------------------------------------------

SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


class LoopbackAws:
    """Serves AWS requests signed for any region and service on http://127.0.0.1:<port>
    (AWS_ENDPOINT_URL), answered by moto's backends in this process (inside mock_aws)."""

    def __init__(self):
        stubber = BotocoreStubber()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                found = SCOPE.search(self.headers.get("Authorization", ""))
                region, service = found.groups() if found else ("us-east-1", "unknown")
                headers = HTTPHeaders()
                for name, value in self.headers.items():
                    headers[name] = value
                url = f"https://{service}.{region}.amazonaws.com{self.path}"
                request = AWSPreparedRequest(self.command, url, headers, body, False)
                answer = stubber.process_request(request)
                status, reply_headers, reply = answer or (404, {}, b"no such AWS call")
                reply = reply.encode() if isinstance(reply, str) else reply
                self.send_response(status)
                for name, value in reply_headers.items():
                    if name.lower() not in ("content-length", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
