from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sessions.demo_data import seed_demo


class Command(BaseCommand):
    help = "Create the demo clinic, accounts, children and sessions (demo mode only; idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even when SER_DEMO_MODE is off (never in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SER_DEMO_MODE and not options["force"]:
            raise CommandError("Demo data is only seeded in demo mode (SER_DEMO_MODE).")
        seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo clinic ready."))
