"""Writes of practice exercises: the library, assignments, attempts and their analysis,
therapist reviews, and the deletions consent revocation and retention call.

Views, the API, tasks and commands call these; none of them touches the models directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from analysis.engine import prosody
from analysis.engine.audio import decode as audio
from analysis.engine.audio import remux
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice.assess import (
    ATTEMPT_TORCH_THREADS,
    assess,
    torch_threads,
)
from analysis.registry.active import NoActiveModel, active_version, load_version
from analysis.services import RecordingRejected, local_file_path, local_upload_path
from sessions import audit
from sessions.exercises import library_audio
from sessions.exercises.baselines import voice_baseline
from sessions.exercises.library import LIBRARY
from sessions.exercises.models import (
    EVERY_DAY,
    LIBRARY_AUDIO_PREFIX,
    Assignment,
    Attempt,
    AttemptStatus,
    Exercise,
    attempt_upload_to,
)
from sessions.families.consent import has_consent, require_consent
from sessions.models import Child, Clinic
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in

logger = logging.getLogger(__name__)
_Scheduled = TypeVar("_Scheduled", bound=models.Model)  # a speaking or listening assignment

# Practice clips are short: anything longer is refused from the header, before decoding.
ATTEMPT_MAX_BYTES = 20 * 1024 * 1024
# A worker killed mid-analysis leaves its attempt "processing"; after this long it is retried.
STALE_PROCESSING_S = 120
# A queued attempt nobody picked up (the broker was unreachable at upload) is re-sent after this.
RESEND_QUEUED_AFTER_S = 15
MAX_TRIES = 3


def attempt_limits() -> audio.AudioLimits:
    return audio.AudioLimits(
        max_bytes=ATTEMPT_MAX_BYTES,
        max_duration_s=float(getattr(settings, "SER_SHORT_CLIP_MAX_S", 60)),
        min_duration_s=0.5,
        decode_timeout_s=30.0,
    )


_TRY_AGAIN = "We couldn't play that recording. Please record it again."
FRIENDLY_AUDIO_ERRORS: dict[str, str] = {
    "empty": "The recording was empty. Press the big button, say the sentence, then press stop.",
    "too_short": "That was very short! Press the button, say the whole sentence, then press stop.",
    "too_long": "That recording is too long: practice clips can be up to a minute. Record just "
    "the sentence and try again.",
    "too_large": "That recording is too long: practice clips can be up to a minute. Record just "
    "the sentence and try again.",
    "not_audio": "That file isn't a sound recording. Please record your voice and try again.",
    "no_audio_track": "That recording has no sound in it. Please record it again.",
    "corrupt": _TRY_AGAIN,
    "truncated": "Only part of the recording arrived. Please record it again.",
    "timeout": _TRY_AGAIN,
}
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


def friendly_audio_error(exc: audio.AudioError) -> RecordingRejected:
    return RecordingRejected(FRIENDLY_AUDIO_ERRORS.get(exc.code, _TRY_AGAIN), exc.code)


_SUFFIX_FOR_TYPE = {
    "audio/webm": ".webm",
    "video/webm": ".webm",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/flac": ".flac",
}


def _clean_content_type(uploaded: Any) -> str:
    return (getattr(uploaded, "content_type", "") or "").split(";")[0].strip().lower()[:100]


def _storage_name(uploaded: Any, stem: str) -> str:
    suffix = Path(getattr(uploaded, "name", "") or "").suffix.lower()[:10]
    if not suffix or not suffix[1:].isalnum():
        suffix = _SUFFIX_FOR_TYPE.get(_clean_content_type(uploaded), ".bin")
    return f"{stem}{suffix}"


def _check_clip(path: Path, size: int) -> audio.ProbeResult:
    """Header probe (refuses anything over the limit before decoding) and a trial decode."""
    limits = attempt_limits()
    if size > limits.max_bytes:
        raise RecordingRejected(FRIENDLY_AUDIO_ERRORS["too_long"], "too_large")
    try:
        probe = audio.probe(path, limits)
        audio.trial_decode(path, seconds=1.0)
    except audio.AudioError as exc:
        raise friendly_audio_error(exc) from exc
    return probe


# --- the exercise library -----------------------------------------------------------------------


def _library_audio_name(key: str, sha256: str) -> str:
    # One stored copy per recording for every clinic; the checksum in the name means a rebuilt
    # recording is a new file, never a changed one under a name pages have cached.
    return f"{LIBRARY_AUDIO_PREFIX}{key}-generated-{sha256[:12]}.ogg"


def _attach_library_audio(exercise: Exercise) -> bool:
    """Give a library exercise its shipped model recording (generated speech), if it has no
    model recording and still says the library phrase (the recording says exactly that)."""
    entry = library_audio.manifest().get(exercise.library_key)
    source = library_audio.path_for(exercise.library_key)
    if entry is None or source is None or exercise.model_audio:
        return False
    if exercise.phrase != entry["phrase"]:
        return False
    storage = Exercise._meta.get_field("model_audio").storage
    name = _library_audio_name(exercise.library_key, str(entry["sha256"]))
    if not storage.exists(name):
        with source.open("rb") as handle:
            stored = storage.save(name, File(handle))
        if stored != name:  # another process saved it first: keep one copy
            storage.delete(stored)
    exercise.model_audio.name = name
    exercise.model_audio_content_type = library_audio.CONTENT_TYPE
    exercise.model_audio_duration_s = float(entry["duration_s"])
    exercise.model_prosody = dict(entry["prosody"])
    return True


def library_install(*, clinic: Clinic) -> int:
    """Add the ready-made exercises the clinic does not have yet; returns how many were added.

    Each comes with its model recording, generated speech labelled as such
    (``library_audio``); library exercises already there that still say the library phrase
    and have no model recording get it too. Running it again adds nothing and never
    overwrites a therapist's edits or recordings.
    """
    existing = set(
        Exercise.objects.filter(clinic=clinic)
        .exclude(library_key="")
        .values_list("library_key", flat=True)
    )
    missing = [item for item in LIBRARY if item["key"] not in existing]
    for item in missing:
        Exercise.objects.get_or_create(
            clinic=clinic,
            library_key=item["key"],
            defaults={
                "title": item["title"],
                "goal": item["goal"],
                "phrase": item["phrase"],
                "target_emotion": item["target_emotion"],
                "difficulty": item["difficulty"],
                "instructions": item["instructions"],
            },
        )
    silent = Exercise.objects.filter(clinic=clinic, model_audio="").exclude(library_key="")
    for exercise in silent:
        if _attach_library_audio(exercise):
            exercise.save(
                update_fields=[
                    "model_audio",
                    "model_audio_content_type",
                    "model_audio_duration_s",
                    "model_prosody",
                    "updated_at",
                ]
            )
    return len(missing)


# --- exercises ----------------------------------------------------------------------------------

EXERCISE_FIELDS = ("title", "phrase", "target_emotion", "goal", "instructions", "difficulty")


def _set_model_audio(exercise: Exercise, uploaded: UploadedFile | File[Any]) -> None:
    """Check, measure and attach a model recording (the therapist saying the phrase)."""
    with local_upload_path(uploaded) as path:
        probe = _check_clip(path, path.stat().st_size)
        try:
            samples = audio.decode(path, attempt_limits())
        except audio.AudioError as exc:
            raise friendly_audio_error(exc) from exc
        measured = prosody.measure(samples)
        if not measured.has_speech:
            raise RecordingRejected(
                "No voice could be heard in that recording. Please record the phrase again.",
                "no_speech",
            )
        if exercise.model_audio and not exercise.model_voice_generated:
            exercise.model_audio.delete(save=False)  # the shared generated copy stays
        with _with_seek_index(path) as stored, stored.open("rb") as handle:
            exercise.model_audio.save(_storage_name(uploaded, "model"), File(handle), save=False)
    exercise.model_audio_content_type = _clean_content_type(uploaded) or "application/octet-stream"
    exercise.model_audio_duration_s = probe.duration_s or samples.size / audio.TARGET_SR
    exercise.model_prosody = measured.to_dict()


@contextmanager
def _with_seek_index(path: Path) -> Iterator[Path]:
    """``path``, or a copy of it with a duration and seek index when it is a browser WebM
    without them (``analysis.engine.audio.remux``: the same packets, so the same sound)."""
    if not remux.needs_index(path):
        yield path
        return
    with tempfile.TemporaryDirectory() as folder:
        fixed = Path(folder) / "indexed.webm"
        yield fixed if remux.remux_with_index(path, fixed) else path


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
            with _with_seek_index(path) as fixed:
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


@transaction.atomic
def exercise_create(
    *,
    clinic: Clinic,
    created_by: Actor | None,
    title: str,
    phrase: str,
    target_emotion: str,
    goal: str = "",
    instructions: str = "",
    difficulty: int = 1,
    model_audio: UploadedFile | File[Any] | None = None,
    request: HttpRequest | None = None,
) -> Exercise:
    """Create a clinic exercise (and measure its model recording). Twice: two exercises.

    Raises RecordingRejected for a model recording that cannot be used; nothing is stored then.
    """
    if target_emotion not in CANONICAL_LABELS:
        raise ValueError(f"Unknown emotion {target_emotion!r}.")
    exercise = Exercise(
        clinic=clinic, created_by=signed_in(created_by), title=title, phrase=phrase,
        target_emotion=target_emotion, goal=goal, instructions=instructions,
        difficulty=difficulty,
    )  # fmt: skip
    if model_audio is not None:
        _set_model_audio(exercise, model_audio)
    exercise.save()
    audit.record(
        actor=created_by,
        action=AuditAction.CREATE,
        obj=exercise,
        clinic_id=clinic.pk,
        request=request,
    )
    return exercise


@transaction.atomic
def exercise_update(
    *,
    exercise: Exercise,
    actor: Actor | None,
    model_audio: UploadedFile | File[Any] | None = None,
    remove_model_audio: bool = False,
    archived: bool | None = None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Exercise:
    """Change an exercise's wording, target, model recording or archived state.

    Children already practising it see the new wording. Running twice changes nothing more.
    """
    changed = sorted(
        name for name, value in fields.items()
        if name in EXERCISE_FIELDS and getattr(exercise, name) != value
    )  # fmt: skip
    for name in changed:
        setattr(exercise, name, fields[name])
    if "phrase" in changed and exercise.model_voice_generated and model_audio is None:
        # The generated example says the old words: it goes with them.
        remove_model_audio = True
    if model_audio is not None:
        _set_model_audio(exercise, model_audio)
        changed.append("model_audio")
    elif remove_model_audio and exercise.model_audio:
        if exercise.model_voice_generated:
            exercise.model_audio.name = ""  # the shared generated copy stays for other clinics
        else:
            exercise.model_audio.delete(save=False)
        exercise.model_audio_content_type = ""
        exercise.model_audio_duration_s = None
        exercise.model_prosody = {}
        changed.append("model_audio")
    if archived is not None and archived != (exercise.archived_at is not None):
        exercise.archived_at = timezone.now() if archived else None
        changed.append("archived")
    if changed:
        exercise.save()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=exercise,
            clinic_id=exercise.clinic_id,
            request=request,
            detail={"fields": changed},
        )
    return exercise


# --- assignments --------------------------------------------------------------------------------


def weekdays_mask(days: Iterable[int]) -> int:
    mask = 0
    for day in days:
        if not 0 <= int(day) <= 6:
            raise ValueError("Weekdays are 0 (Monday) to 6 (Sunday).")
        mask |= 1 << int(day)
    return mask


@transaction.atomic
def assignment_create(
    *,
    child: Child,
    exercise: Exercise,
    assigned_by: Actor | None,
    weekdays: Iterable[int] = range(7),
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> Assignment:
    """Give ``exercise`` to ``child`` on a schedule.

    If the child already has it open, its schedule and note are updated instead (so assigning
    twice leaves one assignment).
    """
    if exercise.clinic_id != child.clinic_id:
        raise ValueError("The exercise belongs to another clinic.")
    return schedule_assignment(
        Assignment,
        child=child,
        target={"exercise": exercise},
        assigned_by=assigned_by,
        weekdays=weekdays,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note,
        request=request,
    )


def schedule_assignment(
    model: type[_Scheduled],
    *,
    child: Child,
    target: dict[str, Any],
    assigned_by: Actor | None,
    weekdays: Iterable[int],
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    note: str,
    request: HttpRequest | None,
) -> _Scheduled:
    """Give ``child`` the one ``target`` (``{"exercise": ...}`` or ``{"listening_set": ...}``)
    on a weekday schedule, as a row of ``model`` (speaking or listening assignments). An open
    assignment of the same target has its schedule and note updated instead, so assigning twice
    leaves one. Call inside a transaction (the open row is locked). Audited as a create or an
    update with the target's id."""
    mask = weekdays_mask(weekdays) or EVERY_DAY
    starts_on = starts_on or timezone.localdate()
    if ends_on is not None and ends_on < starts_on:
        raise ValueError("The end date is before the start date.")
    assignment: Any = (
        model._default_manager.select_for_update()
        .filter(child=child, ended_at__isnull=True, **target)
        .first()
    )
    action = AuditAction.UPDATE
    if assignment is None:
        assignment = model(child=child, **target)
        action = AuditAction.CREATE
    assignment.assigned_by = signed_in(assigned_by)
    assignment.weekdays, assignment.starts_on, assignment.ends_on = mask, starts_on, ends_on
    assignment.note = note
    assignment.save()
    audit.record(
        actor=assigned_by,
        action=action,
        obj=assignment,
        child=child,
        request=request,
        detail={name: str(value.pk) for name, value in target.items()},
    )
    return cast(_Scheduled, assignment)


