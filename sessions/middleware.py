"""Clinic staff must enrol TOTP before using the portal when MFA_REQUIRED_FOR_STAFF is on.

Production turns it on (ser_portal.settings.prod). Until a therapist or clinic admin has an
authenticator app, every page sends them to the enrolment page, and API calls made with their
browser session are refused; the account pages (log out, password, MFA set-up) stay reachable.
API tokens are only issued to staff with MFA (sessions.api.auth), and sessions.tokens applies
the same rule to every request made with a token; a token request carries no session, so it
passes through here untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers

from sessions import access

# Reachable without MFA: the account pages (including MFA set-up), static files, the probe.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz")
ENROL_MESSAGE = (
    "Clinic staff must use two-factor authentication. Set up an authenticator app to continue."
)


class StaffMFARequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.MFA_REQUIRED_FOR_STAFF
            and request.user.is_authenticated
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and access.is_staff_member(request.user)
            and not is_mfa_enabled(request.user)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": ENROL_MESSAGE}, status=403)
            messages.warning(request, ENROL_MESSAGE)
            return redirect("mfa_activate_totp")
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """A Content-Security-Policy on every response, and ``Cache-Control: no-store`` on every
    response whose view did not choose its own caching.

    Pages and API answers hold children's health data, so no browser or proxy may keep them;
    audio views set their own ``private, no-store``, and static files are answered by whitenoise
    before this runs. The policy (``SER_CONTENT_SECURITY_POLICY``) allows scripts only from our
    own static files: templates pass data with ``json_script``, never inline code.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.SER_CONTENT_SECURITY_POLICY)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
