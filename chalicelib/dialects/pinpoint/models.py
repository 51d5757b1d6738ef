"""Pinpoint's request bodies, as botocore's service model describes them, validated strictly.

Field names and types are Pinpoint's; a field Pinpoint does not have is refused (400), since
botocore and Amplify send only modelled fields and anything else is a client mistake.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from chalicelib.api import models

Text = Annotated[str, StringConstraints(max_length=1024)]
# what the device's field takes (an empty text leaves the field as it is)
Version = Annotated[str, StringConstraints(max_length=32)]
LocaleText = Annotated[str, StringConstraints(pattern=f"^$|{models.LOCALE_PATTERN}")]
TimezoneText = Annotated[
    str,
    WithJsonSchema({"type": "string", "enum": ["", *models.TIMEZONES]}),
]
# an attribute's name, as a device's (chalicelib/api/models.py AttributeName)
Name = Annotated[str, StringConstraints(pattern=models.ATTRIBUTE_NAME_PATTERN)]
_CLOSED = {"additionalProperties": False}
Values = Annotated[list[Text], Field(max_length=100)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Pinpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)  # as api.models


class EndpointDemographic(_Pinpoint):
    AppVersion: Version | None = None
    Locale: LocaleText | None = None
    Make: Text | None = None
    Model: Text | None = None
    ModelVersion: Text | None = None
    Platform: Text | None = None
    PlatformVersion: Version | None = None
    Timezone: TimezoneText | None = None


class EndpointLocation(_Pinpoint):
    City: Text | None = None
    Country: Text | None = None
    Latitude: Number | None = None
    Longitude: Number | None = None
    PostalCode: Text | None = None
    Region: Text | None = None


class EndpointUser(_Pinpoint):
    UserAttributes: (
        Annotated[dict[Name, Values], Field(max_length=100, json_schema_extra=_CLOSED)] | None
    ) = None
    # Herald's user ids are at most 128 characters (RegisterDevice.user_id)
    UserId: Annotated[str, StringConstraints(max_length=128)] | None = None


class EndpointRequest(_Pinpoint):
    """UpdateEndpoint's body; also PutEvents' `Endpoint` (PublicEndpoint, the same members)."""

    Address: Text | None = None
    Attributes: (
        Annotated[dict[Name, Values], Field(max_length=100, json_schema_extra=_CLOSED)] | None
    ) = None
    ChannelType: Text | None = None
    Demographic: EndpointDemographic | None = None
    EffectiveDate: Text | None = None
    EndpointStatus: Text | None = None
    Location: EndpointLocation | None = None
    Metrics: (
        Annotated[dict[Name, Number], Field(max_length=100, json_schema_extra=_CLOSED)] | None
    ) = None
    OptOut: Text | None = None
    RequestId: Text | None = None
    User: EndpointUser | None = None

    @property
    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)


class EventSession(_Pinpoint):
    Id: Text
    StartTimestamp: Text
    StopTimestamp: Text | None = None
    Duration: int | None = None


class Event(_Pinpoint):
    EventType: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    Timestamp: Text
    Attributes: Annotated[dict[Text, Text], Field(max_length=100)] = {}
    Metrics: Annotated[dict[Text, Number], Field(max_length=100)] = {}
    Session: EventSession | None = None
    AppPackageName: Text | None = None
    AppTitle: Text | None = None
    AppVersionCode: Text | None = None
    ClientSdkVersion: Text | None = None
    SdkName: Text | None = None


def validation_message(error: Any) -> str:
    """A pydantic ValidationError as `Field.Sub: problem; ...` in Pinpoint's field names."""
    problems = []
    for item in error.errors()[:10]:
        path = ".".join(str(part) for part in item["loc"])
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"{path}: {message}" if path else message)
    return "; ".join(problems)
