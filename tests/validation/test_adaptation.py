"""Adapt to our clinic: a head trained on labels of children with training consent, evaluated
by child-level cross-validation on the blind labels, staged with its evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from analysis.models import EmotionModelVersion
from sessions.models import AuditEvent
from sessions.validation import jobs, services
from sessions.validation.models import (
    JobStatus,
    ReviewItem,
    SegmentPrediction,
    ValidationJob,
    ValidationSettings,
)
from tests.conftest import Cast, grant_consent
from tests.factories import ChildFactory, TherapySessionFactory
from tests.validation.helpers import analysed, features_model, label, tone_wav

pytestmark = pytest.mark.django_db


def _clinic_with_labels(cast: Cast) -> tuple[Any, list[Any]]:
    base = features_model(cast.clinic)
    ValidationSettings.objects.create(
        clinic=cast.clinic, weekly_sample_size=36, uncertain_share=0, second_rater_share=0
    )
    children = [cast.child]
    for _ in range(2):
        child = ChildFactory.create(clinic=cast.clinic)
        child.therapists.add(cast.therapist)
        children.append(child)
    for n, child in enumerate(children):
        session = (
            cast.session
            if child == cast.child
            else TherapySessionFactory.create(child=child, therapist=cast.therapist)
        )
        analysed(
            session,
            base,
            [(2.0 * i, 2.0 * i + 1.5, "neutral", 0.5) for i in range(12)],
            audio=tone_wav(25.0, seed=n),
        )
    services.weekly_sample_draw(clinic=cast.clinic)
    for i, item in enumerate(ReviewItem.objects.order_by("segment__start_s", "child_id")):
        label(item, "happy" if i % 2 else "sad")
    # Training consent for two of the three children.
    grant_consent(children[0], "training")
    grant_consent(children[1], "training")
    return base, children


def test_adaptation_stages_a_head_evaluated_by_child(cast: Cast, client: Any) -> None:
    base, children = _clinic_with_labels(cast)
    client.force_login(cast.admin)
    response = client.post(reverse("validation_adapt"))
    job = ValidationJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("validation_job", args=[job.pk])
    # Started twice: still one job.
    client.post(reverse("validation_adapt"))
    assert ValidationJob.objects.count() == 1

    assert jobs.job_run(job.pk) == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.progress == 100
    staged = job.result_version
    assert staged is not None and staged.status == "staged" and staged.source == "trained"
    assert staged.base_version_id == base.pk
    assert staged.evaluation["data"] == "blind labels, child-level cross-validation"
    # Trained on the 24 labels of the two consenting children only...
    assert job.detail["training_labels"] == 24
    trained_on = set(
        AuditEvent.objects.filter(
            object_type="segment", detail__purpose="training", detail__job=str(job.pk)
        ).values_list("child_id", flat=True)
    )
    assert trained_on == {children[0].pk, children[1].pk}
    # ... and evaluated, out of fold, on all 36 blind labels (the third child's too).
    predictions = SegmentPrediction.objects.filter(version=staged)
    assert predictions.count() == 36 and all(p.out_of_fold for p in predictions)
    assert job.detail["evaluated"] == 36
    # A second delivery of the task does nothing.
    assert jobs.job_run(job.pk) == "skipped"
    assert EmotionModelVersion.objects.filter(source="trained", base_version=base).count() == 1
    # The status page answers JSON for the page's poll.
    status = client.get(reverse("validation_job", args=[job.pk]), HTTP_ACCEPT="application/json")
    assert status.json()["status"] == "done" and status.json()["result"] == str(staged.pk)


def test_features_are_cached_so_reevaluating_needs_no_audio(cast: Cast) -> None:
    base, _children = _clinic_with_labels(cast)
    from analysis.registry import active as registry

    classifier = registry.load_for_inference(registry.model_dir(base))
    stretches = jobs._blind_stretches(cast.clinic)
    kept, x = jobs.stretch_features(classifier, stretches)
    assert len(kept) == 36
    # The recordings' audio goes: the cached features still answer.
    for stretch in stretches:
        stretch.recording.file.delete(save=False)
    again, y = jobs.stretch_features(classifier, stretches)
    assert len(again) == 36 and np.array_equal(x, y, equal_nan=True)


def test_erasing_a_childs_recordings_removes_their_cached_features(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    from analysis.registry import active as registry
    from sessions.families.services import child_recordings_erase

    base, _children = _clinic_with_labels(cast)
    classifier = registry.load_for_inference(registry.model_dir(base))
    jobs.stretch_features(classifier, jobs._blind_stretches(cast.clinic))
    folder = jobs.child_cache_dir(cast.child.pk)
    assert any(folder.iterdir())
    with django_capture_on_commit_callbacks(execute=True):
        child_recordings_erase(child=cast.child, actor=cast.admin, reason="test")
    assert not folder.exists()
    # Its blind labels went with its segments.
    assert not ReviewItem.objects.filter(child=cast.child).exists()


def test_too_few_consented_labels_fail_with_a_message(cast: Cast) -> None:
    base = features_model(cast.clinic)
    job = services.job_start(clinic=cast.clinic, kind="adapt", version=None, actor=cast.admin)
    assert job.version_id == base.pk
    assert jobs.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "at least 20" in job.error
    assert not EmotionModelVersion.objects.filter(source="trained", base_version=base).exists()


def test_a_staged_model_answers_the_blind_labels_for_comparison(cast: Cast, client: Any) -> None:
    _clinic_with_labels(cast)
    staged = features_model(cast.clinic, status="staged", name="candidate")
    client.force_login(cast.admin)
    response = client.post(reverse("validation_model_predict", args=[staged.pk]))
    assert response.status_code == 302
    job = ValidationJob.objects.get(kind="predict")
    assert jobs.job_run(job.pk) == "done"
    assert SegmentPrediction.objects.filter(version=staged, out_of_fold=False).count() == 36
    job.refresh_from_db()
    assert job.detail == {"answered": 36, "already": 0}
    page = client.get(reverse("console_model_activate", args=[staged.pk])).content.decode()
    assert "On the same 36 segments therapists labelled blind" in page


@pytest.mark.slow
def test_adapt_button_runs_on_a_real_worker_with_progress(
    cast: Cast, celery_worker: Any, client: Any
) -> None:
    from tests.celery_worker import wait_for

    base, _children = _clinic_with_labels(cast)
    client.force_login(cast.admin)
    job_url = client.post(reverse("validation_adapt")).url
    page = client.get(job_url).content.decode()
    assert 'id="job-progress"' in page

    def finished() -> Any:
        state = client.get(job_url, HTTP_ACCEPT="application/json").json()
        return state if not state["active"] else None

    state = wait_for(finished, timeout=240)
    assert state["status"] == "done", (state, celery_worker.lines[-20:])
    staged = EmotionModelVersion.objects.get(pk=state["result"])
    assert staged.status == "staged" and staged.base_version_id == base.pk
