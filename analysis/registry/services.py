"""Writes of the emotion-model registry: import, activation, retirement, the shipped default,
versions trained here and stored evaluation results.

Views, management commands and tasks call these; none of them writes EmotionModelVersion
directly. The checks on an imported checkpoint are plain Python in
``analysis.engine.classifiers.importing``;
this module adds where files are kept, the database rows and the audit trail.

An import from the console has two steps, because the admin must confirm the label map:
``model_import_stage`` checks the archive and keeps the checked model under
``SER_MODELS_DIR/<clinic>/.pending/<token>/`` (no database row yet);
``model_import_confirm`` writes the manifest with the confirmed map, moves the files to
``SER_MODELS_DIR/<clinic>/<version id>/`` and creates the staged version. A rejected archive
leaves nothing behind: no pending folder, no row. Pending imports nobody confirmed are removed
after ``PENDING_MAX_AGE_S``.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from analysis.engine.classifiers import ModelFormatError, ModelManifest, read_manifest
from analysis.engine.classifiers import importing as importer
from analysis.engine.classifiers.importing import ImportLimits, ImportRejected
from analysis.models import EmotionModelVersion, ModelSource, ModelStatus
from analysis.registry import active as registry
from sessions import audit
from sessions.models import Clinic
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in

logger = logging.getLogger(__name__)

PENDING_FILE = "pending.json"
PENDING_MAX_AGE_S = 24 * 3600
OBJECT_TYPE = "emotionmodelversion"
MODEL_CARD_FILE = "MODEL_CARD.md"
EVALUATION_FILES = ("evaluation.json", "cv.json")


class RegistryError(ValueError):
    """A registry action that cannot be done, with a message the admin can act on."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def import_limits() -> ImportLimits:
    """Import caps; a site can lower or raise them in settings (SER_MODEL_IMPORT_*)."""
    defaults = ImportLimits()
    return ImportLimits(
        max_archive_bytes=getattr(
            settings, "SER_MODEL_IMPORT_MAX_ARCHIVE_BYTES", defaults.max_archive_bytes
        ),
        max_total_bytes=getattr(
            settings, "SER_MODEL_IMPORT_MAX_TOTAL_BYTES", defaults.max_total_bytes
        ),
        max_file_bytes=getattr(
            settings, "SER_MODEL_IMPORT_MAX_FILE_BYTES", defaults.max_file_bytes
        ),
        max_files=getattr(settings, "SER_MODEL_IMPORT_MAX_FILES", defaults.max_files),
        max_ratio=getattr(settings, "SER_MODEL_IMPORT_MAX_RATIO", defaults.max_ratio),
        ratio_floor_bytes=getattr(
            settings, "SER_MODEL_IMPORT_RATIO_FLOOR_BYTES", defaults.ratio_floor_bytes
        ),
    )


# --- pending imports ---------------------------------------------------------------------


@dataclass
class PendingImport:
    """A checked checkpoint waiting for the admin to confirm its label map."""

    token: str
    clinic_id: str
    actor_id: str
    name: str
    version: str
    origin: str
    allow_pickle: bool
    labels: list[str]
    suggested_map: dict[str, str | None]
    architecture: str
    model_type: str
    sample_rate: int
    size_bytes: int
    warnings: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    @property
    def directory(self) -> Path:
        return pending_root(self.clinic_id) / self.token

    @property
    def model_dir(self) -> Path:
        return self.directory / importer.MODEL_SUBDIR

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / PENDING_FILE).write_text(json.dumps(asdict(self), indent=1))


def pending_root(clinic_id: Any) -> Path:
    return registry.clinic_models_dir(clinic_id) / registry.PENDING_DIR


def _new_staging_dir(clinic_id: Any) -> tuple[str, Path]:
    token = str(uuid.uuid4())
    directory = pending_root(clinic_id) / token
    directory.mkdir(parents=True)
    return token, directory


def _remove_stale_pending(clinic_id: Any) -> None:
    root = pending_root(clinic_id)
    if not root.is_dir():
        return
    cutoff = time.time() - PENDING_MAX_AGE_S
    for directory in root.iterdir():
        try:
            if directory.stat().st_mtime < cutoff:
                shutil.rmtree(directory, ignore_errors=True)
        except FileNotFoundError:
            continue


def _check_name_free(clinic: Clinic, name: str, version: str) -> None:
    if EmotionModelVersion.objects.filter(clinic=clinic, name=name, version=version).exists():
        raise RegistryError(
            f"{name} version {version} is already registered for this clinic; choose another "
            "version.",
            code="duplicate",
        )


