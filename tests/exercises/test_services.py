"""Exercise services against the real database, real audio decoding and a real (tiny) model."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analysis.registry.active import forget_loaded_models
from sessions.exercises import attempts, clips, services
from sessions.exercises.library import LIBRARY
from sessions.exercises.models import Assignment, Attempt, AttemptStatus, Exercise
from sessions.families.consent import ConsentMissing
from sessions.families.models import ConsentRecord
from sessions.models import AuditEvent, Child, Clinic
from tests.analysis.audio_factory import (
    encode_with_ffmpeg,
    write_bad_file,
    write_long_wav,
    write_silence_wav,
    write_speechlike_wav,
)
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import done_attempt, make_assignment, make_attempt, make_exercise
from tests.factories import ClinicFactory


def upload(path: Path, content_type: str = "audio/wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type=content_type)


@pytest.fixture
def assignment(cast: Cast) -> Assignment:
    return make_assignment(cast.child, make_exercise(cast.clinic))


# --- library ----------------------------------------------------------------------------------


def test_new_clinics_start_with_the_library(db: Any) -> None:
    clinic: Clinic = ClinicFactory.create()
    keys = set(Exercise.objects.filter(clinic=clinic).values_list("library_key", flat=True))
    assert keys == {item["key"] for item in LIBRARY}


def test_installing_the_library_again_adds_nothing_and_keeps_edits(db: Any) -> None:
    clinic: Clinic = ClinicFactory.create()
    greeting = Exercise.objects.get(clinic=clinic, library_key="greeting-happy")
    greeting.phrase = "Hello! Lovely to see you!"
    greeting.save()
    Exercise.objects.filter(clinic=clinic, library_key="sorry-sad").delete()
    assert services.library_install(clinic=clinic) == 1
    assert services.library_install(clinic=clinic) == 0
    greeting.refresh_from_db()
    assert greeting.phrase == "Hello! Lovely to see you!"
    assert Exercise.objects.filter(clinic=clinic).count() == len(LIBRARY)


# --- exercises and assignments ------------------------------------------------------------------


def test_model_recording_is_measured_and_stored(cast: Cast, tmp_path: Path) -> None:
    wav = write_speechlike_wav(tmp_path / "model.wav", seconds=3.0, f0=140.0)
    exercise = services.exercise_create(
        clinic=cast.clinic,
        created_by=cast.therapist,
        title="Hi",
        phrase="Hi there!",
        target_emotion="happy",
        model_audio=upload(wav),
    )
    assert exercise.model_audio
    assert exercise.model_prosody["pitch_median_hz"] == pytest.approx(140.0, rel=0.15)
    assert exercise.model_audio_duration_s == pytest.approx(3.0, abs=0.05)
    assert AuditEvent.objects.filter(object_id=str(exercise.pk), action="create").exists()


def test_silent_or_overlong_model_recordings_are_refused(cast: Cast, tmp_path: Path) -> None:
    silent = write_silence_wav(tmp_path / "silent.wav", seconds=2.0)
    with pytest.raises(services.RecordingRejected) as excinfo:
        services.exercise_create(
            clinic=cast.clinic,
            created_by=cast.therapist,
            title="x",
            phrase="x",
            target_emotion="calm",
            model_audio=upload(silent),
        )
    assert excinfo.value.code == "no_speech"
    long = write_long_wav(tmp_path / "long.wav", hours=0.05)  # 3 minutes
    with pytest.raises(services.RecordingRejected) as excinfo:
        services.exercise_create(
            clinic=cast.clinic,
            created_by=cast.therapist,
            title="x",
            phrase="x",
            target_emotion="calm",
            model_audio=upload(long),
        )
    assert excinfo.value.code in {"too_long", "too_large"}
    assert not Exercise.objects.filter(clinic=cast.clinic, title="x").exists()


def test_assigning_twice_updates_the_schedule_instead_of_duplicating(cast: Cast) -> None:
    exercise = make_exercise(cast.clinic)
    first = services.assignment_create(
        child=cast.child, exercise=exercise, assigned_by=cast.therapist, weekdays=[0, 2, 4]
    )
    second = services.assignment_create(
        child=cast.child,
        exercise=exercise,
        assigned_by=cast.therapist,
        weekdays=[5, 6],
        ends_on=timezone.localdate() + dt.timedelta(days=30),
        note="Weekends",
    )
    assert first.pk == second.pk
    second.refresh_from_db()
    assert second.weekday_list == [5, 6] and second.note == "Weekends"
    assert Assignment.objects.filter(child=cast.child).count() == 1


def test_an_exercise_of_another_clinic_cannot_be_assigned(cast: Cast) -> None:
    foreign = make_exercise(cast.other_clinic)
    with pytest.raises(ValueError):
        services.assignment_create(child=cast.child, exercise=foreign, assigned_by=cast.therapist)


def test_due_days_follow_the_weekdays_and_the_end_date(cast: Cast) -> None:
    monday = dt.date(2026, 11, 2)
    assignment = make_assignment(
        cast.child,
        make_exercise(cast.clinic),
        starts_on=monday,
        ends_on=monday + dt.timedelta(days=9),
        weekdays=services.weekdays_mask([0, 3]),
    )
    assert assignment.is_due_on(monday)
    assert not assignment.is_due_on(monday + dt.timedelta(days=1))
    assert assignment.is_due_on(monday + dt.timedelta(days=3))
    assert not assignment.is_due_on(monday + dt.timedelta(days=14))  # after ends_on
    assert assignment.schedule_text.startswith("Mon, Thu until")


# --- attempts: upload ---------------------------------------------------------------------------


def test_attempt_needs_recording_and_analysis_consent(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    wav = write_speechlike_wav(tmp_path / "a.wav", seconds=2.0)
    with pytest.raises(ConsentMissing):
        services.attempt_create(
            assignment=assignment, uploaded_file=upload(wav), uploaded_by=cast.guardian
        )
    grant_consent(cast.child, "recording")
    with pytest.raises(ConsentMissing) as excinfo:
        services.attempt_create(
            assignment=assignment, uploaded_file=upload(wav), uploaded_by=cast.guardian
        )
    assert excinfo.value.purpose == "analysis"
    assert not Attempt.objects.exists()


def test_a_twenty_minute_attempt_is_refused_before_decoding(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    long = write_long_wav(tmp_path / "long.wav", hours=20 / 60)
    started = time.monotonic()
    with pytest.raises(services.RecordingRejected) as excinfo:
        services.attempt_create(
            assignment=assignment, uploaded_file=upload(long), uploaded_by=cast.guardian
        )
    assert excinfo.value.code in {"too_long", "too_large"}
    assert "minute" in excinfo.value.detail
    assert time.monotonic() - started < 2.0, "must be refused from the header, not decoded"
    assert not Attempt.objects.exists()


@pytest.mark.parametrize(
    "kind",
    ["empty", "html_as_wav", "random_bytes", "truncated_flac", "too_short_wav", "video_no_audio"],
)
def test_bad_files_get_a_friendly_message_and_store_nothing(
    cast: Cast, assignment: Assignment, tmp_path: Path, kind: str
) -> None:
    grant_consent(cast.child)
    suffix = ".mp4" if kind == "video_no_audio" else ".wav"
    bad = write_bad_file(kind, tmp_path / f"{kind}{suffix}")
    with pytest.raises(services.RecordingRejected) as excinfo:
        services.attempt_create(
            assignment=assignment, uploaded_file=upload(bad), uploaded_by=cast.guardian
        )
    message = excinfo.value.detail
    assert message in clips.FRIENDLY_AUDIO_ERRORS.values()
    assert "ffmpeg" not in message.lower() and "error" not in message.lower()
    assert not Attempt.objects.exists()


def test_browser_webm_opus_is_accepted_and_queued(
    cast: Cast, assignment: Assignment, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    grant_consent(cast.child)
    webm = encode_with_ffmpeg(
        write_speechlike_wav(tmp_path / "a.wav", seconds=3.0), tmp_path / "attempt.webm"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attempt, created = services.attempt_create(
            assignment=assignment,
            uploaded_file=upload(webm, "audio/webm;codecs=opus"),
            uploaded_by=cast.guardian,
        )
    assert created and attempt.status == AttemptStatus.QUEUED
    assert str(attempt.audio.name).endswith(".webm") and attempt.content_type == "audio/webm"
    assert len(callbacks) == 1, "analysis is queued once the upload is committed"
    assert AuditEvent.objects.filter(
        object_id=str(attempt.pk), action="create", child_id=cast.child.pk
    ).exists()


def test_sending_the_same_recording_twice_stores_it_once(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    wav = write_speechlike_wav(tmp_path / "a.wav", seconds=2.0)
    token = "6f1c3a52-8f0e-4a39-9a57-1d1b9c7e0c11"
    first, created1 = services.attempt_create(
        assignment=assignment,
        uploaded_file=upload(wav),
        uploaded_by=cast.guardian,
        client_token=token,
    )
    again, created2 = services.attempt_create(
        assignment=assignment,
        uploaded_file=upload(wav),
        uploaded_by=cast.guardian,
        client_token=token,
    )
    assert created1 and not created2 and first.pk == again.pk
    assert Attempt.objects.count() == 1


def test_an_ended_assignment_takes_no_attempts(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    services.assignment_end(assignment=assignment, actor=cast.therapist)
    with pytest.raises(services.RecordingRejected) as excinfo:
        services.attempt_create(
            assignment=assignment,
            uploaded_file=upload(write_speechlike_wav(tmp_path / "a.wav")),
            uploaded_by=cast.guardian,
        )
    assert excinfo.value.code == "inactive"


# --- attempts: analysis -------------------------------------------------------------------------


def _stored_attempt(assignment: Assignment, path: Path) -> Attempt:
    return make_attempt(assignment, audio=path.read_bytes())


def test_an_attempt_is_analysed_into_stars_emotions_and_prosody(
    cast: Cast, assignment: Assignment, active_model: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    attempt = _stored_attempt(assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=4.0))
    assert attempts.attempt_process(attempt.pk) == "done"
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.DONE
    assert attempt.stars in (1, 2, 3) and attempt.message
    assert sum(attempt.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    assert attempt.top_emotion == max(attempt.probabilities, key=attempt.probabilities.get)
    assert attempt.model_version_id == active_model.pk
    assert attempt.prosody["speaking_rate"] == pytest.approx(4.0, abs=1.0)
    assert {c["measure"] for c in attempt.comparisons} == {
        "pitch_level",
        "pitch_range",
        "loudness",
        "speaking_rate",
    }
    assert attempt.duration_s == pytest.approx(4.0, abs=0.05)
    assert {"decode_s", "model_s", "total_s"} <= set(attempt.timings)


def test_processing_twice_leaves_the_first_result(
    cast: Cast, assignment: Assignment, active_model: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    attempt = _stored_attempt(assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0))
    assert attempts.attempt_process(attempt.pk) == "done"
    finished = Attempt.objects.get(pk=attempt.pk).finished_at
    assert attempts.attempt_process(attempt.pk) == "skipped"
    again = Attempt.objects.get(pk=attempt.pk)
    assert again.finished_at == finished and again.tries == 1


def test_a_noisy_attempt_earns_no_stars_and_is_asked_again(
    cast: Cast, assignment: Assignment, active_model: Any, tmp_path: Path
) -> None:
    from analysis.engine.audio.conditions import coloured_noise, mix_at_snr
    from tests.analysis.audio_factory import speechlike, write_wav

    grant_consent(cast.child)
    voice = speechlike(4.0, seed=3).astype(np.float32)
    noisy = mix_at_snr(voice, coloured_noise(voice.size, np.random.default_rng(0), 0.0), -6.0)
    attempt = _stored_attempt(assignment, write_wav(tmp_path / "n.wav", noisy, 16000))
    assert attempts.attempt_process(attempt.pk) == "unclear"
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.NO_SPEECH
    assert attempt.error_code == "unclear_too_noisy"
    assert attempt.stars is None and attempt.conveyed is None
    assert "noisy" in attempt.message and "microphone" in attempt.message
    assert attempt.has_audio, "the recording is kept"


def test_an_estimate_below_the_models_reliable_confidence_is_not_scored(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    from tests.model_factory import register_tiny_model

    grant_consent(cast.child)
    register_tiny_model(cast.clinic, min_confidence=0.99)
    attempt = _stored_attempt(assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=4.0))
    assert attempts.attempt_process(attempt.pk) == "unclear"
    attempt.refresh_from_db()
    assert attempt.error_code == "unclear_low_confidence"
    assert attempt.stars is None
    assert "couldn't hear clearly" in attempt.message
    # The model's probabilities are kept for the therapist, just not turned into stars.
    assert sum(attempt.probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_silence_gets_a_we_could_not_hear_you_message(
    cast: Cast, assignment: Assignment, active_model: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    attempt = _stored_attempt(assignment, write_silence_wav(tmp_path / "s.wav", seconds=3.0))
    assert attempts.attempt_process(attempt.pk) == "no_speech"
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.NO_SPEECH and attempt.stars is None
    assert "couldn't hear" in attempt.message
    assert attempt.has_audio, "the recording is kept"


def test_without_an_active_model_the_recording_is_kept_and_the_family_told(
    cast: Cast, assignment: Assignment, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    attempt = _stored_attempt(assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0))
    assert attempts.attempt_process(attempt.pk) == "failed"
    attempt.refresh_from_db()
    assert attempt.error_code == "no_model" and "saved" in attempt.message
    assert attempt.has_audio


def test_consent_revoked_while_queued_stops_the_analysis(
    cast: Cast, assignment: Assignment, active_model: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    attempt = _stored_attempt(assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=2.0))
    ConsentRecord.objects.filter(child=cast.child, purpose="analysis").update(
        revoked_at=timezone.now()
    )
    assert attempts.attempt_process(attempt.pk) == "failed"
    attempt.refresh_from_db()
    assert attempt.error_code == "consent" and not attempt.probabilities


def test_a_corrupt_stored_file_fails_with_a_friendly_message(
    cast: Cast, assignment: Assignment, active_model: Any
) -> None:
    grant_consent(cast.child)
    attempt = make_attempt(assignment, audio=b"\x00\x01garbage" * 100)
    assert attempts.attempt_process(attempt.pk) == "failed"
    attempt.refresh_from_db()
    assert attempt.message in clips.FRIENDLY_AUDIO_ERRORS.values()


def test_a_deleted_attempt_is_skipped(cast: Cast, assignment: Assignment) -> None:
    attempt = make_attempt(assignment)
    services.delete_child_attempts(child=cast.child)
    assert attempts.attempt_process(attempt.pk) == "skipped"
    assert not Attempt.objects.filter(pk=attempt.pk).exists()


def test_an_abandoned_attempt_is_claimed_again_but_not_forever(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = make_attempt(assignment)
    assert attempts.attempt_claim(attempt.pk) is not None
    assert attempts.attempt_claim(attempt.pk) is None, "a running attempt is not claimed twice"
    long_ago = timezone.now() - dt.timedelta(seconds=attempts.STALE_PROCESSING_S + 5)
    for _ in range(attempts.MAX_TRIES - 1):
        Attempt.objects.filter(pk=attempt.pk).update(started_at=long_ago)
        assert attempts.attempt_claim(attempt.pk) is not None
    Attempt.objects.filter(pk=attempt.pk).update(started_at=long_ago)
    assert attempts.attempt_claim(attempt.pk) is None
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED and attempt.error_code == "tries"


def test_a_queued_attempt_nobody_picked_up_is_sent_again(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = make_attempt(assignment)
    assert not attempts.attempt_nudge(attempt=attempt), "too early"
    Attempt.objects.filter(pk=attempt.pk).update(
        updated_at=timezone.now() - dt.timedelta(seconds=attempts.RESEND_QUEUED_AFTER_S + 1)
    )
    assert attempts.attempt_nudge(attempt=attempt)
    assert not attempts.attempt_nudge(attempt=attempt), "one re-send per interval"


def test_the_model_is_loaded_once_per_process(
    cast: Cast,
    assignment: Assignment,
    active_model: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analysis.registry import active

    grant_consent(cast.child)
    forget_loaded_models()
    loads: list[Path] = []
    real_load = active.load_for_inference

    def counting_load(path: Path, **options: Any) -> Any:
        loads.append(path)
        return real_load(path, **options)

    # A spy: the real loader still runs, the test only counts the calls.
    monkeypatch.setattr(active, "load_for_inference", counting_load)
    wav = write_speechlike_wav(tmp_path / "a.wav", seconds=2.0)
    first = _stored_attempt(assignment, wav)
    second = _stored_attempt(assignment, wav)
    attempts.attempt_process(first.pk)
    attempts.attempt_process(second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == AttemptStatus.DONE
    assert len(loads) == 1, "the second attempt reuses the loaded model"
    # Loading the tiny model from disk takes tens of ms; a cache hit rounds to 0.
    assert second.timings["load_s"] <= 0.005 < first.timings["load_s"]


# --- review -------------------------------------------------------------------------------------


def test_review_overrides_the_verdict_and_keeps_the_models(
    cast: Cast, assignment: Assignment
) -> None:
    attempt = done_attempt(assignment, stars=1)
    services.attempt_review(
        attempt=attempt,
        reviewer=cast.therapist,
        stars=3,
        conveyed=True,
        encouragement="That was lovely!",
    )
    attempt.refresh_from_db()
    assert attempt.final_stars == 3 and attempt.stars == 1
    assert attempt.final_conveyed is True and attempt.encouragement == "That was lovely!"
    services.attempt_review(attempt=attempt, reviewer=cast.therapist, stars=None, conveyed=None)
    attempt.refresh_from_db()
    assert attempt.final_stars == 1, "clearing the override brings back the model's verdict"


# --- consent revocation and retention -----------------------------------------------------------


def test_delete_child_attempts_removes_rows_and_files(
    cast: Cast, assignment: Assignment, django_capture_on_commit_callbacks: Any
) -> None:
    attempts = [done_attempt(assignment), make_attempt(assignment)]
    other = make_attempt(make_assignment(cast.other_child, make_exercise(cast.clinic)))
    paths = [Path(a.audio.path) for a in attempts]
    assert all(p.exists() for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_child_attempts(child=cast.child) == 2
    assert not Attempt.objects.filter(child=cast.child).exists()
    assert not any(p.exists() for p in paths)
    assert Path(other.audio.path).exists() and Attempt.objects.filter(pk=other.pk).exists()
    assert Assignment.objects.filter(pk=assignment.pk).exists(), "the practice plan stays"
    assert services.delete_child_attempts(child=cast.child) == 0


def test_retention_deletes_old_audio_but_keeps_results(
    cast: Cast, assignment: Assignment, django_capture_on_commit_callbacks: Any
) -> None:
    old = done_attempt(assignment, stars=3)
    new = done_attempt(assignment)
    Attempt.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    far_child = Child.objects.create(
        clinic=cast.other_clinic, given_name="Z", date_of_birth=dt.date(2018, 1, 1)
    )
    foreign = make_attempt(make_assignment(far_child, make_exercise(cast.other_clinic)))
    Attempt.objects.filter(pk=foreign.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    old_path = Path(old.audio.path)
    cutoff = timezone.now() - dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_attempt_audio_older_than(clinic=cast.clinic, cutoff=cutoff) == 1
    old.refresh_from_db()
    assert not old.has_audio and old.audio_deleted_at is not None and not old_path.exists()
    assert old.final_stars == 3 and old.probabilities, "results are kept"
    new.refresh_from_db()
    assert new.has_audio
    assert Path(foreign.audio.path).exists(), "other clinics follow their own retention"
    assert services.delete_attempt_audio_older_than(clinic=cast.clinic, cutoff=cutoff) == 0


def test_warm_up_loads_the_active_models(cast: Cast, active_model: Any) -> None:
    forget_loaded_models()
    assert attempts.warm_up() == 1
    from analysis.registry.active import _cache

    assert any(key[0] == str(active_model.pk) for key in _cache)


# --- the child's voice baseline -----------------------------------------------------------


def _model_with_reference(directory: Path) -> Any:
    from analysis.engine.classifiers import load_classifier
    from analysis.engine.classifiers.features import robust_acoustic_features
    from analysis.engine.classifiers.features_head import Head, HeadEnsemble, write_model
    from analysis.engine.labels import CANONICAL_LABELS

    dim = robust_acoustic_features(np.zeros(16000, dtype=np.float32)).size
    head = Head(
        ops=[{"op": "linear", "weight": "w", "bias": "b"}],
        arrays={"w": np.zeros((len(CANONICAL_LABELS), dim)), "b": np.zeros(len(CANONICAL_LABELS))},
    )
    ensemble = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=[head], reference=np.zeros(dim))
    write_model(directory, ensemble, features="acoustic2", name="r", version="1", architecture="t")
    return load_classifier(directory)


def test_the_voice_baseline_comes_from_finished_plain_and_calm_tries(
    cast: Cast, tmp_path: Path
) -> None:
    from sessions.exercises import baselines
    from tests.analysis.audio_factory import speechlike, write_wav

    classifier = _model_with_reference(tmp_path / "model")
    plain = make_assignment(cast.child, make_exercise(cast.clinic, target_emotion="neutral"))
    happy = make_assignment(cast.child, make_exercise(cast.clinic, target_emotion="happy"))
    for k, assignment in enumerate([plain, plain, plain, happy]):
        voice = write_wav(tmp_path / f"{k}.wav", speechlike(2.0, seed=k, f0=260.0), 16000)
        attempt = _stored_attempt(assignment, voice)
        Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.DONE)
    queued = _stored_attempt(plain, tmp_path / "0.wav")  # not finished: not part of it
    assert queued.status == AttemptStatus.QUEUED
    baseline = baselines.voice_baseline(child=cast.child, classifier=classifier)
    assert baseline is not None and baseline.clips == 3  # the happy try is not neutral speech
    assert baselines.voice_baseline_sources(child=cast.child) == 3
    assert baselines.voice_baseline(child=cast.other_child, classifier=classifier) is None
    # Each try is decoded once per worker: with its files gone, the baseline is still there.
    for attempt in Attempt.objects.filter(assignment=plain, status=AttemptStatus.DONE):
        attempt.audio.storage.delete(str(attempt.audio.name))
    again = baselines.voice_baseline(child=cast.child, classifier=classifier)
    assert again is not None and again.clips == 3
    np.testing.assert_allclose(again.mean, baseline.mean)


def test_the_child_page_says_whether_a_voice_baseline_exists(
    cast: Cast, client: Any, tmp_path: Path
) -> None:
    client.force_login(cast.therapist)
    page = client.get(f"/children/{cast.child.pk}/").content.decode()
    assert "No voice baseline yet (0 of 2 tries)" in page
    plain = make_assignment(cast.child, make_exercise(cast.clinic, target_emotion="calm"))
    for k in range(2):
        attempt = _stored_attempt(plain, write_speechlike_wav(tmp_path / f"{k}.wav", seconds=2.0))
        Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.DONE)
    page = client.get(f"/children/{cast.child.pk}/").content.decode()
    assert "2 finished tries of the plain or calm practice exercises" in page
    assert "No recording has been analysed with it yet." in page
