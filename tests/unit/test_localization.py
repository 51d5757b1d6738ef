from chalicelib.domain.localization import choose_locale, localize

MESSAGE = {
    "layout": "modal",
    "title": "Sale",
    "body": "20 % off",
    "buttons": [{"id": "buy", "label": "Buy", "action": {"type": "dismiss"}}],
    "localizations": {
        "fr": {"title": "Soldes", "buttons": {"buy": "Acheter"}},
        "fr-CA": {"title": "Aubaines"},
        "de-DE": {"body": "20 % Rabatt"},
    },
}


def test_exact_locale_then_language_then_sibling_then_default():
    available = list(MESSAGE["localizations"])
    assert choose_locale(available, "fr-CA") == "fr-CA"
    assert choose_locale(available, "fr_ca") == "fr-CA"
    assert choose_locale(available, "fr-BE") == "fr"
    assert choose_locale(available, "de-AT") == "de-DE"
    assert choose_locale(available, "es-ES") is None
    assert choose_locale(available, None) is None


def test_localized_fields_replace_defaults_and_the_rest_falls_back():
    french = localize(MESSAGE, "fr-BE")
    assert french["title"] == "Soldes" and french["body"] == "20 % off"
    assert french["buttons"][0]["label"] == "Acheter"
    assert "localizations" not in french
    canadian = localize(MESSAGE, "fr-CA")
    assert canadian["title"] == "Aubaines" and canadian["buttons"][0]["label"] == "Buy"
    assert localize(MESSAGE, "ja-JP")["title"] == "Sale"
