"""Herald's errors as exceptions: every 4xx/5xx answer carries `{"Code", "Message"}`."""

from typing import Any


class HeraldError(Exception):
    """Base class of everything this SDK raises on purpose."""


class ConnectionFailed(HeraldError):
    """The server could not be reached (after the retries)."""


class ApiError(HeraldError):
    """Herald answered with an error status; `code` and `message` are its `Code` and `Message`."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400: the message names the field."""


class Unauthorized(ApiError):
    """401: no key, or a key that is not valid."""


class Forbidden(ApiError):
    """403: a valid key that may not call this route (another app's, the wrong kind)."""


class NotFound(ApiError):
    """404: no such app, audience, engagement or device."""


class Conflict(ApiError):
    """409: a name taken, a forbidden change, a transition not allowed from the status."""


class StaleVersion(Conflict):
    """409 on a versioned write: someone changed the resource since it was read."""


class PayloadTooLarge(ApiError):
    """413."""


class PreconditionRequired(ApiError):
    """428: the update needs `If-Match`."""


class TooManyRequests(ApiError):
    """429, still after the retries."""


class ServiceUnavailable(ApiError):
    """503, still after the retries."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    428: PreconditionRequired,
    429: TooManyRequests,
    503: ServiceUnavailable,
}
_STALE_HINTS = ("is stale", "changed meanwhile")


def error_from(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer, whatever its body (Herald's form, or not JSON)."""
    if isinstance(body, dict) and isinstance(body.get("Code"), str):
        code, message = body["Code"], str(body.get("Message", ""))
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        code, message = f"HTTP{status}", body["message"]
    else:
        code, message = f"HTTP{status}", (str(body)[:500] if body else "")
    kind = _BY_STATUS.get(status, ApiError)
    if kind is Conflict and any(hint in message for hint in _STALE_HINTS):
        kind = StaleVersion
    return kind(status, code, message, retry_after)
