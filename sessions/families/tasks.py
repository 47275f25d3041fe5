"""Periodic tasks of the families app. They take ids only and call services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from sessions.families.retention import retention_apply


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
