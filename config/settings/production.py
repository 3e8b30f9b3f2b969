"""Production: everything that matters comes from the environment; nothing secret has a default."""

import os

import environ

os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")  # a worker keeps its connection from task to task

from .base import *
from .base import DATABASES, REDIS_URL, env, logging_config

SECRET_KEY = env("DJANGO_SECRET_KEY")  # required: no default secret in production
DEBUG = False
LOG_FORMAT = env("LOG_FORMAT", default="json")  # one JSON object per line for the log pipeline
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))
env("DATABASE_URL")  # required: base.py read it
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
if not CELERY_BROKER_URL:
    raise environ.ImproperlyConfigured("Set REDIS_URL or CELERY_BROKER_URL in production.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and Prometheus scrape over plain HTTP inside
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # the studio sends the token from the page (hx-headers), never reads the cookie

# Content-Security-Policy (config/security.py): scripts only from Atelier's own files, no inline handlers
# (tests/security/test_production_settings.py fails when a template gains one). Styles need 'unsafe-inline':
# style attributes (progress bars, swatches) and pygal's <style> in the inlined charts.


def _image_origins() -> list[str]:
    """Where the studio's <img> come from besides Atelier: the presigned URLs of the S3 store."""
    if ATELIER_STORAGE != "s3":
        return []
    if AWS_S3_ENDPOINT_URL:
        from urllib.parse import urlsplit

        endpoint = urlsplit(AWS_S3_ENDPOINT_URL)
        return [f"{endpoint.scheme}://{endpoint.netloc}", f"{endpoint.scheme}://*.{endpoint.netloc}"]
    return ["https://*.amazonaws.com"]


ATELIER_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        " ".join(["img-src 'self' data: blob:", *_image_origins()]),
        "worker-src 'self' blob:",  # Redoc (/api/redoc/) parses the schema in a worker
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [
    *MIDDLEWARE[:_after_security],
    "config.security.ContentSecurityPolicyMiddleware",
    *MIDDLEWARE[_after_security:],
]
# Swagger UI's start script is inline and holds the request's CSRF token, so no hash can allow it: /api/docs/
# alone (no tenant data on it, the schema is fetched from /api/schema/) also allows inline scripts.
ATELIER_CONTENT_SECURITY_POLICY_BY_PATH = {
    "/api/docs/": ATELIER_CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'", 1)
}
