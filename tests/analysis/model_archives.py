"""Tiny Hugging Face checkpoints and archives (good and malicious) for the registry tests.

The model is a 2-layer, 32-wide wav2vec2 classifier built from a config and saved with
``save_pretrained``: it loads through exactly the code path of a real import.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.tiny_models import build_tiny_model

TINY_LABELS = ("neu", "hap", "ang", "sad")
TINY_MAP = {"neu": "neutral", "hap": "happy", "ang": "angry", "sad": "sad"}


def build_hf_folder(
    directory: Path, *, labels: Sequence[str] = TINY_LABELS, **options: Any
) -> Path:
    """The tiny model as a Hugging Face folder (config.json, weights, preprocessor) without
    ser_model.json: what the import stages. ``options`` go to ``build_tiny_model``."""
    return build_tiny_model(
        directory, labels=labels, manifest=False, feature_extractor=True, sharpen=1.0, **options
    )


def zip_folder(folder: Path, archive: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + str(path.relative_to(folder)))
    return archive


def tar_folder(folder: Path, archive: Path, *, prefix: str = "") -> Path:
    with tarfile.open(archive, "w:gz") as tf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tf.add(path, prefix + str(path.relative_to(folder)))
    return archive


def add_zip_entry(archive: Path, name: str, data: bytes = b"x", *, mode: int | None = None) -> Path:
    with zipfile.ZipFile(archive, "a") as zf:
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        zf.writestr(info, data)
    return archive


def tar_with_member(
    folder: Path, archive: Path, member: tarfile.TarInfo, data: bytes | None = None
) -> Path:
    """A valid model tarball plus one extra (malicious) member."""
    with tarfile.open(archive, "w:gz") as tf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tf.add(path, str(path.relative_to(folder)))
        tf.addfile(member, io.BytesIO(data) if data is not None else None)
    return archive


def special_member(name: str, kind: bytes, **fields: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


SYMLINK_MODE = stat.S_IFLNK | 0o777


def write_ravdess_dir(
    directory: Path,
    *,
    actors: Sequence[int] = (1, 2),
    emotions: Sequence[int] = (1, 3, 4, 5),
    seconds: float = 1.0,
) -> Path:
    """RAVDESS-named tones: one clip per actor and emotion (labels are what the names say)."""
    directory.mkdir(parents=True, exist_ok=True)
    sr = 16000
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(0)
    for actor in actors:
        for emotion in emotions:
            freq = 120.0 + 40.0 * emotion + 5.0 * actor
            audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
            name = f"03-01-{emotion:02d}-01-01-01-{actor:02d}.wav"
            sub = directory / f"Actor_{actor:02d}"
            sub.mkdir(exist_ok=True)
            sf.write(str(sub / name), audio.astype(np.float32), sr)
    return directory


@pytest.fixture(scope="session")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny checkpoint built once per test session (copy it before changing it)."""
    return build_hf_folder(tmp_path_factory.mktemp("hf") / "tiny-w2v2")


@pytest.fixture
def hf_copy(hf_folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "tiny-w2v2"
    shutil.copytree(hf_folder, target)
    return target


def build_shipped_default(directory: Path, *, evaluation: dict[str, object] | None = None) -> Path:
    """A small features-plus-head model laid out like analysis/shipped/ser-default-v1."""
    from analysis.engine.classifiers.features import acoustic_dimension
    from analysis.engine.classifiers.features_head import Head, HeadEnsemble, write_model
    from analysis.engine.labels import CANONICAL_LABELS

    rng = np.random.default_rng(0)
    dim = acoustic_dimension()
    head = Head(
        ops=[{"op": "linear", "weight": "w", "bias": "b"}],
        arrays={
            "w": rng.normal(scale=0.01, size=(len(CANONICAL_LABELS), dim)),
            "b": np.zeros(len(CANONICAL_LABELS)),
        },
    )
    ensemble = HeadEnsemble(labels=list(CANONICAL_LABELS), heads=[head])
    write_model(
        directory,
        ensemble,
        features="acoustic",
        name="ser-default",
        version="1",
        architecture="acoustic statistics + logistic head",
    )
    (directory / "MODEL_CARD.md").write_text("# ser-default v1\n\nTrained on RAVDESS.\n")
    if evaluation is not None:
        (directory / "evaluation.json").write_text(json.dumps(evaluation))
    return directory


def speechlike_wav_bytes(seconds: float = 6.0) -> bytes:
    from tests.analysis.audio_factory import speechlike

    buffer = io.BytesIO()
    sf.write(buffer, speechlike(seconds, 16000), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
