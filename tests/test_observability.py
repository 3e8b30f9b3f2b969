"""Logs and metrics an operator relies on: JSON log lines that name their request, tenant and job;
GET /metrics behind its token with jobs by state, spend per tenant, queue depth and Bedrock calls;
and a worker's own metrics endpoint adding up its pool processes."""

import datetime
import io
import json
import logging
import logging.config
import os
import subprocess
import sys
import urllib.request
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from billing.models import LedgerEntry
from billing.services import ledger_adjust
from config.celery_app import app as celery_app
from config.logging import logging_config
from config.metrics import CollectorRegistry, QueueDepthCollector, generate_latest
from generation import services
from generation.bedrock import bodies
from generation.bedrock.client import RetryableBedrockError, invoke
from generation.bedrock.request import validate_request
from generation.bedrock.specs import SPECS
from generation.emulator.server import FAULT_HEADER
from generation.models import GenerationJob
from generation.tasks import run_job
from tenants.models import Role

from .processes import ROOT, free_port, http_ok, start_worker, stop, wait_for

NOVA, TITAN = "amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0"
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def json_log():
    """The root logger configured as production configures it with LOG_FORMAT=json, writing to a buffer:
    a function returning the JSON objects logged so far."""
    stream = io.StringIO()
    config = logging_config(log_format="json", level="INFO")
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.config.dictConfig(django_settings.LOGGING)


def metrics(client, token=TOKEN) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def nova_body() -> dict:
    return bodies.build_calls(validate_request(SPECS[NOVA], {"prompt": "x", "size": "512x512"}))[0]


# --- Logs -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_logs_one_json_line_with_its_request_id_and_tenant(json_log, tenant_a, api_key, client):
    key = api_key(tenant_a, Role.VIEWER)

    response = client.get("/api/v1/tenants/acme/jobs/", HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_REQUEST_ID="abc-123")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "abc-123"
    [line] = [entry for entry in json_log() if entry["logger"] == "atelier.request"]
    assert line["request_id"] == "abc-123" and line["tenant"] == "acme"
    assert (line["level"], line["status"], line["method"]) == ("INFO", 200, "GET")
    assert line["route"] == "/api/v1/tenants/<slug:tenant_slug>/jobs/"
    assert datetime.datetime.fromisoformat(line["timestamp"]).tzinfo is not None


@pytest.mark.django_db
def test_a_request_without_a_sane_id_gets_a_new_one(json_log, client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="not sane\nid")

    generated = response["X-Request-ID"]
    assert generated != "not sane\nid" and len(generated) == 32
    [line] = [entry for entry in json_log() if entry["logger"] == "atelier.request"]
    assert line["request_id"] == generated and "tenant" not in line
    assert client.get("/healthz")["X-Request-ID"] != generated  # one per request


@pytest.mark.django_db
def test_a_task_on_a_job_logs_with_the_job_id_and_the_tenant_until_it_ends(json_log, tenant_a):
    from celery.signals import task_postrun, task_prerun

    job = services.job_submit(
        tenant=tenant_a, actor=None, model_id=NOVA, raw={"prompt": "x", "width": 512, "height": 512}
    ).job  # fmt: skip  (not committed: nothing is enqueued)
    task_log = logging.getLogger("generation.tasks")

    task_prerun.send(sender=run_job, task_id="t-1", task=run_job, args=(str(job.pk),), kwargs={})
    task_log.info("calling Bedrock")
    task_postrun.send(sender=run_job, task_id="t-1", task=run_job, args=(str(job.pk),), kwargs={}, retval="ok")
    task_log.info("after the task")

    during, after = [entry for entry in json_log() if entry["logger"] == "generation.tasks"]
    assert (during["job_id"], during["tenant"], during["message"]) == (str(job.pk), "acme", "calling Bedrock")
    assert "job_id" not in after and "tenant" not in after


# --- /metrics ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_is_404_without_a_token_configured_and_401_without_the_right_bearer(client, settings):
    settings.ATELIER_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404

    settings.ATELIER_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    right = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert right.status_code == 200 and right["Content-Type"].startswith("text/plain")


