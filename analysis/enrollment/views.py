"""The therapist's own voice-enrollment page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from analysis.enrollment.services import MIN_SPEECH_S, voice_enroll, voice_forget
from analysis.models import VoiceEnrollment
from analysis.services import RecordingRejected
from sessions import access


class VoiceSampleForm(forms.Form):
    sample = forms.FileField(
        label="A recording of you speaking",
        help_text=f"At least {MIN_SPEECH_S:g} seconds of your voice alone, e.g. reading a "
        "paragraph aloud. On a phone you can record it directly.",
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*,video/*", "capture": "user"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def voice_enrollment(request: HttpRequest) -> HttpResponse:
    if not access.is_therapist(request.user):
        raise Http404("Not found.")
    form = VoiceSampleForm()
    if request.method == "POST" and request.POST.get("action") == "forget":
        if voice_forget(user=request.user, request=request):
            messages.success(request, "Your voice print was deleted.")
        return redirect("voice_enrollment")
    if request.method == "POST":
        form = VoiceSampleForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                voice_enroll(
                    user=request.user, uploaded_file=form.cleaned_data["sample"], request=request
                )
            except RecordingRejected as exc:
                form.add_error("sample", exc.detail)
            else:
                messages.success(
                    request,
                    "Thank you: the portal will recognise your voice in "
                    "the analyses of your sessions from now on.",
                )
                return redirect("voice_enrollment")
    enrollment = VoiceEnrollment.objects.filter(user_id=str(request.user.pk)).first()
    return render(request, "portal/voice_enrollment.html", {"form": form, "enrollment": enrollment})
