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

import json
import re
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np

from analysis.engine.classifiers.base import MANIFEST_NAME, ModelFormatError, ModelManifest
from analysis.engine.labels import CANONICAL_LABELS, suggest_label_map

KIND = "hf_audio_classification"
MODEL_SUBDIR = "model"
HUB_UNREACHABLE = (
    "cannot reach the Hugging Face Hub; download the model elsewhere and import the folder or "
    "archive"
)
_MIB = 1024**2
_GIB = 1024**3
# Weight files that are pickles (arbitrary code on load) or formats the portal does not load.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
FOREIGN_WEIGHT_SUFFIXES = (".h5", ".msgpack", ".onnx", ".tflite", ".ot", ".gguf")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_COPY_BLOCK = 1 << 20


class ImportRejected(ValueError):
    """An import that cannot be accepted, with a message the person importing can act on.

    ``code``: not_archive, unsafe_path, link, special_file, too_many_files, too_large, bomb,
    no_config, ambiguous, no_weights, pickle_weights, custom_code, bad_config, load_failed,
    smoke_failed, unmapped_labels, bad_label_map, hub_unreachable, not_found.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImportLimits:
    """What an import may contain. The defaults fit every public wav2vec2/HuBERT/WavLM
    checkpoint up to "large" (~1.3 GB) with room to spare."""

    max_archive_bytes: int = 4 * _GIB
    max_total_bytes: int = 6 * _GIB
    max_file_bytes: int = 4 * _GIB
    max_files: int = 200
    # Weights barely compress (~1.1x) and JSON ~10x; 100x unpacked/packed only comes from a bomb.
    max_ratio: float = 100.0
    # Below this unpacked size the ratio is not checked (a few KB of JSON can compress 50x).
    ratio_floor_bytes: int = 8 * _MIB


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


# --- safe extraction -----------------------------------------------------------------------


def archive_kind(path: Path) -> str:
    """ "zip" or "tar" from the file's first bytes (never from its name)."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return "tar"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    raise ImportRejected(
        "not_archive",
        "The file is not a zip or tar.gz archive. Pack the model folder (config.json, "
        "model.safetensors, preprocessor_config.json) with zip or tar and upload that.",
    )


def _safe_member_path(name: str) -> PurePosixPath:
    """The relative path of an archive member, or ImportRejected for anything that could
    escape the extraction directory."""
    if "\x00" in name or "\\" in name:
        raise ImportRejected("unsafe_path", f"The archive holds an unsafe file name: {name!r}.")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ImportRejected(
            "unsafe_path", f"The archive holds an absolute path ({name!r}); it was refused."
        )
    parts = [part for part in PurePosixPath(name).parts if part not in ("", ".")]
    if ".." in parts:
        raise ImportRejected(
            "unsafe_path",
            f"The archive holds a path that points outside its folder ({name!r}); it was refused.",
        )
    if not parts:
        raise ImportRejected("unsafe_path", f"The archive holds an empty file name: {name!r}.")
    return PurePosixPath(*parts)


class _Budget:
    """Counts files and bytes as they are written, and enforces the limits."""

    def __init__(self, limits: ImportLimits, packed_bytes: int) -> None:
        self.limits = limits
        self.packed_bytes = max(packed_bytes, 1)
        self.files = 0
        self.total = 0

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise ImportRejected(
                "too_many_files",
                f"The model has more than {self.limits.max_files} files; a model folder "
                "needs only a handful (config, weights, preprocessor).",
            )

    def declare(self, size: int) -> None:
        """Refuse early on declared sizes (cheap), before any byte is unpacked."""
        if size > self.limits.max_file_bytes:
            raise ImportRejected(
                "too_large",
                f"A file in the model is larger than {_human(self.limits.max_file_bytes)}.",
            )

    def add_bytes(self, n: int, file_bytes: int) -> None:
        self.total += n
        if file_bytes > self.limits.max_file_bytes:
            raise ImportRejected(
                "too_large",
                f"A file in the model is larger than {_human(self.limits.max_file_bytes)}.",
            )
        if self.total > self.limits.max_total_bytes:
            raise ImportRejected(
                "too_large",
                f"The model unpacks to more than {_human(self.limits.max_total_bytes)}.",
            )
        if (
            self.total > self.limits.ratio_floor_bytes
            and self.total / self.packed_bytes > self.limits.max_ratio
        ):
            raise ImportRejected(
                "bomb",
                "The archive unpacks to far more data than it holds (a 'zip bomb'); it was "
                "refused.",
            )


def _human(n: int) -> str:
    if n >= _GIB:
        return f"{n / _GIB:g} GB"
    if n >= _MIB:
        return f"{n / _MIB:g} MB"
    return f"{n} bytes"


def _write_stream(source: IO[bytes], target: Path, budget: _Budget) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    # "xb": never follow or overwrite anything already there (duplicate names are refused).
    with target.open("xb") as out:
        while block := source.read(_COPY_BLOCK):
            written += len(block)
            budget.add_bytes(len(block), written)
            out.write(block)


