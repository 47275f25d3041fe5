"""Reads of the emotion-model registry: versions an admin may see, a version's history and
figures, which recordings a model can be tried on, and therapist-corrected segments usable for
training (only children whose guardian consented to training).

Access is stated in ``sessions.access`` (``versions_visible_to``, ``get_version_for_admin``,
``get_trial_recording``): models belong to a clinic and only its admins see them; anyone else
gets a 404 (the console is not theirs to know about).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.training.datasets import LabelledClip
from analysis.models import EmotionModelVersion, ModelStatus
from analysis.registry import active as registry
from analysis.services import local_file_path
from sessions.models import AuditEvent, Clinic, Recording, RecordingStatus

logger = logging.getLogger(__name__)

OBJECT_TYPE = "emotionmodelversion"
# Status order on the list page: what is in use first, then candidates, then history.
_STATUS_ORDER = {ModelStatus.ACTIVE: 0, ModelStatus.STAGED: 1, ModelStatus.RETIRED: 2}


def versions_for_clinic(clinic: Clinic) -> list[EmotionModelVersion]:
    versions = list(
        EmotionModelVersion.objects.filter(clinic=clinic).select_related(
            "created_by", "activated_by", "base_version"
        )
    )
    versions.sort(
        key=lambda v: (_STATUS_ORDER.get(ModelStatus(v.status), 9), -v.created_at.timestamp())
    )
    return versions


def active_version_or_none(clinic: Clinic) -> EmotionModelVersion | None:
    return EmotionModelVersion.objects.filter(clinic=clinic, status=ModelStatus.ACTIVE).first()


def version_history(version: EmotionModelVersion, limit: int = 50) -> list[AuditEvent]:
    """Who did what to this version and when, newest first (from the audit log)."""
    return list(
        AuditEvent.objects.filter(object_type=OBJECT_TYPE, object_id=str(version.pk)).order_by(
            "-created_at"
        )[:limit]
    )


def label_rows(version: EmotionModelVersion) -> list[dict[str, Any]]:
    """The model's labels in output order with their canonical mapping."""
    return [{"label": label, "canonical": version.label_map.get(label)} for label in version.labels]


def uncovered_canonical(version: EmotionModelVersion) -> list[str]:
    """Canonical emotions this model can never output."""
    covered = {v for v in version.label_map.values() if v}
    return [label for label in CANONICAL_LABELS if label not in covered]


