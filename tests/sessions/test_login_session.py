"""Logging in and out on the web, the failed-login limit, and the idle timeout."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions.models import User
from tests.conftest import Cast
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, user: User, password: str = PASSWORD) -> Any:
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_login_and_logout(cast: Cast) -> None:
    client = Client()
    response = _login(client, cast.therapist)
    assert response.status_code == 302
    assert client.get(reverse("children")).status_code == 200

    # GET only asks for confirmation (a link or a prefetch must not log anyone out).
    confirm = client.get(reverse("account_logout"))
    assert confirm.status_code == 200
    assert client.get(reverse("children")).status_code == 200

    out = client.post(reverse("account_logout"))
    assert out.status_code == 302
    assert out["Location"] == reverse("account_login")
    gone = client.get(reverse("children"))
    assert gone.status_code == 302
    assert gone["Location"].startswith(reverse("account_login"))


def test_wrong_password_shows_a_clear_error(cast: Cast) -> None:
    response = _login(Client(), cast.therapist, "not-the-password")
    assert response.status_code == 200
    assert "password you specified are not correct" in response.content.decode()


def test_after_login_each_role_lands_on_its_home(cast: Cast) -> None:
    for user, page in (
        (cast.therapist, "children"),
        (cast.admin, "console"),
        (cast.guardian, "family_child"),
    ):
        client = Client()
        _login(client, user)
        final = client.get(reverse("home"), follow=True).redirect_chain[-1][0]
        assert reverse(page, args=[cast.child.pk] if page == "family_child" else []) == final


def test_five_failed_web_logins_lock_the_account_for_a_while(cast: Cast) -> None:
    for attempt in range(5):
        client = Client(REMOTE_ADDR=f"10.1.0.{attempt + 1}")
        _login(client, cast.therapist, "wrong-password-x")
    client = Client(REMOTE_ADDR="10.1.1.1")
    response = _login(client, cast.therapist)
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get(reverse("children")).status_code == 302


# --- idle timeout -------------------------------------------------------------------------------


def test_idle_timeout_settings() -> None:
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_idle_timeout_comes_from_the_environment() -> None:
    env = {**os.environ, "SESSION_IDLE_TIMEOUT_S": "120"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.SESSION_COOKIE_AGE)",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "120"


def test_each_request_pushes_the_expiry_forward(cast: Cast) -> None:
    client = Client()
    _login(client, cast.therapist)
    row = _session_row(client)
    remaining = (row.expire_date - timezone.now()).total_seconds()
    assert 15 * 60 - 30 < remaining <= 15 * 60
    Session.objects.filter(pk=row.pk).update(expire_date=timezone.now() + dt.timedelta(minutes=2))
    assert client.get(reverse("children")).status_code == 200
    renewed = (_session_row(client).expire_date - timezone.now()).total_seconds()
    assert renewed > 14 * 60


def test_a_session_idle_past_the_timeout_is_logged_out(cast: Cast) -> None:
    client = Client()
    _login(client, cast.therapist)
    assert client.get(reverse("children")).status_code == 200
    Session.objects.filter(pk=_session_row(client).pk).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get(reverse("children"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert client.get("/api/v1/children/").status_code == 401


def test_the_session_cookie_is_a_browser_session_cookie(cast: Cast) -> None:
    client = Client()
    _login(client, cast.therapist)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["max-age"]
    assert not cookie["expires"]
