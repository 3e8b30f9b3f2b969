"""The Redis broker transport: kombu's, with a closed connection's channels failing as a lost connection.

When Redis dies, Celery's consumer closes its broker connection and detaches its transport, but the connection's
channels live on: a channel whose first close was interrupted by the dead broker is closed again, and the acks of
tasks that were running when Redis died still arrive on it from the worker's threads. kombu 5.7 then rebuilds the
channel's Redis pool from the detached transport's settings and raises AttributeError, which Celery counts as
unrecoverable: the whole worker exits with every job it ran (tests/faults/test_redis_restart.py, under load).
Raised as a connection error instead, kombu and Celery handle it as they handle the dead broker itself: the ack
is logged as lost (the message comes back after its visibility timeout; the job's claim keeps it from running
twice) and the consumer reconnects."""

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:  # closed, or its transport detached
            raise RedisConnectionError("the broker connection of this channel was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
