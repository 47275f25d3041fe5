"""The pieces the fault tests rest on, one at a time: claiming under the run's lock, sending
again what is missing, and uploads while the broker is down (real PostgreSQL and Redis)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from analysis import services
from analysis.models import AnalysisRun, RunStatus
from sessions.models import Recording
from tests.analysis.audio_factory import write_speechlike_wav
from tests.conftest import Cast, grant_consent
from tests.factories import recording_for
from tests.reliability.conftest import upload
from tests.reliability.servers import PrivateRedis, producer_broker

pytestmark = pytest.mark.django_db(transaction=True)


def _run(cast: Cast, model: Any, **fields: Any) -> AnalysisRun:
    recording = recording_for(cast.session, content=f"RIFF{fields}".encode())
    return AnalysisRun.objects.create(
        recording=recording, model_version=model, queue=settings.SER_QUEUE_SHORT, **fields
    )


def _held_elsewhere(run: AnalysisRun) -> Any:
    """Another database session holding the run's lock, as a live worker analysing it does."""
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [services._lock_key(run.pk)])
    return other


def _sent_run_ids(broker: PrivateRedis) -> list[str]:
    """Run ids of the analysis tasks waiting in the broker's short queue."""
    client = redis.Redis(port=broker.port)
    messages = client.lrange(settings.SER_QUEUE_SHORT, 0, -1)
    return [json.loads(m)["headers"]["argsrepr"].strip("[]'\"") for m in messages]


def test_a_run_a_live_worker_holds_is_not_claimed_again_until_that_worker_is_gone(
    cast: Cast, active_model: Any, monkeypatch: Any
) -> None:
    assert connection.vendor == "postgresql"
    monkeypatch.setattr(services, "CLAIM_WAIT_S", 0.5)  # the claim gives up after waiting this
    run = _run(
        cast, active_model, status=RunStatus.PROCESSING, attempts=1, started_at=timezone.now()
    )
    worker = _held_elsewhere(run)
    assert services.run_claim(run.pk) is None  # a second delivery while it is being analysed
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.PROCESSING, 1)

    worker.close()  # the worker dies: its session, and the lock, end with it
    claimed = services.run_claim(run.pk)
    try:
        assert claimed is not None and claimed.attempts == 2
        # While claimed here, nobody else can claim it.
        other = connections.create_connection("default")
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [services._lock_key(run.pk)])
            assert cursor.fetchone() == (False,)
        other.close()
    finally:
        services.run_release(run.pk)


def test_a_finished_run_is_skipped_and_its_lock_given_back(cast: Cast, active_model: Any) -> None:
    run = _run(cast, active_model, status=RunStatus.DONE, attempts=1)
    assert services.run_claim(run.pk) is None
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [services._lock_key(run.pk)])
        assert cursor.fetchone() == (True,)
    other.close()


def test_recover_sends_unsent_and_abandoned_runs_but_never_live_or_recent_ones(
    cast: Cast, active_model: Any, private_redis: PrivateRedis
) -> None:
    long_ago = timezone.now() - dt.timedelta(seconds=settings.SER_STALE_RUN_S + 5)
    unsent = _run(cast, active_model, stage=services.STAGE_UNSENT)
    waiting = _run(cast, active_model)  # sent a moment ago, waiting in the queue
    forgotten = _run(cast, active_model)  # sent long ago and never picked up (message lost)
    AnalysisRun.objects.filter(pk=forgotten.pk).update(
        updated_at=timezone.now() - dt.timedelta(seconds=settings.SER_RESEND_QUEUED_AFTER_S + 5)
    )
    abandoned = _run(cast, active_model, status=RunStatus.PROCESSING, attempts=1)
    live = _run(cast, active_model, status=RunStatus.PROCESSING, attempts=1)
    busy = _run(cast, active_model, status=RunStatus.PROCESSING, attempts=1)
    AnalysisRun.objects.filter(pk__in=[abandoned.pk, live.pk]).update(updated_at=long_ago)
    live_worker = _held_elsewhere(live)  # no progress for a while, but its worker is alive
    try:
        assert services.runs_recover() == {
            "unsent": 1,
            "queued": 1,
            "abandoned": 1,
            "not_sent": 0,
        }
        assert sorted(_sent_run_ids(private_redis)) == sorted(
            [str(unsent.pk), str(forgotten.pk), str(abandoned.pk)]
        )
        unsent.refresh_from_db()
        assert (unsent.status, unsent.stage) == (RunStatus.QUEUED, "queued")
        # A second sweep right away sends nothing again.
        assert not any(services.runs_recover().values())
        assert len(_sent_run_ids(private_redis)) == 3
    finally:
        live_worker.close()
    assert {r.status for r in AnalysisRun.objects.filter(pk__in=[waiting.pk, busy.pk])} == {
        RunStatus.QUEUED,
        RunStatus.PROCESSING,
    }


def test_an_upload_while_the_broker_is_down_is_stored_and_sent_when_it_returns(
    api: Any, cast: Cast, active_model: Any, transactional_db: Any, tmp_path: Path
) -> None:
    grant_consent(cast.child)
    broker = PrivateRedis(tmp_path / "redis")  # not started yet: nothing listens on its port
    with producer_broker(broker.url):
        recording_id = upload(api, cast, write_speechlike_wav(tmp_path / "a.wav", 3.0))
        recording = Recording.objects.get(pk=recording_id)
        assert recording.file.name and recording.file.storage.exists(recording.file.name)
        run = AnalysisRun.objects.get(recording_id=recording_id)
        assert (run.status, run.stage) == (RunStatus.QUEUED, services.STAGE_UNSENT)
        assert services.runs_recover()["not_sent"] == 1  # still down: stays unsent
        run.refresh_from_db()
        assert run.stage == services.STAGE_UNSENT

        broker.start()
        try:
            assert services.runs_recover()["unsent"] == 1
            assert _sent_run_ids(broker) == [str(run.pk)]
        finally:
            broker.stop()
