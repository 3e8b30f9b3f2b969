"""Settings shared by every environment. Each value comes from the environment (django-environ);
defaults here are the safe embedded ones, and production.py removes those that must be given."""

import os
from pathlib import Path

import environ
from celery.utils.sysinfo import cpu_budget

from config.database import pooled, sqlite_for_concurrent_writers
from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# Where the embedded defaults keep their state (SQLite, files, the filesystem broker).
VAR_DIR = Path(env("ATELIER_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
# Earlier keys still accepted for signatures (sessions, password resets) while a rotation settles.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The largest valid JSON body: a variation's 5 input images of up to 5 MB each, base64 (4/3), with room to spare.
# Django's 2.5 MB default refused any image over ~1.9 MB sent as base64, with an HTML 400 naming no field.
DATA_UPLOAD_MAX_MEMORY_SIZE = 40 * 1024 * 1024

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files: no CDN at run time
    "django_htmx",
    "tenants",
    "billing",
    "generation",
    "assets",
    "web",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",  # first: every response, redirects included, carries its id
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.StaticFilesMiddleware",  # WhiteNoise, async under ASGI
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.parsers.RequestTextMiddleware",  # query and form text a database can store, or a 400
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.middleware.SignInPausedMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Every sign-in door (studio, admin, browsable API) authenticates through this one backend: it pauses guessing.
AUTHENTICATION_BACKENDS = ["tenants.authentication.ThrottledModelBackend"]

ROOT_URLCONF = "config.urls"
# The studio's sign-in; the APIs answer 401 instead.
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:start"
LOGOUT_REDIRECT_URL = "web:login"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"  # what gunicorn's uvicorn workers and `make run` serve

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database = env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'atelier.sqlite3'}")
DATABASES = {"default": sqlite_for_concurrent_writers(_database)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if "DATABASE_CONN_MAX_AGE" in os.environ:  # else DATABASE_URL's own ?conn_max_age=, if any
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE")
if env.bool("DATABASE_POOL", default=False):  # config.asgi turns it on for the web tier
    DATABASES["default"] = pooled(DATABASES["default"], max_size=env.int("DATABASE_POOL_MAX_SIZE", default=20))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("ATELIER_MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Files: S3 (or any S3 API) with ATELIER_STORAGE=s3, the local filesystem otherwise.
ATELIER_STORAGE = env("ATELIER_STORAGE", default="filesystem")
ATELIER_DOWNLOAD_URL_TTL = env.int("ATELIER_DOWNLOAD_URL_TTL", default=900)  # seconds a download link works
if ATELIER_STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    AWS_DEFAULT_ACL = None  # private bucket; downloads go through presigned URLs
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = ATELIER_DOWNLOAD_URL_TTL
    AWS_S3_FILE_OVERWRITE = True  # keys are content-addressed: the same key always holds the same bytes
    # django-storages S3Storage, with one boto3 Session for all threads (config/storages.py)
    _default_storage = {"BACKEND": "config.storages.SharedSessionS3Storage"}
elif ATELIER_STORAGE == "filesystem":
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise environ.ImproperlyConfigured(f"ATELIER_STORAGE must be 'filesystem' or 's3', not {ATELIER_STORAGE!r}.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Email (budget alerts, review notices): printed to the console unless EMAIL_URL names a server,
# e.g. smtp+tls://user:password@smtp.example.com:587.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Atelier <atelier@localhost>")

# Celery: Redis in production and tests; local.py swaps in a broker that needs no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: an anonymous call then answers 401 with a WWW-Authenticate header.
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "config.exception_handler.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON bounded in depth, with storable text (config/parsers.py); a view naming its parsers takes this one.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONBodyParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AtelierAutoSchema",
    # Per API key, and per signed-in person (config/throttling.py reads the rates below at each request).
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.ApiKeyRateThrottle", "config.throttling.UserRateThrottle"],
}

# Requests each API key (and each signed-in person) may make, as "<count>/<sec|min|hour|day>"; above it 429.
ATELIER_API_RATE_PER_KEY = env("ATELIER_API_RATE_PER_KEY", default="600/min")
ATELIER_API_RATE_PER_USER = env("ATELIER_API_RATE_PER_USER", default="600/min")
# Password guessing (config/throttling.py, tenants.authentication.ThrottledModelBackend): this many failed sign-ins
# for one account, or from one address, within the window pause sign-in there for ATELIER_SIGN_IN_PAUSE_SECONDS
# (429 at /accounts/login/, /admin/login/ and /api-auth/login/, the right password included). Counted in the cache.
ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT = env.int("ATELIER_SIGN_IN_FAILURES_PER_ACCOUNT", default=5)
ATELIER_SIGN_IN_FAILURES_PER_ADDRESS = env.int("ATELIER_SIGN_IN_FAILURES_PER_ADDRESS", default=20)
ATELIER_SIGN_IN_FAILURE_WINDOW_SECONDS = env.int("ATELIER_SIGN_IN_FAILURE_WINDOW_SECONDS", default=900)
ATELIER_SIGN_IN_PAUSE_SECONDS = env.int("ATELIER_SIGN_IN_PAUSE_SECONDS", default=900)
# Proxies in front of Atelier that append the caller's address to X-Forwarded-For (0: none; REMOTE_ADDR is the
# caller). Behind one TLS proxy set 1, or every sign-in would count against the proxy's own address.
ATELIER_TRUSTED_PROXY_COUNT = env.int("ATELIER_TRUSTED_PROXY_COUNT", default=0)
# How long an Idempotency-Key's stored answer is replayed (hours); later the key may be used again.
ATELIER_IDEMPOTENCY_KEY_TTL_HOURS = env.int("ATELIER_IDEMPOTENCY_KEY_TTL_HOURS", default=24)

SPECTACULAR_SETTINGS = {
    "TITLE": "Atelier API",
    "DESCRIPTION": (
        "Brand images with Amazon Bedrock, per tenant. Authenticate with `Authorization: Bearer <API key>` or a "
        "signed-in session (with its CSRF token for writes). Every error answers "
        '`{"error": {"code", "message", "fields"}}`. POSTs that create accept an `Idempotency-Key` header: the '
        "same key with the same body answers the first response again (`Idempotent-Replayed: true`); with "
        "another body, 409. Growing lists answer in cursor pages (`next`/`previous` links, `page_size`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1/tenants/\{tenant_slug\}|/api/v1",
    # No validator badge: Swagger UI would send the schema's URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.add_shared_components"],
    # Virtual try-on's three mask exclusions share one set of values: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"MaskExclusionEnum": "generation.bedrock.specs.TRY_ON_EXCLUSION_VALUES"},
}

# Logs on stderr, each record with its request, tenant and job ids (config/logging.py): `json` is one object per
# line for a log pipeline (the Docker image sets it), `plain` is for people.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))

# Prometheus (config/metrics.py): GET /metrics answers a bearer of this token, and is 404 without it. A worker
# serves its own metrics (Bedrock calls) on ATELIER_WORKER_METRICS_PORT when set.
ATELIER_METRICS_TOKEN = env("ATELIER_METRICS_TOKEN", default="")
ATELIER_WORKER_METRICS_PORT = env.int("ATELIER_WORKER_METRICS_PORT", default=0)

# Bedrock: AWS by default; an endpoint URL points the same client at the local emulator.
ATELIER_BEDROCK_ENDPOINT_URL = env("ATELIER_BEDROCK_ENDPOINT_URL", default="")
ATELIER_BEDROCK_REGION = env("ATELIER_BEDROCK_REGION", default="us-east-1")
ATELIER_BEDROCK_READ_TIMEOUT = env.int("ATELIER_BEDROCK_READ_TIMEOUT", default=300)

# The model the studio's composer and the demo tenant start on: an Active one (Titan G1 v2 reached end of life on
# 2026-06-30 and Nova Canvas is Legacy, CATALOG-2026.md §1).
ATELIER_DEFAULT_MODEL = env("ATELIER_DEFAULT_MODEL", default="stability.stable-image-core-v1:0")
# The OpenAI-compatible API (/v1/): the model a request without `model` uses, and how long a request waits for
# its images before answering 504 (the job keeps running). Keep it below the web server's request timeout.
ATELIER_OPENAI_DEFAULT_MODEL = env("ATELIER_OPENAI_DEFAULT_MODEL", default=ATELIER_DEFAULT_MODEL)
ATELIER_OPENAI_WAIT_SECONDS = env.float("ATELIER_OPENAI_WAIT_SECONDS", default=50.0)
# A waiter (/v1/images, the studio's job stream) hears a job's end and its images from Redis pub/sub (published on
# commit); it reads the row again at least this often all the same, so a lost message costs no more than this.
ATELIER_JOB_WAIT_FALLBACK_SECONDS = env.float("ATELIER_JOB_WAIT_FALLBACK_SECONDS", default=5.0)
# Whether job changes are published at all (off: waiters poll the row every ATELIER_JOB_WAIT_FALLBACK_SECONDS).
ATELIER_JOB_EVENTS_PUBLISH = env.bool("ATELIER_JOB_EVENTS_PUBLISH", default=True)

# The generation pipeline: queues, retries and each model's Bedrock quota.
ATELIER_JOB_MAX_ATTEMPTS = env.int("ATELIER_JOB_MAX_ATTEMPTS", default=6)
ATELIER_RETRY_BACKOFF_SECONDS = env.float("ATELIER_RETRY_BACKOFF_SECONDS", default=2.0)  # doubles per attempt
ATELIER_RETRY_BACKOFF_MAX_SECONDS = env.float("ATELIER_RETRY_BACKOFF_MAX_SECONDS", default=300.0)
ATELIER_MAX_BATCH_IMAGES = 200
# Images Bedrock's content filter withheld are not charged unless this says so.
ATELIER_CHARGE_FILTERED_IMAGES = env.bool("ATELIER_CHARGE_FILTERED_IMAGES", default=False)
ATELIER_QUOTA_DEFAULT = env.json("ATELIER_QUOTA_DEFAULT", default={"rpm": 100, "concurrency": 10})
# Per model: {"amazon.nova-canvas-v1:0": {"rpm": 200, "concurrency": 20}}
ATELIER_QUOTA_OVERRIDES = env.json("ATELIER_QUOTA_OVERRIDES", default={})
# A worker renews its calls' concurrency slots every third of this; one that dies gives them back within it.
ATELIER_QUOTA_LEASE_SECONDS = env.float("ATELIER_QUOTA_LEASE_SECONDS", default=30.0)

# Workers: a Bedrock call is seconds of waiting, so a worker process runs many at once in threads (Celery's
# `threads` pool; gevent/eventlet would monkey-patch psycopg and boto3), and hands the CPU-bound provenance stamp
# to a pool of ATELIER_STAMP_PROCESSES processes of its own (assets/stamping.py; 0: in the calling thread). Each
# running task holds one database connection (its job's claim is a session lock): PostgreSQL's max_connections
# must cover the sum of every worker's concurrency, plus the web server's. `--concurrency` and `-P` on a worker's
# command line win over these.
ATELIER_WORKER_POOL = env("ATELIER_WORKER_POOL", default="threads")
# Celery's Django fixup closes a task's database connection before and after every task unless this is set, so
# each task would start a PostgreSQL backend of its own. Set, the fixup leaves it open, and config.celery_app
# closes it as Django closes a request's: when it broke, or is older than CONN_MAX_AGE.
CELERY_DB_REUSE_MAX = 2**31
ATELIER_WORKER_CONCURRENCY = env.int("ATELIER_WORKER_CONCURRENCY", default=32)
# The cores this process may use: its CPU affinity, capped by a container's CPU quota (os.cpu_count() is the host's).
ATELIER_STAMP_PROCESSES = env.int("ATELIER_STAMP_PROCESSES", default=cpu_budget().count)
CELERY_WORKER_POOL = ATELIER_WORKER_POOL
CELERY_WORKER_CONCURRENCY = ATELIER_WORKER_CONCURRENCY

CELERY_TASK_ACKS_LATE = True  # a job's message is acknowledged only when its task ends
# A killed prefork pool process's job goes back on the queue (the threads pool has no pool process to lose: a
# killed worker's unacknowledged messages come back after the broker's visibility timeout).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# How long a worker waits for a result from a pool process that died before it hands the job back to the queue.
CELERY_WORKER_LOST_WAIT = env.float("ATELIER_WORKER_LOST_WAIT", default=10.0)
CELERY_TASK_DEFAULT_QUEUE = "interactive"
# A job may make up to five Bedrock calls, each allowed the full read timeout. Only the prefork pool enforces
# these; under threads the read timeout (and ATELIER_JOB_MAX_ATTEMPTS) bound a job.
CELERY_TASK_SOFT_TIME_LIMIT = ATELIER_BEDROCK_READ_TIMEOUT * 5 + 60
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
# Redis hands an unacknowledged message to another worker after this long: keep it above the time limit.
# Workers look for such messages every ATELIER_BROKER_RESTORE_INTERVAL seconds: a killed worker's
# job is picked up again within visibility timeout + interval.
# A job not ended, untouched this long, run by no worker and with no message in the broker lost its
# message (a broker restarted without persistence): beat's requeue_stalled_jobs enqueues it again.
ATELIER_REQUEUE_STALLED_AFTER_SECONDS = env.int("ATELIER_REQUEUE_STALLED_AFTER_SECONDS", default=120)
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-jobs": {"task": "generation.requeue_stalled_jobs", "schedule": 60.0},
    # The catalog follows Bedrock's lifecycle (Legacy, end of life) and inference profiles: generation/lifecycle.py.
    "catalog-sync": {"task": "generation.catalog_sync", "schedule": 24 * 60 * 60.0},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("ATELIER_BROKER_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60),
    "unacked_restore_interval": env.int("ATELIER_BROKER_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
    # A worker restoring them holds a Redis lock meanwhile; one killed -9 while holding it (kombu's default: 300 s)
    # kept every worker from restoring anything until it expired, and a job whose message sat unacknowledged stayed
    # queued (the stalled-job sweep counts such a message as in the broker). A pass takes milliseconds.
    "unacked_mutex_expire": env.int("ATELIER_BROKER_RESTORE_MUTEX_SECONDS", default=30),
}

# Provenance: every generated image carries Atelier's invisible watermark and a C2PA manifest signed with the
# platform's certificate (assets/provenance/). Without ATELIER_C2PA_CERT_PATH a development CA and signing
# certificate are made on first use under ATELIER_C2PA_DEV_DIR, and that CA is what checks trust.
ATELIER_C2PA_CERT_PATH = env("ATELIER_C2PA_CERT_PATH", default="")  # PEM: signing certificate, then intermediates
ATELIER_C2PA_KEY_PATH = env("ATELIER_C2PA_KEY_PATH", default="")  # its PEM private key (EC, RSA or Ed25519)
ATELIER_C2PA_TRUST_ANCHORS_PATH = env("ATELIER_C2PA_TRUST_ANCHORS_PATH", default="")  # PEM roots checks trust
ATELIER_C2PA_TSA_URL = env("ATELIER_C2PA_TSA_URL", default="")  # an RFC 3161 timestamp authority, asked at signing
ATELIER_C2PA_DEV_DIR = VAR_DIR / "c2pa"
# The detector of Bedrock's own watermark in provenance checks: "emulator" (the local emulator's mark), "off",
# or the dotted path of a class implementing assets.provenance.detectors.BedrockWatermarkProvider.
ATELIER_BEDROCK_WATERMARK_DETECTOR = env("ATELIER_BEDROCK_WATERMARK_DETECTOR", default="emulator")

# Webhooks (tenants/webhooks.py): deliveries go to public addresses only; name the networks (CIDR) a webhook may
# also reach, e.g. "127.0.0.0/8,::1/128" for a receiver on this machine. Cloud metadata addresses stay refused.
ATELIER_WEBHOOK_ALLOWED_NETWORKS = env.list("ATELIER_WEBHOOK_ALLOWED_NETWORKS", default=[])
ATELIER_WEBHOOK_TIMEOUT_SECONDS = env.float("ATELIER_WEBHOOK_TIMEOUT_SECONDS", default=10.0)  # connect, and each read
ATELIER_WEBHOOK_MAX_ATTEMPTS = env.int("ATELIER_WEBHOOK_MAX_ATTEMPTS", default=10)
ATELIER_WEBHOOK_BACKOFF_SECONDS = env.float("ATELIER_WEBHOOK_BACKOFF_SECONDS", default=30.0)  # doubles per attempt
ATELIER_WEBHOOK_BACKOFF_MAX_SECONDS = env.float("ATELIER_WEBHOOK_BACKOFF_MAX_SECONDS", default=900.0)