def _check_name(name: str, version: str) -> None:
    if not name.strip() or not version.strip():
        raise RegistryError("A model needs a name and a version.", code="invalid")
    if len(name) > 100 or len(version) > 50:
        raise RegistryError("Name (100) or version (50 characters) too long.", code="invalid")


def model_import_stage(
    *,
    clinic: Clinic,
    source: Path | str,
    origin: str,
    name: str,
    version: str,
    allow_pickle: bool,
    actor: Actor | None,
    source_kind: str = "archive",
) -> PendingImport:
    """Check an archive (``source_kind="archive"``), a model folder (``"folder"``) or a Hub id
    (``"hub"``) and keep the checked model as a pending import of ``actor``.

    Changes: creates ``SER_MODELS_DIR/<clinic>/.pending/<token>/``; no database row. On any
    rejection the folder is removed and ``ImportRejected``/``RegistryError`` is raised. Running
    it twice stages two independent pending imports.
    """
    _check_name(name, version)
    _check_name_free(clinic, name, version)
    _remove_stale_pending(clinic.pk)
    token, directory = _new_staging_dir(clinic.pk)
    try:
        limits = import_limits()
        if source_kind == "archive":
            staged = importer.stage_archive(
                source,
                directory,
                allow_pickle=allow_pickle,
                name=name,
                version=version,
                limits=limits,
            )
        elif source_kind == "folder":
            staged = importer.stage_folder(
                source,
                directory,
                allow_pickle=allow_pickle,
                name=name,
                version=version,
                limits=limits,
            )
        elif source_kind == "hub":
            with tempfile.TemporaryDirectory(prefix="ser-hub-") as hub_dir:
                importer.download_from_hub(str(source), hub_dir)
                staged = importer.stage_folder(
                    hub_dir,
                    directory,
                    allow_pickle=allow_pickle,
                    name=name,
                    version=version,
                    limits=limits,
                )
        else:  # pragma: no cover - programming error
            raise ValueError(f"Unknown source kind {source_kind!r}.")
        pending = PendingImport(
            token=token,
            clinic_id=str(clinic.pk),
            actor_id=str(getattr(actor, "pk", "") or ""),
            name=name,
            version=version,
            origin=origin[:300],
            allow_pickle=allow_pickle,
            labels=staged.labels,
            suggested_map=staged.suggested_map,
            architecture=staged.architecture,
            model_type=staged.model_type,
            sample_rate=staged.sample_rate,
            size_bytes=staged.size_bytes,
            warnings=staged.warnings,
        )
        pending.save()
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return pending


def pending_import_get(*, clinic: Clinic, token: Any, actor: Actor | None) -> PendingImport:
    """The pending import ``token`` of ``actor`` in ``clinic``; LookupError when there is none
    (unknown, expired, confirmed already, or someone else's)."""
    try:
        token = str(uuid.UUID(str(token)))
    except ValueError as exc:
        raise LookupError("No such pending import.") from exc
    path = pending_root(clinic.pk) / token / PENDING_FILE
    try:
        data = json.loads(path.read_text())
        pending = PendingImport(**data)
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise LookupError("No such pending import.") from exc
    if pending.clinic_id != str(clinic.pk) or pending.actor_id != str(getattr(actor, "pk", "")):
        raise LookupError("No such pending import.")
    if time.time() - pending.created > PENDING_MAX_AGE_S:
        shutil.rmtree(pending.directory, ignore_errors=True)
        raise LookupError("This import expired; upload the archive again.")
    return pending


def model_import_cancel(*, clinic: Clinic, token: Any, actor: Actor | None) -> None:
    """Remove a pending import. Running it twice is harmless (the second finds nothing)."""
    try:
        pending = pending_import_get(clinic=clinic, token=token, actor=actor)
    except LookupError:
        return
    shutil.rmtree(pending.directory, ignore_errors=True)


def _read_model_card(directory: Path) -> str:
    for name in (MODEL_CARD_FILE, "README.md"):
        path = directory / name
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")[:100_000]
    return ""


def _manifest_columns(manifest: ModelManifest) -> dict[str, Any]:
    """The columns of a version row that its manifest decides, whatever the version's source."""
    return {
        "kind": manifest.kind,
        "architecture": manifest.architecture[:100],
        "labels": manifest.labels,
        "label_map": manifest.label_map,
        "sample_rate": manifest.sample_rate,
    }


