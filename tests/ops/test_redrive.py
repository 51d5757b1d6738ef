"""`make redrive`: the dead-letter queue's messages go back to the events queue, and once the
cause is fixed the consumer counts them, once."""

import json

import boto3
from moto import mock_aws

from chalicelib.settings import get_settings
from deploy import infra
from deploy.redrive import redrive
from tests.api.device_helpers import create_engagement, live_engagement, register
from tests.pipeline.helpers import Message, consume, drain, event, metrics, now, post_events


def sqs():
    return boto3.client("sqs", region_name=get_settings().region)


def dead_letter_url() -> str:
    return sqs().get_queue_url(QueueName=get_settings().events_dead_letter_queue)["QueueUrl"]


def park(bodies: list[str]) -> None:
    """Put messages on the dead-letter queue, as SQS does after maxReceiveCount failures."""
    for body in bodies:
        sqs().send_message(QueueUrl=dead_letter_url(), MessageBody=body)


def test_redriven_events_are_counted_once(api, shop):
    eid = create_engagement(api, shop, live_engagement("Spring"))
    for n in range(25):
        register(api, shop, f"d-{n}")  # events of unregistered devices are refused
    events = [
        event(f"d-{n}", "impression", now(), engagement_id=eid, variant="A") for n in range(25)
    ]
    assert post_events(api, shop, events).status == 202
    bodies = [message.body for message in drain()]
    park(bodies + bodies[:1])  # one message twice: SQS delivers at least once
    logs = []
    result = redrive(sqs(), "dev", log=logs.append)
    assert (result.moved, result.left) == (len(bodies) + 1, 0)
    assert any("moved" in line for line in logs)
    moved = drain()
    assert sorted(m.body for m in moved) == sorted(bodies + bodies[:1])
    assert consume([Message(m.message_id, m.body) for m in moved]) == []
    report = metrics(api, shop, eid)
    assert report["variants"][0]["impressions"] == 25


def test_an_empty_dead_letter_queue_moves_nothing(aws):
    assert redrive(sqs(), "dev", log=lambda _l: None).moved == 0


def test_messages_that_come_back_during_the_run_are_not_cycled(aws):
    park([json.dumps({"poison": n}) for n in range(3)])
    client = sqs()
    real_send = client.send_message_batch

    def send_and_fail_again(**request):
        real_send(**request)
        for entry in request["Entries"]:  # the consumer fails them at once: back they come
            client.send_message(QueueUrl=dead_letter_url(), MessageBody=entry["MessageBody"])
        return {"Successful": [{"Id": entry["Id"]} for entry in request["Entries"]]}

    client.send_message_batch = send_and_fail_again
    result = redrive(client, "dev", log=lambda _l: None)
    assert result.moved == 3
    assert result.left == 3


def test_the_command_line_redrives_a_stage(capsys):
    from deploy.__main__ import main

    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-3")
        for name in (infra.queue_name("prod"), infra.dead_letter_queue_name("prod")):
            client.create_queue(QueueName=name)
        dead = client.get_queue_url(QueueName=infra.dead_letter_queue_name("prod"))["QueueUrl"]
        client.send_message(QueueUrl=dead, MessageBody="{}")
        assert main(["redrive", "--stage", "prod", "--region", "eu-west-3"]) == 0
    assert "moved 1 messages" in capsys.readouterr().out


def test_a_stage_without_queues_is_a_clear_error(aws, capsys):
    from deploy.__main__ import main

    assert main(["redrive", "--stage", "nope", "--region", "us-east-1"]) == 1
    assert "herald-nope-events-dlq" in capsys.readouterr().err
