"""Analysed runs whose voices are told apart (lanes "A", "B", ...), for naming tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.engine.emotion.summary import stretches, summarize
from analysis.models import AnalysisRun, Segment
from analysis.voices.services import lanes_store
from sessions.models import Recording
from tests.workspace.factories import done_run


def centroid(seed: int) -> list[float]:
    """A unit vector standing in for a voice's mean speaker embedding."""
    vector = np.random.default_rng(seed).random(256)
    return (vector / np.linalg.norm(vector)).round(6).tolist()


def voiced_run(
    recording: Recording,
    *,
    segments: int = 8,
    roles: Sequence[str] = ("unknown", "unknown"),
    voice_keys: Sequence[str] = ("", ""),
) -> AnalysisRun:
    """A finished run whose segments alternate between len(roles) voices (segment i is voice
    i % len(roles)), stored as the pipeline's result would be: cluster labels on the
    segments, one ``SpeakerLane`` per voice with its role, match and centroid."""
    run = done_run(recording, segments=segments, duration_s=segments * 5.0, seed=7)
    labels = [chr(ord("A") + k) for k in range(len(roles))]
    speech = dict.fromkeys(labels, 0.0)
    for seg in Segment.objects.filter(run=run).order_by("index"):
        k = seg.index % len(roles)
        seg.cluster, seg.speaker, seg.speaker_confidence = labels[k], roles[k], 0.8
        seg.save(update_fields=["cluster", "speaker", "speaker_confidence"])
        speech[labels[k]] += seg.end_s - seg.start_s
    document = {
        "speakers": [
            {
                "cluster": k,
                "label": label,
                "role": roles[k],
                "role_confidence": 0.9,
                "voice_key": voice_keys[k] or None,
                "speech_s": speech[label],
            }
            for k, label in enumerate(labels)
        ]
    }
    lanes_store(
        run=run, result=document, centroids={label: centroid(k) for k, label in enumerate(labels)}
    )
    # The run's own summary as the pipeline computes it from these roles.
    rows = Segment.objects.filter(run=run).order_by("index").values()
    AnalysisRun.objects.filter(pk=run.pk).update(
        summary=summarize(stretches(rows), recording.duration_s)
    )
    run.refresh_from_db()
    return run
