"""The local stand-in for Lambda's DynamoDB stream event source mapping, and for `@app.schedule`.

`StreamFeeder` reads the stream of the table an `@app.on_dynamodb_record` handler names (moto
keeps streams; its stream API answers only at the endpoint with a trailing slash) and hands its
records to the handler in order, in batches, as the deployed mapping does (deploy/ sets the
same figures): a batch the handler reports failed (`batchItemFailures`) is retried from the
first failed record, a batch the handler raises on is bisected, and a record still failing
after MAX_RETRIES retries goes to the on-failure destination (`on_failure`, and the log), so one
bad record never blocks the shard for good. `poll()` makes at most one attempt and returns; the
local run polls every few tenths of a second, and the tests poll after every request.

`RateRunner` calls every `@app.schedule(Rate(...))` handler at its rate (or `interval`).
"""

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig
from chalice.local import LambdaContext

from chalicelib.settings import Settings

log = logging.getLogger("herald.local.stream")

MAX_RETRIES = 10  # the mapping's MaximumRetryAttempts (deploy/)
_SECONDS = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400}


def stream_sources(app: Chalice) -> list[DynamoDBEventConfig]:
    return [source for source in app.event_sources if isinstance(source, DynamoDBEventConfig)]


def table_of(stream_arn: str) -> str:
    """`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`."""
    return stream_arn.split(":table/", 1)[-1].split("/", 1)[0]


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None = None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    batch_size: int = 0  # shrinks while bisecting a failing batch


