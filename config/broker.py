"""Broker transports: kombu's, each with one defect fixed that would otherwise stop the worker.
config/celery_app.py picks the one for the broker URL.

Redis (RedisTransport). When Redis dies, Celery's consumer closes its broker connection and detaches its
transport, but the connection's channels live on: a channel whose first close was interrupted by the dead broker
is closed again, and the acks of tasks that were running when Redis died still arrive on it from the worker's
threads. kombu 5.7 then rebuilds the channel's Redis pool from the detached transport's settings and raises
AttributeError, which Celery counts as unrecoverable: the whole worker exits with every job it ran
(tests/faults/test_redis_restart.py, under load). Raised as a connection error instead, kombu and Celery handle it
as they handle the dead broker itself: the ack is logged as lost (the message comes back after its visibility
timeout; the job's claim keeps it from running twice) and the consumer reconnects.

Filesystem (FilesystemTransport, `make run`). kombu writes a message straight into the queue folder under its
final name: open, then write. A worker listing the folder in between takes the empty file, fails to parse it
and exits with every job it ran (kombu issue #1551; tests/test_broker.py). Written under a name the
worker never takes, then renamed in one step, a message is either absent or whole."""

import os
import time
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps
from redis.exceptions import ConnectionError as RedisConnectionError

UNFINISHED_SUFFIX = ".writing"  # the worker takes only names ending ".<queue>.msg"


class RedisChannel(redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:  # closed, or its transport detached
            raise RedisConnectionError("the broker connection of this channel was closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(redis.Transport):
    Channel = RedisChannel


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """kombu's _put (the same name, so the same order in the queue), written whole before it appears."""
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            with open(path + UNFINISHED_SUFFIX, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(path + UNFINISHED_SUFFIX, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel
