"""The model management commands: import_model, ensure_default_model, classify_clips,
evaluate_model, train_head and train_model."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from analysis.engine.classifiers.importing import HUB_UNREACHABLE
from analysis.engine.labels import CANONICAL_LABELS
from analysis.models import EmotionModelVersion, ModelStatus
from analysis.registry import active as registry
from sessions.models import AuditEvent
from tests.analysis.model_archives import (
    build_hf_folder,
    build_shipped_default,
    hf_folder,
    tar_folder,
    write_ravdess_dir,
)
from tests.conftest import Cast

__all__ = ["hf_folder"]  # fixture


def run(*args: Any, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def _model_dir_with_manifest(hf_folder: Path, cast: Cast) -> EmotionModelVersion:
    run("import_model", str(hf_folder), "--clinic", cast.clinic.slug, "--name", "tiny")
    return EmotionModelVersion.objects.get(name="tiny")


# --- import_model ------------------------------------------------------------------------


def test_import_model_from_an_archive_with_label_map_and_activation(
    cast: Cast, tmp_path: Path
) -> None:
    folder = build_hf_folder(tmp_path / "m", labels=("neu", "hap", "xxx"))
    archive = tar_folder(folder, tmp_path / "superb-er.tar.gz")
    output = run(
        "import_model",
        str(archive),
        "--clinic",
        cast.clinic.slug,
        "--label-map",
        "xxx=none,hap=happy",
        "--model-version",
        "2",
        "--activate",
    )
    version = EmotionModelVersion.objects.get()
    assert (version.name, version.version) == ("superb-er", "2")
    assert version.status == ModelStatus.ACTIVE
    assert version.label_map == {"neu": "neutral", "hap": "happy", "xxx": None}
    assert "Label map: neu=neutral, hap=happy, xxx=none" in output
    assert version.checksum in output
    actions = set(
        AuditEvent.objects.filter(object_type="emotionmodelversion").values_list(
            "action", flat=True
        )
    )
    assert actions == {"create", "activate"}


def test_import_model_with_unmapped_labels_fails_and_keeps_nothing(
    cast: Cast, tmp_path: Path
) -> None:
    folder = build_hf_folder(tmp_path / "m", labels=("neu", "LABEL_1"))
    with pytest.raises(CommandError, match="unmapped: LABEL_1"):
        run("import_model", str(folder), "--clinic", cast.clinic.slug)
    assert not EmotionModelVersion.objects.exists()
    clinic_dir = registry.clinic_models_dir(cast.clinic.pk)
    leftovers = [p for p in clinic_dir.rglob("*") if p.is_file()] if clinic_dir.exists() else []
    assert leftovers == []


def test_import_model_from_the_hub_without_network_says_what_to_do(cast: Cast) -> None:
    with pytest.raises(CommandError) as caught:
        run("import_model", "superb/wav2vec2-base-superb-er", "--clinic", cast.clinic.slug)
    assert str(caught.value) == HUB_UNREACHABLE
    assert not EmotionModelVersion.objects.exists()


def test_import_model_needs_a_clinic_when_there_are_several(cast: Cast, hf_folder: Path) -> None:
    with pytest.raises(CommandError, match="--clinic"):
        run("import_model", str(hf_folder))


# --- ensure_default_model ----------------------------------------------------------------


def test_ensure_default_model_is_idempotent(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    build_shipped_default(tmp_path / "shipped" / registry.SHIPPED_DEFAULT)
    monkeypatch.setattr(registry, "SHIPPED_DIR", tmp_path / "shipped")
    output = run("ensure_default_model")
    assert f"{cast.clinic.slug}: registered and activated ser-default 1" in output
    assert EmotionModelVersion.objects.filter(status="active", source="shipped").count() == 2
    assert "nothing to do" in run("ensure_default_model")
    assert EmotionModelVersion.objects.count() == 2


def test_ensure_default_model_without_the_shipped_folder_fails_clearly(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(registry, "SHIPPED_DIR", tmp_path / "none")
    with pytest.raises(CommandError, match="shipped default model is missing"):
        run("ensure_default_model")


# --- classify_clips ----------------------------------------------------------------------


def test_classify_clips_prints_one_json_line_per_audio_file(
    hf_folder: Path, tmp_path: Path, cast: Cast
) -> None:
    version = _model_dir_with_manifest(hf_folder, cast)
    clips = write_ravdess_dir(tmp_path / "clips", actors=(1,), emotions=(1, 3))
    (clips / "notes.txt").write_text("not audio")
    (clips / "broken.wav").write_bytes(b"RIFF\x00\x00")
    output = run(
        "classify_clips", str(clips), "--model", str(registry.model_dir(version)), "--json"
    )
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 3
    by_name = {Path(item["path"]).name: item for item in lines}
    assert by_name["broken.wav"]["label"] is None and by_name["broken.wav"]["error"]
    good = by_name["03-01-01-01-01-01-01.wav"]
    assert set(good) == {"path", "label", "probabilities"}
    assert list(good["probabilities"]) == list(CANONICAL_LABELS)
    assert sum(good["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert good["label"] in {"neutral", "happy", "sad", "angry"}
    # by registry id too, and the answers are the same
    again = run("classify_clips", str(clips), "--model", str(version.pk), "--json")
    assert again == output


# --- evaluate_model ------------------------------------------------------------------------


def test_evaluate_model_prints_figures_and_stores_them_on_the_version(
    hf_folder: Path, tmp_path: Path, cast: Cast
) -> None:
    version = _model_dir_with_manifest(hf_folder, cast)
    data = write_ravdess_dir(tmp_path / "ravdess", actors=(1, 2, 3, 4))
    output = run("evaluate_model", f"tiny:{version.version}", "--data", str(data), "--folds", "2")
    assert "16 clips, 4 speakers" in output
    for title in ("8 emotions: UA", "4 emotions: UA", "3 valence classes: UA", "over 2 speaker"):
        assert title in output
    assert "confusion (rows true, columns predicted)" in output
    version.refresh_from_db()
    assert version.evaluation["n_clips"] == 16
    assert version.evaluation["folds"]["k"] == 2
    assert version.evaluation["data"] == "ravdess"
    matrix = version.evaluation["four_class"]["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == 16
    assert version.evaluated_at is not None
    client = Client()
    client.force_login(cast.admin)
    page = client.get(
        reverse("console_model_detail", kwargs={"version_id": version.pk})
    ).content.decode()
    assert "UA over 2 speaker folds" in page
    assert 'id="figure-data-four_class"' in page


def test_evaluate_model_on_a_folder_stores_nothing(
    hf_folder: Path, tmp_path: Path, cast: Cast
) -> None:
    version = _model_dir_with_manifest(hf_folder, cast)
    data = write_ravdess_dir(tmp_path / "ravdess", actors=(1,))
    output = run("evaluate_model", str(registry.model_dir(version)), "--data", str(data), "--json")
    result = json.loads(output)
    assert result["eight_class"]["n"] == 4
    version.refresh_from_db()
    assert version.evaluation == {}


# --- train_head ------------------------------------------------------------------------------


def test_train_head_on_data_registers_a_staged_trained_version(
    hf_folder: Path, tmp_path: Path, cast: Cast
) -> None:
    encoder = _model_dir_with_manifest(hf_folder, cast)
    data = write_ravdess_dir(tmp_path / "ravdess", actors=(1, 2, 3, 4, 5))
    output = run(
        "train_head", str(encoder.pk), "--data", str(data), "--holdout", "0.4", "--min-clips", "8"
    )
    trained = EmotionModelVersion.objects.get(source="trained")
    assert trained.status == ModelStatus.STAGED
    assert trained.base_version == encoder
    assert trained.kind == "features_head"
    assert trained.name == "tiny-head" and trained.version == "1"
    assert trained.evaluation["data"] == "held-out speakers"
    assert "Registered tiny-head 1" in output
    assert registry.verify_files(trained) is None
    classifier = registry.load_version(trained)
    assert classifier.predict_proba([__import__("numpy").zeros(16000, "float32")]).shape == (1, 8)


def test_train_head_from_corrections_without_consent_refuses(hf_folder: Path, cast: Cast) -> None:
    encoder = _model_dir_with_manifest(hf_folder, cast)
    from tests.analysis.test_registry import _corrected_segment

    _corrected_segment(cast, cast.child, encoder)  # the guardian never consented to training
    with pytest.raises(CommandError, match="Only 0 labelled clips"):
        run("train_head", str(encoder.pk), "--from-corrections")
    assert not EmotionModelVersion.objects.filter(source="trained").exists()


def test_train_head_from_corrections_uses_consenting_children_and_audits(
    hf_folder: Path, cast: Cast
) -> None:
    from tests.analysis.test_registry import _corrected_segment
    from tests.conftest import grant_consent

    encoder = _model_dir_with_manifest(hf_folder, cast)
    grant_consent(cast.child, "training")
    for emotion in ("happy", "sad", "happy", "sad"):
        edit = _corrected_segment(cast, cast.child, encoder)
        edit.emotion = emotion
        edit.save()
    _corrected_segment(cast, cast.other_child, encoder)  # no consent: never used
    output = run(
        "train_head",
        str(encoder.pk),
        "--from-corrections",
        "--min-clips",
        "4",
        "--name",
        "clinic-head",
    )
    assert "4 corrected segments from 1 children" in output
    trained = EmotionModelVersion.objects.get(name="clinic-head")
    assert trained.labels == ["happy", "sad"]
    # One "segments used for training" entry per child (the consent's own entries aside).
    events = AuditEvent.objects.filter(object_type="segmentedit", detail__purpose="training")
    assert [(e.child_id, e.detail["segments"]) for e in events] == [(cast.child.pk, 4)]


# --- train_model ------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_model_writes_a_default_model_that_ensure_default_model_registers(
    cast: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_ravdess_dir(
        tmp_path / "ravdess", actors=(1, 2, 3), emotions=(1, 2, 3, 4, 5, 6, 7, 8)
    )
    out = tmp_path / "shipped" / registry.SHIPPED_DEFAULT
    output = run("train_model", "--data", str(data), "--out", str(out), "--seed", "1",
                 "--folds", "3", "--augmented-copies", "0", "--recipe", "v1")  # fmt: skip
    assert "8 emotions" in output and "UA" in output
    from analysis.engine.classifiers import load_classifier

    assert load_classifier(out).manifest.kind == "features_head"
    assert (out / "MODEL_CARD.md").is_file()
    monkeypatch.setattr(registry, "SHIPPED_DIR", out.parent)
    run("ensure_default_model")
    version = EmotionModelVersion.objects.get(clinic=cast.clinic)
    assert version.status == ModelStatus.ACTIVE
    assert version.model_card == (out / "MODEL_CARD.md").read_text()
    from analysis.registry.selectors import evaluation_summary

    summary = evaluation_summary(version)
    assert summary is not None and summary["kind"] == "3-fold speaker cross-validation"
    assert summary["n_clips"] == 24
    assert set(summary["eight"]["recall"]) == set(CANONICAL_LABELS)


@pytest.mark.slow
def test_train_model_robust_recipe_ships_calibration_and_the_robustness_table(
    cast: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_ravdess_dir(
        tmp_path / "ravdess", actors=(1, 2, 3), emotions=(1, 2, 3, 4, 5, 6, 7, 8)
    )
    out = tmp_path / "shipped" / registry.SHIPPED_DEFAULT
    output = run("train_model", "--data", str(data), "--out", str(out), "--seed", "1",
                 "--folds", "3", "--augmented-copies", "1", "--cache-dir", str(tmp_path / "c"),
                 "--conditions", "clean,quieter_20db,opus_24k_webm")  # fmt: skip
    assert "quieter_20db" in output and "temperature" in output
    from analysis.engine.classifiers import load_classifier

    classifier = load_classifier(out)
    assert classifier.manifest.extra["features"] == "acoustic2"
    reliability = classifier.manifest.extra["reliability"]
    assert 0.0 < reliability["min_confidence"] <= 1.0 and reliability["temperature"] > 0
    head = json.loads((out / "head.json").read_text())
    assert head["temperature"] == pytest.approx(reliability["temperature"], abs=1e-3)
    card = (out / "MODEL_CARD.md").read_text()
    assert "| opus_24k_webm: Opus 24 kbit/s in WebM (browser recorder) |" in card
    bench = json.loads((out / "robustness.json").read_text())
    assert [r["condition"] for r in bench["rows"]] == ["clean", "quieter_20db", "opus_24k_webm"]
    monkeypatch.setattr(registry, "SHIPPED_DIR", out.parent)
    run("ensure_default_model")
    from analysis.registry.selectors import evaluation_summary

    version = EmotionModelVersion.objects.get(clinic=cast.clinic)
    summary = evaluation_summary(version)
    assert summary is not None and summary["n_clips"] == 24
