"""Web pages for staff and families. Access goes through sessions.access; audit on every read."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from analysis.voices.selectors import child_print_status
from sessions import access, audit, services
from sessions.forms import TherapySessionForm
from sessions.models import Child
from sessions.workspace import markers as workspace_markers  # workspace
from sessions.workspace import selectors as workspace_selectors  # workspace
from sessions.workspace import views as workspace_views  # workspace
from sessions.workspace.forms import SessionGoalForm  # workspace

PAGE_SIZE = 25


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if access.is_therapist(request.user):
        return redirect("children")
    if access.is_clinic_admin(request.user):
        return redirect("console")
    if access.is_guardian(request.user):
        return redirect("family_home")
    return render(request, "portal/no_role.html")


@login_required
def child_list(request: HttpRequest) -> HttpResponse:
    if not access.is_staff_member(request.user):
        return redirect("home")
    query = request.GET.get("q", "").strip()
    children = access.children_visible_to(request.user).annotate(
        session_count=Count("sessions", distinct=True)
    )
    # workspace: last session, practice tries to review, failed analyses
    children = workspace_selectors.children_overview(
        children, sessions=access.sessions_visible_to(request.user)
    )
    if query:
        children = children.filter(
            Q(code__icontains=query)
            | Q(given_name__icontains=query)
            | Q(family_name__icontains=query)
        )
    page = Paginator(children.order_by("given_name", "code"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit.record_list(
        actor=request.user,
        object_type="child",
        queryset=children,
        clinic_field="clinic_id",
        request=request,
    )
    return render(request, "portal/child_list.html", {"page": page, "query": query})


def _voice_baseline_context(child: Child) -> dict[str, Any]:
    """Whether the child's voice calibrates their estimates, and by how much it did lately."""
    from analysis.engine.emotion.baseline import MIN_CLIPS
    from analysis.selectors import child_baseline_effect
    from sessions.exercises.baselines import voice_baseline_sources

    tries = voice_baseline_sources(child=child)
    effect = child_baseline_effect(child)
    return {
        "tries": tries,
        "needed": MIN_CLIPS,
        "exists": tries >= MIN_CLIPS,
        "effect": effect,
        "changed_percent": round(100 * effect["label_changed_share"]) if effect else None,
        "shift_percent": round(100 * effect["mean_shift"]) if effect else None,
    }


@login_required
def child_detail(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_staff_in(request.user, child.clinic_id):
        return redirect("family_child", child_id=child.pk)
    sessions = (
        access.sessions_visible_to(request.user)
        .filter(child=child)
        .select_related("therapist")
        .annotate(recording_count=Count("recordings"))
    )
    page = Paginator(sessions.order_by("-date", "-created_at"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit.record_child_view(request, child)
    return render(
        request,
        "portal/child_detail.html",
        {
            "child": child,
            "page": page,
            "can_edit": access.is_therapist_of(request.user, child),
            "voice_baseline": _voice_baseline_context(child),
            "voice_print": child_print_status(child),
            # workspace: the child's trend charts (sessions/workspace/views.py)
            **workspace_views.child_trends_context(request, child),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_create(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id, write=True)
    form = TherapySessionForm(request.POST or None, child=child, therapist=request.user)
    # workspace: an optional goal, drawn on the child's trends from the session's date
    goal_form = SessionGoalForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and goal_form.is_valid():
        try:
            with transaction.atomic():
                session = services.session_create(
                    child=child, therapist=request.user, request=request, **form.cleaned_data
                )
                workspace_markers.session_goal_record(
                    session=session,
                    goal=goal_form.cleaned_data["goal"],
                    created_by=request.user,
                    request=request,
                )
        except services.ParticipantError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Session created.")
            return redirect("session_detail", session_id=session.pk)
    # The form names the child: a read of the child's record.
    audit.record_child_view(request, child, detail={"form": "session_create"})
    return render(
        request,
        "portal/session_form.html",
        {"form": form, "goal_form": goal_form, "child": child},
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, session_id: str) -> HttpResponse:
    session = access.get_session_for_user(request.user, session_id, write=True)
    # A copy: validating a bound ModelForm writes into its instance, and the service must see
    # the stored values to know what changed (and to save and audit it).
    form = TherapySessionForm(
        request.POST or None,
        instance=copy.copy(session),
        child=session.child,
        therapist=session.therapist,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.session_update(
                session=session, actor=request.user, request=request, **form.cleaned_data
            )
        except services.ParticipantError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Session updated.")
            return redirect("session_detail", session_id=session.pk)
    # The form shows the stored session, notes included: a read of the child's data.
    audit.record_view(request, session, child=session.child, detail={"form": "edit"})
    return render(
        request,
        "portal/session_form.html",
        {"form": form, "child": session.child, "session": session},
    )


@login_required
def session_detail(request: HttpRequest, session_id: str) -> HttpResponse:
    session = access.get_session_for_user(request.user, session_id)
    audit.record_view(request, session, child=session.child)
    # workspace: the session dashboard replaces the page body (sessions/workspace/views.py)
    return render(
        request,
        "workspace/session_dashboard.html",
        workspace_views.session_dashboard_context(request, session),
    )
