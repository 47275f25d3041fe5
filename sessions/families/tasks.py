"""Periodic tasks of the families app. They take ids only and call services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from sessions.families.retention import retention_apply
from sessions.families.services import erasures_run_due


@shared_task(
    name="sessions.families.tasks.apply_retention", soft_time_limit=60 * 60, time_limit=65 * 60
)
def apply_retention() -> list[dict[str, Any]]:
    """Delete audio past each clinic's retention period (daily, from Celery beat).

    Idempotent: recordings already handled are skipped, so a second run the same day (or a
    redelivered message) deletes nothing more. Returns the per-clinic counts (ids and numbers
    only).
    """
    return [outcome.as_dict() for outcome in retention_apply()]


@shared_task(
    name="sessions.families.tasks.run_due_erasures", soft_time_limit=30 * 60, time_limit=35 * 60
)
def run_due_erasures() -> list[dict[str, Any]]:
    """Erase the recordings of children whose guardian withdrew recording consent online more
    than 24 hours ago and did not undo it (every 15 minutes, from Celery beat).

    A periodic task rather than one task per withdrawal with a 24-hour ``eta``: a message held
    that long by a worker outlives the broker's consumer timeout (RabbitMQ's default is 30
    minutes) and is redelivered or dropped. Idempotent: each erasure is claimed with a
    conditional UPDATE, so a second run or a redelivered message deletes nothing more.
    """
    return erasures_run_due()
