"""The base layout: navigation per role, flash messages, and the accessible basics."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sessions.models import User
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _page(user: Any, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _nav(html: str) -> str:
    return html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def test_therapist_navigation(cast: Cast) -> None:
    nav = _nav(_page(cast.therapist, reverse("home")))
    assert reverse("children") in nav
    assert reverse("console") not in nav
    assert reverse("family_home") not in nav


def test_clinic_admin_navigation(cast: Cast) -> None:
    nav = _nav(_page(cast.admin, reverse("home")))
    assert reverse("console") in nav
    assert reverse("children") in nav
    assert reverse("family_home") not in nav


def test_guardian_navigation(cast: Cast) -> None:
    nav = _nav(_page(cast.guardian, reverse("home")))
    assert reverse("family_home") in nav
    assert reverse("children") not in nav
    assert reverse("console") not in nav


def test_every_signed_in_page_offers_security_settings_and_log_out(cast: Cast) -> None:
    html = _page(cast.guardian, reverse("home"))
    assert f'href="{reverse("mfa_index")}"' in html
    assert f'action="{reverse("account_logout")}"' in html
    assert 'method="post"' in html  # log out is a POST, never a link a crawler could follow


def test_accessible_basics(cast: Cast) -> None:
    html = _page(cast.therapist, reverse("children"))
    assert '<html lang="en">' in html
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html
    assert 'name="viewport"' in html


def test_flash_messages_are_announced(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.therapist)
    response = client.post(
        reverse("session_create", args=[cast.child.pk]),
        {"date": "2026-11-01", "kind": "individual", "title": "Hi"},
        follow=True,
    )
    html = response.content.decode()
    assert 'role="status"' in html
    assert "Session created." in html


def test_login_page_has_labelled_fields_and_no_sign_up(db: Any) -> None:
    html = Client().get(reverse("account_login")).content.decode()
    assert '<label for="id_login">E-mail address</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html
    assert reverse("account_reset_password") in html
    assert "sign up" not in html.lower()
    assert "Remember" not in html  # sessions always end after the idle timeout
    assert "<title>Log in · SER Portal</title>" in html


def test_public_sign_up_is_closed(db: Any) -> None:
    client = Client()
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert "accounts are created by your clinic" in response.content.decode()
    client.post(
        reverse("account_signup"),
        {
            "email": "new@example.test",
            "password1": "a-long-pass-1234",
            "password2": "a-long-pass-1234",
        },
    )
    assert not User.objects.filter(email="new@example.test").exists()
