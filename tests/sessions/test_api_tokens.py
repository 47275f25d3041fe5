"""API tokens end: idle and absolute expiry, logout (web and API), a new password, a removed
authenticator; and they follow the staff two-factor rule of the web, whenever they were issued."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions.models import ApiToken, AuditEvent, User
from sessions.models.audit import AuditAction
from sessions.tokens import token_for_key
from tests.conftest import Cast
from tests.factories import PASSWORD
from tests.sessions.totp import current_code, enrol_totp

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
NEW_PASSWORD = "a-new-long-passphrase-42"


def _token_for(user: User, **extra: Any) -> str:
    response = APIClient().post(
        TOKEN_URL, {"email": user.email, "password": PASSWORD, **extra}, format="json"
    )
    assert response.status_code == 200, response.json()
    return str(response.json()["token"])


def _children(key: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/children/")


def _web_login(user: User, mfa: bool = False) -> Client:
    """Log in through the login pages; with ``mfa``, the second step uses a recovery code (the
    current TOTP code already got the API token and cannot be used twice)."""
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    if mfa:
        code = RecoveryCodes.activate(user).generate_codes()[0]
        client.post(reverse("mfa_authenticate"), {"code": code})
    assert str(client.session.get("_auth_user_id")) == str(user.pk)
    return client


def _post_reauthenticated(client: Client, url: str) -> Any:
    """POST to a security page, confirming the password first when allauth asks for it."""
    response = client.post(url)
    if response.status_code == 302 and response["Location"].startswith(
        reverse("account_reauthenticate")
    ):
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        response = client.post(url)
    return response


# --- the staff two-factor rule ------------------------------------------------------------------


def test_a_token_issued_before_mfa_was_required_stops_opening_the_api(cast: Cast) -> None:
    staff_key = _token_for(cast.therapist)
    family_key = _token_for(cast.guardian)
    assert _children(staff_key).status_code == 200
    with override_settings(MFA_REQUIRED_FOR_STAFF=True):
        refused = _children(staff_key)
        assert refused.status_code == 403
        assert "two-factor" in refused.json()["detail"]
        # Families are not held to it.
        assert _children(family_key).status_code == 200
        # Setting up an authenticator is not enough: the token was never backed by a code.
        secret = enrol_totp(cast.therapist)
        assert _children(staff_key).status_code == 403
        fresh = _token_for(cast.therapist, otp=current_code(secret))
        assert _children(fresh).status_code == 200


# --- expiry ---------------------------------------------------------------------------------------


def test_an_idle_token_expires(cast: Cast, settings: Any) -> None:
    key = _token_for(cast.therapist)
    token = token_for_key(key)
    assert token is not None
    idle = timedelta(seconds=settings.API_TOKEN_IDLE_TIMEOUT_S)
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - idle + timedelta(minutes=2)
    )
    # Used just in time: it stays valid, and the use counts.
    assert _children(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > timezone.now() - timedelta(minutes=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - idle - timedelta(1))
    expired = _children(key)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_a_token_ends_at_its_maximum_age_however_much_it_is_used(cast: Cast, settings: Any) -> None:
    key = _token_for(cast.guardian)
    max_age = timedelta(seconds=settings.API_TOKEN_MAX_AGE_S)
    ApiToken.objects.filter(user=cast.guardian).update(
        created_at=timezone.now() - max_age - timedelta(seconds=1), last_used_at=timezone.now()
    )
    assert _children(key).status_code == 401


# --- revocation -----------------------------------------------------------------------------------


def test_delete_ends_the_token_in_use_only(cast: Cast) -> None:
    first, second = _token_for(cast.therapist), _token_for(cast.therapist)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.delete(TOKEN_URL).status_code == 204
    assert _children(first).status_code == 401
    assert _children(second).status_code == 200
    assert client.delete(TOKEN_URL).status_code == 401
    assert AuditEvent.objects.filter(
        action=AuditAction.LOGOUT, object_type="api_token", actor=cast.therapist
    ).exists()


def test_delete_without_a_token_is_401(db: Any) -> None:
    response = APIClient().delete(TOKEN_URL)
    assert response.status_code == 401 and "Authorization" in response.json()["detail"]


def test_web_logout_ends_the_accounts_api_tokens(cast: Cast) -> None:
    key = _token_for(cast.therapist)
    client = _web_login(cast.therapist)
    client.post(reverse("account_logout"))
    assert _children(key).status_code == 401


def test_changing_the_password_ends_api_tokens(cast: Cast) -> None:
    key = _token_for(cast.guardian)
    client = _web_login(cast.guardian)
    changed = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    cast.guardian.refresh_from_db()
    assert cast.guardian.check_password(NEW_PASSWORD)
    assert not ApiToken.objects.filter(user=cast.guardian).exists()
    assert _children(key).status_code == 401


def test_a_password_set_outside_the_portal_also_ends_api_tokens(cast: Cast) -> None:
    """``manage.py changepassword`` or the Django admin send no allauth signal."""
    key = _token_for(cast.guardian)
    cast.guardian.set_password(NEW_PASSWORD)
    cast.guardian.save()
    assert _children(key).status_code == 401


def test_a_password_reset_ends_api_tokens(cast: Cast) -> None:
    import re

    from django.core import mail

    key = _token_for(cast.guardian)
    Client().post(reverse("account_reset_password"), {"email": cast.guardian.email})
    match = re.search(
        r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", str(mail.outbox[0].body)
    )
    assert match
    client = Client()
    page = client.get(match.group(1), follow=True)
    set_url = page.redirect_chain[-1][0] if page.redirect_chain else match.group(1)
    client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    cast.guardian.refresh_from_db()
    assert cast.guardian.check_password(NEW_PASSWORD)
    assert not ApiToken.objects.filter(user=cast.guardian).exists()
    assert _children(key).status_code == 401


def test_removing_an_authenticator_ends_api_tokens(cast: Cast) -> None:
    secret = enrol_totp(cast.guardian)
    key = _token_for(cast.guardian, otp=current_code(secret))
    client = _web_login(cast.guardian, mfa=True)
    removed = _post_reauthenticated(client, reverse("mfa_deactivate_totp"))
    assert removed.status_code == 302
    assert not Authenticator.objects.filter(user=cast.guardian).exists()
    assert _children(key).status_code == 401


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_staff_cannot_remove_their_last_authenticator_while_it_is_required(cast: Cast) -> None:
    secret = enrol_totp(cast.therapist)
    key = _token_for(cast.therapist, otp=current_code(secret))
    client = _web_login(cast.therapist, mfa=True)
    refused = _post_reauthenticated(client, reverse("mfa_deactivate_totp"))
    assert refused.status_code == 200
    assert "add another authenticator" in refused.content.decode()
    assert Authenticator.objects.filter(user=cast.therapist, type=Authenticator.Type.TOTP).exists()
    assert _children(key).status_code == 200
