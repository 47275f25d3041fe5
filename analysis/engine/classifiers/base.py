"""The classifier interface and the on-disk manifest that says which implementation loads a model.

A model directory holds the model's own files plus ``ser_model.json``:

    {"format": 1, "kind": "hf_audio_classification" | "features_head",
     "name": "...", "version": "...", "architecture": "...", "sample_rate": 16000,
     "labels": [model labels in output order], "label_map": {model label: canonical or null},
     "extra": {...kind-specific...}}

The pipeline, evaluation and ``classify_clips`` only ever call ``load_classifier`` and the
``EmotionClassifier`` methods, so a Hugging Face checkpoint and a features-plus-head model are
interchangeable everywhere.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from analysis.engine.labels import CANONICAL_LABELS

MANIFEST_NAME = "ser_model.json"
MANIFEST_FORMAT = 1

# kind -> "module:Class"; imported lazily so loading a features model never imports transformers.
CLASSIFIER_KINDS: dict[str, str] = {
    "hf_audio_classification": "analysis.engine.classifiers.hf:HFAudioClassifier",
    "features_head": "analysis.engine.classifiers.features_head:FeaturesHeadClassifier",
}


class ModelFormatError(ValueError):
    """A model directory is missing, malformed, or of a kind this portal cannot load."""


@dataclass
class ModelManifest:
    kind: str
    name: str
    version: str
    labels: list[str]
    label_map: dict[str, str | None]
    sample_rate: int = 16000
    architecture: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def validate(self) -> None:
        if self.kind not in CLASSIFIER_KINDS:
            raise ModelFormatError(f"Unknown model kind {self.kind!r}.")
        if not self.labels:
            raise ModelFormatError("The model declares no labels.")
        missing = [label for label in self.labels if label not in self.label_map]
        if missing:
            raise ModelFormatError(
                "Every model label must be mapped to a canonical label or explicitly ignored; "
                f"unmapped: {', '.join(missing)}."
            )
        wrong = {v for v in self.label_map.values() if v is not None} - set(CANONICAL_LABELS)
        if wrong:
            raise ModelFormatError(f"Not canonical labels: {', '.join(sorted(wrong))}.")

    def write(self, model_dir: Path) -> Path:
        path = Path(model_dir) / MANIFEST_NAME
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        return path


def read_manifest(model_dir: Path) -> ModelManifest:
    path = Path(model_dir) / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ModelFormatError(f"{MANIFEST_NAME} is missing from {model_dir}.") from exc
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"{MANIFEST_NAME} is not valid JSON: {exc}.") from exc
    if raw.get("format") != MANIFEST_FORMAT:
        raise ModelFormatError(f"Unsupported manifest format {raw.get('format')!r}.")
    try:
        manifest = ModelManifest(**raw)
    except TypeError as exc:
        raise ModelFormatError(f"Malformed manifest: {exc}.") from exc
    manifest.validate()
    return manifest


@runtime_checkable
class EmotionClassifier(Protocol):
    """What every loaded model offers. Probabilities are always over CANONICAL_LABELS."""

    manifest: ModelManifest

    @property
    def sample_rate(self) -> int: ...

    def predict_proba(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """One row of canonical probabilities per clip (each clip is one window)."""
        ...

    def predict_windows(self, audio: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
        """Canonical probabilities for each (start, end) sample range of one audio stretch.

        Implementations may share work between overlapping windows (the HF classifier encodes
        the stretch once and pools frame states per window).
        """
        ...


def load_classifier(model_dir: Path | str, **options: Any) -> EmotionClassifier:
    """Load the model in ``model_dir`` with the implementation its manifest names."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    module_name, class_name = CLASSIFIER_KINDS[manifest.kind].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    classifier: EmotionClassifier = cls.load(model_dir, manifest, **options)
    return classifier
