"""What the event pipeline keeps, and for how long: delivery records expire SUBJECT_RETENTION
after the subject's last counted event, reach markers KEPT_AFTER_END_SECONDS after their
engagement's end (pushed back when the end moves later), and a subject's history drops the
entries of deleted engagements and of those long ended on its next write."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.adapters.dynamo import DeliveryRecord, MarkerRecord, reach_marker, subject_key
from chalicelib.adapters.dynamo.counting import EVENT_MARKER_LIFETIME, SUBJECT_RETENTION
from chalicelib.domain.history import KEPT_AFTER_END_SECONDS
from tests.api.device_helpers import create_engagement, register
from tests.pipeline.helpers import consume_all, event, post_events
from tests.pipeline.scenario import T0, welcome

AFTER_END = timedelta(seconds=KEPT_AFTER_END_SECONDS)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def running(name: str, days: int) -> dict:
    body = welcome()
    body["name"] = name
    body["schedule"] = {
        "start_at": (T0 - timedelta(hours=1)).isoformat(),
        "end_at": (T0 + timedelta(days=days)).isoformat(),
    }
    return body


def shown(api, shop, engagement_id: str, at: datetime, device: str = "d-1") -> None:
    impression = event(device, "impression", at, engagement_id=engagement_id, variant="W")
    assert post_events(api, shop, [impression]).status == 202
    assert consume_all() == []


def history_of(shop, device: str = "d-1") -> DeliveryRecord:
    return DeliveryRecord.get(subject_key(shop.app_id, f"device:{device}"), consistent_read=True)


def test_records_and_markers_are_written_with_their_expiry(api, shop, clock):
    eid = create_engagement(api, shop, running("Spring", days=10))
    register(api, shop, "d-1")
    shown(api, shop, eid, T0)

    assert history_of(shop).expires_at == T0 + SUBJECT_RETENTION
    reach = MarkerRecord.get(reach_marker(shop.app_id, eid, "d-1"), consistent_read=True)
    assert reach.expires_at == T0 + timedelta(days=10) + AFTER_END
    [counted] = [m for m in MarkerRecord.scan() if "#event#" in m.marker]
    assert counted.expires_at == T0 + EVENT_MARKER_LIFETIME

    clock.shift(timedelta(days=3))  # the subject's next counted event pushes its record back
    shown(api, shop, eid, T0 + timedelta(days=3))
    assert history_of(shop).expires_at == T0 + timedelta(days=3) + SUBJECT_RETENTION


def test_a_reach_marker_follows_its_engagements_end_when_it_moves_later(api, shop, clock):
    eid = create_engagement(api, shop, running("Spring", days=10))
    register(api, shop, "d-1")
    shown(api, shop, eid, T0)
    path = f"{shop.path}/engagements/{eid}"
    current = api.get(path, key=shop.admin_key).body
    later = {"start_at": current["schedule"]["start_at"], "end_at": "2027-06-01T00:00:00Z"}
    reply = api.patch(path, {"schedule": later}, key=shop.admin_key, If_Match="1")
    assert reply.status == 200, reply.body

    shown(api, shop, eid, T0 + timedelta(minutes=5))

    reach = MarkerRecord.get(reach_marker(shop.app_id, eid, "d-1"), consistent_read=True)
    assert reach.expires_at == datetime(2027, 6, 1, tzinfo=UTC) + AFTER_END
    assert reach.first_at == T0.timestamp()  # still reached when it first was


def test_a_history_drops_deleted_and_long_ended_engagements_on_its_next_write(api, shop, clock):
    short = create_engagement(api, shop, running("Short", days=2))
    gone = create_engagement(api, shop, running("Gone", days=90))
    kept = create_engagement(api, shop, running("Kept", days=90))
    recent = create_engagement(api, shop, running("Recent", days=20))
    register(api, shop, "d-1")
    for eid in (short, gone, kept, recent):
        shown(api, shop, eid, T0)
    assert set(history_of(shop).history.as_dict()) == {short, gone, kept, recent}
    assert api.delete(f"{shop.path}/engagements/{gone}", key=shop.admin_key).status == 204

    # Short ended 2 days after T0: a moment past its end plus the late events' margin
    clock.move_to(T0 + timedelta(days=2) + AFTER_END + timedelta(minutes=1))
    shown(api, shop, kept, datetime.now(UTC))

    assert set(history_of(shop).history.as_dict()) == {kept, recent}  # Recent ended 20 days ago
