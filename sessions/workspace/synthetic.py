"""Synthetic analysis results: a finished run with segments, frames and a summary, written
straight into the analysis tables in the shape ``analysis.services.run_store_results`` writes.

Used by the ``bench_workspace`` command (a 45-minute session, a year of weekly sessions) and by
the workspace tests that are about the dashboard rather than the analysis itself.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import numpy as np
from django.utils import timezone

from analysis.engine.emotion.summary import stretches, summarize
from analysis.engine.labels import CANONICAL_LABELS, valence_arousal
from analysis.models import AnalysisRun, EmotionModelVersion, RunFrames, RunStatus, Segment
from sessions.models import Recording, RecordingStatus


def model_version(clinic: Any) -> EmotionModelVersion:
    version, _ = EmotionModelVersion.objects.get_or_create(
        clinic=clinic,
        name="synthetic",
        version="1",
        defaults={
            "source": "imported",
            "kind": "synthetic",
            "labels": list(CANONICAL_LABELS),
            "label_map": {k: k for k in CANONICAL_LABELS},
            "location": "synthetic",
            "checksum": "0" * 64,
            "status": "staged",
        },
    )
    return version


def _probabilities(rng: random.Random, main: str) -> dict[str, float]:
    raw = {label: rng.random() * 0.3 for label in CANONICAL_LABELS}
    raw[main] += 1.0
    total = sum(raw.values())
    return {k: round(v / total, 4) for k, v in raw.items()}


def _va(probs: dict[str, float]) -> tuple[float, float]:
    va = valence_arousal(np.array([[probs[k] for k in CANONICAL_LABELS]]))[0]
    return float(va[0]), float(va[1])


def done_run(
    recording: Recording,
    *,
    segments: int = 12,
    duration_s: float | None = None,
    seed: int = 0,
    frame_s: float = 1.0,
    child_share: float = 0.45,
) -> AnalysisRun:
    """A finished run of ``recording``: ``segments`` child/therapist/other turns spread over
    ``duration_s`` (85% of each slot is speech) and one frame per ``frame_s`` of speech."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    duration = duration_s or max(segments * 4.0, 10.0)
    Recording.objects.filter(pk=recording.pk).update(
        duration_s=duration, status=RecordingStatus.DONE
    )
    recording.duration_s, recording.status = duration, RecordingStatus.DONE
    run = AnalysisRun.objects.create(
        recording=recording,
        model_version=model_version(recording.session.child.clinic),
        status=RunStatus.DONE,
        stage="done",
        progress=100,
        finished_at=timezone.now(),
    )
    slot = duration / segments
    rows, dicts, frames = [], [], []
    for i in range(segments):
        start = round(i * slot + slot * 0.05, 3)
        end = round(start + slot * 0.85, 3)
        speaker = (
            "child"
            if rng.random() < child_share
            else ("therapist" if rng.random() < 0.9 else "other")
        )
        emotion = rng.choice(CANONICAL_LABELS[:5])
        probs = _probabilities(rng, emotion)
        valence, arousal = _va(probs)
        row = Segment(
            id=uuid.uuid4(),
            run=run,
            index=i,
            start_s=start,
            end_s=end,
            speaker=speaker,
            speaker_confidence=round(0.6 + rng.random() * 0.4, 3),
            emotion=emotion,
            confidence=probs[emotion],
            uncertain=probs[emotion] < 0.4,
            uncertain_reason="low_confidence" if probs[emotion] < 0.4 else "",
            valence=valence,
            arousal=arousal,
            probabilities=probs,
        )
        rows.append(row)
        dicts.append(
            {
                "id": str(row.id),
                "start_s": start,
                "end_s": end,
                "speaker": speaker,
                "emotion": emotion,
                "valence": valence,
                "arousal": arousal,
            }
        )
        t = start
        while t < end - 1e-6:
            f_end = min(end, t + frame_s)
            fp = _probabilities(
                rng, emotion if rng.random() < 0.8 else rng.choice(CANONICAL_LABELS)
            )
            fv, fa = _va(fp)
            frames.append(
                {
                    "start_s": round(t, 3),
                    "end_s": round(f_end, 3),
                    "speaker": speaker,
                    "probabilities": fp,
                    "valence": round(fv, 4),
                    "arousal": round(fa, 4),
                }
            )
            t = f_end
    Segment.objects.bulk_create(rows, batch_size=1000)
    RunFrames.objects.create(run=run, frames=frames)
    from sessions.workspace.timelines import timeline_store

    timeline_store(run=run)
    run.summary = summarize(stretches(dicts), duration)
    run.save(update_fields=["summary"])
    return run


def first_segment_key(run: AnalysisRun) -> str:
    pk = Segment.objects.filter(run=run).order_by("index").values_list("pk", flat=True)[0]
    return f"m:{pk}"
