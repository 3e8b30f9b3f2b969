"""Whatever settings module runs on SQLite — `make run`'s local settings, or production pointed at a
SQLite file — its connections are in WAL mode, begin IMMEDIATE transactions and wait for a busy
writer (config/database.py); PostgreSQL is left as it is."""

import json
import os
import subprocess
import sys

import pytest

from config.database import SQLITE_BUSY_TIMEOUT_SECONDS, sqlite_for_concurrent_writers

from .processes import ROOT
from .test_deployment import PRODUCTION_ENV

CONNECTION_PROBE = r"""
import json
import django

django.setup()
from django.db import connection

with connection.cursor() as cursor:
    journal_mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    busy_timeout_ms = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
print(json.dumps({"journal_mode": journal_mode, "synchronous": synchronous, "busy_timeout_ms": busy_timeout_ms,
                  "transaction_mode": connection.transaction_mode}))
"""
SYNCHRONOUS_NORMAL = 1


def sqlite_connection(tmp_path, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", CONNECTION_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=base | {"ATELIER_VAR_DIR": str(tmp_path)} | env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"DJANGO_SETTINGS_MODULE": "config.settings.local"}, id="make-run-default"),
        pytest.param(PRODUCTION_ENV | {"DATABASE_URL": "sqlite:///{tmp_path}/production.sqlite3"}, id="production"),
    ],
)
def test_a_sqlite_connection_uses_wal_immediate_transactions_and_a_busy_timeout(env, tmp_path):
    env = {name: value.format(tmp_path=tmp_path) for name, value in env.items()}

    connection = sqlite_connection(tmp_path, **env)

    assert connection == {
        "journal_mode": "wal",
        "synchronous": SYNCHRONOUS_NORMAL,
        "busy_timeout_ms": SQLITE_BUSY_TIMEOUT_SECONDS * 1000,
        "transaction_mode": "IMMEDIATE",
    }


def test_options_in_the_database_url_win():
    import environ

    database = sqlite_for_concurrent_writers(environ.Env.db_url_config("sqlite:////tmp/a.sqlite3?timeout=90"))

    assert database["OPTIONS"]["timeout"] == 90
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_postgresql_is_left_as_it_is():
    import environ

    database = environ.Env.db_url_config("postgres://postgres@127.0.0.1:5432/atelier")

    assert sqlite_for_concurrent_writers(database) == database
