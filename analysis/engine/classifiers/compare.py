"""Two (or more) emotion models side by side on one excerpt of a recording.

Used by the console's "try on a recording" page before a staged model is activated: the
excerpt is decoded (only as far as needed), cut into speech segments by the pipeline's VAD
(long segments split into windows of at most ``max_window_s``), and every model labels every
segment. Plain Python: no Django.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.audio.decode import TARGET_SR, AudioLimits, iter_decode
from analysis.engine.classifiers import EmotionClassifier
from analysis.engine.labels import CANONICAL_LABELS


@dataclass(frozen=True)
class Excerpt:
    audio: np.ndarray
    start_s: float

    @property
    def duration_s(self) -> float:
        return self.audio.size / TARGET_SR


def read_excerpt(
    path: Path | str, *, start_s: float, seconds: float, limits: AudioLimits | None = None
) -> Excerpt:
    """``seconds`` of 16 kHz mono audio from ``start_s``; decoding stops once they are read.
    Raises AudioError (readable) for damaged files, and ValueError when the recording ends
    before ``start_s``."""
    start = int(max(start_s, 0.0) * TARGET_SR)
    end = start + int(seconds * TARGET_SR)
    blocks = []
    position = 0
    stream: Generator[np.ndarray, None, None] = iter_decode(  # type: ignore[assignment]
        path, block_s=10.0, limits=limits
    )
    try:
        for block in stream:
            block_end = position + block.size
            if block_end > start:
                blocks.append(block[max(start - position, 0) : max(end - position, 0)])
            position = block_end
            if position >= end:
                break
    finally:
        stream.close()
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    if audio.size < TARGET_SR // 2:
        raise ValueError(
            f"The recording has less than half a second of audio after {start_s:g} s; choose "
            "an earlier start."
        )
    return Excerpt(audio=audio.astype(np.float32, copy=False), start_s=start / TARGET_SR)


def speech_windows(
    audio: np.ndarray, *, max_window_s: float = 4.0, min_window_s: float = 0.5
) -> tuple[list[tuple[int, int]], bool]:
    """(sample ranges, found_speech): VAD speech segments split into pieces of at most
    ``max_window_s``; fixed windows over the whole excerpt when the VAD finds no speech."""
    from analysis.engine.speech.segmentation import detect_speech

    max_len = int(max_window_s * TARGET_SR)
    min_len = int(min_window_s * TARGET_SR)
    segments = [
        (int(s.start_s * TARGET_SR), int(s.end_s * TARGET_SR)) for s in detect_speech(audio)
    ]
    found = bool(segments)
    if not found:
        segments = [(0, audio.size)]
    windows: list[tuple[int, int]] = []
    for start, end in segments:
        end = min(end, audio.size)
        pieces = max(1, int(np.ceil((end - start) / max_len)))
        edges = np.linspace(start, end, pieces + 1).astype(int)
        for a, b in itertools.pairwise(edges):
            if b - a >= min_len:
                windows.append((int(a), int(b)))
    return windows, found


def _label(row: np.ndarray) -> dict[str, Any]:
    if not np.isfinite(row).all() or row.sum() <= 0:
        return {"label": None, "confidence": 0.0}
    index = int(row.argmax())
    return {"label": CANONICAL_LABELS[index], "confidence": float(row[index])}


def compare_models(
    classifiers: Mapping[str, EmotionClassifier],
    excerpt: Excerpt,
    windows: list[tuple[int, int]],
) -> list[dict[str, Any]]:
    """One row per window: times in the recording and each model's label and confidence."""
    if not windows:
        return []
    results = {
        key: np.asarray(classifier.predict_windows(excerpt.audio, windows))
        for key, classifier in classifiers.items()
    }
    rows = []
    for i, (start, end) in enumerate(windows):
        labels = {key: _label(probs[i]) for key, probs in results.items()}
        distinct = {value["label"] for value in labels.values()}
        rows.append(
            {
                "start_s": excerpt.start_s + start / TARGET_SR,
                "end_s": excerpt.start_s + end / TARGET_SR,
                "models": labels,
                "agree": len(distinct) == 1,
            }
        )
    return rows


def agreement(rows: list[dict[str, Any]]) -> float | None:
    """Share of windows on which all models give the same label."""
    if not rows:
        return None
    return sum(1 for row in rows if row["agree"]) / len(rows)
