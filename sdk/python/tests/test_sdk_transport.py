"""Retries on 429 and 503: Retry-After honoured (seconds or HTTP date), else backoff, bounded.

Herald itself never answers 429 locally (API Gateway's throttling does), so a small loopback
server plays the throttling front door here; the 503 case against Herald is in
test_sdk_admin.py.
"""

import email.utils
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from herald_sdk import ConnectionFailed, Herald, RetryPolicy, TooManyRequests
from herald_sdk.transport import retry_after_seconds


class Throttling(BaseHTTPRequestHandler):
    answers: list = []

    def do_GET(self):
        if self.answers[0] == "hang up":
            self.answers.pop(0)
            self.close_connection = True
            return  # no answer at all: the client sees the connection closed
        status, headers, body = self.answers.pop(0)
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def front_door():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


APP = {"app_id": "app1", "name": "Shop", "created_at": "2026-01-01T00:00:00Z"}
THROTTLED = {"Code": "TooManyRequestsException", "Message": "Too Many Requests"}


def test_429_waits_the_retry_after_then_backs_off_and_succeeds(front_door):
    url = front_door
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    Throttling.answers = [
        (429, {"Retry-After": "2"}, THROTTLED),
        (429, {"Retry-After": later}, THROTTLED),
        (429, {}, THROTTLED),
        (200, {}, APP),
    ]
    client = Herald(url, admin_key="herald_admin_app1_" + "0" * 64)
    waits = []
    client._http._sleep = waits.append

    assert client.get_app().name == "Shop"
    assert waits[0] == 2.0
    assert 1.0 <= waits[1] <= 3.0  # the HTTP date, as seconds from now
    assert 0 <= waits[2] <= RetryPolicy().base_delay * 4  # full-jitter backoff, 3rd attempt


def test_retries_are_bounded_then_the_error_is_raised_with_its_retry_after(front_door):
    url = front_door
    Throttling.answers = [(429, {"Retry-After": "1"}, THROTTLED)] * 3
    client = Herald(url, admin_key="herald_admin_app1_" + "0" * 64, retry=RetryPolicy(attempts=3))
    waits = []
    client._http._sleep = waits.append

    with pytest.raises(TooManyRequests) as refused:
        client.get_app()
    assert waits == [1.0, 1.0]
    assert (refused.value.code, refused.value.retry_after) == ("TooManyRequestsException", 1.0)


def test_a_retry_after_beyond_the_total_wait_is_not_waited_for(front_door):
    url = front_door
    Throttling.answers = [(429, {"Retry-After": "120"}, THROTTLED)]
    policy = RetryPolicy(max_delay=300, max_total_wait=60)
    client = Herald(url, admin_key="herald_admin_app1_" + "0" * 64, retry=policy)
    client._http._sleep = lambda seconds: pytest.fail(f"waited {seconds}")
    with pytest.raises(TooManyRequests):
        client.get_app()


def test_retry_after_forms():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Tue, 01 Dec 2026 12:00:30 GMT", lambda: now) == 30.0
    assert retry_after_seconds("Tue, 01 Dec 2026 11:00:00 GMT", lambda: now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("٣") is None  # unicode digits are not delta-seconds
    assert retry_after_seconds(None) is None


def test_no_answer_is_retried_for_reads_but_not_for_a_post(front_door):
    url = front_door
    Throttling.answers = ["hang up", (200, {}, APP)]
    client = Herald(url, admin_key="herald_admin_app1_" + "0" * 64, root_key="r")
    waits = []
    client._http._sleep = waits.append
    assert client.get_app().name == "Shop"
    assert len(waits) == 1

    Throttling.answers = ["hang up", (201, {}, APP)]
    with pytest.raises(ConnectionFailed, match="cannot reach"):
        client.create_app("Shop")  # not repeatable: it may have been created
    assert len(waits) == 1
