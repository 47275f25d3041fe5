"""Recording and analysis endpoints of the REST API (thin: access, then services/selectors)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import selectors, services
from analysis.models import EmotionModelVersion
from sessions import access, audit
from sessions.families.consent import ConsentMissing
from sessions.models.audit import AuditAction

_DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
_RECORDING = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "id, session, original_name, sha256, size_bytes, created_at, status (queued / processing / "
        "done / failed / quarantined / awaiting_consent), run_id (the newest analysis run; a "
        "re-analysis or retry requested while one is queued or running returns that run), "
        "stage, progress (0-100), error, "
        "duration_s, model_version, summary (when done)"
    ),
)


def audit_timeline_read(request: Request, recording: Any) -> None:
    """Reading a recording's timeline, through any endpoint, is one kind of audit entry."""
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        object_type="timeline",
        object_id=recording.pk,
        child=recording.session.child,
        request=request._request,
    )


class RecordingUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="session, count, recordings (each as GET /api/v1/recordings/{id}/ "
                "answers), oldest first",
            ),
            404: _DETAIL,
        },
        summary="The recordings of a session, with their analysis status",
    )
    def get(self, request: Request, session_id: str) -> Response:
        session = access.get_session_for_user(request.user, session_id)
        recordings = list(session.recordings.order_by("created_at", "id"))
        audit.record(
            actor=request.user,
            action=AuditAction.LIST,
            object_type="recording",
            child=session.child,
            request=request._request,
            detail={"count": len(recordings)},
        )
        return Response(
            {
                "session": str(session.pk),
                "count": len(recordings),
                "recordings": [selectors.recording_status(r) for r in recordings],
            }
        )

    @extend_schema(
        request=inline_serializer("RecordingUpload", {"file": serializers.FileField()}),
        responses={201: _RECORDING, 400: _DETAIL, 403: _DETAIL, 404: _DETAIL},
        summary="Upload a recording to a session and queue its analysis",
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = access.get_session_for_user(request.user, session_id, write=True)
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"detail": "Attach the audio file in the 'file' field."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            recording = services.recording_create(
                session=session,
                uploaded_file=upload,
                uploaded_by=request.user,
                request=request._request,
            )
        except ConsentMissing as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except services.RecordingRejected as exc:
            return Response(
                {"detail": exc.detail, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(selectors.recording_status(recording), status=status.HTTP_201_CREATED)


class RecordingDetailView(APIView):
    @extend_schema(
        responses={200: _RECORDING, 404: _DETAIL},
        summary="A recording's analysis status and, when done, its summary",
    )
    def get(self, request: Request, recording_id: str) -> Response:
        recording = access.get_recording_for_user(request.user, recording_id)
        audit.record_view(request._request, recording, child=recording.session.child)
        return Response(selectors.recording_status(recording))


class RecordingTimelineView(APIView):
    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "segments (start_s, end_s, speaker, speaker_confidence, emotion, confidence, "
                    "uncertain, valence, arousal, probabilities) and per-window frames"
                ),
            ),
            404: _DETAIL,
        },
        summary="The emotion timeline of a recording's newest finished analysis",
    )
    def get(self, request: Request, recording_id: str) -> Response:
        recording = access.get_recording_for_user(request.user, recording_id)
        audit_timeline_read(request, recording)
        return Response(selectors.timeline(recording))


class _ModelChoice(serializers.Serializer[Any]):
    model_version = serializers.UUIDField(required=False, allow_null=True)


def _run_response(recording: Any) -> Response:
    recording.refresh_from_db()
    return Response(selectors.recording_status(recording), status=status.HTTP_202_ACCEPTED)


class RecordingReanalyzeView(APIView):
    @extend_schema(
        request=_ModelChoice,
        responses={202: _RECORDING, 400: _DETAIL, 403: _DETAIL},
        summary="Analyse again, optionally with another model version",
    )
    def post(self, request: Request, recording_id: str) -> Response:
        recording = access.get_recording_for_user(request.user, recording_id, write=True)
        payload = _ModelChoice(data=request.data)
        payload.is_valid(raise_exception=True)
        version = None
        version_id = payload.validated_data.get("model_version")
        if version_id:
            version = EmotionModelVersion.objects.filter(
                pk=version_id, clinic_id=recording.session.child.clinic_id
            ).first()
            if version is None:
                return Response(
                    {"detail": "That model version is not available to this clinic."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        try:
            services.recording_reanalyze(
                recording=recording,
                requested_by=request.user,
                model_version=version,
                request=request._request,
            )
        except services.RecordingRejected as exc:
            return Response({"detail": exc.detail}, status=status.HTTP_400_BAD_REQUEST)
        return _run_response(recording)


class RecordingRetryView(APIView):
    @extend_schema(
        request=None, responses={202: _RECORDING, 400: _DETAIL}, summary="Retry a failed analysis"
    )
    def post(self, request: Request, recording_id: str) -> Response:
        recording = access.get_recording_for_user(request.user, recording_id, write=True)
        try:
            services.run_retry(
                recording=recording, requested_by=request.user, request=request._request
            )
        except services.RecordingRejected as exc:
            return Response({"detail": exc.detail}, status=status.HTTP_400_BAD_REQUEST)
        return _run_response(recording)
