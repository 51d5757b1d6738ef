"""Pinpoint's error shape: `x-amzn-ErrorType` names the exception, the body carries `message`
(Amplify and API Gateway read it), `Message` and `RequestID` (botocore's modelled members)
and `Code` (the exception again: every 4xx of Herald has a `Code`)."""

from chalicelib.errors import HeraldError

EXCEPTIONS = {
    400: "BadRequestException",
    401: "ForbiddenException",  # Pinpoint has no 401: a refused caller is Forbidden
    403: "ForbiddenException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    409: "ConflictException",
    413: "PayloadTooLargeException",
    429: "TooManyRequestsException",
}


def status_of(error: HeraldError) -> int:
    return 403 if error.status_code == 401 else error.status_code


def error_headers(error: HeraldError, request_id: str) -> dict[str, str]:
    kind = EXCEPTIONS.get(error.status_code, "BadRequestException")
    return {"x-amzn-ErrorType": kind, "x-amzn-RequestId": request_id}


def error_body(error: HeraldError, request_id: str) -> dict[str, str]:
    """`Code` repeats the exception name, so the body is also Herald's `{Code, Message}`."""
    kind = EXCEPTIONS.get(error.status_code, "BadRequestException")
    return {"Code": kind, "message": str(error), "Message": str(error), "RequestID": request_id}
