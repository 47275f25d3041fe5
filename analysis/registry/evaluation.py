"""Evaluating a registered model on labelled audio, from the clinic console or a shell.

``score`` is the evaluation itself (``manage.py evaluate_model`` prints it). From the console an
admin starts ``evaluation_start``, which queues ``analysis.tasks.evaluate_model_version``; the
worker calls ``evaluation_run``, which writes its progress where the page reads it.

The state of the console's evaluation lives on the version, in ``evaluation["job"]`` (so no new
table is needed): ``queued`` -> ``running`` -> ``done`` | ``failed``. A job that has not moved
for ``STALE_AFTER`` (a worker that died) may be started again. The figures stay those of the
last finished evaluation until a new one finishes.

The data an admin may choose are the folders of ``SER_EVALUATION_DATA_DIRS`` (server paths set
by the operator; a web form never names a path on the server).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from analysis.models import EmotionModelVersion
from sessions import audit
from sessions.models.audit import AuditAction
from sessions.types import Actor, User, signed_in

JOB_KEY = "job"
STALE_AFTER = dt.timedelta(hours=2)
ACTIVE = ("queued", "running")
FOLD_CHOICES = (0, 2, 5)


class EvaluationRefused(ValueError):
    """An evaluation that cannot start; the message says why, for the admin."""


def score(
    classifier: Any,
    clips: list[Any],
    *,
    folds: int = 0,
    seed: int = 0,
    batch_size: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The evaluation document stored on a version (see ``analysis.engine.training.evaluation``):
    UA, WA, recall, precision and confusion for 8 emotions, 4 emotions and 3 valence classes,
    with the spread over ``folds`` speaker-disjoint folds when asked. ``progress(done, total)``
    is called after each batch of clips."""
    from analysis.engine.training.datasets import group_kfold, label_indices
    from analysis.engine.training.evaluation import metrics_from_probabilities, summarise_folds

    rows = []
    for start in range(0, len(clips), batch_size):
        batch = [clip.load(classifier.sample_rate) for clip in clips[start : start + batch_size]]
        rows.append(np.asarray(classifier.predict_proba(batch)))
        if progress is not None:
            progress(min(start + batch_size, len(clips)), len(clips))
    probabilities = np.concatenate(rows)
    y = label_indices(clips)
    result = metrics_from_probabilities(y, probabilities)
    result["n_clips"] = len(clips)
    result["speakers"] = len({clip.group for clip in clips})
    if folds:
        per_fold = [
            metrics_from_probabilities(y[test], probabilities[test])
            for _train, test in group_kfold(clips, folds, seed)
        ]
        result["folds"] = {"k": folds, "seed": seed, **summarise_folds(per_fold)}
    result["model"] = {
        "name": classifier.manifest.name,
        "version": classifier.manifest.version,
        "kind": classifier.manifest.kind,
    }
    return result


def data_choices() -> list[tuple[str, str]]:
    """(folder name, folder name) of each configured data folder that exists on this server."""
    names: list[tuple[str, str]] = []
    for folder in settings.SER_EVALUATION_DATA_DIRS:
        path = Path(folder)
        if path.is_dir() and path.name not in dict(names):
            names.append((path.name, path.name))
    return names


def _data_dir(name: str) -> Path:
    for folder in settings.SER_EVALUATION_DATA_DIRS:
        path = Path(folder)
        if path.name == name and path.is_dir():
            return path
    raise EvaluationRefused(f"The data folder “{name}” is not available on this server.")


def job(version: EmotionModelVersion) -> dict[str, Any] | None:
    """The console's latest evaluation job of ``version``, as stored, or None."""
    value = (version.evaluation or {}).get(JOB_KEY)
    return dict(value) if isinstance(value, dict) else None


def is_active(state: dict[str, Any] | None, *, now: dt.datetime | None = None) -> bool:
    if not state or state.get("status") not in ACTIVE:
        return False
    moved = dt.datetime.fromisoformat(state["updated_at"])
    return (now or timezone.now()) - moved < STALE_AFTER


def _save_job(version: EmotionModelVersion, state: dict[str, Any]) -> None:
    state["updated_at"] = timezone.now().isoformat()
    version.evaluation = {**(version.evaluation or {}), JOB_KEY: state}
    version.save(update_fields=["evaluation", "updated_at"])


def _locked(version_id: Any) -> EmotionModelVersion:
    return EmotionModelVersion.objects.select_for_update().get(pk=version_id)


