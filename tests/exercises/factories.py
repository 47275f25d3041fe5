"""Rows for exercise tests: an exercise (with or without a model recording), an assignment,
an attempt with stored audio. Audio bytes are generated, never downloaded."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import numpy as np
import soundfile as sf
from django.core.files.base import ContentFile
from django.utils import timezone

from sessions.exercises.models import Assignment, Attempt, AttemptStatus, Exercise
from sessions.models import Child, Clinic


def wav_bytes(seconds: float = 1.0, freq: float = 220.0, sr: int = 16000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    buffer = io.BytesIO()
    sf.write(
        buffer,
        (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32),
        sr,
        format="WAV",
        subtype="PCM_16",
    )
    return buffer.getvalue()


def make_exercise(clinic: Clinic, *, with_audio: bool = False, **fields: Any) -> Exercise:
    values: dict[str, Any] = {
        "title": "Happy hello",
        "phrase": "Hi! I'm so happy to see you!",
        "target_emotion": "happy",
        "difficulty": 1,
    }
    values.update(fields)
    exercise = Exercise(clinic=clinic, **values)
    if with_audio:
        exercise.model_audio.save("model.wav", ContentFile(wav_bytes()), save=False)
        exercise.model_audio_content_type = "audio/wav"
    exercise.save()
    return exercise


def make_assignment(child: Child, exercise: Exercise, **fields: Any) -> Assignment:
    fields.setdefault("starts_on", timezone.localdate() - dt.timedelta(days=7))
    return Assignment.objects.create(child=child, exercise=exercise, **fields)


def make_attempt(assignment: Assignment, *, audio: bytes | None = None, **fields: Any) -> Attempt:
    data = audio if audio is not None else wav_bytes()
    attempt = Attempt(
        assignment=assignment,
        child=assignment.child,
        content_type="audio/wav",
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        **fields,
    )
    attempt.audio.save("attempt.wav", ContentFile(data), save=False)
    attempt.save()
    return attempt


def done_attempt(assignment: Assignment, stars: int = 2, **fields: Any) -> Attempt:
    probabilities = {
        "neutral": 0.1,
        "calm": 0.05,
        "happy": 0.6,
        "sad": 0.05,
        "angry": 0.05,
        "fearful": 0.05,
        "disgust": 0.05,
        "surprised": 0.05,
    }
    values: dict[str, Any] = {
        "status": AttemptStatus.DONE,
        "stars": stars,
        "conveyed": stars >= 2,
        "message": "Great job!",
        "probabilities": probabilities,
        "top_emotion": "happy",
        "target_probability": 0.6,
        "finished_at": timezone.now(),
        "duration_s": 1.0,
    }
    values.update(fields)
    return make_attempt(assignment, **values)
