"""The pipeline's own cost, measured side by side in one run.

1. Platform: N single-image jobs through the REST API → Redis → 2 Celery workers → the emulator
   (0 ms latency) → storage. Measured two ways: end to end (the API takes the N POSTs while the
   workers run; on this 2-core machine the API process competes with them for the same cores),
   and as a backlog (the N jobs are submitted first, then the workers start: the pipeline alone).
2. Bare loop: the same N emulator calls and storage writes (image + thumbnail) in one loop, with
   no API, database, broker or quota (and, for reference, two such loops side by side).
   Reported: the throughputs, the backlog's ratio to the bare loop (target ≥ 0.7), and the
   platform's own milliseconds per image: a worker's time per image less the bare loop's
   (target < 30).
3. Quota: the model limited to R requests per minute, a backlog of N jobs: achieved rate / R
   (target ≥ 0.95, never above 1).
4. Latency (issue #16): the emulator answering each call after L ms (2000 by default, about real Bedrock's time
   for one image), a backlog of M jobs on ONE worker, as it ran before (prefork, 2 pool processes, stamps in
   them) and as it runs now (Celery's threads pool, T threads, stamps in the worker's stamp processes): images/s,
   the most calls in flight at the emulator, and the worker's peak RSS (its process, and with its children). A
   second threads run with 2 threads gives the memory each in-flight call adds beyond the first few
   (target ≤ 2 MB).

Needs PostgreSQL and Redis on localhost, like `make test`. Uses the database `atelier_bench`
(created if missing) and Redis db 14 (flushed).

    .venv/bin/python bench/pipeline.py                 # N = 1000, R = 1200 rpm
    .venv/bin/python bench/pipeline.py --jobs 200 --quota-rpm 600
    .venv/bin/python bench/pipeline.py --only-latency --latency-ms 2000 --latency-jobs 96 --threads 32
"""

import argparse
import hashlib
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL = "amazon.nova-canvas-v1:0"
SIZE = 320  # Nova's smallest side: keeps the emulator's share of the machine small
DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/atelier_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"


def prepare_environment(media_root: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        ATELIER_STORAGE="filesystem",
        ATELIER_MEDIA_ROOT=str(media_root),
        ATELIER_QUOTA_DEFAULT='{"rpm": 1000000, "concurrency": 100}',
        DJANGO_ALLOWED_HOSTS="testserver,localhost,127.0.0.1",
        ATELIER_API_RATE_PER_KEY="off",  # the bench measures the pipeline, not the API's rate limit
    )
    import psycopg

    with psycopg.connect("postgres://postgres:postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = 'atelier_bench'").fetchone():
            connection.execute("CREATE DATABASE atelier_bench")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def bench_tenant():
    from decimal import Decimal

    from billing.services import budget_set_tenant_monthly
    from tenants.models import Role, Tenant
    from tenants.services import api_key_create, tenant_create

    tenant = Tenant.objects.filter(slug="bench").first() or tenant_create(slug="bench", name="Bench")
    budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("1000000"), actor=None)
    return tenant, api_key_create(tenant=tenant, name=f"bench {time.time()}", role=Role.CREATOR, actor=None)[1]


def start_workers(tmp: Path, emulator_url: str, extra_env: dict) -> list:
    from tests.processes import WorkerHandle

    env = {"ATELIER_BEDROCK_ENDPOINT_URL": emulator_url, "DATABASE_URL": DATABASE_URL, **extra_env}
    return [WorkerHandle(tmp, env, name=f"bench{index}") for index in range(2)]


