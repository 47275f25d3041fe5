"""Consent texts and records, and the four gates: recording, analysis, sharing, training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from analysis import services as analysis_services
from analysis.models import AnalysisRun
from sessions.families import selectors, services
from sessions.families.consent import ConsentMissing, has_consent
from sessions.families.models import ConsentPurpose, ConsentRecord, ConsentText, ReportStatus
from sessions.models import AuditEvent, Recording, RecordingStatus
from tests.analysis.audio_factory import write_speechlike_wav
from tests.conftest import Cast
from tests.factories import post_recording, recording_for
from tests.families.helpers import analyse, consent, new_session, publish_texts

pytestmark = pytest.mark.django_db


# --- texts ------------------------------------------------------------------------------------


def test_editing_a_consent_text_creates_a_new_version_and_records_keep_theirs(cast: Cast) -> None:
    v1 = services.consent_text_publish(
        clinic=cast.clinic, purpose="recording", body="Version one wording.", actor=cast.admin
    )
    record = services.consent_grant(
        child=cast.child, purpose="recording", given_by="Carol", actor=cast.admin
    )
    v2 = services.consent_text_publish(
        clinic=cast.clinic, purpose="recording", body="Version two wording.", actor=cast.admin
    )
    assert (v1.version, v2.version) == (1, 2)
    v1.refresh_from_db()
    assert v1.body == "Version one wording."  # never edited in place
    record.refresh_from_db()
    assert record.text_id == v1.pk
    assert selectors.consent_text_current(clinic=cast.clinic, purpose="recording") == v2


def test_publishing_the_same_wording_again_makes_no_new_version(cast: Cast) -> None:
    first = services.consent_text_publish(
        clinic=cast.clinic, purpose="sharing", body="Same words.", actor=cast.admin
    )
    again = services.consent_text_publish(
        clinic=cast.clinic, purpose="sharing", body="  Same words. ", actor=cast.admin
    )
    assert again.pk == first.pk
    assert ConsentText.objects.filter(clinic=cast.clinic, purpose="sharing").count() == 1


def test_consent_texts_are_per_clinic(cast: Cast) -> None:
    services.consent_text_publish(
        clinic=cast.other_clinic, purpose="recording", body="Far.", actor=cast.other_admin
    )
    with pytest.raises(services.ConsentTextMissing):
        services.consent_grant(
            child=cast.child, purpose="recording", given_by="Carol", actor=cast.admin
        )


def test_admin_edits_text_through_the_console(client: Any, cast: Cast) -> None:
    client.force_login(cast.admin)
    url = reverse("console_consent_text", kwargs={"purpose": "analysis"})
    assert client.post(url, {"body": "First."}).status_code == 302
    assert client.post(url, {"body": "Second."}).status_code == 302
    versions = list(
        ConsentText.objects.filter(clinic=cast.clinic, purpose="analysis").values_list(
            "version", "body"
        )
    )
    assert sorted(versions) == [(1, "First."), (2, "Second.")]
    assert AuditEvent.objects.filter(action="create", object_type="consenttext").count() == 2


# --- records ----------------------------------------------------------------------------------


def test_grant_records_who_when_and_text_version_and_is_idempotent(cast: Cast) -> None:
    publish_texts(cast.clinic)
    first = services.consent_grant(
        child=cast.child, purpose="analysis", given_by="Carol Parent", actor=cast.admin
    )
    second = services.consent_grant(
        child=cast.child, purpose="analysis", given_by="Carol Parent", actor=cast.admin
    )
    assert first.pk == second.pk
    assert first.recorded_by == cast.admin and first.recorded_at is not None
    assert first.text.version == 1 and first.given_by == "Carol Parent"
    assert ConsentRecord.objects.filter(child=cast.child).count() == 1


def test_revocation_keeps_the_record_and_closes_the_gate(cast: Cast) -> None:
    consent(cast.child, "sharing")
    assert has_consent(cast.child, "sharing")
    result = services.consent_revoke(child=cast.child, purpose="sharing", actor=cast.admin)
    assert result.record is not None and result.record.revoked_by == cast.admin
    assert not has_consent(cast.child, "sharing")
    assert ConsentRecord.objects.filter(child=cast.child, purpose="sharing").count() == 1
    # Revoking again finds nothing to revoke; giving consent again makes a new record.
    assert (
        services.consent_revoke(child=cast.child, purpose="sharing", actor=cast.admin).record
        is None
    )
    services.consent_grant(child=cast.child, purpose="sharing", given_by="Carol", actor=cast.admin)
    assert ConsentRecord.objects.filter(child=cast.child, purpose="sharing").count() == 2


def test_consent_audit_entries_hold_no_names(cast: Cast) -> None:
    publish_texts(cast.clinic)
    services.consent_grant(
        child=cast.child, purpose="recording", given_by="Carol Parent", actor=cast.admin
    )
    services.consent_revoke(child=cast.child, purpose="recording", actor=cast.admin)
    for event in AuditEvent.objects.filter(child_id=cast.child.pk):
        text = str(event.detail)
        assert "Carol" not in text and cast.child.given_name not in text


def test_therapist_sees_consent_but_cannot_record_it(client: Any, cast: Cast) -> None:
    publish_texts(cast.clinic)
    client.force_login(cast.therapist)
    page = client.get(reverse("child_consent", kwargs={"child_id": cast.child.pk}))
    assert page.status_code == 200 and b"Not given" in page.content
    url = reverse("child_consent_grant", kwargs={"child_id": cast.child.pk, "purpose": "recording"})
    assert client.post(url, {"given_by": "Carol", "text_shown": "on"}).status_code == 403
    assert not has_consent(cast.child, "recording")


def test_admin_records_consent_with_the_form(client: Any, cast: Cast) -> None:
    publish_texts(cast.clinic)
    client.force_login(cast.admin)
    url = reverse("child_consent_grant", kwargs={"child_id": cast.child.pk, "purpose": "recording"})
    missing = client.post(url, {"given_by": "Carol"})  # did not tick "text shown"
    assert missing.status_code == 200 and not has_consent(cast.child, "recording")
    assert client.post(url, {"given_by": "Carol", "text_shown": "on"}).status_code == 302
    assert has_consent(cast.child, "recording")


# --- gate 1: recording ------------------------------------------------------------------------


def test_upload_without_recording_consent_is_refused_with_readable_detail(
    api: Any, cast: Cast, tmp_path: Path
) -> None:
    before = Recording.objects.count()
    response = post_recording(
        api,
        cast.session,
        write_speechlike_wav(tmp_path / "s.wav", seconds=3.0),
        user=cast.therapist,
    )
    assert response.status_code == 403
    assert "consent" in response.json()["detail"].lower()
    assert Recording.objects.count() == before


def test_recording_create_raises_consent_missing_without_recording_consent(
    cast: Cast, tmp_path: Path
) -> None:
    from django.core.files import File

    path = write_speechlike_wav(tmp_path / "s.wav", seconds=3.0)
    consent(cast.child, "analysis", "sharing", "training")  # everything but recording
    with path.open("rb") as handle, pytest.raises(ConsentMissing) as caught:
        analysis_services.recording_create(
            session=cast.session, uploaded_file=File(handle), uploaded_by=cast.therapist
        )
    assert caught.value.purpose == "recording"


def test_upload_is_refused_again_after_recording_consent_is_revoked(
    api: Any, cast: Cast, tmp_path: Path
) -> None:
    consent(cast.child, "recording")
    services.consent_revoke(child=cast.child, purpose="recording", actor=cast.admin)
    response = post_recording(
        api,
        cast.session,
        write_speechlike_wav(tmp_path / "s.wav", seconds=3.0),
        user=cast.therapist,
    )
    assert response.status_code == 403


# --- gate 2: analysis -------------------------------------------------------------------------


def test_recording_without_analysis_consent_waits_saying_why(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    consent(cast.child, "recording")
    response = post_recording(
        api,
        cast.session,
        write_speechlike_wav(tmp_path / "s.wav", seconds=3.0),
        user=cast.therapist,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == RecordingStatus.AWAITING_CONSENT
    assert "consent" in body["error"].lower()
    assert not AnalysisRun.objects.filter(recording_id=body["id"]).exists()


def test_granting_analysis_consent_queues_the_waiting_recordings_of_that_child_only(
    cast: Cast, active_model: Any
) -> None:
    waiting = recording_for(cast.session)
    Recording.objects.filter(pk=waiting.pk).update(status=RecordingStatus.AWAITING_CONSENT)
    other_session = new_session(child=cast.other_child, therapist=cast.other_therapist)
    other_waiting = recording_for(other_session)
    Recording.objects.filter(pk=other_waiting.pk).update(status=RecordingStatus.AWAITING_CONSENT)

    consent(cast.child, "analysis", actor=cast.admin)

    waiting.refresh_from_db()
    other_waiting.refresh_from_db()
    assert waiting.status == RecordingStatus.QUEUED
    assert AnalysisRun.objects.filter(recording=waiting).count() == 1
    assert other_waiting.status == RecordingStatus.AWAITING_CONSENT
    assert not AnalysisRun.objects.filter(recording=other_waiting).exists()
    event = AuditEvent.objects.get(
        object_type="consentrecord", action="create", child_id=cast.child.pk
    )
    assert event.detail["recordings_queued"] == 1


# --- gate 3: sharing --------------------------------------------------------------------------


def test_release_without_sharing_consent_is_refused_and_stays_draft(cast: Cast) -> None:
    report = services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=cast.session.date,
        period_end=cast.session.date,
        sessions=[cast.session],
    )
    with pytest.raises(ConsentMissing):
        services.report_release(report=report, actor=cast.therapist)
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT


def test_release_button_explains_missing_sharing_consent(client: Any, cast: Cast) -> None:
    report = services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=cast.session.date,
        period_end=cast.session.date,
        sessions=[cast.session],
    )
    client.force_login(cast.therapist)
    response = client.post(reverse("report_release", kwargs={"report_id": report.pk}), follow=True)
    assert b"no guardian consent for sharing reports" in response.content
    report.refresh_from_db()
    assert report.status == ReportStatus.DRAFT


# --- gate 4: training -------------------------------------------------------------------------


def test_model_training_uses_only_children_with_training_consent(cast: Cast) -> None:
    """The training path (sessions.workspace.selectors.corrected_segments, read by train_head)
    takes therapist-corrected segments only of children whose training consent holds now."""
    from sessions.workspace.models import SegmentEdit
    from sessions.workspace.selectors import corrected_segments

    other_recording = recording_for(
        new_session(child=cast.other_child, therapist=cast.other_therapist)
    )
    edits = {}
    for child, recording in ((cast.child, cast.recording), (cast.other_child, other_recording)):
        run = analyse(recording, {"happy": 1.0})
        edits[child.pk] = SegmentEdit.objects.create(
            run=run,
            operation="relabel",
            start_s=0.0,
            end_s=1.5,
            speaker="child",
            emotion="sad",
            emotion_by_therapist=True,
        )
    consent(cast.child, "recording", "analysis")  # no training consent
    consent(cast.other_child, "recording", "analysis", "training")
    assert corrected_segments(clinic=cast.clinic) == [edits[cast.other_child.pk]]
    services.consent_revoke(
        child=cast.other_child, purpose=ConsentPurpose.TRAINING, actor=cast.admin
    )
    assert corrected_segments(clinic=cast.clinic) == []
