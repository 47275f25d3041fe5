"""``manage.py create_clinic``: a new clinic and its first clinic admin, on a fresh installation.

Everything else (therapists, families, children) the admin then creates in the clinic console.
The admin account gets no password here: its owner chooses one through "Forgot your password?"
on the log-in page, so no password ever passes through a shell history or a deploy log.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from sessions import audit, services
from sessions.models import Clinic, Role
from sessions.models.audit import AuditAction


class Command(BaseCommand):
    help = "Create a clinic with its first clinic admin (who sets a password by reset e-mail)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Clinic name, as shown to its users.")
        parser.add_argument("--slug", help="Short unique identifier (default: from the name).")
        parser.add_argument("--admin-email", required=True, help="E-mail of the first admin.")
        parser.add_argument("--admin-name", default="", help="Full name of the first admin.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"] or slugify(options["name"])
        if not slug:
            raise CommandError("Give a --slug: the name has no letters to make one from.")
        if Clinic.objects.filter(slug=slug).exists():
            raise CommandError(f"A clinic with the slug '{slug}' already exists.")
        with transaction.atomic():
            clinic = Clinic.objects.create(name=options["name"], slug=slug)
            audit.record(
                actor=None,
                action=AuditAction.CREATE,
                obj=clinic,
                clinic_id=clinic.pk,
                detail={"via": "create_clinic"},
            )
            try:
                services.member_create(
                    clinic=clinic,
                    email=options["admin_email"],
                    role=Role.CLINIC_ADMIN,
                    full_name=options["admin_name"],
                    actor=None,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {clinic.name} ({slug}) with clinic admin {options['admin_email']}."
            )
        )
        self.stdout.write(
            "The admin sets a password with 'Forgot your password?' on the log-in "
            "page, then sets up two-factor authentication."
        )
        try:
            call_command("ensure_default_model", verbosity=0)
        except CommandError as exc:
            self.stderr.write(f"No emotion model installed yet: {exc}")
