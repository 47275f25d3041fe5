"""Writes of the analysis pipeline: storing recordings, queueing and recording analysis runs.

Views, API endpoints and tasks call these; none of them touches the models directly.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.utils import timezone

from analysis.engine.audio import decode as audio
from analysis.models import (
    AnalysisRun,
    EmotionModelVersion,
    ModelStatus,
    RunFrames,
    RunStatus,
    Segment,
)
from analysis.registry.active import NoActiveModel, active_version
from sessions import audit
from sessions.families.consent import has_consent, require_consent
from sessions.models import Child, Recording, RecordingStatus, TherapySession
from sessions.models.audit import AuditAction

logger = logging.getLogger(__name__)

ANALYSIS_CONSENT_WAIT = (
    "Waiting for the guardian's consent to automated emotion analysis. The recording is "
    "stored and will be analysed as soon as consent is recorded."
)


class RecordingRejected(ValueError):
    """Audio the portal will not take, whichever way it came (a session recording, a chunked
    upload, a practice attempt, a model's example, a voice sample): the one rejection type.

    ``detail`` says why in plain words the person can act on (shown as is); ``code`` names the
    reason for programs (``invalid``, ``too_large``, an ``AudioError`` code, ...); ``status``
    is the HTTP status an API answers with (400, 403 without consent, 409/413 for upload
    states); ``offset`` is where a resumable upload should continue, when that is the issue.
    Nothing is stored for a rejected file.
    """

    def __init__(
        self,
        detail: str,
        code: str = "invalid",
        *,
        status: int = 400,
        offset: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.offset = offset


def audio_limits() -> audio.AudioLimits:
    return audio.AudioLimits(
        max_bytes=settings.SER_MAX_UPLOAD_BYTES,
        max_duration_s=float(settings.SER_MAX_DURATION_S),
        min_duration_s=float(settings.SER_MIN_DURATION_S),
    )


@contextmanager
def local_upload_path(uploaded_file: UploadedFile | File[Any]) -> Iterator[Path]:
    """A path on local disk for probing: the upload's own temp file when it has one."""
    temp_path = getattr(uploaded_file, "temporary_file_path", None)
    if callable(temp_path):
        yield Path(temp_path())
        return
    existing = getattr(uploaded_file, "name", None)
    if (
        isinstance(uploaded_file, File)
        and not isinstance(uploaded_file, UploadedFile)
        and (existing and Path(existing).is_file())
    ):
        yield Path(existing)
        return
    suffix = Path(getattr(uploaded_file, "name", "") or "").suffix[:10]
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        uploaded_file.seek(0)
        for chunk in uploaded_file.chunks():
            handle.write(chunk)
        handle.flush()
        yield Path(handle.name)


def validate_audio_file(path: Path) -> audio.ProbeResult:
    """Header probe plus a trial decode; raises RecordingRejected with the readable reason."""
    try:
        result = audio.probe(path, audio_limits())
        audio.trial_decode(path)
    except audio.AudioError as exc:
        raise RecordingRejected(exc.message, exc.code) from exc
    return result


def queue_for(duration_s: float | None, size_bytes: int) -> str:
    """Short clips (practice attempts) must never wait behind a long session."""
    if duration_s is None:  # browser WebM has no duration in its header: judge by size
        return settings.SER_QUEUE_SHORT if size_bytes < 2 * 1024 * 1024 else settings.SER_QUEUE_LONG
    short = duration_s <= settings.SER_SHORT_CLIP_MAX_S
    return settings.SER_QUEUE_SHORT if short else settings.SER_QUEUE_LONG


def recording_create(
    *,
    session: TherapySession,
    uploaded_file: UploadedFile | File[Any],
    uploaded_by: Any,
    request: HttpRequest | None = None,
) -> Recording:
    """Store an uploaded recording untouched and queue its analysis.

    Raises ConsentMissing without recording consent and RecordingRejected for files that cannot
    be analysed, before anything is stored or queued. Each call stores a new recording.
    """
    child = session.child
    require_consent(child, "recording")
    name = Path(getattr(uploaded_file, "name", "") or "recording").name[:255] or "recording"
    with local_upload_path(uploaded_file) as path:
        probe = validate_audio_file(path)
        checksum = audio.sha256_file(path)
        with transaction.atomic():
            recording = Recording(
                session=session,
                original_name=name,
                content_type=(getattr(uploaded_file, "content_type", "") or "")[:100],
                size_bytes=probe.size_bytes,
                sha256=checksum,
                duration_s=probe.duration_s,
                container=probe.format_name[:50],
                uploaded_by=uploaded_by
                if getattr(uploaded_by, "is_authenticated", False)
                else None,
            )
            with path.open("rb") as handle:
                recording.file.save(name, File(handle), save=False)
            recording.save()
            audit.record(
                actor=uploaded_by,
                action=AuditAction.CREATE,
                obj=recording,
                child=child,
                request=request,
                detail={"size_bytes": probe.size_bytes},
            )
            _start_analysis(recording=recording, requested_by=uploaded_by)
    return recording


def active_run(recording: Recording) -> AnalysisRun | None:
    """The recording's queued or running analysis, if it has one (at most one: see below)."""
    return (
        AnalysisRun.objects.filter(
            recording_id=recording.pk, status__in=[RunStatus.QUEUED, RunStatus.PROCESSING]
        )
        .order_by("-created_at")
        .first()
    )


def _start_analysis(
    *, recording: Recording, requested_by: Any, model_version: EmotionModelVersion | None = None
) -> AnalysisRun | None:
    """Create a queued run (or leave the recording waiting, saying why) and queue it on commit.

    Runs inside the caller's transaction, under a lock on the recording's row: a recording that
    already has a queued or running analysis gets that run back, never a second one, however
    many requests arrive at once (two "analyse again" clicks, two retries, consent saved twice).
    """
    # The row lock lasts until the caller commits; a concurrent request waits here.
    Recording.objects.select_for_update().filter(pk=recording.pk).exists()
    running = active_run(recording)
    if running is not None:
        return running
    child = recording.session.child
    if not has_consent(child, "analysis"):
        _set_recording_status(recording, RecordingStatus.AWAITING_CONSENT, ANALYSIS_CONSENT_WAIT)
        return None
    try:
        version = model_version or active_version(child.clinic)
    except NoActiveModel as exc:
        _set_recording_status(recording, RecordingStatus.FAILED, str(exc))
        return None
    queue = queue_for(recording.duration_s, recording.size_bytes)
    run = AnalysisRun.objects.create(
        recording=recording,
        model_version=version,
        queue=queue,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
    )
    _set_recording_status(recording, RecordingStatus.QUEUED, "")
    transaction.on_commit(partial(_send, run.pk, queue))
    return run


def _send(run_id: Any, queue: str) -> None:
    from analysis.tasks import analyze_recording

    analyze_recording.apply_async(args=[str(run_id)], queue=queue)


def _set_recording_status(recording: Recording, status: str, detail: str) -> None:
    Recording.objects.filter(pk=recording.pk).update(status=status, status_detail=detail[:500])
    recording.status, recording.status_detail = status, detail[:500]


@transaction.atomic
def recording_reanalyze(
    *,
    recording: Recording,
    requested_by: Any,
    model_version: EmotionModelVersion | None = None,
    request: HttpRequest | None = None,
) -> AnalysisRun | None:
    """Queue a new run; the current results stay visible until the new run is done.

    While the recording has a queued or running analysis, that run is returned and nothing new
    is queued (see ``_start_analysis``), so a repeated request makes one run."""
    clinic_id = recording.session.child.clinic_id
    if model_version is not None and (
        model_version.clinic_id != clinic_id or model_version.status == ModelStatus.RETIRED
    ):
        raise RecordingRejected("That model version is not available to this clinic.", "model")
    before = active_run(recording)
    run = _start_analysis(
        recording=recording, requested_by=requested_by, model_version=model_version
    )
    audit.record(
        actor=requested_by,
        action=AuditAction.UPDATE,
        obj=recording,
        child=recording.session.child,
        request=request,
        detail={
            "reanalyze": True,
            "model_version": str(getattr(model_version, "pk", "")),
            "run": str(run.pk) if run else "",
            "new_run": run is not None and run != before,
        },
    )
    return run


@transaction.atomic
def run_retry(
    *, recording: Recording, requested_by: Any, request: HttpRequest | None = None
) -> AnalysisRun | None:
    """Retry a failed or quarantined analysis with a fresh run (attempts start again).

    A retry that arrives while another retry's run is queued or running returns that run."""
    locked = Recording.objects.select_for_update().get(pk=recording.pk)
    if locked.status not in {RecordingStatus.FAILED, RecordingStatus.QUARANTINED}:
        running = active_run(locked)
        if running is not None:
            return running
        raise RecordingRejected("Only a failed analysis can be retried.", "state")
    return recording_reanalyze(recording=recording, requested_by=requested_by, request=request)


def recordings_release_awaiting_consent(*, child: Child) -> int:
    """Queue every recording of ``child`` that waited for analysis consent. Safe to repeat."""
    count = 0
    waiting = Recording.objects.filter(
        session__child=child, status=RecordingStatus.AWAITING_CONSENT
    )
    for recording in waiting.select_related("session__child__clinic"):
        with transaction.atomic():
            still_waiting = (
                Recording.objects.select_for_update()
                .filter(pk=recording.pk, status=RecordingStatus.AWAITING_CONSENT)
                .exists()
            )
            if still_waiting and _start_analysis(recording=recording, requested_by=None):
                count += 1
    return count


# --- used by the analysis task ------------------------------------------------------------


def run_claim(run_id: Any) -> AnalysisRun | None:
    """Claim a run for processing: count the attempt with a conditional UPDATE.

    Returns None when the run is finished (done, failed, quarantined) or gone, so a duplicate
    delivery does nothing. A redelivery after a crashed worker finds the run 'processing' and
    claims it again; after too many attempts the recording is quarantined instead.
    """
    updated = AnalysisRun.objects.filter(
        pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.PROCESSING]
    ).update(
        status=RunStatus.PROCESSING,
        attempts=F("attempts") + 1,
        stage="starting",
        progress=0,
        started_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not updated:
        return None
    run = AnalysisRun.objects.select_related(
        "recording", "model_version", "recording__session__child"
    ).get(pk=run_id)
    if run.attempts > settings.SER_MAX_ANALYSIS_ATTEMPTS:
        run_fail(
            run=run,
            code="quarantined",
            quarantine=True,
            message=(
                f"The analysis stopped unexpectedly {run.attempts - 1} times on this file, so it "
                "was set aside to protect the other analyses. The file is kept; contact support."
            ),
        )
        return None
    Recording.objects.filter(pk=run.recording_id).update(
        status=RecordingStatus.PROCESSING, status_detail=""
    )
    return run


def run_progress(*, run_id: Any, stage: str, percent: int) -> None:
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.PROCESSING).update(
        stage=stage[:20], progress=max(0, min(100, int(percent))), updated_at=timezone.now()
    )


