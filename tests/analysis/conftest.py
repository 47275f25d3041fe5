"""Fixtures for the Django-free audio core: tiny models and generated conversations.

Nothing here touches Django or the database, so these tests also run with
``-p no:django --confcutdir=tests/analysis``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.analysis.audio_factory import espeak_available, espeak_speech, speechlike
from tests.tiny_models import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_w2v2"))


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model_dir: Path):
    from analysis.engine.classifiers.base import load_classifier

    # One thread: tiny models on a shared 2-core machine are slower with more.
    return load_classifier(tiny_model_dir, threads=1)


@dataclass
class Conversation:
    """Two voices alternating; ``turns`` holds (start_s, end_s, voice) with voice 'low'/'high'."""

    audio: np.ndarray
    turns: list[tuple[float, float, str]]


_LINES = [
    "Hello! Can you tell me how you are feeling today?",
    "I am happy because we went to the park this morning.",
    "That sounds lovely. What did you do at the park?",
    "We played on the swings and I saw a very big dog.",
    "Were you scared of the big dog, or was it friendly?",
    "It was friendly and it licked my hand, it was funny.",
]


def _voice(text: str, high: bool, seed: int) -> np.ndarray:
    if espeak_available():
        # A low male and a high female variant: the pitch gap of an adult and a child.
        if high:
            return espeak_speech(text, voice="en-us+f4", pitch=90)
        return espeak_speech(text, voice="en-gb+m3", pitch=30)
    return speechlike(2.5, f0=300.0 if high else 110.0, seed=seed, pause_s=0.0)


def make_conversation(turns: int = 6, pause_s: float = 0.6) -> Conversation:
    pieces: list[np.ndarray] = [np.zeros(int(0.3 * 16000), dtype=np.float32)]
    truth = []
    cursor = 0.3
    for i in range(turns):
        high = i % 2 == 1
        speech = _voice(_LINES[i % len(_LINES)], high, seed=i)
        truth.append((cursor, cursor + speech.size / 16000, "high" if high else "low"))
        pieces += [speech, np.zeros(int(pause_s * 16000), dtype=np.float32)]
        cursor += speech.size / 16000 + pause_s
    audio = np.concatenate(pieces)
    audio += 1e-4 * np.random.default_rng(0).standard_normal(audio.size).astype(np.float32)
    return Conversation(audio=audio.astype(np.float32), turns=truth)


@pytest.fixture(scope="session")
def conversation() -> Conversation:
    return make_conversation()
