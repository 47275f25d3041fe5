"""The clinic admin console: people, assignments and the audit log of the admin's clinic."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from sessions import access, audit, services
from sessions import audit_log as audit_reading
from sessions.forms import AssignmentForm, ChildCreateForm, MemberInviteForm
from sessions.models import Child, Membership
from sessions.models.accounts import Invitation, InvitationStatus
from sessions.models.audit import AuditAction


@login_required
def console(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    return render(
        request,
        "console/index.html",
        {
            "clinic": clinic,
            "member_count": Membership.objects.filter(clinic=clinic).count(),
            "child_count": Child.objects.filter(clinic=clinic).count(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _ = services.member_invite(
                clinic=clinic, actor=request.user, request=request, **form.cleaned_data
            )
        except services.InvitationRefused as exc:
            form.add_error("email", str(exc))
        else:
            # The same words whether or not the address already has an account elsewhere.
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. They join {clinic.name} once they "
                "accept it.",
            )
            return redirect("console_members")
    page = Paginator(
        Membership.objects.filter(clinic=clinic)
        .select_related("user")
        .order_by("role", "user__email"),
        50,
    ).get_page(request.GET.get("page"))
    invitations = Invitation.objects.filter(
        clinic=clinic, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
    ).order_by("-created_at")
    return render(
        request,
        "console/members.html",
        {"clinic": clinic, "page": page, "form": form, "invitations": invitations},
    )


@login_required
@require_http_methods(["GET", "POST"])
def children(request: HttpRequest) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    form = ChildCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        child = services.child_create(
            clinic=clinic, actor=request.user, request=request, **form.cleaned_data
        )
        messages.success(request, f"Child {child.code} added. Assign a therapist next.")
        return redirect("console_assignments", child_id=child.pk)
    page = Paginator(
        Child.objects.filter(clinic=clinic).prefetch_related("therapists", "guardians"), 50
    ).get_page(request.GET.get("page"))
    audit.record(
        actor=request.user,
        action=AuditAction.LIST,
        object_type="child",
        clinic_id=clinic.pk,
        request=request,
        detail={"count": page.paginator.count},
    )
    return render(request, "console/children.html", {"clinic": clinic, "page": page, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def assignments(request: HttpRequest, child_id: str) -> HttpResponse:
    clinic = access.require_clinic_admin(request.user)
    child = access.get_child_for_user(request.user, child_id)
    if child.clinic_id != clinic.pk:
        return redirect("console_children")
    form = AssignmentForm(
        request.POST or None,
        child=child,
        initial={"therapists": child.therapists.all(), "guardians": child.guardians.all()},
    )
    if request.method == "POST" and form.is_valid():
        services.child_set_assignments(
            child=child,
            therapists=list(form.cleaned_data["therapists"]),
            guardians=list(form.cleaned_data["guardians"]),
            actor=request.user,
            request=request,
        )
        messages.success(request, "Assignments saved.")
        return redirect("console_children")
    # The page names the child and who looks after them.
    audit.record_child_view(request, child, detail={"form": "assignments"})
    return render(request, "console/assignments.html", {"child": child, "form": form})


@login_required
def audit_log(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The clinic's log, filtered by user, child, action and dates; ``?export=csv`` downloads
    every entry the filters select (the download itself is an entry of the log)."""
    clinic = access.require_clinic_admin(request.user)
    form = audit_reading.AuditFilterForm(request.GET, clinic=clinic)
    valid = form.is_valid()
    # Invalid filters show the errors beside the fields and no entries (never the whole log
    # under a filter the admin thinks applies).
    entries = audit_reading.events(clinic=clinic, filters=form.cleaned_data if valid else {})
    if not valid:
        entries = entries.none()
    if request.GET.get("export") == "csv" and valid:
        audit.record(
            actor=request.user,
            action=AuditAction.EXPORT,
            object_type="audit_log",
            clinic_id=clinic.pk,
            request=request,
            detail={"count": entries.count(), "filters": sorted(form.applied())},
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            audit_reading.csv_lines(entries, clinic=clinic), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return response
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = audit_reading.annotate(page.object_list, clinic=clinic)
    return render(
        request,
        "console/audit.html",
        {
            "page": page,
            "form": form,
            "filtered": bool(form.applied()),
            "time_zone": settings.TIME_ZONE,
        },
    )


AUDIT_PAGE_SIZE = 100
