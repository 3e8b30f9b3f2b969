"""Production: everything that matters comes from the environment; nothing secret has a default."""

import environ

from .base import *
from .base import REDIS_URL, env

SECRET_KEY = env("DJANGO_SECRET_KEY")  # required: no default secret in production
DEBUG = False
DATABASES = {"default": env.db("DATABASE_URL")}  # required
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
if not CELERY_BROKER_URL:
    raise environ.ImproperlyConfigured("Set REDIS_URL or CELERY_BROKER_URL in production.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
