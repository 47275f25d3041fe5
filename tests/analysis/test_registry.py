"""The model registry: import services, activation rules, the shipped default, the console
pages, trying a model on a recording, and the consent gate on training data."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from analysis.engine.classifiers.importing import ImportRejected
from analysis.models import AnalysisRun, EmotionModelVersion, ModelStatus
from analysis.registry import active as registry
from analysis.registry import selectors as registry_selectors
from analysis.registry import services as registry_services
from analysis.registry.services import RegistryError
from sessions.models import AuditEvent, RecordingStatus
from sessions.models.audit import AuditAction
from sessions.workspace import selectors as workspace_selectors
from tests.analysis.model_archives import (
    TINY_MAP,
    build_hf_folder,
    build_shipped_default,
    hf_folder,
    speechlike_wav_bytes,
    zip_folder,
)
from tests.conftest import Cast, grant_consent, signed_in_page
from tests.factories import ChildFactory, ClinicFactory, TherapySessionFactory, recording_for

__all__ = ["hf_folder"]  # fixture


def _model_files(clinic_id: Any) -> list[Path]:
    root = Path(settings.SER_MODELS_DIR) / str(clinic_id)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _import(
    cast: Cast, folder: Path, *, name: str = "tiny", version: str = "1", clinic: Any = None
) -> EmotionModelVersion:
    return registry_services.model_import(
        clinic=clinic or cast.clinic,
        source=str(folder),
        name=name,
        version=version,
        actor=cast.admin,
    )


def _stage(cast: Cast, source: Path, *, name: str = "m", **extra: Any) -> Any:
    """Stage an import of ``source`` as the cast's admin, pickle weights refused."""
    return registry_services.model_import_stage(
        clinic=cast.clinic,
        source=source,
        origin=source.name,
        name=name,
        version="1",
        allow_pickle=False,
        actor=cast.admin,
        **extra,
    )


