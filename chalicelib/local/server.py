"""LocalHerald: the whole Chalice API over HTTP, plus the local scheduler and queue consumers.

`make run` starts it with its own in-process moto (`mock=True`); a test starts it with
`mock=False` inside the mock it already has. Stopping it puts back every environment variable
it set and the class Chalice's local server swaps onto the app, so a test process stays clean.
"""

import json
import os
import socket
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

from chalice import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
)
from moto import mock_aws

from chalicelib import observability
from chalicelib.domain import keys
from chalicelib.local.one_at_a_time import moto_one_request_at_a_time
from chalicelib.local.queue import QueueConsumer, sqs_sources
from chalicelib.local.resources import create_all
from chalicelib.local.scheduler import LocalScheduler
from chalicelib.local.stream import RateRunner, StreamFeeder, StreamThread, stream_sources
from chalicelib.settings import get_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class JsonErrorsHandler(ChaliceRequestHandler):
    """Chalice's local HTTP handler, answering what API Gateway itself refuses (no such route:
    `{"message": "Missing Authentication Token"}`) as Herald's `{Code, Message}`, the way the
    deployed API's gateway responses do (deploy/outbox.py). Every method reaches the app, so
    one Chalice does not serve (TRACE, CONNECT, anything) is a JSON 405 with `Allow` on a known
    path and a JSON 404 elsewhere, never http.server's HTML 501."""

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # http.server looks up do_<METHOD> for each request
            return self._generic_handle
        raise AttributeError(name)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        body = {
            "Code": "NotFoundError" if error.CODE == 403 else "InternalServerError",
            "Message": f"no route {self.command} {self.path.split('?', 1)[0]}",
        }
        status = 404 if error.CODE == 403 else error.CODE
        headers = {**error.headers, "Content-Type": "application/json"}
        self._send_http_response(status, headers, json.dumps(body).encode())


def local_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """chalice.local.create_local_server, with JsonErrorsHandler."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=JsonErrorsHandler)


def chalice_config(stage: str) -> Config:
    """The stage's config from .chalice/config.json, as `chalice local --stage` builds it."""
    with open(PROJECT_DIR / ".chalice" / "config.json") as file:
        from_disk = json.load(file)
    return Config(
        chalice_stage=stage,
        user_provided_params={"project_dir": str(PROJECT_DIR)},
        config_from_disk=from_disk,
        default_params={"api_gateway_stage": "api", "autogen_policy": False},
    )


def _without_nagle(server) -> None:
    """TCP_NODELAY on every accepted connection. http.server writes a response's headers and
    body separately; with Nagle's algorithm the body then waits for the ACK that a keep-alive
    client delays (40 ms on Linux), so each request on a reused connection took 40 ms more."""
    accept = server.get_request

    def get_request():
        connection, address = accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    server.get_request = get_request


class LocalHerald:
    def __init__(
        self,
        port: int = 8000,
        root_key: str | None = None,
        mock: bool = True,
        app: Chalice | None = None,
        visibility_timeout: int = 2,
        rate_interval: float | None = None,
    ):
        """`port=0` picks a free port (read `.port`); `app` defaults to Herald's own;
        `rate_interval` runs the `@app.schedule` functions (the sweep) that often instead of
        at their rate."""
        self.port = port
        if root_key is not None and (problem := keys.root_key_problem(root_key)):
            raise ValueError(f"HERALD_ROOT_KEY: {problem}")
        self.root_key = root_key or keys.new_root_key()
        self._mock = mock_aws() if mock else None
        self._app = app
        self._visibility_timeout = visibility_timeout
        self._rate_interval = rate_interval
        self.feeders: list[StreamFeeder] = []
        self._stopping = threading.Event()
        self._saved_env: dict[str, str | None] = {}
        self._server: LocalDevServer | None = None
        self._threads: list[threading.Thread] = []
        self._app_class: type | None = None
        self._serial = ExitStack()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        if self._mock:
            for name, value in FAKE_AWS.items():
                self._setenv(name, value)
            self._setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
            self._setenv("AWS_PROFILE", None)
            self._mock.start()
        if self._app is None:
            from app import app  # after the mock has started: nothing may reach a real AWS

            self._app = app
        settings = get_settings()
        config = chalice_config(settings.stage)
        for name, value in config.environment_variables.items():
            self._setenv(name, value)
        self._setenv("HERALD_ROOT_KEY_HASH", keys.hash_key(self.root_key))
        settings = get_settings()
        self._serial.enter_context(moto_one_request_at_a_time())
        # the log lines and metrics to the terminal's stderr: the stdout of a process that serves
        # Herald in a thread (a test, the SDK's command line) stays its own
        self._serial.enter_context(observability.written_to(sys.__stderr__))
        create_all(settings)

        self._app_class = type(self._app)
        self._server = local_server(self._app, config, HOST, self.port)
        self.port = self._server.server.server_address[1]
        _without_nagle(self._server.server)
        self.feeders = [
            StreamFeeder(self._app, source, settings) for source in stream_sources(self._app)
        ]
        self._threads = [
            *(StreamThread(feeder, self._stopping) for feeder in self.feeders),
            RateRunner(self._app, self._stopping, self._rate_interval),
            threading.Thread(
                target=self._server.server.serve_forever, name="herald-local-http", daemon=True
            ),
            LocalScheduler(self._app, settings, self._stopping),
            *(
                QueueConsumer(self._app, source, settings, self._stopping, self._visibility_timeout)
                for source in sqs_sources(self._app)
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop serving and polling, free the port, and undo what start() changed."""
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server.server_close()
        for thread in self._threads:
            thread.join(timeout)
        if self._app_class:
            self._app.__class__ = self._app_class
        self._serial.close()
        if self._mock:
            self._mock.stop()
        for name, value in self._saved_env.items():
            self._restore(name, value)
        self._saved_env.clear()

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def _setenv(self, name: str, value: str | None) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        self._restore(name, value)

    @staticmethod
    def _restore(name: str, value: str | None) -> None:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
