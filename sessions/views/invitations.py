"""The invited person's answer to a clinic's invitation (accept or decline)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sessions import access, services


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, key: str) -> HttpResponse:
    invite = access.get_invitation_for_user(request.user, key)
    if request.method == "POST":
        accept = request.POST.get("answer") == "accept"
        try:
            services.invitation_answer(
                invitation=invite,
                user=request.user,  # type: ignore[arg-type]
                accept=accept,
                request=request,
            )
        except services.InvitationRefused as exc:
            messages.error(request, str(exc))
        else:
            if accept:
                messages.success(request, f"You joined {invite.clinic.name}.")
            else:
                messages.info(request, f"You declined the invitation of {invite.clinic.name}.")
        return redirect("home")
    return render(request, "portal/invitation.html", {"invitation": invite})
