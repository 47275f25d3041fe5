"""Two-factor authentication (TOTP): offered to everyone, required of clinic staff in production."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.test import Client, override_settings
from django.urls import reverse

from sessions.models import User
from tests.conftest import Cast
from tests.factories import PASSWORD
from tests.sessions.totp import current_code, enrol_totp, wrong_code

pytestmark = pytest.mark.django_db


def _password_step(client: Client, user: User) -> Any:
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def _is_logged_in_as(client: Client, user: User) -> bool:
    return str(client.session.get("_auth_user_id")) == str(user.pk)


def test_login_with_totp_asks_for_the_code_after_the_password(cast: Cast) -> None:
    secret = enrol_totp(cast.therapist)
    client = Client()
    response = _password_step(client, cast.therapist)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not _is_logged_in_as(client, cast.therapist)

    page = client.get(reverse("mfa_authenticate")).content.decode()
    assert 'autocomplete="one-time-code"' in page

    wrong = client.post(reverse("mfa_authenticate"), {"code": wrong_code(secret)})
    assert wrong.status_code == 200
    assert "Incorrect code" in wrong.content.decode()
    assert not _is_logged_in_as(client, cast.therapist)

    right = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert right.status_code == 302
    assert _is_logged_in_as(client, cast.therapist)
    assert client.get(reverse("children")).status_code == 200


def test_a_recovery_code_replaces_a_lost_phone(cast: Cast) -> None:
    enrol_totp(cast.guardian)
    codes = RecoveryCodes.activate(cast.guardian).generate_codes()
    client = Client()
    _password_step(client, cast.guardian)
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert _is_logged_in_as(client, cast.guardian)

    # Each recovery code works once.
    again = Client()
    _password_step(again, cast.guardian)
    again.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert not _is_logged_in_as(again, cast.guardian)


def test_anyone_can_set_up_an_authenticator_app(cast: Cast) -> None:
    """A guardian activates TOTP through the real set-up page."""
    client = Client()
    _password_step(client, cast.guardian)
    assert _is_logged_in_as(client, cast.guardian)
    index = client.get(reverse("mfa_index"))
    assert index.status_code == 200
    assert "Not set up yet" in index.content.decode()

    # Changing security settings asks for the password again first.
    gate = client.get(reverse("mfa_activate_totp"))
    assert gate.status_code == 302
    assert gate["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    setup = client.get(reverse("mfa_activate_totp"))
    assert setup.status_code == 200
    html = setup.content.decode()
    assert "data:image/svg+xml" in html  # the QR code, generated locally
    secret = client.session[SECRET_SESSION_KEY]
    assert secret in html

    bad = client.post(reverse("mfa_activate_totp"), {"code": wrong_code(secret)})
    assert bad.status_code == 200
    assert not Authenticator.objects.filter(user=cast.guardian).exists()

    client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert Authenticator.objects.filter(user=cast.guardian, type=Authenticator.Type.TOTP).exists()
    # Recovery codes are made at the same time, so a lost phone does not lock the account.
    assert Authenticator.objects.filter(
        user=cast.guardian, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    assert "Active." in client.get(reverse("mfa_index")).content.decode()


# --- required for clinic staff ------------------------------------------------------------------


def _logged_in(user: User | None) -> Client:
    assert user is not None
    client = Client()
    client.force_login(user)
    return client


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
@pytest.mark.parametrize("persona", ["therapist", "admin"])
def test_staff_without_mfa_are_sent_to_set_it_up(cast: Cast, persona: str) -> None:
    client = _logged_in(cast.user(persona))
    for url in (
        reverse("home"),
        reverse("children"),
        reverse("child_detail", args=[cast.child.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_activate_totp")
    followed = client.get(reverse("children"), follow=True)
    assert "must use two-factor authentication" in followed.content.decode()


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_staff_without_mfa_keep_the_account_pages(cast: Cast) -> None:
    client = _logged_in(cast.therapist)
    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(reverse("account_logout")).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/css/portal.css").status_code == 200
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_staff_without_mfa_cannot_use_the_api_with_their_session(cast: Cast) -> None:
    response = _logged_in(cast.therapist).get("/api/v1/children/")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_staff_with_mfa_use_the_portal(cast: Cast) -> None:
    enrol_totp(cast.therapist)
    client = _logged_in(cast.therapist)
    assert client.get(reverse("children")).status_code == 200
    assert client.get("/api/v1/children/").status_code == 200


@override_settings(MFA_REQUIRED_FOR_STAFF=True)
def test_families_are_not_forced(cast: Cast) -> None:
    client = _logged_in(cast.guardian)
    response = client.get(reverse("family_child", args=[cast.child.pk]))
    assert response.status_code == 200


@override_settings(MFA_REQUIRED_FOR_STAFF=False)
def test_without_the_requirement_staff_are_not_redirected(cast: Cast) -> None:
    assert _logged_in(cast.therapist).get(reverse("children")).status_code == 200
