"""The OpenAI-compatible API in its production shape, beside a bare boto3 loop, in one run.

For each emulator latency (0 and 2000 ms by default) and each number of clients (16 and 64):

1. Atelier: N requests `POST /v1/images/generations` (one 512² Titan image, `response_format: b64_json`)
   from that many concurrent clients, to the web tier and workers exactly as `docker-compose.yml` starts
   them — its `web`, `worker-interactive` and `worker-batch` commands with their default process counts —
   on production settings, PostgreSQL (database `atelier_bench_compat`), Redis (db 15) and local files.
   Each answer is the image: the job submitted, priced and reserved, the call made by a worker, the image
   watermarked, signed, stored and charged, and the web tier waiting for it.
2. Bare loop: the same N InvokeModel calls to the same emulator through boto3, from the same number of
   threads, each answer's image decoded from base64: what a client calling Bedrock directly would get.

Reported per configuration: requests/s, p50/p95 latency, errors, Atelier / bare, and the peak resident
memory of the web tier and of the workers (each process tree summed, sampled every 0.2 s). The emulator
runs as its own process; its latency is set through its test hook between configurations.

    .venv/bin/python bench/openai_compat.py                          # 0 and 2000 ms; 16 and 64 clients
    .venv/bin/python bench/openai_compat.py --latencies 2000 --clients 16 --requests 200
"""

import argparse
import asyncio
import base64
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "atelier_bench_compat"
DATABASE_URL = f"postgres://postgres:postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/15"
MODEL = "amazon.titan-image-generator-v1"
SIZE = 512
PROMPT = "a ceramic lamp on an oak table, bench"
SERVICES = ("web", "worker-interactive", "worker-batch")


def compose_commands(port: int) -> dict[str, list[str]]:
    """docker-compose.yml's command for each service, its ${VAR:-default}s at their defaults, the web
    server bound to loopback."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = {}
    for name in SERVICES:
        service = compose["services"][name]
        command = service["command"]
        environment = service.get("environment") or {}
        for key, value in environment.items():
            command = command.replace(f"${{{key}}}", str(value))  # e.g. WEB_CONCURRENCY set from its default

        def default(match):
            return os.environ.get(match.group(1)) or match.group(2)

        argv = shlex.split(re.sub(r"\$\{(\w+):-([^}]*)\}", default, command))
        # The image's `python`, `gunicorn` and `celery` are this virtualenv's.
        argv[0] = sys.executable if argv[0] == "python" else str(Path(sys.executable).parent / argv[0])
        commands[name] = argv
    web_env = compose["services"]["web"].get("environment") or {}
    workers = re.search(r"\$\{WEB_CONCURRENCY:-(\d+)\}", str(web_env.get("WEB_CONCURRENCY", "")))
    commands["web"] += ["--bind", f"127.0.0.1:{port}"]
    commands["web_concurrency"] = [os.environ.get("WEB_CONCURRENCY") or (workers.group(1) if workers else "1")]
    return commands


def server_environment(media_root: Path, emulator_url: str) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "bench-openai-compat-not-secret",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "ATELIER_STORAGE": "filesystem",
        "ATELIER_MEDIA_ROOT": str(media_root),
        "DJANGO_STATIC_ROOT": str(media_root.parent / "static"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "False",  # plain HTTP on loopback
        "ATELIER_BEDROCK_ENDPOINT_URL": emulator_url,
        "ATELIER_API_RATE_PER_KEY": "off",  # the bench measures the platform, not the limiter
        "ATELIER_API_RATE_PER_USER": "off",
        # Bedrock's own quota is the account's business; here the model may take every call at once.
        "ATELIER_QUOTA_DEFAULT": json.dumps({"rpm": 1_000_000, "concurrency": 1000}),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "plain",
    }


def prepare_database(environment: dict) -> None:
    os.environ.update(environment)
    Path(environment["DJANGO_STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)
    from bench.database import database_ready

    # Its files are in a temporary folder: rows of an earlier run would name images no longer there (and an
    # image identical to one of theirs would be taken as stored already).
    database_ready(DATABASE, REDIS_URL, fresh=True)


def bench_key() -> str:
    from decimal import Decimal

    from billing.services import budget_set_tenant_monthly
    from tenants.models import Role, Tenant
    from tenants.services import api_key_create, tenant_create

    tenant = Tenant.objects.filter(slug="bench-compat").first() or tenant_create(slug="bench-compat", name="Bench")
    budget_set_tenant_monthly(tenant=tenant, amount_usd=Decimal("10000000"), actor=None)
    return api_key_create(tenant=tenant, name=f"bench {time.time():.0f}", role=Role.CREATOR, actor=None)[1]


# --- processes and their memory -----------------------------------------------------------------


def start(argv: list[str], log_path: Path, environment: dict) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(argv, cwd=ROOT, env=os.environ | environment, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        process = int(fields["Pid"])
        children.setdefault(int(fields["PPid"]), []).append(process)
        rss[process] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total, stack = 0, [pid]
    while stack:
        process = stack.pop()
        total += rss.get(process, 0)
        stack += children.get(process, [])
    return total


class PeakMemory:
    """The peak of each group's summed resident memory, sampled every 0.2 s while it runs."""

    def __init__(self, groups: dict[str, list[subprocess.Popen]]):
        self.groups, self.peaks, self._stop = groups, dict.fromkeys(groups, 0), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.2):
            for name, processes in self.groups.items():
                self.peaks[name] = max(self.peaks[name], sum(tree_rss_bytes(p.pid) for p in processes))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- the two clients ----------------------------------------------------------------------------


