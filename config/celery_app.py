import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="atelier.ping")
def ping() -> str:
    """Answered by any live worker: used by health checks and the worker tests."""
    return "pong"
