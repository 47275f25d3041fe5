"""Free text has a ceiling: more is refused with a message that says so, and nothing is saved."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from sessions.families.models import (
    CONSENT_TEXT_MAX_LENGTH,
    REPORT_COMMENTS_MAX_LENGTH,
    ConsentText,
    ProgressReport,
)
from sessions.models import TherapySession
from sessions.models.therapy import SESSION_NOTES_MAX_LENGTH
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

FIVE_MB = "x" * (5 * 1024 * 1024)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _session_form(notes: str) -> dict[str, str]:
    return {"date": "2026-10-01", "kind": "group", "title": "Turn-taking", "notes": notes}


def test_five_megabytes_of_session_notes_are_refused_on_the_web(cast: Cast) -> None:
    response = _client(cast.therapist).post(
        reverse("session_edit", args=[cast.session.pk]), _session_form(FIVE_MB)
    )
    assert response.status_code == 200
    assert f"at most {SESSION_NOTES_MAX_LENGTH} characters" in response.content.decode()
    cast.session.refresh_from_db()
    assert cast.session.notes != FIVE_MB


def test_notes_up_to_the_limit_are_kept(cast: Cast) -> None:
    notes = "n" * SESSION_NOTES_MAX_LENGTH
    response = _client(cast.therapist).post(
        reverse("session_edit", args=[cast.session.pk]), _session_form(notes)
    )
    assert response.status_code == 302
    cast.session.refresh_from_db()
    assert cast.session.notes == notes


def test_the_notes_field_tells_the_browser_its_limit(cast: Cast) -> None:
    page = _client(cast.therapist).get(reverse("session_create", args=[cast.child.pk]))
    assert f'maxlength="{SESSION_NOTES_MAX_LENGTH}"' in page.content.decode()


def test_five_megabytes_of_session_notes_are_refused_by_the_api(cast: Cast) -> None:
    api = APIClient()
    api.force_authenticate(cast.therapist)
    before = TherapySession.objects.count()
    response = api.post(
        "/api/v1/sessions/",
        {"child": str(cast.child.pk), "date": "2026-10-02", "kind": "group", "notes": FIVE_MB},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "notes" in body["errors"]
    assert f"no more than {SESSION_NOTES_MAX_LENGTH} characters" in body["errors"]["notes"][0]
    assert TherapySession.objects.count() == before


def test_report_comments_have_a_ceiling(cast: Cast) -> None:
    response = _client(cast.therapist).post(
        reverse("report_create", args=[cast.child.pk]),
        {
            "title": "Autumn",
            "period_start": str(cast.session.date),
            "period_end": str(cast.session.date + dt.timedelta(days=1)),
            "comments": "c" * (REPORT_COMMENTS_MAX_LENGTH + 1),
        },
    )
    assert response.status_code == 200
    assert f"at most {REPORT_COMMENTS_MAX_LENGTH} characters" in response.content.decode()
    assert not ProgressReport.objects.exists()


def test_consent_wording_has_a_ceiling(cast: Cast) -> None:
    response = _client(cast.admin).post(
        reverse("console_consent_text", args=["sharing"]),
        {"body": "b" * (CONSENT_TEXT_MAX_LENGTH + 1)},
    )
    assert response.status_code == 200
    assert f"at most {CONSENT_TEXT_MAX_LENGTH} characters" in response.content.decode()
    assert not ConsentText.objects.exists()


def test_exercise_instructions_have_a_ceiling(cast: Cast) -> None:
    response = _client(cast.therapist).post(
        reverse("exercise_create"),
        {
            "title": "Hello",
            "phrase": "Hello there!",
            "target_emotion": "happy",
            "difficulty": "1",
            "instructions": "i" * 1001,
        },
    )
    assert response.status_code == 200
    assert "at most 1000 characters" in response.content.decode()
