"""A real worker process consumes from Redis: the pipeline's later tests stand on this."""

import pytest

from config.celery_app import app as celery_app
from config.celery_app import ping


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_answers_tasks_sent_through_redis(celery_worker_process):
    results = [ping.delay() for _ in range(5)]

    assert [result.get(timeout=30) for result in results] == ["pong"] * 5
    assert celery_app.conf.broker_url.startswith("redis://")
    assert celery_worker_process.process.poll() is None


def _held_message_after_connection_collected(transport):
    """A message taken and not yet acknowledged, on a connection Celery has just collected (the broker died)."""
    import os

    from kombu import Connection, Queue

    queue = Queue("atelier-test-broker-collect")
    connection = Connection(os.environ["REDIS_URL"], transport=transport)
    queue(connection.default_channel).declare()
    queue(connection.default_channel).purge()  # the message an earlier call restored on collect is not this one
    with connection.Producer() as producer:
        producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
    message = queue(connection.default_channel).get(no_ack=False)
    assert message is not None
    connection.collect()  # what Celery's consumer does first when the broker connection is lost
    # With the broker dead, the channel's close in collect() fails before it is marked closed, and its second close
    # (Celery then closes the connection) drops its Redis pools: the state every later use of the channel meets.
    message.channel._disconnect_pools()
    return connection, message


def test_kombus_own_redis_channel_crashes_on_an_ack_after_its_connection_was_collected():
    """Why config.broker exists: kombu 5.7's channel rebuilds its pool from the detached transport (this fails
    once kombu fixes it upstream, and config.broker can go)."""
    from kombu.transport.redis import Transport

    _connection, message = _held_message_after_connection_collected(Transport)

    with pytest.raises(AttributeError):
        message.ack()


def test_an_ack_after_the_connection_was_collected_is_a_connection_error_the_worker_survives():
    import logging

    from config.broker import RedisTransport

    connection, message = _held_message_after_connection_collected(RedisTransport)

    with pytest.raises(connection.connection_errors):
        message.ack()
    # Celery acks through ack_log_error, which logs a connection error and carries on (an AttributeError escaped it).
    message._state = "RECEIVED"
    message.ack_log_error(logging.getLogger("test"), connection.connection_errors)
    assert not message.acknowledged
    assert celery_app.conf.broker_transport == "config.broker:RedisTransport"