def _confirm(cast: Cast, pending: Any, label_map: Mapping[str, str | None]) -> EmotionModelVersion:
    return registry_services.model_import_confirm(
        clinic=cast.clinic, token=pending.token, label_map=label_map, actor=cast.admin
    )


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The shipped-models folder pointed at a test copy of the default model."""
    root = tmp_path / "shipped"
    build_shipped_default(
        root / registry.SHIPPED_DEFAULT,
        evaluation={
            "mean": {"eight_class": {"ua_mean": 0.5, "ua_std": 0.1, "wa_mean": 0.5, "wa_std": 0.1}},
            "folds": [{}, {}],
        },
    )
    monkeypatch.setattr(registry, "SHIPPED_DIR", root)
    return root / registry.SHIPPED_DEFAULT


# --- import services ----------------------------------------------------------------------


def test_archive_import_creates_a_staged_version_with_manifest_checksum_and_audit(
    cast: Cast, hf_folder: Path, tmp_path: Path
) -> None:
    archive = zip_folder(hf_folder, tmp_path / "tiny.zip")
    pending = _stage(cast, archive, name="tiny")
    assert not EmotionModelVersion.objects.exists()
    assert pending.suggested_map == TINY_MAP
    version = _confirm(cast, pending, TINY_MAP)
    assert version.status == ModelStatus.STAGED
    assert version.source == "imported"
    assert version.kind == "hf_audio_classification"
    assert version.labels == ["neu", "hap", "ang", "sad"]
    assert version.created_by == cast.admin
    assert version.origin == "tiny.zip"
    directory = registry.model_dir(version)
    assert directory == Path(settings.SER_MODELS_DIR) / str(cast.clinic.pk) / str(version.pk)
    assert json.loads((directory / "ser_model.json").read_text())["label_map"] == TINY_MAP
    assert registry.directory_checksum(directory) == (version.checksum, version.size_bytes)
    assert not pending.directory.exists()
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="emotionmodelversion")
    assert event.object_id == str(version.pk)
    assert event.actor == cast.admin
    assert event.clinic_id == cast.clinic.pk


def test_bad_archive_leaves_no_folder_and_no_row(cast: Cast, tmp_path: Path) -> None:
    fake = tmp_path / "model.zip"
    fake.write_text("<html>not a zip</html>")
    with pytest.raises(ImportRejected, match="not a zip"):
        _stage(cast, fake)
    assert _model_files(cast.clinic.pk) == []
    assert not EmotionModelVersion.objects.exists()
    assert not AuditEvent.objects.filter(object_type="emotionmodelversion").exists()


def test_pickle_archive_without_permission_leaves_nothing(cast: Cast, tmp_path: Path) -> None:
    folder = build_hf_folder(tmp_path / "pickled", pickle_only=True)
    archive = zip_folder(folder, tmp_path / "pickled.zip")
    with pytest.raises(ImportRejected) as caught:
        _stage(cast, archive)
    assert caught.value.code == "pickle_weights"
    assert _model_files(cast.clinic.pk) == []


def test_unmapped_label_keeps_the_pending_import_for_correction(cast: Cast, tmp_path: Path) -> None:
    folder = build_hf_folder(tmp_path / "odd", labels=("happy", "zzz"))
    pending = _stage(cast, folder, name="odd", source_kind="folder")
    with pytest.raises(ImportRejected, match="unmapped: zzz"):
        _confirm(cast, pending, {"happy": "happy"})
    assert not EmotionModelVersion.objects.exists()
    version = _confirm(cast, pending, {"happy": "happy", "zzz": None})
    assert version.label_map == {"happy": "happy", "zzz": None}
    with pytest.raises(LookupError):  # a second confirm of the same token does nothing
        _confirm(cast, pending, {"happy": "happy", "zzz": None})


def test_pending_import_belongs_to_its_admin(cast: Cast, hf_folder: Path) -> None:
    pending = _stage(cast, hf_folder, name="tiny", source_kind="folder")
    with pytest.raises(LookupError):
        registry_services.pending_import_get(
            clinic=cast.clinic, token=pending.token, actor=cast.therapist
        )
    with pytest.raises(LookupError):
        registry_services.pending_import_get(
            clinic=cast.other_clinic, token=pending.token, actor=cast.other_admin
        )
    registry_services.model_import_cancel(clinic=cast.clinic, token=pending.token, actor=cast.admin)
    assert not pending.directory.exists()


def test_duplicate_name_and_version_is_refused_before_any_work(cast: Cast, hf_folder: Path) -> None:
    _import(cast, hf_folder)
    with pytest.raises(RegistryError, match="already registered"):
        _import(cast, hf_folder)
    assert EmotionModelVersion.objects.count() == 1


# --- activation -------------------------------------------------------------------------


def test_activation_retires_the_previous_active_version_and_is_audited(
    cast: Cast, hf_folder: Path
) -> None:
    first = registry_services.model_activate(
        version=_import(cast, hf_folder, version="1"), actor=cast.admin
    )
    second = _import(cast, hf_folder, version="2")
    registry_services.model_activate(version=second, actor=cast.admin)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ModelStatus.RETIRED and first.retired_by == cast.admin
    assert second.status == ModelStatus.ACTIVE and second.activated_by == cast.admin
    assert registry.active_version(cast.clinic) == second
    events = AuditEvent.objects.filter(action=AuditAction.ACTIVATE)
    assert events.count() == 2
    assert events.filter(object_id=str(second.pk), detail__previous=str(first.pk)).exists()
    registry_services.model_activate(version=second, actor=cast.admin)  # again: no change
    assert AuditEvent.objects.filter(action=AuditAction.ACTIVATE).count() == 2


def test_activation_is_per_clinic(cast: Cast, hf_folder: Path) -> None:
    mine = registry_services.model_activate(version=_import(cast, hf_folder), actor=cast.admin)
    theirs = registry_services.model_activate(
        version=_import(cast, hf_folder, clinic=cast.other_clinic), actor=cast.other_admin
    )
    mine.refresh_from_db()
    assert mine.status == theirs.status == ModelStatus.ACTIVE


def test_activation_refuses_changed_files(cast: Cast, hf_folder: Path) -> None:
    version = _import(cast, hf_folder)
    (registry.model_dir(version) / "config.json").write_text("{}")
    with pytest.raises(RegistryError, match="checksum"):
        registry_services.model_activate(version=version, actor=cast.admin)
    version.refresh_from_db()
    assert version.status == ModelStatus.STAGED
    shutil.rmtree(registry.model_dir(version))
    with pytest.raises(RegistryError, match="missing"):
        registry_services.model_activate(version=version, actor=cast.admin)


def test_active_version_cannot_be_retired_but_staged_can_and_be_staged_again(
    cast: Cast, hf_folder: Path
) -> None:
    active = registry_services.model_activate(
        version=_import(cast, hf_folder, version="1"), actor=cast.admin
    )
    with pytest.raises(RegistryError, match="Activate another version first"):
        registry_services.model_retire(version=active, actor=cast.admin)
    staged = _import(cast, hf_folder, version="2")
    registry_services.model_retire(version=staged, actor=cast.admin)
    staged.refresh_from_db()
    assert staged.status == ModelStatus.RETIRED
    registry_services.model_restage(version=staged, actor=cast.admin)
    staged.refresh_from_db()
    assert staged.status == ModelStatus.STAGED
    details = list(
        AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(staged.pk)).values_list(
            "detail__status", flat=True
        )
    )
    assert sorted(details) == ["retired", "staged"]


def test_evaluation_is_stored_and_summarised(cast: Cast, hf_folder: Path) -> None:
    version = _import(cast, hf_folder)
    confusion = {"labels": ["neutral", "happy"], "matrix": [[3, 1], [0, 4]]}
    block = {
        "n": 8,
        "ua": 0.875,
        "wa": 0.875,
        "recall": {"neutral": 0.75, "happy": 1.0},
        "precision": {"neutral": 1.0, "happy": 0.8},
        "confusion": confusion,
    }
    registry_services.model_store_evaluation(
        version=version,
        evaluation={"eight_class": block, "four_class": block, "valence": block, "n_clips": 8},
    )
    version.refresh_from_db()
    assert version.evaluated_at is not None
    summary = registry_selectors.evaluation_summary(version)
    assert summary is not None
    assert [row["key"] for row in summary["rows"]] == ["eight_class", "four_class", "valence"]
    from analysis.registry.charts import evaluation_figures

    figures = evaluation_figures(summary)
    assert len(figures) == 3
    heatmap = figures[0]["figure"]["data"][0]
    assert heatmap["type"] == "heatmap"
    assert heatmap["z"] == [[0.75, 0.25], [0.0, 1.0]]
    assert heatmap["text"][0][0].startswith("3")


def test_imported_shipped_and_trained_versions_take_their_columns_from_the_manifest_alike(
    cast: Cast, shipped: Path, hf_folder: Path, tmp_path: Path
) -> None:
    """One rule for the manifest's columns (the architecture cut to its column's 100
    characters) and one for moving a model folder into the clinic's store."""
    from analysis.engine.classifiers import read_manifest
    from tests.model_factory import registered_tiny_model

    trained_dir = registered_tiny_model(tmp_path / "trained")
    manifest_path = trained_dir / "ser_model.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "architecture": "x" * 150}))
    shipped_version = registry_services.register_shipped_default(clinic=cast.other_clinic)
    assert shipped_version is not None
    versions = {
        "imported": _import(cast, hf_folder),
        "shipped": shipped_version,
        "trained": registry_services.register_trained_version(
            clinic=cast.clinic, model_dir=trained_dir, name="here", version="1", origin="test"
        ),
    }
    for source, version in versions.items():
        assert version.source == source
        manifest = read_manifest(registry.model_dir(version))
        columns = (version.kind, version.labels, version.label_map, version.sample_rate)
        assert columns == (
            manifest.kind,
            manifest.labels,
            manifest.label_map,
            manifest.sample_rate,
        ), source
        assert version.architecture == manifest.architecture[:100], source
    assert versions["trained"].architecture == "x" * 100
    for source in ("imported", "trained"):
        version = versions[source]
        stored = Path(settings.SER_MODELS_DIR) / str(cast.clinic.pk) / str(version.pk)
        assert registry.model_dir(version) == stored and stored.is_dir(), source
    assert not trained_dir.exists()


