"""Production is the same code pointed elsewhere by the environment: its settings refuse to start
without secrets, pass Django's deployment checks, and docker-compose.yml runs the one image."""

import os
import re
import subprocess
import sys
from functools import cache

import yaml

from .processes import ROOT

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/atelier",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "atelier.example.com",
}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=60
    )


@cache
def check_deploy() -> subprocess.CompletedProcess:
    """`manage.py check --deploy` at WARNING level under production's settings, run once for the tests that read it."""
    return manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)


def test_production_passes_the_deployment_checks():
    result = check_deploy()

    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


COMPOSE_PATH = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "atelier.env.example"
DJANGO_SERVICES = ("migrate", "web", "worker-interactive", "worker-batch", "beat")
ONE_SHOT = {"migrate", "minio-init"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


def test_compose_runs_web_workers_and_beat_from_one_django_service_definition():
    services = compose()["services"]

    django_services = [services[name] for name in DJANGO_SERVICES]
    assert len({s["image"] for s in django_services}) == 1
    # The anchor's environment, unchanged, in every one (workers add their metrics settings to it).
    assert all(s["environment"].items() >= services["migrate"]["environment"].items() for s in django_services)
    assert services["migrate"]["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert services["web"]["command"].startswith("gunicorn -c deploy/gunicorn.conf.py")
    assert "beat" in services["beat"]["command"]
    for name in DJANGO_SERVICES[1:]:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_compose_has_one_worker_pool_per_celery_queue():
    from config.celery_app import app

    services = compose()["services"]
    queues = {queue.name for queue in app.conf.task_queues}

    for queue in queues:
        command = services[f"worker-{queue}"]["command"].split()
        assert command[:4] == ["celery", "-A", "config.celery_app", "worker"]
        assert command[command.index("-Q") + 1] == queue
        assert any(part.startswith("--concurrency=") for part in command)
        assert f"--destination={queue}@" in services[f"worker-{queue}"]["healthcheck"]["test"][1]
        assert services[f"worker-{queue}"]["environment"]["ATELIER_WORKER_METRICS_PORT"]
        assert services[f"worker-{queue}"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    workers = [name for name, s in services.items() if " worker" in str(s.get("command", ""))]
    assert sorted(workers) == sorted(f"worker-{queue}" for queue in queues)


def test_every_long_running_service_has_a_health_check_and_one_shots_do_not_restart():
    services = compose()["services"]

    assert {"flower", "postgres", "redis", "minio", "minio-init", "bedrock-emulator"} <= set(services)
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
        else:
            assert service["healthcheck"]["test"], name
    assert "/healthz" in services["web"]["healthcheck"]["test"][-1]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert "/healthcheck" in services["flower"]["healthcheck"]["test"][-1]
    init = services["minio-init"]["command"][0]
    assert "mc mb --ignore-existing" in init and "mc version enable" in init


def test_third_party_images_are_pinned():
    services = compose()["services"]

    for name, service in services.items():
        image = service["image"]
        if image.startswith("atelier:"):
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: pin {image} to a release"
        assert any(char.isdigit() for char in tag), f"{name}: {image} names no version"


def test_the_emulator_runs_only_in_its_profile_and_is_chosen_by_the_endpoint_setting():
    services = compose()["services"]
    emulator = services["bedrock-emulator"]

    assert emulator["profiles"] == ["emulator"]
    assert emulator["command"].startswith("python -m generation.emulator --host 0.0.0.0 --port 8900")
    assert emulator["image"] == services["web"]["image"]
    # Amazon Bedrock unless the operator points the endpoint at the emulator.
    assert services["web"]["environment"]["ATELIER_BEDROCK_ENDPOINT_URL"] == "${ATELIER_BEDROCK_ENDPOINT_URL:-}"
    assert "http://bedrock-emulator:8900" in ENV_EXAMPLE.read_text()


def documented_names() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


def test_every_compose_variable_and_every_setting_production_reads_is_in_the_env_example():
    compose_names = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]+)", COMPOSE_PATH.read_text()))
    settings_code = "\n".join(
        p.read_text() for p in (ROOT / "config" / "settings").glob("*.py") if p.name != "local.py"
    )
    settings_names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_code))

    assert {"DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "ATELIER_METRICS_TOKEN"} <= compose_names | settings_names
    missing = sorted((compose_names | settings_names) - documented_names())
    assert not missing, f"document these in deploy/atelier.env.example: {missing}"


def test_compose_config_validates_where_compose_is_installed(tmp_path):
    """`docker compose config` (or docker-compose) where it exists; this machine has neither, and the
    structural tests above stand in for it."""
    import shutil

    candidates = []
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        candidates.append(["docker", "compose"])
    if not candidates:
        return
    env_file = tmp_path / "test.env"
    env_file.write_text(
        "".join(f"{name}=x\n" for name in ("DJANGO_SECRET_KEY", "AWS_S3_ACCESS_KEY_ID", "AWS_S3_SECRET_ACCESS_KEY",
                                            "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "FLOWER_BASIC_AUTH"))
    )  # fmt: skip
    for command in candidates:
        result = subprocess.run(
            [*command, "-f", str(COMPOSE_PATH), "--env-file", str(env_file), "--profile", "emulator", "config", "-q"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr


def test_gunicorn_logs_json_lines_with_request_ids(db, tmp_path):
    """The image's command (gunicorn with deploy/gunicorn.conf.py, LOG_FORMAT=json): every line it writes is one
    JSON object, and a request's line carries the id it was given."""
    import json
    import urllib.request

    from .processes import free_port, production_web_argv, stop, test_database_url, wait_for

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))} | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": test_database_url(), "LOG_FORMAT": "json",
    }  # fmt: skip
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            production_web_argv(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def healthz():
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.headers["X-Request-ID"]
            except OSError:
                return server.poll() is not None and "exited"

        assert wait_for(healthz, 30, f"gunicorn\n{log_path.read_text()}") == "probe-1", log_path.read_text()
        wait_for(lambda: "probe-1" in log_path.read_text(), 5, "the request's log line")
    finally:
        stop(server)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]  # every line is JSON
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    [request] = [line for line in lines if line.get("request_id") == "probe-1"]
    assert (request["logger"], request["route"], request["status"]) == ("atelier.request", "/healthz", 200)


def test_every_environment_variable_the_code_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    code = "\n".join(p.read_text() for p in (ROOT / "config").rglob("*.py"))
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', code))

    assert names, "no env() reads found: the scan is broken"
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"document these in README.md: {missing}"


def test_every_middleware_runs_on_the_event_loop_under_asgi():
    """A sync-only middleware would put every request, and the async views waiting under it, on a thread."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    every = [*settings.MIDDLEWARE, "config.security.ContentSecurityPolicyMiddleware"]  # production adds the CSP's
    sync_only = [path for path in every if not getattr(import_string(path), "async_capable", False)]

    assert sync_only == []


def test_the_web_tier_serves_its_requests_from_a_few_pooled_connections(db, tmp_path):
    """Under ASGI each request's steps run on threads of their own and give their database connection back after
    each step. The web process pools them (config.database.pooled): twenty requests one after another are served
    by one or two PostgreSQL backends that stay open between requests, not by twenty started and ended."""
    import uuid

    import psycopg

    from .processes import free_port, http_ok, production_web_argv, stop, test_database_url, wait_for

    application_name = f"atelier-web-{uuid.uuid4().hex[:8]}"  # names this server's backends in pg_stat_activity
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))} | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"{test_database_url()}?application_name={application_name}",
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            production_web_argv(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def backends() -> set[int]:  # over a connection of its own: in a transaction the view is one snapshot
        with psycopg.connect(test_database_url(), autocommit=True) as admin:
            query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
            return {pid for (pid,) in admin.execute(query, [application_name]).fetchall()}

    try:
        url = f"http://127.0.0.1:{port}/healthz"  # its checks read the database
        wait_for(lambda: http_ok(url) or server.poll() is not None, 30, f"gunicorn\n{log_path.read_text()}")
        seen_between_requests = []
        for _ in range(20):
            assert http_ok(url), log_path.read_text()
            seen_between_requests.append(backends())
    finally:
        stop(server)
    assert all(seen_between_requests), "a pooled connection stays open between requests"
    assert len(set().union(*seen_between_requests)) <= 2, seen_between_requests
