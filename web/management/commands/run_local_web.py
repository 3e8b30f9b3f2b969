"""The web server `make run` starts: runserver as INSTALLED_APPS makes it (WhiteNoise serves the static
files), listening with a backlog that holds a burst of clients. runserver's own backlog of 10 resets
the connections of the rest when dozens of requests arrive at once."""

from django.core.servers.basehttp import WSGIServer
from whitenoise.runserver_nostatic.management.commands.runserver import Command as RunserverCommand

LISTEN_BACKLOG = 256


class BurstTolerantWSGIServer(WSGIServer):
    request_queue_size = LISTEN_BACKLOG


class Command(RunserverCommand):
    help = "runserver with a listen backlog for bursts of concurrent clients (make run's web server)."
    server_cls = BurstTolerantWSGIServer
