"""Production is the same code pointed elsewhere by the environment: its settings refuse to start
without secrets, pass Django's deployment checks, and docker-compose.yml runs the one image."""

import os
import re
import subprocess
import sys

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


def test_production_passes_the_deployment_checks():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_compose_runs_web_worker_and_beat_from_one_django_service_definition():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    django_services = [services[name] for name in ("migrate", "web", "worker", "beat")]
    assert len({s["image"] for s in django_services}) == 1
    assert all(s["environment"] == services["web"]["environment"] for s in django_services)
    assert services["web"]["command"].startswith("gunicorn")
    assert "celery" in services["worker"]["command"] and "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_every_environment_variable_the_code_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    code = "\n".join(p.read_text() for p in (ROOT / "config").rglob("*.py"))
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', code))

    assert names, "no env() reads found: the scan is broken"
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"document these in README.md: {missing}"
