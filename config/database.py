"""Database settings that depend on the engine DATABASE_URL names."""

SQLITE_ENGINE = "django.db.backends.sqlite3"
SQLITE_BUSY_TIMEOUT_SECONDS = 30  # how long a SQLite writer waits for the one before it
POSTGRESQL_ENGINE = "django.db.backends.postgresql"
POOL_WAIT_SECONDS = 10  # a step that finds every pooled connection busy waits this long, then fails


def sqlite_for_concurrent_writers(database: dict) -> dict:
    """A SQLite database that the web server's threads and the worker write at once: WAL, so readers
    never wait for the writer; IMMEDIATE transactions, so a transaction takes the write lock when it
    begins (a deferred one that has read cannot take it while another writer holds it, and fails at
    once with "database is locked", whatever the timeout); and a busy timeout long enough for writers
    to queue. Options given in DATABASE_URL (`?timeout=60`) win. Other engines pass unchanged."""
    if database["ENGINE"] != SQLITE_ENGINE:
        return database
    options = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
    return database | {"OPTIONS": options | database.get("OPTIONS", {})}


def pooled(database: dict, *, max_size: int) -> dict:
    """A PostgreSQL database whose connections the process shares through psycopg's pool, for the ASGI web tier:
    there each request's steps run on threads of their own and give their connection back after each step
    (generation.job_events.released), which without a pool means a new PostgreSQL backend for every step. A
    connection is checked as it leaves the pool (CONN_HEALTH_CHECKS), so one the server dropped is replaced, not
    handed to a request. Pooling excludes persistent connections (CONN_MAX_AGE 0). Other engines pass unchanged."""
    if database["ENGINE"] != POSTGRESQL_ENGINE:
        return database
    pool = {"min_size": 1, "max_size": max_size, "timeout": POOL_WAIT_SECONDS}
    options = database.get("OPTIONS", {}) | {"pool": pool}
    return database | {"CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": True, "OPTIONS": options}
