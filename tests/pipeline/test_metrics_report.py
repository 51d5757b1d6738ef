"""GET …/engagements/{id}/metrics: the counts, rates, lifts and significance SPEC §3 defines."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.domain import stats
from chalicelib.domain.assignment import assign
from tests.api.device_helpers import create_engagement, fetch, register
from tests.builders import SPEC_EXAMPLE
from tests.pipeline.helpers import (
    consume_all,
    event,
    metrics,
    post_events,
    register_devices,
    variant,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
VARIANTS = (("A", 50), ("B", 50))


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def spring(**changes) -> dict:
    """The SPEC's example, running since four days, shown on any app launch."""
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["schedule"] = {
        "start_at": (NOW - timedelta(days=4)).isoformat(),
        "end_at": (NOW + timedelta(days=3)).isoformat(),
    }
    body["trigger"] = {"event": "app_launch"}
    body["frequency"] = {}
    body.update(changes)
    return body


def send(api, shop, events: list[dict]) -> None:
    register_devices(api, shop, events)
    for start in range(0, len(events), 100):
        assert post_events(api, shop, events[start : start + 100]).status == 202
    assert consume_all() == []


def shown(eid: str, key: str, count: int, at: datetime) -> list[dict]:
    return [
        event(f"{key}-{n}", "impression", at, engagement_id=eid, variant=key) for n in range(count)
    ]


def clicks(eid: str, key: str, count: int, at: datetime, element: str = "buy") -> list[dict]:
    return [
        event(f"{key}-{n}", "click", at, engagement_id=eid, variant=key, element=element)
        for n in range(count)
    ]


def test_the_report_has_every_field_for_every_variant_and_the_control_group(api, shop):
    eid = create_engagement(api, shop, spring())
    yesterday = NOW - timedelta(days=1)
    send(
        api,
        shop,
        [
            *shown(eid, "A", 4, yesterday),
            *shown(eid, "A", 2, NOW),  # the same four devices again: still four reached
            *clicks(eid, "A", 3, NOW),
            *clicks(eid, "A", 1, NOW, element="later"),
            event("A-0", "dismiss", NOW, engagement_id=eid, variant="A"),
            event("A-1", "render_error", NOW, engagement_id=eid, variant="A"),
            *shown(eid, "B", 2, NOW),
        ],
    )

    report = metrics(api, shop, eid)
    assert report["engagement_id"] == eid
    assert [v["key"] for v in report["variants"]] == ["A", "B"]
    a = variant(report, "A")
    assert {
        key: a[key]
        for key in (
            "impressions",
            "unique_devices",
            "clicks",
            "clicks_by_element",
            "metrics",
            "dismissals",
            "render_errors",
            "conversions",
            "ctr",
            "conversion_rate",
        )
    } == {
        "impressions": 6,
        "unique_devices": 4,
        "clicks": 4,
        "clicks_by_element": {"buy": 3, "later": 1},
        "metrics": {"spring_buy_clicked": 3},
        "dismissals": 1,
        "render_errors": 1,
        "conversions": 0,
        "ctr": 4 / 6,
        "conversion_rate": 0.0,
    }
    assert variant(report, "B")["clicks_by_element"] == {"buy": 0}
    assert report["control"] == {"assigned": 0, "conversions": 0, "conversion_rate": None}
    assert "series" not in report


def test_without_a_conversion_event_the_goal_is_ctr_against_the_first_variant(api, shop):
    eid = create_engagement(api, shop, spring(conversion=None))
    send(
        api,
        shop,
        [
            *shown(eid, "A", 40, NOW),
            *clicks(eid, "A", 10, NOW),
            *shown(eid, "B", 40, NOW),
            *clicks(eid, "B", 20, NOW),
        ],
    )

    report = metrics(api, shop, eid)
    a, b = variant(report, "A"), variant(report, "B")
    assert (a["ctr"], b["ctr"]) == (0.25, 0.5)
    assert (a["p_value"], a["lift_vs_first"], a["significant"]) == (None, None, False)
    assert b["p_value"] == pytest.approx(stats.two_proportion_p_value(20, 40, 10, 40))
    assert b["p_value"] < 0.05 and b["significant"] is True
    assert b["lift_vs_first"] == pytest.approx(1.0)
    assert a["lift_vs_control"] is None and b["lift_vs_control"] is None


