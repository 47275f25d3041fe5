"""A 30 s broker outage during uploads and analyses loses no job.

The broker is a private Redis (the production broker, with its append-only file), stopped for
30 s while one analysis runs and two wait in its queue. Uploads and a practice attempt made
while it is down are accepted and stored; their tasks are sent once it is back (analyses by
``recover_runs`` on beat, the practice attempt by the nudge of the family's status polls).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, RunStatus
from analysis.services import STAGE_UNSENT
from sessions.exercises.models import Attempt, AttemptStatus
from sessions.models import Recording
from tests.analysis.audio_factory import write_speechlike_wav
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_exercise
from tests.reliability.conftest import assert_analysed_exactly_once, finished, upload
from tests.reliability.servers import BeatProcess, PrivateRedis, start_together
from tests.reliability.test_worker_kills import fault_env

pytestmark = [pytest.mark.slow]

OUTAGE_S = 30.0


def test_a_30_s_broker_outage_loses_no_upload_and_no_analysis(
    api: Any,
    cast: Cast,
    active_model: Any,
    private_redis: PrivateRedis,
    queue_prefix: str,
    tmp_path: Path,
) -> None:
    grant_consent(cast.child)
    env = fault_env(private_redis)
    housekeeping = WorkerProcess(queue_prefix, ("default",), name="house-", extra_env=env)
    analyser = WorkerProcess(queue_prefix, ("long", "short"), name="analyser-", extra_env=env)
    beat = BeatProcess(analyser.env(), tmp_path / "beat")
    start_together(housekeeping, analyser, beat)
    guardian = APIClient()
    guardian.force_authenticate(cast.guardian)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    try:
        # One long analysis in flight, two waiting in the broker's queue behind it.
        before = [upload(api, cast, write_speechlike_wav(tmp_path / "a.wav", 60.0, seed=1))]
        before += [
            upload(api, cast, write_speechlike_wav(tmp_path / f"b{i}.wav", 15.0, seed=2 + i))
            for i in range(2)
        ]
        wait_for(
            lambda: AnalysisRun.objects.filter(
                recording_id=before[0], status=RunStatus.PROCESSING, progress__gt=0
            ).exists(),
            timeout=120,
            interval=0.1,
        )

        private_redis.stop()
        down_at = time.monotonic()
        during, upload_s = [], []
        for i in range(3):
            path = write_speechlike_wav(tmp_path / f"d{i}.wav", 10.0, seed=10 + i)
            started = time.monotonic()
            during.append(upload(api, cast, path))  # 201: stored, not a 500
            upload_s.append(time.monotonic() - started)
        with write_speechlike_wav(tmp_path / "p.wav", 4.0, seed=20).open("rb") as handle:
            response = guardian.post(
                reverse("api-exercise-attempts", args=[assignment.pk]),
                {"file": handle},
                format="multipart",
            )
        assert response.status_code == 201, response.content
        attempt = response.json()
        for recording_id in during:
            run = AnalysisRun.objects.get(recording_id=recording_id)
            assert (run.status, run.stage) == (RunStatus.QUEUED, STAGE_UNSENT)
            recording = Recording.objects.get(pk=recording_id)
            assert recording.file.name and recording.file.storage.exists(recording.file.name)
        assert Attempt.objects.get(pk=attempt["id"]).status == AttemptStatus.QUEUED
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        in_flight_done_during_outage = finished(before[:1])
        outage_s = time.monotonic() - down_at

        private_redis.start()
        back_at = time.monotonic()
        wait_for(lambda: finished(before + during), timeout=180, interval=0.5)
        analyses_back_s = time.monotonic() - back_at
        final = wait_for(
            lambda: (body := guardian.get(attempt["status_url"]).json())["final"] and body,
            timeout=120,
            interval=1.0,
        )
        attempt_back_s = time.monotonic() - back_at
    finally:
        lines = analyser.lines[-30:] + housekeeping.lines[-30:] + beat.lines[-20:]
        analyser.stop()
        housekeeping.stop()
        beat.stop()

    assert final["status"] == "done", (final, lines)
    assert Attempt.objects.get(pk=attempt["id"]).status == AttemptStatus.DONE
    runs = assert_analysed_exactly_once(before + during)
    print(
        f"\nbroker down {outage_s:.1f} s; uploads while down: {len(during)} analyses + 1 practice "
        f"attempt, all 201 ({max(upload_s):.2f} s at most each); the in-flight analysis "
        f"{'finished during' if in_flight_done_during_outage else 'finished after'} the outage; "
        f"{len(runs)} analyses done {analyses_back_s:.1f} s after the broker returned, "
        f"the practice attempt {attempt_back_s:.1f} s after; jobs lost: 0; "
        f"attempts {[r.attempts for r in runs]}"
    )
