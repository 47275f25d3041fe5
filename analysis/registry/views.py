"""Console pages of the emotion-model registry (clinic admins only; everyone else gets 404).

Thin: reads through ``analysis.registry.selectors``, writes through
``analysis.registry.services``, figures from ``analysis.registry.charts``.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from analysis.engine.audio.decode import AudioError
from analysis.engine.classifiers import compare as model_compare
from analysis.engine.classifiers.importing import ImportRejected
from analysis.models import EmotionModelVersion
from analysis.registry import active as registry
from analysis.registry import charts
from analysis.registry import selectors as registry_selectors
from analysis.registry import services as registry_services
from analysis.registry.forms import LabelMapForm, ModelImportForm, TryOnRecordingForm
from analysis.registry.services import RegistryError
from analysis.services import local_file_path
from sessions import access, audit
from sessions.models.audit import AuditAction

logger = logging.getLogger(__name__)


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    versions = registry_selectors.versions_for_clinic(clinic)
    page = Paginator(versions, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "console/models.html",
        {
            "clinic": clinic,
            "page": page,
            "active": registry_selectors.active_version_or_none(clinic),
            "shipped_available": registry.shipped_dir().is_dir(),
        },
    )


@login_required
def model_detail(request: HttpRequest, version_id: str) -> HttpResponse:
    version = access.get_version_for_admin(request.user, version_id)
    summary = registry_selectors.evaluation_summary(version)
    return render(
        request,
        "console/models_detail.html",
        {
            "version": version,
            "labels": registry_selectors.label_rows(version),
            "uncovered": registry_selectors.uncovered_canonical(version),
            "summary": summary,
            "figures": charts.evaluation_figures(summary),
            "history": registry_selectors.version_history(version),
            "evaluate_command": f"python manage.py evaluate_model {version.pk} --data <folder>",
        },
    )


def _status_action(
    request: HttpRequest, version_id: str, *, action: str, template_action: str
) -> HttpResponse:
    version = access.get_version_for_admin(request.user, version_id)
    if request.method == "POST":
        try:
            if action == "activate":
                registry_services.model_activate(
                    version=version,
                    actor=request.user,
                    request=request,
                    reason=request.POST.get("reason", ""),
                )
                messages.success(
                    request,
                    f"{version} is now the clinic's active model. New "
                    "analyses use it; analyses already running finish with the "
                    "previous model.",
                )
            elif action == "retire":
                registry_services.model_retire(version=version, actor=request.user, request=request)
                messages.success(request, f"{version} is retired.")
            else:
                registry_services.model_restage(
                    version=version, actor=request.user, request=request
                )
                messages.success(request, f"{version} is staged again.")
        except RegistryError as exc:
            messages.error(request, exc.message)
            if exc.code == "needs_reason":
                return redirect("console_model_activate", version_id=version.pk)
        return redirect("console_model_detail", version_id=version.pk)
    active = registry_selectors.active_version_or_none(version.clinic)
    context: dict[str, Any] = {"version": version, "action": template_action, "active": active}
    if template_action == "activate":
        from sessions.validation.selectors import activation_evidence

        # The agreement of both models on the same blind-labelled items (evidence gate).
        context["evidence"] = activation_evidence(version, active)
    return render(request, "console/models_confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def model_activate(request: HttpRequest, version_id: str) -> HttpResponse:
    return _status_action(request, version_id, action="activate", template_action="activate")


@login_required
@require_http_methods(["GET", "POST"])
def model_retire(request: HttpRequest, version_id: str) -> HttpResponse:
    return _status_action(request, version_id, action="retire", template_action="retire")


@login_required
@require_POST
def model_restage(request: HttpRequest, version_id: str) -> HttpResponse:
    return _status_action(request, version_id, action="restage", template_action="restage")


@login_required
@require_POST
def model_install_default(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    try:
        version = registry_services.register_shipped_default(
            clinic=clinic, actor=request.user, request=request
        )
    except RegistryError as exc:
        messages.error(request, exc.message)
        return redirect("console_models")
    if version is None:
        messages.info(request, "This clinic already has model versions; nothing was changed.")
        return redirect("console_models")
    messages.success(request, f"The shipped default model {version} is installed and active.")
    return redirect("console_model_detail", version_id=version.pk)


def _stage_upload(request: HttpRequest, form: ModelImportForm, clinic: Any) -> Any:
    upload: UploadedFile = form.cleaned_data["archive"]
    temp_path = getattr(upload, "temporary_file_path", None)
    with tempfile.TemporaryDirectory(prefix="ser-model-upload-") as tmp:
        if callable(temp_path):
            archive = Path(temp_path())
        else:
            archive = Path(tmp) / "upload"
            with archive.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
        return registry_services.model_import_stage(
            clinic=clinic,
            source=archive,
            origin=Path(upload.name or "upload").name,
            name=form.cleaned_data["name"],
            version=form.cleaned_data["version"],
            allow_pickle=form.cleaned_data["allow_pickle"],
            actor=request.user,
            source_kind="archive",
        )


@login_required
@require_http_methods(["GET", "POST"])
def model_import(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    form = ModelImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        error = None
        if form.is_valid():
            try:
                pending = _stage_upload(request, form, clinic)
            except (ImportRejected, RegistryError) as exc:
                error = exc.message
                form.add_error(None, error)
            else:
                url = reverse("console_model_import_confirm", kwargs={"token": pending.token})
                if _wants_json(request):
                    return JsonResponse({"redirect": url})
                return redirect(url)
        if _wants_json(request):
            errors = [str(e) for errs in form.errors.values() for e in errs]
            return JsonResponse({"errors": errors or [error or "The import failed."]}, status=400)
    return render(request, "console/models_import.html", {"clinic": clinic, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def model_import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    try:
        pending = registry_services.pending_import_get(
            clinic=clinic, token=token, actor=request.user
        )
    except LookupError as exc:
        raise Http404("Not found.") from exc
    form = LabelMapForm(
        request.POST if request.method == "POST" and "cancel" not in request.POST else None,
        labels=pending.labels,
        suggested=pending.suggested_map,
    )
    if request.method == "POST" and "cancel" in request.POST:
        registry_services.model_import_cancel(clinic=clinic, token=token, actor=request.user)
        messages.info(request, "Import cancelled; the uploaded files were removed.")
        return redirect("console_models")
    if request.method == "POST" and form.is_valid():
        try:
            version = registry_services.model_import_confirm(
                clinic=clinic,
                token=token,
                label_map=form.label_map(),
                actor=request.user,
                request=request,
            )
        except LookupError as exc:
            raise Http404("Not found.") from exc
        except (ImportRejected, RegistryError) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{version} was imported and is staged. Try it on a recording, then activate it.",
            )
            return redirect("console_model_detail", version_id=version.pk)
    return render(
        request,
        "console/models_import_confirm.html",
        {
            "pending": pending,
            "form": form,
            "fields": [(label, form[f"label_{i}"]) for i, label in enumerate(pending.labels)],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def model_try(request: HttpRequest, version_id: str) -> HttpResponse:
    version = access.get_version_for_admin(request.user, version_id)
    clinic = version.clinic
    active = registry_selectors.active_version_or_none(clinic)
    recordings = registry_selectors.recordings_for_trial(clinic)
    form = TryOnRecordingForm(request.POST or None, recordings=recordings)
    # The choices name children (by code) and session dates: a read of clinic data.
    audit.record(
        actor=request.user,
        action=AuditAction.LIST,
        object_type="recording",
        clinic_id=clinic.pk,
        request=request,
        detail={"count": len(recordings), "purpose": "model trial"},
    )
    context: dict[str, Any] = {
        "version": version,
        "active": active,
        "form": form,
        "has_recordings": bool(recordings),
    }
    if request.method == "POST" and form.is_valid():
        recording = access.get_trial_recording(request.user, clinic, form.cleaned_data["recording"])
        models = [version] if active is None or active.pk == version.pk else [active, version]
        context.update(_compare(request, recording, models, form.cleaned_data))
    return render(request, "console/models_try.html", context)


def _compare(
    request: HttpRequest, recording: Any, models: list[EmotionModelVersion], data: dict[str, Any]
) -> dict[str, Any]:
    audit.record_view(
        request,
        recording,
        child=recording.session.child,
        detail={
            "purpose": "model trial",
            "models": [str(m.pk) for m in models],
            "start_s": data["start_s"],
            "seconds": data["seconds"],
        },
    )
    try:
        with local_file_path(recording.file) as path:
            excerpt = model_compare.read_excerpt(
                path, start_s=data["start_s"], seconds=data["seconds"]
            )
    except AudioError as exc:
        return {"trial_error": f"The recording could not be read: {exc.message}"}
    except (ValueError, OSError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "The audio file is missing."
        return {"trial_error": message}
    try:
        # Loaded for this request only: caching staged models would keep them in every web
        # process's memory (the per-process cache is for workers, which use one model).
        classifiers = {
            str(m.pk): registry.load_for_inference(registry.model_dir(m)) for m in models
        }
    except Exception:
        logger.exception("Loading a model for a trial failed")
        return {
            "trial_error": "A model could not be loaded; check its files (detail page) "
            "or import it again."
        }
    windows, found_speech = model_compare.speech_windows(excerpt.audio)
    rows = model_compare.compare_models(classifiers, excerpt, windows)
    for row in rows:
        row["cells"] = [row["models"][str(m.pk)] for m in models]
    agreement = model_compare.agreement(rows)
    return {
        "trial": {
            "recording": recording,
            "models": models,
            "rows": rows,
            "found_speech": found_speech,
            "agreement_pct": round(100 * agreement) if agreement is not None else None,
            "start_s": excerpt.start_s,
            "end_s": excerpt.start_s + excerpt.duration_s,
        }
    }
