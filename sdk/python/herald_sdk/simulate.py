"""A fleet of simulated devices: register, trigger app events, fetch, "render", click and convert
at given true rates, and report their events in batches, as the mobile SDKs would.

Everything is bounded: the number of devices and of app events per device, the threads
(`concurrency`), the requests in all (`max_requests`) and the time (`max_seconds`); when a bound
is reached the devices stop where they are and the run ends by itself. Each device's behaviour
comes from its own random generator seeded with (seed, index), so a seed gives the same fleet
and the same choices whatever the threads' timing.
"""

import ipaddress
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from herald_sdk.device import DeviceClient
from herald_sdk.errors import ApiError, ConnectionFailed
from herald_sdk.models import FetchedMessage
from herald_sdk.transport import RetryPolicy

CONTROL = "control"
# (locale, weight, time zones): a plausible international audience.
LOCALES = [
    ("en-US", 30, ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]),
    ("en-GB", 8, ["Europe/London"]),
    ("de-DE", 8, ["Europe/Berlin"]),
    ("fr-FR", 8, ["Europe/Paris"]),
    ("es-ES", 5, ["Europe/Madrid"]),
    ("es-MX", 5, ["America/Mexico_City"]),
    ("pt-BR", 8, ["America/Sao_Paulo"]),
    ("it-IT", 4, ["Europe/Rome"]),
    ("ja-JP", 6, ["Asia/Tokyo"]),
    ("hi-IN", 6, ["Asia/Kolkata"]),
    ("en-AU", 4, ["Australia/Sydney"]),
    ("ko-KR", 4, ["Asia/Seoul"]),
    ("nl-NL", 4, ["Europe/Amsterdam"]),
]
PLATFORMS = [("ios", 52), ("android", 43), ("web", 5)]
OS_VERSIONS = {
    "ios": ["16.7.10", "17.6.1", "18.1", "18.2.1", "18.3"],
    "android": ["12", "13", "14", "15"],
    "web": ["chrome-131", "safari-18", "firefox-133"],
}
APP_VERSIONS = ["3.2.0", "3.3.1", "3.4.0", "3.4.2"]
PLANS = [("free", 75), ("plus", 20), ("pro", 5)]


class SimulationRefused(ValueError):
    """The simulation was asked for something it will not do (a remote server, bad rates)."""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_rates(text: str | None, what: str) -> dict[str, float]:
    """`A=0.05,B=0.08` -> {"A": 0.05, "B": 0.08}; every rate between 0 and 1."""
    rates: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not key.strip() or not 0 <= rate <= 1:
            raise SimulationRefused(
                f"{what}: {part.strip()!r} is not KEY=RATE with a rate from 0 to 1 "
                "(e.g. A=0.05,B=0.08)"
            )
        rates[key.strip()] = rate
    return rates


@dataclass
class Options:
    devices: int = 100
    events_per_device: int = 1
    ctr: dict[str, float] = field(default_factory=dict)
    answer_rate: float = 0.0  # how often a shown question is answered
    conversion: dict[str, float] = field(default_factory=dict)
    conversion_event: str | None = None
    event: str = "app_launch"
    engagement_id: str | None = None  # only this engagement's messages are acted on
    seed: int | None = None
    concurrency: int = 8
    batch_size: int = 20
    max_requests: int | None = None
    max_seconds: float = 300.0
    device_prefix: str | None = None

    def check(self) -> None:
        if not 1 <= self.devices <= 100_000:
            raise SimulationRefused("devices: from 1 to 100000")
        if not 1 <= self.events_per_device <= 100:
            raise SimulationRefused("events per device: from 1 to 100")
        if not 1 <= self.concurrency <= 64:
            raise SimulationRefused("concurrency: from 1 to 64")
        if self.max_seconds <= 0:
            raise SimulationRefused("max seconds: must be positive")
        if not 0 <= self.answer_rate <= 1:
            raise SimulationRefused("answer rate: from 0 to 1")
        if self.conversion and not self.conversion_event:
            raise SimulationRefused("conversion rates need a conversion event")


