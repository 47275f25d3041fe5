"""Processing of practice attempts, worker side: queueing and re-sending, the claim, the analysis
(decode, then ``analysis.engine.practice.assess`` with the clinic's model and the child's voice
baseline) and the stored feedback, the unexpected failures, the seek index of browser
recordings, and the short-queue worker's warm-up. Storing a new attempt (the request side) is
``services.attempt_create``; the task is ``tasks.analyse_attempt``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from functools import partial
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import F, Q
from django.utils import timezone

from analysis.engine import prosody
from analysis.engine.audio import decode as audio
from analysis.engine.audio import remux
from analysis.engine.practice.assess import ATTEMPT_TORCH_THREADS, assess, torch_threads
from analysis.registry.active import NoActiveModel, active_version, load_version
from analysis.services import local_file_path
from sessions.exercises.baselines import voice_baseline
from sessions.exercises.clips import attempt_limits, friendly_audio_error, with_seek_index
from sessions.exercises.models import Attempt, AttemptStatus, attempt_upload_to
from sessions.families.consent import has_consent
from sessions.models import Child

logger = logging.getLogger(__name__)

# A worker killed mid-analysis leaves its attempt "processing"; after this long it is retried.
STALE_PROCESSING_S = 120
# A queued attempt nobody picked up (the broker was unreachable at upload) is re-sent after this.
RESEND_QUEUED_AFTER_S = 15
MAX_TRIES = 3

NO_MODEL_MESSAGE = (
    "Stars aren't available right now, but your recording is saved and your therapist can "
    "listen to it."
)
CONSENT_MESSAGE = (
    "Practice feedback needs your consent to recording and automatic analysis. Your therapist "
    "can help you with that."
)
GENERIC_FAILURE = (
    "Something went wrong while listening to your recording. It is saved; please try again "
    "in a moment."
)
TIMEOUT_FAILURE = "Listening took too long this time. Your recording is saved; please try again."


# --- queueing and re-sending -------------------------------------------------------------------


def queue_attempt(attempt_id: UUID | str) -> None:
    """Queue the analysis. If the broker is unreachable the attempt stays queued and
    ``attempt_nudge`` (called while the family waits) sends it again: nothing is lost."""
    from sessions.exercises.tasks import analyse_attempt

    try:
        analyse_attempt.apply_async(args=[str(attempt_id)], queue=settings.SER_QUEUE_SHORT)
    except Exception:  # kombu/amqp raise several unrelated types when the broker is down
        logger.exception("could not queue attempt %s; it will be re-sent", attempt_id)


def attempt_nudge(*, attempt: Attempt) -> bool:
    """Re-send an attempt that waits too long (lost message, crashed worker). Safe to call on
    every status poll: a conditional UPDATE lets one caller re-send at most every few seconds,
    and the task's claim makes duplicate deliveries harmless."""
    now = timezone.now()
    stale = Q(
        status=AttemptStatus.QUEUED,
        updated_at__lt=now - dt.timedelta(seconds=RESEND_QUEUED_AFTER_S),
    ) | Q(
        status=AttemptStatus.PROCESSING,
        started_at__lt=now - dt.timedelta(seconds=STALE_PROCESSING_S),
        updated_at__lt=now - dt.timedelta(seconds=RESEND_QUEUED_AFTER_S),
    )
    if Attempt.objects.filter(stale, pk=attempt.pk).update(updated_at=now):
        queue_attempt(attempt.pk)
        return True
    return False


# --- analysis (called by the task) ---------------------------------------------------------------


def attempt_claim(attempt_id: UUID | str) -> Attempt | None:
    """Claim a queued (or abandoned) attempt with a conditional UPDATE; None if another worker
    has it, it is finished, or it was deleted. After MAX_TRIES claims it fails for good."""
    now = timezone.now()
    claimable = Q(status=AttemptStatus.QUEUED) | Q(
        status=AttemptStatus.PROCESSING,
        started_at__lt=now - dt.timedelta(seconds=STALE_PROCESSING_S),
    )
    updated = Attempt.objects.filter(claimable, pk=attempt_id).update(
        status=AttemptStatus.PROCESSING, started_at=now, updated_at=now, tries=F("tries") + 1
    )
    if not updated:
        return None
    attempt = (
        Attempt.objects.select_related("assignment__exercise", "child__clinic")
        .filter(pk=attempt_id)
        .first()
    )
    if attempt is None:
        return None
    if attempt.tries > MAX_TRIES:
        _finish(attempt, status=AttemptStatus.FAILED, code="tries", message=GENERIC_FAILURE)
        return None
    return attempt


