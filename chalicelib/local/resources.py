"""Creates every AWS resource Herald uses, for the local run and the tests (moto)."""

import json

import boto3
from botocore.exceptions import ClientError

from chalicelib.adapters import dynamo
from chalicelib.settings import Settings

MAX_RECEIVE_COUNT = 5


def create_all(settings: Settings) -> None:
    """Idempotent, so the local run can also start inside a test's mock that already has them."""
    dynamo.create_tables(settings)
    _create_queues(settings)
    scheduler = boto3.client("scheduler", region_name=settings.region)
    try:
        scheduler.create_schedule_group(Name=settings.schedule_group)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConflictException":
            raise


def _create_queues(settings: Settings) -> None:
    sqs = boto3.client("sqs", region_name=settings.region)
    dlq_url = sqs.create_queue(QueueName=settings.events_dead_letter_queue)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.create_queue(
        QueueName=settings.events_queue,
        Attributes={
            "VisibilityTimeout": "180",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
            ),
        },
    )
