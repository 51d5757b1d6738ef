"""One HTTP session to Herald: JSON in and out, errors raised, 429/503 retried with backoff.

A 429 or 503 means the request was not carried out (throttled, or the events queue could not
be reached), so retrying it is safe even for a POST. A request that got no answer at all (the
connection failed or timed out) is retried only when repeating it is harmless: GET, PUT and
DELETE, and a POST the caller marks idempotent (events: each carries its id, counted once).
The wait is the server's `Retry-After` when it gives one (seconds or an HTTP date), else
exponential backoff with full jitter; both are capped, and the total time spent waiting is
bounded.
"""

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from herald_sdk.errors import ConnectionFailed, error_from

RETRIED_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
USER_AGENT = "herald-sdk-python/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    base_delay: float = 0.25
    max_delay: float = 20.0
    max_total_wait: float = 60.0


def retry_after_seconds(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


@dataclass
class Reply:
    status: int
    body: Any
    headers: httpx.Headers


class Transport:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._client = client or httpx.Client(timeout=timeout)
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.retries = 0  # how many retries this transport made, for reports

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Reply:
        """Send; return the reply when it is a success, raise an ApiError otherwise."""
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        sent = {**self._headers, **(headers or {})}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        waited = 0.0
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._client.request(
                    method, self.base_url + path, json=json, params=query, headers=sent
                )
            except httpx.TransportError as error:
                delay = self._delay(attempt, None)
                if (
                    repeatable
                    and attempt < self.retry.attempts
                    and (waited + delay <= self.retry.max_total_wait)
                ):
                    waited += delay
                    self.retries += 1
                    self._sleep(delay)
                    continue
                problem = str(error) or type(error).__name__
                raise ConnectionFailed(f"cannot reach {self.base_url}: {problem}") from error
            body = _body(response)
            if response.status_code < 400:
                return Reply(response.status_code, body, response.headers)
            hinted = retry_after_seconds(response.headers.get("Retry-After"))
            if response.status_code in RETRIED_STATUSES and attempt < self.retry.attempts:
                delay = self._delay(attempt, hinted)
                if waited + delay <= self.retry.max_total_wait:
                    waited += delay
                    self.retries += 1
                    self._sleep(delay)
                    continue
            raise error_from(response.status_code, body, hinted)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay(self, attempt: int, hinted: float | None) -> float:
        if hinted is not None:
            return min(hinted, self.retry.max_delay)
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