@dataclass
class Summary:
    devices_started: int = 0
    devices_done: int = 0
    requests: int = 0
    errors: Counter = field(default_factory=Counter)  # by status ("connection" when unreachable)
    events_sent: Counter = field(default_factory=Counter)  # accepted by Herald, by type
    impressions: Counter = field(default_factory=Counter)  # accepted, by variant
    clicks: Counter = field(default_factory=Counter)
    conversions: Counter = field(default_factory=Counter)  # by variant, or "control"
    answers: Counter = field(default_factory=Counter)  # by variant
    exposed: Counter = field(default_factory=Counter)  # devices that saw each variant
    unexposed: int = 0  # devices that never got the engagement (control, targeting, caps)
    stopped_by: str | None = None  # "max_requests" or "max_seconds" when a bound ended it
    seconds: float = 0.0
    retries: int = 0


class Fleet:
    def __init__(
        self,
        url: str,
        client_key: str,
        options: Options,
        app_id: str | None = None,
        on_device_done: Callable[[Summary], None] | None = None,
        retry: RetryPolicy | None = None,
    ):
        options.check()
        self.options = options
        self.client = DeviceClient(url, client_key, app_id, retry=retry)
        self.summary = Summary()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = 0.0
        self._on_device_done = on_device_done or (lambda _summary: None)
        self._seed = options.seed if options.seed is not None else random.randrange(2**32)
        self._prefix = options.device_prefix or f"sim-{uuid.uuid4().hex[:8]}"
        self._max_requests = options.max_requests or options.devices * (
            2 + 3 * options.events_per_device
        )

    def run(self) -> Summary:
        started = time.monotonic()
        self._deadline = started + self.options.max_seconds
        with ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="sim") as pool:
            for future in [pool.submit(self._device, i) for i in range(self.options.devices)]:
                future.result()
        self.summary.seconds = time.monotonic() - started
        self.summary.retries = self.client.transport.retries
        self.client.close()
        return self.summary

    # --- one device ---------------------------------------------------------------------------

    def _device(self, index: int) -> None:
        if self._stop.is_set():
            return
        rng = random.Random(f"{self._seed}:{index}")
        device_id = f"{self._prefix}-{index:06d}"
        with self._lock:
            self.summary.devices_started += 1
        session = self.client.session(device_id)
        seen: str | None = None  # the variant this device was shown (first one)
        converted = False
        answered: set[str] = set()
        try:
            self._call(lambda: self.client.register(device_id, **profile(rng, index)))
            for _ in range(self.options.events_per_device):
                messages = self._call(lambda: self.client.fetch(device_id, self.options.event))
                shown = self._pick(messages.messages)
                if shown is not None:
                    seen = seen or shown.variant
                    self._render(session, shown, rng, answered)
                if not converted and self._converts(shown, seen, rng):
                    session.track(self.options.conversion_event)
                    converted = True
                if len(session.pending) >= self.options.batch_size:
                    self._flush(session, seen)
            self._flush(session, seen)
        except _Stopped:
            pass
        except (ApiError, ConnectionFailed):
            pass  # counted in errors; this device stops, as an app would give up for now
        with self._lock:
            if seen:
                self.summary.exposed[seen] += 1
            else:
                self.summary.unexposed += 1
            self.summary.devices_done += 1
            snapshot = self.summary
        self._on_device_done(snapshot)

    def _pick(self, messages: list[FetchedMessage]) -> FetchedMessage | None:
        """The message the app would show: the first (highest priority), of the engagement
        under test when one is named."""
        wanted = [
            m
            for m in messages
            if self.options.engagement_id in (None, m.engagement_id) and not m.test
        ]
        return wanted[0] if wanted else None

    def _render(self, session, shown: FetchedMessage, rng: random.Random, answered: set) -> None:
        """Show it: an impression, maybe an answer to its question (one per engagement, as
        Herald counts one per person), then a click at the variant's true rate or a dismiss."""
        session.impression(shown)
        question = shown.message.get("question")
        new = question and shown.engagement_id not in answered
        if new and rng.random() < self.options.answer_rate:
            session.answer(shown, answer_to(question, rng))
            answered.add(shown.engagement_id)
        rate = self.options.ctr.get(shown.variant, 0.0)
        if rng.random() < rate:
            buttons = shown.message.get("buttons") or []
            element = buttons[0]["id"] if buttons else "message"
            session.click(shown, element)
        else:
            session.dismiss(shown)

    def _converts(self, shown: FetchedMessage | None, seen: str | None, rng) -> bool:
        if not self.options.conversion_event:
            return False
        group = seen or CONTROL
        return rng.random() < self.options.conversion.get(group, 0.0)

    def _flush(self, session, seen: str | None) -> None:
        if not session.pending:
            return
        batch = list(session.pending)
        self._call(session.flush)
        with self._lock:
            for event in batch:
                self.summary.events_sent[event["type"]] += 1
                if event["type"] == "impression":
                    self.summary.impressions[event["variant"]] += 1
                elif event["type"] == "click":
                    self.summary.clicks[event["variant"]] += 1
                elif event["type"] == "custom":
                    self.summary.conversions[seen or CONTROL] += 1
                elif event["type"] == "response":
                    self.summary.answers[event["variant"]] += 1

    def _call(self, request: Callable[[], Any]) -> Any:
        with self._lock:
            if self._stop.is_set():
                raise _Stopped
            if self.summary.requests >= self._max_requests:
                self.summary.stopped_by = self.summary.stopped_by or "max_requests"
                self._stop.set()
                raise _Stopped
            if time.monotonic() >= self._deadline:
                self.summary.stopped_by = self.summary.stopped_by or "max_seconds"
                self._stop.set()
                raise _Stopped
            self.summary.requests += 1
        try:
            return request()
        except ApiError as error:
            with self._lock:
                self.summary.errors[str(error.status)] += 1
            raise
        except ConnectionFailed:
            with self._lock:
                self.summary.errors["connection"] += 1
            raise


