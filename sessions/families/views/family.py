"""The family portal: a calm home page per child with released reports, a simple trend chart
and the practice exercises. Staff of the child may open it to see what the family sees."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from sessions import access, audit
from sessions.families import charts, selectors
from sessions.families.consent import has_consent
from sessions.families.models import ConsentPurpose
from sessions.families.presentation import report_context


@login_required
@require_GET
def family_home(request: HttpRequest) -> HttpResponse:
    children = access.children_visible_to(request.user).filter(guardians__pk=str(request.user.pk))
    if children.count() == 1:
        return redirect("family_child", child_id=children.get().pk)
    # The page names each of the family's children (or, for anyone else, none).
    audit.record_list(
        actor=request.user,
        object_type="child",
        queryset=children,
        clinic_field="clinic_id",
        request=request,
    )
    return render(request, "families/home.html", {"children": children})


@login_required
@require_GET
def family_child(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id)
    reports = selectors.reports_for_family(child=child)
    trend = selectors.family_trend(child=child)
    audit.record_child_view(request, child, detail={"page": "family"})
    is_guardian = access.is_guardian_of(request.user, child)
    return render(
        request,
        "families/child.html",
        {
            "child": child,
            "latest": reports[0] if reports else None,
            "earlier": reports[1:],
            "sharing": has_consent(child, ConsentPurpose.SHARING),
            "trend_chart": charts.trend_line(
                [(p["date"], p["calm_or_cheerful"]) for p in trend],
                uid="family-trend",
                title=f"How often {child.given_name} sounded calm or cheerful",
                axis_label="Calm or cheerful, share of speaking time",
            ),
            "trend": trend,
            "is_guardian": is_guardian,
            "consents": selectors.consent_overview(child=child) if is_guardian else None,
            "erasure": selectors.pending_erasure(child=child) if is_guardian else None,
            "preview": not is_guardian,
        },
    )


@login_required
@require_GET
def family_report(request: HttpRequest, report_id: str) -> HttpResponse:
    report = access.get_report_for_user(request.user, report_id)
    audit.record_view(request, report, child=report.child, detail={"page": "family"})
    newest = selectors.newest_released_in_series(report)
    context = report_context(report)
    context.update(
        {
            "preview": not access.is_guardian_of(request.user, report.child),
            "newer": newest if newest is not None and newest.version > report.version else None,
        }
    )
    return render(request, "families/report.html", context)
