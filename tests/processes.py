"""Real processes for the tests: a Celery worker on the test database and Redis, and helpers to
wait for them."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The database pytest-django made, as a URL a child process can use."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


# A test worker is one process running its tasks in this many threads (the settings' `threads` pool), its stamps in
# the processes worker_env names; `--concurrency=N` in extra_args wins.
WORKER_THREADS = 8
WORKER_APPLICATION_NAME = "atelier-test-worker"  # its backends' name in pg_stat_activity


def start_worker(log_path: Path, *extra_args: str, env: dict | None = None) -> subprocess.Popen:
    env = (
        os.environ
        | {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"{test_database_url()}?application_name={WORKER_APPLICATION_NAME}&conn_health_checks=true",
        }
        | (env or {})
    )
    with log_path.open("a") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={WORKER_THREADS}",
                "--without-gossip",
                "--without-mingle",
                *extra_args,
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(argv: list[str], log_path: Path, health_path: str, what: str, env: dict | None = None):
    """Run `argv` (ending in its own --port flag) until `health_path` answers 200: (URL, process)."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*argv, str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(f"{url}{health_path}") or process.poll() is not None, 30, what)
    except AssertionError:
        stop(process)
        raise
    if process.poll() is not None:
        raise AssertionError(f"{what} exited: {log_path.read_text()}")
    return url, process


def production_web_argv(port: int, *, workers: int = 1) -> list[str]:
    """The web tier as the image runs it (docker-compose.yml's web command): gunicorn with deploy/gunicorn.conf.py,
    uvicorn workers serving config.asgi, on loopback."""
    return [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "config.asgi"]  # fmt: skip


