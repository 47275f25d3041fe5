"""Right of access: the child's data as one zip archive, for the guardian or an admin."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from typing import Any

import pytest
from django.urls import reverse

from sessions.models import AuditEvent
from tests.conftest import Cast
from tests.families.helpers import analyse, consent, practice_attempt, released_report

pytestmark = pytest.mark.django_db


def _download(client: Any, user: Any, cast: Cast) -> Any:
    client.force_login(user)
    return client.get(reverse("child_export", kwargs={"child_id": cast.child.pk}))


def _zip(response: Any) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.fixture
def held(cast: Cast) -> Cast:
    consent(cast.child)
    analyse(cast.recording, {"happy": 0.5, "neutral": 0.5})
    cast.session.notes = "Worked on greetings."
    cast.session.save()
    released_report(cast.child, cast.therapist, [cast.session], comments="Nice work.")
    practice_attempt(cast.child)
    consent(cast.other_child)
    practice_attempt(cast.other_child, title="Other child's exercise")
    return cast


def test_guardian_downloads_everything_held_about_their_child(client: Any, held: Cast) -> None:
    response = _download(client, held.guardian, held)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert held.child.code in response["Content-Disposition"]
    archive = _zip(response)
    names = set(archive.namelist())
    for expected in (
        "README.txt",
        "child.json",
        "child.csv",
        "sessions.json",
        "sessions.csv",
        "recordings.json",
        "recordings.csv",
        "analysis.json",
        "segments.csv",
        "consents.json",
        "consents.csv",
        "reports.json",
        "reports.csv",
        "other/exercises_attempt.json",
        "other/exercises_assignment.csv",
    ):
        assert expected in names, expected
    child = json.loads(archive.read("child.json"))[0]
    assert child["given_name"] == held.child.given_name
    sessions = json.loads(archive.read("sessions.json"))
    assert sessions[0]["notes"] == "Worked on greetings."  # notes are included (documented)
    consents = list(csv.DictReader(io.StringIO(archive.read("consents.csv").decode())))
    assert len(consents) == 4 and all(c["text"] for c in consents)
    assert json.loads(archive.read("reports.json"))[0]["comments"] == "Nice work."
    segments = list(csv.DictReader(io.StringIO(archive.read("segments.csv").decode())))
    assert len(segments) == 2 and "p_happy" in segments[0]
    # The audio still kept: the session recording and the practice attempt.
    audio = [n for n in names if n.startswith("audio/")]
    assert len(audio) == 2
    recording_name = next(n for n in audio if str(held.recording.pk) in n)
    assert archive.read(recording_name) == held.recording.file.open("rb").read()


def test_archive_holds_nothing_of_another_child(client: Any, held: Cast) -> None:
    archive = _zip(_download(client, held.guardian, held))
    everything = b"".join(archive.read(n) for n in archive.namelist())
    assert held.other_child.given_name.encode() not in everything
    assert held.other_child.code.encode() not in everything
    assert b"Other child's exercise" not in everything
    assert str(held.other_child.pk).encode() not in everything


def test_admin_downloads_on_the_guardians_behalf_and_export_is_audited(
    client: Any, held: Cast
) -> None:
    response = _download(client, held.admin, held)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action="export", object_type="child_archive")
    assert event.actor == held.admin and event.child_id == held.child.pk
    assert event.detail["audio_files"] == 2 and event.detail["sessions"] == 1
    assert held.child.given_name not in str(event.detail)


def test_therapist_and_other_family_cannot_download(client: Any, held: Cast) -> None:
    assert _download(client, held.therapist, held).status_code == 403
    assert _download(client, held.other_guardian, held).status_code == 404
    assert _download(client, held.other_admin, held).status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


def test_audio_deleted_by_retention_is_listed_but_not_included(client: Any, held: Cast) -> None:
    from django.utils import timezone

    from sessions.families.retention import retention_apply

    held.clinic.audio_retention_days = 1
    held.clinic.save()
    retention_apply(now=timezone.now() + dt.timedelta(days=2))
    archive = _zip(_download(client, held.guardian, held))
    recordings = json.loads(archive.read("recordings.json"))
    assert recordings[0]["audio_kept"] is False and recordings[0]["audio_deleted_at"]
    assert not [
        n for n in archive.namelist() if n.startswith("audio/") and str(held.recording.pk) in n
    ]
