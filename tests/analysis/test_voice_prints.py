"""Children's voice prints from home practice: stored as a print only, with recording consent,
updated as attempts accumulate, deleted on revocation; used (audited) by session analyses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.models import ChildVoicePrint
from analysis.voices import selectors as voices
from analysis.voices.services import child_print_add
from sessions.exercises import attempts
from sessions.families import services as family_services
from sessions.models import AuditEvent
from tests.analysis.audio_factory import speechlike, write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_attempt, make_exercise

pytestmark = pytest.mark.django_db


def test_attempts_build_a_running_mean_print_counted_once_each(cast: Cast) -> None:
    grant_consent(cast.child, "recording")
    first, second = speechlike(4.0, f0=260.0, seed=1), speechlike(4.0, f0=270.0, seed=2)
    assert child_print_add(child=cast.child, samples=first, attempt_id="a1") is True
    stored = ChildVoicePrint.objects.get(child=cast.child)
    one = np.asarray(stored.embedding)
    assert one.shape == (256,) and np.linalg.norm(one) == pytest.approx(1.0, abs=1e-4)
    assert (stored.attempt_count, stored.speech_s) == (1, pytest.approx(4.0, abs=0.01))

    assert child_print_add(child=cast.child, samples=second, attempt_id="a2") is True
    # The same attempt processed again (a redelivered task) is not counted twice.
    assert child_print_add(child=cast.child, samples=second, attempt_id="a2") is False
    stored.refresh_from_db()
    assert stored.attempt_count == 2 and stored.attempt_ids == ["a1", "a2"]
    two = np.asarray(stored.embedding)
    assert np.linalg.norm(two) == pytest.approx(1.0, abs=1e-4)
    assert not np.allclose(one, two)  # the second attempt moved the mean
    # No audio is stored anywhere in the row: the print and counts only.
    assert {f.name for f in ChildVoicePrint._meta.concrete_fields} == {
        "child",
        "embedding",
        "speech_s",
        "attempt_count",
        "attempt_ids",
        "created_at",
        "updated_at",
    }
    assert (
        AuditEvent.objects.filter(
            object_type="childvoiceprint", action="update", child_id=cast.child.pk
        ).count()
        == 2
    )


def test_no_print_without_recording_consent(cast: Cast) -> None:
    grant_consent(cast.child, "analysis")
    assert child_print_add(child=cast.child, samples=speechlike(4.0), attempt_id="a1") is False
    assert not ChildVoicePrint.objects.exists()


def test_too_little_speech_changes_nothing(cast: Cast) -> None:
    grant_consent(cast.child, "recording")
    silence = np.zeros(16000 * 3, dtype=np.float32)
    assert child_print_add(child=cast.child, samples=silence, attempt_id="a1") is False
    assert not ChildVoicePrint.objects.exists()


def test_revoking_recording_consent_deletes_the_print(cast: Cast) -> None:
    grant_consent(cast.child)
    child_print_add(child=cast.child, samples=speechlike(4.0, f0=260.0), attempt_id="a1")
    assert ChildVoicePrint.objects.filter(child=cast.child).exists()
    family_services.consent_revoke(child=cast.child, purpose="recording", actor=cast.therapist)
    assert not ChildVoicePrint.objects.filter(child=cast.child).exists()
    event = AuditEvent.objects.get(object_type="childvoiceprint", action="delete")
    assert event.detail["reason"] == "recording_consent_revoked"


def test_revoking_online_with_an_undo_window_deletes_the_print_at_once(cast: Cast) -> None:
    grant_consent(cast.child)
    child_print_add(child=cast.child, samples=speechlike(4.0, f0=260.0), attempt_id="a1")
    family_services.consent_revoke(
        child=cast.child, purpose="recording", actor=cast.guardian, erase_now=False
    )
    assert not ChildVoicePrint.objects.filter(child=cast.child).exists()


def test_revoking_another_purpose_keeps_the_print(cast: Cast) -> None:
    grant_consent(cast.child)
    child_print_add(child=cast.child, samples=speechlike(4.0, f0=260.0), attempt_id="a1")
    family_services.consent_revoke(child=cast.child, purpose="sharing", actor=cast.therapist)
    assert ChildVoicePrint.objects.filter(child=cast.child).exists()


def test_a_finished_practice_attempt_updates_the_print(
    cast: Cast, active_model: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    audio = write_speechlike_wav(tmp_path / "a.wav", seconds=4.0, f0=260.0).read_bytes()
    attempt = make_attempt(assignment, audio=audio)
    assert attempts.attempt_process(attempt.pk) == "done"
    stored = ChildVoicePrint.objects.get(child=cast.child)
    assert stored.attempt_ids == [str(attempt.pk)] and len(stored.embedding) == 256


def test_session_voices_hold_the_prints_of_participants_and_audit_the_childs(
    cast: Cast,
) -> None:
    from analysis.models import VoiceEnrollment

    grant_consent(cast.child)
    grant_consent(cast.other_child)
    child_print_add(child=cast.child, samples=speechlike(4.0, f0=260.0), attempt_id="a1")
    child_print_add(child=cast.other_child, samples=speechlike(4.0, f0=300.0), attempt_id="b1")
    VoiceEnrollment.objects.create(user=cast.therapist, embedding=[1.0] + [0.0] * 255, speech_s=9)
    # Not a participant yet: only the session's own child and therapist count.
    found = {v.key: v.role for v in voices.session_voices(cast.session)}
    assert found == {
        f"therapist:{cast.therapist.pk}": "therapist",
        f"child:{cast.child.pk}": "child",
    }
    assert voices.expected_speakers(cast.session) == 2
    cast.session.other_children.add(cast.other_child)
    found = {v.key: v.role for v in voices.session_voices(cast.session)}
    # Another child of a group session is on a lane of their own, never "the child".
    assert found[f"child:{cast.other_child.pk}"] == "other"
    assert voices.expected_speakers(cast.session) == 3
    reads = AuditEvent.objects.filter(object_type="childvoiceprint", action="view")
    assert {str(e.child_id) for e in reads} == {str(cast.child.pk), str(cast.other_child.pk)}
    # After revocation the print is neither used nor kept.
    family_services.consent_revoke(child=cast.child, purpose="recording", actor=cast.therapist)
    assert f"child:{cast.child.pk}" not in {v.key for v in voices.session_voices(cast.session)}


def test_the_analysis_task_stores_voices_and_calls_no_voice_the_child_without_a_print(
    cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    """The worker path with no print at all: voices are kept (label, centroid) and every lane
    is "unknown" until a therapist names it."""
    from django.core.files import File

    from analysis.models import AnalysisRun, Segment, SpeakerLane
    from analysis.services import recording_create
    from analysis.tasks import analyze_recording
    from tests.analysis.audio_factory import write_wav

    grant_consent(cast.child)
    talk = np.concatenate(
        [speechlike(5.0, f0=120.0, seed=1), speechlike(5.0, f0=280.0, seed=2)] * 2
    )
    path = write_wav(tmp_path / "talk.wav", talk, 16000)
    with path.open("rb") as handle:
        recording = recording_create(
            session=cast.session, uploaded_file=File(handle), uploaded_by=cast.therapist
        )
    run = AnalysisRun.objects.get(recording=recording)
    assert analyze_recording.apply(args=[str(run.pk)]).get() == "done"
    lanes = list(SpeakerLane.objects.filter(run=run))
    assert lanes and {lane.role for lane in lanes} == {"unknown"}
    assert all(len(lane.centroid) == 256 and lane.speech_s > 0 for lane in lanes)
    segments = Segment.objects.filter(run=run)
    assert segments.exists() and "child" not in {s.speaker for s in segments}
    assert {s.cluster for s in segments} <= {lane.label for lane in lanes}
    run.refresh_from_db()
    assert run.summary["speakers"]["child"]["speech_s"] == 0.0


def test_the_analysis_task_names_the_child_from_the_practice_print(
    cast: Cast, tmp_path: Path, active_model: Any
) -> None:
    """The worker path end to end: a print learnt from home practice names the child's lane."""
    from django.core.files import File

    from analysis.models import AnalysisRun, SpeakerLane
    from analysis.services import recording_create
    from analysis.tasks import analyze_recording
    from tests.analysis.audio_factory import write_wav

    grant_consent(cast.child)
    for seed in (11, 12):
        child_print_add(
            child=cast.child, samples=speechlike(5.0, f0=280.0, seed=seed), attempt_id=seed
        )
    talk = np.concatenate(
        [speechlike(5.0, f0=120.0, seed=1), speechlike(5.0, f0=280.0, seed=2)] * 2
    )
    path = write_wav(tmp_path / "talk.wav", talk, 16000)
    with path.open("rb") as handle:
        recording = recording_create(
            session=cast.session, uploaded_file=File(handle), uploaded_by=cast.therapist
        )
    run = AnalysisRun.objects.get(recording=recording)
    assert analyze_recording.apply(args=[str(run.pk)]).get() == "done"
    lanes = {lane.voice_key: lane for lane in SpeakerLane.objects.filter(run=run)}
    assert lanes[f"child:{cast.child.pk}"].role == "child"
    assert AuditEvent.objects.filter(
        object_type="childvoiceprint", action="view", child_id=cast.child.pk
    ).exists()


def test_the_childs_page_says_how_the_print_was_learnt(client: Any, cast: Cast) -> None:
    from django.urls import reverse

    client.force_login(cast.therapist)
    url = reverse("child_detail", args=[cast.child.pk])
    assert "No voice print yet" in client.get(url).content.decode()
    grant_consent(cast.child, "recording")
    for seed in (1, 2):
        child_print_add(child=cast.child, samples=speechlike(3.0, seed=seed), attempt_id=seed)
    assert "Learnt from 2 finished practice tries" in client.get(url).content.decode()


def test_the_right_of_access_archive_holds_the_print(cast: Cast) -> None:
    import json
    import zipfile

    from sessions.families.export import child_export_archive

    grant_consent(cast.child, "recording")
    child_print_add(child=cast.child, samples=speechlike(3.0, seed=1), attempt_id="a1")
    archive = child_export_archive(child=cast.child, actor=cast.guardian)
    with zipfile.ZipFile(archive.file) as bundle:
        rows = json.loads(bundle.read("voice_print.json"))
        assert "voice_print.json" in bundle.read("README.txt").decode()
    assert len(rows) == 1 and rows[0]["attempt_count"] == 1 and len(rows[0]["embedding"]) == 256
    assert archive.counts["voice_prints"] == 1