def _move_into_store(clinic: Clinic, model_dir: Path) -> tuple[uuid.UUID, str, Path]:
    """Move a checked model folder to ``SER_MODELS_DIR/<clinic>/<new version id>/``; returns
    the new version's id, its stored location and the folder (which the caller removes when
    the row cannot be created)."""
    version_id = uuid.uuid4()
    location = registry.new_location(clinic.pk, version_id)
    final_dir = Path(settings.SER_MODELS_DIR) / location
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(model_dir), str(final_dir))
    return version_id, location, final_dir


@transaction.atomic
def model_import_confirm(
    *,
    clinic: Clinic,
    token: Any,
    label_map: Mapping[str, str | None],
    actor: Actor | None,
    request: HttpRequest | None = None,
) -> EmotionModelVersion:
    """Finish a pending import with the admin's label map: write the manifest, re-run the test
    clip, move the files into the clinic's model store and create a *staged* version.

    Changes: one EmotionModelVersion row (staged), the model folder, one CREATE audit entry;
    the pending folder is gone afterwards. Raises LookupError when the pending import is gone
    (so a second confirm of the same token does nothing) and ImportRejected for a bad map (the
    pending import stays, so the admin can correct the map).
    """
    pending = pending_import_get(clinic=clinic, token=token, actor=actor)
    _check_name_free(clinic, pending.name, pending.version)
    manifest = importer.finalize_staged(
        pending.model_dir, label_map=label_map, name=pending.name, version=pending.version
    )
    version_id, location, final_dir = _move_into_store(clinic, pending.model_dir)
    try:
        checksum, size = registry.directory_checksum(final_dir)
        version = EmotionModelVersion.objects.create(
            id=version_id,
            clinic=clinic,
            name=pending.name,
            version=pending.version,
            source=ModelSource.IMPORTED,
            **_manifest_columns(manifest),
            location=location,
            checksum=checksum,
            size_bytes=size,
            model_card=_read_model_card(final_dir),
            status=ModelStatus.STAGED,
            created_by=signed_in(actor),
            origin=pending.origin,
            import_notes=pending.warnings,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=version,
            clinic_id=clinic.pk,
            request=request,
            detail={
                "source": "imported",
                "checksum": checksum,
                "allow_pickle": pending.allow_pickle,
                "labels": len(manifest.labels),
            },
        )
    except BaseException:
        shutil.rmtree(final_dir, ignore_errors=True)
        raise
    # The pending import is used up (its model folder has moved); a second confirm finds
    # nothing and raises LookupError.
    shutil.rmtree(pending.directory, ignore_errors=True)
    return version


def model_import(
    *,
    clinic: Clinic,
    source: str,
    name: str,
    version: str,
    label_map: Mapping[str, str | None] | None = None,
    allow_pickle: bool = False,
    actor: Actor | None = None,
    request: HttpRequest | None = None,
) -> EmotionModelVersion:
    """One-step import (the ``import_model`` command): an archive, a folder or a Hub id.

    Labels missing from ``label_map`` take the suggested canonical label; a label with no
    suggestion must be given (or ``=none``), else ImportRejected("unmapped_labels") and nothing
    is kept. Creates a staged version like ``model_import_confirm``.
    """
    path = Path(source)
    if path.is_dir():
        kind, origin = "folder", path.name
    elif path.is_file():
        kind, origin = "archive", path.name
    else:
        kind, origin = "hub", source
    pending = model_import_stage(
        clinic=clinic,
        source=path if kind != "hub" else source,
        origin=origin,
        name=name,
        version=version,
        allow_pickle=allow_pickle,
        actor=actor,
        source_kind=kind,
    )
    try:
        chosen: dict[str, str | None] = {
            label: target for label, target in pending.suggested_map.items() if target is not None
        }
        chosen.update(label_map or {})
        return model_import_confirm(
            clinic=clinic, token=pending.token, label_map=chosen, actor=actor, request=request
        )
    finally:
        shutil.rmtree(pending.directory, ignore_errors=True)


# --- status changes ------------------------------------------------------------------------


def _audit_version(
    version: EmotionModelVersion,
    action: str,
    actor: Actor | None,
    request: HttpRequest | None,
    detail: dict[str, Any],
) -> None:
    """One audit entry for a change of ``version``, in the version's clinic."""
    audit.record(
        actor=actor,
        action=action,
        obj=version,
        clinic_id=version.clinic_id,
        request=request,
        detail=detail,
    )


