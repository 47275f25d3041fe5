"""The portal's canonical emotion labels and the fixed valence/arousal mapping.

Every model's own labels are mapped onto this set (a label may map to none), so timelines,
summaries, evaluations and exercises all speak one vocabulary whatever model produced them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

CANONICAL_LABELS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(CANONICAL_LABELS)}

# Who is speaking in a stretch of a recording: the one definition the pipeline, corrections,
# summaries and charts share. "child" and "therapist" only for a voice matched to a known voice
# print or named by a therapist; "unknown" for a voice nobody has named yet (shown as "Speaker
# A", "Speaker B", ...); "other" for a voice named as someone else (a parent, an interpreter).
SPEAKER_ROLES: tuple[str, ...] = ("child", "therapist", "unknown", "other")
SPEAKER_ROLE_LABELS: dict[str, str] = {
    "child": "Child",
    "therapist": "Therapist",
    "other": "Other",
    "unknown": "Unknown speaker",
}

# Fixed positions on Russell's circumplex, both axes in [-1, 1]. Valence: unpleasant (-1) to
# pleasant (+1); arousal: low energy (-1) to high energy (+1). A window's valence and arousal are
# the probability-weighted mean of these points, so they move smoothly as probabilities shift.
# The numbers follow the usual placement of these categories in the dimensional-emotion
# literature (e.g. Russell 1980); they are a documented convention, not a measurement.
VALENCE_AROUSAL: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "calm": (0.4, -0.6),
    "happy": (0.8, 0.5),
    "sad": (-0.7, -0.4),
    "angry": (-0.6, 0.8),
    "fearful": (-0.6, 0.6),
    "disgust": (-0.7, 0.3),
    "surprised": (0.4, 0.8),
}
_VA = np.array([VALENCE_AROUSAL[label] for label in CANONICAL_LABELS], dtype=np.float64)

# Coarser groupings used by evaluation (issue: 4-class and 3 valence classes).
FOUR_CLASS: dict[str, str | None] = {
    "neutral": "neutral",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
}
VALENCE_CLASS: dict[str, str] = {
    "happy": "positive",
    "surprised": "positive",
    "neutral": "neutral",
    "calm": "neutral",
    "sad": "negative",
    "angry": "negative",
    "fearful": "negative",
    "disgust": "negative",
}

# Spellings seen in public checkpoints' id2label (superb/wav2vec2-base-superb-er uses neu, hap,
# ang, sad; others spell the words out). Anything not listed needs an explicit decision.
_SYNONYMS: dict[str, str] = {
    "neu": "neutral",
    "neutral": "neutral",
    "cal": "calm",
    "calm": "calm",
    "hap": "happy",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "exc": "happy",
    "sad": "sad",
    "sadness": "sad",
    "ang": "angry",
    "angry": "angry",
    "anger": "angry",
    "fea": "fearful",
    "fear": "fearful",
    "fearful": "fearful",
    "dis": "disgust",
    "disgust": "disgust",
    "disgusted": "disgust",
    "sur": "surprised",
    "surprise": "surprised",
    "surprised": "surprised",
}


def suggest_label_map(labels: Iterable[str]) -> dict[str, str | None]:
    """Guess the canonical label of each model label; None where no safe guess exists."""
    return {label: _SYNONYMS.get(label.strip().lower()) for label in labels}


def unmapped_labels(label_map: Mapping[str, str | None], labels: Iterable[str]) -> list[str]:
    """Model labels that have no entry at all (an explicit None means 'ignored', which is fine)."""
    return [label for label in labels if label not in label_map]


def to_canonical(
    probabilities: np.ndarray, model_labels: Sequence[str], label_map: Mapping[str, str | None]
) -> np.ndarray:
    """Fold a model's per-label probabilities (n, len(model_labels)) onto the canonical set.

    Probabilities of model labels that map to the same canonical label add up; labels mapped to
    None are dropped and the rest renormalised, so each row sums to 1 over the canonical labels
    the model can express (all zeros only if the model put all its mass on ignored labels).
    """
    probabilities = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    folded = np.zeros((probabilities.shape[0], len(CANONICAL_LABELS)), dtype=np.float64)
    for column, label in enumerate(model_labels):
        target = label_map.get(label)
        if target is not None:
            folded[:, LABEL_INDEX[target]] += probabilities[:, column]
    totals = folded.sum(axis=1, keepdims=True)
    np.divide(folded, totals, out=folded, where=totals > 0)
    return folded


def valence_arousal(probabilities: np.ndarray) -> np.ndarray:
    """Probability-weighted valence and arousal, shape (n, 2), for canonical probabilities."""
    probabilities = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    return probabilities @ _VA
