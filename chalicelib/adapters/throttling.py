"""Which AWS failures are transient: throttling and transaction conflicts, worth a retry later.

A request path answers them with 503 and Retry-After (never 500); the event consumer leaves the
messages to SQS. Botocore retries throttling itself a few times first; a TransactionConflict it
never retries, and a cancelled transaction names it only in the cancellation reasons.
"""

from botocore.exceptions import ClientError

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# What a TransactionCanceledException gives as the reason of an item.
TRANSIENT_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
RETRY_AFTER_SECONDS = 1


class Throttled(Exception):
    """DynamoDB kept leaving a batch's keys unprocessed."""


def _chain(error: BaseException | None) -> list[BaseException]:
    """The error and what caused it (PynamoDB wraps botocore's ClientError, sometimes twice)."""
    found: list[BaseException] = []
    while error is not None and len(found) < 5:
        found.append(error)
        error = getattr(error, "cause", None) or error.__cause__
    return found


def _reason_codes(error: ClientError) -> set[str]:
    reasons = error.response.get("CancellationReasons") or []
    codes = {reason.get("Code") for reason in reasons}
    # PynamoDB's VerboseClientError keeps them apart, as CancellationReason (None: no reason)
    codes |= {reason.code for reason in getattr(error, "cancellation_reasons", []) if reason}
    return codes - {None, "None"}


def is_transient(error: BaseException) -> bool:
    """Throttling, or a transaction cancelled only for a conflict or throttling."""
    for cause in _chain(error):
        if isinstance(cause, Throttled):
            return True
        if not isinstance(cause, ClientError):
            continue
        code = cause.response.get("Error", {}).get("Code")
        if code in TRANSIENT_CODES:
            return True
        if code == "TransactionCanceledException":
            codes = _reason_codes(cause)
            if codes:
                return codes <= TRANSIENT_REASONS
    return False
