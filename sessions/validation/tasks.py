"""Celery tasks of the clinic validation. They take ids only and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger(__name__)

JOB_TIME_LIMIT_S = 2 * 60 * 60


@shared_task(
    ignore_result=True, acks_late=True, soft_time_limit=JOB_TIME_LIMIT_S,
    time_limit=JOB_TIME_LIMIT_S + 300,
)  # fmt: skip
def run_validation_job(job_id: str) -> str:
    """Run an adaptation or prediction job (``sessions.validation.jobs``). Changes: the job's
    progress and result (a staged version, stored answers). Twice: the job is claimed once;
    the second delivery does nothing."""
    from sessions.validation import jobs, services
    from sessions.validation.models import JobStatus, ValidationJob

    try:
        return jobs.job_run(job_id)
    except SoftTimeLimitExceeded:
        job = ValidationJob.objects.get(pk=job_id)
        services.job_finish(job, status=JobStatus.FAILED, error="The job took too long.")
        return "failed"
    except Exception:
        logger.exception("validation job %s failed", job_id)
        job = ValidationJob.objects.get(pk=job_id)
        services.job_finish(
            job, status=JobStatus.FAILED, error="The job failed unexpectedly; see the worker log."
        )
        return "failed"


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def draw_weekly_samples() -> int:
    """Draw this week's blind-review sample in every clinic. Twice: nothing new (a therapist
    with this week's items gets none; a segment is sampled once)."""
    from sessions.validation.services import weekly_samples_draw_all

    return weekly_samples_draw_all()
