"""What a client's event must prove before it counts (SPEC §7.3): the client key is public, so
anyone can send events, and only events that fit what the subject was really shown may move an
engagement's figures.

- An event of a device that was never registered is refused (`unregistered_device`).
- An event naming a variant the engagement does not have is refused (`unknown_variant`); a click
  on an element that is not a button of that variant is refused (`unknown_element`).
- A click, dismissal, render error or response (ENGAGED_TYPES) counts only when its subject
  had an impression of that engagement and variant, and at most once per impression and type
  (a response once per subject: a second is `already_answered`; one that does not answer the
  variant's question is `invalid_answer`): a subject shown a message once can click it once.
  One that does not fit yet is *held*: SQS keeps no order, so its impression may still be on
  the way. A held event is looked at again after a delay that grows with its age (5 s, then
  about doubling, at most 15 minutes), and refused (`no_impression`) once it has been held for
  HOLD_WINDOW_SECONDS without its impression arriving.

Refused events are counted per reason, per engagement and UTC day, beside the variants' counters
(group REJECTED), never in a variant's figures.
"""

from dataclasses import dataclass

from chalicelib.domain.tally import Increment, day_of

REJECTED = "~rejected"  # the group of refused events' counters; "~" is no variant key
REJECTED_PREFIX = "rejected#"

UNREGISTERED_DEVICE = "unregistered_device"
UNKNOWN_VARIANT = "unknown_variant"
UNKNOWN_ELEMENT = "unknown_element"
INVALID_ANSWER = "invalid_answer"  # a response that does not answer the variant's question
ALREADY_ANSWERED = "already_answered"  # a second response of the same subject
NO_IMPRESSION = "no_impression"
REASONS = (
    ALREADY_ANSWERED,
    INVALID_ANSWER,
    NO_IMPRESSION,
    UNKNOWN_ELEMENT,
    UNKNOWN_VARIANT,
    UNREGISTERED_DEVICE,
)

# Event types that only mean something after the message was shown.
ENGAGED_TYPES = frozenset({"click", "dismiss", "render_error", "response"})
ONCE_PER_SUBJECT = frozenset({"response"})  # a subject answers a question once

HOLD_WINDOW_SECONDS = 3600.0
MIN_HOLD_DELAY_SECONDS = 5  # most overtaken events find their impression within seconds
MAX_HOLD_DELAY_SECONDS = 900  # SQS's longest DelaySeconds


def rejected(reason: str, at: float) -> Increment:
    """The count of one refused event, on the day of its own timestamp."""
    return Increment(REJECTED, day_of(at), REJECTED_PREFIX + reason)


@dataclass(frozen=True)
class Shown:
    """What a subject's history says it was shown of one engagement, for engaged events."""

    impressions: int  # impressions counted
    variant: str | None  # the variant they were of
    engaged: dict[str, int]  # event type -> how many of that type were counted

    def answered(self, event_type: str) -> bool:
        """Whether this once-per-subject event was counted already (a second is refused)."""
        return event_type in ONCE_PER_SUBJECT and self.engaged.get(event_type, 0) >= 1

    def allows(self, event_type: str, variant: str) -> bool:
        """Whether one more event of this type and variant fits the impressions counted."""
        limit = 1 if event_type in ONCE_PER_SUBJECT else self.impressions
        return (
            self.impressions > 0
            and self.variant == variant
            and self.engaged.get(event_type, 0) < limit
        )


def hold_expired(held_since: float | None, now: float) -> bool:
    return held_since is not None and now - held_since >= HOLD_WINDOW_SECONDS


def hold_delay(held_since: float | None, now: float) -> int:
    """Seconds before a held event is looked at again: about its age so far (it doubles), at
    least a minute, at most SQS's 15 minutes, and never past the end of its window."""
    age = 0.0 if held_since is None else max(0.0, now - held_since)
    delay = max(MIN_HOLD_DELAY_SECONDS, min(MAX_HOLD_DELAY_SECONDS, int(age)))
    left = HOLD_WINDOW_SECONDS - age
    return max(MIN_HOLD_DELAY_SECONDS, min(delay, int(left) + 1))