@transaction.atomic
def evaluation_start(
    *,
    version: EmotionModelVersion,
    actor: Actor | None,
    data: str,
    folds: int = 0,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """Queue an evaluation of ``version`` on the data folder named ``data``.

    Changes: ``evaluation["job"]`` (queued), one CREATE audit entry, one task on the long queue
    once the transaction commits. Twice while one is queued or running: EvaluationRefused (one
    evaluation per version at a time).
    """
    from analysis.registry.tasks import evaluate_model_version

    _data_dir(data)
    if folds not in FOLD_CHOICES:
        raise EvaluationRefused("Choose no folds, 2 or 5 speaker folds.")
    version = _locked(version.pk)
    current = job(version)
    if is_active(current):
        raise EvaluationRefused(
            "An evaluation of this model is already under way; wait for it to finish."
        )
    state = {
        "id": str(uuid.uuid4()),
        "status": "queued",
        "stage": "Waiting for a worker",
        "progress": 0,
        "done": 0,
        "total": 0,
        "data": data,
        "folds": folds,
        "requested_by": str(person.pk) if (person := signed_in(actor)) else None,
        "requested_at": timezone.now().isoformat(),
        "finished_at": None,
        "error": "",
    }
    _save_job(version, state)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="model_evaluation",
        object_id=version.pk,
        clinic_id=version.clinic_id,
        request=request,
        detail={"job": state["id"], "data": data, "folds": folds},
    )
    job_id, version_id = state["id"], str(version.pk)
    transaction.on_commit(
        lambda: evaluate_model_version.apply_async(
            args=[version_id, job_id], queue=settings.SER_QUEUE_LONG
        )
    )
    return state


def _update(version_id: Any, job_id: str, **changes: Any) -> dict[str, Any] | None:
    """Change the job if it is still ``job_id`` (a newer start replaces an older job)."""
    with transaction.atomic():
        version = _locked(version_id)
        state = job(version)
        if state is None or state.get("id") != job_id:
            return None
        state.update(changes)
        _save_job(version, state)
        return state


def _claim(version_id: Any, job_id: str) -> bool:
    """queued -> running, once: a second delivery of the same task finds it claimed."""
    with transaction.atomic():
        version = _locked(version_id)
        state = job(version)
        if state is None or state.get("id") != job_id or state.get("status") != "queued":
            return False
        state.update(status="running", stage="Loading the model")
        _save_job(version, state)
        return True


def evaluation_run(version_id: Any, job_id: str) -> str:
    """Run the queued job ``job_id`` of a version: score the model on the job's data folder,
    store the figures on the version (``model_store_evaluation``) and mark the job done, or
    failed with a reason. Twice: the second finds the job claimed and does nothing."""
    from analysis.engine.classifiers import ModelFormatError
    from analysis.engine.training.datasets import scan_ravdess
    from analysis.registry.active import load_for_inference, model_dir
    from analysis.registry.services import model_store_evaluation

    if not _claim(version_id, job_id):
        return "skipped"
    version = EmotionModelVersion.objects.get(pk=version_id)
    state = job(version) or {}
    try:
        data = _data_dir(str(state.get("data", "")))
        classifier = load_for_inference(model_dir(version))
        clips = scan_ravdess(data)
        _update(version_id, job_id, stage="Scoring clips", total=len(clips))
        last = [0.0]

        def progress(done: int, total: int) -> None:
            # A few writes a second at most, whatever the batch size.
            now = timezone.now().timestamp()
            if done < total and now - last[0] < 0.5:
                return
            last[0] = now
            _update(version_id, job_id, done=done, progress=int(100 * done / max(total, 1)))

        result = score(classifier, clips, folds=int(state.get("folds") or 0), progress=progress)
    except (EvaluationRefused, ModelFormatError, FileNotFoundError, OSError, ValueError) as exc:
        _update(
            version_id,
            job_id,
            status="failed",
            stage="Failed",
            error=str(exc)[:500],
            finished_at=timezone.now().isoformat(),
        )
        return "failed"
    result["data"] = data.name
    result["command"] = "console evaluation"
    with transaction.atomic():
        version = _locked(version_id)
        state = job(version) or {}
        if state.get("id") != job_id:
            return "superseded"
        state.update(
            status="done",
            stage="Finished",
            progress=100,
            done=result["n_clips"],
            finished_at=timezone.now().isoformat(),
        )
        state["updated_at"] = timezone.now().isoformat()
        requested_by = state.get("requested_by")
        model_store_evaluation(
            version=version,
            evaluation={**result, JOB_KEY: state},
            actor=_user(requested_by),
        )
    return "done"


def evaluation_fail(version_id: Any, job_id: str, reason: str) -> None:
    """Mark the job failed (the task ran out of time or crashed); the figures stay."""
    _update(
        version_id,
        job_id,
        status="failed",
        stage="Failed",
        error=reason[:500],
        finished_at=timezone.now().isoformat(),
    )


def _user(user_id: str | None) -> User | None:
    """The person who asked for the evaluation (their id as the job state stores it), if they
    still exist."""
    return User.objects.filter(pk=user_id).first() if user_id else None
