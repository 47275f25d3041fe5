"""Safe extraction of a model import: an archive (zip, tar, tar.gz) or a folder is copied into
a fresh staging directory under strict rules before anything reads it (see
``analysis.engine.classifiers.importing`` for the whole import):

* no absolute paths, no ``..``, no drive letters or backslashes, no duplicate names;
* regular files and directories only: symlinks, hard links, devices and FIFOs are refused;
* caps on the number of files, each file's size, the total size and, against zip bombs, the
  ratio of unpacked to packed bytes. Sizes are counted while writing, because the sizes an
  archive declares can lie.

Also the Hub download. Every refusal is an ``ImportRejected`` with a stable ``code``.
"""

from __future__ import annotations

import re
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

HUB_UNREACHABLE = (
    "cannot reach the Hugging Face Hub; download the model elsewhere and import the folder or "
    "archive"
)
_MIB = 1024**2
_GIB = 1024**3
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
