"""URLs of the therapist workspace (pages at the root, API under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from sessions.workspace import api, lane_views, views

urlpatterns = [
    path(
        "sessions/<uuid:session_id>/summary/",
        views.session_summary,
        name="workspace_session_summary",
    ),
    path(
        "recordings/<uuid:recording_id>/export/<str:filename>",
        views.export,
        name="workspace_export",
    ),
    path(
        "children/<uuid:child_id>/trends/markers/",
        views.marker_create,
        name="workspace_marker_create",
    ),
    path(
        "children/<uuid:child_id>/trends/markers/<uuid:marker_id>/delete/",
        views.marker_delete,
        name="workspace_marker_delete",
    ),
    path(
        "api/v1/sessions/<uuid:session_id>/uploads/",
        api.UploadCreateView.as_view(),
        name="api-workspace-upload-create",
    ),
    path(
        "api/v1/uploads/<uuid:upload_id>/",
        api.UploadDetailView.as_view(),
        name="api-workspace-upload-detail",
    ),
    path(
        "api/v1/uploads/<uuid:upload_id>/chunk/",
        api.UploadChunkView.as_view(),
        name="api-workspace-upload-chunk",
    ),
    path(
        "api/v1/uploads/<uuid:upload_id>/complete/",
        api.UploadCompleteView.as_view(),
        name="api-workspace-upload-complete",
    ),
    path(
        "api/v1/recordings/<uuid:recording_id>/workspace/",
        api.RecordingWorkspaceView.as_view(),
        name="api-workspace-recording",
    ),
    path(
        "api/v1/recordings/<uuid:recording_id>/corrections/",
        api.RecordingCorrectionsView.as_view(),
        name="api-workspace-corrections",
    ),
    path(
        "recordings/<uuid:recording_id>/speakers/name/",
        lane_views.lane_name_form,
        name="workspace_lane_name",
    ),
    path(
        "api/v1/recordings/<uuid:recording_id>/speakers/",
        lane_views.RecordingSpeakerNameView.as_view(),
        name="api-workspace-speaker-name",
    ),
    path(
        "api/v1/recordings/<uuid:recording_id>/waveform/",
        api.RecordingWaveformView.as_view(),
        name="api-workspace-waveform",
    ),
]
