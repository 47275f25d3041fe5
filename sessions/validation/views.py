"""Pages of the clinic validation. Thin: access from ``sessions.access``, reads from
``selectors``, writes from ``services``, figures from ``charts``.

The blind-review page knows of an unanswered item only where its audio is (recording, start,
end): the model's label, confidence and speaker role are in neither the page nor any response
it fetches. They are shown after the answer, on the queue page.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analysis.models import EmotionModelVersion, ModelStatus
from sessions import access, audit
from sessions.models import User
from sessions.models.audit import AuditAction
from sessions.validation import charts, selectors, services
from sessions.validation.forms import ReviewAnswerForm, ValidationSettingsForm
from sessions.validation.models import JobKind, ReviewItem, ValidationJob


def _require_therapist(request: HttpRequest) -> User:
    if not isinstance(request.user, User) or not access.is_therapist(request.user):
        raise Http404("Not found.")
    return request.user


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    user = _require_therapist(request)
    queue = selectors.review_queue(rater=user)
    pending = [item for item in queue if not item.answered]
    answered = selectors.answered_with_model(rater=user)
    audit.record(
        actor=request.user,
        action=AuditAction.LIST,
        object_type="reviewitem",
        clinic_id=next(iter(access.clinic_ids_of(request.user)), None),
        request=request,
        detail={"count": len(queue)},
    )
    # The therapist's way to the evidence: their clinics' active models' validation pages.
    active_models = EmotionModelVersion.objects.filter(
        clinic_id__in=access.clinic_ids_of(user), status=ModelStatus.ACTIVE
    ).select_related("clinic")
    return render(
        request,
        "validation/review_queue.html",
        {"pending": pending, "answered": answered, "active_models": active_models},
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_item(request: HttpRequest, item_id: str) -> HttpResponse:
    item = access.get_review_item_for_rater(request.user, item_id)
    user = item.rater
    if item.answered_at is not None:
        messages.info(request, "You have answered this segment already.")
        return redirect("validation_review")
    form = ReviewAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_answer(
                item=item,
                rater=request.user,
                emotion=form.cleaned_data["emotion"],
                speaker=form.cleaned_data["speaker"],
                request=request,
            )
        except services.ValidationError as exc:
            messages.error(request, exc.message)
            return redirect("validation_review")
        following = (
            ReviewItem.objects.filter(rater=user, answered_at__isnull=True, child__therapists=user)
            .order_by("week", "created_at")
            .first()
        )
        messages.success(request, "Saved. Thank you.")
        if following is not None:
            return redirect("validation_review_item", item_id=following.pk)
        return redirect("validation_review")
    audit.record_child_view(request, item.child, detail={"purpose": "blind review"})
    shown = selectors.queue_item(item)
    remaining = ReviewItem.objects.filter(
        rater=user, answered_at__isnull=True, child__therapists=user
    ).count()
    return render(
        request,
        "validation/review_item.html",
        {
            "item": shown,
            "form": form,
            "remaining": remaining,
            "audio_url": reverse("recording_audio", kwargs={"recording_id": shown.recording_id}),
        },
        status=400 if request.method == "POST" else 200,
    )


def _viewer_children(request: HttpRequest, version: EmotionModelVersion) -> set[Any] | None:
    if access.is_admin_of_clinic(request.user, version.clinic_id):
        return None
    return set(access.children_visible_to(request.user).values_list("pk", flat=True))


@login_required
@require_GET
def model_validation(request: HttpRequest, version_id: str) -> HttpResponse:
    version = access.get_version_for_clinic_staff(request.user, version_id)
    viewer_children = _viewer_children(request, version)
    report = selectors.version_report(version, viewer_children=viewer_children)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=version,
        object_type="model_validation",
        clinic_id=version.clinic_id,
        request=request,
        detail={"items": report["n"], "children": len(report["children"])},
    )
    is_admin = viewer_children is None
    active = EmotionModelVersion.objects.filter(
        clinic=version.clinic, status=ModelStatus.ACTIVE
    ).first()
    return render(
        request,
        "validation/model_validation.html",
        {
            "version": version,
            "report": report,
            "figures": charts.validation_figures(report),
            "is_admin": is_admin,
            "active": active,
            "counts": selectors.review_counts(version.clinic),
            "predict_job": selectors.latest_job(version.clinic, JobKind.PREDICT),
            "small": 10,
        },
    )


@login_required
@require_GET
def model_validation_csv(request: HttpRequest, version_id: str) -> HttpResponse:
    version = access.get_version_for_clinic_staff(request.user, version_id)
    viewer_children = _viewer_children(request, version)
    rows = selectors.export_rows(version, viewer_children=viewer_children)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "segment_id",
            "week",
            "child_code",
            "speaker_by_therapist",
            "emotion_by_therapist",
            "emotion_by_second_therapist",
            "emotion_by_model",
            "model_confidence",
        ]
    )
    writer.writerows(rows)
    audit.record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=version,
        object_type="model_validation",
        clinic_id=version.clinic_id,
        request=request,
        detail={"rows": len(rows)},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="validation-{version.name}-{version.version}.csv"'
    )
    return response


@login_required
@require_POST
def model_predict(request: HttpRequest, version_id: str) -> HttpResponse:
    version = access.get_version_for_admin(request.user, version_id)
    try:
        services.job_start(
            clinic=version.clinic,
            kind=JobKind.PREDICT,
            version=version,
            actor=request.user,
            request=request,
        )
    except services.ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{version} is answering the blind-reviewed segments in the background."
        )
    return redirect("validation_model", version_id=version.pk)


@login_required
@require_http_methods(["GET", "POST"])
def clinic_validation(request: HttpRequest) -> HttpResponse:
    """The admin's page: sample settings, drawing this week's sample, adapting to the clinic."""
    clinic = access.require_clinic_admin(request.user)
    config = selectors.settings_for(clinic)
    form = ValidationSettingsForm(
        request.POST or None,
        initial={
            "weekly_sample_size": config.weekly_sample_size,
            "uncertain_share": round(100 * config.uncertain_share),
            "second_rater_share": round(100 * config.second_rater_share),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(
                clinic=clinic,
                weekly_sample_size=form.cleaned_data["weekly_sample_size"],
                uncertain_share=form.cleaned_data["uncertain_share"] / 100,
                second_rater_share=form.cleaned_data["second_rater_share"] / 100,
                actor=request.user,
                request=request,
            )
        except services.ValidationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Saved. The next weekly sample uses these settings.")
            return redirect("validation_clinic")
    active = EmotionModelVersion.objects.filter(clinic=clinic, status=ModelStatus.ACTIVE).first()
    return render(
        request,
        "validation/clinic.html",
        {
            "clinic": clinic,
            "form": form,
            "counts": selectors.review_counts(clinic),
            "active": active,
            "adapt_job": selectors.latest_job(clinic, JobKind.ADAPT),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def draw_sample(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    created = services.weekly_sample_draw(clinic=clinic)
    audit.record(
        actor=request.user,
        action=AuditAction.CREATE,
        object_type="reviewitem",
        clinic_id=clinic.pk,
        request=request,
        detail={"count": created},
    )
    messages.success(
        request,
        f"{created} segments were added to this week's blind review."
        if created
        else "Nothing new to sample this week: each therapist has this week's segments, or no "
        "analysed segments are waiting.",
    )
    return redirect("validation_clinic")


@login_required
@require_POST
def adapt_start(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    try:
        job = services.job_start(
            clinic=clinic, kind=JobKind.ADAPT, version=None, actor=request.user, request=request
        )
    except services.ValidationError as exc:
        messages.error(request, exc.message)
        return redirect("validation_clinic")
    return redirect("validation_job", job_id=job.pk)


@login_required
@require_GET
def job_status(request: HttpRequest, job_id: str) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    job = ValidationJob.objects.filter(pk=job_id, clinic=clinic).first() if _uuid(job_id) else None
    if job is None:
        raise Http404("Not found.")
    state = {
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "error": job.error,
        "active": job.status in ("queued", "running"),
        "result": str(job.result_version_id) if job.result_version_id else None,
    }
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(state)
    return render(request, "validation/job.html", {"job": job, "state": state})


def _uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
