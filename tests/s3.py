"""S3 for the tests: moto's server as its own process over real HTTP, settings that point
django-storages at it, and a TCP proxy that can make it unreachable for a while.

Note: moto 5.2.5 does not check presigned-URL signatures or expiry (any X-Amz-Signature is
served); it does refuse an unsigned GET of a private object with 403."""

import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3
from botocore.config import Config

from .processes import free_port, start_server

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"  # moto accepts any credentials
SECRET_ACCESS_KEY = "testing"


def start_moto(log_path: Path) -> tuple[str, subprocess.Popen]:
    """`python -m moto.server` on a free loopback port: (endpoint URL, process)."""
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p"]
    return start_server(argv, log_path, "/moto-api/", "the moto server")


def s3_client(endpoint_url: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(signature_version="s3v4"),
    )


def make_bucket(endpoint_url: str, name: str) -> None:
    s3_client(endpoint_url).create_bucket(Bucket=name)


def s3_settings(settings, endpoint_url: str, bucket: str, **overrides):
    """Switch a pytest-django `settings` fixture to S3 on `endpoint_url` (the deployment's S3Storage, from
    config.storages). STORAGES is set
    last: its setting_changed signal drops the cached `default_storage`, and the next use builds
    an S3Storage that reads the AWS_* values set just before."""
    settings.ATELIER_STORAGE = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = endpoint_url
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID
    settings.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_QUERYSTRING_AUTH = True
    settings.AWS_QUERYSTRING_EXPIRE = settings.ATELIER_DOWNLOAD_URL_TTL
    settings.AWS_S3_SIGNATURE_VERSION = "s3v4"
    settings.AWS_S3_FILE_OVERWRITE = True
    for name, value in overrides.items():
        setattr(settings, name, value)
    settings.STORAGES = settings.STORAGES | {"default": {"BACKEND": "config.storages.SharedSessionS3Storage"}}
    return settings


class FaultyProxy:
    """A TCP forwarder on a free loopback port in front of `target` (an http://host:port URL).
    `.down()` stops listening and drops every open connection, so clients get "connection
    refused" or a reset; `.up()` listens again on the same port. The server behind it keeps its
    state throughout."""

    def __init__(self, target: str):
        host, port = target.removeprefix("http://").rstrip("/").rsplit(":", 1)
        self._target = (host, int(port))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.up()

    def up(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            # create_server sets SO_REUSEADDR, so the port can be bound again right after down().
            self._listener = socket.create_server(("127.0.0.1", self.port))
            listener = self._listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, set()
        if listener is not None:
            _shut(listener)
        for sock in conns:
            _shut(sock)  # shutdown() wakes threads blocked in accept()/recv(); close() alone would not

    def close(self) -> None:
        self.down()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was shut down
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _shut(client)
                continue
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    _shut(client)
                    _shut(upstream)
                    return
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        # One side finished or was dropped: end both so the peer sees it at once.
        with self._lock:
            self._open.discard(source)
            self._open.discard(sink)
        _shut(source)
        _shut(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
