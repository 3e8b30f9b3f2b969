"""Load: the REST API as production serves it (gunicorn, 4 uvicorn workers under ASGI, loopback) at rising
concurrency.

1. Seeds (once; later runs reuse it) the database `atelier_bench_load` with 50 tenants × 2000 generated
   images (100k assets, each with its job; every third with a parent, every other in review with its
   review rows), a creator per tenant, a budget far above what the run spends; each run makes one fresh
   creator API key per tenant.
2. Starts the image's web command (`gunicorn -c deploy/gunicorn.conf.py config.asgi`, tests.processes) with 4
   workers on the production settings (DEBUG off, each process's database connections pooled, the filesystem
   storage, whose download links are signed locally; HTTPS redirect off on
   loopback; the per-key request rate off, since the bench measures the server, not the limiter).
3. For each concurrency level, a bounded asyncio client (one connection per request) sends N requests of each
   kind, to a random tenant with that tenant's key:
   - asset list: GET /api/v1/tenants/{slug}/assets/?page_size=50, the first cursor page (50 images);
   - job submit: POST /api/v1/tenants/{slug}/jobs/, one 320² Nova Canvas image. The budget is reserved
     (ledger entry, budget rows locked) and the job enqueued on Redis db 13, where no worker takes it:
     this measures the API's submit path, not image generation (bench/pipeline.py does that).
   Reported per level: requests, errors (any answer but 200/201, or no answer), throughput, p50/p95/p99.
4. The raw SQL of the same asset-list page: the statements the view runs (captured in-process with
   CaptureQueriesContext, one tenant after another), then timed with psycopg directly, per page (all its
   statements) and for the page's asset query alone: p50/p95, beside the HTTP p95.

Needs PostgreSQL and Redis on localhost, like `make test`. Uses the database `atelier_bench_load`
(created and seeded if missing) and Redis db 13 (flushed).

    .venv/bin/python bench/load.py                                 # levels 1,4,16,32; 500 requests each
    .venv/bin/python bench/load.py --requests 2000 --levels 1,8,32,64
    .venv/bin/python bench/load.py --reseed                        # drop the seeded rows and seed again
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "atelier_bench_load"
DATABASE_URL = f"postgres://postgres:postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/13"
TENANTS = 50
ASSETS_PER_TENANT = 2000
SEED_CHUNK = 500  # rows per bulk insert: a GenerationJob has ~35 columns, PostgreSQL takes 65535 parameters
PAGE_SIZE = 50
WORKERS = 4
MODEL = "amazon.nova-canvas-v1:0"
JOB_BODY = {"model": MODEL, "prompt": "a lamp on a desk, load test", "width": 320, "height": 320}


def server_environment(media_root: Path) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "bench-load-not-secret",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "ATELIER_STORAGE": "filesystem",
        "ATELIER_MEDIA_ROOT": str(media_root),
        "DJANGO_STATIC_ROOT": str(media_root.parent / "static"),  # the API serves no static file; whitenoise wants one
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "False",  # plain HTTP on loopback
        "ATELIER_API_RATE_PER_KEY": "off",
        "ATELIER_API_RATE_PER_USER": "off",
        "LOG_LEVEL": "WARNING",
    }


def prepare_environment(media_root: Path) -> None:
    os.environ.update(server_environment(media_root))
    (media_root.parent / "static").mkdir(parents=True, exist_ok=True)
    from bench.database import database_ready

    database_ready(DATABASE, REDIS_URL)


def seed(reseed: bool) -> list:
    """The 50 tenants with their images (made once), each with a fresh creator key: [(slug, secret)]."""
    from decimal import Decimal

    from django.db import transaction

    from assets.models import Asset
    from billing.services import budget_set_tenant_monthly
    from tenants.models import Membership, Role, Tenant
    from tenants.services import api_key_create, tenant_create, user_get_or_create_by_email
    from tests.assets.test_asset_list_queries import bulk_assets

    slugs = [f"load-{number:02d}" for number in range(TENANTS)]
    if reseed:
        _drop_seeded_rows(slugs)
    keys = []
    for slug in slugs:
        tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(slug=slug, name=f"Load {slug[-2:]}")
        creator, _ = user_get_or_create_by_email(email=f"creator@{slug}.test")
        Membership.objects.get_or_create(tenant=tenant, user=creator, defaults={"role": Role.CREATOR})
        budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("10000000"), actor=None)
        have = Asset.objects.filter(tenant=tenant).count()
        if have < ASSETS_PER_TENANT:
            started = time.perf_counter()
            with transaction.atomic():
                for start in range(have, ASSETS_PER_TENANT, SEED_CHUNK):
                    bulk_assets(tenant, min(SEED_CHUNK, ASSETS_PER_TENANT - start), creators=[creator])
            print(f"seeded {slug}: {ASSETS_PER_TENANT - have} images in {time.perf_counter() - started:.1f} s")
        keys.append((slug, api_key_create(tenant=tenant, name=f"load {time.time():.0f}", role=Role.CREATOR,
                                          actor=None)[1]))  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return keys


def _drop_seeded_rows(slugs: list[str]) -> None:
    from assets.models import Asset, Review

    Review.objects.filter(asset__tenant__slug__in=slugs).delete()
    links = Asset.parents.through.objects
    links.filter(from_asset__tenant__slug__in=slugs).delete()
    links.filter(to_asset__tenant__slug__in=slugs).delete()
    Asset.objects.filter(tenant__slug__in=slugs).delete()


# --- the server ---------------------------------------------------------------------------------


def start_gunicorn(tmp: Path, media_root: Path) -> tuple[str, subprocess.Popen]:
    from tests.processes import free_port, http_ok, production_web_argv, stop, wait_for

    port = free_port()
    log = (tmp / "gunicorn.log").open("w")
    process = subprocess.Popen(
        production_web_argv(port, workers=WORKERS), cwd=ROOT, env=os.environ | server_environment(media_root),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(f"{url}/healthz") or process.poll() is not None, 60, "gunicorn")
    except AssertionError:
        stop(process)
        raise
    if process.poll() is not None:
        raise SystemExit(f"gunicorn exited: {(tmp / 'gunicorn.log').read_text()}")
    return url, process


# --- the client ---------------------------------------------------------------------------------


async def http_request(port: int, method: str, path: str, secret: str, body: bytes = b"") -> int:
    """One request on its own connection: the answer's status (its body is read to the end)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {secret}\r\n"
            f"Accept: application/json\r\nConnection: close\r\n"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # to the end: the server closes the connection after the answer
        return int(status_line.split()[1])
    finally:
        writer.close()


