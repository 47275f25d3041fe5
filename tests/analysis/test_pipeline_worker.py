"""The whole pipeline through a real Celery worker, the real broker and PostgreSQL."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from analysis.engine.labels import SPEAKER_ROLES
from analysis.models import AnalysisRun, RunFrames, Segment
from sessions.models import Recording
from tests.analysis.audio_factory import write_silence_wav, write_speechlike_wav
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent
from tests.factories import post_recording

pytestmark = [pytest.mark.slow]


def _upload(api: Any, cast: Cast, path: Path) -> dict[str, Any]:
    response = post_recording(api, cast.session, path, user=cast.therapist)
    assert response.status_code == 201, response.content
    return response.json()


def _status(api: Any, recording_id: str) -> dict[str, Any]:
    return api.get(reverse("api-recording-detail", kwargs={"recording_id": recording_id})).json()


def _finished(api: Any, recording_id: str, timeout: float) -> dict[str, Any]:
    """The recording's status once its analysis is done or failed."""
    wait_for(lambda: _status(api, recording_id)["status"] in {"done", "failed"}, timeout=timeout)
    return _status(api, recording_id)


def test_uploaded_recording_is_analysed_by_the_worker(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    grant_consent(cast.child)
    body = _upload(api, cast, write_speechlike_wav(tmp_path / "talk.wav", seconds=12.0))
    done = _finished(api, body["id"], timeout=180)
    assert done["status"] == "done", (done, celery_worker.lines[-30:])
    assert done["progress"] == 100
    assert done["model_version"]["id"] == str(active_model.pk)
    timeline = api.get(
        reverse("api-recording-timeline", kwargs={"recording_id": body["id"]})
    ).json()
    assert timeline["segments"], "speech-like audio must yield segments"
    # The stored summary describes this recording and these segments.
    summary = done["summary"]
    assert summary["duration_s"] == pytest.approx(12.0, abs=0.05)
    assert 0 < summary["speech_s"] <= summary["duration_s"]
    assert summary["segment_count"] == len(timeline["segments"])
    assert set(summary["speakers"]) == set(SPEAKER_ROLES)
    assert summary["overall"]["segment_count"] == len(timeline["segments"])
    assert sum(role["segment_count"] for role in summary["speakers"].values()) == len(
        timeline["segments"]
    )
    first = timeline["segments"][0]
    assert {
        "start_s",
        "end_s",
        "speaker",
        "speaker_confidence",
        "emotion",
        "confidence",
        "uncertain",
        "valence",
        "arousal",
        "probabilities",
    } <= set(first)
    assert first["speaker"] in SPEAKER_ROLES  # "unknown" too since speaker lanes (issue 11)
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-3
    assert timeline["frames"]


def test_silence_only_is_accepted_and_reports_no_speech(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    grant_consent(cast.child)
    body = _upload(api, cast, write_silence_wav(tmp_path / "quiet.wav", seconds=4.0))
    done = _finished(api, body["id"], timeout=120)
    assert done["status"] == "done"
    assert done["no_speech"] is True
    assert not Segment.objects.filter(run__recording_id=body["id"]).exists()


def test_reanalysis_keeps_old_results_until_new_ones_are_complete(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    from tests.model_factory import register_tiny_model

    grant_consent(cast.child)
    body = _upload(api, cast, write_speechlike_wav(tmp_path / "talk.wav", seconds=8.0))
    wait_for(lambda: _status(api, body["id"])["status"] == "done", timeout=180)
    staged = register_tiny_model(cast.clinic, status="staged", name="tiny-b")
    celery_worker.stop()  # hold the new run in the queue to look at the in-between state
    response = api.post(
        reverse("api-recording-reanalyze", kwargs={"recording_id": body["id"]}),
        {"model_version": str(staged.pk)},
        format="json",
    )
    assert response.status_code == 202
    between = _status(api, body["id"])
    assert between["status"] == "queued"
    assert between["model_version"]["id"] == str(active_model.pk)  # old results still shown
    assert between["pending_model_version"]["id"] == str(staged.pk)
    assert api.get(reverse("api-recording-timeline", kwargs={"recording_id": body["id"]})).json()[
        "segments"
    ]
    celery_worker.start()
    wait_for(lambda: _status(api, body["id"])["status"] == "done", timeout=180)
    assert _status(api, body["id"])["model_version"]["id"] == str(staged.pk)


def test_worker_killed_mid_run_completes_exactly_once_after_restart(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    """The crash test: SIGKILL the worker during a run, restart it, one complete result."""
    grant_consent(cast.child)
    body = _upload(api, cast, write_speechlike_wav(tmp_path / "long.wav", seconds=90.0))
    run = AnalysisRun.objects.get(recording_id=body["id"])
    wait_for(
        lambda: AnalysisRun.objects.filter(pk=run.pk, status="processing", progress__gt=0).exists(),
        timeout=120,
        interval=0.05,
    )
    celery_worker.kill()
    assert AnalysisRun.objects.get(pk=run.pk).status == "processing"
    celery_worker.start()
    wait_for(lambda: AnalysisRun.objects.get(pk=run.pk).status in {"done", "failed"}, timeout=240)
    run.refresh_from_db()
    assert run.status == "done", celery_worker.lines[-30:]
    assert run.attempts == 2
    assert AnalysisRun.objects.filter(recording_id=body["id"]).count() == 1
    indices = list(Segment.objects.filter(run=run).values_list("index", flat=True))
    assert indices == list(range(len(indices))) and indices
    assert RunFrames.objects.filter(run=run).count() == 1
    assert Recording.objects.get(pk=body["id"]).status == "done"


def test_poison_file_is_quarantined_after_three_crashed_attempts(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    grant_consent(cast.child)
    celery_worker.stop()
    body = _upload(api, cast, write_speechlike_wav(tmp_path / "x.wav", seconds=3.0))
    # Three earlier attempts died with their worker (as a file that crashes the decoder would).
    AnalysisRun.objects.filter(recording_id=body["id"]).update(status="processing", attempts=3)
    celery_worker.start()
    wait_for(lambda: _status(api, body["id"])["status"] == "quarantined", timeout=120)
    status = _status(api, body["id"])
    assert "set aside" in status["error"]
    assert not Segment.objects.filter(run__recording_id=body["id"]).exists()
    # A therapist can still retry deliberately.
    assert (
        api.post(
            reverse("api-recording-retry", kwargs={"recording_id": body["id"]}), format="json"
        ).status_code
        == 202
    )


def test_worker_process_pool_survives_sigkill_of_its_child(
    api: Any, cast: Cast, tmp_path: Path, active_model: Any, celery_worker: WorkerProcess
) -> None:
    """Killing only the pool process (OOM killer) requeues the task; the main worker goes on."""
    import psutil

    grant_consent(cast.child)
    body = _upload(api, cast, write_speechlike_wav(tmp_path / "long.wav", seconds=60.0))
    run = AnalysisRun.objects.get(recording_id=body["id"])
    wait_for(
        lambda: AnalysisRun.objects.filter(pk=run.pk, status="processing", progress__gt=0).exists(),
        timeout=120,
        interval=0.05,
    )
    assert celery_worker.process is not None
    children = psutil.Process(celery_worker.process.pid).children()
    assert children
    os.kill(children[0].pid, signal.SIGKILL)
    wait_for(
        lambda: AnalysisRun.objects.get(pk=run.pk).status in {"done", "failed", "quarantined"},
        timeout=240,
    )
    run.refresh_from_db()
    assert run.status == "done", celery_worker.lines[-30:]
    assert run.attempts == 2
