"""Revoking recording consent erases the child's audio and everything derived from it, after
a confirmation, leaving an audit entry with counts only; no other child is touched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from analysis.models import AnalysisRun, RunFrames, Segment
from sessions.families import services
from sessions.families.consent import has_consent
from sessions.models import AuditEvent, Recording, TherapySession
from tests.conftest import Cast
from tests.factories import recording_for
from tests.families.helpers import analyse, consent, new_session, practice_attempt

pytestmark = pytest.mark.django_db


def _media(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def _two_children_with_data(cast: Cast) -> dict[str, Any]:
    consent(cast.child)
    consent(cast.other_child)
    mine = [
        cast.recording,
        recording_for(new_session(child=cast.child, therapist=cast.therapist)),
    ]
    for recording in mine:
        analyse(recording, {"happy": 0.5, "neutral": 0.5})
    other_session = new_session(child=cast.other_child, therapist=cast.other_therapist)
    theirs = recording_for(other_session)
    analyse(theirs, {"sad": 1.0})
    return {"mine": mine, "theirs": theirs}


def test_revoking_recording_consent_leaves_no_file_or_row_of_that_child(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    data = _two_children_with_data(cast)
    my_files = [_media(r.file.name) for r in data["mine"]]
    their_file = _media(data["theirs"].file.name)
    assert all(f.exists() for f in my_files) and their_file.exists()

    with django_capture_on_commit_callbacks(execute=True):
        result = services.consent_revoke(child=cast.child, purpose="recording", actor=cast.admin)

    assert result.erased is not None and result.erased["recordings"] == 2
    assert not any(f.exists() for f in my_files)
    mine = Recording.objects.filter(session__child=cast.child)
    assert not mine.exists()
    assert not AnalysisRun.objects.filter(recording__session__child=cast.child).exists()
    assert not Segment.objects.filter(run__recording__session__child=cast.child).exists()
    assert not RunFrames.objects.filter(run__recording__session__child=cast.child).exists()
    # Sessions (and their notes) are not recordings: they stay.
    assert TherapySession.objects.filter(child=cast.child).count() == 2
    # The other child is untouched.
    assert their_file.exists()
    theirs = data["theirs"]
    assert Recording.objects.filter(pk=theirs.pk).exists()
    assert AnalysisRun.objects.filter(recording=theirs).count() == 1
    assert Segment.objects.filter(run__recording=theirs).count() == 2
    assert RunFrames.objects.filter(run__recording=theirs).count() == 1
    assert has_consent(cast.other_child, "recording")


def test_erasure_is_audited_with_counts_and_no_personal_data(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    _two_children_with_data(cast)
    with django_capture_on_commit_callbacks(execute=True):
        services.consent_revoke(child=cast.child, purpose="recording", actor=cast.admin)
    event = AuditEvent.objects.get(action="delete", object_type="recording_data")
    assert event.child_id == cast.child.pk
    assert event.detail["recordings"] == 2 and event.detail["segments"] == 4
    assert event.detail["analysis_runs"] == 2 and event.detail["audio_files"] == 2
    assert event.detail["reason"] == "recording_consent_revoked"
    flat = str(event.detail)
    for personal in (cast.child.given_name, cast.child.family_name, "clip.wav", "PRIVATE"):
        assert personal not in flat
    assert AuditEvent.objects.filter(action="revoke", child_id=cast.child.pk).count() == 1


def test_revoking_other_purposes_deletes_nothing(cast: Cast) -> None:
    _two_children_with_data(cast)
    for purpose in ("analysis", "sharing", "training"):
        result = services.consent_revoke(child=cast.child, purpose=purpose, actor=cast.admin)
        assert result.erased is None
    assert Recording.objects.filter(session__child=cast.child).count() == 2
    assert Segment.objects.filter(run__recording__session__child=cast.child).count() == 4


def test_revoke_page_asks_for_the_childs_code_and_deletes_nothing_without_it(
    client: Any, cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    _two_children_with_data(cast)
    client.force_login(cast.admin)
    url = reverse(
        "child_consent_revoke", kwargs={"child_id": cast.child.pk, "purpose": "recording"}
    )
    page = client.get(url)
    assert page.status_code == 200
    assert b"2 recordings" in page.content and b"4 segments" in page.content

    wrong = client.post(url, {"confirm_code": "C-WRONG1", "understood": "on"})
    assert wrong.status_code == 200 and b"not this child" in wrong.content
    assert Recording.objects.filter(session__child=cast.child).count() == 2
    assert has_consent(cast.child, "recording")

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"confirm_code": cast.child.code.lower(), "understood": "on"})
    assert done.status_code == 302
    assert not Recording.objects.filter(session__child=cast.child).exists()
    assert not has_consent(cast.child, "recording")


def test_therapist_cannot_revoke(client: Any, cast: Cast) -> None:
    _two_children_with_data(cast)
    client.force_login(cast.therapist)
    url = reverse(
        "child_consent_revoke", kwargs={"child_id": cast.child.pk, "purpose": "recording"}
    )
    response = client.post(url, {"confirm_code": cast.child.code, "understood": "on"})
    assert response.status_code == 403
    assert Recording.objects.filter(session__child=cast.child).count() == 2


def test_practice_attempts_and_their_audio_are_erased_too(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    from sessions.exercises.models import Attempt

    _two_children_with_data(cast)
    mine = practice_attempt(cast.child)
    theirs = practice_attempt(cast.other_child)
    my_file, their_file = _media(mine.audio.name), _media(theirs.audio.name)
    assert my_file.exists() and their_file.exists()
    with django_capture_on_commit_callbacks(execute=True):
        result = services.consent_revoke(child=cast.child, purpose="recording", actor=cast.admin)
    assert result.erased is not None and result.erased["exercise_attempts"] == 1
    assert not Attempt.objects.filter(child=cast.child).exists()
    assert not my_file.exists()
    assert Attempt.objects.filter(pk=theirs.pk).exists() and their_file.exists()
