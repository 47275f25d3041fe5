"""Tiny emotion models built from a config, loaded through the same code path as real ones."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.engine.classifiers.base import ModelManifest

TINY_LABELS = ["neu", "hap", "ang", "sad"]


def build_tiny_wav2vec2(model_dir: Path, *, seed: int = 0, min_confidence: float = 0.0) -> Path:
    """A 2-layer, 32-wide wav2vec2 classifier with superb-style labels, saved as safetensors."""
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForSequenceClassification,
    )

    torch.manual_seed(seed)
    config = Wav2Vec2Config(  # type: ignore[call-arg]
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(32, 32),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        conv_bias=True,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=16,
        num_labels=len(TINY_LABELS),
        id2label=dict(enumerate(TINY_LABELS)),
        label2id={v: i for i, v in enumerate(TINY_LABELS)},
    )
    model = Wav2Vec2ForSequenceClassification(config).eval()
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir, safe_serialization=True)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(model_dir)
    ModelManifest(
        kind="hf_audio_classification",
        name="tiny-w2v2",
        version="1",
        labels=TINY_LABELS,
        label_map={"neu": "neutral", "hap": "happy", "ang": "angry", "sad": "sad"},
        architecture="Wav2Vec2ForSequenceClassification",
        # A random model is never confident; tests that are not about the confidence floor
        # want its estimates judged, so its floor is zero (tests of the floor raise it).
        extra={"reliability": {"min_confidence": min_confidence}},
    ).write(model_dir)
    return model_dir


def register_tiny_model(
    clinic: Any, *, status: str = "active", name: str = "tiny-w2v2", min_confidence: float = 0.0
) -> Any:
    from analysis.models import EmotionModelVersion
    from analysis.registry.active import directory_checksum

    relative = f"{clinic.pk}/{uuid.uuid4()}"
    model_dir = build_tiny_wav2vec2(
        Path(settings.SER_MODELS_DIR) / relative, min_confidence=min_confidence
    )
    checksum, size = directory_checksum(model_dir)
    return EmotionModelVersion.objects.create(
        clinic=clinic,
        name=name,
        version=str(uuid.uuid4())[:8],
        source="imported",
        kind="hf_audio_classification",
        architecture="Wav2Vec2ForSequenceClassification",
        labels=TINY_LABELS,
        label_map={"neu": "neutral", "hap": "happy", "ang": "angry", "sad": "sad"},
        location=relative,
        checksum=checksum,
        size_bytes=size,
        status=status,
    )
