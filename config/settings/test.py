"""`make test`: real PostgreSQL and Redis on localhost (override with DATABASE_URL, REDIS_URL)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/atelier")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *
from .base import REST_FRAMEWORK, STORAGES, env

SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-not-secret")
DEBUG = False
# Hashing strength is not under test; speed is.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = STORAGES | {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

# Serve static files from the finders: no collectstatic needed for the tests.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# The tenant API speaks JSON: the test client sends it unless a test asks for multipart (uploads).
REST_FRAMEWORK = {**REST_FRAMEWORK, "TEST_REQUEST_DEFAULT_FORMAT": "json"}

# The /v1 tests were written against Nova Canvas's fields (edits, styles, premium, background removal), so a request
# there without `model` keeps using it; the shipped default (base.py) is an Active model.
ATELIER_OPENAI_DEFAULT_MODEL = "amazon.nova-canvas-v1:0"

# Stamps run inline in this process (tests change settings at run time; a stamp process would not see it). The tests'
# worker processes run them in a pool (tests/conftest.py worker_env).
ATELIER_STAMP_PROCESSES = env.int("ATELIER_STAMP_PROCESSES", default=0)
