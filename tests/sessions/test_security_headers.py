"""What the browser is told: scripts only from our own files, health data never cached, and
flash messages (which can name the user) never in a cookie of their own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template.utils import get_app_template_dirs
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import Cast
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def test_pages_allow_scripts_only_from_our_own_origin(cast: Cast) -> None:
    for response in (
        Client().get(reverse("account_login")),
        _client(cast.therapist).get(reverse("session_detail", args=[cast.session.pk])),
        _client(cast.guardian).get(reverse("family_child", args=[cast.child.pk])),
    ):
        assert response.status_code == 200
        policy = _directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]


_ROOT = Path(settings.BASE_DIR)
# The project's templates and those of its own apps (installed packages have their own tests).
_TEMPLATE_DIRS = [
    _ROOT / "templates",
    *(
        Path(folder)
        for folder in get_app_template_dirs("templates")
        if Path(folder).is_relative_to(_ROOT) and ".venv" not in Path(folder).parts
    ),
]
_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_HANDLER = re.compile(r"""<[^>]*\son[a-z]+\s*=\s*["']""", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted(path for folder in _TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_no_template_holds_code_the_policy_would_block() -> None:
    """Inline scripts, event handler attributes and javascript: links would not run under
    ``script-src 'self'``; data goes through json_script (a JSON data block) instead."""
    templates = _templates()
    assert len(templates) > 40
    offending = []
    for path in templates:
        text = path.read_text()
        for attributes in _SCRIPT_TAG.findall(text):
            if "src=" not in attributes and 'type="application/json"' not in attributes:
                offending.append(f"{path}: <script{attributes}>")
        offending += [f"{path}: {m.group(0)}" for m in _HANDLER.finditer(text)]
        if "javascript:" in text.lower():
            offending.append(f"{path}: javascript: URL")
    assert offending == []


def test_health_data_pages_and_api_answers_are_never_stored(cast: Cast) -> None:
    web = _client(cast.therapist)
    api = APIClient()
    api.force_authenticate(cast.therapist)
    for response in (
        web.get(reverse("child_detail", args=[cast.child.pk])),
        web.get(reverse("session_detail", args=[cast.session.pk])),
        api.get(f"/api/v1/children/{cast.child.pk}/"),
        api.get(f"/api/v1/sessions/{cast.session.pk}/"),
        _client(cast.guardian).get(reverse("family_child", args=[cast.child.pk])),
    ):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_a_view_that_chooses_its_caching_keeps_it(cast: Cast) -> None:
    response = _client(cast.therapist).get(reverse("recording_audio", args=[cast.recording.pk]))
    assert response["Cache-Control"] == "private, no-store"


def test_flash_messages_travel_in_the_session_not_in_a_cookie(cast: Cast) -> None:
    cast.therapist.full_name = "Alice Liddell-Example"
    cast.therapist.save()
    client = Client()
    logged_in = client.post(
        reverse("account_login"), {"login": cast.therapist.email, "password": PASSWORD}
    )
    assert logged_in.status_code == 302
    assert "messages" not in logged_in.cookies
    edited = client.post(
        reverse("session_edit", args=[cast.session.pk]),
        {"date": "2026-10-01", "kind": "group", "title": "New title", "notes": ""},
    )
    assert edited.status_code == 302 and "messages" not in edited.cookies
    page = client.get(edited["Location"])
    assert "Session updated." in page.content.decode()
    for cookie in client.cookies.values():
        assert "Liddell" not in cookie.value and "alice" not in cookie.value.lower()
