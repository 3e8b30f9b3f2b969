"""gunicorn's settings for the image: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`. Workers come from
WEB_CONCURRENCY (gunicorn's own variable). gunicorn's messages go through Atelier's log configuration, so
with LOG_FORMAT=json every line on stderr is one JSON object; the access log is Atelier's own
(`atelier.request`, with request ids), so gunicorn's is off."""

import os

from config.logging import logging_config

bind = "0.0.0.0:8000"
# Keep it above ATELIER_OPENAI_WAIT_SECONDS (50): an OpenAI-compatible request may wait that long.
timeout = 60
accesslog = None

logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT", "json"), level=os.environ.get("LOG_LEVEL", "INFO")
)
logconfig_dict["loggers"] |= {
    "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    "gunicorn.access": {"handlers": [], "propagate": False},
}
