"""Account glue: no public sign-up, login events in the audit log."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from sessions import access, audit
from sessions.models.audit import AuditAction


class ClinicAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are created by clinic admins; families are invited, never self-registered.
        return False


@receiver(user_logged_in)
def _audit_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    clinic = access.primary_clinic(user)
    audit.record(
        actor=user,
        action=AuditAction.LOGIN,
        object_type="user",
        object_id=user.pk,
        clinic_id=clinic.pk if clinic else None,
        request=request,
    )


@receiver(user_logged_out)
def _audit_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        clinic = access.primary_clinic(user)
        audit.record(
            actor=user,
            action=AuditAction.LOGOUT,
            object_type="user",
            object_id=user.pk,
            clinic_id=clinic.pk if clinic else None,
            request=request,
        )


@receiver(user_login_failed)
def _audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # Only the fact and the address: the attempted e-mail may be a typo of someone else's.
    audit.record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="user",
        request=request if isinstance(request, HttpRequest) else None,
    )
