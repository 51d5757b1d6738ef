"""A subject's history with one engagement: what frequency caps and conversion windows read.

`DeliveryRecord.history` maps an engagement id to one entry, a map with these keys (a key without
a value is not stored):
  total        impressions ever
  last         epoch seconds of the latest impression (by the events' own timestamps)
  buckets      {"<epoch // 900>": impressions in that quarter hour}, the last two days only
  variant      the variant shown
  shown        epoch seconds of the latest impressions (at most MAX_SHOWN), for conversions
  control      epoch seconds of the fetch that counted the subject in the control group
  conversions  epoch seconds of the latest conversion events (at most MAX_CONVERSIONS)
  converted    {"at": epoch seconds, "group": variant key or tally.CONTROL}: the one credited
  engaged      {"click": n, "dismiss": n, ...}: events that counted only after an impression
               (chalicelib/domain/integrity.py: at most one of each type per impression)
`total`, `last` and `buckets` are what eligibility's caps read (ImpressionHistory); the others
let conversions be credited whatever order impressions and conversions are processed in.

A conversion at t is credited when the subject had an exposure in [t - window, t]: an impression,
or, for the control group, the fetch that counted it. A subject converts once per engagement, on
the earliest conversion that has such an exposure.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.domain.eligibility import BUCKET_SECONDS
from chalicelib.domain.integrity import Shown
from chalicelib.domain.tally import ASSIGNED, CONTROL, CONVERSIONS, Increment, day_of, moved

KEEP_BUCKETS_SECONDS = 2 * 86400  # the longest calendar day anywhere (UTC-12..+14) fits in it
# how long after its end an engagement's events may still arrive: 30 days late at most (the
# events route refuses older timestamps), plus their time in the queue
KEPT_AFTER_END_SECONDS = 35 * 86400
MAX_SHOWN = 50
MAX_CONVERSIONS = 20


@dataclass(frozen=True)
class Entry:
    total: int = 0
    last: float | None = None
    buckets: Mapping[int, int] = field(default_factory=dict)
    variant: str | None = None
    shown: tuple[float, ...] = ()
    control: float | None = None
    conversions: tuple[float, ...] = ()
    converted: tuple[float, str] | None = None
    engaged: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> "Entry":
        converted = raw.get("converted")
        return cls(
            total=int(raw.get("total", 0)),
            last=_number(raw.get("last")),
            buckets={int(bucket): int(n) for bucket, n in (raw.get("buckets") or {}).items()},
            variant=raw.get("variant"),
            shown=tuple(float(at) for at in raw.get("shown") or ()),
            control=_number(raw.get("control")),
            conversions=tuple(float(at) for at in raw.get("conversions") or ()),
            converted=(float(converted["at"]), converted["group"]) if converted else None,
            engaged={kind: int(n) for kind, n in (raw.get("engaged") or {}).items()},
        )

    def stored(self) -> dict[str, Any]:
        values = {
            "total": self.total,
            "last": self.last,
            "buckets": {str(bucket): n for bucket, n in self.buckets.items()},
            "variant": self.variant,
            "shown": list(self.shown),
            "control": self.control,
            "conversions": list(self.conversions),
            "converted": (
                {"at": self.converted[0], "group": self.converted[1]} if self.converted else None
            ),
            "engaged": dict(self.engaged),
        }
        return {key: value for key, value in values.items() if value not in (None, [], {})}


def shown(entry: Entry) -> Shown:
    return Shown(impressions=entry.total, variant=entry.variant, engaged=dict(entry.engaged))


def engage(entry: Entry, event_type: str) -> Entry:
    """The entry after one more engaged event of this type counted (see integrity)."""
    counted = entry.engaged.get(event_type, 0) + 1
    return replace(entry, engaged={**entry.engaged, event_type: counted})


def records_control(raw: Mapping[str, Any]) -> bool:
    """Whether a stored entry already counts its subject in the control group."""
    return raw.get("control") is not None


def impression(
    entry: Entry, at: float, variant: str, window: float, now: float
) -> tuple[Entry, list[Increment]]:
    """The entry after an impression at `at`, and the conversion it may credit."""
    horizon = int(now - KEEP_BUCKETS_SECONDS) // BUCKET_SECONDS
    buckets = {bucket: n for bucket, n in entry.buckets.items() if bucket >= horizon}
    bucket = int(at) // BUCKET_SECONDS
    if bucket >= horizon:
        buckets[bucket] = buckets.get(bucket, 0) + 1
    shown = replace(
        entry,
        total=entry.total + 1,
        last=at if entry.last is None else max(entry.last, at),
        buckets=buckets,
        variant=variant,
        shown=_newest([*entry.shown, at], MAX_SHOWN),
    )
    return _credit(shown, window)


def control(entry: Entry, at: float, window: float) -> tuple[Entry, list[Increment]]:
    """The entry after the subject was counted in the control group (once), and the counts."""
    if entry.control is not None:
        return entry, []
    assigned, credited = _credit(replace(entry, control=at), window)
    return assigned, [Increment(CONTROL, day_of(at), ASSIGNED), *credited]


def conversion(entry: Entry, at: float, window: float) -> tuple[Entry, list[Increment]]:
    """The entry after a conversion event at `at`, and the conversion it may credit."""
    converting = replace(entry, conversions=_newest([*entry.conversions, at], MAX_CONVERSIONS))
    return _credit(converting, window)


def _credit(entry: Entry, window: float) -> tuple[Entry, list[Increment]]:
    """Credit the earliest conversion with an exposure in its window, when it comes before the
    one credited so far (the count then moves to its day)."""
    best = _earliest_credit(entry, window)
    if best is None or (entry.converted is not None and _order(best) >= _order(entry.converted)):
        return entry, []
    return replace(entry, converted=best), moved(CONVERSIONS, entry.converted, best)


def _earliest_credit(entry: Entry, window: float) -> tuple[float, str] | None:
    for converted_at in sorted(entry.conversions):
        earliest = converted_at - window
        if any(earliest <= at <= converted_at for at in entry.shown):
            return converted_at, entry.variant
        if entry.control is not None and earliest <= entry.control <= converted_at:
            return converted_at, CONTROL
    return None


def _order(credit: tuple[float, str]) -> tuple[float, bool]:
    """Earlier first; at the same moment, a variant before the control group (a subject with
    both is a test device or a changed engagement: any fixed rule keeps the order irrelevant)."""
    return credit[0], credit[1] == CONTROL


def _newest(moments: Iterable[float], keep: int) -> tuple[float, ...]:
    return tuple(sorted(set(moments))[-keep:])


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def pruned(history: Mapping[str, Any], ends: Mapping[str, float], now: float) -> dict[str, Any]:
    """The entries of `history` still needed: those of engagements the app still has (`ends`:
    engagement id -> end, epoch seconds) that ended at most KEPT_AFTER_END_SECONDS ago. A
    deleted engagement's entry, or that of one long ended, no event can change nor cap read."""
    return {
        engagement_id: entry
        for engagement_id, entry in history.items()
        if engagement_id in ends and now < ends[engagement_id] + KEPT_AFTER_END_SECONDS
    }
