"""Test-only URLconf: the portal's URLs plus views that fail, to exercise the error handlers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ser_portal import urls as portal_urls

SECRET_MARKER = "db-password=hunter2 at /srv/ser_portal/settings.py"


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_MARKER)


urlpatterns = [
    path("test-errors/boom/", explode),
    path("api/test-errors/boom/", explode),
    *portal_urls.urlpatterns,
]

handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
