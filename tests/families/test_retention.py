"""Audio retention: old audio goes, derived results stay where consent allows; idempotent,
reported in the log, the audit log and by the management command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from analysis.models import AnalysisRun, Segment
from sessions.families import services
from sessions.families.retention import retention_apply
from sessions.models import AuditEvent, Recording
from tests.conftest import Cast
from tests.factories import recording_for
from tests.families.helpers import analyse, consent, new_session, practice_attempt

pytestmark = pytest.mark.django_db


def _age(recording: Recording, days: int) -> None:
    Recording.objects.filter(pk=recording.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )


def _path(name: str | None) -> Path:
    return Path(settings.MEDIA_ROOT) / str(name)


@pytest.fixture
def aged(cast: Cast) -> dict[str, Any]:
    """The clinic keeps audio 30 days. The child has an old and a new recording; another child
    (whose analysis consent was revoked) has an old one."""
    cast.clinic.audio_retention_days = 30
    cast.clinic.save()
    consent(cast.child)
    consent(cast.other_child)
    old = cast.recording
    new = recording_for(new_session(child=cast.child, therapist=cast.therapist))
    other_old = recording_for(new_session(child=cast.other_child, therapist=cast.other_therapist))
    for recording in (old, new, other_old):
        analyse(recording, {"happy": 0.6, "neutral": 0.4})
    _age(old, 45)
    _age(other_old, 40)
    services.consent_revoke(child=cast.other_child, purpose="analysis", actor=cast.admin)
    return {
        "old": old,
        "new": new,
        "other_old": other_old,
        "files": {
            k: _path(v.file.name)
            for k, v in {"old": old, "new": new, "other_old": other_old}.items()
        },
    }


def test_old_audio_is_deleted_and_derived_results_kept_with_analysis_consent(
    aged: dict[str, Any],
) -> None:
    [outcome] = retention_apply()
    assert outcome.recordings_audio_deleted == 2
    old = Recording.objects.get(pk=aged["old"].pk)
    assert old.audio_deleted_at is not None and not old.file
    assert not aged["files"]["old"].exists()
    # Analysis consent holds: the summary, segments and frames stay.
    assert AnalysisRun.objects.filter(recording=old).count() == 1
    assert Segment.objects.filter(run__recording=old).count() == 2
    # Newer audio is kept.
    new = Recording.objects.get(pk=aged["new"].pk)
    assert new.audio_deleted_at is None and aged["files"]["new"].exists()


def test_derived_results_go_too_where_analysis_consent_was_revoked(aged: dict[str, Any]) -> None:
    [outcome] = retention_apply()
    other = Recording.objects.get(pk=aged["other_old"].pk)
    assert other.audio_deleted_at is not None and not aged["files"]["other_old"].exists()
    assert not AnalysisRun.objects.filter(recording=other).exists()
    assert outcome.analysis_runs_deleted == 1


def test_retention_is_idempotent(aged: dict[str, Any]) -> None:
    retention_apply()
    [second] = retention_apply()
    assert second.recordings_audio_deleted == 0 and second.analysis_runs_deleted == 0
    assert Recording.objects.filter(audio_deleted_at__isnull=False).count() == 2


def test_dry_run_deletes_nothing_and_says_what_it_would(aged: dict[str, Any]) -> None:
    [outcome] = retention_apply(dry_run=True)
    assert outcome.dry_run and outcome.recordings_audio_deleted == 2
    assert outcome.analysis_runs_deleted == 1
    assert all(f.exists() for f in aged["files"].values())
    assert not Recording.objects.filter(audio_deleted_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(object_type="retention").exists()


def test_each_run_is_audited_with_counts_only(aged: dict[str, Any], cast: Cast) -> None:
    retention_apply()
    event = AuditEvent.objects.get(object_type="retention")
    assert event.clinic_id == cast.clinic.pk and event.action == "delete"
    assert event.detail["recordings_audio_deleted"] == 2
    assert event.detail["retention_days"] == 30
    assert "clip.wav" not in str(event.detail) and cast.child.given_name not in str(event.detail)


def test_retention_logs_what_it_deleted(aged: dict[str, Any], caplog: Any) -> None:
    with caplog.at_level("INFO", logger="sessions.families.retention"):
        retention_apply()
    assert "audio_deleted=2" in caplog.text


def test_clinics_without_a_retention_period_keep_everything(cast: Cast) -> None:
    _age(cast.recording, 4000)
    assert retention_apply() == []
    cast.recording.refresh_from_db()
    assert cast.recording.audio_deleted_at is None and _path(cast.recording.file.name).exists()


def test_other_clinics_are_not_touched(aged: dict[str, Any], cast: Cast) -> None:
    far_child_session = new_session(child__clinic=cast.other_clinic)
    far = recording_for(far_child_session)
    _age(far, 400)
    retention_apply()
    far.refresh_from_db()
    assert far.audio_deleted_at is None and _path(far.file.name).exists()


def test_old_practice_audio_is_deleted_through_the_exercises_app(
    aged: dict[str, Any], cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    from sessions.exercises.models import Attempt

    attempt = practice_attempt(cast.child)
    Attempt.objects.filter(pk=attempt.pk).update(created_at=timezone.now() - dt.timedelta(days=60))
    file = _path(attempt.audio.name)
    with django_capture_on_commit_callbacks(execute=True):
        [outcome] = retention_apply()
    assert outcome.attempt_audio_deleted == 1
    attempt.refresh_from_db()
    assert not attempt.audio and not file.exists()
    assert attempt.stars == 2  # results stay


def test_management_command_reports_and_supports_dry_run(aged: dict[str, Any]) -> None:
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "would delete audio of 2 recording(s)" in out.getvalue()
    assert aged["files"]["old"].exists()
    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "deleted audio of 2 recording(s)" in out.getvalue()
    assert not aged["files"]["old"].exists()


def test_the_daily_task_is_registered_under_the_beat_schedule_name(aged: dict[str, Any]) -> None:
    from ser_portal.celery import app
    from sessions.families.tasks import apply_retention

    name = settings.CELERY_BEAT_SCHEDULE["retention-daily"]["task"]
    app.loader.import_default_modules()
    assert name in app.tasks and name == apply_retention.name
    [outcome] = apply_retention.apply().get()
    assert outcome["recordings_audio_deleted"] == 2


def test_retention_setting_is_saved_from_the_console(client: Any, cast: Cast) -> None:
    from django.urls import reverse

    client.force_login(cast.admin)
    response = client.post(reverse("console_consent"), {"audio_retention_days": "90"})
    assert response.status_code == 302
    cast.clinic.refresh_from_db()
    assert cast.clinic.audio_retention_days == 90
    assert AuditEvent.objects.filter(object_type="clinic", action="update").exists()
    bad = client.post(reverse("console_consent"), {"audio_retention_days": "0"})
    assert bad.status_code == 200 and b"greater than or equal to 1" in bad.content
