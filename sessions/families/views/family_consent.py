"""Consent online, for guardians: review what was agreed, give or withdraw consent (signed by
typing one's name), and undo a withdrawal of recording consent within 24 hours.

Only the child's guardian signs here: the child's staff are sent to the staff consent page
(reading) or refused (signing), everyone else gets a 404. Every page that shows the child's
consent writes one audit entry.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions import access, audit
from sessions.families import selectors, services
from sessions.families.consent import purpose_or_404
from sessions.families.forms import OnlineSignatureForm
from sessions.families.models import (
    ERASURE_UNDO_WINDOW,
    ConsentPurpose,
    ErasureStatus,
    ScheduledErasure,
)
from sessions.models import Child

# What withdrawing does, in the family's words (the staff page has the clinic's wording).
WITHDRAW_EFFECTS: dict[str, str] = {
    "recording": "No new recordings of {name} can be made from now on. In 24 hours every "
    "recording of {name} is deleted, with everything worked out from it: the emotion "
    "analyses, the therapist's corrections and the practice tries. Sessions and the "
    "therapist's notes stay.",
    "analysis": "New recordings of {name} are kept but no longer analysed by the computer. "
    "Results worked out before stay.",
    "sharing": "You no longer see progress reports about {name} here, and the therapist "
    "cannot share new ones.",
    "training": "{name}'s recordings are no longer used to improve the emotion models from now on.",
}


def _child_for_guardian(request: HttpRequest, child_id: str) -> Child:
    """The child, if the user may see it (404 otherwise); only a guardian may sign (403)."""
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_guardian_of(request.user, child):
        raise PermissionDenied("Only the child's guardian can give or withdraw consent online.")
    return child


def _audit_view(request: HttpRequest, child: Child, **detail: Any) -> None:
    audit.record_consent_view(request, child, detail={"page": "family", **detail})


@login_required
@require_GET
def family_consent(request: HttpRequest, child_id: str) -> HttpResponse:
    """What the guardian agreed to (the text version they saw), and the way to change it."""
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_guardian_of(request.user, child):
        return redirect("child_consent", child_id=child.pk)
    _audit_view(request, child)
    return render(
        request,
        "families/family_consent.html",
        {
            "child": child,
            "overview": selectors.consent_overview(child=child),
            "texts": selectors.consent_texts_current(clinic=child.clinic),
            "online": selectors.online_consent_purposes(clinic=child.clinic),
            "erasure": selectors.pending_erasure(child=child),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def family_consent_give(request: HttpRequest, child_id: str, purpose: str) -> HttpResponse:
    child = _child_for_guardian(request, child_id)
    purpose = purpose_or_404(purpose)
    text = selectors.consent_text_current(clinic=child.clinic, purpose=purpose)
    form = OnlineSignatureForm(
        request.POST or None,
        agree_label="I have read this text and I agree to it",
        initial={"text_version": text.version if text else None},
    )
    if request.method == "POST" and text is not None and form.is_valid():
        try:
            services.consent_give_online(
                child=child,
                purpose=purpose,
                guardian=request.user,
                signature=form.cleaned_data["signature"],
                text_version=form.cleaned_data["text_version"] or 0,
                request=request,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Thank you. Your consent to {purpose.label.lower()} is recorded and the clinic "
                "has been told.",
            )
            return redirect("family_consent", child_id=child.pk)
    _audit_view(request, child, form="give", purpose=purpose.value)
    return render(
        request,
        "families/family_consent_give.html",
        {
            "child": child,
            "purpose": purpose,
            "text": text,
            "form": form,
            "allowed": purpose.value in selectors.online_consent_purposes(clinic=child.clinic),
            "live": selectors.consent_live(child=child, purpose=purpose),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def family_consent_withdraw(request: HttpRequest, child_id: str, purpose: str) -> HttpResponse:
    """The confirmation step: what withdrawing does (for recordings: what is deleted, and
    when), then the signature."""
    child = _child_for_guardian(request, child_id)
    purpose = purpose_or_404(purpose)
    form = OnlineSignatureForm(
        request.POST or None, agree_label="I understand what withdrawing this consent does"
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.consent_withdraw_online(
                child=child,
                purpose=purpose,
                guardian=request.user,
                signature=form.cleaned_data["signature"],
                request=request,
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            if result.record is None:
                messages.info(request, "This consent was not in force, so nothing changed.")
            elif result.erasure is not None:
                messages.warning(
                    request,
                    "Recording consent withdrawn. The recordings will be deleted after "
                    f"{timezone.localtime(result.erasure.due_at):%A %d %B, %H:%M}. You can "
                    "undo this until then.",
                )
            else:
                messages.success(
                    request,
                    f"Your consent to {purpose.label.lower()} is withdrawn and the clinic has "
                    "been told.",
                )
            return redirect("family_consent", child_id=child.pk)
    _audit_view(request, child, form="withdraw", purpose=purpose.value)
    live = selectors.consent_live(child=child, purpose=purpose)
    return render(
        request,
        "families/family_consent_withdraw.html",
        {
            "child": child,
            "purpose": purpose,
            "form": form,
            "live": live,
            "allowed": purpose.value in selectors.online_consent_purposes(clinic=child.clinic),
            "effect": WITHDRAW_EFFECTS[purpose.value].format(name=child.given_name),
            "erases": purpose == ConsentPurpose.RECORDING,
            "due_at": timezone.now() + ERASURE_UNDO_WINDOW,
            "preview": selectors.erasure_preview(child=child)
            if purpose == ConsentPurpose.RECORDING
            else None,
        },
    )


@login_required
@require_POST
def family_erasure_undo(request: HttpRequest, erasure_id: str) -> HttpResponse:
    try:
        erasure = ScheduledErasure.objects.select_related("child").get(
            pk=erasure_id, child__in=access.children_visible_to(request.user)
        )
    except (ScheduledErasure.DoesNotExist, ValueError) as exc:
        raise Http404("Not found.") from exc
    child = _child_for_guardian(request, str(erasure.child_id))
    try:
        services.erasure_undo(erasure=erasure, guardian=request.user, request=request)
    except services.OnlineConsentRefused as exc:
        messages.error(request, str(exc))
    else:
        if erasure.status == ErasureStatus.CANCELLED:
            messages.info(request, "This was already undone.")
        else:
            messages.success(
                request,
                "Undone. Nothing will be deleted, and your recording consent is in force again.",
            )
    return redirect("family_consent", child_id=child.pk)
