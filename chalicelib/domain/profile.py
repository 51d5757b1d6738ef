"""A subject's behaviour, as the events consumer keeps it for behavioural audience conditions.

It lives in the subject's delivery record (next to the impression histories the fetch already
reads), as one map, so evaluating behavioural conditions costs the fetch no DynamoDB request:
  first, last    epoch seconds of the subject's earliest and latest counted event
  events         {NAME: {"days": {"<epoch day>": count}, "last": epoch seconds}} per custom event
  engagements    {ID: {"seen" | "clicked" | "dismissed": epoch seconds of the first time}}

Bounds (they keep a profile under PROFILE_MAX_BYTES of JSON, whatever the subject sends):
- MAX_EVENT_NAMES custom event names per subject. Beyond it, the name sent least lately goes,
  except that names an audience of the app counts ("pinned") go only for other pinned names.
- KEEP_DAYS daily counts per name: the current UTC day and the 89 before (within_days ≤ 90). The
  last time of a name is kept as long as the name is.
- MAX_ENGAGEMENTS engagements per subject; beyond it, the one acted on least lately goes (then
  `not_seen` holds for it again).
Days are UTC days (epoch seconds // 86400); an event counts on the day of its own timestamp.
"""

from collections.abc import Iterable, Mapping
from typing import Any

DAY_SECONDS = 86400
KEEP_DAYS = 90
MAX_EVENT_NAMES = 25
MAX_ENGAGEMENTS = 100
# The largest profile these bounds allow (64-character names and ids, six-digit daily counts)
# is 51,604 bytes of JSON; tests/unit/test_profile.py builds it.
PROFILE_MAX_BYTES = 52 * 1024
ACTIONS = ("seen", "clicked", "dismissed")


def epoch_day(at: float) -> int:
    return int(at // DAY_SECONDS)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class ProfileView:
    """A stored profile read at one moment: the `rules.Behaviour` that conditions evaluate on.
    Reads the stored map lazily, so a fetch pays only for the names its rules ask about."""

    def __init__(self, raw: Mapping[str, Any] | None, now: float):
        self._raw = raw or {}
        self._today = epoch_day(now)

    def _event(self, name: str) -> Mapping[str, Any]:
        return (self._raw.get("events") or {}).get(name) or {}

    def count(self, event: str, within_days: int) -> int:
        first = self._today - within_days + 1
        days = self._event(event).get("days") or {}
        return sum(int(n) for day, n in days.items() if int(day) >= first)

    def last(self, event: str) -> float | None:
        return _number(self._event(event).get("last"))

    def window_start(self, days: int) -> float:
        return float((self._today - days + 1) * DAY_SECONDS)

    def engagement(self, engagement_id: str) -> Mapping[str, float]:
        did = (self._raw.get("engagements") or {}).get(engagement_id) or {}
        return {action: float(at) for action, at in did.items() if action in ACTIONS}

    def summary(self) -> dict[str, Any]:
        """What explain shows of the profile: activity, and per event its 30-day count."""
        first, last = _number(self._raw.get("first")), _number(self._raw.get("last"))
        return {
            "first_activity": first,
            "last_activity": last,
            "events": {
                name: {"last": self.last(name), "count_30_days": self.count(name, 30)}
                for name in sorted(self._raw.get("events") or {})
            },
        }


def activity(raw: Mapping[str, Any], at: float) -> dict[str, Any]:
    """The profile after any counted event of the subject at `at`."""
    first, last = _number(raw.get("first")), _number(raw.get("last"))
    return {
        **raw,
        "first": at if first is None else min(first, at),
        "last": at if last is None else max(last, at),
    }


def custom_event(
    raw: Mapping[str, Any], name: str, at: float, now: float, pinned: Iterable[str] = ()
) -> dict[str, Any]:
    """The profile after the custom event `name` at `at`, pruned as of `now`."""
    horizon = epoch_day(now) - KEEP_DAYS + 1
    events = {key: dict(value) for key, value in (raw.get("events") or {}).items()}
    entry = events.get(name, {})
    days = {day: int(n) for day, n in (entry.get("days") or {}).items() if int(day) >= horizon}
    day = epoch_day(at)
    if day >= horizon:
        days[str(day)] = days.get(str(day), 0) + 1
    last = _number(entry.get("last"))
    events[name] = {"days": days, "last": at if last is None else max(last, at)}
    for other, value in events.items():
        if other != name:
            value["days"] = {
                d: n for d, n in (value.get("days") or {}).items() if int(d) >= horizon
            }
    events = _keep_names(events, set(pinned))
    for value in events.values():
        if not value["days"]:
            del value["days"]
    return {**activity(raw, at), "events": events}


def _keep_names(events: dict[str, dict[str, Any]], pinned: set[str]) -> dict[str, dict[str, Any]]:
    """At most MAX_EVENT_NAMES names: those sent least lately go first, unpinned before pinned
    (an old event of a name not kept yet is then dropped at once)."""
    if len(events) <= MAX_EVENT_NAMES:
        return events

    def keep_order(name: str) -> tuple[bool, float]:
        return name in pinned, float(events[name].get("last") or 0)

    kept = set(sorted(events, key=keep_order, reverse=True)[:MAX_EVENT_NAMES])
    return {name: value for name, value in events.items() if name in kept}


def engagement_action(
    raw: Mapping[str, Any], engagement_id: str, action: str, at: float
) -> dict[str, Any]:
    """The profile after the subject saw, clicked or dismissed an engagement's message at `at`
    (a click or a dismissal means it was seen). The first time of each is kept."""
    engagements = {key: dict(value) for key, value in (raw.get("engagements") or {}).items()}
    did = engagements.get(engagement_id, {})
    for done in {"seen", action}:
        before = _number(did.get(done))
        did[done] = at if before is None else min(before, at)
    engagements[engagement_id] = did
    if len(engagements) > MAX_ENGAGEMENTS:

        def latest(key: str) -> float:
            return max(float(at) for at in engagements[key].values())

        kept = sorted(engagements, key=lambda key: (key == engagement_id, latest(key)))
        for key in kept[: len(engagements) - MAX_ENGAGEMENTS]:
            del engagements[key]
    return {**activity(raw, at), "engagements": engagements}