# --- the shipped default --------------------------------------------------------------------


def test_ensure_default_models_registers_and_activates_once_per_clinic(
    cast: Cast, shipped: Path, hf_folder: Path
) -> None:
    _import(cast, hf_folder, clinic=cast.other_clinic)  # a clinic with a model is left alone
    created = registry_services.ensure_default_models()
    assert [v.clinic for v in created] == [cast.clinic]
    version = created[0]
    assert version.status == ModelStatus.ACTIVE
    assert version.source == "shipped"
    assert version.location == "shipped:ser-default-v2"
    assert version.kind == "features_head"
    assert "Trained on RAVDESS" in version.model_card
    assert version.evaluation["mean"]["eight_class"]["ua_mean"] == 0.5
    assert registry.verify_files(version) is None
    assert registry_services.ensure_default_models() == []
    assert EmotionModelVersion.objects.filter(clinic=cast.clinic).count() == 1
    assert not EmotionModelVersion.objects.filter(
        clinic=cast.other_clinic, source="shipped"
    ).exists()
    assert registry.load_version(version).predict_proba([speechlike_array()]).shape == (1, 8)


def test_a_clinic_on_an_older_shipped_default_moves_to_the_current_one(
    cast: Cast, shipped: Path, hf_folder: Path
) -> None:
    first = next(v for v in registry_services.ensure_default_models() if v.clinic == cast.clinic)
    # Pretend the clinic was set up by an earlier release (its default was v1).
    EmotionModelVersion.objects.filter(pk=first.pk).update(
        location="shipped:ser-default-v1", version="0"
    )
    chosen = _import(cast, hf_folder, clinic=cast.other_clinic)  # an admin's choice stays
    registry_services.model_activate(version=chosen, actor=None)
    (upgraded,) = registry_services.ensure_default_models()
    assert upgraded.clinic == cast.clinic
    assert upgraded.location == "shipped:ser-default-v2"
    assert upgraded.status == ModelStatus.ACTIVE
    first.refresh_from_db()
    assert first.status == ModelStatus.RETIRED
    created = AuditEvent.objects.filter(action="create", object_id=str(upgraded.pk)).get()
    assert created.detail["upgrades"] == str(first.pk)
    assert registry_services.ensure_default_models() == []
    chosen.refresh_from_db()
    assert chosen.status == ModelStatus.ACTIVE