def percentiles(seconds: list[float]) -> dict:
    if len(seconds) < 2:
        return {"p50": (seconds or [0])[0] * 1000, "p95": (seconds or [0])[0] * 1000}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000}


async def atelier_request(port: int, secret: str, body: bytes) -> int:
    """One /v1 request on its own connection; its status once the whole answer (the image) is read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
    try:
        writer.write(
            f"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {secret}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        status_line = await reader.readline()
        answer = await reader.read()
        status = int(status_line.split()[1])
        if status == 200 and b'"b64_json"' not in answer:
            return -1  # a 200 without the image is an error too
        return status
    finally:
        writer.close()


def run_atelier(port: int, secret: str, clients: int, requests: int) -> dict:
    body = json.dumps({"model": MODEL, "prompt": PROMPT, "size": f"{SIZE}x{SIZE}", "n": 1,
                       "response_format": "b64_json"}).encode()  # fmt: skip
    latencies, statuses = [], {}
    remaining = iter(range(requests))

    async def client():
        for _ in remaining:
            started = time.perf_counter()
            try:
                status = await atelier_request(port, secret, body)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as error:
                status = type(error).__name__
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    async def all_clients():
        await asyncio.gather(*(client() for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(all_clients())
    seconds = time.perf_counter() - started
    errors = sum(count for status, count in statuses.items() if status != 200)
    return {"rps": requests / seconds, "errors": errors, "statuses": statuses, **percentiles(latencies)}


def titan_body() -> bytes:
    return json.dumps({
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": PROMPT},
        "imageGenerationConfig": {"numberOfImages": 1, "width": SIZE, "height": SIZE, "cfgScale": 8.0,
                                  "quality": "standard"},
    }).encode()  # fmt: skip


def run_bare(emulator_url: str, clients: int, requests: int) -> dict:
    """The same calls from `clients` threads through one boto3 client (its pool as large)."""
    from generation.bedrock.client import make_client

    client = make_client(endpoint_url=emulator_url, read_timeout=120, max_pool_connections=clients)
    body = titan_body()

    def call(_):
        started = time.perf_counter()
        try:
            answer = client.invoke_model(modelId=MODEL, body=body, contentType="application/json",
                                         accept="application/json")  # fmt: skip
            base64.b64decode(json.loads(answer["body"].read())["images"][0])
            return time.perf_counter() - started, None
        except Exception as error:  # noqa: BLE001 — counted as an error, like Atelier's
            return time.perf_counter() - started, type(error).__name__

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(call, range(requests)))
    seconds = time.perf_counter() - started
    return {"rps": requests / seconds, "errors": sum(1 for _, error in results if error),
            **percentiles([latency for latency, _ in results])}  # fmt: skip


# --- the run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latencies", default="0,2000", help="emulator latencies in ms, comma-separated")
    parser.add_argument("--clients", default="16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--requests", type=int, default=0, help="requests per configuration (default: by latency)")
    args = parser.parse_args()
    import signal

    # Killed, it stops the servers it started as it would on an error: a worker left behind would consume the
    # next run's jobs on the same Redis db.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    latencies = [int(value) for value in args.latencies.split(",")]
    client_counts = [int(value) for value in args.clients.split(",")]

    from tests.processes import EmulatorControl, free_port, http_ok, stop, wait_for

    tmp = Path(tempfile.mkdtemp(prefix="atelier-bench-compat-"))
    emulator_port, web_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    environment = server_environment(tmp / "media", emulator_url)
    prepare_database(environment)
    secret = bench_key()
    commands = compose_commands(web_port)
    environment["WEB_CONCURRENCY"] = commands.pop("web_concurrency")[0]

    emulator = start([sys.executable, "-m", "generation.emulator", "--port", str(emulator_port)],
                     tmp / "emulator.log", environment)  # fmt: skip
    processes = {}
    control = EmulatorControl(emulator_url)
    results = []
    try:
        processes |= {name: start(argv, tmp / f"{name}.log", environment) for name, argv in commands.items()}
        wait_for(lambda: http_ok(f"{emulator_url}/emulator/config") or emulator.poll() is not None, 30, "emulator")
        wait_for(lambda: http_ok(f"http://127.0.0.1:{web_port}/healthz"), 60, (tmp / "web.log").read_text)
        time.sleep(3)  # the workers connect to the broker
        run_atelier(web_port, secret, 4, 8)  # warm up: imports, connections, key tables
        for latency_ms in latencies:
            control.configure(latency=[latency_ms / 1000, latency_ms / 1000])
            for clients in client_counts:
                requests = args.requests or (max(200, clients * 6) if latency_ms else 300)
                groups = {"web": [processes["web"]], "workers": [processes[n] for n in SERVICES[1:]]}
                with PeakMemory(groups) as memory:
                    atelier = run_atelier(web_port, secret, clients, requests)
                bare = run_bare(emulator_url, clients, requests)
                results.append({"latency": latency_ms, "clients": clients, "requests": requests, "atelier": atelier,
                                "bare": bare, "memory": dict(memory.peaks)})  # fmt: skip
                print(f"latency {latency_ms} ms, {clients} clients: atelier {atelier['rps']:.1f} req/s, "
                      f"bare {bare['rps']:.1f} req/s", file=sys.stderr)  # fmt: skip
    finally:
        for process in processes.values():
            stop(process)
        stop(emulator)

    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores. Processes as docker-compose.yml starts them "
          f"(WEB_CONCURRENCY={environment['WEB_CONCURRENCY']}):")  # fmt: skip
    for name in SERVICES:
        print(f"- {name}: `{shlex.join(commands[name])}`")
    print("\n| latency ms | clients | requests | Atelier req/s | bare req/s | Atelier / bare | Atelier p50 / p95 ms "
          "| bare p50 / p95 ms | errors (Atelier, bare) | peak MB web | peak MB workers |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        a, b, m = row["atelier"], row["bare"], row["memory"]
        print(f"| {row['latency']} | {row['clients']} | {row['requests']} | {a['rps']:.1f} | {b['rps']:.1f} | "
              f"{a['rps'] / b['rps']:.2f} | {a['p50']:.0f} / {a['p95']:.0f} | {b['p50']:.0f} / {b['p95']:.0f} | "
              f"{a['errors']}, {b['errors']} | {m['web'] / 2**20:.0f} | {m['workers'] / 2**20:.0f} |")  # fmt: skip
        if a["errors"]:
            print(f"|  | Atelier's answers: {a['statuses']} | | | | | | | | | |")
    slow = sorted((row for row in results if row["latency"]), key=lambda row: row["clients"])
    if len(slow) >= 2:
        low, high = slow[0], slow[-1]
        extra_calls = high["clients"] - low["clients"]
        per_call = sum(high["memory"].values()) - sum(low["memory"].values())
        print(f"\nMemory per in-flight call beyond the first, at {high['latency']} ms: "
              f"({high['clients']} clients − {low['clients']}) → {per_call / extra_calls / 2**20:.2f} MB per call "
              "(web + workers).")  # fmt: skip


if __name__ == "__main__":
    main()