class StreamFeeder:
    def __init__(
        self,
        app: Chalice,
        source: DynamoDBEventConfig,
        settings: Settings,
        invoke: Callable[[dict[str, Any], Any], Any] | None = None,
    ):
        """`invoke(event, context)` defaults to calling the handler in process."""
        self._name = source.name
        self._handler = invoke or app.handler_map[source.name]
        self._batch_size = source.batch_size
        self._table = table_of(source.stream_arn)
        self._region = settings.region
        endpoint = f"https://streams.dynamodb.{settings.region}.amazonaws.com/"
        self._streams = boto3.client(
            "dynamodbstreams", region_name=settings.region, endpoint_url=endpoint
        )
        self._dynamodb = boto3.client("dynamodb", region_name=settings.region)
        self._arn = ""
        self._shards: dict[str, _Shard] = {}
        self.on_failure: list[dict[str, Any]] = []  # what the deployed mapping sends to its DLQ
        self.invocations = 0
        self.failed_invocations = 0

    def poll(self) -> int:
        """Read new records and make one attempt at each shard's next batch; the number of
        records the handler finished with (succeeded or sent to on_failure)."""
        if not self._arn:
            table = self._dynamodb.describe_table(TableName=self._table)["Table"]
            self._arn = table["LatestStreamArn"]
        finished = 0
        for shard in self._read_shards():
            finished += self._attempt(shard)
        return finished

    def drain(self, attempts: int = 50) -> int:
        """Poll until nothing is pending and nothing new came (or `attempts` polls): what the
        function's own writes add to the stream is delivered too. The polls that failed."""
        failures_before = self.failed_invocations
        for _ in range(attempts):
            finished = self.poll()
            if not self.pending and not finished:
                break
        return self.failed_invocations - failures_before

    @property
    def pending(self) -> int:
        return sum(len(shard.buffer) for shard in self._shards.values())

    def _read_shards(self) -> list[_Shard]:
        described = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]
        for found in described["Shards"]:
            if found["ShardId"] not in self._shards:
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=found["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                self._shards[found["ShardId"]] = _Shard(found["ShardId"], iterator)
        for shard in self._shards.values():
            if shard.iterator:
                answer = self._streams.get_records(ShardIterator=shard.iterator)
                shard.buffer.extend(answer["Records"])
                shard.iterator = answer.get("NextShardIterator")
        return list(self._shards.values())

    def _attempt(self, shard: _Shard) -> int:
        if not shard.buffer:
            return 0
        size = shard.batch_size or self._batch_size
        batch = shard.buffer[:size]
        event = {"Records": [self._lambda_record(record) for record in batch]}
        self.invocations += 1
        try:
            outcome = self._handler(event, LambdaContext(self._name, 128))
        except Exception:
            log.exception("%s raised on a batch of %d records", self._name, len(batch))
            return self._failed(shard, batch, bisect=True)
        failures = (outcome or {}).get("batchItemFailures") or []
        if not failures:
            return self._done(shard, len(batch))
        numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        first = failures[0].get("itemIdentifier")
        if first not in numbers:  # an invalid report fails the whole batch, as on Lambda
            return self._failed(shard, batch, bisect=False)
        done = self._done(shard, numbers.index(first), keep_attempts=True)
        return done + self._failed(shard, shard.buffer[: len(batch) - done], bisect=False)

    def _done(self, shard: _Shard, count: int, keep_attempts: bool = False) -> int:
        del shard.buffer[:count]
        if not keep_attempts or count:
            shard.attempts, shard.batch_size = 0, 0
        return count

    def _failed(self, shard: _Shard, batch: list[dict[str, Any]], bisect: bool) -> int:
        self.failed_invocations += 1
        shard.attempts += 1
        if bisect and len(batch) > 1:
            shard.batch_size = max(1, len(batch) // 2)
        if shard.attempts <= MAX_RETRIES:
            return 0
        log.error(
            "%s: %d records failed %d times; sent to the on-failure destination",
            self._name,
            len(batch),
            shard.attempts,
        )
        self.on_failure.append(
            {
                "shard": shard.shard_id,
                "first": batch[0]["dynamodb"]["SequenceNumber"],
                "last": batch[-1]["dynamodb"]["SequenceNumber"],
                "records": len(batch),
            }
        )
        return self._done(shard, len(batch))

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        data = dict(record["dynamodb"])
        created = data.get("ApproximateCreationDateTime")
        data["ApproximateCreationDateTime"] = (
            created.timestamp() if hasattr(created, "timestamp") else created or 0
        )
        data.setdefault("SizeBytes", 0)
        data.setdefault("StreamViewType", "NEW_AND_OLD_IMAGES")
        return {
            "eventID": record.get("eventID", ""),
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": data,
            "eventSourceARN": self._arn,
        }


class StreamThread(threading.Thread):
    def __init__(self, feeder: StreamFeeder, stopping: threading.Event, interval: float = 0.2):
        super().__init__(name="herald-local-stream", daemon=True)
        self._feeder = feeder
        self._stopping = stopping
        self._interval = interval

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._feeder.poll()
            except Exception:
                log.exception("local stream poll failed; trying again")


def scheduled_event(region: str = "us-east-1") -> dict[str, Any]:
    """The event EventBridge gives a scheduled rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {},
    }


def rate_seconds(source: ScheduledEventConfig) -> float | None:
    expression = source.schedule_expression
    value, unit = getattr(expression, "value", None), getattr(expression, "unit", None)
    if value is None or unit not in _SECONDS:
        return None
    return float(value) * _SECONDS[unit]


class RateRunner(threading.Thread):
    """Calls each `@app.schedule(Rate(...))` handler once per rate (or per `interval`)."""

    def __init__(self, app: Chalice, stopping: threading.Event, interval: float | None = None):
        super().__init__(name="herald-local-rates", daemon=True)
        self._app = app
        self._stopping = stopping
        self._jobs = [
            (source.name, interval or rate_seconds(source))
            for source in app.event_sources
            if isinstance(source, ScheduledEventConfig)
        ]
        self.runs = 0

    def run(self) -> None:
        due = {name: every for name, every in self._jobs if every}
        elapsed = 0.0
        tick = min(due.values(), default=1.0) / 10
        while not self._stopping.wait(tick):
            elapsed += tick
            for name, every in due.items():
                if elapsed % every < tick:
                    self._call(name)

    def _call(self, name: str) -> None:
        try:
            self._app.handler_map[name](scheduled_event(), LambdaContext(name, 128))
            self.runs += 1
        except Exception:
            log.exception("scheduled %s failed; it runs again at its next rate", name)