def run_fail(*, run: AnalysisRun, message: str, code: str, quarantine: bool = False) -> None:
    status = RunStatus.QUARANTINED if quarantine else RunStatus.FAILED
    with transaction.atomic():
        AnalysisRun.objects.filter(pk=run.pk).update(
            status=status, error=message[:500], error_code=code[:40], finished_at=timezone.now()
        )
        _recording_after_run(run.recording_id)


def _recording_after_run(recording_id: Any) -> None:
    """The recording's status follows its newest run; results stay from the newest done run."""
    latest = AnalysisRun.objects.filter(recording_id=recording_id).order_by("-created_at").first()
    if latest is None:
        return
    status = {
        RunStatus.QUEUED: RecordingStatus.QUEUED,
        RunStatus.PROCESSING: RecordingStatus.PROCESSING,
        RunStatus.DONE: RecordingStatus.DONE,
        RunStatus.FAILED: RecordingStatus.FAILED,
        RunStatus.QUARANTINED: RecordingStatus.QUARANTINED,
    }[RunStatus(latest.status)]
    Recording.objects.filter(pk=recording_id).update(status=status, status_detail=latest.error)


@transaction.atomic
def run_store_results(
    *,
    run: AnalysisRun,
    result: dict[str, Any],
    voice_centroids: dict[str, list[float]] | None = None,
) -> None:
    """Write a finished analysis in one transaction: segments upserted on (run, index), frames
    replaced, summary stored, the voices (``SpeakerLane``, with ``voice_centroids`` by lane
    label) replaced, status done. Running it twice leaves the same rows."""
    from analysis.voices.services import lanes_store, segment_lane_labels

    segments = result["segments"]
    lane_labels = segment_lane_labels(result)
    rows = [
        Segment(
            run=run,
            index=i,
            start_s=s["start_s"],
            end_s=s["end_s"],
            speaker=s["speaker"],
            speaker_confidence=s["speaker_confidence"],
            cluster=lane_labels[i],
            emotion=s["emotion"],
            confidence=s["confidence"],
            uncertain=s["uncertain"],
            uncertain_reason=s.get("uncertain_reason", ""),
            quality=s.get("quality", {}),
            valence=s["valence"],
            arousal=s["arousal"],
            probabilities=s["probabilities"],
        )
        for i, s in enumerate(segments)
    ]
    Segment.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["run", "index"],
        update_fields=[
            "start_s",
            "end_s",
            "speaker",
            "speaker_confidence",
            "cluster",
            "emotion",
            "confidence",
            "uncertain",
            "uncertain_reason",
            "quality",
            "valence",
            "arousal",
            "probabilities",
        ],
    )
    Segment.objects.filter(run=run, index__gte=len(rows)).delete()
    RunFrames.objects.update_or_create(run=run, defaults={"frames": result["frames"]})
    # The timeline's model-output traces depend on the frames only: stored here, where the
    # frames change, so that reading a timeline never writes.
    from sessions.workspace.services import timeline_store

    timeline_store(run=run)
    lanes_store(run=run, result=result, centroids=voice_centroids or {})
    AnalysisRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE,
        stage="done",
        progress=100,
        error="",
        error_code="",
        summary=result["summary"],
        timings=result.get("timings", {}),
        no_speech=bool(result.get("no_speech")),
        finished_at=timezone.now(),
    )
    Recording.objects.filter(pk=run.recording_id).update(duration_s=result["duration_s"])
    _recording_after_run(run.recording_id)


@contextmanager
def local_file_path(field_file: FieldFile) -> Iterator[Path]:
    """A stored file on local disk (downloaded to a temp file for remote storages such as S3)."""
    try:
        local: Path | None = Path(field_file.path)
    except NotImplementedError:  # remote storage: no local path
        local = None
    if local is not None:
        yield local
        return
    suffix = Path(field_file.name or "").suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle, field_file.open("rb") as src:
        shutil.copyfileobj(src, handle, 1 << 20)
        handle.flush()
        yield Path(handle.name)
