"""Herald's Python SDK: the admin API (`Herald`), the device routes (`DeviceClient`) and the
`herald` command (`herald_sdk.cli`)."""

from herald_sdk.admin import Herald, Page, app_id_of
from herald_sdk.device import DeviceClient, DeviceSession
from herald_sdk.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    HeraldError,
    NotFound,
    PayloadTooLarge,
    PreconditionRequired,
    ServiceUnavailable,
    StaleVersion,
    TooManyRequests,
    Unauthorized,
)
from herald_sdk.models import AppCreated
from herald_sdk.transport import RetryPolicy
from herald_sdk.trust import Enrolment, user_token

__all__ = [
    "ApiError",
    "AppCreated",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "DeviceClient",
    "DeviceSession",
    "Enrolment",
    "Forbidden",
    "Herald",
    "HeraldError",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PreconditionRequired",
    "RetryPolicy",
    "ServiceUnavailable",
    "StaleVersion",
    "TooManyRequests",
    "Unauthorized",
    "app_id_of",
    "user_token",
]
__version__ = "0.1.0"