@transaction.atomic
def assignment_end(
    *, assignment: Assignment, actor: Actor | None, request: HttpRequest | None = None
) -> Assignment:
    """Stop an assignment (its attempts stay in the history). Twice: no further change."""
    if assignment.ended_at is None:
        assignment.ended_at = timezone.now()
        assignment.save(update_fields=["ended_at", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=assignment,
            child=assignment.child,
            request=request,
            detail={"ended": True},
        )
    return assignment


# --- attempts: upload ---------------------------------------------------------------------------


def attempt_create(
    *,
    assignment: Assignment,
    uploaded_file: UploadedFile | File[Any],
    uploaded_by: Actor | None,
    client_token: UUID | str | None = None,
    capture: Any = None,
    request: HttpRequest | None = None,
) -> tuple[Attempt, bool]:
    """Store a practice recording and queue its analysis on the short queue.

    Returns (attempt, created). Raises ConsentMissing without recording and analysis consent and
    RecordingRejected for clips that are empty, too long (refused from the header, before decoding),
    or not decodable; nothing is stored then. Sending the same ``client_token`` again (a retry
    after a dropped connection) returns the first attempt instead of storing a second.
    ``capture`` is what the browser reported about the recording (see ``capture_settings``).
    """
    child = assignment.child
    if not assignment.is_active_on(timezone.localdate()):
        raise RecordingRejected(
            "This exercise isn't on your list any more. Pick one from today's list.", "inactive"
        )
    require_consent(child, "recording")
    require_consent(child, "analysis")
    token = _parse_token(client_token)
    if token is not None:
        existing = Attempt.objects.filter(child=child, client_token=token).first()
        if existing is not None:
            return existing, False
    size = int(getattr(uploaded_file, "size", 0) or 0)
    if size > ATTEMPT_MAX_BYTES:
        raise RecordingRejected(FRIENDLY_AUDIO_ERRORS["too_long"], "too_large")
    with local_upload_path(uploaded_file) as path:
        probe = _check_clip(path, path.stat().st_size)
        checksum = audio.sha256_file(path)
        try:
            with transaction.atomic():
                attempt = Attempt(
                    assignment=assignment,
                    child=child,
                    content_type=_clean_content_type(uploaded_file) or "application/octet-stream",
                    size_bytes=probe.size_bytes,
                    sha256=checksum,
                    duration_s=probe.duration_s,
                    client_token=token,
                    capture=capture_settings(capture),
                    uploaded_by=signed_in(uploaded_by),
                )
                with path.open("rb") as handle:
                    attempt.audio.save(
                        _storage_name(uploaded_file, "attempt"), File(handle), save=False
                    )
                attempt.save()
                audit.record(
                    actor=uploaded_by,
                    action=AuditAction.CREATE,
                    obj=attempt,
                    child=child,
                    request=request,
                    detail={"assignment": str(assignment.pk), "size_bytes": probe.size_bytes},
                )
                transaction.on_commit(partial(_send, attempt.pk))
        except IntegrityError:
            # The same recording sent twice at once: the other request stored it.
            existing = Attempt.objects.filter(child=child, client_token=token).first()
            if existing is None:
                raise
            return existing, False
    return attempt, True


# What a page may report about a recording, and the type each value must have. Anything else
# (device ids, labels, group ids: they identify the machine) is dropped.
CAPTURE_KEYS: dict[str, type | tuple[type, ...]] = {
    "echoCancellation": (bool, str),  # some browsers report "all" / "remote-only"
    "noiseSuppression": bool,
    "autoGainControl": bool,
    "channelCount": int,
    "sampleRate": int,
    "sampleSize": int,
    "mimeType": str,
    "audioBitsPerSecond": int,
}


def capture_settings(value: Any) -> dict[str, Any]:
    """The known, well-typed keys of what the browser reported (a dict or its JSON text);
    {} for anything else."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    cleaned: dict[str, Any] = {}
    for key, kind in CAPTURE_KEYS.items():
        item = value.get(key)
        if isinstance(item, bool) and kind is int:
            continue  # bool is an int in Python; a sample rate of True is nonsense
        if isinstance(item, kind):
            cleaned[key] = item[:100] if isinstance(item, str) else item
    return cleaned


def _parse_token(value: UUID | str | None) -> UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def _send(attempt_id: Any) -> None:
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
        _send(attempt.pk)
        return True
    return False


# --- attempts: analysis (called by the task) ----------------------------------------------------


def attempt_claim(attempt_id: Any) -> Attempt | None:
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


def attempt_process(attempt_id: Any) -> str:
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


def _learn_child_voice(*, child: Child, samples: np.ndarray, attempt_id: Any) -> None:
    """A finished attempt is the child speaking alone: it refines the child's voice print
    (``analysis.voices.services.child_print_add``, only with recording consent). Never fails
    the attempt: the feedback is stored already, and the print can learn from the next one."""
    try:
        from analysis.voices.services import child_print_add

        child_print_add(child=child, samples=samples, attempt_id=attempt_id)
    except Exception:
        logger.exception("voice print update after attempt %s failed", attempt_id)


def _voice_baseline_for(classifier: Any, *, child: Child, before: Any) -> Any:
    return voice_baseline(child=child, classifier=classifier, before=before)


def attempt_fail_unexpectedly(attempt_id: Any, *, timeout: bool = False) -> None:
    attempt = Attempt.objects.filter(pk=attempt_id).first()
    if attempt is not None:
        _finish(
            attempt,
            status=AttemptStatus.FAILED,
            code="timeout" if timeout else "error",
            message=TIMEOUT_FAILURE if timeout else GENERIC_FAILURE,
        )


# --- review -------------------------------------------------------------------------------------


@transaction.atomic
def attempt_review(
    *,
    attempt: Attempt,
    reviewer: Actor | None,
    stars: int | None,
    conveyed: bool | None,
    encouragement: str = "",
    request: HttpRequest | None = None,
) -> Attempt:
    """Record the therapist's verdict (None keeps the model's) and a note for the family.

    The model's own verdict stays stored next to it. Twice: the second review replaces the first.
    """
    if stars is not None and not 1 <= stars <= 3:
        raise ValueError("Stars are 1 to 3.")
    attempt.reviewed_stars = stars
    attempt.reviewed_conveyed = conveyed
    attempt.encouragement = encouragement.strip()[:500]
    attempt.reviewed_by = signed_in(reviewer)
    attempt.reviewed_at = timezone.now()
    attempt.save(
        update_fields=[
            "reviewed_stars",
            "reviewed_conveyed",
            "encouragement",
            "reviewed_by",
            "reviewed_at",
            "updated_at",
        ]
    )
    audit.record(
        actor=reviewer,
        action=AuditAction.UPDATE,
        obj=attempt,
        child=attempt.child,
        request=request,
        detail={"review": True, "override": stars is not None or conveyed is not None},
    )
    return attempt


# --- deletion: consent revocation and retention -------------------------------------------------


def _delete_files_on_commit(names: list[str]) -> None:
    storage = Attempt._meta.get_field("audio").storage

    def delete() -> None:
        for name in names:
            with suppress(FileNotFoundError):
                storage.delete(name)

    transaction.on_commit(delete)


@transaction.atomic
def delete_child_attempts(*, child: Child) -> int:
    """Delete every practice attempt of ``child``: rows (results, reviews) and audio files.

    Used when a guardian revokes consent. Files are removed once the transaction commits, so a
    rolled-back revocation keeps them. Returns the number of attempts deleted; twice: 0.
    Assignments (the practice plan) stay. The caller records the audit entry.
    """
    attempts = Attempt.objects.filter(child=child)
    names = [name for name in attempts.exclude(audio="").values_list("audio", flat=True) if name]
    _, per_model = attempts.delete()
    _delete_files_on_commit(names)
    return int(per_model.get(Attempt._meta.label, 0))


@transaction.atomic
def delete_attempt_audio_older_than(*, clinic: Clinic, cutoff: dt.datetime) -> int:
    """Retention: delete the audio of the clinic's attempts recorded before ``cutoff``, keeping
    their results (stars, emotions, prosody) and reviews. Returns how many attempts lost their
    audio; twice: 0."""
    old = (
        Attempt.objects.select_for_update()
        .filter(child__clinic=clinic, created_at__lt=cutoff, audio_deleted_at__isnull=True)
        .exclude(audio="")
    )
    names = [name for name in old.values_list("audio", flat=True) if name]
    count = old.update(audio="", audio_deleted_at=timezone.now(), updated_at=timezone.now())
    _delete_files_on_commit(names)
    return count


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