def finished_job(tenant, model_id: str, images: int, status=GenerationJob.Status.SUCCEEDED):
    """A job through the services (its ledger is the real one), ended without a worker."""
    job = services.job_submit(tenant=tenant, actor=None, model_id=model_id,
                              raw={"prompt": "x", "width": 512, "height": 512, "n": images}).job  # fmt: skip
    if status == GenerationJob.Status.QUEUED:
        return job
    services.job_start(job=job)
    if status == GenerationJob.Status.RUNNING:
        return job
    return services.job_finish(job_id=job.pk, images_stored=images)


@pytest.mark.django_db
def test_jobs_by_state_and_spend_per_tenant_this_month_come_from_the_database(client, settings, tenant_a, tenant_b):
    settings.ATELIER_METRICS_TOKEN = TOKEN
    finished_job(tenant_a, NOVA, images=2)  # $0.08
    finished_job(tenant_a, TITAN, images=1)  # $0.008
    finished_job(tenant_a, NOVA, images=1, status=GenerationJob.Status.RUNNING)  # reserved, not spent
    finished_job(tenant_b, NOVA, images=1, status=GenerationJob.Status.QUEUED)
    ledger_adjust(tenant=tenant_b, amount_usd=Decimal("1.25"), reason="manual", actor=None)
    last_month = (datetime.date.today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    LedgerEntry.objects.create(tenant=tenant_b, kind="adjust", amount_usd=Decimal("7"), period_start=last_month)

    found = metrics(client)

    jobs = {labels[0][1]: value for (name, labels), value in found.items() if name == "atelier_jobs"}
    assert jobs == {"queued": 1, "running": 1, "succeeded": 2, "partially_filtered": 0, "failed": 0, "cancelled": 0}
    spend = {labels[0][1]: value for (name, labels), value in found.items() if name == "atelier_tenant_spend_usd"}
    this_month = {"acme": Decimal("0.088"), "globex": Decimal("1.25")}
    for tenant, expected in this_month.items():
        ledger = sum(
            e.amount_usd
            for e in LedgerEntry.objects.filter(tenant__slug=tenant, kind__in=["charge", "adjust"])
            .exclude(period_start=last_month)
        )  # fmt: skip
        assert ledger == expected
        assert Decimal(str(spend[tenant])) == expected


@pytest.mark.django_db
def test_queue_depth_counts_the_messages_waiting_in_redis(client, settings):
    queue = f"atelier-test-depth-{os.getpid()}"
    collector = QueueDepthCollector(queues=[queue])
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        for _ in range(3):
            celery_app.send_task("atelier.ping", queue=queue)
        celery_app.send_task("atelier.ping", queue=queue, priority=6)  # kombu keeps it in another list

        depth = samples(generate_latest(registry).decode())

        assert depth[("atelier_queue_depth", (("queue", queue),))] == 4
        assert depth[("atelier_broker_up", ())] == 1
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
    settings.ATELIER_METRICS_TOKEN = TOKEN
    found = metrics(client)
    assert {("atelier_queue_depth", (("queue", name),)) in found for name in ("interactive", "batch")} == {True}


def test_a_broker_that_does_not_answer_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    registry = CollectorRegistry()
    registry.register(QueueDepthCollector())

    assert samples(generate_latest(registry).decode())[("atelier_broker_up", ())] == 0


@pytest.mark.django_db
def test_each_bedrock_call_is_timed_and_each_error_counted_by_model_and_code(bedrock_client, client, settings):
    def value(name, **labels):
        return REGISTRY.get_sample_value(name, {"model": NOVA, **labels}) or 0

    calls, throttled = (
        value("atelier_bedrock_call_seconds_count"),
        value("atelier_bedrock_errors_total", code="ThrottlingException"),
    )
    invoke(bedrock_client, NOVA, nova_body())
    with pytest.raises(RetryableBedrockError):
        invoke(bedrock_client, NOVA, nova_body(), headers={FAULT_HEADER: "throttle"})

    assert value("atelier_bedrock_call_seconds_count") == calls + 2
    assert value("atelier_bedrock_errors_total", code="ThrottlingException") == throttled + 1
    assert value("atelier_bedrock_call_seconds_sum") > 0
    settings.ATELIER_METRICS_TOKEN = TOKEN
    exposed = metrics(client)
    assert exposed[("atelier_bedrock_call_seconds_count", (("model", NOVA),))] == calls + 2


# --- The worker's endpoint --------------------------------------------------------------------------------------

MULTIPROCESS_SCRIPT = """
import os, sys, urllib.request
from config.metrics import observe_bedrock_call, start_worker_metrics_server
for seconds in (0.3, 2.0):  # two pool processes, each with its own call
    pid = os.fork()
    if pid == 0:
        observe_bedrock_call(model_id="amazon.nova-canvas-v1:0", seconds=seconds,
                             error_code="ThrottlingException" if seconds > 1 else None)
        os._exit(0)
    os.waitpid(pid, 0)
port = int(sys.argv[1])
start_worker_metrics_server(port, addr="127.0.0.1")
print(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode())
"""


def test_the_worker_endpoint_adds_up_what_its_pool_processes_recorded(tmp_path):
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    found = samples(result.stdout)
    assert found[("atelier_bedrock_call_seconds_count", (("model", NOVA),))] == 2
    assert found[("atelier_bedrock_call_seconds_sum", (("model", NOVA),))] == pytest.approx(2.3)
    assert found[("atelier_bedrock_errors_total", (("code", "ThrottlingException"), ("model", NOVA)))] == 1


@pytest.mark.django_db
def test_a_real_worker_serves_its_metrics_on_the_port_it_is_given(tmp_path):
    port = free_port()
    env = {"ATELIER_WORKER_METRICS_PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    (tmp_path / "prom").mkdir()
    (tmp_path / "prom" / "counter_1.db").write_bytes(b"stale")  # left by a previous run: cleared at start
    # Its own queue: the session's worker and this one never take each other's messages.
    worker = start_worker(tmp_path / "worker.log", "-Q", f"metrics-test-{os.getpid()}", env=env)
    try:
        wait_for(
            lambda: http_ok(f"http://127.0.0.1:{port}/metrics") or worker.poll() is not None,
            60, f"the worker's metrics\n{(tmp_path / 'worker.log').read_text()}",
        )  # fmt: skip
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert response.status == 200
        assert not (tmp_path / "prom" / "counter_1.db").exists()
    finally:
        stop(worker)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_run_by_the_real_worker_is_logged_with_its_ids_and_counted(
    pipeline, tenant_a, api_key, client_as, settings
):
    settings.ATELIER_METRICS_TOKEN = TOKEN
    api = client_as(key=api_key(tenant_a, Role.CREATOR))
    submitted = api.post("/api/v1/tenants/acme/jobs/", {"model": NOVA, "prompt": "a lighthouse", "width": 512,
                         "height": 512, "n": 2}, format="json")  # fmt: skip
    assert submitted.status_code == 201, submitted.json()
    job_id = submitted.json()["id"]

    def ended():
        return GenerationJob.objects.filter(pk=job_id, status__in=GenerationJob.TERMINAL).first()

    assert wait_for(ended, 60, f"job {job_id} to end").status == GenerationJob.Status.SUCCEEDED
    # The worker logs the task's end while the job's ids are still bound (config/logging.py).
    tagged = wait_for(
        lambda: [line for line in pipeline.worker.log_path.read_text().splitlines() if f"job_id={job_id}" in line],
        10, "the worker's log lines for the job",
    )  # fmt: skip
    assert any("tenant=acme" in line and "succeeded" in line for line in tagged), tagged

    found = metrics(client_as())
    assert found[("atelier_jobs", (("state", "succeeded"),))] == 1
    assert found[("atelier_jobs", (("state", "queued"),))] == 0
    charged = sum(e.amount_usd for e in LedgerEntry.objects.filter(tenant=tenant_a, kind__in=["charge", "adjust"]))
    assert charged == Decimal("0.08")
    assert Decimal(str(found[("atelier_tenant_spend_usd", (("tenant", "acme"),))])) == charged
