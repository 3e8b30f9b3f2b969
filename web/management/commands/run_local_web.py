"""The web server `make run` starts: uvicorn in-process serving Django under ASGI (config.asgi), as production's
gunicorn workers do, so a request waiting for its images holds no thread. Static files come from WhiteNoise's
middleware (async under ASGI, config.middleware.StaticFilesMiddleware). The listen backlog holds a burst of
clients: dozens of requests arriving at once are queued, not reset."""

import uvicorn
from django.core.management.base import BaseCommand, CommandError

LISTEN_BACKLOG = 256


class Command(BaseCommand):
    help = "Serve Atelier under ASGI with uvicorn (make run's web server, and the tests')."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="host:port or port")
        # Accepted for runserver's callers; uvicorn never reloads here.
        parser.add_argument("--noreload", action="store_true")

    def handle(self, *args, addrport: str, **options):
        host, _, port = addrport.rpartition(":")
        if not port.isdigit():
            raise CommandError(f"Give host:port or a port, not {addrport!r}.")
        uvicorn.run(
            "config.asgi:application", host=host or "127.0.0.1", port=int(port), backlog=LISTEN_BACKLOG,
            lifespan="off", access_log=False, log_config=None, timeout_graceful_shutdown=5,
        )  # fmt: skip
