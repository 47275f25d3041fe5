"""The laptop demo: SQLite, filesystem broker, console e-mail, seeded accounts."""

from __future__ import annotations

from pathlib import Path

from ser_portal.settings.base import *  # noqa: F403
from ser_portal.settings.base import VAR_DIR

SER_DEMO_MODE = True
# Static files as in production (base.py: hashed names, pre-compressed gzip and brotli, cached
# for a year), so the demo loads as fast as a real site: ``manage.py demo`` runs collectstatic
# before it starts the server. The test settings serve them straight from the finders instead.
# Under the demo's own folder, so two demos (or tests) side by side never collect into one place.
STATIC_ROOT = VAR_DIR / "static"
VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# kombu's filesystem transport needs its folders before the first message is sent.
for _folder in ("data_folder_in", "data_folder_out", "processed_folder"):
    if _folder in CELERY_BROKER_TRANSPORT_OPTIONS:  # noqa: F405
        Path(str(CELERY_BROKER_TRANSPORT_OPTIONS[_folder])).mkdir(parents=True, exist_ok=True)  # noqa: F405
