"""Writes of listening practice: the starter clips, a therapist's clips and sets, assignments,
answers, and the deletion consent withdrawal calls.

Views, the API and commands call these; none of them touches the models directly.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import numpy as np
import soundfile as sf
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from analysis.engine.audio import conditions
from analysis.engine.audio import decode as audio
from analysis.engine.labels import CANONICAL_LABELS
from analysis.engine.practice.listening import MAX_CHOICES, MIN_CHOICES, choices_for
from analysis.services import RecordingRejected, local_file_path, local_upload_path
from sessions import audit
from sessions.exercises.clips import check_clip, clean_content_type, storage_name, with_seek_index
from sessions.exercises.services import schedule_assignment
from sessions.families.consent import require_consent
from sessions.listening import starter
from sessions.listening.models import (
    Clip,
    ClipSource,
    Intensity,
    ListeningAnswer,
    ListeningAssignment,
    ListeningSet,
)
from sessions.models import Child, Clinic
from sessions.models.audit import AuditAction
from sessions.types import Actor, signed_in

STARTER_AUDIO_PREFIX = "listening/starter/"
CONSENT_MESSAGE = (
    "Listening practice needs a grown-up's consent to recording and automatic analysis, as "
    "speaking practice does. Your therapist can help you with that."
)
# A response time above this is a child who walked away, not a slow answer: kept as unknown.
MAX_RESPONSE_MS = 10 * 60 * 1000
# How long an answer may wait in a browser's queue and still count on the day it was given.
OFFLINE_GRACE = dt.timedelta(days=7)


class AnswerRejected(ValueError):
    """An answer that cannot be stored; ``detail`` is the sentence to show."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail)
        self.detail, self.code = detail, code


# --- the starter set ----------------------------------------------------------------------------


def _starter_clip(clinic: Clinic, key: str) -> Clip | None:
    entry = starter.manifest().get(key)
    source = starter.path_for(key)
    if entry is None or source is None:
        return None
    clip = Clip.objects.filter(clinic=clinic, starter_key=key).first()
    if clip is not None:
        return clip
    storage = Clip._meta.get_field("audio").storage
    name = f"{STARTER_AUDIO_PREFIX}{key}-generated-{str(entry['sha256'])[:12]}.ogg"
    if not storage.exists(name):
        with source.open("rb") as handle:
            stored = storage.save(name, File(handle))
        if stored != name:  # another process saved it first: keep one copy
            storage.delete(stored)
    clip = Clip(
        clinic=clinic, starter_key=key, emotion=entry["emotion"], intensity=entry["intensity"],
        words=entry["words"], source=ClipSource.GENERATED, noise_snr_db=entry["noise_snr_db"],
        content_type=starter.CONTENT_TYPE, duration_s=float(entry["duration_s"]),
    )  # fmt: skip
    clip.audio.name = name
    clip.save()
    return clip


@transaction.atomic
def starter_install(*, clinic: Clinic) -> int:
    """Give the clinic the starter clips (generated voice, one stored copy for every clinic)
    and sets it does not have yet; returns how many sets were added. Twice: adds nothing and
    never changes a set a therapist edited."""
    added = 0
    for key, (title, choice_count, clip_keys) in starter.SETS.items():
        clips = [c for c in (_starter_clip(clinic, k) for k in clip_keys) if c is not None]
        if not clips:
            continue
        listening_set, created = ListeningSet.objects.get_or_create(
            clinic=clinic, starter_key=key,
            defaults={"title": title, "choice_count": choice_count},
        )  # fmt: skip
        if created:
            listening_set.clips.set(clips)
            added += 1
    return added


# --- clips and sets -----------------------------------------------------------------------------


@transaction.atomic
def clip_create(
    *,
    clinic: Clinic,
    uploaded_file: UploadedFile | File[Any],
    emotion: str,
    tagged_by: Actor | None,
    recorded: bool = False,
    intensity: str = Intensity.STRONG,
    words: str = "",
    request: HttpRequest | None = None,
) -> Clip:
    """Store a therapist's clip (recorded in the browser or uploaded) with the emotion they
    tagged it with. Raises RecordingRejected for empty, too long or undecodable audio; nothing
    is stored then."""
    if emotion not in CANONICAL_LABELS:
        raise RecordingRejected("Please choose which feeling the clip shows.", "no_emotion")
    with local_upload_path(uploaded_file) as path:
        probe = check_clip(path, path.stat().st_size)  # header limits and a trial decode
        clip = Clip(
            clinic=clinic, emotion=emotion, intensity=intensity, words=words[:200],
            source=ClipSource.RECORDED if recorded else ClipSource.UPLOADED,
            content_type=clean_content_type(uploaded_file) or "application/octet-stream",
            duration_s=probe.duration_s, tagged_by=signed_in(tagged_by),
        )  # fmt: skip
        with with_seek_index(path) as stored, stored.open("rb") as handle:
            clip.audio.save(storage_name(uploaded_file, "clip"), File(handle), save=False)
        clip.save()
    audit.record(
        actor=tagged_by, action=AuditAction.CREATE, obj=clip, clinic_id=clinic.pk,
        request=request, detail={"emotion": emotion, "source": clip.source},
    )  # fmt: skip
    return clip


