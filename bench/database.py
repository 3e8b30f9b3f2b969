"""What the benchmarks share: a migrated PostgreSQL database of their own and an empty Redis db."""


def database_ready(database: str, redis_url: str, fresh: bool = False) -> None:
    """Create `database` if missing (`fresh`: dropped first, for a run whose files live only as long as it does),
    set Django up (DJANGO_SETTINGS_MODULE and DATABASE_URL already in the environment), migrate it and flush the
    Redis db at `redis_url`."""
    import psycopg

    with psycopg.connect("postgres://postgres:postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        if fresh:
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            connection.execute(f"CREATE DATABASE {database}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