def test_missing_shipped_model_fails_with_a_clear_message(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(registry, "SHIPPED_DIR", tmp_path / "nothing")
    with pytest.raises(RegistryError, match=r"shipped default model is missing.*train_model"):
        registry_services.ensure_default_models()
    assert not EmotionModelVersion.objects.exists()


def speechlike_array() -> Any:
    from tests.analysis.audio_factory import speechlike

    return speechlike(2.0, 16000)


# --- console pages ------------------------------------------------------------------------


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_list_shows_status_as_text_and_empty_state_offers_the_default(
    cast: Cast, shipped: Path, hf_folder: Path
) -> None:
    client = _client(cast.admin)
    page = client.get(reverse("console_models")).content.decode()
    assert "no emotion model yet" in page
    assert "Install the shipped default model" in page
    response = client.post(reverse("console_model_install_default"))
    assert response.status_code == 302
    _import(cast, hf_folder)
    page = client.get(reverse("console_models")).content.decode()
    assert '<span class="badge badge-active">Active</span>' in page
    assert '<span class="badge badge-staged">Staged</span>' in page
    console = client.get(reverse("console")).content.decode()
    assert reverse("console_models") in console


def _store_small_evaluation(version: EmotionModelVersion) -> None:
    """A two-label evaluation (UA/WA 0.5) stored on ``version``, for the pages to show."""
    block = {
        "n": 4,
        "ua": 0.5,
        "wa": 0.5,
        "recall": {"neutral": 0.5, "happy": 0.5},
        "precision": {"neutral": 0.5, "happy": 0.5},
        "confusion": {"labels": ["neutral", "happy"], "matrix": [[1, 1], [1, 1]]},
    }
    registry_services.model_store_evaluation(
        version=version, evaluation={"eight_class": block, "n_clips": 4}
    )


def test_detail_page_shows_mapping_checksum_card_chart_and_history(
    cast: Cast, hf_folder: Path
) -> None:
    version = _import(cast, hf_folder)
    _store_small_evaluation(version)
    version.refresh_from_db()
    version.model_card = "<script>alert(1)</script> card text"
    version.save(update_fields=["model_card"])
    page = (
        _client(cast.admin)
        .get(reverse("console_model_detail", kwargs={"version_id": version.pk}))
        .content.decode()
    )
    assert version.checksum in page
    assert "<td>neu</td><td>neutral</td>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; card text" in page
    assert 'id="figure-data-eight_class"' in page
    assert "vendor/plotly/plotly-cartesian.min.js" in page
    assert f"evaluate_model {version.pk} --data" in page
    assert "Created" in page and cast.admin.email in page


def test_import_through_the_console_with_label_confirmation(cast: Cast, tmp_path: Path) -> None:
    folder = build_hf_folder(tmp_path / "m", labels=("neu", "hap", "xxx"))
    archive = zip_folder(folder, tmp_path / "my-model.zip")
    client = _client(cast.admin)
    with archive.open("rb") as handle:
        response = client.post(reverse("console_model_import"), {"archive": handle, "version": "3"})
    assert response.status_code == 302
    confirm_url = response["Location"]
    page = client.get(confirm_url).content.decode()
    assert "Model label “xxx”" in page
    assert '<option value="neutral" selected>' in page
    data = {"label_0": "neutral", "label_1": "happy", "label_2": "", "confirm": "1"}
    response = client.post(confirm_url, data)
    assert response.status_code == 200
    assert not EmotionModelVersion.objects.exists()
    response = client.post(confirm_url, {**data, "label_2": "__none__"})
    version = EmotionModelVersion.objects.get()
    assert response["Location"] == reverse(
        "console_model_detail", kwargs={"version_id": version.pk}
    )
    assert (version.name, version.version) == ("my-model", "3")
    assert version.label_map == {"neu": "neutral", "hap": "happy", "xxx": None}
    assert client.get(confirm_url).status_code == 404  # used up


def test_console_import_of_a_bad_archive_shows_the_reason(cast: Cast, tmp_path: Path) -> None:
    fake = tmp_path / "model.zip"
    fake.write_text("<html>")
    client = _client(cast.admin)
    with fake.open("rb") as handle:
        response = client.post(reverse("console_model_import"), {"archive": handle, "version": "1"})
    assert response.status_code == 200
    assert "not a zip or tar.gz archive" in response.content.decode()
    with fake.open("rb") as handle:
        response = client.post(
            reverse("console_model_import"),
            {"archive": handle, "version": "1"},
            headers={"X-Requested-With": "XMLHttpRequest"},
        )
    assert response.status_code == 400
    assert "not a zip or tar.gz archive" in response.json()["errors"][0]
    assert _model_files(cast.clinic.pk) == []


def test_activate_and_retire_buttons_confirm_then_post(cast: Cast, hf_folder: Path) -> None:
    version = _import(cast, hf_folder)
    client = _client(cast.admin)
    url = reverse("console_model_activate", kwargs={"version_id": version.pk})
    page = client.get(url).content.decode()
    assert "Activate tiny 1?" in page
    version.refresh_from_db()
    assert version.status == ModelStatus.STAGED  # GET only asks
    client.post(url)
    version.refresh_from_db()
    assert version.status == ModelStatus.ACTIVE
    response = client.post(
        reverse("console_model_retire", kwargs={"version_id": version.pk}), follow=True
    )
    assert "Activate another version first" in response.content.decode()


def test_other_clinics_admin_and_therapists_get_404(cast: Cast, hf_folder: Path) -> None:
    version = _import(cast, hf_folder)
    for user in (cast.other_admin, cast.therapist, cast.guardian):
        client = _client(user)
        for name in ("console_model_detail", "console_model_activate", "console_model_try"):
            assert client.get(reverse(name, kwargs={"version_id": version.pk})).status_code == 404
    version.refresh_from_db()
    assert version.status == ModelStatus.STAGED


def test_try_on_a_recording_shows_both_models_side_by_side_and_audits(
    cast: Cast, hf_folder: Path, shipped: Path
) -> None:
    active = registry_services.register_shipped_default(clinic=cast.clinic)
    assert active is not None
    staged = _import(cast, hf_folder)
    recording = recording_for(cast.session, speechlike_wav_bytes(8.0), name="s.wav")
    recording.status = RecordingStatus.DONE
    recording.save()
    client = _client(cast.admin)
    url = reverse("console_model_try", kwargs={"version_id": staged.pk})
    page = client.get(url).content.decode()
    assert cast.child.code in page and cast.child.given_name not in page
    response = client.post(url, {"recording": str(recording.pk), "start_s": "0", "seconds": "10"})
    page = response.content.decode()
    assert response.status_code == 200, page
    assert "ser-default 1" in page and "tiny 1" in page
    assert page.count("<tr>") >= 2
    assert "Same label?" in page
    event = AuditEvent.objects.get(action=AuditAction.VIEW, object_type="recording")
    assert event.child_id == cast.child.pk
    assert event.detail["models"] == [str(active.pk), str(staged.pk)]


def test_try_on_an_unreadable_recording_says_so(cast: Cast, hf_folder: Path) -> None:
    staged = _import(cast, hf_folder)
    cast.recording.status = RecordingStatus.DONE
    cast.recording.save()
    response = _client(cast.admin).post(
        reverse("console_model_try", kwargs={"version_id": staged.pk}),
        {"recording": str(cast.recording.pk), "start_s": "0", "seconds": "10"},
    )
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()


# --- training data from corrections: the consent gate -----------------------------------------


def _corrected_segment(cast: Cast, child: Any, version: EmotionModelVersion) -> Any:
    from sessions.workspace.models import SegmentEdit

    session: Any = TherapySessionFactory(child=child, therapist=cast.therapist)
    recording = recording_for(session, speechlike_wav_bytes(4.0), name="c.wav")
    run = AnalysisRun.objects.create(recording=recording, model_version=version, status="done")
    return SegmentEdit.objects.create(
        run=run,
        operation="relabel",
        start_s=0.5,
        end_s=2.5,
        speaker="child",
        emotion="happy",
        emotion_by_therapist=True,
        author=cast.therapist,
    )


def test_corrected_segments_only_from_children_with_training_consent(
    cast: Cast, hf_folder: Path
) -> None:
    version = _import(cast, hf_folder)
    consenting = _corrected_segment(cast, cast.child, version)
    _corrected_segment(cast, cast.other_child, version)  # no consent at all
    grant_consent(cast.other_child, "recording", "analysis")  # but not training
    grant_consent(cast.child, "training")
    other_clinic_child: Any = ChildFactory(clinic=ClinicFactory())
    grant_consent(other_clinic_child, "training")
    _corrected_segment(cast, other_clinic_child, version)  # another clinic's data
    edits = workspace_selectors.corrected_segments(clinic=cast.clinic)
    assert [edit.pk for edit in edits] == [consenting.pk]
    clips, stats = registry_selectors.clips_from_corrections(cast.clinic)
    assert len(clips) == 1 and clips[0].label == "happy"
    assert clips[0].audio is not None and clips[0].audio.size == 2 * 16000
    assert stats["children"] == 1
    from sessions.families.models import ConsentRecord

    ConsentRecord.objects.filter(child=cast.child, purpose="training").update(
        revoked_at="2026-01-01T00:00:00Z"
    )
    assert workspace_selectors.corrected_segments(clinic=cast.clinic) == []


def test_superseded_or_model_only_labels_are_not_training_data(cast: Cast, hf_folder: Path) -> None:
    version = _import(cast, hf_folder)
    grant_consent(cast.child, "training")
    edit = _corrected_segment(cast, cast.child, version)
    edit.emotion_by_therapist = False
    edit.save()
    assert workspace_selectors.corrected_segments(clinic=cast.clinic) == []
    edit.emotion_by_therapist = True
    edit.superseded_at = "2026-01-01T00:00:00Z"
    edit.save()
    assert workspace_selectors.corrected_segments(clinic=cast.clinic) == []


# --- in a real browser ---------------------------------------------------------------------


def _shot(page: Any, name: str) -> None:
    import os

    directory = os.environ.get("SER_SCREENSHOTS_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
def test_admin_imports_with_upload_progress_maps_labels_and_sees_the_chart(
    transactional_db: Any, live_server: Any, cast: Cast, browser: Any, tmp_path: Path
) -> None:
    folder = build_hf_folder(tmp_path / "m", labels=("neu", "hap", "odd"))
    archive = zip_folder(folder, tmp_path / "clinic-model.zip")
    page = signed_in_page(browser, live_server, cast.admin, viewport={"width": 1280, "height": 900})
    page.goto("/console/")
    page.get_by_role("link", name="Emotion models").click()
    page.get_by_role("link", name="Import a model").click()
    _shot(page, "models-import")
    page.get_by_label("Model archive (.zip or .tar.gz)").set_input_files(str(archive))
    page.get_by_label("Version").fill("5")
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url("**/console/models/import/*/", timeout=120_000)
    assert page.get_by_role("status").count() >= 0  # the progress region existed
    _shot(page, "models-import-labels")
    odd = page.get_by_label("Model label “odd”")
    assert odd.input_value() == ""
    odd.select_option("__none__")
    page.get_by_role("button", name="Import as a staged model").click()
    page.wait_for_url("**/console/models/*-*/", timeout=60_000)
    assert "clinic-model" in page.title()
    assert page.locator(".badge-staged").first.inner_text() == "Staged"
    version = EmotionModelVersion.objects.get()
    _store_small_evaluation(version)
    page.reload()
    page.wait_for_selector(".plotly-chart .main-svg", timeout=30_000)
    _shot(page, "models-detail")
    page.get_by_role("link", name="Activate…").click()
    page.get_by_role("button", name="Activate").click()
    assert page.locator(".badge-active").first.inner_text() == "Active"
    version.refresh_from_db()
    assert version.status == ModelStatus.ACTIVE
    page.goto(reverse("console_models"))
    assert "In use for new analyses" in page.inner_text("main")
    _shot(page, "models-list")


@pytest.mark.browser
@pytest.mark.slow
def test_upload_of_a_bad_archive_shows_the_reason_without_leaving_the_page(
    transactional_db: Any, live_server: Any, cast: Cast, browser: Any, tmp_path: Path
) -> None:
    fake = tmp_path / "model.zip"
    fake.write_text("<!doctype html><title>download</title>")
    page = signed_in_page(browser, live_server, cast.admin)
    page.goto(reverse("console_model_import"))
    page.get_by_label("Model archive (.zip or .tar.gz)").set_input_files(str(fake))
    page.get_by_role("button", name="Upload and check").click()
    alert = page.locator("#upload-errors")
    alert.wait_for(state="visible", timeout=30_000)
    assert "not a zip or tar.gz archive" in alert.inner_text()
    assert page.url.endswith(reverse("console_model_import"))
    _shot(page, "models-import-error")
