"""Celery tasks of the model registry (registered by ``AnalysisConfig.ready``: Celery's
autodiscovery only looks at ``analysis.tasks``). They take ids only and call services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger(__name__)

# Scoring a large model on a thousand clips on a CPU can take hours.
EVALUATION_TIME_LIMIT_S = 6 * 60 * 60


@shared_task(
    ignore_result=True,
    acks_late=True,
    soft_time_limit=EVALUATION_TIME_LIMIT_S,
    time_limit=EVALUATION_TIME_LIMIT_S + 300,
)
def evaluate_model_version(version_id: str, job_id: str) -> str:
    """Evaluate a model version on labelled audio, started from the clinic console
    (``analysis.registry.evaluation``). Changes: the version's evaluation job and, when it
    finishes, its figures. Twice: the job is claimed once, the second delivery does nothing."""
    from analysis.registry import evaluation

    try:
        return evaluation.evaluation_run(version_id, job_id)
    except SoftTimeLimitExceeded:
        evaluation.evaluation_fail(
            version_id, job_id, "The evaluation took too long and was stopped."
        )
        return "failed"
    except Exception:
        # Logged with ids only.
        logger.exception("evaluation %s of model version %s failed", job_id, version_id)
        evaluation.evaluation_fail(
            version_id, job_id, "The evaluation failed unexpectedly; the worker's log has details."
        )
        return "failed"
