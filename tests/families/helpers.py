"""Rows the families tests need: consent texts, analysed recordings with summaries, reports."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.utils import timezone

from analysis.engine.labels import CANONICAL_LABELS, VALENCE_AROUSAL
from analysis.models import AnalysisRun, EmotionModelVersion, RunFrames, RunStatus, Segment
from sessions.families import services
from sessions.families.models import ConsentPurpose, ProgressReport
from sessions.models import Child, Clinic, Recording, TherapySession, User
from tests.conftest import grant_consent
from tests.factories import TherapySessionFactory, recording_for


def new_session(**fields: Any) -> TherapySession:
    """A therapy session from the factory, typed as the model it creates."""
    return cast(TherapySession, TherapySessionFactory(**fields))


def publish_texts(clinic: Clinic, actor: User | None = None) -> None:
    for purpose in ConsentPurpose:
        services.consent_text_publish(
            clinic=clinic, purpose=purpose, body=f"I agree to {purpose.label.lower()}.", actor=actor
        )


# The suite's one consent helper, under the name the families tests use.
consent = grant_consent


def model_version(clinic: Clinic) -> EmotionModelVersion:
    version, _ = EmotionModelVersion.objects.get_or_create(
        clinic=clinic,
        name="families-test",
        version="1",
        defaults={
            "source": "shipped",
            "kind": "test",
            "location": "shipped:none",
            "checksum": "0" * 64,
            "labels": list(CANONICAL_LABELS),
        },
    )
    return version


def child_summary(
    shares: dict[str, float], *, speech_s: float = 60.0, talk_share: float = 0.5
) -> dict[str, Any]:
    """An analysis summary in the shape analysis writes (``speakers.<role>``)."""
    valence = sum(VALENCE_AROUSAL[k][0] * v for k, v in shares.items())
    arousal = sum(VALENCE_AROUSAL[k][1] * v for k, v in shares.items())
    full = {label: shares.get(label, 0.0) for label in CANONICAL_LABELS}
    total = speech_s / talk_share
    return {
        "duration_s": total * 1.2,
        "speech_s": total,
        "segment_count": 4,
        "speakers": {
            "child": {
                "speech_s": speech_s,
                "talk_share": talk_share,
                "segment_count": 2,
                "emotion_share": full,
                "mean_valence": valence,
                "sd_valence": 0.1,
                "mean_arousal": arousal,
                "sd_arousal": 0.1,
            },
            "therapist": {
                "speech_s": total - speech_s,
                "talk_share": 1 - talk_share,
                "segment_count": 2,
                "emotion_share": {"neutral": 1.0},
                "mean_valence": 0.0,
                "sd_valence": 0.0,
                "mean_arousal": 0.0,
                "sd_arousal": 0.0,
            },
        },
    }


def analyse(
    recording: Recording,
    shares: dict[str, float],
    *,
    speech_s: float = 60.0,
    talk_share: float = 0.5,
    finished_at: dt.datetime | None = None,
    status: str = RunStatus.DONE,
) -> AnalysisRun:
    """A finished analysis run of ``recording`` with two segments and frames."""
    run = AnalysisRun.objects.create(
        recording=recording,
        model_version=model_version(recording.session.child.clinic),
        status=status,
        stage="done",
        progress=100,
        finished_at=finished_at or timezone.now(),
        summary=child_summary(shares, speech_s=speech_s, talk_share=talk_share),
    )
    for i, speaker in enumerate(("child", "therapist")):
        Segment.objects.create(
            run=run,
            index=i,
            start_s=i * 2.0,
            end_s=i * 2.0 + 1.5,
            speaker=speaker,
            speaker_confidence=0.9,
            emotion="happy",
            confidence=0.7,
            uncertain=False,
            valence=0.8,
            arousal=0.5,
            probabilities={"happy": 0.7, "neutral": 0.3},
        )
    RunFrames.objects.create(run=run, frames=[{"start_s": 0, "end_s": 1, "speaker": "child"}])
    return run


def analysed_session(
    child: Child, therapist: User, day: dt.date, shares: dict[str, float], **kw: Any
) -> TherapySession:
    session = new_session(
        child=child, therapist=therapist, date=day, notes="PRIVATE-NOTE-do-not-share"
    )
    analyse(recording_for(session), shares, **kw)
    return session


def released_report(
    child: Child,
    therapist: User,
    sessions: list[TherapySession],
    comments: str = "Lovely progress.",
) -> ProgressReport:
    consent(child, ConsentPurpose.SHARING)
    dates = [s.date for s in sessions] or [dt.date(2026, 10, 1)]
    report = services.report_create(
        child=child,
        actor=therapist,
        period_start=min(dates),
        period_end=max(dates),
        sessions=sessions,
        comments=comments,
    )
    return services.report_release(report=report, actor=therapist)


def practice_attempt(
    child: Child,
    *,
    title: str = "Say hello happily",
    stars: int = 2,
    status: str = "done",
    content: bytes = b"RIFF-attempt-audio",
) -> Any:
    """A practice attempt with an audio file (rows of the exercises app, created directly)."""
    from django.core.files.base import ContentFile

    from sessions.exercises.models import Assignment, Attempt, Exercise

    exercise, _ = Exercise.objects.get_or_create(
        clinic=child.clinic,
        title=title,
        defaults={"phrase": "Hello!", "target_emotion": "happy"},
    )
    assignment = Assignment.objects.filter(child=child, exercise=exercise).first()
    if assignment is None:
        assignment = Assignment.objects.create(
            child=child, exercise=exercise, starts_on=dt.date(2026, 1, 1)
        )
    attempt = Attempt(
        assignment=assignment,
        child=child,
        status=status,
        stars=stars,
        conveyed=stars >= 2,
        size_bytes=len(content),
    )
    attempt.audio.save("try.wav", ContentFile(content), save=False)
    attempt.save()
    return attempt
