"""The real `aws-amplify` in-app messaging client (tests/dialects/amplify, a pinned version
installed with `npm ci`) against the local Herald: identifyUser, syncMessages, dispatchEvent
for a matching and a non-matching event, notifyMessageInteraction for displayed, clicked and
dismissed; then Herald's report counts exactly one of each, also after a second run that sends
the very same endpoint and event ids (client.mjs derives Amplify's ids from a seed)."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.device_helpers import live_engagement
from tests.dialects.helpers import HeraldApp, variant_totals
from tests.local.waiting import wait_for

AMPLIFY = Path(__file__).parent / "amplify"
STAMP = AMPLIFY / "node_modules" / ".installed-lock-sha256"


@pytest.fixture(scope="session")
def amplify_script() -> Path:
    """client.mjs, with the locked packages installed: `npm ci` only when the lock changed."""
    lock = hashlib.sha256((AMPLIFY / "package-lock.json").read_bytes()).hexdigest()
    if not (STAMP.exists() and STAMP.read_text() == lock):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("these tests need Node 20 and npm on the PATH")
        subprocess.run(
            [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=AMPLIFY,
            check=True,
            timeout=600,
            capture_output=True,
        )
        STAMP.write_text(lock)
    return AMPLIFY / "client.mjs"


def run_client(script: Path, herald, shop: HeraldApp, seed: str) -> dict:
    env = {
        **os.environ,
        "HERALD_URL": herald.url,
        "APP_ID": shop.app_id,
        "USER_ID": "u-42",
        "ID_SEED": seed,
    }
    done = subprocess.run(
        ["node", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def event_ids(run: dict) -> list[str]:
    return [
        event_id
        for request in run["sent"]
        if request["path"].endswith("/events")
        for batch in request["body"]["BatchItem"].values()
        for event_id in batch["Events"]
    ]


SPRING = live_engagement(
    "Spring sale",
    variants=[
        {
            "key": "A",
            "message": {
                "layout": "modal",
                "title": "Spring sale",
                "body": "20 % off today",
                "buttons": [
                    {
                        "id": "buy",
                        "label": "Shop now",
                        "action": {"type": "deep_link", "target": "shop://sale"},
                    },
                    {"id": "later", "label": "Later", "action": {"type": "dismiss"}},
                ],
                "data": {"campaign": "spring"},
                "localizations": {"fr": {"title": "Soldes", "buttons": {"buy": "Acheter"}}},
            },
        }
    ],
    trigger={
        "event": "checkout",
        "conditions": [{"attribute": "screen", "op": "eq", "value": "cart"}],
    },
    metrics=[{"element": "buy", "metric": "spring_buy_clicked"}],
)


def test_an_amplify_app_shows_and_reports_a_herald_engagement(herald, amplify_script):
    shop = HeraldApp(herald.url)
    spring = shop.engagement(SPRING)

    first = run_client(amplify_script, herald, shop, seed="run-a")

    assert first["dispatched"]["non_matching"] == []
    [message] = first["dispatched"]["matching"]
    assert message["id"] == spring
    assert message["layout"] == "MODAL"
    [content] = message["content"]
    assert content["header"]["content"] == "Soldes"  # localized for the user's fr-FR
    assert content["body"]["content"] == "20 % off today"
    assert content["primaryButton"]["title"] == "Acheter"
    assert content["primaryButton"]["action"] == "DEEP_LINK"
    assert content["primaryButton"]["url"] == "shop://sale"
    assert content["secondaryButton"]["title"] == "Later"
    assert content["secondaryButton"]["action"] == "CLOSE"
    assert message["metadata"]["treatmentId"] == "A"
    assert message["metadata"]["customData"] == {"campaign": "spring"}
    update = next(r for r in first["sent"] if r["method"] == "PUT")
    assert update["status"] == 202 and update["answer"]["Message"] == "Accepted"
    assert update["body"]["User"]["UserId"] == "u-42"
    assert all(request["signed"] for request in first["sent"])  # SigV4, not checked by Herald

    wait_for(lambda: variant_totals(shop.metrics(spring), "A") == (1, 1, 1), 10)
    [a] = shop.metrics(spring)["variants"]
    assert a["clicks_by_element"]["buy"] == 1
    assert a["metrics"] == {"spring_buy_clicked": 1}

    second = run_client(amplify_script, herald, shop, seed="run-a")
    assert len(event_ids(first)) == 3
    assert event_ids(second) == event_ids(first)  # the very same ids, sent again
    resent = [r for r in second["sent"] if r["path"].endswith("/events")]
    assert all(r["status"] == 202 for r in resent)
    herald_consumed = wait_for(lambda: herald_idle(herald), 10)
    assert herald_consumed
    assert variant_totals(shop.metrics(spring), "A") == (1, 1, 1)


def herald_idle(herald) -> bool:
    """Whether the local queue holds nothing more to count."""
    import boto3

    from chalicelib.settings import get_settings

    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    url = sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())
