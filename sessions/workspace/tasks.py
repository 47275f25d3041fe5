"""Background work of the workspace. Tasks take ids only and call services
(``uploads``, ``waveforms``)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError

from sessions.models import Recording
from sessions.workspace import uploads, waveforms

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # A lost database connection, or object storage unreachable while fetching the parts.
    autoretry_for=(OperationalError, uploads.UploadStorageUnavailable),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def finalize_upload(upload_id: str) -> str:
    """Check and store a large, fully received upload as a recording (see
    ``uploads.upload_finalize``). Twice: the second run finds the upload complete and stops.
    A retry after a transient error finds the claim released and claims it again."""
    from sessions.workspace.models import ChunkedUpload, UploadStatus

    pending = ChunkedUpload.objects.filter(pk=upload_id).first()
    if pending is None:
        return "gone"
    if pending.status == UploadStatus.UPLOADING and pending.received_bytes == pending.size_bytes:
        uploads.upload_claim_finalize(upload=pending)
    upload = uploads.upload_finalize(upload_id=upload_id)
    return str(upload.status)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def compute_waveform(recording_id: str) -> str:
    """Store the waveform peaks of a recording. Twice: the same row is overwritten. A file that
    cannot be drawn gets an empty waveform, so the dashboard stops asking."""
    from sessions.workspace.models import RecordingWaveform

    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None:
        return "gone"
    waveform = waveforms.waveform_compute(recording=recording)
    if waveform is None:
        RecordingWaveform.objects.update_or_create(
            recording=recording,
            defaults={
                "peaks": [],
                "peaks_per_second": 0.0,
                "duration_s": recording.duration_s or 0.0,
            },
        )
        return "unavailable"
    return "done"


@shared_task(acks_late=True, soft_time_limit=10 * 60, time_limit=12 * 60)
def cleanup_uploads() -> dict[str, Any]:
    """Expire abandoned uploads and delete their bytes; re-queue crashed finalizations.
    Periodic (CELERY_BEAT_SCHEDULE ``workspace-upload-cleanup``); safe to run at any time."""
    result = uploads.uploads_cleanup()
    logger.info("upload cleanup: %s", result)
    return result
