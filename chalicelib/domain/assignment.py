"""Deterministic assignment: whether a device is reached, held out as control, and its variant.

Each decision is a uniform draw in [0, 1) from SHA-256 of (engagement id, purpose, subject), where
the subject is the user id when known (so a reinstall keeps its assignment) or the device id.
Hashing the purpose separately keeps the three decisions independent of one another, and hashing
the engagement id keeps assignments independent between engagements.
"""

import hashlib
from dataclasses import dataclass

REACH = "reach"
CONTROL = "control"
VARIANT = "variant"


def draw(engagement_id: str, purpose: str, subject: str) -> float:
    digest = hashlib.sha256(f"{engagement_id}\x1f{purpose}\x1f{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Assignment:
    in_percent: bool
    in_control: bool
    variant: str | None  # None when outside the percent or in the control group


def assign(
    engagement_id: str,
    subject: str,
    percent: float,
    control_percent: float,
    variants: tuple[tuple[str, int], ...],
) -> Assignment:
    if draw(engagement_id, REACH, subject) * 100 >= percent:
        return Assignment(in_percent=False, in_control=False, variant=None)
    if draw(engagement_id, CONTROL, subject) * 100 < control_percent:
        return Assignment(in_percent=True, in_control=True, variant=None)
    return Assignment(True, False, pick_variant(engagement_id, subject, variants))


def pick_variant(engagement_id: str, subject: str, variants: tuple[tuple[str, int], ...]) -> str:
    """The variant whose share of the weights the subject's draw falls in."""
    point = draw(engagement_id, VARIANT, subject) * sum(weight for _key, weight in variants)
    reached = 0
    for key, weight in variants:
        reached += weight
        if point < reached:
            return key
    return next(key for key, weight in reversed(variants) if weight > 0)
