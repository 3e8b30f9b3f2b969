"""The web tier's application (gunicorn with uvicorn workers, and `make run`): Django under ASGI, so a request
that waits for a job (/v1/images, the studio's job stream) waits on the event loop and holds no worker."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Under ASGI a request's sync work runs on a thread of its own: a connection kept past the request would never be
# used again, so none is kept (Django's advice for async servers). On production settings the process shares a
# pool of them instead (config.database.pooled): a step takes one and gives it back.
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
os.environ.setdefault("DATABASE_POOL", "true")

from django.core.asgi import get_asgi_application

application = get_asgi_application()
