"""Celery task for practice attempts: short clips on the short queue, feedback in seconds.

It is always sent with ``queue=settings.SER_QUEUE_SHORT`` (``attempts.queue_attempt``; Celery
deprecates the per-task ``queue`` attribute), and only short-queue workers consume that queue, so
feedback never waits behind a session analysis on the long queue. The task takes the attempt id
only. Late acknowledgement plus the claim in ``attempts.attempt_claim`` (a conditional UPDATE)
make a duplicate or redelivered message harmless; time limits are tight because a clip is at most
a minute long, so a stuck decoder can never hold a child's feedback (or the worker) for long.
The emotion model is loaded once per worker process (``analysis.registry.active.load_version``
caches it), and a worker that consumes the short queue loads it as soon as it starts.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import OperationalError

from sessions.exercises import attempts

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=True,
    max_retries=3,
    soft_time_limit=45,
    time_limit=60,
)
def analyse_attempt(self: Any, attempt_id: str) -> str:
    """Analyse one practice attempt and store its feedback.

    Changes: the attempt's status, results and timings. Twice: a finished attempt is skipped
    (the claim finds nothing to claim); an interrupted one is claimed again after it went stale
    and its results overwritten, never duplicated.
    """
    try:
        return attempts.attempt_process(attempt_id)
    except SoftTimeLimitExceeded:
        attempts.attempt_fail_unexpectedly(attempt_id, timeout=True)
        return "failed"
    except OperationalError:
        raise  # transient database trouble: Celery retries with backoff
    except Exception:
        # Ids only in the log: no names, no audio.
        logger.exception("practice attempt %s failed", attempt_id)
        attempts.attempt_fail_unexpectedly(attempt_id)
        return "failed"


@shared_task(acks_late=True, soft_time_limit=110, time_limit=120, ignore_result=True)
def warm_up_short_worker() -> str:
    """Load the active emotion models and the prosody code before the first attempt arrives.

    Changes nothing in the database. Twice: the second run finds everything loaded (cheap).
    """
    return f"warmed {attempts.warm_up()} model(s)"


@worker_ready.connect
def _warm_up_on_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that consumes the short queue asks itself to warm up, one task per pool
    process, so the first child's attempt does not pay for loading the model."""
    consumer = sender
    try:
        queues = set(consumer.app.amqp.queues.consume_from or {})
    except AttributeError:
        return
    if settings.SER_QUEUE_SHORT not in queues:
        return
    concurrency = int(getattr(getattr(consumer, "pool", None), "num_processes", 0) or 1)
    for _ in range(max(1, concurrency)):
        warm_up_short_worker.apply_async(queue=settings.SER_QUEUE_SHORT)
