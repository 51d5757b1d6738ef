"""A subject's history and its once-only counts do not depend on the order events arrive in."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import history, tally
from chalicelib.domain.history import Entry

DAY = 86_400.0
WINDOW = DAY
NOW = 40 * DAY

moments = st.integers(min_value=30 * DAY, max_value=40 * DAY).map(float)
arrivals = st.lists(
    st.tuples(st.sampled_from(["impression", "conversion", "control"]), moments),
    min_size=1,
    max_size=12,
)


def replay(events) -> tuple[Entry, Counter]:
    entry, net = Entry(), Counter()
    for kind, at in events:
        if kind == "impression":
            entry, increments = history.impression(entry, at, "A", WINDOW, NOW)
        elif kind == "conversion":
            entry, increments = history.conversion(entry, at, WINDOW)
        else:
            entry, increments = history.control(entry, at, WINDOW)
        for increment in increments:
            net[(increment.group, increment.day, increment.metric)] += increment.delta
    return entry, Counter({key: n for key, n in net.items() if n})


def expected_conversion(events) -> tuple[float, str] | None:
    controls = [at for kind, at in events if kind == "control"]
    exposures = [(at, "A") for kind, at in events if kind == "impression"]
    if controls:
        exposures.append((controls[0], tally.CONTROL))
    for bought in sorted(at for kind, at in events if kind == "conversion"):
        groups = [group for at, group in exposures if bought - WINDOW <= at <= bought]
        if groups:
            return bought, groups[0]
    return None


@given(arrivals, st.randoms())
def test_the_credited_conversion_is_the_earliest_with_an_exposure_whatever_the_order(
    events, random
):
    # only the first control assignment counts; make it the same in every order
    controls = [event for event in events if event[0] == "control"][:1]
    events = [event for event in events if event[0] != "control"] + controls
    shuffled = random.sample(events, len(events))

    entry, net = replay(shuffled)

    credited = expected_conversion(events)
    assert entry.converted == credited
    conversions = {key: n for key, n in net.items() if key[2] == tally.CONVERSIONS}
    if credited is None:
        assert conversions == {}
    else:
        at, group = credited
        assert conversions == {(group, tally.day_of(at), tally.CONVERSIONS): 1}
    assert entry.total == sum(1 for kind, _ in events if kind == "impression")


@given(st.lists(moments, min_size=1, max_size=10), st.randoms())
def test_a_device_is_reached_once_on_the_day_of_its_earliest_impression(times, random):
    first, net = None, Counter()
    for at in random.sample(times, len(times)):
        moved, increments = tally.reach(first, at, "A")
        first = moved or first
        for increment in increments:
            net[(increment.day, increment.metric)] += increment.delta

    assert {key: n for key, n in net.items() if n} == {
        (tally.day_of(min(times)), tally.UNIQUE_DEVICES): 1
    }


def test_an_entry_reads_back_what_it_stores():
    entry, _ = history.impression(Entry(), 39.5 * DAY, "B", WINDOW, NOW)
    entry, _ = history.conversion(entry, 39.6 * DAY, WINDOW)
    entry, _ = history.control(entry, 39.0 * DAY, WINDOW)

    assert Entry.read(entry.stored()) == entry
    assert history.records_control(entry.stored())
    assert not history.records_control(Entry().stored())
