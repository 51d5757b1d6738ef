"""Assignment properties over 100,000 ids: uniform, weighted, stable, independent."""

from collections import Counter

from chalicelib.domain.assignment import assign, draw, pick_variant

IDS = [f"device-{n}" for n in range(100_000)]


def test_a_30_percent_reach_lands_within_one_point():
    reached = sum(assign("eng-a", i, 30, 0, (("A", 100),)).in_percent for i in IDS)
    assert abs(reached / len(IDS) - 0.30) <= 0.01


def test_variant_weights_land_within_one_point_of_their_share():
    variants = (("A", 50), ("B", 30), ("C", 20))
    counts = Counter(pick_variant("eng-a", i, variants) for i in IDS)
    for key, weight in variants:
        assert abs(counts[key] / len(IDS) - weight / 100) <= 0.01, key


def test_the_control_group_is_its_share_of_the_reached():
    placed = [assign("eng-a", i, 100, 10, (("A", 100),)) for i in IDS]
    assert abs(sum(p.in_control for p in placed) / len(IDS) - 0.10) <= 0.01
    assert all(p.variant is None for p in placed if p.in_control)


def test_the_same_id_always_gets_the_same_answer():
    variants = (("A", 50), ("B", 50))
    first = [assign("eng-a", i, 40, 10, variants) for i in IDS[:2000]]
    again = [assign("eng-a", i, 40, 10, variants) for i in IDS[:2000]]
    assert first == again


def test_two_engagements_assign_independently():
    """Being reached by one engagement says nothing about being reached by another."""
    in_a = {i for i in IDS if draw("eng-a", "reach", i) < 0.3}
    in_b = {i for i in IDS if draw("eng-b", "reach", i) < 0.3}
    both = len(in_a & in_b) / len(IDS)
    assert abs(both - 0.09) <= 0.01


def test_reach_and_variant_are_independent_within_an_engagement():
    variants = (("A", 50), ("B", 50))
    reached = [i for i in IDS if assign("eng-a", i, 30, 0, variants).in_percent]
    share_a = Counter(pick_variant("eng-a", i, variants) for i in reached)["A"] / len(reached)
    assert abs(share_a - 0.5) <= 0.015


def test_raising_the_percent_only_adds_devices():
    at_20 = {i for i in IDS[:20_000] if assign("eng-a", i, 20, 0, (("A", 100),)).in_percent}
    at_50 = {i for i in IDS[:20_000] if assign("eng-a", i, 50, 0, (("A", 100),)).in_percent}
    assert at_20 <= at_50
