"""Fixtures of the fault tests: private servers, uploads through the API, the end-state check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.models import AnalysisRun, RunFrames, RunStatus, Segment
from sessions.models import Recording
from tests.conftest import Cast
from tests.factories import post_recording
from tests.reliability.servers import PrivateRedis, producer_broker


@pytest.fixture
def private_redis(transactional_db: Any, tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of this test (the production broker, docker/compose.yaml), used by the test
    process's producer and, through TEST_BROKER_URL, by the workers the test starts."""
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        with producer_broker(redis.url):
            yield redis
    finally:
        redis.stop()


def upload(api: Any, cast: Cast, path: Path) -> str:
    response = post_recording(api, cast.session, path, user=cast.therapist)
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def finished(recording_ids: list[str]) -> bool:
    """Every recording's run is in a final state (done, failed or quarantined)."""
    final = {RunStatus.DONE, RunStatus.FAILED, RunStatus.QUARANTINED}
    runs = AnalysisRun.objects.filter(recording_id__in=recording_ids)
    return runs.count() >= len(recording_ids) and all(r.status in final for r in runs)


def assert_analysed_exactly_once(recording_ids: list[str]) -> list[AnalysisRun]:
    """One run per recording, done; segments numbered 0..n-1 without gaps or repeats; one set of
    frames; every recording shows 'done'. Returns the runs."""
    runs = []
    for recording_id in recording_ids:
        recording_runs = list(AnalysisRun.objects.filter(recording_id=recording_id))
        assert len(recording_runs) == 1, (recording_id, recording_runs)
        run = recording_runs[0]
        assert run.status == RunStatus.DONE, (run, run.error_code, run.error)
        assert run.progress == 100
        indices = sorted(Segment.objects.filter(run=run).values_list("index", flat=True))
        assert indices == list(range(len(indices))), (run, indices)
        assert indices, f"speech-like audio must give segments ({run})"
        assert RunFrames.objects.filter(run=run).count() == 1
        recording = Recording.objects.get(pk=recording_id)
        assert recording.status == "done", (recording_id, recording.status)
        runs.append(run)
    return runs
