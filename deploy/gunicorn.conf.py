"""gunicorn's settings for the image: `gunicorn -c deploy/gunicorn.conf.py config.asgi`. Each worker is a uvicorn
event loop serving Django under ASGI, so a request waiting for its images (/v1/images, the studio's job stream) holds
no worker: one process serves many of them. Workers come from WEB_CONCURRENCY (gunicorn's own variable; 2 unless
set). gunicorn's messages go through Atelier's log configuration, so
with LOG_FORMAT=json every line on stderr is one JSON object; the access log is Atelier's own
(`atelier.request`, with request ids), so gunicorn's is off."""

import os

from config.logging import logging_config

bind = "0.0.0.0:8000"
worker_class = "uvicorn_worker.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A uvicorn worker that misses its heartbeat this long is restarted. Requests that wait (up to
# ATELIER_OPENAI_WAIT_SECONDS) wait on the event loop and do not hold it up.
timeout = 60
accesslog = None

logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT", "json"), level=os.environ.get("LOG_LEVEL", "INFO")
)
logconfig_dict["loggers"] |= {
    "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    "gunicorn.access": {"handlers": [], "propagate": False},
}
