"""Clinic staff must enrol TOTP before using the portal when MFA_REQUIRED_FOR_STAFF is on."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from sessions import access

_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/api/")


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
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
