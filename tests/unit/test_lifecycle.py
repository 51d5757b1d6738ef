"""Status transitions and schedule firings, with the clock passed in."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import lifecycle as lc
from chalicelib.domain.lifecycle import TransitionError, Window

START = datetime(2026, 12, 1, 9, tzinfo=UTC)
END = datetime(2026, 12, 8, 9, tzinfo=UTC)
WINDOW = Window(START, END)
BEFORE, DURING, AFTER = START - timedelta(hours=1), START + timedelta(hours=1), END


def test_a_new_engagement_takes_the_status_of_its_window():
    assert lc.initial_status(WINDOW, BEFORE, draft=False) == lc.SCHEDULED
    assert lc.initial_status(WINDOW, DURING, draft=False) == lc.ACTIVE
    assert lc.initial_status(WINDOW, BEFORE, draft=True) == lc.DRAFT
    with pytest.raises(TransitionError):
        lc.initial_status(WINDOW, AFTER, draft=False)


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [
        (lc.SCHEDULED, BEFORE, lc.SCHEDULED),  # fired early: nothing moves
        (lc.SCHEDULED, DURING, lc.ACTIVE),
        (lc.ACTIVE, DURING, lc.ACTIVE),  # start fired twice
        (lc.SCHEDULED, AFTER, lc.ENDED),  # start fired late, after the end
        (lc.ACTIVE, AFTER, lc.ENDED),
        (lc.ENDED, DURING, lc.ENDED),  # a late start never revives an ended engagement
        (lc.PAUSED, DURING, lc.PAUSED),
        (lc.DRAFT, DURING, lc.DRAFT),
    ],
)
def test_a_firing_only_moves_forward_along_the_window(status, now, expected):
    assert lc.on_schedule_fired(status, WINDOW, now) == expected


def test_pause_resume_and_publish():
    assert lc.pause(lc.ACTIVE) == lc.PAUSED
    assert lc.pause(lc.SCHEDULED) == lc.PAUSED
    for status in (lc.DRAFT, lc.PAUSED, lc.ENDED):
        with pytest.raises(TransitionError):
            lc.pause(status)
    assert lc.resume(lc.PAUSED, WINDOW, DURING) == lc.ACTIVE
    assert lc.resume(lc.PAUSED, WINDOW, AFTER) == lc.ENDED
    with pytest.raises(TransitionError):
        lc.resume(lc.ACTIVE, WINDOW, DURING)
    assert lc.publish(lc.DRAFT, WINDOW, BEFORE) == lc.SCHEDULED
    with pytest.raises(TransitionError):
        lc.publish(lc.DRAFT, WINDOW, AFTER)
    with pytest.raises(TransitionError):
        lc.publish(lc.ACTIVE, WINDOW, DURING)


def test_schedules_needed_by_each_status():
    assert lc.schedules_needed(lc.SCHEDULED, WINDOW) == {lc.START: START, lc.END: END}
    assert lc.schedules_needed(lc.ACTIVE, WINDOW) == {lc.END: END}
    for status in (lc.DRAFT, lc.PAUSED, lc.ENDED):
        assert lc.schedules_needed(status, WINDOW) == {}


def test_a_new_window_moves_running_engagements_only():
    later = Window(AFTER + timedelta(days=1), AFTER + timedelta(days=2))
    assert lc.after_window_change(lc.ENDED, later, AFTER) == lc.SCHEDULED
    assert lc.after_window_change(lc.ACTIVE, later, DURING) == lc.SCHEDULED
    assert lc.after_window_change(lc.PAUSED, later, DURING) == lc.PAUSED
    assert lc.after_window_change(lc.DRAFT, later, DURING) == lc.DRAFT
