"""Engagement status: the allowed transitions and what a schedule firing may change.

`draft` -> `scheduled` -> `active` -> `ended`; `paused` from scheduled/active and back.
Schedules can fire late, twice or out of order, so a firing never says "become active": it asks
for the status to be recomputed from the clock and the window, which makes every firing idempotent
and order-safe. A running engagement (scheduled/active/ended) always has the status its window
gives at the time of its last change.
"""

from dataclasses import dataclass
from datetime import datetime

DRAFT = "draft"
SCHEDULED = "scheduled"
ACTIVE = "active"
PAUSED = "paused"
ENDED = "ended"
STATUSES = (DRAFT, SCHEDULED, ACTIVE, PAUSED, ENDED)
RUNNING = frozenset({SCHEDULED, ACTIVE, ENDED})

START = "start"
END = "end"


class TransitionError(ValueError):
    """The requested change is not allowed from the current status."""


@dataclass(frozen=True)
class Window:
    start_at: datetime
    end_at: datetime

    def status_at(self, now: datetime) -> str:
        if now >= self.end_at:
            return ENDED
        if now >= self.start_at:
            return ACTIVE
        return SCHEDULED


def initial_status(window: Window, now: datetime, draft: bool) -> str:
    if now >= window.end_at:
        raise TransitionError("schedule.end_at is in the past")
    return DRAFT if draft else window.status_at(now)


def publish(status: str, window: Window, now: datetime) -> str:
    if status != DRAFT:
        raise TransitionError(f"only a draft can be published; this engagement is {status}")
    if now >= window.end_at:
        raise TransitionError("schedule.end_at is in the past: reschedule before publishing")
    return window.status_at(now)


def pause(status: str) -> str:
    if status not in (SCHEDULED, ACTIVE):
        raise TransitionError(
            f"only a scheduled or active engagement can be paused; it is {status}"
        )
    return PAUSED


def resume(status: str, window: Window, now: datetime) -> str:
    if status != PAUSED:
        raise TransitionError(f"only a paused engagement can be resumed; it is {status}")
    return window.status_at(now)


def after_window_change(status: str, window: Window, now: datetime) -> str:
    """A new window moves a running engagement to the status the window gives (an ended one
    whose end moved to the future runs again); drafts and paused ones keep their status."""
    return window.status_at(now) if status in RUNNING else status


def on_schedule_fired(status: str, window: Window, now: datetime) -> str:
    """The status after a (possibly late, duplicate or out-of-order) firing. Only scheduled and
    active engagements move, and only forward: a firing never revives an ended one."""
    if status not in (SCHEDULED, ACTIVE):
        return status
    wanted = window.status_at(now)
    order = {SCHEDULED: 0, ACTIVE: 1, ENDED: 2}
    return wanted if order[wanted] > order[status] else status


def schedules_needed(status: str, window: Window) -> dict[str, datetime]:
    """The one-time schedules a status needs: a scheduled engagement waits for its start and end,
    an active one for its end, all others for nothing."""
    if status == SCHEDULED:
        return {START: window.start_at, END: window.end_at}
    if status == ACTIVE:
        return {END: window.end_at}
    return {}