def start_emulator(log_path: Path, *flags: str) -> tuple[str, subprocess.Popen]:
    """`python -m generation.emulator` on a free port, without Django settings: (URL, process)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    argv = [sys.executable, "-m", "generation.emulator", *flags, "--port"]
    return start_server(argv, log_path, "/health", "the emulator", env=env)


class WorkerHandle:
    """A Celery worker process the tests can kill -9 and start again."""

    def __init__(self, folder: Path, env: dict, name: str = "worker", extra_args: tuple[str, ...] = ()):
        self.log_path = folder / f"{name}.log"
        self.env = env
        self.name = name
        self.extra_args = extra_args  # e.g. ("--concurrency=4",): the last --concurrency given wins
        self.process = self._start()

    @property
    def node_name(self) -> str:
        return f"{self.name}-{os.getpid()}@{socket.gethostname()}"

    def _start(self) -> subprocess.Popen:
        from config.celery_app import app

        process = start_worker(
            self.log_path, f"--hostname={self.name}-{os.getpid()}@%h", *self.extra_args, env=self.env
        )
        # Ready when it answers a ping addressed to it.
        wait_for(
            lambda: process.poll() is not None or app.control.ping(destination=[self.node_name], timeout=0.5),
            60,
            f"the Celery worker\n{self.log_path.read_text()}",
        )
        if process.poll() is not None:
            raise AssertionError(f"the Celery worker exited:\n{self.log_path.read_text()}")
        return process

    def kill(self) -> None:
        """SIGKILL the worker and its pool, as a crash or an OOM kill would."""
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        if self.process.poll() is None:
            stop(self.process)
        self.process = self._start()

    def stop(self) -> None:
        stop(self.process)

    def wait_idle(self, timeout: float = 60) -> None:
        """Until the worker runs no task (or is down, or `timeout` passes): a transactional test's
        tables are truncated only once nothing writes to them, or the truncation deadlocks."""
        from config.celery_app import app

        def idle() -> bool:
            if self.process.poll() is not None:
                return True
            replies = app.control.inspect(destination=[self.node_name], timeout=1).active() or {}
            return bool(replies) and not any(replies.values())

        deadline = time.monotonic() + timeout
        while not idle() and time.monotonic() < deadline:
            time.sleep(0.2)


class EmulatorControl:
    """The emulator's test hooks over HTTP."""

    def __init__(self, url: str):
        self.url = url

    def _call(self, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("/emulator/reset", {})

    def configure(self, **changes) -> None:
        self._call("/emulator/config", changes)

    def lifecycle(self, changes: dict[str, str]) -> dict:
        """{model id: "LEGACY:2026-01-01:2026-06-30"}: what ListFoundationModels reports from now on."""
        return self._call("/emulator/lifecycle", changes)

    def calls(self, model: str | None = None) -> list[dict]:
        return [call for call in self._call("/emulator/calls")["calls"] if model in (None, call["model"])]

    def invocations(self) -> int:
        return self._call("/health")["invocations"]

    def peak_in_flight(self) -> int:
        """The most InvokeModel calls the emulator was answering at once since its last reset."""
        return self._call("/health")["peak_in_flight"]


def pool_pids(pid: int) -> list[int]:
    """The live child processes of `pid`, from /proc: a Celery worker's pool processes (prefork), or its stamp
    processes (assets/stamping.py) under the threads pool."""
    children = []
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:  # the process is gone
        return []
    for thread in threads:  # each thread's own children: a stamp process is started by whichever thread needs it
        try:
            children += [int(child) for child in (thread / "children").read_text().split()]
        except FileNotFoundError:  # that thread ended meanwhile
            continue
    return [child for child in children if _state(child) not in ("Z", None)]  # not the dead, not yet reaped


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


def kill_pool_process(worker: "WorkerHandle", choose=None) -> int:
    """SIGKILL one pool process of a worker (`choose` picks from the pids; the first by default), as
    the OOM killer would: the main process lives on, forks a new pool process, and hands the job
    back to the queue once it gives up waiting for its result. Returns the killed pid."""
    import signal

    pids = wait_for(lambda: pool_pids(worker.process.pid), 10, "the worker's pool processes", interval=0.02)
    pid = choose(pids) if choose else pids[0]
    os.kill(pid, signal.SIGKILL)
    return pid


def stamp_pids(worker: "WorkerHandle", busy: bool = False) -> list[int]:
    """A threads-pool worker's stamp processes (assets/stamping.py: spawned, so their command line says so; the
    resource tracker beside them is left out), only those running on a core now when `busy`."""
    pids = []
    for pid in pool_pids(worker.process.pid):
        try:
            spawned = b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if spawned and (not busy or _state(pid) == "R"):
            pids.append(pid)
    return pids


def kill_stamp_process(worker: "WorkerHandle", choose=None, timeout: float = 10) -> int:
    """SIGKILL a stamp process of a worker while it stamps (`choose` picks from the busy ones), as the OOM killer
    would: the stamps it held fail, and the worker runs them again on new stamp processes. Returns the pid."""
    import signal

    pids = wait_for(lambda: stamp_pids(worker, busy=True), timeout, "a busy stamp process", interval=0.005)
    pid = choose(pids) if choose else pids[0]
    os.kill(pid, signal.SIGKILL)
    return pid


class RedisServer:
    """A private `redis-server` on a free port, keeping nothing on disk, that a test may kill -9 and
    start again on the same port (the system Redis is shared, and never touched)."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.log_path = folder / f"redis-{self.port}.log"
        self.process = self._start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _start(self) -> subprocess.Popen:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not installed: the fault tests start their own Redis with it.")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with self.log_path.open("a") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: self.ping() or process.poll() is not None, 10, "the private redis-server")
        if process.poll() is not None:
            raise AssertionError(f"redis-server exited:\n{self.log_path.read_text()}")
        return process

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def restart(self) -> None:
        """kill -9 and start again on the same port: every queued and unacknowledged message is gone."""
        import signal

        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = self._start()

    def stop(self) -> None:
        stop(self.process)


# What `make run` must not inherit from the test run: it runs on its embedded defaults.
EMBEDDED_ONLY = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "ATELIER_STORAGE")


class LocalStack:
    """`manage.py run_local` (what `make run` starts) on embedded defaults, with its state under `var_dir`:
    SQLite, local files, the filesystem broker, one worker and the emulator."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.port, self.emulator_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_ONLY} | {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "ATELIER_VAR_DIR": str(var_dir),
            "ATELIER_EMULATOR_PORT": str(self.emulator_port),
        }
        self.log_path = var_dir / "run.log"

    def __enter__(self) -> "LocalStack":
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_local", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            # A fresh SQLite migrate takes ~45 s on a loaded 2-core machine: leave room.
            wait_for(lambda: http_ok(f"{self.base}/healthz"), 180, f"healthz at {self.base}")
        except AssertionError as error:
            self.__exit__()
            raise AssertionError(f"{error}\n{self.log_path.read_text()}") from None
        return self

    def printed(self, prefix: str) -> str:
        """The first line of the stack's output that starts with `prefix` (stripped)."""
        return next(line.strip() for line in self.log_path.read_text().splitlines() if line.strip().startswith(prefix))

    @property
    def api_key(self) -> str:
        return self.printed("API key:").split(": ", 1)[1]

    def __exit__(self, *exc_info) -> None:
        import signal

        self.process.send_signal(signal.SIGINT)  # Ctrl-C
        self.process.wait(timeout=30)
