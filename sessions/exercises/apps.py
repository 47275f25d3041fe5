from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


def _install_library(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """Every new clinic starts with the ready-made exercise library."""
    if created and not raw:
        from sessions.exercises.services import library_install

        library_install(clinic=instance)


class ExercisesConfig(AppConfig):
    name = "sessions.exercises"
    label = "exercises"
    verbose_name = "Practice exercises"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sessions.models import Clinic

        post_save.connect(_install_library, sender=Clinic, dispatch_uid="exercises.install_library")