def _locked(version: EmotionModelVersion) -> EmotionModelVersion:
    return EmotionModelVersion.objects.select_for_update().get(pk=version.pk)


@transaction.atomic
def model_activate(
    *,
    version: EmotionModelVersion,
    actor: Actor | None,
    request: HttpRequest | None = None,
    reason: str = "",
) -> EmotionModelVersion:
    """Make ``version`` its clinic's active model; the previously active one is retired.

    Checks first that the files are present and unchanged (checksum), and the clinic's
    evidence: when, on the blind-labelled segments both have answered, ``version`` agrees
    less with the therapists than the active model (``sessions.validation.selectors.
    activation_evidence``), it is activated only with a typed ``reason`` (kept in the audit
    entry); otherwise RegistryError("needs_reason"). New analyses use the new model from the
    moment this commits; runs already under way finish with theirs.
    Changes: two rows' status and one ACTIVATE audit entry. Activating the active version
    again changes nothing and records nothing.
    """
    from sessions.validation.selectors import activation_evidence

    # Lock the clinic's versions in a stable order, so two concurrent activations serialise.
    list(
        EmotionModelVersion.objects.select_for_update()
        .filter(clinic_id=version.clinic_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    version = _locked(version)
    if version.status == ModelStatus.ACTIVE:
        return version
    problem = registry.verify_files(version)
    if problem:
        raise RegistryError(problem, code="files")
    try:
        read_manifest(registry.model_dir(version))
    except ModelFormatError as exc:
        raise RegistryError(f"The model cannot be used: {exc}", code="files") from exc
    now = timezone.now()
    previous = EmotionModelVersion.objects.filter(
        clinic_id=version.clinic_id, status=ModelStatus.ACTIVE
    ).first()
    evidence = activation_evidence(version, previous)
    reason = reason.strip()[:500]
    if evidence["worse"] and not reason:
        raise RegistryError(
            f"On {evidence['n']} segments the clinic's therapists labelled blind, this model "
            "agrees with them less than the active one. Type why it should be activated "
            "anyway.",
            code="needs_reason",
        )
    if previous is not None:
        previous.status = ModelStatus.RETIRED
        previous.retired_at = now
        previous.retired_by = signed_in(actor)
        previous.save(update_fields=["status", "retired_at", "retired_by", "updated_at"])
    version.status = ModelStatus.ACTIVE
    version.activated_at = now
    version.activated_by = signed_in(actor)
    version.save(update_fields=["status", "activated_at", "activated_by", "updated_at"])
    _audit_version(
        version,
        AuditAction.ACTIVATE,
        actor,
        request,
        {
            "previous": str(previous.pk) if previous else None,
            **({"reason": reason} if reason else {}),
            **(
                {
                    "evidence_items": evidence["n"],
                    "kappa": evidence["candidate"]["kappa"],
                    "active_kappa": evidence["active"]["kappa"],
                    "worse": evidence["worse"],
                }
                if evidence["n"]
                else {}
            ),
        },
    )
    return version


@transaction.atomic
def model_retire(
    *, version: EmotionModelVersion, actor: Actor | None, request: HttpRequest | None = None
) -> EmotionModelVersion:
    """Retire a staged version. The active one cannot be retired directly (the clinic would be
    left without a model): activate another first. Retiring a retired version does nothing.
    Changes: the status and one UPDATE audit entry."""
    version = _locked(version)
    if version.status == ModelStatus.RETIRED:
        return version
    if version.status == ModelStatus.ACTIVE:
        raise RegistryError(
            "This is the clinic's active model. Activate another version first; this one is "
            "then retired automatically.",
            code="active",
        )
    version.status = ModelStatus.RETIRED
    version.retired_at = timezone.now()
    version.retired_by = signed_in(actor)
    version.save(update_fields=["status", "retired_at", "retired_by", "updated_at"])
    registry.forget_version(version)
    _audit_version(version, AuditAction.UPDATE, actor, request, {"status": "retired"})
    return version


@transaction.atomic
def model_restage(
    *, version: EmotionModelVersion, actor: Actor | None, request: HttpRequest | None = None
) -> EmotionModelVersion:
    """Put a retired version back to staged (so it can be tried and activated again).
    Changes: the status and one UPDATE audit entry; a staged or active version is unchanged."""
    version = _locked(version)
    if version.status != ModelStatus.RETIRED:
        return version
    version.status = ModelStatus.STAGED
    version.save(update_fields=["status", "updated_at"])
    _audit_version(version, AuditAction.UPDATE, actor, request, {"status": "staged"})
    return version


@transaction.atomic
def model_store_evaluation(
    *,
    version: EmotionModelVersion,
    evaluation: dict[str, Any],
    actor: Actor | None = None,
    request: HttpRequest | None = None,
) -> EmotionModelVersion:
    """Store evaluation results on a version (replacing earlier ones).
    Changes: ``evaluation``, ``evaluated_at`` and one UPDATE audit entry; running it twice
    stores the second result."""
    version = _locked(version)
    version.evaluation = evaluation
    version.evaluated_at = timezone.now()
    version.save(update_fields=["evaluation", "evaluated_at", "updated_at"])
    _audit_version(
        version,
        AuditAction.UPDATE,
        actor,
        request,
        {"field": "evaluation", "n": evaluation.get("n_clips")},
    )
    return version


# --- the shipped default ---------------------------------------------------------------------


def shipped_default_info(name: str = registry.SHIPPED_DEFAULT) -> dict[str, Any]:
    """What registering the shipped default needs: manifest, checksum, card, evaluation.
    Raises RegistryError when the shipped model is missing or broken."""
    directory = registry.shipped_dir(name)
    if not directory.is_dir():
        raise RegistryError(
            f"The shipped default model is missing: {directory} does not exist. Train it with "
            f"`python manage.py train_model --data <RAVDESS folder> --out {directory}`.",
            code="missing",
        )
    try:
        manifest = read_manifest(directory)
    except ModelFormatError as exc:
        raise RegistryError(f"The shipped default model is broken: {exc}", code="broken") from exc
    checksum, size = registry.directory_checksum(directory)
    evaluation: dict[str, Any] = {}
    for file_name in EVALUATION_FILES:
        path = directory / file_name
        if path.is_file():
            try:
                loaded = json.loads(path.read_text())
            except json.JSONDecodeError:
                logger.warning("Ignoring unreadable %s of the shipped model", file_name)
                continue
            if isinstance(loaded, dict):
                evaluation = {**loaded, "source_file": file_name}
                break
    return {
        "manifest": manifest,
        "checksum": checksum,
        "size_bytes": size,
        "model_card": _read_model_card(directory),
        "evaluation": evaluation,
    }


@transaction.atomic
def register_shipped_default(
    *,
    clinic: Clinic,
    actor: Actor | None = None,
    request: HttpRequest | None = None,
    info: dict[str, Any] | None = None,
) -> EmotionModelVersion | None:
    """Register the shipped default for a clinic that has no model version at all, and
    activate it. A clinic that has any version (even retired ones) is left alone, so running
    it twice, or after an admin chose another model, changes nothing and returns None.
    Changes: one row (active), CREATE and ACTIVATE audit entries."""
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()  # serialise per clinic
    if EmotionModelVersion.objects.filter(clinic=clinic).exists():
        return None
    return _register_and_activate_shipped(
        clinic=clinic, actor=actor, request=request, info=info or shipped_default_info()
    )


def _register_and_activate_shipped(
    *,
    clinic: Clinic,
    actor: Actor | None,
    request: HttpRequest | None,
    info: dict[str, Any],
    upgraded_from: EmotionModelVersion | None = None,
) -> EmotionModelVersion:
    manifest = info["manifest"]
    version = EmotionModelVersion.objects.create(
        clinic=clinic,
        name=manifest.name,
        version=manifest.version,
        source=ModelSource.SHIPPED,
        **_manifest_columns(manifest),
        location=registry.SHIPPED_PREFIX + registry.SHIPPED_DEFAULT,
        checksum=info["checksum"],
        size_bytes=info["size_bytes"],
        model_card=info["model_card"],
        evaluation=info["evaluation"],
        evaluated_at=timezone.now() if info["evaluation"] else None,
        status=ModelStatus.STAGED,
        origin="shipped with the portal",
        created_by=signed_in(actor),
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=version,
        clinic_id=clinic.pk,
        request=request,
        detail={
            "source": "shipped",
            "checksum": info["checksum"],
            **({"upgrades": str(upgraded_from.pk)} if upgraded_from is not None else {}),
        },
    )
    return model_activate(version=version, actor=actor, request=request)


@transaction.atomic
def upgrade_shipped_default(
    *, clinic: Clinic, actor: Actor | None = None, info: dict[str, Any] | None = None
) -> EmotionModelVersion | None:
    """Replace an *active older shipped default* with the current one (registered, activated,
    the old one retired; audited). ser-default-v1 is known to be wrong outside studio
    conditions, so a clinic still on it moves on; a clinic whose admin chose any other model
    (imported, trained, or a retired shipped one) is left alone. Twice: the second call finds
    the current default active and returns None."""
    Clinic.objects.select_for_update().filter(pk=clinic.pk).first()
    active = EmotionModelVersion.objects.filter(clinic=clinic, status=ModelStatus.ACTIVE).first()
    current = registry.SHIPPED_PREFIX + registry.SHIPPED_DEFAULT
    if active is None or active.source != ModelSource.SHIPPED or active.location == current:
        return None
    if EmotionModelVersion.objects.filter(clinic=clinic, location=current).exists():
        return None  # the current default was installed and then set aside by an admin
    return _register_and_activate_shipped(
        clinic=clinic, actor=actor, request=None, info=info or shipped_default_info(),
        upgraded_from=active,
    )  # fmt: skip


def ensure_default_models(*, actor: Actor | None = None) -> list[EmotionModelVersion]:
    """Register and activate the shipped default for every clinic without any version, and
    move clinics whose active model is an older shipped default to the current one
    (``upgrade_shipped_default``). Fast and idempotent: two queries when there is nothing to
    do; the shipped folder's checksum is computed once per call."""
    clinics = list(Clinic.objects.filter(emotion_models__isnull=True).distinct())
    current = registry.SHIPPED_PREFIX + registry.SHIPPED_DEFAULT
    outdated = list(
        Clinic.objects.filter(
            emotion_models__status=ModelStatus.ACTIVE,
            emotion_models__source=ModelSource.SHIPPED,
        )
        .exclude(emotion_models__location=current)
        .distinct()
    )
    if not clinics and not outdated:
        return []
    info = shipped_default_info()
    created = []
    for clinic in clinics:
        version = register_shipped_default(clinic=clinic, actor=actor, info=info)
        if version is not None:
            created.append(version)
    for clinic in outdated:
        version = upgrade_shipped_default(clinic=clinic, actor=actor, info=info)
        if version is not None:
            created.append(version)
    return created


# --- versions trained here -----------------------------------------------------------------


def staging_dir_for_training(clinic: Clinic) -> Path:
    """A fresh folder for a training run's output, inside the clinic's model store (so the
    final move is a rename on the same file system)."""
    _token, directory = _new_staging_dir(clinic.pk)
    return directory


@transaction.atomic
def register_trained_version(
    *,
    clinic: Clinic,
    model_dir: Path,
    name: str,
    version: str,
    origin: str,
    base_version: EmotionModelVersion | None = None,
    evaluation: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> EmotionModelVersion:
    """Store a model trained here (a written model folder with its manifest) as a *staged*
    version: moves ``model_dir`` into the clinic's store. Changes: one row, one CREATE audit
    entry; ``model_dir`` no longer exists afterwards. Raises RegistryError on a name clash."""
    _check_name(name, version)
    _check_name_free(clinic, name, version)
    manifest = read_manifest(model_dir)
    version_id, location, final_dir = _move_into_store(clinic, model_dir)
    try:
        checksum, size = registry.directory_checksum(final_dir)
        row = EmotionModelVersion.objects.create(
            id=version_id,
            clinic=clinic,
            name=name,
            version=version,
            source=ModelSource.TRAINED,
            **_manifest_columns(manifest),
            location=location,
            checksum=checksum,
            size_bytes=size,
            model_card=_read_model_card(final_dir),
            evaluation=evaluation or {},
            evaluated_at=timezone.now() if evaluation else None,
            status=ModelStatus.STAGED,
            origin=origin[:300],
            base_version=base_version,
            created_by=signed_in(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=row,
            clinic_id=clinic.pk,
            detail={
                "source": "trained",
                "checksum": checksum,
                "base_version": str(base_version.pk) if base_version else None,
            },
        )
    except IntegrityError as exc:
        shutil.rmtree(final_dir, ignore_errors=True)
        raise RegistryError(f"{name} version {version} already exists.", "duplicate") from exc
    except BaseException:
        shutil.rmtree(final_dir, ignore_errors=True)
        raise
    return row


__all__ = [
    "ImportRejected",
    "PendingImport",
    "RegistryError",
    "ensure_default_models",
    "model_activate",
    "model_import",
    "model_import_cancel",
    "model_import_confirm",
    "model_import_stage",
    "model_restage",
    "model_retire",
    "model_store_evaluation",
    "pending_import_get",
    "register_shipped_default",
    "register_trained_version",
]
