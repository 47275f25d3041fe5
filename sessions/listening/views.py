"""Web pages of listening practice: the family's listening screens and the therapist's tools.

Thin: access through ``sessions.access``, writes through ``services``, reads through
``selectors``, an audit entry for every read of a child's data.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from analysis.services import RecordingRejected
from sessions import access, audit
from sessions.families.consent import ConsentMissing, has_practice_consent
from sessions.listening import charts, selectors, services
from sessions.listening.forms import ClipForm, ClipTagForm, ListeningAssignForm, SetForm
from sessions.views.audio import clinic_material_response

PAGE_SIZE = 25


# --- families -----------------------------------------------------------------------------------


@login_required
def family_listening(request: HttpRequest, child_id: str) -> HttpResponse:
    """Today's listening sets, the streak and the history of answers."""
    child = access.get_child_for_user(request.user, child_id)
    board = selectors.family_board(child=child)
    page = Paginator(selectors.child_answers(child=child), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit.record_child_view(request, child, detail={"page": "listening"})
    return render(
        request,
        "listening/family_listening.html",
        {
            "child": child,
            "board": board,
            "page": page,
            "figures": selectors.child_figures(child=child),
            "is_family": access.is_guardian_of(request.user, child),
            "consent_ok": has_practice_consent(child),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def listening_play(request: HttpRequest, assignment_id: str) -> HttpResponse:
    """One set: a clip, its choices, feedback. The page's script sends answers through the API
    (queued in the browser while offline); without JavaScript each choice posts here."""
    assignment = access.get_listening_assignment_for_user(
        request.user, assignment_id, practise=request.method == "POST"
    )
    child = assignment.child
    if request.method == "POST":
        try:
            answer, _ = services.answer_record(
                assignment=assignment, clip_id=request.POST.get("clip"),
                chosen=request.POST.get("chosen", ""), client_id=request.POST.get("client_id"),
                answered_by=request.user, request=request,
            )  # fmt: skip
        except ConsentMissing:
            messages.error(request, services.CONSENT_MESSAGE)
        except services.AnswerRejected as exc:
            messages.error(request, exc.detail)
        else:
            if answer.correct:
                messages.success(request, f"Yes! That voice sounded {answer.chosen_emotion}.")
            else:
                messages.info(
                    request,
                    f"Good try! That voice sounded {answer.target_emotion}. Listen again.",
                )
        return redirect("listening_play", assignment_id=assignment.pk)
    audit.record_view(request, assignment, child=child)
    can_practise = access.may_practise(request.user, child) and assignment.is_active_on(
        selectors.today()
    )
    items = selectors.set_items(assignment)
    return render(
        request,
        "listening/play.html",
        {
            "assignment": assignment,
            "child": child,
            # A fresh id per clip and page view: the no-JavaScript form sent twice stores once.
            "items": [{**item, "client_id": uuid.uuid4()} for item in items],
            "can_practise": can_practise,
            "consent_ok": has_practice_consent(child),
            "is_family": access.is_guardian_of(request.user, child),
            "config": {
                "answerUrl": reverse("api-listening-answers", args=[assignment.pk]),
                "doneUrl": reverse("family_listening", args=[child.pk]),
                "queueKey": f"listening-queue-{child.pk}",
                "items": items,
            },
        },
    )


@login_required
def clip_audio(request: HttpRequest, clip_id: str) -> HttpResponseBase:
    """A listening clip (clinic material, no child data)."""
    clip = access.get_listening_clip_audio_for_user(request.user, clip_id)
    if not clip.audio:
        raise Http404("This clip has no audio.")
    return clinic_material_response(
        request, field_file=clip.audio, content_type=clip.content_type or "application/octet-stream"
    )


# --- therapists ---------------------------------------------------------------------------------


@login_required
def library(request: HttpRequest) -> HttpResponse:
    """The clinic's listening clips (each labelled with who made it) and sets."""
    if not access.is_staff_member(request.user):
        return redirect("home")
    clips = access.listening_clips_visible_to(request.user).filter(archived_at__isnull=True)
    sets = access.listening_sets_visible_to(request.user).filter(archived_at__isnull=True)
    return render(
        request,
        "listening/library.html",
        {
            "clips": clips.select_related("tagged_by").order_by(
                "emotion", "intensity", "created_at"
            ),
            "sets": sets.prefetch_related("clips"),
            "can_create": access.is_therapist(request.user),
            "tag_form": ClipTagForm(),
            "noise_levels": NOISE_LEVELS_DB,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def clip_create(request: HttpRequest) -> HttpResponse:
    clinic = access.require_therapist_clinic(request.user)
    form = ClipForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            clip = services.clip_create(
                clinic=clinic, uploaded_file=data["file"], emotion=data["emotion"],
                tagged_by=request.user, recorded=bool(data.get("recorded")),
                intensity=data["intensity"], words=data["words"], request=request,
            )  # fmt: skip
        except RecordingRejected as exc:
            form.add_error("file", exc.detail)
        else:
            messages.success(request, f"Clip saved as {clip.get_emotion_display().lower()}.")
            return redirect("listening_library")
    return render(request, "listening/clip_form.html", {"form": form})


@login_required
@require_POST
def clip_tag(request: HttpRequest, clip_id: str) -> HttpResponse:
    clip = access.get_listening_clip_for_user(request.user, clip_id, write=True)
    form = ClipTagForm(request.POST)
    if form.is_valid():
        services.clip_retag(
            clip=clip, emotion=form.cleaned_data["emotion"], actor=request.user, request=request
        )
        messages.success(request, "Feeling saved. Earlier answers keep the label they had.")
    else:
        messages.error(request, "Please choose a feeling.")
    return redirect("listening_library")


NOISE_LEVELS_DB = (15, 10, 5)


@login_required
@require_POST
def clip_noisy(request: HttpRequest, clip_id: str) -> HttpResponse:
    """A harder copy of a clip: the same voice with background noise mixed in."""
    clip = access.get_listening_clip_for_user(request.user, clip_id, write=True)
    try:
        snr_db = int(request.POST.get("snr_db", ""))
    except ValueError:
        snr_db = 0
    if snr_db not in NOISE_LEVELS_DB:
        messages.error(request, "Please choose how much noise to add.")
        return redirect("listening_library")
    try:
        services.clip_noisy_variant(clip=clip, snr_db=snr_db, actor=request.user, request=request)
    except RecordingRejected as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Noisy copy made ({snr_db} dB). Add it to a set to use it.")
    return redirect("listening_library")


@login_required
@require_http_methods(["GET", "POST"])
def set_create(request: HttpRequest) -> HttpResponse:
    clinic = access.require_therapist_clinic(request.user)
    form = SetForm(request.POST or None, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        listening_set = services.set_create(
            clinic=clinic, title=data["title"], choice_count=data["choice_count"],
            clips=data["clips"], created_by=request.user, request=request,
        )  # fmt: skip
        messages.success(request, f"Listening set “{listening_set.title}” created.")
        return redirect("listening_library")
    return render(request, "listening/set_form.html", {"form": form})


@login_required
def child_listening(request: HttpRequest, child_id: str) -> HttpResponse:
    """The therapist's view of one child's listening: assignments, accuracy per emotion over
    time, the confusions and response times."""
    child = access.get_child_for_user(request.user, child_id)
    if not access.is_staff_in(request.user, child.clinic_id):
        return redirect("family_listening", child_id=child.pk)
    figures = selectors.child_figures(child=child)
    audit.record_child_view(request, child, detail={"page": "listening"})
    return render(
        request,
        "listening/child_listening.html",
        {
            "child": child,
            "assignments": selectors.child_assignments(child=child, include_ended=True),
            "figures": figures,
            "confusion_rows": [
                {"label": label, "counts": figures["confusion"].counts[i]}
                for i, label in enumerate(figures["confusion"].labels)
            ],
            "confusion_figure": charts.confusion_figure(figures["confusion"])
            if figures["answers"]
            else None,
            "accuracy_figure": charts.accuracy_figure(figures["by_week"])
            if figures["answers"]
            else None,
            "streak": selectors.child_streak(child=child),
            "can_edit": access.is_therapist_of(request.user, child),
            "consent_ok": has_practice_consent(child),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def listening_assign(request: HttpRequest, child_id: str) -> HttpResponse:
    child = access.get_child_for_user(request.user, child_id, write=True)
    form = ListeningAssignForm(request.POST or None, clinic=child.clinic)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.assignment_create(
            child=child, listening_set=data["listening_set"], assigned_by=request.user,
            weekdays=data["weekdays"], starts_on=data["starts_on"], ends_on=data["ends_on"],
            note=data["note"], request=request,
        )  # fmt: skip
        messages.success(
            request, f"“{data['listening_set'].title}” assigned to {child.given_name}."
        )
        return redirect("child_listening", child_id=child.pk)
    audit.record_child_view(request, child, detail={"form": "listening_assign"})
    return render(request, "listening/assign_form.html", {"form": form, "child": child})


@login_required
@require_POST
def assignment_end(request: HttpRequest, assignment_id: str) -> HttpResponse:
    assignment = access.get_listening_assignment_for_user(request.user, assignment_id, write=True)
    services.assignment_end(assignment=assignment, actor=request.user, request=request)
    messages.success(request, f"“{assignment.listening_set.title}” stopped. Its answers are kept.")
    return redirect("child_listening", child_id=assignment.child_id)
