from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


def _install_starter(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """Every new clinic starts with the starter listening clips and sets."""
    if created and not raw:
        from sessions.listening.services import starter_install

        starter_install(clinic=instance)


class ListeningConfig(AppConfig):
    name = "sessions.listening"
    label = "listening"
    verbose_name = "Listening practice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sessions.models import Clinic

        post_save.connect(_install_starter, sender=Clinic, dispatch_uid="listening.install_starter")
