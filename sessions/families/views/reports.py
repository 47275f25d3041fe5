"""Progress reports for staff: compose, preview, release, correct, and the PDF (for everyone
who may read the report)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions import access, audit
from sessions.families import selectors, services
from sessions.families.consent import ConsentMissing, has_consent
from sessions.families.forms import ReportForm
from sessions.families.models import ConsentPurpose, ProgressReport, ReportLocked
from sessions.families.pdf import report_pdf, report_pdf_filename
from sessions.families.presentation import report_context
from sessions.models.audit import AuditAction


@login_required
@require_GET
def report_list(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_staff_reader(request.user, child):
        return redirect("family_child", child_id=child.pk)
    reports = selectors.reports_for_staff(child=child)
    audit.record(
        actor=request.user,
        action=AuditAction.LIST,
        object_type="progressreport",
        child=child,
        request=request,
        detail={"count": len(reports)},
    )
    return render(
        request,
        "families/report_list.html",
        {
            "child": child,
            "reports": reports,
            "can_edit": access.is_therapist_of(request.user, child),
            "sharing": has_consent(child, ConsentPurpose.SHARING),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_create(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id, write=True)
    today = timezone.localdate()
    form = ReportForm(
        request.POST or None,
        child=child,
        initial={"period_start": today - dt.timedelta(days=90), "period_end": today},
    )
    if request.method == "POST" and form.is_valid():
        # The form's fields are the report's: a new one reaches both composing and editing.
        report = services.report_create(
            child=child, actor=request.user, request=request, **form.cleaned_data
        )
        messages.success(
            request,
            "Draft saved. Check the preview, then release it to the family when it is ready.",
        )
        return redirect("report_detail", report_id=report.pk)
    # The form names the child and offers their sessions to include.
    audit.record_child_view(request, child, detail={"form": "report_create"})
    return render(request, "families/report_form.html", {"child": child, "form": form})


@login_required
@require_GET
def report_detail(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id)
    if not access.is_staff_reader(request.user, report.child):
        return redirect("family_report", report_id=report.pk)
    audit.record_view(request, report, child=report.child)
    context = report_context(report)
    context.update(
        {
            "can_edit": access.is_therapist_of(request.user, report.child),
            "sharing": has_consent(report.child, ConsentPurpose.SHARING),
            "versions": ProgressReport.objects.filter(series=report.series).order_by("-version"),
        }
    )
    return render(request, "families/report_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id, write=True)
    if report.is_released:
        messages.error(request, str(ReportLocked()))
        return redirect("report_detail", report_id=report.pk)
    form = ReportForm(
        request.POST or None,
        child=report.child,
        initial={
            "title": report.title,
            "period_start": report.period_start,
            "period_end": report.period_end,
            "sessions": list(report.sessions.all()),
            "comments": report.comments,
            "include_listening": bool(report.summary.get(selectors.LISTENING_CHOICE)),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.report_update(
                report=report, actor=request.user, request=request, **form.cleaned_data
            )
        except ReportLocked as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Draft saved.")
        return redirect("report_detail", report_id=report.pk)
    # The form shows the stored draft: a read of the child's report.
    audit.record_view(request, report, child=report.child, detail={"form": "edit"})
    return render(
        request,
        "families/report_form.html",
        {"child": report.child, "form": form, "report": report},
    )


@login_required
@require_POST
def report_release(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id, write=True)
    try:
        services.report_release(report=report, actor=request.user, request=request)
    except ConsentMissing as exc:
        messages.error(
            request, f"{exc} The report stays a draft; a clinic admin can record the consent."
        )
    else:
        messages.success(request, "Released. The family can now read this report.")
    return redirect("report_detail", report_id=report.pk)


@login_required
@require_POST
def report_revise(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id, write=True)
    correction = services.report_revise(report=report, actor=request.user, request=request)
    if correction.pk != report.pk:
        messages.info(
            request,
            f"Version {correction.version} started as a draft. The family "
            "keeps seeing the released version until you release this one.",
        )
    return redirect("report_edit", report_id=correction.pk)


@login_required
@require_POST
def report_discard(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id, write=True)
    try:
        services.report_discard(report=report, actor=request.user, request=request)
    except ReportLocked as exc:
        messages.error(request, str(exc))
        return redirect("report_detail", report_id=report.pk)
    messages.success(request, "Draft deleted.")
    return redirect("report_list", child_id=report.child_id)


@login_required
@require_GET
def report_pdf_download(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id)
    pdf = report_pdf(report)
    audit.record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=report,
        child=report.child,
        request=request,
        detail={"format": "pdf", "version": report.version},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_pdf_filename(report)}"'
    response["Cache-Control"] = "private, no-store"
    return response
