"""Operations figures, in one run (docs/OPERATIONS.md quotes them):

1. the deployment zip `make package` builds, and the one it built before (PynamoDB resolved
   with its dependencies: botocore and the rest of the SDK the Lambda runtime already has);
2. the import time of app.py with Powertools loaded, as a ratio to a bare Chalice app importing
   boto3 (fresh interpreters, alternated, medians), and of app.py alone; then the import with
   the first request, against moto served on a loopback port: Herald's first fetch and the
   consumer's first batch beside the bare app's first GetItem (what app.py defers is done
   there, and shows);
3. the log lines and EMF blobs one fetch writes;
4. DynamoDB request units of a steady-state fetch and of counting events (items per request, by
   DynamoDB's pricing rules, items under 1 KB written and 4 KB read), and the log bytes per fetch.

Run: .venv/bin/python bench/operations_bench.py [--no-zip]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import botocore.session
from benchmarking import LoopbackAws, create_tenant  # first: it sets the environment
from chalice.test import Client
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]


# --- 1. the zip ---------------------------------------------------------------------------------


def zip_sizes() -> tuple[int, int]:
    from app import app
    from deploy import package
    from tests.deploy.test_package import project_copy

    with tempfile.TemporaryDirectory() as tmp:
        sam = package.package(app, "prod", Path(tmp) / "now" / "build" / "prod")
        now_size = (sam.parent / "deployment.zip").stat().st_size
        old = project_copy(Path(tmp))
        requirements = (ROOT / "requirements.txt").read_text()
        vendored = (ROOT / "requirements-vendor.txt").read_text()
        (old / "requirements.txt").write_text(requirements + vendored)
        output = Path(tmp) / "old" / "build" / "prod"
        package.package(app, "prod", output, old)
        return (output / "deployment.zip").stat().st_size, now_size


# --- 2. cold start: the import, and the import with the first request -----------------------

RUNS = 9
# Each run is a fresh interpreter timing itself, from before the import to after the answer
# (interpreter start and exit left out: the same for both, they would only dilute the ratio).
CHILD = """
import json, sys, time, types
started = time.perf_counter()
{imports}
imported = time.perf_counter()
{request}
json.dump([imported - started, time.perf_counter() - imported], sys.stderr)
"""
BARE_APP = "import boto3, chalice; app = chalice.Chalice(app_name='bare')"
BARE_ROUTE = """
@app.route("/apps/{app_id}")
def get_app(app_id):
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"app_id": {"S": app_id}})
    return {"found": "Item" in item}
