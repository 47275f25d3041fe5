"""Tests on the demo's configuration: SQLite and kombu's filesystem broker, no servers.

``make test`` runs a part of the suite with these settings (the Makefile's ``test`` target says
which), so a query or a task that only works on PostgreSQL or RabbitMQ fails there, not first
in someone's ``make demo``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ser_portal.settings import base as _base
from ser_portal.settings.test import *  # noqa: F403
from ser_portal.settings.test import process_folder

# One folder per test process for the database file and the broker's messages; worker
# subprocesses started by tests inherit it through the environment, as MEDIA_ROOT.
_DIR = process_folder("SER_TEST_SQLITE_DIR", "ser-test-sqlite-", remove_at_exit=True)

# The demo's SQLite connection settings (base.py, without DATABASE_URL), in this folder. A
# worker subprocess started by a test is told the test database (tests/celery_worker.py).
_demo_db = _base.DATABASES["default"]
_worker_db = os.environ.get("TEST_DATABASE_URL", "")
DATABASES = {
    "default": {
        **(_demo_db if _demo_db["ENGINE"] == "django.db.backends.sqlite3" else {}),
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": (
            _worker_db.removeprefix("sqlite:///")
            if _worker_db.startswith("sqlite:///")
            else str(_DIR / "ser_portal.sqlite3")
        ),
        # A file, not Django's in-memory default: worker subprocesses must open the same data.
        "TEST": {"NAME": str(_DIR / "test_ser_portal.sqlite3")},
    }
}
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_DIR / "broker"),
    "data_folder_out": str(_DIR / "broker"),
    "processed_folder": str(_DIR / "broker-processed"),
    "control_folder": str(_DIR / "broker-control"),
    "store_processed": False,
}
for _folder in ("data_folder_in", "processed_folder", "control_folder"):
    Path(str(CELERY_BROKER_TRANSPORT_OPTIONS[_folder])).mkdir(parents=True, exist_ok=True)
