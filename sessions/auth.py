"""Account glue: no public sign-up, login events in the audit log, API tokens that end with
the account's credentials, and staff who keep their second factor while it is required."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authentication_failed as mfa_authentication_failed
from allauth.mfa.signals import authenticator_removed
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from sessions import access, audit, tokens
from sessions.models.audit import AuditAction
from sessions.types import Actor


class ClinicAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are created by clinic admins; families are invited, never self-registered.
        return False


class ClinicMFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": (
            "Clinic staff must use two-factor authentication: add another authenticator "
            "before removing this one."
        ),
    }

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Staff keep at least one authenticator (recovery codes do not count) while
        MFA_REQUIRED_FOR_STAFF is on; everyone else may remove theirs."""
        if not (settings.MFA_REQUIRED_FOR_STAFF and access.is_staff_member(authenticator.user)):
            return True
        if authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        others = (
            Authenticator.objects.filter(user_id=authenticator.user_id)
            .exclude(pk=authenticator.pk)
            .exclude(type=Authenticator.Type.RECOVERY_CODES)
        )
        return others.exists()


# API tokens end with the credentials that got them: a logout (every token of the account: the
# person may be logging out because a device was lost), a new password, a removed authenticator.
@receiver(password_changed)
@receiver(password_set)
@receiver(password_reset)
@receiver(authenticator_removed)
def _revoke_api_tokens(sender: Any, user: Actor | None = None, **kwargs: Any) -> None:
    tokens.tokens_revoke(user=user)


def audit_account_event(
    *, user: Actor, action: str, object_type: str, object_id: Any, request: HttpRequest | None
) -> None:
    """A log-in or log-out goes to the audit log of every clinic the account belongs to (the
    account is the object, and each of its clinics' admins may need to see it)."""
    clinic_ids: list[str | None] = [*access.clinic_ids_of(user)]
    for clinic_id in clinic_ids or [None]:
        audit.record(
            actor=user,
            action=action,
            object_type=object_type,
            object_id=object_id,
            clinic_id=clinic_id,
            request=request,
        )


@receiver(user_logged_in)
def _audit_login(sender: Any, request: HttpRequest, user: Actor, **kwargs: Any) -> None:
    audit_account_event(
        user=user, action=AuditAction.LOGIN, object_type="user", object_id=user.pk, request=request
    )


@receiver(user_logged_out)
def _audit_logout(sender: Any, request: HttpRequest, user: Actor, **kwargs: Any) -> None:
    tokens.tokens_revoke(user=user)
    if user is not None:
        audit_account_event(
            user=user,
            action=AuditAction.LOGOUT,
            object_type="user",
            object_id=user.pk,
            request=request,
        )


@receiver(user_login_failed)
def _audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # The attempted e-mail itself is never stored (it may be a typo of someone else's); when it
    # names an account, the entries carry that account's id and clinics, for their admins.
    attempted = next(
        (str(credentials[key]) for key in ("email", "login", "username") if credentials.get(key)),
        "",
    )
    account = (
        get_user_model().objects.filter(email__iexact=attempted.strip()).first()
        if attempted
        else None
    )
    audit.record_login_failed(
        account=account, request=request if isinstance(request, HttpRequest) else None
    )


@receiver(mfa_authentication_failed)
def _audit_mfa_failed(
    sender: Any, request: Any = None, user: Actor | None = None, **kw: Any
) -> None:
    """A wrong one-time code after a right password: the account is known for certain."""
    audit.record_login_failed(
        account=user,
        request=request if isinstance(request, HttpRequest) else None,
        detail={"reason": "otp", "reauthentication": bool(kw.get("reauthentication"))},
    )
