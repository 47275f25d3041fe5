"""A speaker's own neutral voice as the reference for their emotion estimates.

A child whose ordinary voice is high, breathy or monotone is read as "fearful", "sad" or
"calm" by a model that only knows adult actors: the features describe the voice as much as
the feeling. With a few clips of the child's *neutral or calm* speech (practice tries of the
"plain" and "calm" exercises, or segments a therapist labelled neutral or calm) the features
of their later speech are moved by the difference between the child's neutral mean and the
training set's neutral mean (the model's ``neutral_reference``):

    shifted = features - w * (child_neutral_mean - training_neutral_mean),  w = n / (n + 3)

so the child's own neutral lands where the model's neutral is, and only departures from the
child's usual voice count as emotion. ``w`` shrinks the shift while few clips are known (3
clips: half of it). This is the per-speaker normalisation of the SER literature (neutral
reference normalisation), applied at inference only, so a model needs no retraining.

The robustness benchmark measures what it buys (``analysis.engine.training.robustness``: the
``baseline``
column, each held-out actor's other neutral/calm clips under the same condition as its
baseline). Only ``features_head`` models with a stored reference support it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.engine.labels import LABEL_INDEX

SHRINK_CLIPS = 3.0
MIN_CLIPS = 2
NEUTRAL_LABELS = ("neutral", "calm")


def neutral_reference(features: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean feature vector of the neutral and calm rows of a training set."""
    keep = np.isin(y, [LABEL_INDEX[label] for label in NEUTRAL_LABELS])
    if not keep.any():
        raise ValueError("The training set has no neutral or calm clips to take a reference from.")
    return np.asarray(features[keep].mean(axis=0), dtype=np.float64)


@dataclass(frozen=True)
class VoiceBaseline:
    """A speaker's neutral mean in a model's feature space, from ``clips`` clips."""

    mean: np.ndarray
    clips: int

    def weight(self) -> float:
        return self.clips / (self.clips + SHRINK_CLIPS)

    def shift(self, reference: np.ndarray) -> np.ndarray:
        return self.weight() * (np.asarray(self.mean, dtype=np.float64) - reference)

    def to_dict(self) -> dict[str, Any]:
        return {"clips": self.clips, "weight": round(self.weight(), 3)}


def supports_baseline(classifier: Any) -> bool:
    return bool(getattr(classifier, "supports_baseline", False))


def build_baseline(classifier: Any, clips: Sequence[np.ndarray]) -> VoiceBaseline | None:
    """The baseline of a speaker from 16 kHz clips of their neutral speech, or None when the
    model cannot use one or there are fewer than ``MIN_CLIPS`` clips."""
    if not supports_baseline(classifier) or len(clips) < MIN_CLIPS:
        return None
    features = np.asarray(classifier.features(list(clips)), dtype=np.float64)
    return VoiceBaseline(mean=features.mean(axis=0), clips=len(clips))


def shift_for(classifier: Any, baseline: VoiceBaseline | None) -> np.ndarray | None:
    if baseline is None or not supports_baseline(classifier):
        return None
    return baseline.shift(classifier.ensemble.reference)


def predict_clip(
    classifier: Any, clip: np.ndarray, baseline: VoiceBaseline | None
) -> tuple[np.ndarray, float | None]:
    """(probabilities, atypicality or None) of one clip, with the baseline when it applies;
    features are extracted once."""
    if not hasattr(classifier, "features") or not hasattr(classifier, "atypicality"):
        return np.asarray(classifier.predict_proba([clip]))[0], None
    features = classifier.features([clip])
    probs = classifier.predict_features(features, shift_for(classifier, baseline))[0]
    return np.asarray(probs), float(classifier.atypicality(features)[0])


def predict_with_baseline(
    classifier: Any, clips: Sequence[np.ndarray], baseline: VoiceBaseline | None
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities with the baseline, probabilities without) for clips; the same array
    twice when no baseline applies."""
    shift = shift_for(classifier, baseline)
    if shift is None:
        raw = np.asarray(classifier.predict_proba(list(clips)))
        return raw, raw
    features = classifier.features(list(clips))
    return classifier.predict_features(features, shift), classifier.predict_features(features)