def submit(secret: str, jobs: int) -> list[str]:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"model": MODEL, "prompt": "a bench mark", "width": SIZE, "height": SIZE}
    ids = []
    for _ in range(jobs):
        response = client.post("/api/v1/tenants/bench/jobs/", body, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return ids


def wait_until_done(ids: list[str], label: str) -> None:
    from generation.models import GenerationJob

    while GenerationJob.objects.filter(pk__in=ids, status__in=GenerationJob.TERMINAL).count() < len(ids):
        time.sleep(0.05)
    succeeded = GenerationJob.objects.filter(pk__in=ids, status=GenerationJob.Status.SUCCEEDED).count()
    assert succeeded == len(ids), f"{label}: {len(ids) - succeeded} jobs did not succeed"


def run_end_to_end(secret: str, jobs: int, label: str) -> float:
    """Seconds from the first POST to the last job's end, the workers running throughout."""
    started = time.perf_counter()
    wait_until_done(submit(secret, jobs), label)
    return time.perf_counter() - started


def run_backlog(secret: str, jobs: int, tmp: Path, emulator_url: str, extra_env: dict) -> float:
    """Seconds for 2 running workers to end a backlog of N queued jobs (they stop consuming while
    the jobs are submitted, then resume: start-up time is not counted)."""
    from config.celery_app import app

    workers = start_workers(tmp, emulator_url, extra_env)
    try:
        names = [worker.node_name for worker in workers]
        app.control.cancel_consumer("interactive", destination=names, reply=True)
        ids = submit(secret, jobs)
        started = time.perf_counter()
        app.control.add_consumer("interactive", destination=names, reply=True)
        wait_until_done(ids, "backlog")
        return time.perf_counter() - started
    finally:
        for worker in workers:
            worker.stop()


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


class RssSampler:
    """The peak RSS of a worker's process, and of it with its children (pool or stamp processes), every 20 ms."""

    def __init__(self, pid: int):
        from tests.processes import pool_pids

        self.pid, self._children = pid, pool_pids
        self.peak_main_kb = self.peak_tree_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            main = _rss_kb(self.pid)
            tree = main + sum(_rss_kb(child) for child in self._children(self.pid))
            self.peak_main_kb, self.peak_tree_kb = max(self.peak_main_kb, main), max(self.peak_tree_kb, tree)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_latency(secret, jobs, tmp, emulator_url, emulator_control, *, latency_ms, pool, concurrency, stamps) -> dict:
    """A backlog of `jobs` on one worker (`pool`, `concurrency`, `stamps` stamp processes) against the emulator
    answering after `latency_ms`: images/s, the most calls in flight, the worker's peak RSS."""
    from config.celery_app import app
    from tests.processes import WorkerHandle

    env = {"ATELIER_BEDROCK_ENDPOINT_URL": emulator_url, "DATABASE_URL": DATABASE_URL, "ATELIER_WORKER_POOL": pool,
           "ATELIER_STAMP_PROCESSES": str(stamps)}  # fmt: skip
    worker = WorkerHandle(tmp, env, name=f"latency-{pool}-{concurrency}", extra_args=(f"--concurrency={concurrency}",))
    try:
        app.control.cancel_consumer("interactive", destination=[worker.node_name], reply=True)
        run_end_to_end(secret, 0, "nothing")  # the API warmed up before the clock starts
        ids = submit(secret, jobs)
        emulator_control.reset()
        emulator_control.configure(latency=[latency_ms / 1000, latency_ms / 1000])
        sampler = RssSampler(worker.process.pid)
        started = time.perf_counter()
        app.control.add_consumer("interactive", destination=[worker.node_name], reply=True)
        wait_until_done(ids, f"latency {pool} {concurrency}")
        seconds = time.perf_counter() - started
        sampler.stop()
        return {
            "pool": pool, "concurrency": concurrency, "stamps": stamps, "jobs": jobs, "seconds": seconds,
            "rate": jobs / seconds, "peak_in_flight": emulator_control.peak_in_flight(),
            "main_mb": sampler.peak_main_kb / 1024, "tree_mb": sampler.peak_tree_kb / 1024,
        }  # fmt: skip
    finally:
        emulator_control.reset()
        worker.stop()


def report_latency(runs: list[dict], latency_ms: int) -> None:
    before, after, small = runs
    print("| emulator latency | worker | jobs | images/s | most calls in flight | peak RSS worker process MB | "
          "peak RSS with children MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        stamps = f", {run['stamps']} stamp processes" if run["stamps"] else ", stamps inline"
        print(f"| {latency_ms} ms | {run['pool']} {run['concurrency']}{stamps} | {run['jobs']} | {run['rate']:.2f} | "
              f"{run['peak_in_flight']} | {run['main_mb']:.0f} | {run['tree_mb']:.0f} |")  # fmt: skip
    extra_calls = after["peak_in_flight"] - small["peak_in_flight"]
    per_call = (after["main_mb"] - small["main_mb"]) / extra_calls if extra_calls > 0 else float("nan")
    print()
    print(f"threads / prefork: {after['rate'] / before['rate']:.1f}x images/s; memory per in-flight call beyond the "
          f"first {small['peak_in_flight']}: {per_call:.2f} MB (target ≤ 2)")  # fmt: skip


def _bare_worker(args) -> None:
    """One of the bare loop's two processes: validate, call, parse, store — nothing else."""
    emulator_url, count, media_root, offset = args
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.test import override_settings

    from assets import storage
    from generation.bedrock import bodies
    from generation.bedrock.client import invoke, make_client
    from generation.bedrock.request import validate_request
    from generation.bedrock.specs import SPECS

    client = make_client(endpoint_url=emulator_url, read_timeout=60)
    spec = SPECS[MODEL]
    with override_settings(MEDIA_ROOT=media_root):
        for index in range(count):
            request = validate_request(spec, {"prompt": "a bench mark", "width": SIZE, "height": SIZE})
            request = request.with_seed(offset + index)
            response = invoke(client, MODEL, bodies.build_calls(request)[0])
            image = bodies.parse_response(spec.family, response.payload, requested=1).images[0]
            sha256 = hashlib.sha256(image).hexdigest()
            storage.put_object(f"bare/{sha256[:2]}/{sha256}.png", image, "image/png")
            storage.put_object(f"bare/thumbs/{sha256}.webp", storage.make_thumbnail(image), "image/webp")


def run_bare(emulator_url: str, jobs: int, media_root: Path, processes: int) -> float:
    """Seconds for `processes` bare loops to make N images between them."""
    shares = [
        (emulator_url, jobs // processes + (index < jobs % processes), str(media_root), index * 10**6)
        for index in range(processes)
    ]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_bare_worker, [(url, 1, media, offset + 10**7) for url, _, media, offset in shares])  # imports
        started = time.perf_counter()
        pool.map(_bare_worker, shares)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--quota-rpm", type=int, default=1200)
    parser.add_argument("--latency-ms", type=int, default=2000, help="the emulator's latency for the pool runs")
    parser.add_argument("--latency-jobs", type=int, default=96, help="jobs in each pool run's backlog")
    parser.add_argument("--threads", type=int, default=32, help="the threads pool's concurrency in the pool run")
    parser.add_argument("--only-latency", action="store_true", help="only the latency runs (section 4)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    prepare_environment(tmp / "media")
    from tests.processes import EmulatorControl, start_emulator, stop

    emulator_url, emulator = start_emulator(tmp / "emulator.log")
    tenant, secret = bench_tenant()
    emulator_control = EmulatorControl(emulator_url)
    if args.only_latency:
        try:
            report_latency(latency_runs(args, secret, tmp, emulator_url, emulator_control), args.latency_ms)
        finally:
            stop(emulator)
        return
    try:
        workers = start_workers(tmp, emulator_url, {})
        try:
            run_end_to_end(secret, 10, "warm-up")
            end_to_end_seconds = run_end_to_end(secret, args.jobs, "end to end")
        finally:
            for worker in workers:
                worker.stop()
        backlog_seconds = run_backlog(secret, args.jobs, tmp, emulator_url, {})
        bare_seconds = run_bare(emulator_url, args.jobs, tmp / "bare-media", processes=1)
        bare_pair_seconds = run_bare(emulator_url, args.jobs, tmp / "bare-media-2", processes=2)

        quota_env = {"ATELIER_QUOTA_OVERRIDES": f'{{"{MODEL}": {{"rpm": {args.quota_rpm}, "concurrency": 10}}}}'}
        emulator_control.reset()
        run_backlog(secret, args.jobs, tmp, emulator_url, quota_env)
        calls = sorted(call["at"] for call in emulator_control.calls(MODEL) if call["status"] == 200)
        latency = latency_runs(args, secret, tmp, emulator_url, emulator_control)
    finally:
        stop(emulator)

    end_to_end_rate, backlog_rate, bare_rate, bare_pair_rate = (
        args.jobs / t for t in (end_to_end_seconds, backlog_seconds, bare_seconds, bare_pair_seconds)
    )
    # A worker's time per image, less what the bare loop needs for the same image.
    own_ms = (2 * backlog_seconds - bare_seconds) / args.jobs * 1000
    limit_per_second = args.quota_rpm / 60
    achieved = (len(calls) - 1) / (calls[-1] - calls[0])
    worst_minute = max(sum(1 for t in calls if start <= t < start + 60) for start in calls)
    print(
        "| jobs | end to end images/s | backlog images/s | bare loop images/s | backlog / bare loop | "
        "platform's own ms/image | bare loops ×2 images/s | backlog / bare ×2 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.jobs} | {end_to_end_rate:.1f} | {backlog_rate:.1f} | {bare_rate:.1f} | "
        f"{backlog_rate / bare_rate:.2f} | {own_ms:.1f} | {bare_pair_rate:.1f} | {backlog_rate / bare_pair_rate:.2f} |"
    )
    print()
    print("| quota rpm | backlog | achieved calls/min | achieved / limit | most calls in any 60 s |")
    print("|---|---|---|---|---|")
    print(
        f"| {args.quota_rpm} | {args.jobs} | {achieved * 60:.0f} | {achieved / limit_per_second:.3f} | "
        f"{worst_minute} (limit {args.quota_rpm}) |"
    )
    print()
    report_latency(latency, args.latency_ms)


def latency_runs(args, secret, tmp, emulator_url, emulator_control) -> list[dict]:
    """Before (prefork, 2 processes, stamps inline), now (threads), and now with 2 threads (the memory baseline)."""
    cores = os.cpu_count() or 1
    common = {"latency_ms": args.latency_ms}
    return [
        run_latency(secret, args.latency_jobs, tmp, emulator_url, emulator_control, pool="prefork", concurrency=2,
                    stamps=0, **common),
        run_latency(secret, args.latency_jobs, tmp, emulator_url, emulator_control, pool="threads",
                    concurrency=args.threads, stamps=cores, **common),
        run_latency(secret, 8, tmp, emulator_url, emulator_control, pool="threads", concurrency=2, stamps=cores,
                    **common),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
