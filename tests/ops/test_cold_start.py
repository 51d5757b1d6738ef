"""What keeps a cold start short (docs/OPERATIONS.md, bench/operations_bench.py times it): app.py
imports no SDK, no store and no models (the first request of each handler loads what it uses);
every PynamoDB connection of a thread shares its one botocore session."""

import json
import subprocess
import sys
import threading

from chalicelib import lazy
from chalicelib.adapters import aws
from chalicelib.adapters.dynamo import tables
from tests.api.device_helpers import create_engagement, live_engagement

HEAVY = ("botocore", "boto3", "pynamodb", "pydantic", "aws_lambda_powertools")


def test_importing_app_loads_no_sdk_store_or_models():
    code = (
        "import json, sys; import app; "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_clients_and_the_tables_share_one_session(api, shop):
    create_engagement(api, shop, live_engagement("Spring"))
    assert api.get(f"{shop.path}/devices/d-1/messages", X_Client_Key=shop.client_key).status == 200
    session = aws.session()
    for model in tables.MODELS.values():
        assert model._get_connection().connection.session is session, model.__name__
    other: list = []
    thread = threading.Thread(target=lambda: other.append(aws.session()))
    thread.start()
    thread.join()
    assert other[0] is not session  # botocore sessions are not thread-safe: one per thread


def test_a_deferred_module_read_by_two_threads_at_once_is_whole_for_both(tmp_path, monkeypatch):
    """The local run serves HTTP, the queue and the schedules in threads: the first reads of a
    module app.py defers may come at the same time."""
    (tmp_path / "herald_slow_module.py").write_text("import time\ntime.sleep(0.3)\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "herald_slow_module", raising=False)
    deferred = lazy.module("herald_slow_module")
    assert "herald_slow_module" not in sys.modules  # nothing imported yet
    seen: list = []

    def read():
        try:
            seen.append(deferred.VALUE)
        except Exception as error:  # what a half-executed module would give the second thread
            seen.append(error)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [42, 42]
