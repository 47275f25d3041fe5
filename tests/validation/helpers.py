"""Analysed runs with chosen segments, and blind labels, for the validation tests."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from django.utils import timezone

from analysis.models import AnalysisRun, Segment
from sessions.models import Recording, TherapySession
from tests.factories import recording_for

SR = 16_000
# A segment's confidence no page may show before the therapist answers.
SECRET_CONFIDENCE = 0.8731


def tone_wav(seconds: float, *, seed: int = 0) -> bytes:
    """A WAV of voiced-like tones (pitch varying per second) with a little noise."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = 150 + 80 * np.sin(2 * np.pi * 0.3 * t + seed)
    audio = 0.3 * np.sin(2 * np.pi * np.cumsum(pitch) / SR) + 0.01 * rng.standard_normal(t.size)
    buffer = io.BytesIO()
    sf.write(buffer, audio.astype(np.float32), SR, format="WAV")
    return buffer.getvalue()


def analysed(
    session: TherapySession,
    version: Any,
    segments: Sequence[tuple[float, float, str, float]],
    *,
    recording: Recording | None = None,
    audio: bytes | None = None,
    speaker: str = "child",
) -> AnalysisRun:
    """A finished run of ``version`` with ``segments`` (start, end, emotion, confidence)."""
    if recording is None:
        length = max((end for _, end, _, _ in segments), default=1.0) + 0.5
        recording = recording_for(session, content=audio or tone_wav(length), name="s.wav")
    run = AnalysisRun.objects.create(
        recording=recording,
        model_version=version,
        status="done",
        finished_at=timezone.now() - timedelta(days=1),
    )
    Segment.objects.bulk_create(
        Segment(
            run=run,
            index=i,
            start_s=start,
            end_s=end,
            speaker=speaker,
            speaker_confidence=0.9,
            emotion=emotion,
            confidence=confidence,
            valence=0.0,
            arousal=0.0,
            probabilities={emotion: confidence},
        )
        for i, (start, end, emotion, confidence) in enumerate(segments)
    )
    recording.status = "done"
    recording.save(update_fields=["status"])
    return run


def label(item: Any, emotion: str, speaker: str = "child") -> Any:
    from sessions.validation import services

    return services.review_answer(item=item, rater=item.rater, emotion=emotion, speaker=speaker)


def features_model(clinic: Any, *, status: str = "active", name: str = "acoustic-head") -> Any:
    """A small features-and-head model (acoustic statistics + logistic head on random data),
    written and registered the way the registry stores models."""
    import uuid
    from pathlib import Path

    from django.conf import settings

    from analysis.engine.classifiers.features import acoustic_dimension
    from analysis.engine.classifiers.features_head import HeadEnsemble, write_model
    from analysis.engine.labels import CANONICAL_LABELS
    from analysis.engine.training.heads import fit_logistic
    from analysis.models import EmotionModelVersion
    from analysis.registry.active import directory_checksum

    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, acoustic_dimension()))
    y = np.arange(80) % len(CANONICAL_LABELS)
    ensemble = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=[fit_logistic(x, y, 8)])
    relative = f"{clinic.pk}/{uuid.uuid4()}"
    directory = Path(settings.SER_MODELS_DIR) / relative
    write_model(
        directory, ensemble, features="acoustic", name=name, version="1",
        architecture="acoustic + logistic",
        extra={"reliability": {"min_confidence": 0.33}},
    )  # fmt: skip
    checksum, size = directory_checksum(directory)
    return EmotionModelVersion.objects.create(
        clinic=clinic, name=name, version=str(uuid.uuid4())[:8], source="trained",
        kind="features_head", labels=list(CANONICAL_LABELS),
        label_map={label: label for label in CANONICAL_LABELS}, location=relative,
        checksum=checksum, size_bytes=size, status=status,
    )  # fmt: skip
