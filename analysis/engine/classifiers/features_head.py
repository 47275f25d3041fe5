"""Features-plus-head models (manifest kind ``features_head``), stored without pickle.

A model directory holds:

* ``ser_model.json``: the manifest; ``extra["features"]`` names the feature set, either
  ``"acoustic"`` (``analysis.engine.classifiers.features.acoustic_features``) or ``{"encoder":
  "<relative dir of a
  frozen transformers encoder>", "layers": "all" | [ints], "pooling": "mean" | "mean+std",
  "keep_layers": N (optional: run only the first N transformer layers)}``;
  ``extra["head"]`` names the head description file.
* ``head.json``: a list of heads, each a list of numpy operations (standardise, linear, relu,
  tanh, rbf), their ensemble weights, the model labels in output order and, optionally, a
  calibration ``temperature`` applied to the ensemble's probabilities (softmax(log p / T),
  fitted on held-out speakers; 1 = none).
* ``head.safetensors``: every array the operations refer to, by name.

Inference is a plain numpy forward pass, so a model trained with scikit-learn or torch loads
without either, and nothing executable is ever read from disk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.classifiers.base import ModelFormatError, ModelManifest
from analysis.engine.labels import to_canonical

KIND = "features_head"
HEAD_FILE = "head.json"
WEIGHTS_FILE = "head.safetensors"
HEAD_FORMAT = 1
_OPS = {"standardize", "linear", "relu", "tanh", "rbf"}
# Hand-made feature sets by name: "acoustic" (features.acoustic_features, ser-default-v1) and
# "acoustic2" (features.robust_acoustic_features: level- and noise-floor-normalised).
ACOUSTIC_SETS = ("acoustic", "acoustic2")


@dataclass
class Head:
    """One classifier head: a sequence of operations from a feature vector to logits.

    Each op is a dict with "op" and, where needed, names of arrays in ``arrays``:
    standardize(mean, scale), linear(weight (out, in), bias?), relu, tanh, rbf(landmarks, gamma).
    """

    ops: list[dict[str, Any]]
    arrays: dict[str, np.ndarray]

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = np.atleast_2d(np.asarray(x, dtype=np.float64))
        for op in self.ops:
            kind = op["op"]
            if kind == "standardize":
                h = (h - self.arrays[op["mean"]]) / self.arrays[op["scale"]]
            elif kind == "linear":
                h = h @ self.arrays[op["weight"]].T
                if op.get("bias"):
                    h = h + self.arrays[op["bias"]]
            elif kind == "relu":
                h = np.maximum(h, 0.0)
            elif kind == "tanh":
                h = np.tanh(h)
            elif kind == "rbf":
                landmarks = self.arrays[op["landmarks"]]
                sq = (
                    (h**2).sum(axis=1, keepdims=True)
                    - 2.0 * h @ landmarks.T
                    + (landmarks**2).sum(axis=1)[None, :]
                )
                h = np.exp(-float(op["gamma"]) * np.maximum(sq, 0.0))
            else:
                raise ModelFormatError(f"Unknown head operation {kind!r}.")
        return h


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


@dataclass
class HeadEnsemble:
    """Weighted mean of the heads' softmax probabilities over ``labels``."""

    labels: list[str]
    heads: list[Head]
    weights: list[float] = field(default_factory=list)
    temperature: float = 1.0
    # Mean feature vector of the training set's neutral and calm speech: a voice baseline
    # (analysis.engine.emotion.baseline) moves a speaker's own neutral speech onto it.
    reference: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.weights:
            self.weights = [1.0] * len(self.heads)
        if len(self.weights) != len(self.heads) or not self.heads:
            raise ValueError("An ensemble needs at least one head and one weight per head.")
        if not self.temperature > 0:
            raise ValueError("The calibration temperature must be positive.")

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        total = sum(self.weights)
        probs = sum(
            w * softmax(head.logits(x)) for w, head in zip(self.weights, self.heads, strict=True)
        )
        out = np.asarray(probs) / total
        if out.shape[1] != len(self.labels):
            raise ModelFormatError("Head output size does not match the number of labels.")
        if self.temperature != 1.0:
            logp = np.log(np.clip(out, 1e-12, 1.0)) / self.temperature
            out = softmax(logp)
        return out

    def atypicality(self, features: np.ndarray) -> np.ndarray:
        """How unlike the training voices each feature vector is: the root mean square of its
        z-scores against the first head's standardiser (about 1 for a typical training clip).
        NaN when the head has no standardiser."""
        head = self.heads[0]
        op = next((o for o in head.ops if o["op"] == "standardize"), None)
        features = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if op is None:
            return np.full(len(features), np.nan)
        z = (features - head.arrays[op["mean"]]) / head.arrays[op["scale"]]
        return np.asarray(np.sqrt(np.mean(z**2, axis=1)))

    def save(self, model_dir: Path) -> None:
        from safetensors.numpy import save_file

        tensors: dict[str, np.ndarray] = {}
        described = []
        for i, head in enumerate(self.heads):
            renamed: dict[str, str] = {}
            for name, array in head.arrays.items():
                renamed[name] = f"head{i}.{name}"
                tensors[renamed[name]] = np.ascontiguousarray(array, dtype=np.float32)
            ops = [
                {k: (renamed[v] if k != "op" and isinstance(v, str) else v) for k, v in op.items()}
                for op in head.ops
            ]
            described.append({"ops": ops})
        if self.reference is not None:
            tensors["neutral_reference"] = np.ascontiguousarray(self.reference, dtype=np.float32)
        spec = {
            "format": HEAD_FORMAT,
            "labels": self.labels,
            "weights": self.weights,
            "temperature": self.temperature,
            "neutral_reference": self.reference is not None,
            "heads": described,
        }
        (model_dir / HEAD_FILE).write_text(json.dumps(spec, indent=1) + "\n")
        save_file(tensors, str(model_dir / WEIGHTS_FILE))
        # safetensors creates the file owner-only; the web and worker users must read it too.
        (model_dir / WEIGHTS_FILE).chmod(0o644)

    @classmethod
    def load(cls, model_dir: Path) -> HeadEnsemble:
        from safetensors.numpy import load_file

        try:
            spec = json.loads((model_dir / HEAD_FILE).read_text())
            tensors = load_file(str(model_dir / WEIGHTS_FILE))
        except FileNotFoundError as exc:
            raise ModelFormatError(f"Head file missing from {model_dir}: {exc.filename}") from exc
        if spec.get("format") != HEAD_FORMAT:
            raise ModelFormatError(f"Unsupported head format {spec.get('format')!r}.")
        heads = []
        for described in spec["heads"]:
            ops = described["ops"]
            unknown = {op["op"] for op in ops} - _OPS
            if unknown:
                raise ModelFormatError(f"Unknown head operations: {sorted(unknown)}.")
            names = {v for op in ops for k, v in op.items() if k != "op" and isinstance(v, str)}
            missing = names - tensors.keys()
            if missing:
                raise ModelFormatError(f"Head arrays missing: {sorted(missing)}.")
            arrays = {name: tensors[name].astype(np.float64) for name in names}
            heads.append(Head(ops=ops, arrays=arrays))
        reference = None
        if spec.get("neutral_reference"):
            if "neutral_reference" not in tensors:
                raise ModelFormatError("Head arrays missing: ['neutral_reference'].")
            reference = tensors["neutral_reference"].astype(np.float64)
        return cls(
            labels=list(spec["labels"]),
            heads=heads,
            weights=list(spec["weights"]),
            temperature=float(spec.get("temperature", 1.0)),
            reference=reference,
        )


