"""Celery tasks of the analysis pipeline. They take ids only and call services.

Reliability (docs/pipeline.md, "Reliability"): late acknowledgement with reject-on-worker-lost
(settings), so a worker killed mid-run gives the message back and another attempt starts; a run
is claimed under a PostgreSQL advisory lock held for the whole attempt, so a second delivery
re-claims a run only when its worker is dead; attempts are counted in the database and a
recording is quarantined after SER_MAX_ANALYSIS_ATTEMPTS crashed attempts; results are written
in one transaction and upserted on their natural key, so a repeated run leaves exactly one set
of results; ``recover_runs`` (beat) sends again the tasks the broker never got or a dead worker
took with it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError

from analysis import services
from analysis.engine.audio import decode as audio
from analysis.engine.classifiers import precision
from analysis.registry.active import load_version

logger = logging.getLogger(__name__)

GENERIC_FAILURE = (
    "The analysis failed unexpectedly. You can retry it; if it fails again, contact support."
)
TIMEOUT_FAILURE = "The analysis took longer than allowed and was stopped. You can retry it."


@worker_process_init.connect
def log_inference_hardware(**kwargs: Any) -> str:
    """Each worker process says, as it starts, which CPU features (and instruction-set cap:
    ONEDNN_MAX_CPU_ISA and friends) the precision choice will see, what it will choose from
    and whether ONNX Runtime takes part; the timed choice is logged when the first model
    loads."""
    from analysis.engine.classifiers import ort_encoder

    report = precision.startup_report(
        settings.SER_HF_INFERENCE_DTYPE, onnx_version=ort_encoder.version()
    )
    logger.info("analysis worker: %s", report)
    return report


class _Progress:
    """Writes stage and percent to the run, at most a few times a second."""

    def __init__(self, run_id: Any) -> None:
        self.run_id = run_id
        self.last: tuple[str, int] = ("", -1)
        self.last_time = 0.0

    def __call__(self, stage: str, percent: int) -> None:
        now = time.monotonic()
        if stage == self.last[0] and (percent - self.last[1] < 2 or now - self.last_time < 0.5):
            return
        self.last, self.last_time = (stage, percent), now
        services.run_progress(run_id=self.run_id, stage=stage, percent=percent)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=60 * 60,
    time_limit=65 * 60,
)
def analyze_recording(self: Any, run_id: str) -> str:
    """Analyse one run's recording end to end and store the results.

    Changes: the run's status/stage/progress, its segments and frames, the recording's status.
    Twice: a finished run is skipped; an interrupted one is claimed again and its results
    overwritten on (run, index), never duplicated.
    """
    run = services.run_claim(run_id)
    if run is None:
        return "skipped"
    try:
        return _analyze(run, run_id)
    finally:
        services.run_release(run_id)


def _analyze(run: Any, run_id: str) -> str:
    try:
        classifier = load_version(run.model_version)
        from analysis.engine.pipeline import analyze_file
        from analysis.engine.speakers.diarization import KnownVoice
        from analysis.voices.selectors import expected_speakers, session_voices
        from sessions.exercises.baselines import voice_baseline

        session = run.recording.session
        voices = [
            KnownVoice(key=v.key, role=v.role, name=v.name, embedding=np.asarray(v.embedding))
            for v in session_voices(session)
        ]
        child_voice = voice_baseline(child=session.child, classifier=classifier)
        with services.local_file_path(run.recording.file) as path:
            result = analyze_file(
                path,
                classifier,
                limits=services.audio_limits(),
                progress=_Progress(run.pk),
                voices=voices,
                expected_speakers=expected_speakers(session),
                baselines={"child": child_voice} if child_voice is not None else None,
            )
        services.run_store_results(
            run=run,
            result=result.to_dict(),
            voice_centroids={v.label: v.centroid.tolist() for v in result.speakers},
        )
    except audio.AudioError as exc:
        services.run_fail(run=run, message=exc.message, code=exc.code)
        return "failed"
    except SoftTimeLimitExceeded:
        services.run_fail(run=run, message=TIMEOUT_FAILURE, code="timeout")
        return "failed"
    except (OperationalError, InterfaceError):
        raise  # transient database trouble (a restart): Celery retries with backoff
    except Exception:
        # Logged with ids only: no file names, no child data.
        logger.exception("analysis run %s failed", run_id)
        services.run_fail(run=run, message=GENERIC_FAILURE, code="error")
        return "failed"
    return "done"


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=120, time_limit=180)
def recover_runs() -> dict[str, int]:
    """Send again the runs whose task is missing (Celery beat, every SER_RECOVER_RUNS_EVERY_S):
    tasks the broker never got (it was down at upload) and runs of workers that died."""
    counts = services.runs_recover()
    if any(counts.values()):
        logger.info("analysis runs sent again: %s", counts)
    return counts
