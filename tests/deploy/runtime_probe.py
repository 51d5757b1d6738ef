"""Run from the unzipped deployment package with the Lambda runtime's SDK (see
tests/deploy/test_bundle.py): `python runtime_probe.py <package dir> <sdk dir>`.

Drives the packaged app under moto the way its callers do (create an app, an engagement that
starts in a minute, fire its start schedule, fetch, post events, consume them) and prints, as
JSON, which botocore it ran with and what each step answered.
"""

import json
import sys
from datetime import UTC, datetime, timedelta

package_dir, sdk_dir = sys.argv[1], sys.argv[2]
sys.path[:0] = [sdk_dir, package_dir]

import boto3  # noqa: E402
import botocore  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402


def main() -> dict:
    from chalicelib.domain import keys

    root_key = keys.new_root_key()
    import os

    os.environ["HERALD_ROOT_KEY_HASH"] = keys.hash_key(root_key)
    with mock_aws():
        from chalicelib.local.resources import create_all
        from chalicelib.settings import get_settings

        create_all(get_settings())
        import app as herald

        steps = {}
        with Client(herald.app) as client:
            created = client.http.post(
                "/v1/apps",
                headers={"Authorization": f"Bearer {root_key}", "Content-Type": "application/json"},
                body=json.dumps({"name": "Probe"}),
            )
            steps["create_app"] = created.status_code
            shop = json.loads(created.body)
            admin = {
                "Authorization": f"Bearer {shop['admin_key']}",
                "Content-Type": "application/json",
            }
            client_key = {"X-Client-Key": shop["client_key"], "Content-Type": "application/json"}
            base = f"/v1/apps/{shop['app_id']}"
            now = datetime.now(UTC).replace(microsecond=0)
            body = {
                "name": "Probe",
                "variants": [{"key": "A", "message": {"layout": "modal", "title": "Hi"}}],
                "schedule": {
                    "start_at": (now + timedelta(minutes=1)).isoformat(),
                    "end_at": (now + timedelta(days=1)).isoformat(),
                },
            }
            engagement = client.http.post(
                f"{base}/engagements", headers=admin, body=json.dumps(body)
            )
            steps["create_engagement"] = engagement.status_code
            assert engagement.status_code == 201, engagement.body
            engagement_id = json.loads(engagement.body)["engagement_id"]
            # the engagements stream makes the schedules, as Lambda would moments later
            from chalicelib.local.stream import StreamFeeder, stream_sources

            [source] = stream_sources(herald.app)
            StreamFeeder(herald.app, source, get_settings()).drain()
            scheduler = boto3.client("scheduler", region_name=get_settings().region)
            schedule = scheduler.get_schedule(
                Name=f"{engagement_id}-start", GroupName=get_settings().schedule_group
            )
            firing = json.loads(schedule["Target"]["Input"])
            steps["schedule"] = client.lambda_.invoke("apply_transition", firing).payload["outcome"]
            fetched = client.http.get(f"{base}/devices/d-1/messages", headers=client_key)
            steps["fetch"] = fetched.status_code
            events = {
                "events": [
                    {
                        "id": "e-1",
                        "device_id": "d-1",
                        "type": "custom",
                        "name": "opened",
                        "timestamp": now.isoformat(),
                    }
                ]
            }
            posted = client.http.post(f"{base}/events", headers=client_key, body=json.dumps(events))
            steps["post_events"] = posted.status_code
            sqs = boto3.client("sqs", region_name=get_settings().region)
            url = sqs.get_queue_url(QueueName=get_settings().events_queue)["QueueUrl"]
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            sqs_event = client.events.generate_sqs_event(
                message_bodies=[m["Body"] for m in received], queue_name=get_settings().events_queue
            )
            steps["consume"] = herald.consume_events(sqs_event, None)
        return {
            "botocore": botocore.__version__,
            "boto3": boto3.__version__,
            "botocore_from": botocore.__file__,
            "pynamodb_from": __import__("pynamodb").__file__,
            "steps": steps,
        }


if __name__ == "__main__":
    print("PROBE " + json.dumps(main()))
