"""A realistic mix of events, sent through the API, and the counters it must produce.

`Scenario.run` creates two engagements of one app, registers devices (some sharing a user), has
every device fetch (control-group members are then queued as "assigned"), and posts a random but
seeded mix of impressions, clicks, dismissals, render errors and custom events spread over four
UTC days, some of them sent twice, some about an unknown engagement, variant or element, and a
third of the devices never registered (their events are refused, SPEC §7.3).

`expected` computes the counters from what was sent, written from the SPEC's rules alone and
sharing no code with the consumer: a report that matches it counted every event once.
"""

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib.domain.assignment import assign
from tests.api.device_helpers import create_engagement, fetch, register
from tests.pipeline.helpers import event, metrics, post_events

T0 = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)  # the tests travel here, with the clock stopped
WINDOW = timedelta(hours=24)
BUTTONS = {"A": ["buy", "later"], "B": ["buy"]}
METRIC = "spring_buy_clicked"


def _variant(key: str, buttons: list[str]) -> dict:
    return {
        "key": key,
        "weight": 50,
        "message": {
            "layout": "modal",
            "title": f"Sale {key}",
            "buttons": [
                {"id": button, "label": button.title(), "action": {"type": "dismiss"}}
                for button in buttons
            ],
        },
    }


def spring() -> dict:
    """An A/B test with a control group, a mapped button and a conversion event."""
    return {
        "name": "Spring",
        "ab_test": True,
        "control_percent": 25,
        "variants": [_variant(key, buttons) for key, buttons in BUTTONS.items()],
        "schedule": {
            "start_at": (T0 - timedelta(days=5)).isoformat(),
            "end_at": (T0 + timedelta(days=5)).isoformat(),
        },
        "metrics": [{"element": "buy", "metric": METRIC}],
        "conversion": {"event": "purchase", "window_hours": 24},
    }


def welcome() -> dict:
    """A plain engagement: one variant, no control group, no conversion."""
    return {
        "name": "Welcome",
        "variants": [
            {
                "key": "W",
                "message": {
                    "layout": "banner_top",
                    "title": "Hi",
                    "buttons": [{"id": "x", "label": "Close", "action": {"type": "dismiss"}}],
                },
            }
        ],
        "schedule": spring()["schedule"],
    }