def _rates_from_confusion(confusion: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Per-class recall and precision from a confusion matrix (rows true, columns predicted)."""
    labels = list(confusion.get("labels") or [])
    matrix = confusion.get("matrix") or []
    recall: dict[str, float] = {}
    precision: dict[str, float] = {}
    if len(matrix) != len(labels):
        return recall, precision
    for i, label in enumerate(labels):
        support = sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        if support:
            recall[label] = matrix[i][i] / support
        if support or predicted:
            precision[label] = matrix[i][i] / predicted if predicted else 0.0
    return recall, precision


def _grouping_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, title in (
        ("eight_class", "8 emotions"),
        ("four_class", "4 emotions (neutral, happy, sad, angry)"),
        ("valence", "3 valence classes"),
    ):
        block = result.get(key)
        if not isinstance(block, dict):
            continue
        recall, precision = block.get("recall"), block.get("precision")
        if not recall and isinstance(block.get("confusion"), dict):
            # Cross-validation summaries keep only the summed confusion matrix.
            recall, precision = _rates_from_confusion(block["confusion"])
        ua = block.get("ua", block.get("ua_mean"))
        wa = block.get("wa", block.get("wa_mean"))
        rows.append(
            {
                "key": key,
                "title": title,
                "ua": ua,
                "wa": wa,
                "ua_std": block.get("ua_std"),
                "wa_std": block.get("wa_std"),
                "recall": recall or {},
                "precision": precision or {},
                "confusion": block.get("confusion"),
            }
        )
    return rows


def evaluation_summary(version: EmotionModelVersion) -> dict[str, Any] | None:
    """The stored evaluation as display rows, whatever produced it.

    Two shapes are stored: ``evaluate_model`` results (``evaluation.evaluate`` output with
    eight_class/four_class/valence at the top, optional ``folds`` summary) and the shipped
    model's cross-validation file (``{"folds": [...], "mean": {grouping: {ua_mean, ...}}}``).
    """
    data = version.evaluation or {}
    if not data:
        return None
    if "eight_class" in data:
        result = data
        kind = "held-out evaluation"
    elif isinstance(data.get("mean"), dict):
        result = data["mean"]
        kind = f"{len(data.get('folds') or [])}-fold speaker cross-validation"
    else:
        return {"kind": "other", "rows": [], "raw": data}
    rows = _grouping_rows(result)
    folds = data.get("folds") if isinstance(data.get("folds"), dict) else None
    for row in rows:
        # evaluate_model --folds: the spread over speaker-disjoint folds, next to pooled figures
        row["folds"] = (folds or {}).get(row["key"])
    eight = next((row for row in rows if row["key"] == "eight_class"), None)
    n_clips = data.get("n_clips") or (eight or {}).get("n")
    if not n_clips and eight and eight.get("confusion"):
        n_clips = sum(map(sum, eight["confusion"].get("matrix") or []))
    return {
        "kind": kind,
        "rows": rows,
        "eight": eight,
        "n_clips": n_clips,
        "data": data.get("data", ""),
        "command": data.get("command", ""),
        "fold_count": (folds or {}).get("k"),
    }


# --- trying a model on a recording ----------------------------------------------------------


def recordings_for_trial(clinic: Clinic, limit: int = 200) -> list[Recording]:
    """The clinic's recordings whose audio is still stored and was analysed, newest first."""
    return list(
        Recording.objects.filter(
            session__child__clinic=clinic,
            audio_deleted_at__isnull=True,
            status=RecordingStatus.DONE,
        )
        .exclude(file="")
        .select_related("session", "session__child")
        .order_by("-created_at")[:limit]
    )


# --- labelled data from therapist corrections ------------------------------------------------


def clips_from_corrections(
    clinic: Clinic,
    *,
    min_seconds: float = 0.5,
    max_seconds: float = 20.0,
    log: Any = None,
) -> tuple[list[LabelledClip], dict[str, Any]]:
    """Labelled clips cut from the recordings of the workspace's ``corrected_segments`` (the
    one definition of therapist-corrected training data), grouped by child (so
    cross-validation never splits one child's voice over train and test), and counts for the
    audit log and the model card (no names, no ids of children)."""
    from analysis.engine.audio.decode import AudioError, decode
    from analysis.engine.training.datasets import SAMPLE_RATE
    from sessions.workspace.selectors import corrected_segments

    by_recording: dict[Any, list[Any]] = defaultdict(list)
    for edit in corrected_segments(clinic=clinic):
        if edit.end_s - edit.start_s >= min_seconds:
            by_recording[edit.run.recording_id].append(edit)
    clips: list[LabelledClip] = []
    per_child: dict[Any, int] = defaultdict(int)
    skipped = 0
    for edits in by_recording.values():
        recording = edits[0].run.recording
        try:
            with local_file_path(recording.file) as path:
                audio = decode(path)
        except (AudioError, OSError) as exc:
            skipped += len(edits)
            logger.warning("Skipping recording %s for training: %s", recording.pk, exc)
            continue
        child = recording.session.child
        for edit in edits:
            start = int(edit.start_s * SAMPLE_RATE)
            end = min(int(min(edit.end_s, edit.start_s + max_seconds) * SAMPLE_RATE), audio.size)
            if end - start < min_seconds * SAMPLE_RATE:
                skipped += 1
                continue
            clips.append(
                LabelledClip(
                    label=edit.emotion,
                    group=f"child-{uuid.UUID(str(child.pk)).hex[:12]}",
                    audio=audio[start:end].copy(),
                    key=f"edit:{edit.pk}",
                )
            )
            per_child[child.pk] += 1
    stats = {
        "clips": len(clips),
        "children": len(per_child),
        "skipped": skipped,
        "per_child": dict(per_child),
    }
    return clips, stats


# --- resolving a model argument of the management commands ---------------------------------


def resolve_model(
    spec: str | None, *, clinic_slug: str | None = None
) -> tuple[EmotionModelVersion | None, Path]:
    """A model given on the command line: None (the shipped default folder), a folder path, a
    registry version id, or ``name:version`` (``clinic_slug`` picks the clinic when several
    have that name). Returns the registry version (None for a folder) and its directory."""
    if not spec:
        return None, registry.shipped_dir()
    path = Path(spec)
    if path.is_dir():
        return None, path
    versions = EmotionModelVersion.objects.select_related("clinic")
    if clinic_slug:
        versions = versions.filter(clinic__slug=clinic_slug)
    try:
        version_id = uuid.UUID(spec)
    except ValueError:
        version_id = None
    if version_id is not None:
        found = list(versions.filter(pk=version_id))
    elif ":" in spec:
        name, _, number = spec.rpartition(":")
        found = list(versions.filter(name=name, version=number))
    else:
        raise LookupError(
            f"{spec!r} is not a folder, a version id or name:version of a registered model."
        )
    if not found:
        raise LookupError(f"No registered model version {spec!r}.")
    if len(found) > 1:
        clinics = ", ".join(sorted(v.clinic.slug for v in found))
        raise LookupError(f"{spec!r} exists in several clinics ({clinics}); add --clinic.")
    return found[0], registry.model_dir(found[0])