@transaction.atomic
def clip_retag(
    *, clip: Clip, emotion: str, actor: Actor | None, request: HttpRequest | None = None
) -> Clip:
    """A person changes the clip's emotion. Answers given before keep the emotion they were
    scored against."""
    if emotion not in CANONICAL_LABELS:
        raise ValueError("Unknown emotion.")
    if clip.emotion != emotion:
        clip.emotion, clip.tagged_by = emotion, signed_in(actor)
        clip.save(update_fields=["emotion", "tagged_by", "updated_at"])
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=clip, clinic_id=clip.clinic_id,
            request=request, detail={"emotion": emotion},
        )  # fmt: skip
    return clip


NOISE_SEED = 16


def clip_noisy_variant(
    *, clip: Clip, snr_db: float, actor: Actor | None, request: HttpRequest | None = None
) -> Clip:
    """A copy of ``clip`` with seeded pink noise mixed in at ``snr_db`` (a harder clip). The
    emotion is the person's label of the original (the words and voice are the same); the copy
    is a 16 kHz WAV. Twice with the same level: the first copy is returned."""
    existing = Clip.objects.filter(variant_of=clip, noise_snr_db=float(snr_db)).first()
    if existing is not None:
        return existing
    with local_file_path(clip.audio) as path:
        try:
            clean = audio.decode(path)
        except audio.AudioError as exc:
            raise RecordingRejected("This clip could not be read.", exc.code) from exc
    rng = np.random.default_rng(NOISE_SEED)
    mixed = conditions.mix_at_snr(clean, conditions.coloured_noise(clean.size, rng, 1.0), snr_db)
    mixed = mixed / max(1.0, float(np.max(np.abs(mixed))))
    buffer = io.BytesIO()
    sf.write(buffer, mixed.astype(np.float32), audio.TARGET_SR, format="WAV", subtype="PCM_16")
    with transaction.atomic():
        variant = Clip(
            clinic_id=clip.clinic_id, emotion=clip.emotion, intensity=clip.intensity,
            words=clip.words, source=clip.source, noise_snr_db=float(snr_db),
            content_type="audio/wav", duration_s=round(clean.size / audio.TARGET_SR, 3),
            tagged_by=clip.tagged_by, variant_of=clip,
        )  # fmt: skip
        variant.audio.save("noisy.wav", ContentFile(buffer.getvalue()), save=False)
        variant.save()
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=variant, clinic_id=clip.clinic_id,
            request=request, detail={"noisy_copy_of": str(clip.pk), "snr_db": snr_db},
        )  # fmt: skip
    return variant


@transaction.atomic
def set_create(
    *,
    clinic: Clinic,
    title: str,
    choice_count: int,
    clips: Iterable[Clip],
    created_by: Actor | None,
    request: HttpRequest | None = None,
) -> ListeningSet:
    clips = list(clips)
    if not clips:
        raise ValueError("A listening set needs at least one clip.")
    if any(c.clinic_id != clinic.pk for c in clips):
        raise ValueError("A clip belongs to another clinic.")
    choice_count = max(MIN_CHOICES, min(MAX_CHOICES, int(choice_count)))
    listening_set = ListeningSet.objects.create(
        clinic=clinic, title=title, choice_count=choice_count, created_by=signed_in(created_by)
    )
    listening_set.clips.set(clips)
    audit.record(
        actor=created_by, action=AuditAction.CREATE, obj=listening_set, clinic_id=clinic.pk,
        request=request, detail={"clips": len(clips), "choices": choice_count},
    )  # fmt: skip
    return listening_set


# --- assignments --------------------------------------------------------------------------------


