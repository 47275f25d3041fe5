"""Web pages of practice exercises: the family's practice screens and the therapist's tools.

Thin: access through ``selectors`` (which applies ``sessions.access``), writes through
``services``, an audit entry for every read of a child's data.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from analysis.engine.practice.feedback import EMOTION_WORDS
from sessions import access, audit
from sessions.exercises import charts, selectors, services
from sessions.exercises.attempts import CONSENT_MESSAGE, attempt_nudge
from sessions.exercises.forms import AssignForm, AttemptUploadForm, ExerciseForm, ReviewForm
from sessions.exercises.models import Attempt
from sessions.families.consent import ConsentMissing, has_practice_consent
from sessions.views.audio import audited_audio_response, clinic_material_response

PAGE_SIZE = 25


# --- families -----------------------------------------------------------------------------------


@login_required
def family_exercises(request: HttpRequest, child_id: str) -> HttpResponse:
    """Today's exercises for one child: big cards, stars so far, the streak."""
    child = access.get_child_for_user(request.user, child_id)
    board = selectors.family_exercise_board(child=child)
    audit.record_child_view(request, child, detail={"page": "exercises"})
    return render(
        request,
        "exercises/family_exercises.html",
        {
            "child": child,
            "board": board,
            "is_family": access.is_guardian_of(request.user, child),
            "consent_ok": has_practice_consent(child),
        },
    )


@login_required
def family_progress(request: HttpRequest, child_id: str) -> HttpResponse:
    """History for the family: a chart of stars over time, a table of every try, the streak."""
    child = access.get_child_for_user(request.user, child_id)
    attempts = selectors.child_attempts(child=child)
    page = Paginator(attempts, PAGE_SIZE).get_page(request.GET.get("page"))
    recent = list(attempts[:200])
    per_exercise = (
        Attempt.objects.filter(child=child)
        .values("assignment__exercise__title")
        .annotate(
            tries=Count("id"),
            stars3=Count(
                "id", filter=Q(reviewed_stars=3) | Q(reviewed_stars__isnull=True, stars=3)
            ),
        )
        .order_by("assignment__exercise__title")
    )
    audit.record_child_view(request, child, detail={"page": "exercise_progress"})
    return render(
        request,
        "exercises/family_progress.html",
        {
            "child": child,
            "page": page,
            "figure": charts.progress_figure(recent) if recent else None,
            "per_exercise": per_exercise,
            "streak": selectors.child_streak(child=child),
            "is_family": access.is_guardian_of(request.user, child),
        },
    )


@login_required
def exercise_practice(request: HttpRequest, assignment_id: str) -> HttpResponse:
    """One exercise: the phrase, the model recording, the recorder and the feedback."""
    assignment = access.get_assignment_for_user(request.user, assignment_id)
    child = assignment.child
    exercise = assignment.exercise
    history = selectors.attempt_history(assignment=assignment, limit=30)
    word = EMOTION_WORDS.get(exercise.target_emotion, exercise.target_emotion)
    audit.record_view(request, assignment, child=child)
    can_practise = access.may_practise(request.user, child) and assignment.is_active_on(
        selectors.today()
    )
    context = {
        "assignment": assignment,
        "exercise": exercise,
        "child": child,
        "word": word,
        "history": history,
        "figure": charts.exercise_figure(history, word) if history else None,
        "can_practise": can_practise,
        "consent_ok": has_practice_consent(child),
        # A fresh token per page view: pressing "Send" twice stores the recording once.
        "upload_form": AttemptUploadForm(initial={"client_token": uuid.uuid4()}),
        "is_family": access.is_guardian_of(request.user, child),
        "config": {
            "uploadUrl": reverse("api-exercise-attempts", args=[assignment.pk]),
            "maxSeconds": 30,
            # The recorder reloads "My tries" (list and chart) from here after each try.
            "historyUrl": reverse("exercise_practice", args=[assignment.pk]) + "?fragment=history",
        },
    }
    if request.GET.get("fragment") == "history":
        return render(request, "exercises/_history.html", context)
    return render(request, "exercises/practice.html", context)


