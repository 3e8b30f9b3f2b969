"""The filesystem broker (`make run`): a worker listing the queue while a message is being written never takes
it half-written (config/broker.py; kombu issue #1551, which once stopped make run's worker mid-burst)."""

import json
from queue import Empty
from types import SimpleNamespace

import pytest
from kombu import Connection
from kombu.transport import filesystem

from config import broker
from config.celery_app import _broker_transport

QUEUE = "interactive"


def channel(transport, folder):
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False}
    return Connection("filesystem://", transport=transport, transport_options=options).default_channel


def reader_arriving_mid_write(module, reader, monkeypatch) -> list:
    """Make the writer's serialisation, which runs with the message's file already open, let `reader` take from
    the queue first: what the reader then got (a message, "empty", or the error it raised)."""
    seen = []
    real_dumps = module.dumps

    def dumps_while_a_worker_reads(payload):
        try:
            seen.append(reader._get(QUEUE))
        except Empty:
            seen.append("empty")
        except ValueError as error:
            seen.append(error)
        return real_dumps(payload)

    monkeypatch.setattr(module, "dumps", dumps_while_a_worker_reads)
    return seen


def test_kombus_own_filesystem_writer_lets_a_reader_take_an_empty_message(tmp_path, monkeypatch):
    """Why FilesystemTransport exists (this fails once kombu writes its messages whole, and the class can go)."""
    writer, reader = channel(filesystem.Transport, tmp_path), channel(filesystem.Transport, tmp_path)
    seen = reader_arriving_mid_write(filesystem, reader, monkeypatch)

    writer._put(QUEUE, {"body": "a lamp"})

    assert len(seen) == 1 and isinstance(seen[0], json.JSONDecodeError), seen
    assert list(tmp_path.iterdir()) == []  # and the message is gone: the reader took its empty file


def test_a_reader_mid_write_finds_nothing_and_then_the_whole_message(tmp_path, monkeypatch):
    writer, reader = channel(broker.FilesystemTransport, tmp_path), channel(broker.FilesystemTransport, tmp_path)
    seen = reader_arriving_mid_write(broker, reader, monkeypatch)

    writer._put(QUEUE, {"body": "a lamp"})

    assert seen == ["empty"]
    assert reader._get(QUEUE) == {"body": "a lamp"}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("filesystem://", "config.broker:FilesystemTransport"),
        ("redis://127.0.0.1:6379/0", "config.broker:RedisTransport"),
        ("amqp://127.0.0.1//", None),
    ],
)
def test_the_broker_url_chooses_the_transport_with_the_fix(url, transport):
    conf = SimpleNamespace(broker_url=url, broker_transport=None)

    _broker_transport(sender=None, source=conf)

    assert conf.broker_transport == transport
