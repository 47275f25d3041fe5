"""Where a registered model version's files live, and loading it once per worker process."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.classifiers import EmotionClassifier, load_classifier
from analysis.models import EmotionModelVersion, ModelStatus

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
SHIPPED_PREFIX = "shipped:"

_cache: dict[tuple[str, str], EmotionClassifier] = {}
_lock = threading.Lock()


class NoActiveModel(RuntimeError):
    """The clinic has no active emotion model version."""


def model_dir(version: EmotionModelVersion) -> Path:
    if version.location.startswith(SHIPPED_PREFIX):
        return SHIPPED_DIR / version.location.removeprefix(SHIPPED_PREFIX)
    return Path(settings.SER_MODELS_DIR) / version.location


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
    version = EmotionModelVersion.objects.filter(
        clinic=clinic, status=ModelStatus.ACTIVE
    ).first()
    if version is None:
        raise NoActiveModel("No emotion model is active for this clinic. An admin can "
                            "activate one in the clinic console.")
    return version


def load_version(version: EmotionModelVersion, **options: Any) -> EmotionClassifier:
    """The loaded classifier for ``version``, loaded once per process and reused."""
    key = (str(version.pk), repr(sorted(options.items())))
    with _lock:
        classifier = _cache.get(key)
        if classifier is None:
            classifier = load_classifier(model_dir(version), **options)
            _cache[key] = classifier
        return classifier


def forget_loaded_models() -> None:
    with _lock:
        _cache.clear()
