"""Request bodies used across tests: the SPEC's example engagement, shifted to a chosen window."""

import copy
from datetime import UTC, datetime, timedelta, timezone

PARIS_WINTER = timezone(timedelta(hours=1))

SPEC_EXAMPLE = {
    "name": "Spring sale",
    "description": "20 % off, two wordings",
    "type": "in_app_message",
    "ab_test": True,
    "control_percent": 10,
    "variants": [
        {
            "key": "A",
            "weight": 50,
            "message": {
                "layout": "modal",
                "title": "Spring sale",
                "body": "20 % off today",
                "image_url": "https://cdn.example.com/sale.png",
                "background_color": "#FFFFFF",
                "text_color": "#111111",
                "buttons": [
                    {
                        "id": "buy",
                        "label": "Shop now",
                        "action": {"type": "deep_link", "target": "shop://sale"},
                    },
                    {"id": "later", "label": "Later", "action": {"type": "dismiss"}},
                ],
                "data": {"campaign": "spring"},
                "localizations": {
                    "fr": {
                        "title": "Soldes",
                        "body": "-20 % aujourd'hui",
                        "buttons": {"buy": "Acheter"},
                    }
                },
            },
        },
        {
            "key": "B",
            "weight": 50,
            "message": {
                "layout": "banner_top",
                "title": "Sale: 20 % off",
                "body": "Today only",
                "buttons": [
                    {
                        "id": "buy",
                        "label": "Go",
                        "action": {"type": "url", "target": "https://shop.example.com/sale"},
                    }
                ],
            },
        },
    ],
    "audience": {"audience_ids": [], "user_ids": [], "device_ids": [], "percent": 100},
    "schedule": {"start_at": "2026-12-01T09:00:00+01:00", "end_at": "2026-12-08T09:00:00+01:00"},
    "trigger": {
        "event": "app_launch",
        "conditions": [{"attribute": "screen", "op": "eq", "value": "home"}],
    },
    "frequency": {"max_impressions": 3, "max_per_day": 1, "min_interval_seconds": 3600},
    "priority": 5,
    "metrics": [{"element": "buy", "metric": "spring_buy_clicked"}],
    "conversion": {"event": "purchase", "window_hours": 24},
    "test_device_ids": ["qa-phone-1"],
}


def at(offset: timedelta) -> str:
    """Now + offset, to the second, written with a +01:00 offset as a user in Paris would."""
    return (datetime.now(UTC) + offset).replace(microsecond=0).astimezone(PARIS_WINTER).isoformat()


def engagement(
    name: str = "Spring sale",
    start: timedelta = timedelta(days=1),
    end: timedelta = timedelta(days=8),
    **overrides,
) -> dict:
    """The SPEC example, named `name`, running from now+start to now+end."""
    body = copy.deepcopy(SPEC_EXAMPLE)
    body["name"] = name
    body["schedule"] = {"start_at": at(start), "end_at": at(end)}
    body.update(overrides)
    return body


def minimal_engagement(name: str = "Welcome", **overrides) -> dict:
    body = {
        "name": name,
        "variants": [{"key": "A", "message": {"layout": "banner_top", "title": "Hello"}}],
        "schedule": {"start_at": at(timedelta(days=1)), "end_at": at(timedelta(days=2))},
    }
    body.update(overrides)
    return body


FRENCH_USERS = {
    "name": "French users",
    "description": "fr locales",
    "rules": {"all": [{"attribute": "locale", "op": "in", "value": ["fr-FR", "fr-BE"]}]},
}
