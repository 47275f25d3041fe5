"""Give every clinic (or one) the ready-made exercises it is missing and the library's model
recordings (generated voice) for library exercises that have none. Safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions.exercises.models import Exercise
from sessions.exercises.services import library_install
from sessions.models import Clinic


class Command(BaseCommand):
    help = (
        "Install the exercise library in every clinic (or --clinic SLUG): missing exercises, "
        "and the generated model recording of library exercises without one. Never overwrites "
        "a therapist's edits or recordings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", help="only this clinic (its slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        clinics = Clinic.objects.order_by("slug")
        if options["clinic"]:
            clinics = clinics.filter(slug=options["clinic"])
            if not clinics.exists():
                raise CommandError(f"No clinic with the slug {options['clinic']!r}.")
        for clinic in clinics:
            added = library_install(clinic=clinic)
            generated = sum(
                e.model_voice_generated
                for e in Exercise.objects.filter(clinic=clinic).exclude(library_key="")
            )
            self.stdout.write(
                f"{clinic.slug}: {added} exercise(s) added, {generated} with a generated example"
            )
