from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from sessions.views import audio, console, invitations, pages


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico whatever the page links: send them to the static icon."""
    return HttpResponseRedirect(static("img/favicon.svg"))


urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("allauth.urls")),
    path("children/", pages.child_list, name="children"),
    path("children/<uuid:child_id>/", pages.child_detail, name="child_detail"),
    path("children/<uuid:child_id>/sessions/new/", pages.session_create, name="session_create"),
    path("sessions/<uuid:session_id>/", pages.session_detail, name="session_detail"),
    path("sessions/<uuid:session_id>/edit/", pages.session_edit, name="session_edit"),
    path("recordings/<uuid:recording_id>/audio/", audio.recording_audio, name="recording_audio"),
    path("console/", console.console, name="console"),
    path("console/members/", console.members, name="console_members"),
    path("console/children/", console.children, name="console_children"),
    path(
        "console/children/<uuid:child_id>/assignments/",
        console.assignments,
        name="console_assignments",
    ),
    path("console/audit/", console.audit_log, name="console_audit"),
    path("invitations/<str:key>/", invitations.invitation, name="invitation"),
    path("", include("sessions.workspace.urls")),
    path("", include("sessions.families.urls")),
    path("", include("sessions.exercises.urls")),
    path("", include("sessions.listening.urls")),
    path("", include("sessions.validation.urls")),
    path("", include("analysis.urls")),
    path("api/v1/", include("sessions.api.urls")),
    path("api/v1/", include("analysis.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

handler400 = "sessions.views.errors.bad_request"
handler403 = "sessions.views.errors.permission_denied"
handler404 = "sessions.views.errors.page_not_found"
handler500 = "sessions.views.errors.server_error"