def _finish(
    attempt: Attempt, *, status: str, code: str = "", message: str = "", **results: Any
) -> bool:
    """Store the outcome; False if the attempt was deleted meanwhile (nothing is resurrected)."""
    return bool(
        Attempt.objects.filter(pk=attempt.pk, status=AttemptStatus.PROCESSING).update(
            status=status,
            error_code=code[:40],
            message=message[:300],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            **results,
        )
    )


def attempt_process(attempt_id: UUID | str) -> str:
    """Analyse one attempt: decode, prosody, emotion, verdict; store the feedback.

    Returns done, unclear (audio or estimate too poor to score: no stars, the child is asked to
    try again), no_speech, failed or skipped. Changes the attempt's status and results.
    Twice: a finished attempt is left alone; one interrupted mid-way is claimed again and its
    results overwritten.
    """
    attempt = attempt_claim(attempt_id)
    if attempt is None:
        return "skipped"
    timings: dict[str, float] = {
        "queued_s": round((attempt.started_at - attempt.created_at).total_seconds(), 3)
        if attempt.started_at
        else 0.0
    }
    started = time.monotonic()
    child = attempt.child
    exercise = attempt.assignment.exercise
    if not has_consent(child, "analysis"):
        _finish(attempt, status=AttemptStatus.FAILED, code="consent", message=CONSENT_MESSAGE)
        return "failed"
    try:
        version = active_version(child.clinic)
    except NoActiveModel:
        _finish(attempt, status=AttemptStatus.FAILED, code="no_model", message=NO_MODEL_MESSAGE)
        return "failed"
    if not attempt.has_audio:
        _finish(attempt, status=AttemptStatus.FAILED, code="no_audio", message=GENERIC_FAILURE)
        return "failed"
    try:
        with local_file_path(attempt.audio) as path:
            samples = audio.decode(path, attempt_limits())
    except audio.AudioError as exc:
        _finish(
            attempt,
            status=AttemptStatus.FAILED,
            code=exc.code,
            message=friendly_audio_error(exc).detail,
        )
        return "failed"
    except FileNotFoundError:  # deleted (consent revoked) while queued
        _finish(attempt, status=AttemptStatus.FAILED, code="no_audio", message=GENERIC_FAILURE)
        return "failed"
    timings["decode_s"] = round(time.monotonic() - started, 3)
    duration_s = samples.size / audio.TARGET_SR
    attempt_audio_index(attempt)

    from sessions.exercises.selectors import child_baseline
    from sessions.validation.selectors import practice_thresholds

    result = assess(
        samples,
        target=exercise.target_emotion,
        load_classifier=partial(load_version, version),  # cached once per worker process
        voice_baseline=partial(_voice_baseline_for, child=child, before=attempt.created_at),
        example=prosody.Prosody.from_dict(exercise.model_prosody)
        if exercise.model_prosody
        else None,
        prosody_baseline=child_baseline(child=child, before=attempt.created_at),
        seed=str(attempt.pk),
        emotion_thresholds=practice_thresholds(version),
    )
    timings.update(result.timings)
    timings["total_s"] = round(time.monotonic() - started, 3)
    common: dict[str, Any] = {
        "duration_s": duration_s,
        "prosody": result.prosody.to_dict(),
        "model_version": version,
        "timings": timings,
    }
    if result.outcome == "no_speech":
        _finish(
            attempt, status=AttemptStatus.NO_SPEECH, code=result.code, message=result.message,
            **common,
        )  # fmt: skip
        return "no_speech"
    if result.outcome == "unclear":
        _finish(
            attempt, status=AttemptStatus.NO_SPEECH, code=result.code, message=result.message,
            probabilities=result.probabilities, top_emotion=result.top_emotion, **common,
        )  # fmt: skip
        return "unclear"
    verdict = result.verdict
    assert verdict is not None  # "done" always carries one
    stored = _finish(
        attempt, status=AttemptStatus.DONE, message=verdict.message,
        probabilities=result.probabilities, top_emotion=result.top_emotion,
        target_probability=verdict.target_probability, stars=verdict.stars,
        conveyed=verdict.conveyed, comparisons=[c.to_dict() for c in result.comparisons],
        tips=result.tips, **common,
    )  # fmt: skip
    if stored:
        _learn_child_voice(child=child, samples=samples, attempt_id=attempt.pk)
    return "done" if stored else "skipped"


