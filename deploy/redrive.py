"""`make redrive STAGE=prod`: put the messages of the events dead-letter queue back on the events
queue, for the consumer to count again once what made them fail is fixed (docs/OPERATIONS.md).

Each batch is sent to the events queue first and deleted from the dead-letter queue only once
sent, so a crash in between leaves a copy in both: the consumer counts every event once whatever
the copies (its event markers), so a copy costs a read, never a double count. At most the number
of messages the dead-letter queue held at the start is moved, so messages that fail again and
come back during the run are not cycled forever.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy import infra

BATCH = 10  # SQS's maximum per receive and per send
HIDE_SECONDS = 120  # a received message stays hidden this long if the run stops before deleting


@dataclass(frozen=True)
class Redriven:
    moved: int
    left: int  # in the dead-letter queue when the run ended (approximately, as SQS counts)


def redrive(sqs: Any, stage: str, log: Callable[[str], None] = print) -> Redriven:
    dead = sqs.get_queue_url(QueueName=infra.dead_letter_queue_name(stage))["QueueUrl"]
    events = sqs.get_queue_url(QueueName=infra.queue_name(stage))["QueueUrl"]
    waiting = _count(sqs, dead)
    log(f"{infra.dead_letter_queue_name(stage)}: {waiting} messages to move")
    moved = 0
    while moved < waiting:
        received = sqs.receive_message(
            QueueUrl=dead,
            MaxNumberOfMessages=min(BATCH, waiting - moved),
            VisibilityTimeout=HIDE_SECONDS,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not received:
            break
        entries = [
            {
                "Id": str(index),
                "MessageBody": message["Body"],
                **(
                    {"MessageAttributes": message["MessageAttributes"]}
                    if message.get("MessageAttributes")
                    else {}
                ),
            }
            for index, message in enumerate(received)
        ]
        sent = sqs.send_message_batch(QueueUrl=events, Entries=entries)
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        if done:
            sqs.delete_message_batch(
                QueueUrl=dead,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(received)
                    if str(index) in done
                ],
            )
        moved += len(done)
        for failure in sent.get("Failed", []):
            log(f"not moved ({failure.get('Code')}): {failure.get('Message')}")
        if len(done) < len(received):
            break  # the rest reappear in the dead-letter queue after HIDE_SECONDS
    left = _count(sqs, dead)
    log(
        f"moved {moved} messages to {infra.queue_name(stage)}; {left} left in the dead-letter queue"
    )
    return Redriven(moved, left)


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