@login_required
@require_POST
def attempt_upload(request: HttpRequest, assignment_id: str) -> HttpResponse:
    """The no-JavaScript path: a recording chosen from the device, then the result page."""
    assignment = access.get_assignment_for_user(request.user, assignment_id, practise=True)
    form = AttemptUploadForm(request.POST, request.FILES)
    back = redirect("exercise_practice", assignment_id=assignment.pk)
    if not form.is_valid():
        messages.error(request, "Please choose or make a recording first.")
        return back
    try:
        attempt, _ = services.attempt_create(
            assignment=assignment, uploaded_file=form.cleaned_data["file"],
            uploaded_by=request.user, client_token=form.cleaned_data.get("client_token"),
            request=request,
        )  # fmt: skip
    except ConsentMissing:
        messages.error(request, CONSENT_MESSAGE)
        return back
    except services.RecordingRejected as exc:
        messages.error(request, exc.detail)
        return back
    return redirect("attempt_result", attempt_id=attempt.pk)


@login_required
def attempt_result(request: HttpRequest, attempt_id: str) -> HttpResponse:
    """Feedback on one attempt; refreshes itself while the analysis runs (no JavaScript)."""
    attempt = access.get_attempt_for_user(request.user, attempt_id)
    if not attempt.is_final:
        attempt_nudge(attempt=attempt)
    else:
        audit.record_view(request, attempt, child=attempt.child)
    # The recorder on the practice page fetches just the feedback panel, so the panel has
    # one template whether the page was reloaded or updated in place.
    template = (
        "exercises/_feedback.html"
        if request.GET.get("fragment") == "1"
        else "exercises/attempt_result.html"
    )
    return render(
        request,
        template,
        {
            "attempt": attempt,
            "assignment": attempt.assignment,
            "exercise": attempt.assignment.exercise,
            "child": attempt.child,
            "fb": selectors.attempt_feedback(attempt),
            "is_staff": access.is_staff_in(request.user, attempt.child.clinic_id),
        },
    )


@login_required
def attempt_audio(request: HttpRequest, attempt_id: str) -> HttpResponseBase:
    attempt = access.get_attempt_for_user(request.user, attempt_id)
    if not attempt.has_audio:
        raise Http404("The audio of this attempt is no longer kept.")
    return audited_audio_response(
        request,
        field_file=attempt.audio,
        content_type=attempt.content_type or "application/octet-stream",
        obj=attempt,
        child=attempt.child,
    )


@login_required
def exercise_audio(request: HttpRequest, exercise_id: str) -> HttpResponseBase:
    """The therapist's model recording (clinic material, no child data)."""
    exercise = access.get_exercise_audio_for_user(request.user, exercise_id)
    if not exercise.model_audio:
        raise Http404("This exercise has no model recording.")
    return clinic_material_response(
        request,
        field_file=exercise.model_audio,
        content_type=exercise.model_audio_content_type or "application/octet-stream",
    )


# --- therapists ---------------------------------------------------------------------------------


