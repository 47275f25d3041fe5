"""The API for every record: what each endpoint answers, writes and logs (who may call them is
in tests/authz/entries_records_api.py)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sessions import tokens
from sessions.exercises.models import Assignment, Exercise
from sessions.families import services as family_services
from sessions.families.models import ConsentRecord, ProgressReport, ReportStatus
from sessions.models import AuditEvent, Recording
from sessions.models.audit import AuditAction
from sessions.workspace import services as workspace_services
from sessions.workspace.synthetic import done_run, first_segment_key
from tests.conftest import Cast
from tests.exercises.factories import make_exercise
from tests.factories import ClinicFactory, recording_for
from tests.families.helpers import consent, publish_texts

pytestmark = pytest.mark.django_db


def _token_client(user: Any) -> APIClient:
    """A client as an integration is one: an API token, no browser session."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {tokens.token_issue(user=user, mfa_verified=True)}"
    )
    return client


def _report(cast: Cast, *, released: bool) -> ProgressReport:
    report = family_services.report_create(
        child=cast.child,
        actor=cast.therapist,
        title="Spring",
        period_start=cast.session.date,
        period_end=cast.session.date,
        sessions=[cast.session],
    )
    if released:
        report = family_services.report_release(report=report, actor=cast.therapist)
    return report


def _entries(**filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters))


# --- reports ------------------------------------------------------------------------------------


def test_staff_list_every_report_and_the_family_only_released_ones(cast: Cast) -> None:
    consent(cast.child, "sharing")
    released = _report(cast, released=True)
    draft = _report(cast, released=False)
    url = reverse("api-child-reports", args=[cast.child.pk])
    staff = _token_client(cast.therapist).get(url).json()
    assert {r["id"] for r in staff} == {str(released.pk), str(draft.pk)}
    family = _token_client(cast.guardian).get(url).json()
    assert [r["id"] for r in family] == [str(released.pk)]
    assert family[0]["status"] == ReportStatus.RELEASED
    family_services.consent_revoke(child=cast.child, purpose="sharing", actor=cast.admin)
    assert _token_client(cast.guardian).get(url).json() == []
    listed = _entries(action=AuditAction.LIST, object_type="progressreport")
    assert {e.actor_id for e in listed} == {cast.therapist.pk, cast.guardian.pk}


def test_report_detail_carries_its_figures_and_is_logged(cast: Cast) -> None:
    consent(cast.child, "sharing")
    report = _report(cast, released=True)
    body = _token_client(cast.guardian).get(reverse("api-report", args=[report.pk])).json()
    assert body["title"] == "Spring"
    assert body["sessions"] == [str(cast.session.pk)]
    assert body["summary"] == report.summary and body["summary"]
    assert _entries(action=AuditAction.VIEW, object_id=str(report.pk), actor=cast.guardian)


def test_report_pdf_through_the_api_is_a_pdf_logged_as_an_export(cast: Cast) -> None:
    consent(cast.child, "sharing")
    report = _report(cast, released=True)
    url = reverse("api-report-pdf", args=[report.pk])
    response = _token_client(cast.guardian).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    (export,) = _entries(action=AuditAction.EXPORT, object_id=str(report.pk))
    assert (export.actor, export.path) == (cast.guardian, url)


def test_releasing_a_report_needs_the_sharing_consent(cast: Cast) -> None:
    report = _report(cast, released=False)
    client = _token_client(cast.therapist)
    url = reverse("api-report-release", args=[report.pk])
    refused = client.post(url)
    assert refused.status_code == 409
    assert "stays a draft" in refused.json()["detail"]
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT
    consent(cast.child, "sharing")
    released = client.post(url)
    assert released.status_code == 200
    assert released.json()["status"] == ReportStatus.RELEASED
    report.refresh_from_db()
    assert report.released_by == cast.therapist
    # Twice: nothing more happens.
    assert client.post(url).status_code == 200
    assert len(_entries(action=AuditAction.RELEASE, object_id=str(report.pk))) == 1


