"""Tests: the real PostgreSQL and RabbitMQ of this machine (never mocks of them)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

from ser_portal.settings.base import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ser_portal")
    )
}
# One test database per test process, so runs side by side (developers, CI) never collide.
DATABASES["default"]["TEST"] = {
    "NAME": os.environ.get("SER_TEST_DB_NAME", f"test_ser_portal_{os.getpid()}")
}
CELERY_BROKER_URL = os.environ.get("TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker subprocesses started by tests inherit the same media root through the environment.
if not os.environ.get("MEDIA_ROOT"):
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="ser-test-media-")
MEDIA_ROOT = Path(os.environ["MEDIA_ROOT"])
# A worker started as "another machine" (tests/analysis/test_scale_out.py) has its own model
# volume apart from its media folder; every other test process keeps models under MEDIA_ROOT.
SER_MODELS_DIR = Path(os.environ.get("SER_TEST_MODELS_DIR") or MEDIA_ROOT / "models")
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# whitenoise warns about a missing STATIC_ROOT even when it serves from the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
