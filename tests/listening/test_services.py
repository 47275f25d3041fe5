"""Listening practice: the starter set, answers (scored against a person's label, stored once
per client id, consent-gated), the figures from stored answers, erasure with consent."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analysis.engine.audio import decode as audio
from analysis.services import RecordingRejected
from sessions.families.consent import ConsentMissing
from sessions.listening import selectors, services, starter
from sessions.listening.models import (
    Clip,
    ClipSource,
    ListeningAnswer,
    ListeningAssignment,
    ListeningSet,
)
from sessions.models import AuditEvent
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import wav_bytes
from tests.listening.factories import answer, make_listening_assignment

pytestmark = pytest.mark.django_db


def test_a_new_clinic_gets_the_generated_starter_clips_and_sets_once(cast: Cast) -> None:
    clips = Clip.objects.filter(clinic=cast.clinic)
    assert clips.count() == len(starter.CLIPS) == 20
    assert set(clips.values_list("source", flat=True)) == {ClipSource.GENERATED}
    assert set(clips.values_list("emotion", flat=True)) == {"happy", "sad", "angry", "calm"}
    assert clips.filter(intensity="normal").count() == 8
    assert clips.exclude(noise_snr_db=None).count() == 4
    # One stored copy of each file for every clinic.
    other = Clip.objects.filter(clinic=cast.other_clinic)
    assert set(other.values_list("audio", flat=True)) == set(clips.values_list("audio", flat=True))
    sets = ListeningSet.objects.filter(clinic=cast.clinic)
    assert {s.starter_key: s.choice_count for s in sets} == {
        "happy-or-sad": 2, "four-feelings": 4, "subtle-voices": 3, "noisy-room": 3,
    }  # fmt: skip
    assert services.starter_install(clinic=cast.clinic) == 0
    assert Clip.objects.filter(clinic=cast.clinic).count() == 20


def _record(
    assignment: ListeningAssignment, clip: Clip, chosen: str, client_id: Any = None
) -> tuple[ListeningAnswer, bool]:
    return services.answer_record(
        assignment=assignment, clip_id=clip.pk, chosen=chosen,
        client_id=client_id or uuid.uuid4(), answered_by=None, response_ms=900,
    )  # fmt: skip


def test_an_answer_is_scored_against_the_clips_tagged_emotion_and_stored_once(cast: Cast) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child)
    clip = assignment.listening_set.clips.filter(emotion="sad").first()
    offered = services.item_choices(assignment, clip)
    assert "sad" in offered and len(offered) == 4
    wrong = next(e for e in offered if e != "sad")
    token = uuid.uuid4()
    first, created = _record(assignment, clip, wrong, token)
    assert created and not first.correct and first.target_emotion == "sad"
    assert first.chosen_emotion == wrong and first.response_ms == 900
    again, created_again = _record(assignment, clip, "sad", token)  # a resend: same id
    assert not created_again and again.pk == first.pk and not again.correct
    assert ListeningAnswer.objects.filter(child=cast.child).count() == 1
    assert AuditEvent.objects.filter(object_id=str(first.pk), action="create").count() == 1
    right, _ = _record(assignment, clip, "sad")
    assert right.correct


def test_answers_outside_the_set_or_the_choices_are_refused(cast: Cast) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child, "happy-or-sad")
    clip = assignment.listening_set.clips.filter(emotion="happy").first()
    with pytest.raises(services.AnswerRejected) as offered:
        _record(assignment, clip, "angry")  # a 2-choice happy/sad set never offers angry
    assert offered.value.code == "bad_choice"
    foreign = Clip.objects.filter(clinic=cast.clinic, emotion="angry")[0]
    with pytest.raises(services.AnswerRejected) as outside:
        _record(assignment, foreign, "angry")
    assert outside.value.code == "unknown_clip"
    with pytest.raises(services.AnswerRejected):
        _record(assignment, clip, "happy", client_id="not-a-uuid")
    assert not ListeningAnswer.objects.exists()


def test_answers_need_the_practice_consents(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)
    clip = assignment.listening_set.clips.first()
    with pytest.raises(ConsentMissing):
        _record(assignment, clip, clip.emotion)
    assert not ListeningAnswer.objects.exists()


def test_withdrawing_recording_consent_erases_the_listening_answers(cast: Cast) -> None:
    from sessions.families.services import child_recordings_erase

    assignment = make_listening_assignment(cast.child)
    answer(assignment, "happy", "happy")
    answer(assignment, "sad", "calm")
    counts = child_recordings_erase(child=cast.child, actor=cast.therapist, reason="test")
    assert counts["listening_answers"] == 2
    assert not ListeningAnswer.objects.filter(child=cast.child).exists()
    assert services.delete_child_answers(child=cast.child) == 0


def test_figures_of_stored_answers(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)
    answer(assignment, "happy", "happy", response_ms=1000)
    answer(assignment, "happy", "happy", days_ago=8, response_ms=2000)
    answer(assignment, "sad", "calm", response_ms=4000)
    answer(assignment, "sad", "sad", days_ago=8, response_ms=None)
    figures = selectors.child_figures(child=cast.child)
    assert figures["answers"] == 4 and figures["correct"] == 3
    per = {r.emotion: (r.answers, r.correct) for r in figures["per_emotion"]}
    assert per == {"happy": (2, 2), "sad": (2, 1)}
    matrix = figures["confusion"]
    assert matrix.labels == ["calm", "happy", "sad"]
    assert matrix.counts == [[0, 0, 0], [0, 2, 0], [1, 0, 1]]
    assert figures["times"].median_ms == 2000  # 1000, 2000, 4000
    assert len({p.week for p in figures["by_week"]}) == 2


def test_a_therapists_clip_keeps_the_emotion_they_tagged(cast: Cast) -> None:
    upload = SimpleUploadedFile("mine.wav", wav_bytes(1.5), content_type="audio/wav")
    clip = services.clip_create(
        clinic=cast.clinic, uploaded_file=upload, emotion="fearful", tagged_by=cast.therapist
    )
    assert clip.source == ClipSource.UPLOADED and clip.tagged_by == cast.therapist
    assert clip.emotion == "fearful" and str(clip.audio.name).startswith(
        f"listening/{cast.clinic.pk}/"
    )
    with pytest.raises(RecordingRejected):
        services.clip_create(
            clinic=cast.clinic, emotion="happy", tagged_by=cast.therapist,
            uploaded_file=SimpleUploadedFile("x.wav", b"not audio", content_type="audio/wav"),
        )  # fmt: skip
    services.clip_retag(clip=clip, emotion="sad", actor=cast.other_therapist)
    clip.refresh_from_db()
    assert clip.emotion == "sad" and clip.tagged_by == cast.other_therapist


def test_streak_counts_scheduled_listening_days(cast: Cast) -> None:
    assignment = make_listening_assignment(cast.child)  # every day
    for days_ago in (0, 1, 2):
        answer(assignment, "happy", "happy", days_ago=days_ago)
    assert selectors.child_streak(child=cast.child) == 3
    board = selectors.family_board(child=cast.child)
    assert board["due"][0]["answered_today"] == 1 and board["done_today"] == 1


def test_a_noisy_copy_keeps_the_person_label_and_is_made_once(cast: Cast) -> None:
    upload = SimpleUploadedFile("mine.wav", wav_bytes(1.5), content_type="audio/wav")
    clip = services.clip_create(
        clinic=cast.clinic, uploaded_file=upload, emotion="angry", tagged_by=cast.therapist
    )
    noisy = services.clip_noisy_variant(clip=clip, snr_db=5, actor=cast.therapist)
    assert (noisy.emotion, noisy.tagged_by, noisy.variant_of) == ("angry", cast.therapist, clip)
    assert noisy.noise_snr_db == 5.0 and noisy.content_type == "audio/wav"
    with noisy.audio.open("rb") as handle:
        data = handle.read()
    with clip.audio.open("rb") as handle:
        original = handle.read()
    assert data != original
    samples, rate = sf.read(io.BytesIO(data))
    assert rate == audio.TARGET_SR and abs(samples.size / rate - 1.5) < 0.05
    assert services.clip_noisy_variant(clip=clip, snr_db=5, actor=cast.therapist).pk == noisy.pk
    assert Clip.objects.filter(variant_of=clip).count() == 1


def test_a_wrong_device_clock_never_costs_the_answer(cast: Cast) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child)
    clip = assignment.listening_set.clips.filter(emotion="happy")[0]
    for offset in (dt.timedelta(days=-400), dt.timedelta(days=30)):  # years behind, ahead
        stored, created = services.answer_record(
            assignment=assignment, clip_id=clip.pk, chosen="happy", client_id=uuid.uuid4(),
            answered_by=None, answered_at=timezone.now() + offset,
        )  # fmt: skip
        assert created and abs(stored.answered_at - timezone.now()) < dt.timedelta(minutes=1)
    two_days_ago = timezone.now() - dt.timedelta(days=2)
    stored, _ = services.answer_record(
        assignment=assignment, clip_id=clip.pk, chosen="happy", client_id=uuid.uuid4(),
        answered_by=None, answered_at=two_days_ago,
    )  # fmt: skip
    assert stored.answered_at == two_days_ago  # queued offline: counts on the day it was given


def test_the_right_of_access_archive_holds_the_listening_answers(cast: Cast) -> None:
    import json
    import zipfile

    from sessions.families.export import child_export_archive

    assignment = make_listening_assignment(cast.child)
    answer(assignment, "sad", "calm")
    answer(assignment, "happy", "happy")
    archive = child_export_archive(child=cast.child, actor=cast.therapist)
    archive.file.seek(0)
    with zipfile.ZipFile(archive.file) as zipped:
        rows = json.loads(zipped.read("other/listening_listeninganswer.json"))
        assigned = json.loads(zipped.read("other/listening_listeningassignment.json"))
    assert sorted((r["target_emotion"], r["chosen_emotion"]) for r in rows) == [
        ("happy", "happy"), ("sad", "calm"),
    ]  # fmt: skip
    assert [a["id"] for a in assigned] == [str(assignment.pk)]
