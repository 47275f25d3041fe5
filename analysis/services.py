"""Writes of the analysis pipeline: storing recordings, queueing and recording analysis runs.

Views, API endpoints and tasks call these; none of them touches the models directly.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import Error as DatabaseError
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q
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
from sessions.types import Actor, signed_in

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
    uploaded_by: Actor | None,
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
                uploaded_by=signed_in(uploaded_by),
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
    *,
    recording: Recording,
    requested_by: Actor | None,
    model_version: EmotionModelVersion | None = None,
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
        requested_by=signed_in(requested_by),
    )
    _set_recording_status(recording, RecordingStatus.QUEUED, "")
    transaction.on_commit(partial(_send, run.pk, queue))
    return run


# The stage of a queued run whose task could not be handed to the broker (it was down): the
# recording is stored and ``runs_recover`` sends the task again once the broker answers.
STAGE_UNSENT = "unsent"


def _send(run_id: Any, queue: str) -> bool:
    """Hand the run's task to the broker. When the broker is unreachable the upload still
    succeeds: the run stays queued, marked unsent, and ``runs_recover`` sends it later."""
    from analysis.tasks import analyze_recording

    try:
        analyze_recording.apply_async(args=[str(run_id)], queue=queue)
    except Exception:  # kombu, amqp and redis raise unrelated types when the broker is down
        logger.warning("could not queue analysis run %s; it will be sent again", run_id)
        AnalysisRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            stage=STAGE_UNSENT, updated_at=timezone.now()
        )
        return False
    return True


def _set_recording_status(recording: Recording, status: str, detail: str) -> None:
    Recording.objects.filter(pk=recording.pk).update(status=status, status_detail=detail[:500])
    recording.status, recording.status_detail = status, detail[:500]


@transaction.atomic
def recording_reanalyze(
    *,
    recording: Recording,
    requested_by: Actor | None,
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
    *, recording: Recording, requested_by: Actor | None, request: HttpRequest | None = None
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


def _lock_key(run_id: Any) -> int:
    return int.from_bytes(uuid.UUID(str(run_id)).bytes[:8], "big", signed=True)


# How long a claim waits for the lock of a run whose worker was just killed: the database ends
# the dead worker's session (and frees its lock) a moment after the process is gone.
CLAIM_WAIT_S = 5.0


def _lock_run(run_id: Any, wait_s: float = 0.0) -> bool:
    """Take the run's session-level advisory lock on PostgreSQL, waiting up to ``wait_s``.

    The lock lives as long as the worker's database connection: a worker that dies (SIGKILL,
    OOM killer, lost machine) loses it at once, one that is alive keeps it until the run ends.
    So a second delivery of the same run can tell a dead owner from a live one. SQLite (the
    demo, one worker) has no such locks: there a redelivered run is simply claimed again.
    """
    if connection.vendor != "postgresql":
        return True
    key = _lock_key(run_id)
    if wait_s <= 0:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            row = cursor.fetchone()
        return bool(row and row[0])
    try:
        # A session lock taken inside a transaction outlives it; the timeout does not.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait_s * 1000:.0f}"])
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            return False
        raise
    return True


def run_release(run_id: Any) -> None:
    """Give up the run's lock (taken by ``run_claim``); the task calls it when it ends."""
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(run_id)])
    except DatabaseError:
        # The connection broke (database restart): its locks went with it. Close it so that
        # the next task opens a fresh one.
        connection.close()


def run_claim(run_id: Any) -> AnalysisRun | None:
    """Claim a run for processing: take its lock, count the attempt with a conditional UPDATE.

    Returns None when the run is finished (done, failed, quarantined) or gone, or while a live
    worker holds it, so a duplicate delivery does nothing (the caller then releases nothing).
    A redelivery after a crashed worker finds the run 'processing' with its lock free and
    claims it again; after too many attempts the recording is quarantined instead. A returned
    run is locked until ``run_release``.
    """
    if not _lock_run(run_id, wait_s=CLAIM_WAIT_S):
        return None  # a live worker is analysing it right now
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
        run_release(run_id)
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
        run_release(run_id)
        return None
    Recording.objects.filter(pk=run.recording_id).update(
        status=RecordingStatus.PROCESSING, status_detail=""
    )
    return run


def _owner_gone(run: AnalysisRun) -> bool:
    """Whether nobody is analysing this 'processing' run any more."""
    if connection.vendor != "postgresql":
        # No locks: a run is certainly abandoned once it is older than the task's hard limit.
        limit = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
        return run.started_at is None or run.started_at < timezone.now() - limit
    if not _lock_run(run.pk):
        return False
    run_release(run.pk)
    return True


def runs_recover() -> dict[str, int]:
    """Send again every run whose task is missing (called every minute by Celery beat).

    * queued runs whose task never reached the broker (it was down at upload: 'unsent');
    * queued runs waiting longer than ``SER_RESEND_QUEUED_AFTER_S`` (a broker that lost its
      messages, or a worker killed between receiving a task and claiming it);
    * 'processing' runs whose worker died (their lock is free) and that have shown no progress
      for ``SER_STALE_RUN_S``: the broker may keep the dead worker's message for an hour
      (Redis' visibility timeout) or have already handed it to a worker that found it taken.

    A duplicate task is harmless (the claim skips finished and locked runs), so this may send
    a run twice but never loses one. Returns counts for the log.
    """
    now = timezone.now()
    queued_after = dt.timedelta(seconds=settings.SER_RESEND_QUEUED_AFTER_S)
    stale_after = dt.timedelta(seconds=settings.SER_STALE_RUN_S)
    counts = {"unsent": 0, "queued": 0, "abandoned": 0, "not_sent": 0}
    waiting = AnalysisRun.objects.filter(status=RunStatus.QUEUED).filter(
        Q(stage=STAGE_UNSENT) | Q(updated_at__lt=now - queued_after)
    )
    abandoned = AnalysisRun.objects.filter(
        status=RunStatus.PROCESSING, updated_at__lt=now - stale_after
    )
    for run in [*waiting.order_by("created_at")[:500], *abandoned.order_by("created_at")[:100]]:
        if run.status == RunStatus.PROCESSING and not _owner_gone(run):
            continue
        # Touch the run first, so that a concurrent sweep does not send it too.
        touched = AnalysisRun.objects.filter(
            pk=run.pk, status=run.status, updated_at=run.updated_at
        ).update(
            stage="queued" if run.status == RunStatus.QUEUED else run.stage,
            updated_at=timezone.now(),
        )
        if not touched:
            continue
        if not _send(run.pk, run.queue):
            counts["not_sent"] += 1
            continue
        if run.status == RunStatus.PROCESSING:
            counts["abandoned"] += 1
        else:
            counts["unsent" if run.stage == STAGE_UNSENT else "queued"] += 1
    return counts


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
    from sessions.workspace.timelines import timeline_store

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
