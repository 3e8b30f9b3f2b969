"""Database settings that depend on the engine DATABASE_URL names."""

SQLITE_ENGINE = "django.db.backends.sqlite3"
SQLITE_BUSY_TIMEOUT_SECONDS = 30  # how long a SQLite writer waits for the one before it


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
