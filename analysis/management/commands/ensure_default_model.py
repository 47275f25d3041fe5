"""``manage.py ensure_default_model``: every clinic without any model gets the shipped default.

Run by ``manage.py demo`` on every start and meant for deploy scripts: idempotent (a clinic
that has any model version, even a retired one, is left alone) and fast (one query when there
is nothing to do). A clinic created later gets the default on the next run, or from the
"Install the shipped default model" button on its console's model page.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis.registry.services import RegistryError, ensure_default_models


class Command(BaseCommand):
    help = "Register and activate the shipped default emotion model for clinics without a model."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = ensure_default_models()
        except RegistryError as exc:
            raise CommandError(exc.message) from exc
        for version in created:
            self.stdout.write(
                f"{version.clinic.slug}: registered and activated {version.name} {version.version}"
            )
        if not created and options["verbosity"] >= 1:
            self.stdout.write("Every clinic already has an emotion model; nothing to do.")
