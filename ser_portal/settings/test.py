"""Tests: the real PostgreSQL and RabbitMQ of this machine (never mocks of them)."""

from __future__ import annotations

import atexit
import os
import shutil
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


def process_folder(variable: str, prefix: str, *, remove_at_exit: bool = False) -> Path:
    """A folder of this test process in ``os.environ[variable]``, made when missing.

    Worker subprocesses started by a test inherit it through the environment. Under
    pytest-xdist (``make test`` runs two) the controller's folder reaches every xdist worker
    the same way, so each worker makes its own: the folder belongs to the process whose
    ``PYTEST_XDIST_WORKER`` made it (``<variable>_OWNER``). ``remove_at_exit``: the process
    that made the folder removes it when it ends.
    """
    owner = os.environ.get("PYTEST_XDIST_WORKER", "-")
    if not os.environ.get(variable) or os.environ.get(f"{variable}_OWNER", owner) != owner:
        os.environ[variable] = tempfile.mkdtemp(prefix=prefix)
        if remove_at_exit:
            atexit.register(shutil.rmtree, os.environ[variable], ignore_errors=True)
    os.environ[f"{variable}_OWNER"] = owner
    return Path(os.environ[variable])


MEDIA_ROOT = process_folder("MEDIA_ROOT", "ser-test-media-")
# A worker started as "another machine" (tests/analysis/test_scale_out.py) has its own model
# volume apart from its media folder; every other test process keeps models under MEDIA_ROOT.
SER_MODELS_DIR = Path(os.environ.get("SER_TEST_MODELS_DIR") or MEDIA_ROOT / "models")
# Exported ONNX Runtime encoders of the tests' models: one folder per test process, shared with
# the workers it starts (a worker that plays another machine keeps its media folder empty).
SER_ONNX_CACHE_DIR = process_folder("SER_ONNX_CACHE_DIR", "ser-test-onnx-", remove_at_exit=True)
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# whitenoise warns about a missing STATIC_ROOT even when it serves from the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
