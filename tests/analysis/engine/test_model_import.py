"""Safe extraction and validation of imported checkpoints (plain Python, no database)."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from analysis.engine.classifiers import load_classifier, read_manifest
from analysis.engine.classifiers.importing import (
    HUB_UNREACHABLE,
    ImportLimits,
    ImportRejected,
    check_label_map,
    copy_model_folder,
    download_from_hub,
    finalize_staged,
    parse_label_map,
    safe_extract,
    stage_archive,
    stage_folder,
)
from tests.analysis.model_archives import (
    SYMLINK_MODE,
    TINY_MAP,
    add_zip_entry,
    build_hf_folder,
    hf_copy,
    hf_folder,
    special_member,
    tar_folder,
    tar_with_member,
    zip_folder,
)

__all__ = ["hf_copy", "hf_folder"]  # fixtures


def _rejected(code: str, call: object, *args: object, **kwargs: object) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_zip_of_a_model_folder_is_staged_with_suggested_labels_and_loads(
    hf_folder: Path, tmp_path: Path
) -> None:
    archive = zip_folder(hf_folder, tmp_path / "tiny.zip")
    staged = stage_archive(archive, tmp_path / "stage", name="tiny", version="1")
    assert staged.labels == ["neu", "hap", "ang", "sad"]
    assert staged.suggested_map == TINY_MAP
    assert staged.architecture == "Wav2Vec2ForSequenceClassification"
    assert staged.sample_rate == 16000
    assert not (tmp_path / "stage" / "extract").exists()
    manifest = finalize_staged(staged.model_dir, label_map=TINY_MAP, name="tiny", version="1")
    assert manifest.kind == "hf_audio_classification"
    assert read_manifest(staged.model_dir).label_map == TINY_MAP
    classifier = load_classifier(staged.model_dir)
    probabilities = classifier.predict_proba([np.zeros(16000, dtype=np.float32)])
    assert probabilities.shape == (1, 8)
    assert probabilities.sum() == pytest.approx(1.0)
    # neutral, happy, sad, angry only: the other canonical columns stay empty
    assert probabilities[0, [1, 5, 6, 7]].sum() == 0


def test_tar_gz_with_the_model_in_a_subfolder_is_found(hf_folder: Path, tmp_path: Path) -> None:
    archive = tar_folder(hf_folder, tmp_path / "tiny.tar.gz", prefix="my-model/")
    staged = stage_archive(archive, tmp_path / "stage", name="tiny", version="1")
    assert (staged.model_dir / "config.json").is_file()
    assert (staged.model_dir / "model.safetensors").is_file()


def test_parent_path_in_zip_is_refused_and_nothing_escapes(hf_folder: Path, tmp_path: Path) -> None:
    archive = add_zip_entry(zip_folder(hf_folder, tmp_path / "a.zip"), "../escaped.txt", b"pwn")
    error = _rejected("unsafe_path", safe_extract, archive, tmp_path / "out" / "x")
    assert "outside" in error.message
    assert not (tmp_path / "out" / "escaped.txt").exists()


def test_parent_path_in_tar_is_refused(hf_folder: Path, tmp_path: Path) -> None:
    member = tarfile.TarInfo("model/../../evil.txt")
    member.size = 3
    archive = tar_with_member(hf_folder, tmp_path / "a.tar.gz", member, b"pwn")
    _rejected("unsafe_path", safe_extract, archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_absolute_path_is_refused(hf_folder: Path, tmp_path: Path) -> None:
    archive = add_zip_entry(zip_folder(hf_folder, tmp_path / "a.zip"), "/tmp/abs.txt")
    error = _rejected("unsafe_path", safe_extract, archive, tmp_path / "out")
    assert "absolute" in error.message
    member = tarfile.TarInfo("/etc/cron.d/evil")
    member.size = 1
    archive = tar_with_member(hf_folder, tmp_path / "b.tar.gz", member, b"x")
    _rejected("unsafe_path", safe_extract, archive, tmp_path / "out2")


def test_symlinks_in_zip_and_tar_are_refused(hf_folder: Path, tmp_path: Path) -> None:
    archive = add_zip_entry(
        zip_folder(hf_folder, tmp_path / "a.zip"), "link", b"/etc/passwd", mode=SYMLINK_MODE
    )
    _rejected("link", safe_extract, archive, tmp_path / "out")
    member = special_member("model.safetensors.link", tarfile.SYMTYPE, linkname="/etc/passwd")
    archive = tar_with_member(hf_folder, tmp_path / "b.tar.gz", member)
    _rejected("link", safe_extract, archive, tmp_path / "out2")
    assert not (tmp_path / "out2" / "model.safetensors.link").exists()


def test_hardlinks_devices_and_fifos_are_refused(hf_folder: Path, tmp_path: Path) -> None:
    hard = special_member("hard", tarfile.LNKTYPE, linkname="config.json")
    _rejected(
        "link", safe_extract, tar_with_member(hf_folder, tmp_path / "h.tgz", hard), tmp_path / "o1"
    )
    device = special_member("dev", tarfile.CHRTYPE, devmajor=1, devminor=3)
    _rejected(
        "special_file",
        safe_extract,
        tar_with_member(hf_folder, tmp_path / "d.tgz", device),
        tmp_path / "o2",
    )
    fifo = special_member("fifo", tarfile.FIFOTYPE)
    _rejected(
        "special_file",
        safe_extract,
        tar_with_member(hf_folder, tmp_path / "f.tgz", fifo),
        tmp_path / "o3",
    )


def test_too_many_files_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(30):
            zf.writestr(f"f{i}.json", "{}")
    error = _rejected(
        "too_many_files", safe_extract, archive, tmp_path / "out", ImportLimits(max_files=10)
    )
    assert "more than 10 files" in error.message


def test_too_big_archive_or_contents_is_refused(hf_folder: Path, tmp_path: Path) -> None:
    archive = zip_folder(hf_folder, tmp_path / "a.zip")
    _rejected(
        "too_large", safe_extract, archive, tmp_path / "o1", ImportLimits(max_archive_bytes=1000)
    )
    _rejected(
        "too_large", safe_extract, archive, tmp_path / "o2", ImportLimits(max_total_bytes=50_000)
    )
    _rejected(
        "too_large", safe_extract, archive, tmp_path / "o3", ImportLimits(max_file_bytes=10_000)
    )


def test_zip_bomb_is_refused_by_ratio(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b"\0" * (20 * 1024 * 1024))
    assert archive.stat().st_size < 100_000
    error = _rejected(
        "bomb", safe_extract, archive, tmp_path / "out", ImportLimits(ratio_floor_bytes=1024 * 1024)
    )
    assert "zip bomb" in error.message


def test_lying_zip_header_cannot_exceed_the_byte_cap(tmp_path: Path) -> None:
    """The cap is enforced on bytes actually written, not on the sizes the archive declares."""
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("weights.safetensors", b"\1" * 300_000)
    _rejected(
        "too_large",
        safe_extract,
        archive,
        tmp_path / "out",
        ImportLimits(max_total_bytes=100_000, max_file_bytes=200_000),
    )


def test_html_renamed_zip_is_not_an_archive(tmp_path: Path) -> None:
    fake = tmp_path / "model.zip"
    fake.write_text("<!doctype html><html><body>Download page</body></html>")
    error = _rejected("not_archive", stage_archive, fake, tmp_path / "stage", name="m", version="1")
    assert "not a zip or tar.gz archive" in error.message


def test_truncated_zip_is_refused_clearly(hf_folder: Path, tmp_path: Path) -> None:
    archive = zip_folder(hf_folder, tmp_path / "a.zip")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    _rejected("not_archive", safe_extract, archive, tmp_path / "out")


def test_pickle_only_weights_need_the_flag(tmp_path: Path) -> None:
    folder = build_hf_folder(tmp_path / "pickled", pickle_only=True)
    archive = zip_folder(folder, tmp_path / "pickled.zip")
    error = _rejected(
        "pickle_weights", stage_archive, archive, tmp_path / "s1", name="m", version="1"
    )
    assert "allow pickle weights" in error.message


def test_allowed_pickle_weights_are_converted_to_safetensors(tmp_path: Path) -> None:
    folder = build_hf_folder(tmp_path / "pickled", pickle_only=True)
    archive = tar_folder(folder, tmp_path / "pickled.tar.gz")
    staged = stage_archive(archive, tmp_path / "s", allow_pickle=True, name="m", version="1")
    assert (staged.model_dir / "model.safetensors").is_file()
    assert not (staged.model_dir / "pytorch_model.bin").exists()
    assert any("pickle" in warning for warning in staged.warnings)


def test_pickle_next_to_safetensors_is_dropped_unread(hf_copy: Path, tmp_path: Path) -> None:
    (hf_copy / "pytorch_model.bin").write_bytes(b"not even a pickle")
    (hf_copy / "modeling_evil.py").write_text("import os; os.system('true')")
    staged = stage_folder(hf_copy, tmp_path / "s", name="m", version="1")
    assert not (staged.model_dir / "pytorch_model.bin").exists()
    assert not (staged.model_dir / "modeling_evil.py").exists()
    assert len(staged.warnings) == 2


def test_custom_code_checkpoints_are_refused(tmp_path: Path) -> None:
    folder = build_hf_folder(
        tmp_path / "custom",
        extra_config={"auto_map": {"AutoModelForAudioClassification": "x.Model"}},
    )
    error = _rejected("custom_code", stage_folder, folder, tmp_path / "s", name="m", version="1")
    assert "never runs code" in error.message


def test_archive_without_config_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README.md", "hello")
    error = _rejected("no_config", stage_archive, archive, tmp_path / "s", name="m", version="1")
    assert "config.json" in error.message


def test_model_whose_labels_are_not_mapped_cannot_be_finalized(tmp_path: Path) -> None:
    folder = build_hf_folder(tmp_path / "odd", labels=("LABEL_0", "LABEL_1", "xxx"))
    staged = stage_folder(folder, tmp_path / "s", name="odd", version="1")
    assert staged.suggested_map == {"LABEL_0": None, "LABEL_1": None, "xxx": None}
    error = _rejected(
        "unmapped_labels",
        finalize_staged,
        staged.model_dir,
        label_map={"LABEL_0": "happy"},
        name="odd",
        version="1",
    )
    assert "LABEL_1, xxx" in error.message
    _rejected(
        "bad_label_map",
        finalize_staged,
        staged.model_dir,
        label_map={"LABEL_0": "joyful", "LABEL_1": None, "xxx": None},
        name="odd",
        version="1",
    )
    _rejected(
        "bad_label_map",
        finalize_staged,
        staged.model_dir,
        label_map={"LABEL_0": None, "LABEL_1": None, "xxx": None},
        name="odd",
        version="1",
    )
    manifest = finalize_staged(
        staged.model_dir,
        label_map={"LABEL_0": "happy", "LABEL_1": "sad", "xxx": None},
        name="odd",
        version="1",
    )
    assert manifest.label_map == {"LABEL_0": "happy", "LABEL_1": "sad", "xxx": None}


def test_label_map_text_of_the_command_line_is_parsed() -> None:
    assert parse_label_map("neu=neutral, hap=Happy,xxx=none") == {
        "neu": "neutral",
        "hap": "happy",
        "xxx": None,
    }
    with pytest.raises(ImportRejected):
        parse_label_map("neu")
    assert check_label_map(["a", "b"], {"a": "sad", "b": None}) == {"a": "sad", "b": None}
    with pytest.raises(ImportRejected, match="no label"):
        check_label_map(["a"], {"a": "sad", "zzz": "happy"})


def test_folder_with_a_symlink_is_refused(hf_copy: Path, tmp_path: Path) -> None:
    (hf_copy / "secret").symlink_to("/etc/hostname")
    _rejected("link", copy_model_folder, hf_copy, tmp_path / "copy")


def test_hub_download_without_network_says_so(tmp_path: Path) -> None:
    error = _rejected(
        "hub_unreachable", download_from_hub, "superb/wav2vec2-base-superb-er", tmp_path / "hub"
    )
    assert error.message == HUB_UNREACHABLE


def test_manifest_written_by_the_importer_is_valid_json(hf_folder: Path, tmp_path: Path) -> None:
    staged = stage_folder(hf_folder, tmp_path / "s", name="tiny", version="7")
    data = json.loads((staged.model_dir / "ser_model.json").read_text())
    assert data["kind"] == "hf_audio_classification"
    assert data["version"] == "7"
    assert data["labels"] == ["neu", "hap", "ang", "sad"]
