"""``manage.py create_clinic``: the first clinic and admin of a fresh installation."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from sessions import access
from sessions.models import AuditEvent, Clinic, Membership, Role, User

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("create_clinic", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_creates_the_clinic_and_its_admin_without_a_password(db: Any) -> None:
    out = _run(
        "--name",
        "Sunny Days Clinic",
        "--admin-email",
        "lead@sunny.example",
        "--admin-name",
        "Lee Lead",
    )
    clinic = Clinic.objects.get(slug="sunny-days-clinic")
    assert clinic.name == "Sunny Days Clinic"
    admin = User.objects.get(email="lead@sunny.example")
    assert admin.full_name == "Lee Lead"
    assert not admin.has_usable_password()
    assert Membership.objects.get(user=admin).role == Role.CLINIC_ADMIN
    assert access.require_clinic_admin(admin) == clinic
    assert "Forgot your password?" in out
    created = set(
        AuditEvent.objects.filter(clinic_id=clinic.pk, action="create").values_list(
            "object_type", flat=True
        )
    )
    # The clinic, its admin, and the shipped default model registered for it.
    assert created == {"clinic", "membership", "emotionmodelversion"}
    from analysis.models import EmotionModelVersion

    assert EmotionModelVersion.objects.get(clinic=clinic).status == "active"


def test_the_new_admin_gets_a_password_reset_link(db: Any) -> None:
    _run("--name", "Sunny", "--admin-email", "lead@sunny.example")
    Client().post(reverse("account_reset_password"), {"email": "lead@sunny.example"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["lead@sunny.example"]


def test_refuses_a_duplicate_slug(db: Any) -> None:
    _run("--name", "Sunny", "--admin-email", "a@sunny.example")
    with pytest.raises(CommandError, match="already exists"):
        _run("--name", "Sunny", "--admin-email", "b@sunny.example")
    assert Clinic.objects.count() == 1


def test_an_existing_account_can_administer_a_second_clinic(db: Any) -> None:
    _run("--name", "Sunny", "--admin-email", "lead@example.test")
    _run("--name", "Rainy", "--slug", "rainy", "--admin-email", "lead@example.test")
    assert User.objects.filter(email="lead@example.test").count() == 1
    assert Membership.objects.filter(user__email="lead@example.test").count() == 2