@dataclass
class Scenario:
    seed: int = 7
    devices: int = 24
    spring_id: str = ""
    welcome_id: str = ""
    sent: list[dict] = field(default_factory=list)  # every event posted, copies included
    subjects: dict[str, str] = field(default_factory=dict)  # device -> subject
    shown: dict[str, str] = field(default_factory=dict)  # device -> Spring variant it fetched
    control: set[str] = field(default_factory=set)  # subjects in Spring's control group
    registered: set[str] = field(default_factory=set)  # devices registered

    def run(self, api, shop) -> "Scenario":
        rng = random.Random(self.seed)
        self.spring_id = create_engagement(api, shop, spring())
        self.welcome_id = create_engagement(api, shop, welcome())
        for n in range(self.devices):
            device = f"d-{n}"
            if n < self.devices // 3:  # two devices per user
                register(api, shop, device, user_id=f"u-{n // 2}")
                self.subjects[device] = f"user:u-{n // 2}"
            else:
                if n < 2 * self.devices // 3:
                    register(api, shop, device, platform="android")
                self.subjects[device] = f"device:{device}"
            if n < 2 * self.devices // 3:
                self.registered.add(device)
            messages = {m["engagement_id"]: m for m in fetch(api, shop, device)["messages"]}
            if self.spring_id in messages:
                self.shown[device] = messages[self.spring_id]["variant"]
            elif device in self.registered:  # only a registered device counts as control
                self.control.add(self.subjects[device])
        # two more registered devices that the assignment holds out, so that the control group
        # is never empty whatever ids the engagements got
        variants = tuple((key, 50) for key in BUTTONS)
        held_out = [
            f"c-{k}"
            for k in range(500)
            if assign(self.spring_id, f"device:c-{k}", 100, 25, variants).in_control
        ][:2]
        for device in held_out:
            register(api, shop, device)
            assert self.spring_id not in {
                m["engagement_id"] for m in fetch(api, shop, device)["messages"]
            }
            self.subjects[device] = f"device:{device}"
            self.registered.add(device)
            self.control.add(self.subjects[device])
        for device in [*(f"d-{n}" for n in range(self.devices)), *held_out]:
            self.sent += self._events_of(rng, device)
        self.sent += [dict(e) for e in rng.sample(self.sent, len(self.sent) // 10)]  # re-sent
        rng.shuffle(self.sent)
        for start in range(0, len(self.sent), 100):
            reply = post_events(api, shop, self.sent[start : start + 100])
            assert reply.status == 202, reply.body
        return self

    def _events_of(self, rng: random.Random, device: str) -> list[dict]:
        def moment(earliest: timedelta, latest: timedelta) -> datetime:
            span = (latest - earliest).total_seconds()
            return T0 + earliest + timedelta(seconds=int(rng.uniform(0, span)))

        past = (-timedelta(days=3), -timedelta(minutes=1))
        after = timedelta(hours=2)
        made = []
        variant = self.shown.get(device)
        if variant:
            spring_event = {"engagement_id": self.spring_id, "variant": variant}
            shown = rng.randint(1, 3)
            for _ in range(shown):
                made.append(event(device, "impression", moment(*past), **spring_event))
            for _ in range(rng.randint(0, shown)):  # a click per impression at most
                element = rng.choice([*BUTTONS[variant], "ghost"])
                made.append(event(device, "click", moment(*past), element=element, **spring_event))
            if rng.random() < 0.4:
                made.append(event(device, "dismiss", moment(*past), **spring_event))
            if rng.random() < 0.15:
                made.append(event(device, "render_error", moment(*past), **spring_event))
        for _ in range(rng.randint(0, 2)):
            made.append(event(device, "custom", moment(*past), name="purchase"))
        if rng.random() < 0.5:  # after the fetch: a control-group member may convert
            made.append(event(device, "custom", moment(timedelta(0), after), name="purchase"))
        if rng.random() < 0.5:
            welcome_event = {"engagement_id": self.welcome_id, "variant": "W"}
            made.append(event(device, "impression", moment(*past), **welcome_event))
            made.append(event(device, "click", moment(*past), element="x", **welcome_event))
        made.append(event(device, "custom", moment(*past), name="app_open"))
        if rng.random() < 0.1:
            made.append(
                event(device, "impression", moment(*past), engagement_id="eng-gone", variant="A")
            )
            made.append(
                event(
                    device,
                    "click",
                    moment(*past),
                    engagement_id=self.spring_id,
                    variant="Z",
                    element="buy",
                )
            )
        return made

    def expected(self) -> dict[tuple[str, str, str], Counter]:
        """(engagement, group, day) -> counts, from the events sent (each id once per device),
        and (engagement, "rejected", reason) -> the events refused for that reason."""
        counts: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
        unique = {(event["device_id"], event["id"]): event for event in self.sent}.values()
        buttons = {self.spring_id: BUTTONS, self.welcome_id: {"W": ["x"]}}
        first_seen: dict[tuple[str, str], tuple[datetime, str]] = {}
        exposures: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        purchases: dict[str, list[datetime]] = defaultdict(list)
        rejected: dict[str, Counter] = defaultdict(Counter)
        for sent in unique:
            at = datetime.fromisoformat(sent["timestamp"])
            registered = sent["device_id"] in self.registered
            if sent["type"] == "custom":
                if sent["name"] != "purchase":
                    continue
                if registered:
                    purchases[self.subjects[sent["device_id"]]].append(at)
                else:  # refused by the one engagement converting on it
                    rejected[self.spring_id]["unregistered_device"] += 1
                continue
            eid, group = sent["engagement_id"], sent["variant"]
            if eid not in buttons:
                continue  # an unknown engagement: dropped, no report to tell
            if not registered:
                rejected[eid]["unregistered_device"] += 1
                continue
            if group not in buttons[eid]:
                rejected[eid]["unknown_variant"] += 1
                continue
            if sent["type"] == "click" and sent["element"] not in buttons[eid][group]:
                rejected[eid]["unknown_element"] += 1
                continue
            day = counts[(eid, group, at.date().isoformat())]
            if sent["type"] == "impression":
                day["impressions"] += 1
                reach = (eid, sent["device_id"])
                first_seen[reach] = min(first_seen.get(reach, (at, group)), (at, group))
                if eid == self.spring_id:
                    exposures[self.subjects[sent["device_id"]]].append((at, group))
            elif sent["type"] == "click":
                day["clicks"] += 1
                day[f"clicks_by_element.{sent['element']}"] += 1
                if eid == self.spring_id and sent["element"] == "buy":
                    day[f"metrics.{METRIC}"] += 1
            elif sent["type"] == "dismiss":
                day["dismissals"] += 1
            else:
                day["render_errors"] += 1
        for (eid, _device), (at, group) in first_seen.items():
            counts[(eid, group, at.date().isoformat())]["unique_devices"] += 1
        for subject in self.control:
            counts[(self.spring_id, "control", T0.date().isoformat())]["assigned"] += 1
            exposures[subject].append((T0, "control"))
        for subject, times in purchases.items():
            credited = [
                (bought, group)
                for bought in sorted(times)
                for at, group in exposures[subject]
                if bought - WINDOW <= at <= bought
            ]
            if credited:
                bought, group = min(credited, key=lambda pair: pair[0])
                counts[(self.spring_id, group, bought.date().isoformat())]["conversions"] += 1
        for eid, reasons in rejected.items():
            counts[(eid, "rejected", "total")] = reasons
        return {key: value for key, value in counts.items() if +value}

    def counted(self, api, shop) -> dict[tuple[str, str, str], Counter]:
        """The same shape, read from the metrics route's daily series."""
        found: dict[tuple[str, str, str], Counter] = {}
        for eid in (self.spring_id, self.welcome_id):
            report = metrics(api, shop, eid, "?granularity=day")
            for point in report["series"]:
                groups = [(v["key"], v) for v in point["variants"]]
                if point["control"]:
                    groups.append(("control", point["control"]))
                for group, values in groups:
                    day = Counter()
                    for name, value in values.items():
                        if isinstance(value, dict):
                            day.update({f"{name}.{key}": n for key, n in value.items()})
                        elif name != "key":
                            day[name] = value
                    if +day:
                        found[(eid, group, point["date"])] = +day
            _check_totals(report, found, eid)
            if +Counter(report["rejected"]):
                found[(eid, "rejected", "total")] = +Counter(report["rejected"])
        return found


def _check_totals(report: dict, days: dict, eid: str) -> None:
    """The report's totals are the sums of its days."""
    for variant in report["variants"]:
        for name in ("impressions", "unique_devices", "clicks", "dismissals", "conversions"):
            summed = sum(
                c[name] for (e, g, _), c in days.items() if (e, g) == (eid, variant["key"])
            )
            assert variant[name] == summed, (variant["key"], name)
