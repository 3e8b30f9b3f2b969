"""`make run`: migrate, make sure the demo tenant exists, then run the web server, a Celery worker
and the local Bedrock emulator on the embedded defaults until Ctrl-C, which stops everything
this command started."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Atelier locally: web server, worker and Bedrock emulator on embedded defaults."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        base_url = f"http://{host}:{port}"
        call_command("create_demo", base_url=base_url, stdout=self.stdout)
        python = sys.executable
        commands = {
            "emulator": [python, "-m", "generation.emulator", "--port", str(settings.ATELIER_EMULATOR_PORT)],
            "web": [python, "manage.py", "run_local_web", f"{host}:{port}", "--noreload"],
            # The settings' pool: threads (ATELIER_WORKER_CONCURRENCY of them, writing to SQLite through the busy
            # timeout and IMMEDIATE transactions of config/database.py), stamps in ATELIER_STAMP_PROCESSES processes.
            "worker": [python, "-m", "celery", "-A", "config.celery_app", "worker", "--loglevel=INFO"],
        }
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                # Each child leads its own process group, so stopping it stops what it spawned too.
                children[name] = subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603 — fixed argv
            self.stdout.write(
                f"Atelier is running at {base_url}/ (web + worker; Bedrock emulator at "
                f"{settings.ATELIER_BEDROCK_ENDPOINT_URL}). Press Ctrl-C to stop."
            )
            self.stdout.flush()
            while not stopping:
                exited = [name for name, child in children.items() if child.poll() is not None]
                if exited:
                    self.stderr.write(f"{', '.join(exited)} exited; stopping the rest.")
                    break
                time.sleep(0.3)
        finally:
            _stop_all(children.values())
        self.stdout.write("Stopped.")


def _stop_all(children, grace_seconds: float = 10) -> None:
    for child in children:
        if child.poll() is None:
            _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:
        pass