# --- consent ------------------------------------------------------------------------------------


def test_staff_read_each_purpose_with_its_history(cast: Cast) -> None:
    consent(cast.child, "recording", "training")
    family_services.consent_revoke(child=cast.child, purpose="training", actor=cast.admin)
    body = _token_client(cast.therapist).get(reverse("api-child-consents", args=[cast.child.pk]))
    purposes = {p["purpose"]: p for p in body.json()["purposes"]}
    assert set(purposes) == {"recording", "analysis", "sharing", "training"}
    assert purposes["recording"]["given"] and purposes["recording"]["live"]["given_by"]
    assert purposes["recording"]["current_text_version"] == 1
    assert not purposes["training"]["given"]
    assert purposes["training"]["history"][0]["revoked_at"]
    assert not purposes["analysis"]["history"]


def test_admin_grants_consent_against_the_current_text_once(cast: Cast) -> None:
    client = _token_client(cast.admin)
    url = reverse("api-consent-grant", args=[cast.child.pk, "analysis"])
    no_text = client.post(url, {"given_by": "Carol", "text_version": 1}, format="json")
    assert no_text.status_code == 409
    assert "publish one in the console" in no_text.json()["detail"]
    publish_texts(cast.clinic)
    family_services.consent_text_publish(
        clinic=cast.clinic, purpose="analysis", body="I agree, v2.", actor=cast.admin
    )
    stale = client.post(url, {"given_by": "Carol", "text_version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["errors"] == {"text_version": ["Expected 2."]}
    blank = client.post(url, {"given_by": "  ", "text_version": 2}, format="json")
    assert blank.status_code == 400
    granted = client.post(url, {"given_by": "Carol", "text_version": 2}, format="json")
    assert granted.status_code == 201
    assert (granted.json()["text_version"], granted.json()["given_by"]) == (2, "Carol")
    again = client.post(url, {"given_by": "Carol", "text_version": 2}, format="json")
    assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]
    assert ConsentRecord.objects.filter(child=cast.child, purpose="analysis").count() == 1
    assert (
        client.post(reverse("api-consent-grant", args=[cast.child.pk, "nope"]), {}).status_code
        == 404
    )


def test_revoking_recording_consent_asks_for_the_code_then_erases(cast: Cast) -> None:
    consent(cast.child, "recording")
    client = _token_client(cast.admin)
    url = reverse("api-consent-revoke", args=[cast.child.pk, "recording"])
    unconfirmed = client.post(url, {"understood": True, "confirm_code": "WRONG"}, format="json")
    assert unconfirmed.status_code == 400
    assert "confirm_code" in unconfirmed.json()["errors"]
    not_understood = client.post(url, {"understood": False, "confirm_code": cast.child.code})
    assert not_understood.status_code == 400
    assert Recording.objects.filter(session__child=cast.child).exists()  # nothing deleted
    done = client.post(url, {"understood": True, "confirm_code": cast.child.code}, format="json")
    assert done.status_code == 200
    assert done.json()["revoked"] is True
    assert done.json()["erased"]["recordings"] == 1
    assert not Recording.objects.filter(session__child=cast.child).exists()
    again = client.post(url, {"understood": True, "confirm_code": cast.child.code}, format="json")
    assert again.json() == {"revoked": False, "record": None, "erased": None}


# --- the family archive -------------------------------------------------------------------------


def test_the_family_downloads_the_childs_archive_with_a_token(cast: Cast) -> None:
    url = reverse("api-child-archive", args=[cast.child.pk])
    response = _token_client(cast.guardian).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    assert "child.json" in archive.namelist()
    (export,) = _entries(action=AuditAction.EXPORT, child_id=cast.child.pk)
    assert (export.actor, export.path) == (cast.guardian, url)
    assert _token_client(cast.therapist).get(url).status_code == 403


# --- exercises and assignments ------------------------------------------------------------------


def test_therapists_create_and_change_exercises(cast: Cast) -> None:
    client = _token_client(cast.therapist)
    created = client.post(
        reverse("api-exercises"),
        {"title": "Hello", "phrase": "Hi there!", "target_emotion": "happy", "difficulty": 2},
        format="json",
    )
    assert created.status_code == 201, created.json()
    exercise = Exercise.objects.get(pk=created.json()["id"])
    assert (exercise.clinic, exercise.difficulty, exercise.created_by) == (
        cast.clinic,
        2,
        cast.therapist,
    )
    bad = client.post(
        reverse("api-exercises"),
        {"title": "x" * 121, "phrase": "Hi", "target_emotion": "smug"},
        format="json",
    )
    assert bad.status_code == 400
    assert {"title", "target_emotion"} <= set(bad.json()["errors"])
    url = reverse("api-exercise", args=[exercise.pk])
    changed = client.patch(url, {"phrase": "Hello, friend!", "archived": True}, format="json")
    assert changed.status_code == 200
    assert changed.json()["phrase"] == "Hello, friend!" and changed.json()["archived"] is True
    listed = client.get(reverse("api-exercises")).json()
    assert str(exercise.pk) not in {e["id"] for e in listed["results"]}
    archived = client.get(reverse("api-exercises"), {"archived": "1"}).json()
    assert str(exercise.pk) in {e["id"] for e in archived["results"]}
    update = _entries(action=AuditAction.UPDATE, object_id=str(exercise.pk))
    assert sorted(update[0].detail["fields"]) == ["archived", "phrase"]


def test_therapists_assign_change_and_end_assignments(cast: Cast) -> None:
    exercise = make_exercise(cast.clinic)
    client = _token_client(cast.therapist)
    url = reverse("api-child-assignments", args=[cast.child.pk])
    first = client.post(url, {"exercise": str(exercise.pk), "weekdays": [0, 2]}, format="json")
    assert first.status_code == 201
    assert first.json()["weekdays"] == [0, 2]
    again = client.post(url, {"exercise": str(exercise.pk), "note": "Evenings"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Assignment.objects.filter(child=cast.child).count() == 1
    foreign = make_exercise(ClinicFactory.create())
    refused = client.post(url, {"exercise": str(foreign.pk)}, format="json")
    assert refused.status_code == 400 and "exercise" in refused.json()["errors"]
    backwards = client.post(
        url,
        {"exercise": str(exercise.pk), "starts_on": "2026-05-02", "ends_on": "2026-05-01"},
        format="json",
    )
    assert backwards.status_code == 400
    detail = reverse("api-exercise-assignment", args=[first.json()["id"]])
    changed = client.patch(detail, {"note": "Mornings", "weekdays": [5]}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["note"], changed.json()["weekdays"]) == ("Mornings", [5])
    ended = client.patch(detail, {"ended": True}, format="json")
    assert ended.status_code == 200
    assert Assignment.objects.get(pk=first.json()["id"]).ended_at is not None
    late = client.patch(detail, {"note": "Too late"}, format="json")
    assert late.status_code == 400
    assert "has ended" in late.json()["detail"]


# --- recordings and segments --------------------------------------------------------------------


def test_a_client_finds_the_recordings_of_its_session_again(cast: Cast) -> None:
    second = recording_for(cast.session)
    response = _token_client(cast.therapist).get(
        reverse("api-session-recordings", args=[cast.session.pk])
    )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [r["id"] for r in body["recordings"]] == [str(cast.recording.pk), str(second.pk)]
    assert {"status", "progress", "summary"} <= set(body["recordings"][0])
    (listed,) = _entries(action=AuditAction.LIST, object_type="recording")
    assert listed.detail == {"count": 2}


def test_segments_show_the_corrected_view_and_the_models_own(cast: Cast) -> None:
    run = done_run(cast.recording, segments=4)
    key = first_segment_key(run)
    original = run.segments.order_by("index").first()
    assert original is not None
    emotion = "sad" if original.emotion != "sad" else "happy"
    workspace_services.correction_apply(
        recording=cast.recording,
        author=cast.therapist,
        action="label",
        segment=key,
        emotion=emotion,
        note="Quiet after the break",
    )
    url = reverse("api-recording-segments", args=[cast.recording.pk])
    corrected = _token_client(cast.therapist).get(url).json()
    assert corrected["count"] == 4 and corrected["view"] == "corrected"
    first = corrected["segments"][0]
    assert (first["emotion"], first["model_emotion"]) == (emotion, original.emotion)
    assert first["corrected"] and first["emotion_corrected"]
    assert first["model_confidence"] == pytest.approx(original.confidence)
    assert first["va_source"] == "label_mapping"
    assert first["note"] == "Quiet after the break"
    # The admin reads the analysis but not the therapist's notes.
    admin_view = _token_client(cast.admin).get(url).json()
    assert "note" not in admin_view["segments"][0]
    model = _token_client(cast.therapist).get(url, {"view": "model"}).json()
    assert model["segments"][0]["emotion"] == original.emotion
    assert set(model["segments"][0]["probabilities"]) >= {original.emotion}
    assert _token_client(cast.therapist).get(url, {"view": "raw"}).status_code == 400
    reads = _entries(action=AuditAction.VIEW, object_type="segments")
    assert sorted(e.detail["view"] for e in reads) == ["corrected", "corrected", "model"]


def test_segments_of_a_recording_not_analysed_yet_are_an_empty_list(cast: Cast) -> None:
    body = _token_client(cast.therapist).get(
        reverse("api-recording-segments", args=[cast.recording.pk])
    )
    assert body.status_code == 200
    assert body.json() == {
        "recording": str(cast.recording.pk),
        "run": None,
        "view": "corrected",
        "count": 0,
        "segments": [],
    }


def test_exports_through_the_api_match_the_workspace_downloads(cast: Cast) -> None:
    done_run(cast.recording, segments=3)
    client = _token_client(cast.therapist)
    csv_url = reverse("api-recording-export", args=[cast.recording.pk, "segments.csv"])
    response = client.get(csv_url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert len(response.content.decode().strip().splitlines()) == 4  # a header and 3 segments
    document = client.get(
        reverse("api-recording-export", args=[cast.recording.pk, "analysis.json"])
    )
    assert len(document.json()["segments"]) == 3
    assert (
        client.get(reverse("api-recording-export", args=[cast.recording.pk, "x.exe"])).status_code
        == 404
    )
    exports = _entries(action=AuditAction.EXPORT, object_id=str(cast.recording.pk))
    assert {e.path for e in exports} >= {csv_url}


def test_every_record_endpoint_is_in_the_openapi_schema(cast: Cast) -> None:
    schema = _token_client(cast.therapist).get(reverse("api-schema"), {"format": "json"}).json()
    paths = schema["paths"]
    expected = {
        "/api/v1/children/{child_id}/reports/": {"get"},
        "/api/v1/reports/{report_id}/": {"get"},
        "/api/v1/reports/{report_id}/pdf/": {"get"},
        "/api/v1/reports/{report_id}/release/": {"post"},
        "/api/v1/children/{child_id}/consents/": {"get"},
        "/api/v1/children/{child_id}/consents/{purpose}/grant/": {"post"},
        "/api/v1/children/{child_id}/consents/{purpose}/revoke/": {"post"},
        "/api/v1/children/{child_id}/export/": {"get"},
        "/api/v1/exercises/": {"get", "post"},
        "/api/v1/exercises/{exercise_id}/": {"get", "patch"},
        "/api/v1/children/{child_id}/assignments/": {"post"},
        "/api/v1/exercises/assignments/{assignment_id}/": {"get", "patch"},
        "/api/v1/sessions/{session_id}/recordings/": {"get", "post"},
        "/api/v1/recordings/{recording_id}/segments/": {"get"},
        "/api/v1/recordings/{recording_id}/exports/{filename}": {"get"},
        "/api/v1/audit/": {"get"},
    }
    assert {
        path: set(paths.get(path, {})) & {"get", "post", "patch"} for path in expected
    } == expected