@transaction.atomic
def assignment_create(
    *,
    child: Child,
    listening_set: ListeningSet,
    assigned_by: Actor | None,
    weekdays: Iterable[int] = range(7),
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> ListeningAssignment:
    """Give a set to a child on a weekday schedule. Assigning an open set again updates its
    schedule instead of adding a second assignment."""
    if listening_set.clinic_id != child.clinic_id:
        raise ValueError("The listening set belongs to another clinic.")
    return schedule_assignment(
        ListeningAssignment,
        child=child,
        target={"listening_set": listening_set},
        assigned_by=assigned_by,
        weekdays=weekdays,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note,
        request=request,
    )


@transaction.atomic
def assignment_end(
    *, assignment: ListeningAssignment, actor: Actor | None, request: HttpRequest | None = None
) -> ListeningAssignment:
    """Stop an assignment (its answers stay in the history). Twice: no further change."""
    if assignment.ended_at is None:
        assignment.ended_at = timezone.now()
        assignment.save(update_fields=["ended_at", "updated_at"])
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=assignment, child=assignment.child,
            request=request, detail={"ended": True},
        )  # fmt: skip
    return assignment


# --- answers ------------------------------------------------------------------------------------


def item_choices(assignment: ListeningAssignment, clip: Clip) -> list[str]:
    """The emotions offered for ``clip`` in this assignment: the set's emotions, the set's
    number of choices, in an order fixed per assignment and clip (same after a reload)."""
    pool = sorted({c.emotion for c in assignment.listening_set.clips.all()})
    return choices_for(
        clip.emotion, pool, assignment.listening_set.choice_count, seed=f"{assignment.pk}:{clip.pk}"
    )


def _parse_uuid(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except (TypeError, ValueError) as exc:
        raise AnswerRejected("This answer has no valid id.", "bad_id") from exc


def answer_record(
    *,
    assignment: ListeningAssignment,
    clip_id: Any,
    chosen: str,
    client_id: Any,
    answered_by: Actor | None,
    response_ms: Any = None,
    answered_at: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[ListeningAnswer, bool]:
    """Store one answer; returns (answer, created). The same ``client_id`` sent again (a resend
    after a dropped connection, a queue replayed from the browser) returns the first answer.

    Scored against the clip's emotion as a person tagged it. Raises ConsentMissing without the
    practice consents, AnswerRejected for a clip outside the set or a choice not offered.
    """
    child = assignment.child
    token = _parse_uuid(client_id)
    existing = ListeningAnswer.objects.filter(child=child, client_id=token).first()
    if existing is not None:
        return existing, False
    require_consent(child, "recording")
    require_consent(child, "analysis")
    # Answers queued offline arrive late: the browser's time counts when it is plausible (the
    # last week, not in the future); a device with a wrong clock gets the arrival time instead
    # of losing the answer. Accepted for a week after the assignment ended.
    now = timezone.now()
    plausible = answered_at is not None and now - OFFLINE_GRACE <= answered_at <= now
    when = answered_at if plausible and answered_at is not None else now
    if not assignment.is_active_on(timezone.localdate(when)) and not (
        assignment.ended_at and now - assignment.ended_at < OFFLINE_GRACE
    ):
        raise AnswerRejected("This listening set isn't on your list any more.", "inactive")
    clip = assignment.listening_set.clips.filter(pk=_parse_uuid(clip_id)).first()
    if clip is None:
        raise AnswerRejected("That clip is not part of this listening set.", "unknown_clip")
    offered = item_choices(assignment, clip)
    if chosen not in offered:
        raise AnswerRejected("That feeling was not one of the choices.", "bad_choice")
    try:
        ms: int | None = int(response_ms) if response_ms not in (None, "") else None
    except (TypeError, ValueError):
        ms = None
    if ms is not None and not 0 <= ms <= MAX_RESPONSE_MS:
        ms = None
    by = signed_in(answered_by)
    try:
        with transaction.atomic():
            answer = ListeningAnswer.objects.create(
                assignment=assignment, child=child, clip=clip, target_emotion=clip.emotion,
                chosen_emotion=chosen, choices=offered, correct=chosen == clip.emotion,
                response_ms=ms, answered_at=when, client_id=token,
                answered_by=by,
            )  # fmt: skip
            audit.record(
                actor=answered_by, action=AuditAction.CREATE, obj=answer, child=child,
                request=request, detail={"assignment": str(assignment.pk)},
            )  # fmt: skip
    except IntegrityError:
        # The same answer sent twice at once: the other request stored it.
        existing = ListeningAnswer.objects.filter(child=child, client_id=token).first()
        if existing is None:
            raise
        return existing, False
    return answer, True


@transaction.atomic
def delete_child_answers(*, child: Child) -> int:
    """Delete every listening answer of ``child`` (consent withdrawn, as practice attempts
    are). Assignments stay. Twice: 0. The caller records the audit entry."""
    _, per_model = ListeningAnswer.objects.filter(child=child).delete()
    return int(per_model.get(ListeningAnswer._meta.label, 0))
