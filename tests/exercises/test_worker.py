"""Practice feedback through real Celery workers on the real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, RunStatus
from sessions.exercises.models import Attempt, AttemptStatus
from tests.analysis.audio_factory import write_speechlike_wav
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_exercise

pytestmark = [pytest.mark.slow]


@pytest.fixture
def short_worker(transactional_db: Any, queue_prefix: str) -> Iterator[WorkerProcess]:
    """A worker that consumes the short queue only, as in production."""
    worker = WorkerProcess(queue_prefix, queues=("short",), name="short-")
    worker.start()
    yield worker
    worker.stop()


def _upload(client: APIClient, assignment: Any, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        response = client.post(
            reverse("api-exercise-attempts", args=[assignment.pk]),
            {"file": handle},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_feedback_comes_from_a_short_queue_worker(
    cast: Cast, active_model: Any, short_worker: WorkerProcess, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    client = APIClient()
    client.force_authenticate(cast.guardian)
    body = _upload(client, assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=5.0))
    url = body["status_url"]
    final = wait_for(lambda: (b := client.get(url).json())["final"] and b, timeout=90)
    assert final["status"] == "done", (final, short_worker.lines[-20:])
    assert final["stars"] in (1, 2, 3) and final["message"]
    assert len(final["top_emotions"]) == 3
    attempt = Attempt.objects.get(pk=body["id"])
    assert attempt.tries == 1 and attempt.status == AttemptStatus.DONE


def test_feedback_does_not_wait_behind_a_session_analysis(
    cast: Cast,
    active_model: Any,
    short_worker: WorkerProcess,
    queue_prefix: str,
    tmp_path: Path,
) -> None:
    from django.core.files import File

    from analysis.services import recording_create

    grant_consent(cast.child)
    long_worker = WorkerProcess(queue_prefix, queues=("long",), name="long-")
    long_worker.start()
    try:
        session_audio = write_speechlike_wav(tmp_path / "session.wav", seconds=240.0)
        with session_audio.open("rb") as handle:
            recording = recording_create(
                session=cast.session, uploaded_file=File(handle), uploaded_by=cast.therapist
            )
        run = AnalysisRun.objects.get(recording=recording)
        wait_for(
            lambda: AnalysisRun.objects.get(pk=run.pk).status == RunStatus.PROCESSING, timeout=60
        )

        assignment = make_assignment(cast.child, make_exercise(cast.clinic))
        client = APIClient()
        client.force_authenticate(cast.guardian)
        body = _upload(client, assignment, write_speechlike_wav(tmp_path / "a.wav", seconds=5.0))
        wait_for(lambda: Attempt.objects.get(pk=body["id"]).is_final, timeout=90)
        attempt = Attempt.objects.get(pk=body["id"])
        assert attempt.status == AttemptStatus.DONE
        assert AnalysisRun.objects.get(pk=run.pk).status == RunStatus.PROCESSING, (
            "the session was still being analysed while the attempt got its feedback"
        )
        assert attempt.finished_at is not None
        latency = (attempt.finished_at - attempt.created_at).total_seconds()
        assert latency < 30, latency
    finally:
        # Its session analysis is no longer needed: end it at once rather than waiting.
        long_worker.kill()
