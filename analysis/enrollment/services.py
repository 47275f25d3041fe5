"""Therapist voice enrollment: store a voice print once, use it in every analysis of their
sessions so the therapist is recognised by voice rather than by pitch alone."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import numpy as np
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest

from analysis.engine.audio import decode as audio
from analysis.models import VoiceEnrollment
from analysis.services import (
    RecordingRejected,
    audio_limits,
    local_upload_path,
    validate_audio_file,
)
from sessions import audit
from sessions.models.audit import AuditAction
from sessions.types import Actor, User, signed_in

MIN_SPEECH_S = 5.0


def _person(user: Actor) -> User:
    """Only a signed-in therapist has a voice to enrol (the view lets no one else in)."""
    person = signed_in(user)
    if person is None:
        raise PermissionDenied("Sign in to enrol your voice.")
    return person


def voice_enroll(
    *, user: Actor, uploaded_file: UploadedFile | File[Any], request: HttpRequest | None = None
) -> VoiceEnrollment:
    """Compute and store ``user``'s voice print from a sample; the audio itself is not kept.

    Raises RecordingRejected with a readable reason. Enrolling again replaces the print.
    """
    from analysis.engine.speakers.diarization import enroll_embedding

    with local_upload_path(uploaded_file) as path:
        validate_audio_file(path)
        try:
            samples = audio.decode(path, audio_limits())
        except audio.AudioError as exc:
            raise RecordingRejected(exc.message, exc.code) from exc
    try:
        embedding = enroll_embedding(samples, min_speech_s=MIN_SPEECH_S)
    except ValueError as exc:
        raise RecordingRejected(
            f"We could not hear enough of your voice: please record at least "
            f"{MIN_SPEECH_S:g} seconds of you speaking, somewhere quiet.",
            "too_little_speech",
        ) from exc
    with transaction.atomic():
        enrollment, _ = VoiceEnrollment.objects.update_or_create(
            user=_person(user),
            defaults={
                "embedding": [round(float(v), 6) for v in embedding],
                "speech_s": round(len(samples) / audio.TARGET_SR, 1),
            },
        )
        audit.record(
            actor=user,
            action=AuditAction.UPDATE,
            object_type="voiceenrollment",
            object_id=user.pk,
            request=request,
        )
    return enrollment


@transaction.atomic
def voice_forget(*, user: Actor, request: HttpRequest | None = None) -> bool:
    """Delete ``user``'s voice print. Returns whether there was one."""
    deleted, _ = VoiceEnrollment.objects.filter(user=_person(user)).delete()
    if deleted:
        audit.record(
            actor=user,
            action=AuditAction.DELETE,
            object_type="voiceenrollment",
            object_id=user.pk,
            request=request,
        )
    return bool(deleted)


def therapist_embedding(user_id: UUID) -> np.ndarray | None:
    """The stored voice print of a therapist, for the analysis of their sessions."""
    values = (
        VoiceEnrollment.objects.filter(user_id=user_id).values_list("embedding", flat=True).first()
    )
    return None if values is None else np.asarray(values, dtype=np.float32)
