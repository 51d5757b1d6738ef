"""PutEvents' events as Herald's client events.

- `_inapp.message_displayed` → impression, `_inapp.message_clicked` → click,
  `_inapp.message_dismissed` → dismiss, of the engagement `Attributes.campaign_id` and the
  variant `Attributes.treatment_id` (optional when the engagement has one variant). A click
  counts for the button named by `Attributes.herald_element`, else the message's first
  (primary) button; a message without buttons counts it for the element `message`.
- Any other event type is a custom event of that name (conversions), its `Attributes` and
  `Metrics` as the event's attributes.
- The `Events` key is the event id and the `BatchItem` key the device id, so a resent event
  counts once.
"""

from collections.abc import Callable

from chalicelib.dialects.pinpoint.models import Event
from chalicelib.domain.eligibility import CompiledEngagement
from chalicelib.errors import InvalidInput

MESSAGE_EVENTS = {
    "_inapp.message_displayed": "impression",
    "_inapp.message_clicked": "click",
    "_inapp.message_dismissed": "dismiss",
}
ELEMENT_ATTRIBUTE = "herald_element"
WHOLE_MESSAGE = "message"

FindEngagement = Callable[[str], CompiledEngagement | None]


def herald_event(device_id: str, event_id: str, event: Event, find: FindEngagement) -> dict:
    """The Herald event for one Pinpoint event, or InvalidInput saying what is wrong."""
    common = {"id": event_id, "device_id": device_id, "timestamp": event.Timestamp}
    kind = MESSAGE_EVENTS.get(event.EventType)
    if kind is None:
        return {
            **common,
            "type": "custom",
            "name": event.EventType,
            "attributes": {**event.Attributes, **_numbers(event.Metrics)},
        }
    engagement_id = event.Attributes.get("campaign_id")
    if not engagement_id:
        raise InvalidInput(f"Attributes.campaign_id: required for {event.EventType}")
    engagement = find(engagement_id)
    if engagement is None:
        raise InvalidInput(f"Attributes.campaign_id: no campaign {engagement_id}")
    variant = event.Attributes.get("treatment_id") or _only_variant(engagement)
    if variant is None:
        raise InvalidInput(f"Attributes.treatment_id: required, {engagement_id} has treatments")
    if variant not in engagement.messages:
        raise InvalidInput(f"Attributes.treatment_id: campaign {engagement_id} has no {variant}")
    shown = {**common, "type": kind, "engagement_id": engagement_id, "variant": variant}
    if kind == "click":
        shown["element"] = event.Attributes.get(ELEMENT_ATTRIBUTE) or _primary(engagement, variant)
    return shown


def _only_variant(engagement: CompiledEngagement) -> str | None:
    if len(engagement.messages) == 1:
        return next(iter(engagement.messages))
    return None


def _primary(engagement: CompiledEngagement, variant: str) -> str:
    buttons = engagement.messages[variant].get("buttons") or []
    return buttons[0]["id"] if buttons else WHOLE_MESSAGE


def _numbers(metrics: dict[str, float]) -> dict[str, int | float]:
    return {name: int(value) if value.is_integer() else value for name, value in metrics.items()}


def field_name(herald_path: str) -> str:
    """A Herald event field, in an error message, as the Pinpoint field it came from."""
    return {
        "id": "event id (the Events key)",
        "device_id": "endpoint id (the BatchItem key)",
        "timestamp": "Timestamp",
        "name": "EventType",
        "attributes": "Attributes",
        "engagement_id": "Attributes.campaign_id",
        "variant": "Attributes.treatment_id",
        "element": f"Attributes.{ELEMENT_ATTRIBUTE}",
    }.get(herald_path, herald_path)
