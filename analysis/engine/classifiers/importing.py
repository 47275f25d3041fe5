"""Importing a Hugging Face audio-classification checkpoint: safe extraction and validation.

An import arrives as a zip or tar(.gz) archive of a model folder, as a folder on disk, or as a
Hub id. Whatever the source, the files are copied into a fresh staging directory under strict
rules before anything reads them:

* no absolute paths, no ``..``, no drive letters or backslashes, no duplicate names;
* regular files and directories only: symlinks, hard links, devices and FIFOs are refused;
* caps on the number of files, each file's size, the total size and, against zip bombs, the
  ratio of unpacked to packed bytes. Sizes are counted while writing, because the sizes an
  archive declares can lie;
* weights must be safetensors. Pickled PyTorch weights (``pytorch_model.bin``) run code when
  unpickled; they are accepted only when an admin explicitly allows them, are then read with
  ``torch.load(weights_only=True)`` (transformers' default) and re-saved as safetensors, so the
  stored model never holds a pickle and workers never unpickle anything;
* checkpoints that need custom Python code (``auto_map`` in ``config.json``) are refused: the
  portal never runs code shipped with a model.

Then the checkpoint must load with ``AutoModelForAudioClassification`` through the same code
path the pipeline uses (``analysis.engine.classifiers.load_classifier``) and produce sane
probabilities on a generated one-second test clip; and every model label must be mapped onto
the canonical set or explicitly ignored before the ``ser_model.json`` manifest is written.

Plain Python: no Django. Every failure a person can cause is an ``ImportRejected`` with a
stable ``code`` and a message they can act on; the caller removes the staging directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.engine.classifiers.archives import (
    HUB_UNREACHABLE,
    ImportLimits,
    ImportRejected,
    archive_kind,
    copy_model_folder,
    download_from_hub,
    safe_extract,
)
from analysis.engine.classifiers.base import MANIFEST_NAME, ModelFormatError, ModelManifest
from analysis.engine.classifiers.checkpoint import (
    check_config,
    check_label_map,
    locate_model_root,
    model_labels,
    parse_label_map,
    prepare_weights,
    probe_clips,
    smoke_test,
)
from analysis.engine.labels import CANONICAL_LABELS, suggest_label_map

# The import's steps live in ``archives`` (safe extraction, the Hub download) and
# ``checkpoint`` (the checks); this module stages and finalises a model, and is the one module
# its callers import (``__all__`` below).
KIND = "hf_audio_classification"
MODEL_SUBDIR = "model"


@dataclass
class StagedModel:
    """A checkpoint that passed extraction, weight and load checks, waiting for its label map."""

    model_dir: Path
    labels: list[str]
    suggested_map: dict[str, str | None]
    architecture: str
    model_type: str
    sample_rate: int
    size_bytes: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "suggested_map": self.suggested_map,
            "architecture": self.architecture,
            "model_type": self.model_type,
            "sample_rate": self.sample_rate,
            "size_bytes": self.size_bytes,
            "warnings": self.warnings,
        }


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def stage_checkpoint(
    source_dir: Path, staging_dir: Path, *, allow_pickle: bool, name: str, version: str
) -> StagedModel:
    """Check an extracted (or copied) checkpoint in ``source_dir`` and move the model folder
    to ``staging_dir/model``: config, weights (safetensors), load and test clip, with a
    provisional manifest that ignores every label the canonical set has no sure match for."""
    root = locate_model_root(source_dir)
    model_dir = staging_dir / MODEL_SUBDIR
    shutil.move(str(root), str(model_dir))
    config, sample_rate = check_config(model_dir)
    labels = model_labels(config)
    warnings = prepare_weights(model_dir, allow_pickle=allow_pickle)
    suggested = suggest_label_map(labels)
    architectures = config.get("architectures") or []
    architecture = str(architectures[0]) if architectures else str(config.get("model_type", ""))
    model_type = str(config.get("model_type", ""))
    provisional = dict(suggested)
    if all(value is None for value in provisional.values()):
        # Only to let the test clip run; the admin must still choose the real map.
        provisional[labels[0]] = CANONICAL_LABELS[0]
    write_manifest(
        model_dir,
        name=name,
        version=version,
        labels=labels,
        label_map=provisional,
        architecture=architecture,
        sample_rate=sample_rate,
        model_type=model_type,
    )
    smoke_test(model_dir)
    return StagedModel(
        model_dir=model_dir,
        labels=labels,
        suggested_map=suggested,
        architecture=architecture,
        model_type=model_type,
        sample_rate=sample_rate,
        size_bytes=_dir_size(model_dir),
        warnings=warnings,
    )


def _stage_copy(
    copy: Callable[[Path | str, Path | str, ImportLimits | None], None],
    source: Path | str,
    staging_dir: Path | str,
    *,
    allow_pickle: bool,
    name: str,
    version: str,
    limits: ImportLimits | None,
) -> StagedModel:
    """Copy ``source`` into a scratch folder under the archive rules, stage it, drop the copy."""
    staging_dir = Path(staging_dir)
    copy_dir = staging_dir / "extract"
    copy(source, copy_dir, limits)
    try:
        return stage_checkpoint(
            copy_dir, staging_dir, allow_pickle=allow_pickle, name=name, version=version
        )
    finally:
        shutil.rmtree(copy_dir, ignore_errors=True)


def stage_archive(
    archive: Path | str,
    staging_dir: Path | str,
    *,
    allow_pickle: bool = False,
    name: str,
    version: str,
    limits: ImportLimits | None = None,
) -> StagedModel:
    """Safely unpack ``archive`` into ``staging_dir`` and stage the model in it."""
    return _stage_copy(
        safe_extract,
        archive,
        staging_dir,
        allow_pickle=allow_pickle,
        name=name,
        version=version,
        limits=limits,
    )


def stage_folder(
    folder: Path | str,
    staging_dir: Path | str,
    *,
    allow_pickle: bool = False,
    name: str,
    version: str,
    limits: ImportLimits | None = None,
) -> StagedModel:
    """Copy a model folder into ``staging_dir`` under the archive rules and stage it."""
    return _stage_copy(
        copy_model_folder,
        folder,
        staging_dir,
        allow_pickle=allow_pickle,
        name=name,
        version=version,
        limits=limits,
    )


def write_manifest(
    model_dir: Path,
    *,
    name: str,
    version: str,
    labels: list[str],
    label_map: Mapping[str, str | None],
    architecture: str,
    sample_rate: int = 16000,
    model_type: str = "",
) -> ModelManifest:
    manifest = ModelManifest(
        kind=KIND,
        name=name,
        version=version,
        labels=list(labels),
        label_map=dict(label_map),
        sample_rate=sample_rate,
        architecture=architecture,
        extra={"model_type": model_type, "weights": "safetensors"},
    )
    try:
        manifest.validate()
    except ModelFormatError as exc:
        raise ImportRejected("bad_label_map", str(exc)) from exc
    manifest.write(model_dir)
    return manifest


def finalize_staged(
    model_dir: Path, *, label_map: Mapping[str, str | None], name: str, version: str
) -> ModelManifest:
    """Write the confirmed label map into the manifest and re-run the test clip with it."""
    from analysis.engine.classifiers import read_manifest

    provisional = read_manifest(model_dir)
    checked = check_label_map(provisional.labels, label_map)
    manifest = write_manifest(
        model_dir,
        name=name,
        version=version,
        labels=provisional.labels,
        label_map=checked,
        architecture=provisional.architecture,
        sample_rate=provisional.sample_rate,
        model_type=str(provisional.extra.get("model_type", "")),
    )
    smoke_test(model_dir)
    return manifest


__all__ = [
    "HUB_UNREACHABLE",
    "KIND",
    "MANIFEST_NAME",
    "ImportLimits",
    "ImportRejected",
    "StagedModel",
    "archive_kind",
    "check_label_map",
    "copy_model_folder",
    "download_from_hub",
    "finalize_staged",
    "locate_model_root",
    "parse_label_map",
    "probe_clips",
    "safe_extract",
    "smoke_test",
    "stage_archive",
    "stage_folder",
]