def devices_in(eid: str, group: str, count: int) -> list[str]:
    """`count` device ids that the engagement's assignment puts in `group` (a key or control)."""
    found = []
    for n in range(10_000):
        placed = assign(eid, f"device:p-{n}", 100, 50, VARIANTS)
        if (placed.variant if not placed.in_control else "control") == group:
            found.append(f"p-{n}")
            if len(found) == count:
                return found
    raise AssertionError(group)


def test_with_a_conversion_event_and_a_control_group_variants_are_tested_against_it(api, shop):
    eid = create_engagement(api, shop, spring(control_percent=50))
    groups = {group: devices_in(eid, group, 6) for group in ("A", "B", "control")}
    for device in groups["control"][:4]:
        register(api, shop, device)  # only a registered device counts in the control group
        assert fetch(api, shop, device)["messages"] == []
    seen = NOW - timedelta(hours=2)
    events = [
        event(device, "impression", seen, engagement_id=eid, variant=key)
        for key in ("A", "B")
        for device in groups[key]
    ]
    buyers = groups["A"][:3] + groups["B"][:1] + groups["control"][:2]
    events += [
        event(device, "custom", NOW + timedelta(hours=1), name="purchase") for device in buyers
    ]
    send(api, shop, events)

    report = metrics(api, shop, eid)
    assert report["control"] == {"assigned": 4, "conversions": 2, "conversion_rate": 0.5}
    a, b = variant(report, "A"), variant(report, "B")
    assert (a["conversions"], a["unique_devices"], a["conversion_rate"]) == (3, 6, 0.5)
    assert b["conversion_rate"] == pytest.approx(1 / 6)
    assert a["p_value"] == pytest.approx(stats.two_proportion_p_value(3, 6, 2, 4))
    assert b["p_value"] == pytest.approx(stats.two_proportion_p_value(1, 6, 2, 4))
    assert a["lift_vs_control"] == 0.0
    assert b["lift_vs_control"] == pytest.approx(-2 / 3)
    assert (a["lift_vs_first"], b["lift_vs_first"]) == (None, pytest.approx(-2 / 3))
    assert a["significant"] is False and b["significant"] is False


def test_from_and_to_bound_the_days_and_the_daily_series_fills_every_day(api, shop):
    eid = create_engagement(api, shop, spring())
    days = [NOW - timedelta(days=3), NOW - timedelta(days=1), NOW]
    events = []
    for count, day in enumerate(days, start=1):
        events += [
            event(f"A-{day.day}-{n}", "impression", day, engagement_id=eid, variant="A")
            for n in range(count)
        ]
    send(api, shop, events)

    assert variant(metrics(api, shop, eid), "A")["impressions"] == 6
    bounded = metrics(api, shop, eid, "?from=2026-12-03&to=2026-12-04&granularity=day")
    assert variant(bounded, "A")["impressions"] == 2
    assert [point["date"] for point in bounded["series"]] == ["2026-12-03", "2026-12-04"]
    assert [variant(p, "A")["impressions"] for p in bounded["series"]] == [0, 2]

    series = metrics(api, shop, eid, "?granularity=day")["series"]
    assert [point["date"] for point in series] == [
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-05",
    ]
    assert [variant(p, "A")["unique_devices"] for p in series] == [1, 0, 2, 3]
    assert all(point["control"] == {"assigned": 0, "conversions": 0} for point in series)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2026-13-01", "from: must be a date"),
        ("?to=yesterday", "to: must be a date"),
        ("?from=20261201", "from: must be a date"),
        ("?from=2026-12-05&to=2026-12-01", "from: must not be after to"),
        ("?granularity=hour", "granularity"),
        ("?from=2024-01-01&to=2026-01-01&granularity=day", "at most 366 days"),
    ],
)
def test_bad_report_parameters_are_400(api, shop, query, message):
    eid = create_engagement(api, shop, spring())
    reply = api.get(f"{shop.path}/engagements/{eid}/metrics{query}", key=shop.admin_key)
    assert reply.status == 400
    assert message in reply.body["Message"]


def test_the_report_is_for_admins_of_this_app_only(api, shop, other_shop):
    eid = create_engagement(api, shop, spring())
    path = f"{shop.path}/engagements/{eid}/metrics"
    assert api.get(path, X_Client_Key=shop.client_key).status == 401
    assert api.get(path, key=other_shop.admin_key).status == 403
    assert (
        api.get(f"{other_shop.path}/engagements/{eid}/metrics", key=other_shop.admin_key).status
        == 404
    )
    assert api.get(f"{shop.path}/engagements/nope/metrics", key=shop.admin_key).status == 404
