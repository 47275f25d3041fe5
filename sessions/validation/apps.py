from __future__ import annotations

from django.apps import AppConfig


class ValidationConfig(AppConfig):
    name = "sessions.validation"
    label = "validation"
    verbose_name = "Clinic validation"
    default_auto_field = "django.db.models.BigAutoField"
