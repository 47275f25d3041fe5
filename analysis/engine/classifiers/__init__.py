"""Emotion classifiers: one interface for every kind of model the registry holds."""

from analysis.engine.classifiers.base import (
    MANIFEST_NAME,
    EmotionClassifier,
    ModelFormatError,
    ModelManifest,
    load_classifier,
    read_manifest,
)

__all__ = [
    "MANIFEST_NAME",
    "EmotionClassifier",
    "ModelFormatError",
    "ModelManifest",
    "load_classifier",
    "read_manifest",
]