@login_required
def exercise_list(request: HttpRequest) -> HttpResponse:
    """The clinic's exercise library."""
    if not access.is_staff_member(request.user):
        return redirect("home")
    query = request.GET.get("q", "").strip()
    show_archived = request.GET.get("archived") == "1"
    exercises = access.exercises_visible_to(request.user).annotate(
        open_assignments=Count("assignments", filter=Q(assignments__ended_at__isnull=True))
    )
    if not show_archived:
        exercises = exercises.filter(archived_at__isnull=True)
    if query:
        exercises = exercises.filter(
            Q(title__icontains=query) | Q(phrase__icontains=query) | Q(goal__icontains=query)
        )
    page = Paginator(exercises.order_by("difficulty", "title"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "exercises/exercise_list.html",
        {
            "page": page,
            "query": query,
            "show_archived": show_archived,
            "can_create": access.is_therapist(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def exercise_create(request: HttpRequest) -> HttpResponse:
    clinic = access.require_therapist_clinic(request.user)
    form = ExerciseForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            exercise = services.exercise_create(
                clinic=clinic, created_by=request.user, title=data["title"],
                phrase=data["phrase"], target_emotion=data["target_emotion"],
                goal=data["goal"], instructions=data["instructions"],
                difficulty=data["difficulty"], model_audio=data.get("model_audio"),
                request=request,
            )  # fmt: skip
        except services.RecordingRejected as exc:
            form.add_error("model_audio", exc.detail)
        else:
            messages.success(request, f"Exercise “{exercise.title}” created.")
            return redirect("exercise_list")
    return render(request, "exercises/exercise_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def exercise_edit(request: HttpRequest, exercise_id: str) -> HttpResponse:
    exercise = access.get_exercise_for_user(request.user, exercise_id, write=True)
    form = ExerciseForm(request.POST or None, request.FILES or None, instance=exercise)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.exercise_update(
                exercise=exercise, actor=request.user, request=request,
                model_audio=data.pop("model_audio", None),
                remove_model_audio=bool(data.pop("remove_model_audio", False)),
                archived=data.pop("archived", None), **data,
            )  # fmt: skip
        except services.RecordingRejected as exc:
            form.add_error("model_audio", exc.detail)
        else:
            messages.success(request, f"Exercise “{exercise.title}” saved.")
            return redirect("exercise_list")
    return render(request, "exercises/exercise_form.html", {"form": form, "exercise": exercise})


@login_required
def child_exercises(request: HttpRequest, child_id: str) -> HttpResponse:
    """The therapist's view of one child's practice: assignments, attempts to review."""
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_staff_in(request.user, child.clinic_id):
        return redirect("family_exercises", child_id=child.pk)
    assignments = selectors.child_assignments(child=child, include_ended=True).annotate(
        tries=Count("attempts")
    )
    page = Paginator(selectors.child_attempts(child=child), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit.record_child_view(request, child, detail={"page": "exercises"})
    return render(
        request,
        "exercises/child_exercises.html",
        {
            "child": child,
            "assignments": assignments,
            "page": page,
            "to_review": selectors.attempts_to_review(child=child).count(),
            "streak": selectors.child_streak(child=child),
            "can_edit": access.is_therapist_of(request.user, child),
            "consent_ok": has_practice_consent(child),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def exercise_assign(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id, write=True)
    initial = {}
    if request.GET.get("exercise"):
        initial["exercise"] = request.GET["exercise"]
    form = AssignForm(request.POST or None, clinic=child.clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.assignment_create(
            child=child, exercise=data["exercise"], assigned_by=request.user,
            weekdays=data["weekdays"], starts_on=data["starts_on"], ends_on=data["ends_on"],
            note=data["note"], request=request,
        )  # fmt: skip
        messages.success(request, f"“{data['exercise'].title}” assigned to {child.given_name}.")
        return redirect("child_exercises", child_id=child.pk)
    # The form names the child.
    audit.record_child_view(request, child, detail={"form": "exercise_assign"})
    return render(request, "exercises/assign_form.html", {"form": form, "child": child})


@login_required
@require_POST
def assignment_end(request: HttpRequest, assignment_id: str) -> HttpResponse:
    assignment = access.get_assignment_for_user(request.user, assignment_id, write=True)
    services.assignment_end(assignment=assignment, actor=request.user, request=request)
    messages.success(request, f"“{assignment.exercise.title}” stopped. Its history is kept.")
    return redirect("child_exercises", child_id=assignment.child_id)


@login_required
@require_http_methods(["GET", "POST"])
def attempt_review(request: HttpRequest, attempt_id: str) -> HttpResponse:
    """Listen, see the model's verdict, override it, leave encouragement."""
    attempt = access.get_attempt_for_user(request.user, attempt_id, review=request.method == "POST")
    if request.method == "GET" and not access.is_staff_in(request.user, attempt.child.clinic_id):
        return redirect("attempt_result", attempt_id=attempt.pk)
    initial = {
        "stars": attempt.reviewed_stars,
        "conveyed": {True: "yes", False: "no"}.get(attempt.reviewed_conveyed, ""),  # type: ignore[arg-type]
        "encouragement": attempt.encouragement,
    }
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.attempt_review(
            attempt=attempt, reviewer=request.user, stars=form.cleaned_data["stars"],
            conveyed=form.cleaned_data["conveyed"],
            encouragement=form.cleaned_data["encouragement"], request=request,
        )  # fmt: skip
        messages.success(request, "Review saved. The family will see it with this attempt.")
        return redirect("child_exercises", child_id=attempt.child_id)
    audit.record_view(request, attempt, child=attempt.child)
    return render(
        request,
        "exercises/attempt_review.html",
        {
            "attempt": attempt,
            "child": attempt.child,
            "exercise": attempt.assignment.exercise,
            "fb": selectors.attempt_feedback(attempt),
            "form": form,
            "can_review": access.is_therapist_of(request.user, attempt.child),
            # The waveform and melody of the try and the model recording, overlaid.
            "voice_figure": charts.voice_figure(selectors.voice_contours(attempt)),
        },
    )
