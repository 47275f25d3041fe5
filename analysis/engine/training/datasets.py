"""Labelled clips: where training and evaluation audio comes from, and how it is split.

One list type serves both the RAVDESS development data (files on disk) and clinic data
(therapist-corrected segments, usually arrays already in memory). Every split is by speaker
group, never by clip: emotion models learn voices quickly and clip-level splits inflate scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.engine.labels import CANONICAL_LABELS, LABEL_INDEX

SAMPLE_RATE = 16000

# RAVDESS file names: modality-vocal channel-emotion-intensity-statement-repetition-actor.
_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
RAVDESS_EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
_AUDIO_SUFFIXES = {".flac", ".wav"}


@dataclass(frozen=True, eq=False)  # holds arrays: compare clips by identity
class LabelledClip:
    """One clip with its canonical label and the speaker (or group) it must be split by.

    Exactly one of ``path`` and ``audio`` is set; ``audio`` is mono float at ``sample_rate``.
    ``key`` identifies the clip in feature caches (the path, or a caller-chosen segment id).
    """

    label: str
    group: str
    path: Path | None = None
    audio: np.ndarray | None = None
    sample_rate: int = SAMPLE_RATE
    key: str = ""

    def __post_init__(self) -> None:
        if self.label not in LABEL_INDEX:
            raise ValueError(f"Not a canonical label: {self.label!r}.")
        if (self.path is None) == (self.audio is None):
            raise ValueError("A labelled clip needs exactly one of path and audio.")

    @property
    def cache_key(self) -> str:
        return self.key or (str(self.path) if self.path is not None else "")

    def load(self, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """The clip as mono float32 at ``sample_rate``."""
        if self.audio is not None:
            audio = np.asarray(self.audio, dtype=np.float32)
            rate = self.sample_rate
        else:
            import soundfile as sf

            assert self.path is not None
            audio, rate = sf.read(str(self.path), dtype="float32", always_2d=True)
            audio = audio.mean(axis=1)
        if audio.ndim != 1:
            audio = audio.reshape(-1)
        if rate != sample_rate:
            import soxr

            audio = soxr.resample(audio, rate, sample_rate, quality="HQ").astype(np.float32)
        return audio


def clips_from_arrays(
    audios: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    sample_rate: int = SAMPLE_RATE,
    keys: Sequence[str] | None = None,
) -> list[LabelledClip]:
    """Labelled clips from in-memory audio (e.g. therapist-corrected segments)."""
    if not len(audios) == len(labels) == len(groups):
        raise ValueError("audios, labels and groups must have the same length.")
    return [
        LabelledClip(
            label=label,
            group=str(group),
            audio=np.asarray(audio, dtype=np.float32),
            sample_rate=sample_rate,
            key=keys[i] if keys is not None else "",
        )
        for i, (audio, label, group) in enumerate(zip(audios, labels, groups, strict=True))
    ]


def scan_ravdess(data_dir: Path | str) -> list[LabelledClip]:
    """Every RAVDESS-named audio file under ``data_dir``, sorted by path, grouped by actor."""
    clips = []
    for path in sorted(Path(data_dir).rglob("*")):
        if path.suffix.lower() not in _AUDIO_SUFFIXES:
            continue
        match = _RAVDESS_NAME.match(path.stem)
        if match is None or match.group(3) not in RAVDESS_EMOTIONS:
            continue
        clips.append(
            LabelledClip(
                label=RAVDESS_EMOTIONS[match.group(3)],
                group=f"actor{match.group(7)}",
                path=path,
            )
        )
    if not clips:
        raise FileNotFoundError(f"No RAVDESS-named .flac/.wav files under {data_dir}.")
    return clips


def label_indices(clips: Sequence[LabelledClip]) -> np.ndarray:
    """Canonical label index of each clip."""
    return np.array([LABEL_INDEX[clip.label] for clip in clips], dtype=np.int64)


def group_kfold(
    clips: Sequence[LabelledClip], folds: int, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train indices, test indices) for each of ``folds`` speaker-disjoint folds.

    Groups are shuffled with ``seed`` and dealt round-robin, so folds differ by at most one
    group and the same seed always gives the same folds.
    """
    groups = sorted({clip.group for clip in clips})
    if folds < 2 or folds > len(groups):
        raise ValueError(f"Need 2 <= folds <= number of groups ({len(groups)}); got {folds}.")
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[g]: i % folds for i, g in enumerate(order)}
    assignment = np.array([fold_of[clip.group] for clip in clips])
    for fold in range(folds):
        yield np.flatnonzero(assignment != fold), np.flatnonzero(assignment == fold)


def group_holdout(
    clips: Sequence[LabelledClip], fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices) with about ``fraction`` of the groups held out."""
    groups = sorted({clip.group for clip in clips})
    if len(groups) < 2:
        raise ValueError("Holding out speakers needs at least two groups.")
    n_held = min(len(groups) - 1, max(1, round(fraction * len(groups))))
    held = {groups[i] for i in np.random.default_rng(seed).permutation(len(groups))[:n_held]}
    in_held = np.array([clip.group in held for clip in clips])
    return np.flatnonzero(~in_held), np.flatnonzero(in_held)


def label_counts(clips: Sequence[LabelledClip]) -> dict[str, int]:
    counts = dict.fromkeys(CANONICAL_LABELS, 0)
    for clip in clips:
        counts[clip.label] += 1
    return counts
