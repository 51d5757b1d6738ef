"""UpdateEndpoint's body as changes to a Herald device (`endpointId` is the device id).

Pinpoint merges an update into the endpoint: a field left out keeps its value, and Amplify
relies on it (it sends the demographic only when it creates the endpoint, the user later).
So the changes are merged into the stored device:
- `Demographic.Platform` → `platform` (ios, android; anything else, e.g. a browser's
  `navigator.platform`, is web), `PlatformVersion` → `os_version`, `AppVersion` →
  `app_version`, `Locale` → `locale`, `Timezone` → `timezone`;
- `User.UserId` → `user_id`;
- `Attributes` and `User.UserAttributes` (lists of strings) → `attributes`, key by key, the
  user's winning: one value is kept as the string, several are joined with commas (Herald's
  attributes hold one value; a rule `contains` still finds each); `Metrics` → numeric
  attributes;
- `herald_user_token` (a user attribute) is the user's identity token (SPEC §7.1), never stored.
`Make`, `Model`, `ModelVersion`, `Location`, `Address`, `ChannelType`, `OptOut`,
`EndpointStatus`, `EffectiveDate` and `RequestId` have no Herald field and are not kept.
"""

from typing import Any

from chalicelib.dialects.pinpoint.models import EndpointRequest

USER_TOKEN_ATTRIBUTE = "herald_user_token"
PLATFORMS = {"ios": "ios", "android": "android"}


def _one_value(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ",".join(values)


def user_token(request: EndpointRequest) -> str | None:
    """The `herald_user_token` user attribute: how an Amplify app proves its user id."""
    if request.User is None:
        return None
    values = (request.User.UserAttributes or {}).get(USER_TOKEN_ATTRIBUTE)
    return values[0] if values else None


def merged_fields(stored: dict[str, Any] | None, request: EndpointRequest) -> dict[str, Any]:
    """The device's fields after this update (RegisterDevice's shape, not yet validated)."""
    fields = {key: value for key, value in (stored or {}).items() if key != "attributes"}
    attributes = dict((stored or {}).get("attributes") or {})
    demographic = request.Demographic
    if demographic is not None:
        for theirs, ours in (
            ("PlatformVersion", "os_version"),
            ("AppVersion", "app_version"),
            ("Locale", "locale"),
            ("Timezone", "timezone"),
        ):
            value = getattr(demographic, theirs)
            if value:
                fields[ours] = value
        if demographic.Platform:
            fields["platform"] = PLATFORMS.get(demographic.Platform.strip().lower(), "web")
    for name, values in (request.Attributes or {}).items():
        if values:
            attributes[name] = _one_value(values)
    for name, number in (request.Metrics or {}).items():
        attributes[name] = int(number) if float(number).is_integer() else number
    if request.User is not None:
        if request.User.UserId:
            fields["user_id"] = request.User.UserId
        for name, values in (request.User.UserAttributes or {}).items():
            if values and name != USER_TOKEN_ATTRIBUTE:
                attributes[name] = _one_value(values)
    return {**fields, "attributes": attributes}