class FeatureExtractor:
    """Turns 16 kHz clips into the feature vectors a head was trained on."""

    def __init__(self, model_dir: Path, spec: str | dict[str, Any], device: str = "cpu") -> None:
        self.spec = spec
        self._encoder = None
        if spec in ACOUSTIC_SETS:
            return
        if not isinstance(spec, dict) or "encoder" not in spec:
            raise ModelFormatError(f"Unknown feature set {spec!r}.")
        from analysis.engine.classifiers.features import FrozenEncoder

        encoder_dir = (model_dir / spec["encoder"]).resolve()
        if not encoder_dir.is_relative_to(model_dir.resolve()):
            raise ModelFormatError("The encoder must live inside the model directory.")
        self._encoder = FrozenEncoder(
            encoder_dir,
            layers=spec.get("layers", "all"),
            pooling=spec.get("pooling", "mean"),
            device=device,
            keep_layers=spec.get("keep_layers"),
        )

    def __call__(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        from analysis.engine.classifiers.features import acoustic_features, robust_acoustic_features

        if not clips:
            return np.zeros((0, 0), dtype=np.float32)
        extract: Any = self._encoder
        if extract is None:
            extract = robust_acoustic_features if self.spec == "acoustic2" else acoustic_features
        return np.stack([extract(np.asarray(clip, dtype=np.float32)) for clip in clips])


class FeaturesHeadClassifier:
    """An ``EmotionClassifier`` made of a feature extractor and a numpy head ensemble."""

    def __init__(
        self, manifest: ModelManifest, ensemble: HeadEnsemble, extractor: FeatureExtractor
    ) -> None:
        if ensemble.labels != manifest.labels:
            raise ModelFormatError("The head's labels differ from the manifest's labels.")
        self.manifest = manifest
        self.ensemble = ensemble
        self.extractor = extractor

    @classmethod
    def load(
        cls, model_dir: Path, manifest: ModelManifest, **options: Any
    ) -> FeaturesHeadClassifier:
        model_dir = Path(model_dir)
        if manifest.kind != KIND:
            raise ModelFormatError(f"Not a {KIND} model: {manifest.kind!r}.")
        if "features" not in manifest.extra:
            raise ModelFormatError("The manifest does not name a feature set (extra.features).")
        extractor = FeatureExtractor(
            model_dir, manifest.extra["features"], device=options.get("device", "cpu")
        )
        return cls(manifest, HeadEnsemble.load(model_dir), extractor)

    @property
    def sample_rate(self) -> int:
        return self.manifest.sample_rate

    def features(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        return self.extractor(clips)

    @property
    def supports_baseline(self) -> bool:
        """Whether a speaker's voice baseline can shift this model's features."""
        return self.ensemble.reference is not None

    def predict_features(self, features: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
        """Canonical probabilities from precomputed feature vectors, optionally moved by a
        voice baseline's ``shift`` (``analysis.engine.emotion.baseline.VoiceBaseline.shift``)."""
        features = np.asarray(features, dtype=np.float64)
        if shift is not None:
            features = features - shift
        probs = self.ensemble.predict_proba(features)
        return to_canonical(probs, self.manifest.labels, self.manifest.label_map)

    def atypicality(self, features: np.ndarray) -> np.ndarray:
        """How unlike the training voices each feature vector is (``HeadEnsemble.atypicality``)."""
        return self.ensemble.atypicality(features)

    def window_features(self, audio: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        return self.features([audio[start:end] for start, end in windows])

    def predict_proba(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        if len(clips) == 0:
            return np.zeros((0, 8), dtype=np.float64)
        return self.predict_features(self.features(clips))

    def predict_windows(self, audio: np.ndarray, windows: Sequence[tuple[int, int]]) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        return self.predict_proba([audio[start:end] for start, end in windows])


def write_model(
    model_dir: Path | str,
    ensemble: HeadEnsemble,
    *,
    features: str | dict[str, Any],
    name: str,
    version: str,
    architecture: str,
    extra: dict[str, Any] | None = None,
) -> ModelManifest:
    """Write head files and ``ser_model.json`` (labels are canonical, so the map is identity)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    ensemble.save(model_dir)
    manifest = ModelManifest(
        kind=KIND,
        name=name,
        version=version,
        labels=list(ensemble.labels),
        label_map={label: label for label in ensemble.labels},
        architecture=architecture,
        extra={"features": features, "head": HEAD_FILE, "weights": WEIGHTS_FILE, **(extra or {})},
    )
    manifest.validate()
    manifest.write(model_dir)
    return manifest
