"""Domain errors. Services raise these; app.py turns them into HTTP answers."""


class HeraldError(Exception):
    """Base class: a request that cannot be served as asked, with a message for the caller."""

    status_code = 500
    code = "InternalServerError"


class InvalidInput(HeraldError):
    status_code = 400
    code = "BadRequestError"


class Unauthorized(HeraldError):
    status_code = 401
    code = "UnauthorizedError"


class Forbidden(HeraldError):
    status_code = 403
    code = "ForbiddenError"


class NotFound(HeraldError):
    status_code = 404
    code = "NotFoundError"


class Conflict(HeraldError):
    status_code = 409
    code = "ConflictError"


class PayloadTooLarge(HeraldError):
    status_code = 413
    code = "RequestEntityTooLargeError"


class PreconditionRequired(HeraldError):
    status_code = 428
    code = "PreconditionRequiredError"


class ServiceUnavailable(HeraldError):
    """A store or queue that is throttling or briefly unreachable: nothing was changed, or what
    was is safe to send again."""

    status_code = 503
    code = "ServiceUnavailableError"
    retry_after_seconds = 1
