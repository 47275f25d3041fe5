"""Therapist voice enrollment: stored as a print (never audio), used by the analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files import File
from django.urls import reverse

from analysis.enrollment.services import therapist_embedding, voice_enroll, voice_forget
from analysis.models import VoiceEnrollment
from analysis.services import RecordingRejected
from sessions.models import AuditEvent
from tests.analysis.audio_factory import write_silence_wav, write_speechlike_wav
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _file(path: Path) -> File[Any]:
    return File(path.open("rb"), name=path.name)


def test_enrolment_stores_a_voice_print_and_no_audio(cast: Cast, tmp_path: Path) -> None:
    sample = write_speechlike_wav(tmp_path / "me.wav", seconds=12.0, f0=120.0)
    enrollment = voice_enroll(user=cast.therapist, uploaded_file=_file(sample))
    assert len(enrollment.embedding) == 256
    assert np.isfinite(enrollment.embedding).all()
    embedding = therapist_embedding(cast.therapist.pk)
    assert embedding is not None and embedding.shape == (256,)
    assert therapist_embedding(cast.other_therapist.pk) is None
    assert AuditEvent.objects.filter(object_type="voiceenrollment", action="update").exists()
    # Enrolling again replaces the print rather than adding one.
    voice_enroll(user=cast.therapist, uploaded_file=_file(sample))
    assert VoiceEnrollment.objects.filter(user=cast.therapist).count() == 1


def test_silence_is_refused_with_a_readable_reason(cast: Cast, tmp_path: Path) -> None:
    quiet = write_silence_wav(tmp_path / "quiet.wav", seconds=8.0)
    with pytest.raises(RecordingRejected, match="enough of your voice"):
        voice_enroll(user=cast.therapist, uploaded_file=_file(quiet))
    assert not VoiceEnrollment.objects.exists()


def test_forget_deletes_the_print(cast: Cast, tmp_path: Path) -> None:
    sample = write_speechlike_wav(tmp_path / "me.wav", seconds=10.0)
    voice_enroll(user=cast.therapist, uploaded_file=_file(sample))
    assert voice_forget(user=cast.therapist) is True
    assert therapist_embedding(cast.therapist.pk) is None
    assert voice_forget(user=cast.therapist) is False


def test_page_enrols_through_the_form_and_shows_errors(
    client: Any, cast: Cast, tmp_path: Path
) -> None:
    client.force_login(cast.therapist)
    url = reverse("voice_enrollment")
    assert b"not enrolled yet" in client.get(url).content
    bad = tmp_path / "page.wav"
    bad.write_text("<html>not audio</html>")
    with bad.open("rb") as handle:
        response = client.post(url, {"sample": handle})
    assert response.status_code == 200
    # A web page saved as .wav: the decoder's own words for text, not a generic failure.
    assert (
        "This file is not an audio recording (it contains text, e.g. a web page)."
        in response.content.decode()
    )
    assert b"not enrolled yet" in response.content
    sample = write_speechlike_wav(tmp_path / "me.wav", seconds=10.0)
    with sample.open("rb") as handle:
        response = client.post(url, {"sample": handle})
    assert response.status_code == 302
    assert b"Your voice is enrolled" in client.get(url).content


def test_analysis_task_uses_the_session_therapists_print(
    cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    """The worker path: the run of a session analysed with its therapist's enrolled voice."""
    from analysis.models import AnalysisRun
    from analysis.services import recording_create
    from analysis.tasks import analyze_recording
    from tests.conftest import grant_consent

    grant_consent(cast.child)
    voice = write_speechlike_wav(tmp_path / "me.wav", seconds=10.0, f0=120.0)
    voice_enroll(user=cast.therapist, uploaded_file=_file(voice))
    talk = write_speechlike_wav(tmp_path / "talk.wav", seconds=8.0, f0=120.0)
    recording = recording_create(
        session=cast.session, uploaded_file=_file(talk), uploaded_by=cast.therapist
    )
    run = AnalysisRun.objects.get(recording=recording)
    assert analyze_recording.apply(args=[str(run.pk)]).get() == "done"
    run.refresh_from_db()
    speakers = {s.speaker for s in run.segments.all()}
    assert speakers and speakers <= {"therapist", "child", "other"}
    assert "therapist" in speakers  # the enrolled voice is recognised
