"""Prometheus metrics. Two kinds:

- read at scrape time by the web's GET /metrics, from the database and the broker: jobs by state,
  each tenant's spend this budget month, messages waiting in each Celery queue;
- recorded where the work happens: each Bedrock call's latency and errors, by model, in the worker
  processes. A worker with ATELIER_WORKER_METRICS_PORT serves them on that port; with prefork
  pools, PROMETHEUS_MULTIPROC_DIR lets its main process add up what its children recorded.

Nothing here imports Django models at import time: the Bedrock client imports this module."""

import datetime
import hmac
import logging
import os
import zoneinfo
from decimal import Decimal
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

# Image calls take from under a second (the emulator) to minutes (large Stability renders).
BEDROCK_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
BEDROCK_CALL_SECONDS = Histogram(
    "atelier_bedrock_call_seconds", "Seconds one Bedrock InvokeModel call took, errors included.", ["model"],
    buckets=BEDROCK_BUCKETS,
)  # fmt: skip
BEDROCK_ERRORS = Counter(
    "atelier_bedrock_errors", "Bedrock calls that failed, by model and error code.", ["model", "code"]
)


def observe_bedrock_call(*, model_id: str, seconds: float, error_code: str | None = None) -> None:
    BEDROCK_CALL_SECONDS.labels(model=model_id).observe(seconds)
    if error_code:
        BEDROCK_ERRORS.labels(model=model_id, code=error_code).inc()


# --- Read at scrape time ---------------------------------------------------------------------------------------


class JobsCollector:
    """atelier_jobs{state}: how many jobs are in each state now (one GROUP BY on an indexed column)."""

    def collect(self):
        from django.db.models import Count

        from generation.models import GenerationJob

        counts = dict(GenerationJob.objects.values_list("status").annotate(count=Count("pk")).order_by())
        family = GaugeMetricFamily("atelier_jobs", "Generation jobs by state.", labels=["state"])
        for state in GenerationJob.Status.values:
            family.add_metric([state], counts.get(state, 0))
        yield family


class TenantSpendCollector:
    """atelier_tenant_spend_usd{tenant}: charges and adjustments in each tenant's current budget month
    (its own time zone) — the `spent` of its budget. One grouped query over the ledger's index."""

    def collect(self):
        from django.db.models import Sum
        from django.utils import timezone

        from billing.models import LedgerEntry

        now = timezone.now()
        # Every tenant's month started at most a day before this one's in UTC: no older entry can count.
        earliest = (now - datetime.timedelta(days=32)).date().replace(day=1)
        rows = (
            LedgerEntry.objects.filter(
                kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST], period_start__gte=earliest
            )
            .values_list("tenant__slug", "tenant__timezone", "period_start")
            .annotate(total=Sum("amount_usd"))
            .order_by()
        )
        spend: dict[str, Decimal] = {}
        for slug, zone, period_start, total in rows:
            if timezone.localtime(now, zoneinfo.ZoneInfo(zone)).date().replace(day=1) == period_start:
                spend[slug] = spend.get(slug, Decimal(0)) + total
        family = GaugeMetricFamily(
            "atelier_tenant_spend_usd", "US dollars charged this budget month, per tenant.", labels=["tenant"]
        )
        for slug in sorted(spend):
            family.add_metric([slug], float(spend[slug]))
        yield family


class QueueDepthCollector:
    """atelier_queue_depth{queue}: messages waiting in each Celery queue (Redis LLEN; with priorities
    kombu keeps one list per priority step)."""

    def __init__(self, queues: list[str] | None = None):
        self.queues = queues

    def _queue_names(self, app) -> list[str]:
        if self.queues is not None:
            return self.queues
        return sorted(queue.name for queue in app.conf.task_queues or ())

    def collect(self):
        from config.celery_app import app

        family = GaugeMetricFamily("atelier_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
        up = GaugeMetricFamily("atelier_broker_up", "1 when the broker answered the queue-depth probe.")
        try:
            with app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)  # a scrape must not hang on a dead broker
                if connection.transport.driver_type == "redis":  # other brokers are not measured
                    channel = connection.default_channel
                    for name in self._queue_names(app):
                        # kombu's own count: LLEN of the queue's list for each priority step
                        family.add_metric([name], channel._size(name))
        except Exception as error:  # noqa: BLE001 — the database gauges are still worth a scrape
            logger.warning("queue depth unavailable: %s: %s", type(error).__name__, error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield family


class _ProcessMetrics:
    """This process's own metrics (prometheus_client's default registry), or, in multiprocess mode, every
    process's that shares PROMETHEUS_MULTIPROC_DIR."""

    def collect(self):
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()


def web_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    for collector in (JobsCollector(), TenantSpendCollector(), QueueDepthCollector(), _ProcessMetrics()):
        registry.register(collector)
    return registry


def metrics_view(request):
    """GET /metrics in Prometheus' text format, for `Authorization: Bearer <ATELIER_METRICS_TOKEN>`.
    Without the setting the endpoint does not exist (404); without the right token, 401."""
    from django.conf import settings
    from django.http import Http404, HttpResponse

    token = settings.ATELIER_METRICS_TOKEN
    if not token:
        raise Http404
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        response = HttpResponse("A metrics token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(generate_latest(web_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# --- The worker's own endpoint ---------------------------------------------------------------------------------


def start_worker_metrics_server(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 — scraped from the network
    """Serve the worker's metrics (Bedrock calls) on `port`; in multiprocess mode, every pool process's."""
    from prometheus_client import start_http_server

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        logger.warning("PROMETHEUS_MULTIPROC_DIR is not set: pool processes' Bedrock metrics will not be served")
        registry = REGISTRY
    start_http_server(port, addr=addr, registry=registry)
    logger.info("worker metrics on http://%s:%s/metrics", addr, port)


def _clear_multiprocess_dir() -> None:
    """A restarted worker starts from empty files: the old processes' counts would otherwise add up."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def _worker_started(**kwargs) -> None:
    from django.conf import settings

    port = getattr(settings, "ATELIER_WORKER_METRICS_PORT", None)
    if port:
        _clear_multiprocess_dir()
        start_worker_metrics_server(int(port))


def _pool_process_ended(pid=None, **kwargs) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def connect_celery_signals() -> None:
    from celery import signals

    signals.worker_init.connect(_worker_started, weak=False)
    signals.worker_process_shutdown.connect(_pool_process_ended, weak=False)