def _learn_child_voice(*, child: Child, samples: np.ndarray, attempt_id: UUID) -> None:
    """A finished attempt is the child speaking alone: it refines the child's voice print
    (``analysis.voices.services.child_print_add``, only with recording consent). Never fails
    the attempt: the feedback is stored already, and the print can learn from the next one."""
    try:
        from analysis.voices.services import child_print_add

        child_print_add(child=child, samples=samples, attempt_id=attempt_id)
    except Exception:
        logger.exception("voice print update after attempt %s failed", attempt_id)


def _voice_baseline_for(classifier: Any, *, child: Child, before: dt.datetime) -> Any:
    return voice_baseline(child=child, classifier=classifier, before=before)


def attempt_fail_unexpectedly(attempt_id: UUID | str, *, timeout: bool = False) -> None:
    attempt = Attempt.objects.filter(pk=attempt_id).first()
    if attempt is not None:
        _finish(
            attempt,
            status=AttemptStatus.FAILED,
            code="timeout" if timeout else "error",
            message=TIMEOUT_FAILURE if timeout else GENERIC_FAILURE,
        )


# --- the seek index of browser recordings ---------------------------------------------------------


def attempt_audio_index(attempt: Attempt) -> bool:
    """Give an attempt recorded in the browser a duration and seek index, so the review page's
    player shows its length and can jump. The new file is stored and the row updated before
    the old file is deleted, so a crash never leaves the attempt without its audio. Never fails
    the analysis (the file plays as it is, without seeking). True when the file was replaced.
    Twice: the second finds the index and does nothing."""
    try:
        with local_file_path(attempt.audio) as path:
            if not remux.needs_index(path):
                return False
            with with_seek_index(path) as fixed:
                if fixed == path:
                    return False
                old_name = str(attempt.audio.name)
                data = fixed.read_bytes()
        storage = attempt.audio.storage
        new_name = storage.save(attempt_upload_to(attempt, "indexed.webm"), ContentFile(data))
        checksum = hashlib.sha256(data).hexdigest()
        # Only if the audio is still the one indexed: an erasure (consent withdrawn) meanwhile
        # must not get the recording back.
        swapped = Attempt.objects.filter(
            pk=attempt.pk, audio=old_name, audio_deleted_at__isnull=True
        ).update(audio=new_name, size_bytes=len(data), sha256=checksum)
        if not swapped:
            storage.delete(new_name)
            return False
        attempt.audio.name, attempt.size_bytes, attempt.sha256 = new_name, len(data), checksum
        storage.delete(old_name)
        return True
    except Exception:
        logger.exception("could not index the audio of attempt %s", attempt.pk)
        return False


# --- worker warm-up -----------------------------------------------------------------------------

WARM_UP_MAX_MODELS = 3


def warm_up() -> int:
    """Import the prosody code and load (and run once) the most recently activated models, so a
    fresh short-queue worker answers its first attempt as fast as later ones. Returns how many
    models were loaded; failures are logged and never stop the worker."""
    from analysis.models import EmotionModelVersion, ModelStatus

    second = 0.1 * np.sin(2 * np.pi * 220.0 * np.arange(audio.TARGET_SR) / audio.TARGET_SR)
    prosody.measure(second.astype(np.float32))
    versions = EmotionModelVersion.objects.filter(status=ModelStatus.ACTIVE).order_by(
        F("activated_at").desc(nulls_last=True), "-created_at"
    )[:WARM_UP_MAX_MODELS]
    loaded = 0
    for version in versions:
        try:
            with torch_threads(ATTEMPT_TORCH_THREADS):
                load_version(version).predict_proba([second.astype(np.float32)])
            loaded += 1
        except Exception:  # a broken model must not stop the worker; attempts report it
            logger.exception("could not warm up model version %s", version.pk)
    return loaded
