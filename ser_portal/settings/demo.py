"""The laptop demo: SQLite, filesystem broker, console e-mail, seeded accounts."""

from __future__ import annotations

from pathlib import Path

from ser_portal.settings.base import *  # noqa: F403
from ser_portal.settings.base import VAR_DIR

SER_DEMO_MODE = True
# whitenoise serves straight from the app and project static dirs, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
VAR_DIR.mkdir(parents=True, exist_ok=True)
# whitenoise warns about a missing STATIC_ROOT even when it serves from the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# kombu's filesystem transport needs its folders before the first message is sent.
for _folder in ("data_folder_in", "data_folder_out", "processed_folder"):
    if _folder in CELERY_BROKER_TRANSPORT_OPTIONS:  # noqa: F405
        Path(str(CELERY_BROKER_TRANSPORT_OPTIONS[_folder])).mkdir(parents=True, exist_ok=True)  # noqa: F405