class _Stopped(Exception):
    """A bound was reached: this device stops."""


TEXT_ANSWERS = [
    "Love the new look",
    "Too many pop-ups",
    "Great deals this week",
    "Checkout was slow",
    "More colours please",
]


def answer_to(question: dict[str, Any], rng: random.Random) -> int | str | list[str]:
    """A plausible answer to a question: ratings and scores lean positive."""
    kind = question.get("type")
    if kind == "rating":
        return rng.choices([1, 2, 3, 4, 5], weights=[5, 8, 20, 37, 30])[0]
    if kind == "nps":
        return rng.choices(range(11), weights=[2, 1, 1, 2, 2, 5, 7, 12, 18, 25, 25])[0]
    if kind == "choice":
        ids = [option["id"] for option in question.get("options", [])]
        if question.get("multiple"):
            return rng.sample(ids, rng.randint(1, len(ids)))
        return rng.choice(ids)
    return rng.choice(TEXT_ANSWERS)


def profile(rng: random.Random, index: int) -> dict[str, Any]:
    """A plausible registration: platform, versions, locale and a time zone that fits it,
    a user id for signed-in users, and a few attributes."""
    platform = _weighted(rng, PLATFORMS)
    locale, _weight, zones = rng.choices(LOCALES, weights=[w for _l, w, _z in LOCALES])[0]
    signed_in = rng.random() < 0.7
    return {
        "user_id": f"user-{index:06d}-{rng.randrange(16**6):06x}" if signed_in else None,
        "platform": platform,
        "os_version": rng.choice(OS_VERSIONS[platform]),
        "app_version": rng.choice(APP_VERSIONS),
        "locale": locale,
        "timezone": rng.choice(zones),
        "attributes": {
            "plan": _weighted(rng, PLANS),
            "purchases": min(int(rng.expovariate(0.5)), 50),
            "country": locale.split("-")[1],
            "push_opt_in": rng.random() < 0.6,
        },
    }


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _w in choices], weights=[w for _c, w in choices])[0]
