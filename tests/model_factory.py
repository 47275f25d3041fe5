"""Tiny emotion models built from a config, loaded through the same code path as real ones."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.tiny_models import build_tiny_model

TINY_LABELS = ["neu", "hap", "ang", "sad"]
TINY_MAP: dict[str, str | None] = {"neu": "neutral", "hap": "happy", "ang": "angry", "sad": "sad"}


def registered_tiny_model(model_dir: Path, *, seed: int = 0, min_confidence: float = 0.0) -> Path:
    """The tiny model (tests/tiny_models.py) as a clinic registers it: superb-style labels,
    a preprocessor config, and a confidence floor."""
    return build_tiny_model(
        model_dir,
        labels=TINY_LABELS,
        label_map=TINY_MAP,
        seed=seed,
        sharpen=1.0,
        feature_extractor=True,
        name="tiny-w2v2",
        # A random model is never confident; tests that are not about the confidence floor
        # want its estimates judged, so its floor is zero (tests of the floor raise it).
        manifest_extra={"reliability": {"min_confidence": min_confidence}},
    )


def register_tiny_model(
    clinic: Any, *, status: str = "active", name: str = "tiny-w2v2", min_confidence: float = 0.0
) -> Any:
    from analysis.models import EmotionModelVersion
    from analysis.registry.active import directory_checksum

    relative = f"{clinic.pk}/{uuid.uuid4()}"
    model_dir = registered_tiny_model(
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
        label_map=TINY_MAP,
        location=relative,
        checksum=checksum,
        size_bytes=size,
        status=status,
    )
