"""Checks of a staged Hugging Face audio-classification checkpoint: where its config is, its
labels, its weights (safetensors only; pickles converted only when allowed), its config (no
custom code), a load and a test clip through the pipeline's own loader, and the label map onto
the canonical emotions. Every refusal is an ``ImportRejected`` with a stable ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from analysis.engine.classifiers.archives import ImportRejected
from analysis.engine.classifiers.base import ModelFormatError
from analysis.engine.labels import CANONICAL_LABELS

# Weight files that are pickles (arbitrary code on load) or formats the portal does not load.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
FOREIGN_WEIGHT_SUFFIXES = (".h5", ".msgpack", ".onnx", ".tflite", ".ot", ".gguf")


def locate_model_root(directory: Path) -> Path:
    """The folder holding ``config.json``: the top level or the one folder that has it."""
    configs = [
        p
        for p in directory.rglob("config.json")
        if not any(part.startswith(".") for part in p.relative_to(directory).parts)
    ]
    if not configs:
        raise ImportRejected(
            "no_config",
            "No config.json found: the archive must hold a Hugging Face model folder "
            "(config.json, model.safetensors, preprocessor_config.json).",
        )
    # The shallowest folder wins (a model may nest an encoder folder with its own config).
    depth = min(len(p.parent.parts) for p in configs)
    roots = sorted({p.parent for p in configs if len(p.parent.parts) == depth})
    if len(roots) > 1:
        raise ImportRejected(
            "ambiguous",
            "The archive holds several model folders; import one model at a time.",
        )
    return roots[0]


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRejected("bad_config", f"{what} is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ImportRejected("bad_config", f"{what} is not a JSON object.")
    return data


def model_labels(config: Mapping[str, Any]) -> list[str]:
    """The model's labels in output order, from ``config.json``'s id2label."""
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise ImportRejected(
            "bad_config",
            "config.json has no id2label: this is not an audio-classification checkpoint.",
        )
    try:
        by_index = {int(k): str(v) for k, v in id2label.items()}
    except (TypeError, ValueError) as exc:
        raise ImportRejected("bad_config", "config.json's id2label keys are not numbers.") from exc
    if sorted(by_index) != list(range(len(by_index))):
        raise ImportRejected("bad_config", "config.json's id2label skips output indices.")
    labels = [by_index[i] for i in range(len(by_index))]
    if len(set(labels)) != len(labels):
        raise ImportRejected("bad_config", "config.json's id2label repeats a label.")
    return labels


def prepare_weights(root: Path, *, allow_pickle: bool) -> list[str]:
    """Make ``root`` hold safetensors weights only; return warnings for the admin.

    Pickled weights next to safetensors are deleted unread. Pickle-only checkpoints are refused
    unless ``allow_pickle``; then they are loaded with weights_only=True and re-saved as
    safetensors. Code files (*.py) are deleted: the portal never runs code from a model.
    """
    warnings: list[str] = []
    files = [p for p in root.rglob("*") if p.is_file()]
    safetensors = [p for p in files if p.suffix == ".safetensors"]
    pickles = [p for p in files if p.suffix.lower() in PICKLE_SUFFIXES]
    code = [p for p in files if p.suffix == ".py"]
    foreign = [p for p in files if p.suffix.lower() in FOREIGN_WEIGHT_SUFFIXES]
    for path in code:
        path.unlink()
    if code:
        warnings.append(
            f"Ignored {len(code)} Python file(s) shipped with the model: the portal never runs "
            "code from a model."
        )
    for path in foreign:
        path.unlink()
    if foreign:
        warnings.append(
            "Removed TensorFlow/Flax/ONNX weight files; the portal loads PyTorch safetensors."
        )
    if safetensors:
        for path in pickles:
            path.unlink()
        if pickles:
            warnings.append(
                "Removed pickled weight files (e.g. pytorch_model.bin) that came alongside the "
                "safetensors weights; they were never read."
            )
        return warnings
    if not pickles:
        raise ImportRejected(
            "no_weights",
            "The model has no weights: expected model.safetensors (or sharded "
            "model-0000x-of-0000y.safetensors).",
        )
    if not allow_pickle:
        raise ImportRejected(
            "pickle_weights",
            "The model's weights are a pickle (pytorch_model.bin), which can run arbitrary code "
            "when loaded. Convert them to safetensors, or, if you trust the source, tick 'allow "
            "pickle weights' (--allow-pickle on the command line).",
        )
    _convert_pickle_to_safetensors(root)
    for path in pickles:
        if path.exists():
            path.unlink()
    warnings.append(
        "The weights were a pickle (pytorch_model.bin), accepted because an admin allowed it. "
        "They were read with weights_only=True and stored as safetensors."
    )
    return warnings


def _convert_pickle_to_safetensors(root: Path) -> None:
    try:
        from transformers import AutoModelForAudioClassification

        model = AutoModelForAudioClassification.from_pretrained(
            str(root), use_safetensors=False, trust_remote_code=False
        )
        model.save_pretrained(str(root), safe_serialization=True)
    except Exception as exc:
        raise ImportRejected(
            "load_failed",
            f"The pickled weights could not be loaded as a safe state dict: {_short(exc)}",
        ) from exc


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_config(root: Path) -> tuple[dict[str, Any], int]:
    """config.json (checked) and the sample rate from preprocessor_config.json."""
    config_path = root / "config.json"
    config = _read_json(config_path, "config.json")
    if config.get("auto_map"):
        raise ImportRejected(
            "custom_code",
            "This model needs custom Python code (auto_map in config.json); the portal never "
            "runs code shipped with a model.",
        )
    sample_rate = 16000
    preprocessor = root / "preprocessor_config.json"
    if preprocessor.exists():
        pre = _read_json(preprocessor, "preprocessor_config.json")
        sample_rate = int(pre.get("sampling_rate", sample_rate))
    if sample_rate != 16000:
        raise ImportRejected(
            "bad_config",
            f"The model expects {sample_rate} Hz audio; the portal analyses 16 kHz audio.",
        )
    return config, sample_rate


def probe_clips(sample_rate: int = 16000) -> list[np.ndarray]:
    """A 1 s tone and 1 s of seeded noise: what every model must survive before use."""
    t = np.arange(sample_rate) / sample_rate
    tone = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    noise = (0.1 * np.random.default_rng(0).standard_normal(sample_rate)).astype(np.float32)
    return [tone, noise]


def smoke_test(model_dir: Path) -> np.ndarray:
    """Load ``model_dir`` through ``load_classifier`` and run it on the test clips."""
    from analysis.engine.classifiers import load_classifier

    try:
        classifier = load_classifier(model_dir)
    except (ModelFormatError, ImportRejected):
        raise
    except Exception as exc:
        raise ImportRejected(
            "load_failed",
            "The checkpoint does not load as an audio-classification model "
            f"(AutoModelForAudioClassification): {_short(exc)}",
        ) from exc
    try:
        probabilities = np.asarray(classifier.predict_proba(probe_clips(classifier.sample_rate)))
    except Exception as exc:
        raise ImportRejected(
            "smoke_failed", f"The model failed on a one-second test clip: {_short(exc)}"
        ) from exc
    if probabilities.shape != (2, len(CANONICAL_LABELS)) or not np.isfinite(probabilities).all():
        raise ImportRejected(
            "smoke_failed", "The model returned malformed probabilities on a test clip."
        )
    sums = probabilities.sum(axis=1)
    if (probabilities < -1e-6).any() or not np.all(
        np.isclose(sums, 1.0, atol=1e-3) | np.isclose(sums, 0.0)
    ):
        raise ImportRejected(
            "smoke_failed", "The model's probabilities on a test clip do not add up to one."
        )
    return probabilities


def parse_label_map(text: str) -> dict[str, str | None]:
    """``"neu=neutral,hap=happy,xxx=none"`` -> {"neu": "neutral", "hap": "happy", "xxx": None}."""
    result: dict[str, str | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        label, sep, target = item.partition("=")
        if not sep or not label.strip():
            raise ImportRejected(
                "bad_label_map", f"{item!r} is not label=canonical (e.g. neu=neutral, xxx=none)."
            )
        target = target.strip().lower()
        result[label.strip()] = None if target in ("none", "ignore", "") else target
    return result


def check_label_map(
    labels: list[str], label_map: Mapping[str, str | None]
) -> dict[str, str | None]:
    """The label map restricted to ``labels``, after checking it maps every one of them."""
    unknown = sorted(set(label_map) - set(labels))
    if unknown:
        raise ImportRejected("bad_label_map", f"The model has no label(s) {', '.join(unknown)}.")
    missing = [label for label in labels if label not in label_map]
    if missing:
        raise ImportRejected(
            "unmapped_labels",
            "Map every model label to a portal emotion or mark it ignored; unmapped: "
            f"{', '.join(missing)}.",
        )
    wrong = sorted({v for v in label_map.values() if v is not None} - set(CANONICAL_LABELS))
    if wrong:
        raise ImportRejected(
            "bad_label_map",
            f"Not portal emotions: {', '.join(wrong)}. Use one of "
            f"{', '.join(CANONICAL_LABELS)} or none.",
        )
    if all(label_map[label] is None for label in labels):
        raise ImportRejected(
            "bad_label_map", "At least one model label must map to a portal emotion."
        )
    return {label: label_map[label] for label in labels}
