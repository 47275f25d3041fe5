"""Clinic validation: the blind review (its rater only), a model's validation page (staff of
its clinic), the admin's settings, sample, adaptation and jobs (the clinic's admins only)."""

from __future__ import annotations

from typing import Any

from tests.authz.entries_registry import _version
from tests.authz.matrix import ANY_ADMIN, ANY_ADMIN_WRITES, LOGIN, OWN_ADMIN, Endpoint, each
from tests.conftest import Cast


def _item(cast: Cast) -> dict[str, Any]:
    """A blind-review item of the cast's therapist, on a segment of the cast's recording."""
    from analysis.models import AnalysisRun, Segment
    from sessions.validation.models import ReviewItem

    if "review_item" not in cast.extra:
        run = AnalysisRun.objects.create(
            recording=cast.recording, model_version=_version(cast), status="done"
        )
        segment = Segment.objects.create(
            run=run, index=0, start_s=0.0, end_s=2.0, speaker="child", speaker_confidence=0.9,
            emotion="happy", confidence=0.8, valence=0.0, arousal=0.0,
        )  # fmt: skip
        cast.extra["review_item"] = ReviewItem.objects.create(
            segment=segment, child=cast.child, rater=cast.therapist, week="2026-09-28",
            reason="random",
        )  # fmt: skip
    return {"item_id": cast.extra["review_item"].pk}


def _version_kwargs(cast: Cast) -> dict[str, Any]:
    return {"version_id": _version(cast).pk}


def _job(cast: Cast) -> dict[str, Any]:
    from sessions.validation.models import ValidationJob

    if "validation_job" not in cast.extra:
        cast.extra["validation_job"] = ValidationJob.objects.create(
            clinic=cast.clinic, kind="predict", version=_version(cast), status="done"
        )
    return {"job_id": cast.extra["validation_job"].pk}


RATER = each(404, therapist=200, anonymous=LOGIN)
STAFF = each(404, therapist=200, other_therapist=200, admin=200, anonymous=LOGIN)

ENTRIES = [
    Endpoint("validation_review", each(404, therapist=200, other_therapist=200, anonymous=LOGIN)),
    Endpoint("validation_review_item", RATER, kwargs=_item),
    Endpoint(
        "validation_review_item",
        each(404, therapist=302, anonymous=LOGIN),
        method="post",
        kwargs=_item,
        data=lambda c: {"emotion": "sad", "speaker": "child"},
        label="answer",
    ),
    Endpoint("validation_model", STAFF, kwargs=_version_kwargs),
    Endpoint("validation_model_csv", STAFF, kwargs=_version_kwargs),
    Endpoint(
        "validation_model_predict",
        each(404, admin=302, anonymous=LOGIN),
        method="post",
        kwargs=_version_kwargs,
    ),
    Endpoint("validation_clinic", ANY_ADMIN),
    Endpoint(
        "validation_clinic",
        ANY_ADMIN_WRITES,
        method="post",
        data=lambda c: {
            "weekly_sample_size": "10",
            "uncertain_share": "40",
            "second_rater_share": "20",
        },
        label="post",
    ),
    Endpoint("validation_draw_sample", ANY_ADMIN_WRITES, method="post"),
    # No active model in the matrix's clinics: a redirect with the reason.
    Endpoint("validation_adapt", ANY_ADMIN_WRITES, method="post"),
    Endpoint("validation_job", OWN_ADMIN, kwargs=_job),
]