async def run_level(port: int, keys: list, kind: str, concurrency: int, requests: int) -> dict:
    """`requests` requests of one kind from `concurrency` clients in parallel."""
    pick = random.Random(concurrency).choice  # noqa: S311 -- which tenant to ask for, not a secret
    body = json.dumps(JOB_BODY).encode()
    latencies, errors, statuses = [], 0, {}
    remaining = iter(range(requests))

    async def client():
        nonlocal errors
        for _ in remaining:
            slug, secret = pick(keys)
            started = time.perf_counter()
            try:
                if kind == "asset list":
                    status = await http_request(port, "GET", f"/api/v1/tenants/{slug}/assets/?page_size={PAGE_SIZE}",
                                                secret)  # fmt: skip
                else:
                    status = await http_request(port, "POST", f"/api/v1/tenants/{slug}/jobs/", secret, body)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status not in (200, 201):
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "kind": kind, "concurrency": concurrency, "requests": requests, "errors": errors, "statuses": statuses,
        "rps": requests / seconds, **percentiles(latencies),
    }  # fmt: skip


def percentiles(seconds: list[float]) -> dict:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


# --- the raw SQL of the same page ---------------------------------------------------------------


def asset_list_sql(keys: list) -> list[list[str]]:
    """Per tenant, the SELECTs the asset-list view runs for the first page, as sent to PostgreSQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    pages = []
    for slug, secret in keys:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/tenants/{slug}/assets/", {"page_size": PAGE_SIZE})
        assert response.status_code == 200 and len(response.json()["results"]) == PAGE_SIZE, response.content[:300]
        pages.append([query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")])
    return pages


def time_sql(pages: list[list[str]], rounds: int) -> dict:
    """Each page's statements run as they are with psycopg, one connection, `rounds` times over the tenants:
    the time per page (all its statements, rows fetched) and for its asset query alone."""
    import psycopg

    whole, assets_only = [], []
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        for round_number in range(rounds + 1):
            for statements in pages:
                page_started = time.perf_counter()
                for statement in statements:
                    started = time.perf_counter()
                    connection.execute(statement).fetchall()
                    if round_number and 'FROM "assets_asset"' in statement and "LIMIT" in statement:
                        assets_only.append(time.perf_counter() - started)
                if round_number:  # the first round warms the cache and is not counted
                    whole.append(time.perf_counter() - page_started)
    return {"page": percentiles(whole), "asset query": percentiles(assets_only)}


# --- the run ------------------------------------------------------------------------------------


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")  # fmt: skip
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{os.cpu_count()} cores ({model}), {memory_kib / 2**20:.0f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="requests per kind and level")
    parser.add_argument("--levels", default="1,4,16,32", help="concurrency levels, comma-separated")
    parser.add_argument("--sql-rounds", type=int, default=10, help="times each tenant's page SQL is timed")
    parser.add_argument("--reseed", action="store_true", help="delete the seeded images and make them again")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="atelier-bench-load-"))
    media_root = tmp / "media"
    prepare_environment(media_root)
    keys = seed(args.reseed)
    from assets.models import Asset
    from generation.models import GenerationJob

    total_assets = Asset.objects.count()
    jobs_before = GenerationJob.objects.count()
    pages = asset_list_sql(keys)
    sql = time_sql(pages, args.sql_rounds)

    from tests.processes import stop

    url, server = start_gunicorn(tmp, media_root)
    port = int(url.rsplit(":", 1)[1])
    results = []
    try:
        for kind in ("asset list", "job submit"):
            asyncio.run(run_level(port, keys, kind, 4, 20))  # warm up every worker's connections and imports
            for level in levels:
                results.append(asyncio.run(run_level(port, keys, kind, level, args.requests)))
                print(f"{kind} ×{level}: done", file=sys.stderr)
    finally:
        stop(server)
    jobs_made = GenerationJob.objects.count() - jobs_before
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # the jobs' queued messages: no worker will take them

    print(f"\nMachine: {machine()}, {time.strftime('%Y-%m-%d')}. gunicorn {WORKERS} uvicorn workers (ASGI), production "
          f"settings; {total_assets} assets in the database, {TENANTS} tenants; {jobs_made} jobs submitted."
          "\n")  # fmt: skip
    print("| request | concurrency | requests | errors | requests/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for row in results:
        print(f"| {row['kind']} | {row['concurrency']} | {row['requests']} | {row['errors']} | {row['rps']:.1f} | "
              f"{row['p50']:.1f} | {row['p95']:.1f} | {row['p99']:.1f} |")  # fmt: skip
        if row["errors"]:
            print(f"|  | answers: {row['statuses']} | | | | | | |")
    listed = [row for row in results if row["kind"] == "asset list"]
    print(f"\nAsset list, first page of {PAGE_SIZE}: {len(pages[0])} SELECTs per page, raw SQL timed with psycopg "
          f"({args.sql_rounds} rounds × {TENANTS} tenants).\n")  # fmt: skip
    print("| what | p50 ms | p95 ms |")
    print("|---|---|---|")
    print(f"| raw SQL, the page's statements | {sql['page']['p50']:.2f} | {sql['page']['p95']:.2f} |")
    print(f"| raw SQL, the asset query alone | {sql['asset query']['p50']:.2f} | {sql['asset query']['p95']:.2f} |")
    for row in listed:
        print(f"| HTTP, concurrency {row['concurrency']} | {row['p50']:.1f} | {row['p95']:.1f} |")


if __name__ == "__main__":
    main()
