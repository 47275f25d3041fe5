"""Where a registered model version's files live, and loading it once per worker process.

Layout: imported and trained versions live in ``SER_MODELS_DIR/<clinic id>/<version id>/``
(``location`` holds the part after SER_MODELS_DIR); the shipped default lives in the code tree
under ``analysis/shipped/<name>/`` and is referred to as ``shipped:<name>``. Writes (import,
activation, retirement) are in ``analysis.registry.services``.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.engine.classifiers import EmotionClassifier, load_classifier, read_manifest
from analysis.models import EmotionModelVersion, ModelStatus

# analysis/shipped/ (this module moved into analysis/registry/ in the restructure).
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "shipped"
SHIPPED_PREFIX = "shipped:"
# The default model trained on RAVDESS and shipped with the portal (analysis/shipped/<name>/).
SHIPPED_DEFAULT = "ser-default-v2"
PENDING_DIR = ".pending"

_cache: dict[tuple[str, str], EmotionClassifier] = {}
_lock = threading.Lock()


class NoActiveModel(RuntimeError):
    """The clinic has no active emotion model version."""


def model_dir(version: EmotionModelVersion) -> Path:
    if version.location.startswith(SHIPPED_PREFIX):
        return SHIPPED_DIR / version.location.removeprefix(SHIPPED_PREFIX)
    return Path(settings.SER_MODELS_DIR) / version.location


def shipped_dir(name: str = SHIPPED_DEFAULT) -> Path:
    return SHIPPED_DIR / name


def clinic_models_dir(clinic_id: Any) -> Path:
    """Where a clinic's imported and trained versions are stored."""
    return Path(settings.SER_MODELS_DIR) / str(clinic_id)


def new_location(clinic_id: Any, version_id: Any) -> str:
    """The ``location`` of a new stored version (relative to SER_MODELS_DIR)."""
    return f"{clinic_id}/{version_id}"


def directory_checksum(path: Path) -> tuple[str, int]:
    """SHA-256 over every file's relative path and bytes (sorted), and the total size."""
    digest = hashlib.sha256()
    total = 0
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                total += len(block)
    return digest.hexdigest(), total


def active_version(clinic: Any) -> EmotionModelVersion:
    version = EmotionModelVersion.objects.filter(clinic=clinic, status=ModelStatus.ACTIVE).first()
    if version is None:
        raise NoActiveModel(
            "No emotion model is active for this clinic. An admin can "
            "activate one in the clinic console."
        )
    return version


def load_for_inference(path: Path | str, **options: Any) -> EmotionClassifier:
    """``load_classifier`` with the portal's inference settings, so workers, the headless
    commands and evaluation all run a model exactly alike.

    Hugging Face checkpoints run with ``SER_HF_INFERENCE_DTYPE`` (``auto`` by default: the
    fastest precision this CPU supports natively, timed once per process and model shape and
    kept only within 0.02 of fp32; see ``analysis.engine.classifiers.precision``) unless the caller
    asks otherwise.
    """
    if read_manifest(Path(path)).kind == "hf_audio_classification":
        options.setdefault("dtype", settings.SER_HF_INFERENCE_DTYPE)
        options.setdefault("onnx_cache_dir", settings.SER_ONNX_CACHE_DIR)
    return load_classifier(path, **options)


def load_version(version: EmotionModelVersion, **options: Any) -> EmotionClassifier:
    """The loaded classifier for ``version``, loaded once per process and reused."""
    key = (str(version.pk), repr(sorted(options.items())))
    with _lock:
        classifier = _cache.get(key)
        if classifier is None:
            classifier = load_for_inference(model_dir(version), **options)
            _cache[key] = classifier
        return classifier


def verify_files(version: EmotionModelVersion) -> str | None:
    """None when the version's files are present and match the stored checksum; otherwise a
    sentence saying what is wrong (for the admin activating it)."""
    path = model_dir(version)
    if not path.is_dir():
        return "The model's files are missing from the server."
    checksum, _size = directory_checksum(path)
    if checksum != version.checksum:
        return (
            "The model's files changed since they were registered (checksum mismatch); import "
            "the model again."
        )
    return None


def forget_version(version: EmotionModelVersion) -> None:
    """Drop a version from this process's cache (after retirement or file changes)."""
    prefix = str(version.pk)
    with _lock:
        for key in [key for key in _cache if key[0] == prefix]:
            del _cache[key]


def forget_loaded_models() -> None:
    with _lock:
        _cache.clear()
