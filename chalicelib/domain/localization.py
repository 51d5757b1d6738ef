"""Localizing a message for a device's locale: exact locale, then its language, then the default."""

from typing import Any


def _normal(locale: str) -> str:
    return locale.replace("_", "-").lower()


def choose_locale(available: list[str], locale: str | None) -> str | None:
    """The localization key to use for `locale`, or None for the default text.

    `fr-BE` takes `fr-BE`, then `fr`, then another `fr-*` (the first in sorted order).
    """
    if not locale or not available:
        return None
    wanted = _normal(locale)
    by_normal = {_normal(key): key for key in sorted(available)}
    if wanted in by_normal:
        return by_normal[wanted]
    language = wanted.split("-")[0]
    if language in by_normal:
        return by_normal[language]
    for normal, key in by_normal.items():
        if normal.split("-")[0] == language:
            return key
    return None


def localize(message: dict[str, Any], locale: str | None) -> dict[str, Any]:
    """The message as the device shows it: localized texts, no `localizations` table."""
    localizations = message.get("localizations") or {}
    chosen = localizations.get(choose_locale(list(localizations), locale) or "", {})
    shown = {key: value for key, value in message.items() if key != "localizations"}
    for field in ("title", "body", "image_url"):
        if chosen.get(field) is not None:
            shown[field] = chosen[field]
    labels = chosen.get("buttons") or {}
    shown["buttons"] = [
        {**button, "label": labels.get(button["id"], button["label"])}
        for button in message.get("buttons", [])
    ]
    if message.get("question"):
        shown["question"] = _localized_question(message["question"], chosen.get("question") or {})
    return shown


def _localized_question(question: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
    shown = {**question}
    for field in ("prompt", "submit_label"):
        if chosen.get(field) is not None:
            shown[field] = chosen[field]
    labels = chosen.get("options") or {}
    if "options" in question:
        shown["options"] = [
            {**option, "label": labels.get(option["id"], option["label"])}
            for option in question["options"]
        ]
    return shown
