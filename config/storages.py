"""The S3 storage backend for threads. django-storages keeps one boto3 resource per thread (resources are not
thread-safe), each made from a new boto3 Session, and each Session loads and keeps its own copy of S3's service
model: about 12 MB per thread, which a worker running 32 jobs in threads would pay 32 times. Here every thread
still gets its own resource, made under a lock from one Session per storage, which holds the service model once
(measured: 16 more threads with a signed and an unsigned resource each add 6 MB, against 190 MB for the
signed ones alone)."""

import threading

from storages.backends.s3 import S3Storage


class SharedSessionS3Storage(S3Storage):
    _session_lock = threading.Lock()  # guards making resources from the shared Session (Sessions are not thread-safe)

    def _create_session(self):
        session = getattr(self, "_shared_session", None)
        if session is None:
            session = self._shared_session = super()._create_session()
        return session

    @property
    def connection(self):
        if getattr(self._connections, "connection", None) is None:
            with self._session_lock:
                return super().connection
        return self._connections.connection

    @property
    def unsigned_connection(self):
        if getattr(self._unsigned_connections, "connection", None) is None:
            with self._session_lock:
                return super().unsigned_connection
        return self._unsigned_connections.connection

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_shared_session", None)  # a copy (a pickled storage) makes its own
        return state
