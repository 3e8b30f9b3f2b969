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
