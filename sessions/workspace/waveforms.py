"""Waveform peaks of a recording: queued after an upload, computed by a worker block by block,
stored for the dashboard to draw the waveform from."""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings

from sessions.models import Recording
from sessions.workspace.models import RecordingWaveform

logger = logging.getLogger(__name__)

PEAKS_PER_SECOND = 20
MAX_PEAKS = 60_000


def queue_waveform(recording_id: UUID | str) -> bool:
    """Ask a worker for the recording's waveform peaks. The waveform is optional: when the
    broker is unreachable this logs and returns False (the workspace asks again when the page
    wants the waveform), never failing the upload that has already been stored."""
    from sessions.workspace.tasks import compute_waveform

    try:
        compute_waveform.apply_async(args=[str(recording_id)], queue=settings.SER_QUEUE_DEFAULT)
    except Exception:  # kombu, amqp and redis raise unrelated types when the broker is down
        logger.warning("could not queue the waveform of recording %s", recording_id)
        return False
    return True


def waveform_compute(*, recording: Recording) -> RecordingWaveform | None:
    """Decode the recording block by block and store the peaks its waveform is drawn from
    (max |sample| per 1/20 s, fewer for very long recordings). Running it twice overwrites the
    same row. None when the audio is gone or cannot be decoded: the dashboard then shows the
    timeline without a waveform."""
    import numpy as np

    from analysis.engine.audio import decode as audio
    from analysis.services import audio_limits, local_file_path

    if not recording.file or recording.audio_deleted_at is not None:
        return None
    bucket = audio.TARGET_SR // PEAKS_PER_SECOND
    parts: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    total = 0
    try:
        with local_file_path(recording.file) as path:
            for block in audio.iter_decode(path, limits=audio_limits()):
                total += block.size
                joined = np.concatenate([carry, np.abs(block)]) if carry.size else np.abs(block)
                whole = joined.size - joined.size % bucket
                if whole:
                    parts.append(joined[:whole].reshape(-1, bucket).max(axis=1))
                carry = joined[whole:]
    except audio.AudioError:
        return None
    if carry.size:
        parts.append(np.array([carry.max()], dtype=np.float32))
    peaks = np.concatenate(parts) if parts else np.zeros(1, dtype=np.float32)
    if peaks.size > MAX_PEAKS:
        group = int(np.ceil(peaks.size / MAX_PEAKS))
        padded = np.pad(peaks, (0, (-peaks.size) % group))
        peaks = padded.reshape(-1, group).max(axis=1)
    top = float(peaks.max()) or 1.0
    duration = total / audio.TARGET_SR
    waveform, _ = RecordingWaveform.objects.update_or_create(
        recording=recording,
        defaults={
            "peaks": np.round(peaks / top, 3).tolist(),
            "peaks_per_second": peaks.size / max(duration, 1e-6),
            "duration_s": duration,
        },
    )
    return waveform
