"""Every read and write of a child's data leaves an audit entry: who, what, which, when, where.

Entries never hold audio or free-text notes, and clinic admins read only their clinic's log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sessions import audit
from sessions.models import AuditEvent, TherapySession
from sessions.models.audit import AuditAction
from tests.conftest import Cast
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NOTES = "Mia talked about her brother's birthday; anxious at the start."


def _client(user: Any) -> Client:
    client = Client(HTTP_USER_AGENT="pytest-browser/1.0", REMOTE_ADDR="192.0.2.44")
    client.force_login(user)
    return client


def _only(**filters: Any) -> AuditEvent:
    events = AuditEvent.objects.filter(**filters)
    assert events.count() == 1, list(events.values("action", "object_type", "path"))
    return events.get()


def test_viewing_a_child_records_who_what_which_when_and_where(cast: Cast) -> None:
    before = timezone.now()
    response = _client(cast.therapist).get(reverse("child_detail", args=[cast.child.pk]))
    assert response.status_code == 200
    event = _only(action=AuditAction.VIEW, object_type="child")
    assert event.actor == cast.therapist
    assert event.actor_label == cast.therapist.email
    assert event.object_id == str(cast.child.pk)
    assert event.child_id == cast.child.pk
    assert event.clinic_id == cast.clinic.pk
    assert before <= event.created_at <= timezone.now()
    assert event.ip_address == "192.0.2.44"
    assert event.user_agent == "pytest-browser/1.0"
    assert event.path == f"/children/{cast.child.pk}/"


def test_viewing_a_session_page_is_recorded(cast: Cast) -> None:
    _client(cast.admin).get(reverse("session_detail", args=[cast.session.pk]))
    event = _only(action=AuditAction.VIEW, object_type="therapysession")
    assert event.actor == cast.admin
    assert event.object_id == str(cast.session.pk)
    assert event.child_id == cast.child.pk


def test_guardian_viewing_their_child_is_recorded(cast: Cast) -> None:
    _client(cast.guardian).get(reverse("family_child", args=[cast.child.pk]))
    event = _only(action=AuditAction.VIEW, child_id=cast.child.pk)
    assert event.actor == cast.guardian


def test_listing_children_is_recorded_with_a_count(cast: Cast) -> None:
    _client(cast.admin).get(reverse("children"))
    event = _only(action=AuditAction.LIST, object_type="child")
    assert event.detail == {"count": 2}
    assert event.clinic_id == cast.clinic.pk


def test_creating_and_editing_a_session_are_recorded_without_the_notes(cast: Cast) -> None:
    client = _client(cast.therapist)
    response = client.post(
        reverse("session_create", args=[cast.child.pk]),
        {"date": "2026-11-03", "kind": "individual", "title": "Greetings", "notes": NOTES},
    )
    assert response.status_code == 302
    session = TherapySession.objects.get(notes=NOTES)
    created = _only(action=AuditAction.CREATE)
    assert created.object_id == str(session.pk)
    assert created.child_id == cast.child.pk

    client.post(
        reverse("session_edit", args=[session.pk]),
        {
            "date": "2026-11-03",
            "kind": "individual",
            "title": "Greetings",
            "notes": NOTES + " Calmer later.",
        },
    )
    session.refresh_from_db()
    assert session.notes == NOTES + " Calmer later."
    updated = _only(action=AuditAction.UPDATE)
    assert updated.detail == {"fields": ["notes"]}
    assert updated.object_id == str(session.pk)


def test_api_reads_and_writes_are_recorded(cast: Cast) -> None:
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    client.force_authenticate(cast.therapist)
    client.get("/api/v1/children/")
    client.get(f"/api/v1/children/{cast.child.pk}/")
    client.get(f"/api/v1/sessions/?child={cast.child.pk}")
    client.get(f"/api/v1/sessions/{cast.session.pk}/")
    created = client.post(
        "/api/v1/sessions/",
        {"child": str(cast.child.pk), "date": "2026-11-04", "notes": NOTES},
        format="json",
    ).json()
    rows = list(
        AuditEvent.objects.order_by("created_at").values_list(
            "action", "object_type", "object_id", "ip_address"
        )
    )
    assert rows == [
        ("list", "child", "", "198.51.100.9"),
        ("view", "child", str(cast.child.pk), "198.51.100.9"),
        ("list", "therapysession", "", "198.51.100.9"),
        ("view", "therapysession", str(cast.session.pk), "198.51.100.9"),
        ("create", "therapysession", created["id"], "198.51.100.9"),
    ]
    assert set(AuditEvent.objects.values_list("actor", flat=True)) == {cast.therapist.pk}


def test_playing_audio_is_recorded_once_per_playback(cast: Cast) -> None:
    client = _client(cast.therapist)
    url = reverse("recording_audio", args=[cast.recording.pk])
    b"".join(client.get(url).streaming_content)  # type: ignore[attr-defined]
    b"".join(client.get(url, HTTP_RANGE="bytes=4-").streaming_content)  # type: ignore[attr-defined]
    event = _only(action=AuditAction.DOWNLOAD)
    assert event.object_id == str(cast.recording.pk)
    assert event.child_id == cast.child.pk


def test_refused_access_leaves_no_read_entry(cast: Cast) -> None:
    response = _client(cast.other_therapist).get(reverse("child_detail", args=[cast.child.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(child_id=cast.child.pk).exists()


def test_web_login_logout_and_failed_login_are_recorded(cast: Cast) -> None:
    client = Client(REMOTE_ADDR="192.0.2.50")
    client.post(reverse("account_login"), {"login": cast.therapist.email, "password": "nope-x"})
    client.post(reverse("account_login"), {"login": cast.therapist.email, "password": PASSWORD})
    client.post(reverse("account_logout"))
    actions = list(AuditEvent.objects.order_by("created_at").values_list("action", "actor"))
    assert actions == [
        (AuditAction.LOGIN_FAILED, None),
        (AuditAction.LOGIN, cast.therapist.pk),
        (AuditAction.LOGOUT, cast.therapist.pk),
    ]
    assert set(AuditEvent.objects.values_list("ip_address", flat=True)) == {"192.0.2.50"}


def test_no_entry_ever_holds_notes_names_or_audio(cast: Cast) -> None:
    cast.session.notes = NOTES
    cast.session.save()
    therapist = _client(cast.therapist)
    therapist.get(reverse("child_detail", args=[cast.child.pk]))
    therapist.get(reverse("session_detail", args=[cast.session.pk]))
    therapist.post(
        reverse("session_edit", args=[cast.session.pk]),
        {"date": "2026-10-01", "kind": "group", "title": "New title", "notes": NOTES},
    )
    b"".join(
        therapist.get(  # type: ignore[attr-defined]
            reverse("recording_audio", args=[cast.recording.pk])
        ).streaming_content
    )
    api = APIClient()
    api.force_authenticate(cast.admin)
    api.get(f"/api/v1/sessions/{cast.session.pk}/")
    api.get(f"/api/v1/children/{cast.child.pk}/")
    assert AuditEvent.objects.count() >= 6

    forbidden = [
        NOTES,
        "birthday",
        cast.child.given_name,
        cast.child.family_name,
        "RIFF",
        "New title",
    ]
    for event in AuditEvent.objects.all():
        text = " ".join(str(getattr(event, field.attname)) for field in AuditEvent._meta.fields)
        for word in forbidden:
            assert word not in text, f"{word!r} leaked into the audit log: {text}"


def test_record_keeps_ids_only_when_objects_are_deleted(cast: Cast) -> None:
    session_id = cast.session.pk
    audit.record(
        actor=cast.therapist, action=AuditAction.DELETE, obj=cast.session, child=cast.child
    )
    TherapySession.objects.filter(pk=session_id).delete()
    event = _only(action=AuditAction.DELETE)
    assert event.object_id == str(session_id)


# --- reading the log --------------------------------------------------------------------------


def _event(clinic_id: Any, action: str = AuditAction.VIEW, **kw: Any) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action, object_type="child", clinic_id=clinic_id, actor_label="someone@test", **kw
    )


def test_clinic_admin_reads_their_clinics_log_only(cast: Cast) -> None:
    _event(cast.clinic.pk, object_id="ours-1")
    _event(cast.other_clinic.pk, object_id="theirs-1")
    page = _client(cast.admin).get(reverse("console_audit"))
    assert page.status_code == 200
    # (force_login also writes each admin's own login entry into their clinic's log.)
    events = [e for e in page.context["page"].object_list if e.object_type == "child"]
    assert {e.object_id for e in events} == {"ours-1"}
    other = _client(cast.other_admin).get(reverse("console_audit"))
    theirs = [e for e in other.context["page"].object_list if e.object_type == "child"]
    assert {e.object_id for e in theirs} == {"theirs-1"}


@pytest.mark.parametrize("persona", ["therapist", "guardian"])
def test_only_clinic_admins_read_the_log(cast: Cast, persona: str) -> None:
    assert _client(cast.user(persona)).get(reverse("console_audit")).status_code == 404


def test_audit_log_is_filtered_by_action_and_paginated(cast: Cast) -> None:
    for i in range(105):
        _event(cast.clinic.pk, object_id=f"v{i}")
    _event(cast.clinic.pk, action=AuditAction.DOWNLOAD, object_id="d1")
    client = _client(cast.admin)
    first = client.get(reverse("console_audit"))
    assert len(first.context["page"].object_list) == 100
    assert first.context["page"].has_next()
    downloads = client.get(reverse("console_audit"), {"action": "download"})
    assert [e.object_id for e in downloads.context["page"].object_list] == ["d1"]


def test_audit_log_is_newest_first(cast: Cast) -> None:
    old = _event(cast.clinic.pk, object_id="old")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    _event(cast.clinic.pk, object_id="new")
    page = _client(cast.admin).get(reverse("console_audit"), {"action": "view"})
    assert [e.object_id for e in page.context["page"].object_list] == ["new", "old"]


# --- pages and endpoints that show a child's data without changing it -----------------------


def test_opening_the_session_edit_form_is_a_recorded_read(cast: Cast) -> None:
    response = _client(cast.therapist).get(reverse("session_edit", args=[cast.session.pk]))
    assert response.status_code == 200
    event = _only(action=AuditAction.VIEW, object_type="therapysession")
    assert (event.actor, event.object_id, event.child_id) == (
        cast.therapist,
        str(cast.session.pk),
        cast.child.pk,
    )


def test_opening_the_report_edit_form_is_a_recorded_read(cast: Cast) -> None:
    from sessions.families import services as family_services

    report = family_services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=cast.session.date,
        period_end=cast.session.date,
        sessions=[cast.session],
    )
    response = _client(cast.therapist).get(reverse("report_edit", args=[report.pk]))
    assert response.status_code == 200
    event = _only(action=AuditAction.VIEW, object_type="progressreport")
    assert (event.actor, event.object_id, event.child_id) == (
        cast.therapist,
        str(report.pk),
        cast.child.pk,
    )


def test_the_console_assignments_page_is_a_recorded_read(cast: Cast) -> None:
    response = _client(cast.admin).get(reverse("console_assignments", args=[cast.child.pk]))
    assert response.status_code == 200
    event = _only(action=AuditAction.VIEW, object_type="child")
    assert (event.actor, event.object_id, event.clinic_id) == (
        cast.admin,
        str(cast.child.pk),
        cast.clinic.pk,
    )


def test_reading_an_upload_through_the_api_is_recorded(cast: Cast) -> None:
    from sessions.workspace import uploads
    from tests.conftest import grant_consent

    grant_consent(cast.child, "recording")
    upload = uploads.upload_create(
        session=cast.session,
        filename="take.wav",
        size_bytes=1000,
        content_type="audio/wav",
        created_by=cast.therapist,
    )
    api = APIClient()
    api.force_authenticate(cast.therapist)
    AuditEvent.objects.all().delete()
    response = api.get(reverse("api-workspace-upload-detail", args=[upload.pk]))
    assert response.status_code == 200
    event = _only(action=AuditAction.VIEW)
    assert (event.actor, event.object_id, event.child_id) == (
        cast.therapist,
        str(upload.pk),
        cast.child.pk,
    )


# --- failed logins reach the admins of the account's clinics ----------------------------------


def test_a_failed_web_login_reaches_the_accounts_clinic_log(cast: Cast) -> None:
    Client(REMOTE_ADDR="192.0.2.61").post(
        reverse("account_login"), {"login": cast.therapist.email.upper(), "password": "nope-x"}
    )
    event = _only(action=AuditAction.LOGIN_FAILED)
    assert (event.actor, event.object_type, event.object_id, event.clinic_id) == (
        None,
        "user",
        str(cast.therapist.pk),
        cast.clinic.pk,
    )
    assert event.ip_address == "192.0.2.61"
    assert cast.therapist.email not in str(event.detail)
    page = _client(cast.admin).get(reverse("console_audit"), {"action": "login_failed"})
    assert 'data-label="Action">Failed login</td>' in page.content.decode()
    assert f"user {cast.therapist.email}</td>" in page.content.decode()
    elsewhere = _client(cast.other_admin).get(reverse("console_audit"))
    assert cast.therapist.email not in elsewhere.content.decode()
    assert "Failed login</td>" not in elsewhere.content.decode()


def test_a_failed_login_of_an_unknown_address_names_no_clinic(cast: Cast) -> None:
    Client().post(reverse("account_login"), {"login": "nobody@sunny.test", "password": "nope-x"})
    event = _only(action=AuditAction.LOGIN_FAILED)
    assert (event.object_id, event.clinic_id) == ("", None)


def test_a_wrong_api_one_time_code_reaches_the_accounts_clinic_log(cast: Cast) -> None:
    from tests.sessions.totp import enrol_totp, wrong_code

    secret = enrol_totp(cast.therapist)
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"email": cast.therapist.email, "password": PASSWORD, "otp": wrong_code(secret)},
        format="json",
    )
    assert response.status_code == 400
    event = _only(action=AuditAction.LOGIN_FAILED)
    assert (event.object_id, event.clinic_id, event.detail) == (
        str(cast.therapist.pk),
        cast.clinic.pk,
        {"reason": "otp"},
    )


def test_a_wrong_web_one_time_code_reaches_the_accounts_clinic_log(cast: Cast) -> None:
    from tests.sessions.totp import enrol_totp, wrong_code

    secret = enrol_totp(cast.therapist)
    client = Client()
    client.post(reverse("account_login"), {"login": cast.therapist.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": wrong_code(secret)})
    assert response.status_code == 200
    event = _only(action=AuditAction.LOGIN_FAILED)
    assert (event.object_id, event.clinic_id, event.detail["reason"]) == (
        str(cast.therapist.pk),
        cast.clinic.pk,
        "otp",
    )
