import os

from celery import Celery, signals
from django.db import close_old_connections
from kombu import Exchange, Queue

from assets import stamping
from config import logging as config_logging
from config import metrics as config_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

BROKER_TRANSPORTS = {"redis": "config.broker:RedisTransport", "filesystem": "config.broker:FilesystemTransport"}

app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_configure.connect(weak=False)
def _broker_transport(sender, source, **kwargs) -> None:
    """Redis and filesystem brokers get kombu's transport with a defect fixed that stops a worker (config/broker.py).
    Chosen once the settings are read, not at import: reading them here would read Django's settings before
    config.asgi has set the web tier's database options."""
    scheme = (source.broker_url or "").partition("://")[0]
    if scheme in BROKER_TRANSPORTS:
        source.broker_transport = BROKER_TRANSPORTS[scheme]


# Single requests and bulk work queue apart, so a batch never delays a person waiting for an image.
# Workers consume both unless started with -Q.
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in ("interactive", "batch"))
app.autodiscover_tasks()
# Workers log through Django's LOGGING with each job's ids, and serve their metrics when asked to.
config_logging.connect_celery_signals()
config_metrics.connect_celery_signals()
# Its provenance stamps run in a pool of processes it starts once ready (assets/stamping.py).
stamping.connect_celery_signals()


@signals.task_prerun.connect(weak=False)
@signals.task_postrun.connect(weak=False)
def _close_old_connections(sender=None, **kwargs) -> None:
    """A worker thread keeps its database connection from task to task (CELERY_DB_REUSE_MAX), as Django keeps a
    request thread's: closed around a task when it broke, or is older than CONN_MAX_AGE. Not around a task run in
    the caller's process (eager), whose connection, and transaction, are the caller's."""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@app.task(name="atelier.ping")
def ping() -> str:
    """Answered by any live worker: used by health checks and the worker tests."""
    return "pong"