def _extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRejected("not_archive", "The zip archive is damaged or incomplete.") from exc
    with zf:
        seen: set[PurePosixPath] = set()
        for info in zf.infolist():
            relative = _safe_member_path(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ImportRejected(
                    "link", f"The archive holds a symbolic link ({info.filename}); refused."
                )
            # Zips written without Unix attributes carry no file type (S_IFMT 0): a file.
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ImportRejected(
                    "special_file", f"The archive holds a special file ({info.filename})."
                )
            if info.is_dir():
                (dest / relative).mkdir(parents=True, exist_ok=True)
                continue
            if relative in seen:
                raise ImportRejected("unsafe_path", f"{info.filename} appears twice.")
            seen.add(relative)
            budget.add_file()
            budget.declare(info.file_size)
            try:
                with zf.open(info) as source:
                    _write_stream(source, dest / relative, budget)
            except FileExistsError as exc:
                raise ImportRejected(
                    "unsafe_path", f"{info.filename} clashes with another entry."
                ) from exc
            except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as exc:
                raise ImportRejected(
                    "not_archive",
                    "The zip archive is damaged, incomplete or encrypted "
                    f"({info.filename} could not be read).",
                ) from exc


def _extract_tar(archive: Path, dest: Path, budget: _Budget) -> None:
    try:
        tf = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ImportRejected("not_archive", "The tar archive is damaged or incomplete.") from exc
    with tf:
        seen: set[PurePosixPath] = set()
        try:
            # Members are read one at a time (never getmembers()), so a stream of millions of
            # headers is stopped by the file cap instead of filling memory.
            for member in _iter_tar(tf, budget):
                relative = _safe_member_path(member.name)
                if member.issym() or member.islnk():
                    raise ImportRejected(
                        "link", f"The archive holds a link ({member.name}); links are refused."
                    )
                if member.isdir():
                    (dest / relative).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise ImportRejected(
                        "special_file",
                        f"The archive holds a device, pipe or other special file ({member.name}).",
                    )
                if relative in seen:
                    raise ImportRejected("unsafe_path", f"{member.name} appears twice.")
                seen.add(relative)
                budget.add_file()
                budget.declare(member.size)
                source = tf.extractfile(member)
                if source is None:  # pragma: no cover - isfile() members always have data
                    continue
                with source:
                    _write_stream(source, dest / relative, budget)
        except FileExistsError as exc:
            raise ImportRejected("unsafe_path", "Two entries of the archive clash.") from exc
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ImportRejected(
                "not_archive", "The tar archive is damaged or incomplete."
            ) from exc


def _iter_tar(tf: tarfile.TarFile, budget: _Budget) -> Iterator[tarfile.TarInfo]:
    entries = 0
    while True:
        member = tf.next()
        if member is None:
            return
        entries += 1
        if entries > budget.limits.max_files * 4:  # directories count too, more loosely
            raise ImportRejected(
                "too_many_files", f"The archive has more than {budget.limits.max_files} files."
            )
        yield member


def safe_extract(archive: Path | str, dest: Path | str, limits: ImportLimits | None = None) -> None:
    """Unpack a zip or tar(.gz/.bz2/.xz) archive into the empty directory ``dest`` under the
    rules in the module docstring. On ImportRejected, ``dest`` may hold a partial extraction:
    the caller removes it."""
    archive, dest = Path(archive), Path(dest)
    limits = limits or ImportLimits()
    size = archive.stat().st_size
    if size == 0:
        raise ImportRejected("not_archive", "The uploaded file is empty.")
    if size > limits.max_archive_bytes:
        raise ImportRejected(
            "too_large", f"The archive is larger than {_human(limits.max_archive_bytes)}."
        )
    kind = archive_kind(archive)
    dest.mkdir(parents=True, exist_ok=True)
    budget = _Budget(limits, size)
    if kind == "zip":
        _extract_zip(archive, dest, budget)
    else:
        _extract_tar(archive, dest, budget)


def copy_model_folder(
    source: Path | str, dest: Path | str, limits: ImportLimits | None = None
) -> None:
    """Copy a model folder from disk under the same rules as an archive (no links, no special
    files, the same caps), so a folder import cannot smuggle in what an archive could not."""
    source, dest = Path(source), Path(dest)
    limits = limits or ImportLimits()
    if not source.is_dir():
        raise ImportRejected("not_found", f"{source} is not a folder.")
    budget = _Budget(limits, packed_bytes=limits.max_total_bytes)  # no packing: no ratio check
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if relative.parts[0] in (".cache", ".git"):
            continue  # huggingface_hub's and git's bookkeeping, never model files
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            raise ImportRejected("link", f"The folder holds a symbolic link ({relative}).")
        if stat.S_ISDIR(mode):
            (dest / relative).mkdir(parents=True, exist_ok=True)
            continue
        if not stat.S_ISREG(mode):
            raise ImportRejected("special_file", f"The folder holds a special file ({relative}).")
        budget.add_file()
        budget.declare(path.stat().st_size)
        with path.open("rb") as handle:
            _write_stream(handle, dest / relative, budget)


def download_from_hub(repo_id: str, dest: Path | str) -> Path:
    """Download a checkpoint from the Hugging Face Hub into ``dest`` (config, weights and
    preprocessor files only). Raises ImportRejected("hub_unreachable") without network."""
    if not _HUB_ID.match(repo_id):
        raise ImportRejected(
            "not_found", f"{repo_id!r} is neither a file, a folder nor a Hub id (owner/name)."
        )
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import RepositoryNotFoundError
    except ImportError as exc:  # pragma: no cover - a dependency of transformers
        raise ImportRejected("hub_unreachable", HUB_UNREACHABLE) from exc
    dest = Path(dest)
    try:
        snapshot_download(
            repo_id,
            local_dir=str(dest),
            allow_patterns=["*.json", "*.safetensors", "*.txt", "*.md"],
            etag_timeout=10,
        )
    except RepositoryNotFoundError as exc:
        raise ImportRejected(
            "not_found", f"There is no model {repo_id!r} on the Hugging Face Hub."
        ) from exc
    except Exception as exc:
        raise ImportRejected("hub_unreachable", HUB_UNREACHABLE) from exc
    return dest


# --- checking the checkpoint ----------------------------------------------------------------


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
