"""The schedules follow the stored engagement (issue 9): with EventBridge Scheduler throttled or
failing, every admin change answers 2xx with what was committed, and the schedules converge
through the stream function's retries, or, when the stream gave up, through the sweep.

Convergence is counted, not timed: how many times the stream function was invoked and failed
before the schedules matched the engagement, and how many sweep runs it took. `-s` prints them.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.local.stream import MAX_RETRIES, scheduled_event
from tests.builders import minimal_engagement
from tests.conftest import schedules_by_name
from tests.faults import injected_faults

FIGURES: dict[str, str] = {}
WRITES = ("CreateSchedule", "UpdateSchedule", "DeleteSchedule")


def expected_schedules(api, shop, engagement_id) -> dict[str, int]:
    """{schedule name: revision} the stored engagement needs now."""
    stored = api.get(f"{shop.path}/engagements/{engagement_id}", key=shop.admin_key)
    if stored.status == 404:
        return {}
    body = stored.body
    kinds = {"scheduled": ("start", "end"), "active": ("end",)}.get(body["status"], ())
    revision = _revision(api, shop, engagement_id)
    return {f"{engagement_id}-{kind}": revision for kind in kinds}


def _revision(api, shop, engagement_id) -> int:
    from chalicelib.adapters.dynamo import Engagements
    from chalicelib.settings import get_settings

    found = Engagements(get_settings()).get(shop.app_id, engagement_id)
    return found.schedule_revision


def actual_schedules(engagement_id) -> dict[str, int]:
    return {
        name: json.loads(schedule["Target"]["Input"])["revision"]
        for name, schedule in schedules_by_name().items()
        if name.startswith(engagement_id)
    }


def converged(api, shop, engagement_id) -> bool:
    return actual_schedules(engagement_id) == expected_schedules(api, shop, engagement_id)


def create(api, shop, name="Spring", **overrides):
    reply = api.post(
        shop.path + "/engagements", minimal_engagement(name, **overrides), key=shop.admin_key
    )
    assert reply.status == 201, reply.body
    return reply.body


def _changes(api, shop):
    """Each admin change, as (label, set-up, the change itself, its expected status)."""

    def patch(eid):
        later = datetime.now(UTC) + timedelta(days=3)
        schedule = {
            "start_at": later.replace(microsecond=0).isoformat(),
            "end_at": (later + timedelta(days=1)).replace(microsecond=0).isoformat(),
        }
        return api.patch(
            f"{shop.path}/engagements/{eid}",
            {"schedule": schedule},
            key=shop.admin_key,
            If_Match="1",
        )

    def action(verb):
        return lambda eid: api.post(f"{shop.path}/engagements/{eid}/{verb}", key=shop.admin_key)

    return {
        "create": (None, 201),
        "patch": (patch, 200),
        "pause": (action("pause"), 200),
        "resume": (action("resume"), 200),
        "delete": (
            lambda eid: api.delete(f"{shop.path}/engagements/{eid}", key=shop.admin_key),
            204,
        ),
    }


@pytest.mark.parametrize("change", ["create", "patch", "pause", "resume", "delete"])
@pytest.mark.parametrize("fault", ["ThrottlingException", "InternalServerException"])
def test_a_failing_scheduler_never_fails_the_change_and_the_stream_converges(
    api, shop, stream, change, fault
):
    failures = 3
    do, status = _changes(api, shop)[change]
    eid = None
    if change != "create":
        eid = create(api, shop)["engagement_id"]
        if change == "resume":
            assert (
                api.post(f"{shop.path}/engagements/{eid}/pause", key=shop.admin_key).status == 200
            )
        stream.drain()
        assert converged(api, shop, eid)
    before = stream.failed_invocations
    with injected_faults() as faults:
        faults.fail("scheduler", WRITES, fault, times=failures)
        if change == "create":
            reply = api.post(
                shop.path + "/engagements", minimal_engagement("Spring"), key=shop.admin_key
            )
            eid = reply.body["engagement_id"]
        else:
            reply = do(eid)
        # the answer tells what was committed, though no schedule could be written yet
        assert reply.status == status, reply.body
        assert not converged(api, shop, eid)
        stream.drain()
    expected_status = {"create": "scheduled", "pause": "paused", "resume": "scheduled"}
    if change in expected_status:
        assert reply.body["status"] == expected_status[change]
    assert converged(api, shop, eid)
    retries = stream.failed_invocations - before
    assert retries == failures  # each failed attempt is retried; one more attempt succeeds
    assert stream.on_failure == []
    FIGURES[f"{change}, Scheduler {fault} x{failures}"] = (
        f"{retries} stream retries, converged on attempt {retries + 1}"
    )


def test_a_scheduler_down_longer_than_the_stream_retries_is_repaired_by_one_sweep(
    api, shop, stream, chalice_client
):
    with injected_faults() as faults:
        faults.fail("scheduler", WRITES, "ServiceUnavailableException")
        created = create(api, shop)
        stream.drain(attempts=MAX_RETRIES + 5)
    eid = created["engagement_id"]
    assert len(stream.on_failure) == 1  # the deployed mapping's on-failure queue
    assert actual_schedules(eid) == {}
    runs = 0
    while not converged(api, shop, eid) and runs < 3:
        sweep(chalice_client)
        runs += 1
    assert converged(api, shop, eid)
    assert runs == 1
    FIGURES["scheduler down > stream retries"] = (
        f"{MAX_RETRIES + 1} stream attempts, then {runs} sweep run"
    )


def test_the_sweep_moves_a_status_whose_start_firing_was_lost(api, shop, chalice_client):
    created = create(
        api,
        shop,
        schedule={
            "start_at": (datetime.now(UTC) + timedelta(minutes=10))
            .replace(microsecond=0)
            .isoformat(),
            "end_at": (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat(),
        },
    )
    path = f"{shop.path}/engagements/{created['engagement_id']}"
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        assert api.get(path, key=shop.admin_key).body["status"] == "scheduled"  # firing lost
        repaired = sweep(chalice_client)
        assert repaired == {"statuses": 1, "schedules": 0}
        assert api.get(path, key=shop.admin_key).body["status"] == "active"
        again = sweep(chalice_client)
        assert again == {"statuses": 0, "schedules": 0}


def test_weights_are_frozen_once_the_start_passed_even_if_the_firing_was_lost(api, shop):
    variants = [
        {"key": "A", "weight": 50, "message": {"layout": "banner_top", "title": "A"}},
        {"key": "B", "weight": 50, "message": {"layout": "banner_top", "title": "B"}},
    ]
    created = create(
        api,
        shop,
        ab_test=True,
        variants=variants,
        schedule={
            "start_at": (datetime.now(UTC) + timedelta(minutes=5))
            .replace(microsecond=0)
            .isoformat(),
            "end_at": (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat(),
        },
    )
    path = f"{shop.path}/engagements/{created['engagement_id']}"
    changed = [{**variants[0], "weight": 90}, {**variants[1], "weight": 10}]
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        stored = api.get(path, key=shop.admin_key).body
        assert stored["status"] == "scheduled"  # no firing reached it
        reply = api.patch(path, {"variants": changed}, key=shop.admin_key, If_Match="1")
        assert reply.status == 409, reply.body
        assert "frozen" in reply.body["Message"]


def sweep(chalice_client) -> dict:
    return chalice_client.lambda_.invoke("sweep_schedules", scheduled_event()).payload


def test_duplicate_and_replayed_stream_records_change_nothing(api, shop, stream, chalice_client):
    eid = create(api, shop)["engagement_id"]
    stream.drain()
    before = schedules_by_name()
    with injected_faults() as faults:
        # replaying the whole stream from the start: every record again, in order
        replayed = type(stream)(*stream_args(stream))
        replayed.drain()
    assert schedules_by_name() == before
    assert not any(call[0] == "scheduler" and call[1] != "GetSchedule" for call in faults.calls)
    assert converged(api, shop, eid)


def stream_args(feeder):
    from app import app
    from chalicelib.local.stream import stream_sources
    from chalicelib.settings import get_settings

    [source] = stream_sources(app)
    return app, source, get_settings()


def teardown_module():
    if FIGURES:
        print("\nschedule convergence:", json.dumps(FIGURES, indent=1))
