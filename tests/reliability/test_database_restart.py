"""A PostgreSQL restart in the middle of an analysis ends in a retried, completed run.

The test database is copied into a private PostgreSQL cluster on its own port; the test process
and the worker both use it, and it is restarted (fast shutdown: every connection is ended, as
in a real restart or fail-over) while the worker is analysing. The worker's next query fails,
the task retries with backoff, the retry claims the run again and completes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection

from analysis.models import AnalysisRun, RunStatus
from tests.analysis.audio_factory import write_speechlike_wav
from tests.celery_worker import WorkerProcess, wait_for
from tests.conftest import Cast, grant_consent
from tests.reliability.conftest import assert_analysed_exactly_once, finished, upload
from tests.reliability.servers import PrivatePostgres

pytestmark = [pytest.mark.slow]

DOWN_S = 3.0


@pytest.fixture
def private_database(transactional_db: Any, cast: Cast, active_model: Any) -> Iterator[Any]:
    """This test's database, moved (with the cast and the model) onto a private cluster."""
    grant_consent(cast.child)
    cluster = PrivatePostgres()
    keys = ("HOST", "PORT", "USER")
    saved = {key: connection.settings_dict[key] for key in keys}
    try:
        cluster.init()
        cluster.start()
        cluster.copy_database(connection.settings_dict, connection.settings_dict["NAME"])
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=cluster.port, USER="postgres")
        yield cluster
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        cluster.destroy()


def _tolerant(predicate: Callable[[], bool]) -> Callable[[], bool]:
    """A wait predicate that reads 'not yet' while the database is away."""

    def check() -> bool:
        try:
            return predicate()
        except (OperationalError, InterfaceError):
            connection.close()
            return False

    return check


def test_database_restart_mid_analysis_ends_in_a_retried_completed_run(
    api: Any, cast: Cast, private_database: PrivatePostgres, queue_prefix: str, tmp_path: Path
) -> None:
    assert connection.settings_dict["PORT"] == private_database.port
    worker = WorkerProcess(queue_prefix)  # the shared RabbitMQ; the private database
    worker.start()
    try:
        recording_id = upload(api, cast, write_speechlike_wav(tmp_path / "s.wav", 90.0, seed=3))
        wait_for(
            lambda: AnalysisRun.objects.filter(
                recording_id=recording_id, status=RunStatus.PROCESSING, progress__gt=0
            ).exists(),
            timeout=120,
            interval=0.05,
        )
        connection.close()
        private_database.stop("fast")
        down_at = time.monotonic()
        time.sleep(DOWN_S)
        private_database.start()
        down_s = time.monotonic() - down_at
        wait_for(_tolerant(lambda: finished([recording_id])), timeout=240, interval=0.5)
        back_s = time.monotonic() - down_at
    finally:
        lines = list(worker.lines)
        worker.stop()

    (run,) = assert_analysed_exactly_once([recording_id])
    retries = [line for line in lines if "Retry in" in line]
    print(
        f"\nPostgreSQL restarted mid-analysis (down {down_s:.1f} s): run {run.status} after "
        f"{run.attempts} attempts, {len(retries)} Celery retr{'y' if len(retries) == 1 else 'ies'}"
        f", done {back_s:.1f} s after the shutdown; 1 run, segments 0..{run.segments.count() - 1}"
    )
    assert run.attempts == 2, (run.attempts, lines[-40:])
    assert retries, lines[-40:]
