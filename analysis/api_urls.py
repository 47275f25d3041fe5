from __future__ import annotations

from django.urls import path

from analysis import api

urlpatterns = [
    path(
        "sessions/<uuid:session_id>/recordings/",
        api.RecordingUploadView.as_view(),
        name="api-session-recordings",
    ),
    path(
        "recordings/<uuid:recording_id>/",
        api.RecordingDetailView.as_view(),
        name="api-recording-detail",
    ),
    path(
        "recordings/<uuid:recording_id>/timeline/",
        api.RecordingTimelineView.as_view(),
        name="api-recording-timeline",
    ),
    path(
        "recordings/<uuid:recording_id>/reanalyze/",
        api.RecordingReanalyzeView.as_view(),
        name="api-recording-reanalyze",
    ),
    path(
        "recordings/<uuid:recording_id>/retry/",
        api.RecordingRetryView.as_view(),
        name="api-recording-retry",
    ),
]
