"""API of a recording's analysed segments (the therapist-corrected view, or the model's own) and
its exports (segments.csv, timeline.csv, analysis.json).

Same access and audit as the workspace pages: the exports are answered by the page's own view
(sessions.workspace.views.export), so what it checks, writes and logs cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access, audit
from sessions.models.audit import AuditAction
from sessions.workspace import selectors
from sessions.workspace import views as workspace_pages

# What a segment of each view carries. ``note`` (the therapist's free text) only for the child's
# therapists, as in the exports.
CORRECTED_FIELDS = [
    "key",
    "start_s",
    "end_s",
    "speaker",
    "emotion",
    "confidence",
    "model_confidence",
    "uncertain",
    "uncertain_reason",
    "valence",
    "arousal",
    "va_source",
    "corrected",
    "speaker_corrected",
    "emotion_corrected",
    "boundaries_changed",
    "model_speaker",
    "model_emotion",
    "edited_by",
    "edited_at",
]
MODEL_FIELDS = [
    "id",
    "start_s",
    "end_s",
    "speaker",
    "speaker_confidence",
    "emotion",
    "confidence",
    "uncertain",
    "uncertain_reason",
    "valence",
    "arousal",
    "probabilities",
]
VIEWS = ("corrected", "model")


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


class RecordingSegmentsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "view",
                str,
                enum=list(VIEWS),
                description="corrected (default): the segments as the therapists corrected "
                "them, each with the model's original labels and confidence; model: the "
                "model's own segments, with per-label probabilities",
            )
        ],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="recording, run (the analysis shown; null before one finished), "
                "view, count, segments (corrected: " + ", ".join(CORRECTED_FIELDS) + ", and "
                "note for the child's therapists; model: " + ", ".join(MODEL_FIELDS) + ")",
            )
        },
        summary="A recording's analysed segments, in time order",
    )
    def get(self, request: Request, recording_id: str) -> Response:
        recording = access.get_recording_for_user(request.user, recording_id)
        view = request.query_params.get("view", "corrected")
        if view not in VIEWS:
            raise ValidationError({"view": [f"Choose one of: {', '.join(VIEWS)}."]})
        run = selectors.shown_run(recording)
        if run is None:
            rows: list[dict[str, Any]] = []
        elif view == "model":
            rows = [
                {k: seg.get(k) for k in MODEL_FIELDS}
                for seg in selectors.model_segments(run, probabilities=True)
            ]
        else:
            fields = list(CORRECTED_FIELDS)
            if access.is_therapist_of(request.user, recording.session.child):
                fields.append("note")
            rows = [
                {k: _plain(seg.get(k)) for k in fields}
                for seg in selectors.effective_segments_for_run(run)
            ]
        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            object_type="segments",
            object_id=recording.pk,
            child=recording.session.child,
            request=request._request,
            detail={"view": view, "count": len(rows)},
        )
        return Response(
            {
                "recording": str(recording.pk),
                "run": str(run.pk) if run else None,
                "view": view,
                "count": len(rows),
                "segments": rows,
            }
        )


class RecordingExportView(APIView):
    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
        summary="Export a recording's analysis: segments.csv (corrected segments), timeline.csv "
        "(per-window probabilities) or analysis.json (both); audited as an export",
    )
    def get(self, request: Request, recording_id: str, filename: str) -> HttpResponseBase:
        return workspace_pages.export(request._request, recording_id, filename)
