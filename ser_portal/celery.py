"""The Celery application.

Queues: ``long`` for session recordings, ``short`` for practice clips (so a 45-minute session
never delays feedback on a 5-second attempt), ``default`` for housekeeping. Each deployment runs
at least one worker per queue group (see docker/compose.yaml and the demo command).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ser_portal.settings.demo")

app = Celery("ser_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
