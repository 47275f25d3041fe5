from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from sessions.api import exercises, families, recordings
from sessions.api.audit_log import AuditLogView
from sessions.api.auth import TokenView
from sessions.api.views import ChildViewSet, TherapySessionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("children", ChildViewSet, basename="api-child")
router.register("sessions", TherapySessionViewSet, basename="api-session")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("audit/", AuditLogView.as_view(), name="api-audit-log"),
    # Progress reports, consent records and the family archive (sessions.api.families).
    path(
        "children/<uuid:child_id>/reports/",
        families.ChildReportListView.as_view(),
        name="api-child-reports",
    ),
    path("reports/<uuid:report_id>/", families.ReportDetailView.as_view(), name="api-report"),
    path("reports/<uuid:report_id>/pdf/", families.ReportPdfView.as_view(), name="api-report-pdf"),
    path(
        "reports/<uuid:report_id>/release/",
        families.ReportReleaseView.as_view(),
        name="api-report-release",
    ),
    path(
        "children/<uuid:child_id>/consents/",
        families.ChildConsentView.as_view(),
        name="api-child-consents",
    ),
    path(
        "children/<uuid:child_id>/consents/<str:purpose>/grant/",
        families.ConsentGrantView.as_view(),
        name="api-consent-grant",
    ),
    path(
        "children/<uuid:child_id>/consents/<str:purpose>/revoke/",
        families.ConsentRevokeView.as_view(),
        name="api-consent-revoke",
    ),
    path(
        "children/<uuid:child_id>/export/",
        families.ChildArchiveView.as_view(),
        name="api-child-archive",
    ),
    # Exercises and assignments (sessions.api.exercises).
    path("exercises/", exercises.ExerciseListView.as_view(), name="api-exercises"),
    path(
        "exercises/<uuid:exercise_id>/",
        exercises.ExerciseDetailView.as_view(),
        name="api-exercise",
    ),
    path(
        "children/<uuid:child_id>/assignments/",
        exercises.ChildAssignmentCreateView.as_view(),
        name="api-child-assignments",
    ),
    path(
        "exercises/assignments/<uuid:assignment_id>/",
        exercises.AssignmentDetailView.as_view(),
        name="api-exercise-assignment",
    ),
    # A recording's segments and exports (sessions.api.recordings).
    path(
        "recordings/<uuid:recording_id>/segments/",
        recordings.RecordingSegmentsView.as_view(),
        name="api-recording-segments",
    ),
    path(
        "recordings/<uuid:recording_id>/exports/<str:filename>",
        recordings.RecordingExportView.as_view(),
        name="api-recording-export",
    ),
    path("", include(router.urls)),
]
