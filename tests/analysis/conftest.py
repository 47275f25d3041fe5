"""Fixtures for the Django-free audio core: tiny models and generated conversations.

Nothing here touches Django or the database, so these tests also run with
``-p no:django --confcutdir=tests/analysis``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.classifiers.base import ModelManifest
from tests.analysis.audio_factory import espeak_available, espeak_speech, speechlike

TINY_LABELS = ["neu", "hap", "ang", "sad", "xxx"]
TINY_LABEL_MAP: dict[str, str | None] = {
    "neu": "neutral",
    "hap": "happy",
    "ang": "angry",
    "sad": "sad",
    "xxx": None,  # a label the portal deliberately ignores
}


def build_tiny_model(
    model_dir: Path,
    *,
    arch: str = "wav2vec2",
    weighted_layer_sum: bool = False,
    seed: int = 0,
    sharpen: float = 400.0,
) -> Path:
    """A 2-layer, 32-wide audio classifier saved with save_pretrained (safetensors) + manifest.

    The conv stack has a 320-sample stride like real wav2vec2 models, so frame alignment is
    realistic. Random heads give near-uniform probabilities, which would hide differences, so
    the classifier weights are scaled by ``sharpen`` to make outputs peaky.
    """
    import torch
    from transformers import (
        HubertConfig,
        HubertForSequenceClassification,
        Wav2Vec2Config,
        Wav2Vec2ForSequenceClassification,
        WavLMConfig,
        WavLMForSequenceClassification,
    )

    classes = {
        "wav2vec2": (Wav2Vec2Config, Wav2Vec2ForSequenceClassification),
        "hubert": (HubertConfig, HubertForSequenceClassification),
        "wavlm": (WavLMConfig, WavLMForSequenceClassification),
    }
    config_cls, model_cls = classes[arch]
    torch.manual_seed(seed)
    config = config_cls(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32, 32),
        conv_kernel=(10, 8, 4),
        conv_stride=(5, 8, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=16,
        use_weighted_layer_sum=weighted_layer_sum,
        num_labels=len(TINY_LABELS),
        id2label=dict(enumerate(TINY_LABELS)),
        label2id={label: i for i, label in enumerate(TINY_LABELS)},
    )
    model = model_cls(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(sharpen)
        if weighted_layer_sum:
            model.layer_weights.copy_(torch.tensor([0.5, 1.0, 2.0]))
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir, safe_serialization=True)
    ModelManifest(
        kind="hf_audio_classification",
        name=f"tiny-{arch}",
        version="1",
        labels=TINY_LABELS,
        label_map=TINY_LABEL_MAP,
        architecture=model_cls.__name__,
    ).write(model_dir)
    return model_dir


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
