"""An engagement a device gets now, as one of GetInAppMessages' `InAppMessageCampaigns`.

Layouts: banner_top → TOP_BANNER, banner_bottom → BOTTOM_BANNER, modal → MOBILE_FEED (what the
Pinpoint console stores for its modal, Amplify's MODAL), full_screen → OVERLAYS (Amplify's
FULL_SCREEN); card → MOBILE_FEED and image_only → MOBILE_FEED with the image alone (Amplify has
no card or image-only layout; its modal shows an image above the header and the body).
Buttons: the first is PrimaryBtn, the second SecondaryBtn; dismiss → CLOSE, deep_link →
DEEP_LINK, url → LINK. Caps: TotalCap = max_impressions, DailyCap = max_per_day (Amplify keeps
one daily count for all campaigns); Herald applies every cap again on each sync.
"""

from chalicelib.dialects.pinpoint.triggers import event_filter
from chalicelib.services import clock
from chalicelib.services.delivery import Shown

LAYOUTS = {
    "banner_top": "TOP_BANNER",
    "banner_bottom": "BOTTOM_BANNER",
    "modal": "MOBILE_FEED",
    "full_screen": "OVERLAYS",
    "card": "MOBILE_FEED",
    "image_only": "MOBILE_FEED",
}
BUTTON_ACTIONS = {"dismiss": "CLOSE", "deep_link": "DEEP_LINK", "url": "LINK"}
DEFAULT_TEXT_COLOR = "#000000"


def campaign(shown: Shown) -> dict:
    engagement, message = shown.engagement, shown.message["message"]
    frequency = engagement.frequency
    caps = {
        name: value
        for name, value in (
            ("TotalCap", frequency.max_impressions),
            ("DailyCap", frequency.max_per_day),
        )
        if value is not None
    }
    return {
        "CampaignId": engagement.engagement_id,
        "TreatmentId": shown.decision.variant,
        "Priority": engagement.priority,
        "Schedule": {
            "EndDate": clock.iso_seconds(engagement.end_at),
            "EventFilter": event_filter(engagement.event, engagement.conditions),
        },
        "InAppMessage": {
            "Layout": LAYOUTS[message["layout"]],
            "Content": [_content(message)],
            "CustomConfig": dict(message.get("data") or {}),
        },
        **caps,
    }


def _content(message: dict) -> dict:
    text_color = message.get("text_color") or DEFAULT_TEXT_COLOR
    content: dict = {}
    if message.get("background_color"):
        content["BackgroundColor"] = message["background_color"]
    if message.get("title") and message["layout"] != "image_only":
        content["HeaderConfig"] = {
            "Alignment": "CENTER",
            "Header": message["title"],
            "TextColor": text_color,
        }
    if message.get("body") and message["layout"] != "image_only":
        content["BodyConfig"] = {
            "Alignment": "CENTER",
            "Body": message["body"],
            "TextColor": text_color,
        }
    if message.get("image_url"):
        content["ImageUrl"] = message["image_url"]
    for slot, button in zip(
        ("PrimaryBtn", "SecondaryBtn"), message.get("buttons") or [], strict=False
    ):
        content[slot] = {"DefaultConfig": _button(button)}
    return content


def _button(button: dict) -> dict:
    action = button["action"]
    config = {"ButtonAction": BUTTON_ACTIONS[action["type"]], "Text": button["label"]}
    if action.get("target"):
        config["Link"] = action["target"]
    for ours, theirs in (("background_color", "BackgroundColor"), ("text_color", "TextColor")):
        if button.get(ours):
            config[theirs] = button[ours]
    return config
