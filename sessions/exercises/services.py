"""Writes of practice exercises, request side: the library, exercises and their model
recordings, assignments, storing a practice attempt, therapist reviews, and the deletions consent
revocation and retention call. Processing an attempt (the worker side) is ``attempts``; the rules
for a practice clip's audio are ``clips``.

Views, the API, tasks and commands call these; none of them touches the models directly.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from contextlib import suppress
from functools import partial
from typing import Any, TypeVar, cast
from uuid import UUID

from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from analysis.engine import prosody
from analysis.engine.audio import decode as audio
from analysis.engine.labels import CANONICAL_LABELS
from analysis.services import RecordingRejected, local_upload_path
from sessions import audit
from sessions.exercises import library_audio
from sessions.exercises.attempts import queue_attempt
from sessions.exercises.clips import (
    ATTEMPT_MAX_BYTES,
    FRIENDLY_AUDIO_ERRORS,
    attempt_limits,
    check_clip,
    clean_content_type,
    friendly_audio_error,
    storage_name,
    with_seek_index,
)
from sessions.exercises.library import LIBRARY
from sessions.exercises.models import (
    EVERY_DAY,
    LIBRARY_AUDIO_PREFIX,
    Assignment,
    Attempt,
    Exercise,
)
from sessions.families.consent import require_consent
from sessions.models import Child, Clinic
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in

logger = logging.getLogger(__name__)
_Scheduled = TypeVar("_Scheduled", bound=models.Model)  # a speaking or listening assignment


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
        probe = check_clip(path, path.stat().st_size)
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
        with with_seek_index(path) as stored, stored.open("rb") as handle:
            exercise.model_audio.save(storage_name(uploaded, "model"), File(handle), save=False)
    exercise.model_audio_content_type = clean_content_type(uploaded) or "application/octet-stream"
    exercise.model_audio_duration_s = probe.duration_s or samples.size / audio.TARGET_SR
    exercise.model_prosody = measured.to_dict()


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
        probe = check_clip(path, path.stat().st_size)
        checksum = audio.sha256_file(path)
        try:
            with transaction.atomic():
                attempt = Attempt(
                    assignment=assignment,
                    child=child,
                    content_type=clean_content_type(uploaded_file) or "application/octet-stream",
                    size_bytes=probe.size_bytes,
                    sha256=checksum,
                    duration_s=probe.duration_s,
                    client_token=token,
                    capture=capture_settings(capture),
                    uploaded_by=signed_in(uploaded_by),
                )
                with path.open("rb") as handle:
                    attempt.audio.save(
                        storage_name(uploaded_file, "attempt"), File(handle), save=False
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
                transaction.on_commit(partial(queue_attempt, attempt.pk))
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
