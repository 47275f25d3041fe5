"""Password reset by e-mail link (the demo prints the e-mail on the console)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from sessions.models import User
from tests.conftest import Cast, demo_environment
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-passphrase-42"


def _request_reset(email: str) -> Any:
    return Client().post(reverse("account_reset_password"), {"email": email})


def _link_from(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def _set_password(link: str, password: str) -> tuple[Client, Any]:
    client = Client()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = client.post(set_url, {"password1": password, "password2": password})
    return client, response


def test_reset_sends_a_one_time_link_that_sets_the_password(cast: Cast) -> None:
    response = _request_reset(cast.guardian.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [cast.guardian.email]
    link = _link_from(message)

    _, done = _set_password(link, NEW_PASSWORD)
    assert done.status_code == 302
    assert done["Location"] == reverse("account_reset_password_from_key_done")
    cast.guardian.refresh_from_db()
    assert cast.guardian.check_password(NEW_PASSWORD)
    assert not cast.guardian.check_password(PASSWORD)

    login = Client()
    assert login.login(email=cast.guardian.email, password=NEW_PASSWORD)

    # The link works once.
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()
    cast.guardian.refresh_from_db()
    assert cast.guardian.check_password(NEW_PASSWORD)


def test_unknown_address_gets_the_same_answer_and_no_mail(db: Any) -> None:
    response = _request_reset("nobody@example.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert mail.outbox == []


def test_invited_account_without_a_password_chooses_one_by_reset(cast: Cast) -> None:
    invited = User.objects.create_user(email="new.parent@family.test", password=None)
    invited.set_unusable_password()
    invited.save()
    _request_reset(invited.email)
    assert len(mail.outbox) == 1
    _set_password(_link_from(mail.outbox[0]), NEW_PASSWORD)
    invited.refresh_from_db()
    assert invited.check_password(NEW_PASSWORD)


def test_weak_new_password_is_refused_with_a_reason(cast: Cast) -> None:
    _request_reset(cast.therapist.email)
    _, response = _set_password(_link_from(mail.outbox[0]), "short")
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    cast.therapist.refresh_from_db()
    assert cast.therapist.check_password(PASSWORD)


def test_the_mail_holds_no_child_data(cast: Cast) -> None:
    _request_reset(cast.guardian.email)
    body = mail.outbox[0].body
    assert cast.child.given_name not in body
    assert cast.child.code not in body


def test_reset_pages_render(db: Any) -> None:
    client = Client()
    form = client.get(reverse("account_reset_password")).content.decode()
    assert '<label for="id_email">E-mail address</label>' in form
    done = client.get(reverse("account_reset_password_done")).content.decode()
    assert "Check your e-mail" in done


def test_demo_settings_print_mail_on_the_console(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print(settings.EMAIL_BACKEND)",
        ],
        env=demo_environment(tmp_path),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "django.core.mail.backends.console.EmailBackend"
