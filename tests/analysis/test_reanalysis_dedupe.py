"""Re-analysis and retry are deduplicated: simultaneous requests get the one queued or running
run back instead of each making a new one (real threads, real transactions on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, RunStatus
from sessions.models import RecordingStatus
from tests.conftest import Cast, grant_consent

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(cast: Cast, request: Callable[[APIClient], Any], n: int = 4) -> list[Any]:
    """Send ``n`` requests as the child's therapist at the same moment, one thread each."""
    barrier = threading.Barrier(n)
    responses: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        client = APIClient()
        client.force_login(cast.therapist)
        try:
            barrier.wait()
            response = request(client)
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.fixture
def analysed(cast: Cast, active_model: Any) -> Cast:
    """The cast's recording with one finished analysis by the clinic's active model."""
    grant_consent(cast.child)
    AnalysisRun.objects.create(
        recording=cast.recording,
        model_version=active_model,
        status=RunStatus.DONE,
        finished_at=timezone.now(),
    )
    cast.recording.status = RecordingStatus.DONE
    cast.recording.save(update_fields=["status"])
    return cast


def test_simultaneous_reanalyses_make_one_run(analysed: Cast) -> None:
    url = reverse("api-recording-reanalyze", kwargs={"recording_id": analysed.recording.pk})
    responses = _at_once(analysed, lambda client: client.post(url, {}, format="json"))
    assert [r.status_code for r in responses] == [202] * 4, [r.content for r in responses]
    queued = AnalysisRun.objects.filter(recording=analysed.recording, status=RunStatus.QUEUED)
    assert queued.count() == 1
    # Every caller is told which run it got: the same one.
    assert {r.json()["run_id"] for r in responses} == {str(queued.get().pk)}


def test_reanalysis_while_a_run_is_queued_returns_that_run(analysed: Cast) -> None:
    client = APIClient()
    client.force_login(analysed.therapist)
    url = reverse("api-recording-reanalyze", kwargs={"recording_id": analysed.recording.pk})
    first = client.post(url, {}, format="json").json()["run_id"]
    second = client.post(url, {}, format="json").json()["run_id"]
    assert first == second
    assert AnalysisRun.objects.filter(recording=analysed.recording).count() == 2
    detail = client.get(
        reverse("api-recording-detail", kwargs={"recording_id": analysed.recording.pk})
    )
    assert detail.json()["run_id"] == first


def test_simultaneous_retries_make_one_run(analysed: Cast) -> None:
    AnalysisRun.objects.filter(recording=analysed.recording).update(
        status=RunStatus.FAILED, error="The worker stopped."
    )
    analysed.recording.status = RecordingStatus.FAILED
    analysed.recording.save(update_fields=["status"])
    url = reverse("api-recording-retry", kwargs={"recording_id": analysed.recording.pk})
    responses = _at_once(analysed, lambda client: client.post(url, format="json"))
    assert [r.status_code for r in responses] == [202] * 4, [r.content for r in responses]
    queued = AnalysisRun.objects.filter(recording=analysed.recording, status=RunStatus.QUEUED)
    assert queued.count() == 1
    assert {r.json()["run_id"] for r in responses} == {str(queued.get().pk)}
