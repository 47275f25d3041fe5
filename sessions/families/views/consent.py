"""Consent pages: the clinic console's texts and overview, and each child's consent record.

Clinic admins record and revoke consent; a child's therapists see it. Guardians see their
child's consents on the family page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from sessions import access, audit
from sessions.families import selectors, services
from sessions.families.consent import purpose_or_404
from sessions.families.export import child_export_archive
from sessions.families.forms import (
    DEFAULT_TEXTS,
    ConsentGrantForm,
    ConsentRevokeForm,
    ConsentTextForm,
    OnlineConsentPolicyForm,
    RetentionForm,
)
from sessions.families.models import ConsentPurpose, ConsentText
from sessions.models.audit import AuditAction

PAGE_SIZE = 25

REVOKE_EFFECTS: dict[str, str] = {
    "recording": "No new recordings can be uploaded for this child, and every existing "
    "recording is deleted now: the audio files, the emotion analyses, the "
    "therapist corrections on them and the practice attempts. Sessions and their "
    "notes stay. This cannot be undone.",
    "analysis": "New recordings are stored but not analysed; they wait until consent is given "
    "again. Existing analysis results stay.",
    "sharing": "The family no longer sees progress reports in the portal, and no new report "
    "can be released.",
    "training": "The child's recordings are no longer used to improve the emotion models from "
    "now on.",
}


@login_required
@require_http_methods(["GET", "POST"])
def console_consent(request: HttpRequest) -> HttpResponse:
    """The console's consent page: texts, every child's consents, and the retention period."""
    clinic = access.require_clinic_admin(request.user)
    online_post = request.method == "POST" and "online_purposes" in request.POST
    online_form = OnlineConsentPolicyForm(
        request.POST if online_post else None,
        initial={"purposes": selectors.online_consent_purposes(clinic=clinic)},
    )
    if online_post and online_form.is_valid():
        services.clinic_set_online_purposes(
            clinic=clinic,
            purposes=online_form.cleaned_data["purposes"],
            actor=request.user,
            request=request,
        )
        messages.success(request, "Saved which consents guardians may change online.")
        return redirect("console_consent")
    form = RetentionForm(
        None if online_post else request.POST or None,
        initial={"audio_retention_days": clinic.audio_retention_days},
    )
    if request.method == "POST" and not online_post and form.is_valid():
        services.clinic_set_retention(
            clinic=clinic,
            days=form.cleaned_data["audio_retention_days"],
            actor=request.user,
            request=request,
        )
        messages.success(request, "Retention period saved. It is applied every night.")
        return redirect("console_consent")
    page = Paginator(
        selectors.children_with_live_consent(clinic=clinic).order_by("given_name", "code"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    audit.record(
        actor=request.user,
        action=AuditAction.LIST,
        object_type="consentrecord",
        clinic_id=clinic.pk,
        request=request,
        detail={"count": page.paginator.count},
    )
    texts = selectors.consent_texts_current(clinic=clinic)
    return render(
        request,
        "families/console_consent.html",
        {
            "clinic": clinic,
            "page": page,
            "purposes": [(p.value, p.label, texts[p.value]) for p in ConsentPurpose],
            "form": form,
            "online_form": online_form,
            "online_changes": selectors.online_consent_changes(clinic=clinic),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def console_consent_text(request: HttpRequest, purpose: str) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    purpose = purpose_or_404(purpose)
    current = selectors.consent_text_current(clinic=clinic, purpose=purpose)
    form = ConsentTextForm(
        request.POST or None,
        initial={"body": current.body if current else DEFAULT_TEXTS[purpose.value]},
    )
    if request.method == "POST" and form.is_valid():
        text = services.consent_text_publish(
            clinic=clinic,
            purpose=purpose,
            body=form.cleaned_data["body"],
            actor=request.user,
            request=request,
        )
        if current is not None and text.pk == current.pk:
            messages.info(request, "The wording is unchanged, so no new version was made.")
        else:
            messages.success(
                request,
                f"Version {text.version} is now the consent text for {purpose.label.lower()}.",
            )
        return redirect("console_consent")
    history = (
        ConsentText.objects.filter(clinic=clinic, purpose=purpose)
        .select_related("created_by")
        .order_by("-version")
    )
    return render(
        request,
        "families/console_consent_text.html",
        {
            "purpose": purpose,
            "current": current,
            "form": form,
            "history": history,
        },
    )


@login_required
@require_GET
def child_consent(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_staff_reader(request.user, child):
        return redirect("family_child", child_id=child.pk)
    audit.record_consent_view(request, child)
    return render(
        request,
        "families/child_consent.html",
        {
            "child": child,
            "overview": selectors.consent_overview(child=child),
            "texts": selectors.consent_texts_current(clinic=child.clinic),
            "can_manage": access.is_admin_of_clinic(request.user, child.clinic_id),
            "erasure": selectors.pending_erasure(child=child),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def child_consent_grant(request: HttpRequest, child_id: str, purpose: str) -> HttpResponse:
    child = access.get_child_for_consent_admin(request.user, child_id)
    purpose = purpose_or_404(purpose)
    text = selectors.consent_text_current(clinic=child.clinic, purpose=purpose)
    form = ConsentGrantForm(request.POST or None)
    if request.method == "POST" and text is not None and form.is_valid():
        try:
            services.consent_grant(
                child=child,
                purpose=purpose,
                given_by=form.cleaned_data["given_by"],
                actor=request.user,
                request=request,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Consent to {purpose.label.lower()} recorded.")
            return redirect("child_consent", child_id=child.pk)
    # The form names the child and the consent wording in force for them.
    audit.record_consent_view(request, child, detail={"form": "grant", "purpose": purpose.value})
    return render(
        request,
        "families/consent_grant.html",
        {
            "child": child,
            "purpose": purpose,
            "text": text,
            "form": form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def child_consent_revoke(request: HttpRequest, child_id: str, purpose: str) -> HttpResponse:
    child = access.get_child_for_consent_admin(request.user, child_id)
    purpose = purpose_or_404(purpose)
    needs_code = purpose == ConsentPurpose.RECORDING
    form = ConsentRevokeForm(request.POST or None, child=child, needs_code=needs_code)
    live = selectors.consent_live(child=child, purpose=purpose)
    if request.method == "POST" and form.is_valid():
        result = services.consent_revoke(
            child=child, purpose=purpose, actor=request.user, request=request
        )
        if result.record is None:
            messages.info(request, "There was no consent in force to revoke.")
        elif result.erased is not None:
            messages.success(
                request,
                (
                    f"Recording consent revoked. Deleted {result.erased['recordings']} "
                    "recording(s) and everything derived from them."
                ),
            )
        else:
            messages.success(request, f"Consent to {purpose.label.lower()} revoked.")
        return redirect("child_consent", child_id=child.pk)
    # The page shows the consent in force (who gave it, when) and what revoking would erase.
    audit.record_consent_view(request, child, detail={"form": "revoke", "purpose": purpose.value})
    return render(
        request,
        "families/consent_revoke.html",
        {
            "child": child,
            "purpose": purpose,
            "form": form,
            "live": live,
            "effect": REVOKE_EFFECTS[purpose.value],
            "preview": selectors.erasure_preview(child=child) if needs_code else None,
        },
    )


@login_required
@require_GET
def child_export(request: HttpRequest, child_id: str) -> HttpResponseBase:
    """Right of access: the guardian, or a clinic admin on their behalf, downloads the archive."""
    child = access.get_child_for_user(request.user, child_id)
    if not (
        access.is_guardian_of(request.user, child)
        or access.is_admin_of_clinic(request.user, child.clinic_id)
    ):
        raise PermissionDenied("The guardian or a clinic admin can download this child's data.")
    archive = child_export_archive(child=child, actor=request.user, request=request)
    response = FileResponse(
        archive.file, as_attachment=True, filename=archive.filename, content_type="application/zip"
    )
    response["Content-Length"] = str(archive.size)
    response["Cache-Control"] = "private, no-store"
    return response
