"""`make run`: embedded defaults, no server needed — SQLite, files under var/, and kombu's
filesystem transport as the Celery broker."""

from .base import *
from .base import ATELIER_STAMP_PROCESSES, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")

_broker_dir = VAR_DIR / "broker"
for _folder in (_broker_dir / "queue", _broker_dir / "processed", _broker_dir / "control"):
    _folder.mkdir(parents=True, exist_ok=True)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Producer and worker share one folder; processed messages are kept for inspection.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# `make run` starts the Bedrock emulator on this port and points Atelier at it.
ATELIER_EMULATOR_PORT = env.int("ATELIER_EMULATOR_PORT", default=8900)
ATELIER_BEDROCK_ENDPOINT_URL = env("ATELIER_BEDROCK_ENDPOINT_URL", default=f"http://127.0.0.1:{ATELIER_EMULATOR_PORT}")

# One person's images: two stamp processes are plenty (each is a Python with Django and the imaging libraries,
# about 150 MB), however many cores the laptop has.
ATELIER_STAMP_PROCESSES = env.int("ATELIER_STAMP_PROCESSES", default=min(2, ATELIER_STAMP_PROCESSES))
