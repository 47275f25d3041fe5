"""A child's voice baseline from their practice tries: what the emotion model hears in the
child's plain and calm tries, so later estimates are read against the child's own voice
(``analysis.engine.emotion.baseline``). Reads only: stored attempt audio is decoded and measured
once per worker process (a small cache), nothing is written.

Used by practice feedback (``attempts.attempt_process``), by session analysis
(``analysis.tasks``) and by the child page (how many tries a baseline can draw on).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from analysis.engine.audio import decode as audio
from analysis.engine.practice.assess import speech_span
from analysis.services import local_file_path
from sessions.exercises.clips import attempt_limits
from sessions.exercises.models import Attempt, AttemptStatus
from sessions.models import Child

BASELINE_ATTEMPTS = 12
# Feature vectors of reference tries, per (attempt, model object): a worker decodes and
# measures each try once, not on every later attempt (practice feedback must stay fast).
_BASELINE_FEATURES: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
_BASELINE_FEATURES_MAX = 4096
# Models whose features are cached are kept alive, so their id() is never reused by another.
_BASELINE_MODELS: dict[int, Any] = {}


def _attempt_features(attempt: Attempt, classifier: Any) -> np.ndarray | None:
    _BASELINE_MODELS.setdefault(id(classifier), classifier)
    key = (str(attempt.pk), id(classifier))
    if key in _BASELINE_FEATURES:
        _BASELINE_FEATURES.move_to_end(key)
        return _BASELINE_FEATURES[key]
    try:
        with local_file_path(attempt.audio) as path:
            clip = speech_span(audio.decode(path, attempt_limits()))
    except (audio.AudioError, FileNotFoundError):
        return None  # an unreadable or deleted try is simply not part of the baseline
    features = np.asarray(classifier.features([clip]), dtype=np.float64)[0]
    _BASELINE_FEATURES[key] = features
    while len(_BASELINE_FEATURES) > _BASELINE_FEATURES_MAX:
        _BASELINE_FEATURES.popitem(last=False)
    return features


def voice_baseline(*, child: Child, classifier: Any, before: Any = None) -> Any:
    """The child's voice baseline (``analysis.engine.emotion.baseline``) for ``classifier``: from
    their latest
    finished practice tries of the plain ("neutral") and calm exercises, made before
    ``before``. None when the model cannot use one or fewer than two tries exist. Reads
    stored attempt audio (each try once per worker process); changes nothing."""
    from analysis.engine.emotion.baseline import (
        MIN_CLIPS,
        NEUTRAL_LABELS,
        VoiceBaseline,
        supports_baseline,
    )

    if not supports_baseline(classifier):
        return None
    attempts = Attempt.objects.filter(
        child=child,
        status=AttemptStatus.DONE,
        assignment__exercise__target_emotion__in=NEUTRAL_LABELS,
    )
    if before is not None:
        attempts = attempts.filter(created_at__lt=before)
    rows = []
    for attempt in attempts.order_by("-created_at")[:BASELINE_ATTEMPTS]:
        if not attempt.has_audio:
            continue
        features = _attempt_features(attempt, classifier)
        if features is not None:
            rows.append(features)
    if len(rows) < MIN_CLIPS:
        return None
    return VoiceBaseline(mean=np.mean(rows, axis=0), clips=len(rows))


def voice_baseline_sources(*, child: Child) -> int:
    """How many practice tries a voice baseline of the child can draw on (for pages)."""
    from analysis.engine.emotion.baseline import NEUTRAL_LABELS

    return Attempt.objects.filter(
        child=child,
        status=AttemptStatus.DONE,
        assignment__exercise__target_emotion__in=NEUTRAL_LABELS,
        audio_deleted_at__isnull=True,
    ).count()