"""
POWERTOOLS = (
    "from chalicelib import observability; observability.logger(); "
    "from aws_lambda_powertools.metrics import EphemeralMetrics"
)
ANSWER = """
reply = app({event}, types.SimpleNamespace(aws_request_id="cold"))
assert reply["statusCode"] == 200, reply
"""
# What app.py leaves to the first request of the handler that needs it (chalicelib/lazy.py,
# chalicelib/wiring.py): botocore, PynamoDB and the table models, pydantic and the request
# models (each model builds its validator when it first validates), the domain and the
# services, Powertools (when the first invocation starts), the AWS clients.
DEFERRED = "botocore, PynamoDB, pydantic, Powertools, the services, the AWS clients"


def run_child(imports: str, request: str, env: dict) -> tuple[float, float]:
    code = CHILD.format(imports=imports, request=request)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    imported, answered = json.loads(done.stderr.splitlines()[-1])
    return imported, answered


def lambda_event(app, path: str, headers: dict) -> dict:
    from chalice.local import LambdaEventConverter, RouteMatcher

    event = LambdaEventConverter(RouteMatcher(list(app.routes))).create_lambda_event(
        "GET", path, headers
    )
    event["requestContext"]["requestId"] = "cold"
    return event


def cold_starts() -> dict[str, list[float]]:
    """Medians, alternated runs (load on the machine hits every kind alike), in seconds:
    {kind: [import, import and first request]}."""
    import chalice

    from app import app
    from chalicelib import observability
    from chalicelib.local.resources import create_all
    from chalicelib.settings import get_settings

    with mock_aws(), LoopbackAws() as aws, observability.written_to(StringIO()):
        settings = get_settings()
        create_all(settings)
        with Client(app) as client:
            tenant, admin, base = create_tenant(client)
            reply = client.http.post(f"{base}/engagements", headers=admin, body=live("Cold", "b"))
            batches = queued_batches(client, tenant, base, json.loads(reply.body), RUNS)
        fetch = lambda_event(
            app, f"{base}/devices/d-1/messages", {"X-Client-Key": tenant["client_key"]}
        )
        bare = chalice.Chalice(app_name="bare")
        bare.route("/apps/{app_id}")(lambda app_id: None)
        get_item = lambda_event(bare, f"/apps/{tenant['app_id']}", {})
        env = {**os.environ, "AWS_ENDPOINT_URL": aws.url}
        bare_route = f"TABLE = {settings.apps_table!r}" + BARE_ROUTE
        kinds = {  # kind: run -> (imports, request)
            "bare Chalice + boto3": lambda _run: (BARE_APP, ""),
            "Herald app.py": lambda _run: ("import app", ""),
            "Herald app.py + Powertools": lambda _run: ("import app; " + POWERTOOLS, ""),
            "bare, first GetItem": lambda _run: (
                BARE_APP,
                bare_route + ANSWER.format(event=get_item),
            ),
            "Herald, first fetch": lambda _run: (
                "import app",
                "app = app.app" + ANSWER.format(event=fetch),
            ),
            "Herald, first batch": lambda run: ("import app", BATCH.format(event=batches[run])),
        }
        samples: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
        for run in range(RUNS):
            for kind, code in kinds.items():
                samples[kind].append(run_child(*code(run), env=env))
    return {
        kind: [
            statistics.median(imported for imported, _ in runs),
            statistics.median(imported + answered for imported, answered in runs),
        ]
        for kind, runs in samples.items()
    }


BATCH = """
reply = app.consume_events({event}, types.SimpleNamespace(aws_request_id="cold"))
assert reply == {{"batchItemFailures": []}}, reply
"""


def queued_batches(client, tenant: dict, base: str, engagement: dict, runs: int) -> list[dict]:
    """One SQS event per run, each of ten new impressions of registered devices, as the events
    queue's mapping would deliver them."""
    from chalicelib.settings import get_settings

    device = {"X-Client-Key": tenant["client_key"], "Content-Type": "application/json"}
    for n in range(10):
        client.http.put(f"{base}/devices/d-{n}", headers=device, body="{}")
        client.http.get(f"{base}/devices/d-{n}/messages", headers=device)
    sqs = client_sqs()
    url = sqs.get_queue_url(QueueName=get_settings().events_queue)["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in received:  # what the fetches queued: not part of any run
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    batches = []
    for run in range(runs):
        at = datetime.now(UTC).isoformat()
        events = [
            {
                "id": uuid.uuid4().hex,
                "type": "impression",
                "timestamp": at,
                "device_id": f"d-{n}",
                "engagement_id": engagement["engagement_id"],
                "variant": "A",
            }
            for n in range(10)
        ]
        client.http.post(f"{base}/events", headers=device, body=json.dumps({"events": events}))
        bodies = []
        while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            bodies += [message["Body"] for message in found]
            for message in found:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        batch = client.events.generate_sqs_event(
            message_bodies=bodies, queue_name=get_settings().events_queue
        )
        for index, record in enumerate(batch["Records"]):
            record["messageId"] = f"cold-{run}-{index}"
        batches.append(batch)
    return batches


# --- 3 and 4. one fetch, one batch --------------------------------------------------------------


class Units:
    """DynamoDB request units of every call while active, by DynamoDB's pricing rules for small
    items: reads 0.5 (eventually consistent) or 1 (strongly), transactional items 2, writes 1."""

    def __init__(self):
        self.read = self.write = 0.0
        self.active = False
        original = botocore.session.Session.create_client

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            client.meta.events.register("provide-client-params.dynamodb.*", self._count)
            return client

        botocore.session.Session.create_client = create_client

    def _count(self, params, model, **_kwargs):
        if not self.active:
            return
        name = model.name
        read = 1.0 if params.get("ConsistentRead") else 0.5
        if name in ("GetItem", "Query", "Scan"):
            self.read += read
        elif name == "BatchGetItem":
            self.read += sum(
                len(request["Keys"]) * (1.0 if request.get("ConsistentRead") else 0.5)
                for request in params["RequestItems"].values()
            )
        elif name == "TransactGetItems":
            self.read += 2 * len(params["TransactItems"])
        elif name == "TransactWriteItems":
            self.write += 2 * len(params["TransactItems"])
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.write += 1
        elif name == "BatchWriteItem":
            self.write += sum(len(items) for items in params["RequestItems"].values())

    def __enter__(self):
        self.read = self.write = 0.0
        self.active = True
        return self

    def __exit__(self, *exc):
        self.active = False


UNITS = Units()


def live(name: str, element: str) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    variant = {
        "key": "A",
        "message": {
            "layout": "modal",
            "title": name,
            "buttons": [{"id": element, "label": "Go", "action": {"type": "dismiss"}}],
        },
    }
    return json.dumps(
        {
            "name": name,
            "variants": [variant],
            "schedule": {
                "start_at": (now - timedelta(hours=1)).isoformat(),
                "end_at": (now + timedelta(days=7)).isoformat(),
            },
            "metrics": [{"element": element, "metric": "bought"}],
        }
    )


def fetch_and_batch() -> dict:
    from app import app, consume_events
    from chalicelib import observability
    from chalicelib.local.resources import create_all
    from chalicelib.settings import get_settings

    with mock_aws(), observability.written_to(StringIO()):
        create_all(get_settings())
        with Client(app) as client:
            tenant, admin, base = create_tenant(client)
            reply = client.http.post(
                f"{base}/engagements", headers=admin, body=live("Bench", "buy")
            )
            engagement_id = json.loads(reply.body)["engagement_id"]
            device = {"X-Client-Key": tenant["client_key"], "Content-Type": "application/json"}
            client.http.get(f"{base}/devices/d-0/messages", headers=device)  # warm the catalog
            out = StringIO()
            with UNITS, observability.written_to(out):
                assert client.http.get(f"{base}/devices/d-1/messages", headers=device).status_code
            fetch = {"read": UNITS.read, "write": UNITS.write, "output": out.getvalue()}

            for n in range(50):  # events of unregistered devices are refused
                client.http.put(f"{base}/devices/d-{n}", headers=device, body="{}")
                client.http.get(f"{base}/devices/d-{n}/messages", headers=device)
            now = datetime.now(UTC)
            events = []
            for n in range(100):
                common = {"device_id": f"d-{n % 50}", "engagement_id": engagement_id}
                moment = (now - timedelta(seconds=100 - n)).isoformat()
                kind = ("impression", "click")[n % 2]
                extra = {"variant": "A"} | ({"element": "buy"} if kind == "click" else {})
                events.append({"id": uuid.uuid4().hex, "type": kind, "timestamp": moment})
                events[-1].update(common | extra)
            for start in range(0, 100, 10):
                body = json.dumps({"events": events[start : start + 10]})
                assert client.http.post(f"{base}/events", headers=device, body=body).status_code
            sqs = client_sqs()
            url = sqs.get_queue_url(QueueName=get_settings().events_queue)["QueueUrl"]
            bodies = []
            while received := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                bodies += [m["Body"] for m in received]
                for message in received:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            with UNITS:
                for start in range(0, len(bodies), 10):
                    sqs_event = client.events.generate_sqs_event(
                        message_bodies=bodies[start : start + 10],
                        queue_name=get_settings().events_queue,
                    )
                    for index, record in enumerate(sqs_event["Records"]):
                        record["messageId"] = f"m-{start + index}"
                    consume_events(sqs_event, None)
            batch = {"read": UNITS.read / len(events), "write": UNITS.write / len(events)}
            batch["messages"] = len(bodies)
    return {"fetch": fetch, "per_event": batch}


def client_sqs():
    import boto3

    return boto3.client("sqs", region_name="us-east-1")


def main() -> None:
    if "--no-zip" not in sys.argv:
        before, after = zip_sizes()
        print(f"deployment zip: {after / 1e6:.2f} MB (before: {before / 1e6:.2f} MB), goal <= 5 MB")
    cold = cold_starts()
    print(f"cold start, medians of {RUNS} fresh interpreters each, alternated, timed inside them:")
    bare_import = cold["bare Chalice + boto3"][0]
    for kind in ("bare Chalice + boto3", "Herald app.py", "Herald app.py + Powertools"):
        seconds = cold[kind][0]
        goal = "  (goal <= 1.3x)" if kind.endswith("Powertools") else ""
        print(f"  import {kind:27} {seconds * 1000:6.0f} ms  {seconds / bare_import:.2f}x{goal}")
    bare_first = cold["bare, first GetItem"][1]
    for kind in ("bare, first GetItem", "Herald, first fetch", "Herald, first batch"):
        seconds = cold[kind][1]
        print(f"  import + {kind:25} {seconds * 1000:6.0f} ms  {seconds / bare_first:.2f}x")
    print(f"  deferred from app.py's import to the first request (paid above): {DEFERRED}")
    found = fetch_and_batch()
    lines = [line for line in found["fetch"]["output"].splitlines() if line.strip()]
    blobs = [line for line in lines if '"_aws"' in line]
    print(
        f"one fetch: {len(lines) - len(blobs)} log line, {len(blobs)} EMF blob, "
        f"{sum(len(line) + 1 for line in lines)} bytes"
    )
    fetch, event = found["fetch"], found["per_event"]
    print(f"one fetch: {fetch['read']:g} read units, {fetch['write']:g} write units")
    print(
        f"counting, per event (100 events, {event['messages']} messages, batches of 10): "
        f"{event['read']:.2f} read units, {event['write']:.2f} write units"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
