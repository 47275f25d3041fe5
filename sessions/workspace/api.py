"""REST endpoints of the therapist workspace (thin: access, then services/selectors).

Resumable upload protocol (tus-like, over plain HTTP):

1. ``POST /api/v1/sessions/{id}/uploads/`` ``{"filename", "size", "content_type"}`` → 201 with
   the upload's ``id``, ``offset`` (0) and ``chunk_size``.
2. ``PUT /api/v1/uploads/{id}/chunk/`` with header ``Upload-Offset: <offset>`` and the raw bytes
   as body → 200 ``{"offset": <new offset>}``; 409 ``{"offset": <server offset>}`` when the client
   is out of step (continue from there).
3. ``GET /api/v1/uploads/{id}/`` → the current ``offset`` and ``status``: how a client resumes
   after a dropped connection or a reload.
4. ``POST /api/v1/uploads/{id}/complete/`` → 201 with ``recording`` once the file is checked and
   stored (202 ``finalizing`` for large files: poll step 3); 400 with ``detail`` if rejected.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import selectors as analysis_selectors
from analysis.api import audit_timeline_read
from analysis.services import RecordingRejected
from analysis.voices import selectors as voice_selectors
from sessions import access, audit
from sessions.models import Recording
from sessions.models.audit import AuditAction
from sessions.types import Actor
from sessions.validation.selectors import poor_emotions
from sessions.workspace import charts, selectors, services, uploads, waveforms
from sessions.workspace.corrections import CorrectionError
from sessions.workspace.models import ChunkedUpload, UploadStatus

logger = logging.getLogger(__name__)

_DETAIL = inline_serializer("WorkspaceDetail", {"detail": serializers.CharField()})
_UPLOAD = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "id, filename, size, offset (bytes received), status (uploading / finalizing / complete / "
        "failed / cancelled / expired), error, recording (id once complete), chunk_size"
    ),
)
_WORKSPACE = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "status (the recording's analysis status), segments (model output with the therapists' "
        "corrections applied: key, start_s, end_s, speaker, emotion, confidence, uncertain, "
        "corrected, model_speaker, model_emotion, note), figure (Plotly JSON of the timeline)"
    ),
)


def upload_payload(upload: ChunkedUpload) -> dict[str, Any]:
    return {
        "id": str(upload.pk),
        "session": str(upload.session_id),
        "filename": upload.filename,
        "size": upload.size_bytes,
        "offset": upload.received_bytes,
        "status": upload.status,
        "error": upload.error,
        "recording": str(upload.recording_id) if upload.recording_id else None,
        "chunk_size": uploads.CHUNK_BYTES,
        "urls": {
            "self": reverse("api-workspace-upload-detail", kwargs={"upload_id": upload.pk}),
            "chunk": reverse("api-workspace-upload-chunk", kwargs={"upload_id": upload.pk}),
            "complete": reverse("api-workspace-upload-complete", kwargs={"upload_id": upload.pk}),
        },
    }


def _try_again(upload: ChunkedUpload) -> Response:
    """503 with Retry-After for an upload whose check could not start or finish just now; the
    upload is kept, fully received, and "complete" may simply be called again."""
    upload.refresh_from_db()
    response = Response(
        {
            **upload_payload(upload),
            "detail": "The file could not be checked just now. Try again in a moment.",
        },
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = "5"
    return response


def _refused(exc: RecordingRejected) -> Response:
    body: dict[str, Any] = {"detail": exc.detail}
    if exc.offset is not None:
        body["offset"] = exc.offset
    response = Response(body, status=exc.status)
    if exc.offset is not None:
        response["Upload-Offset"] = str(exc.offset)
    return response


class _UploadCreate(serializers.Serializer[Any]):
    filename = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=0)
    content_type = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # Recordings made in the page: a JSON object of what the browser applied while recording.
    # Any value is accepted and cleaned by the service, so a bad report never refuses the upload.
    capture = serializers.JSONField(required=False)


class UploadCreateView(APIView):
    @extend_schema(
        request=_UploadCreate,
        responses={201: _UPLOAD, 400: _DETAIL, 403: _DETAIL},
        summary="Start a resumable upload of a recording to a session",
    )
    def post(self, request: Request, session_id: str) -> Response:
        session = access.get_session_for_user(request.user, session_id, write=True)
        payload = _UploadCreate(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            upload = uploads.upload_create(
                session=session,
                filename=payload.validated_data["filename"],
                size_bytes=payload.validated_data["size"],
                content_type=payload.validated_data.get("content_type", ""),
                created_by=request.user,
                capture=payload.validated_data.get("capture"),
                request=request._request,
            )
        except RecordingRejected as exc:
            return _refused(exc)
        return Response(upload_payload(upload), status=status.HTTP_201_CREATED)


class UploadDetailView(APIView):
    @extend_schema(
        responses={200: _UPLOAD, 403: _DETAIL, 404: _DETAIL},
        summary="An upload's offset and status (to resume or to follow checking)",
    )
    def get(self, request: Request, upload_id: str) -> Response:
        upload = access.get_upload_for_user(request.user, upload_id)
        audit.record_view(request._request, upload, child=upload.session.child)
        return Response(upload_payload(upload))

    @extend_schema(
        responses={204: None, 403: _DETAIL, 404: _DETAIL, 409: _DETAIL},
        summary="Cancel an unfinished upload and delete its data",
        description="409 when nothing was cancelled: the file is being checked right now, or "
        "the upload is already complete, cancelled or expired.",
    )
    def delete(self, request: Request, upload_id: str) -> Response:
        upload = access.get_upload_for_user(request.user, upload_id)
        if not uploads.upload_cancel(upload=upload, actor=request.user, request=request._request):
            detail = "This upload was already cancelled or expired."
            if upload.status == UploadStatus.FINALIZING:
                detail = (
                    "The file is being checked and can no longer be cancelled. "
                    "Delete the recording once it is saved."
                )
            elif upload.status == UploadStatus.COMPLETE:
                detail = "This upload is complete: the recording is saved."
            return Response(
                {**upload_payload(upload), "detail": detail}, status=status.HTTP_409_CONFLICT
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadChunkView(APIView):
    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Upload-Offset",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=True,
                description="Byte position of this chunk in the file",
            )
        ],
        responses={200: _UPLOAD, 409: _DETAIL, 413: _DETAIL},
        summary="Send the next chunk of an upload",
    )
    def put(self, request: Request, upload_id: str) -> Response:
        upload = access.get_upload_for_user(request.user, upload_id)
        raw: HttpRequest = request._request
        try:
            offset = int(raw.headers.get("Upload-Offset", ""))
            length = int(raw.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return Response(
                {
                    "detail": "Send the chunk's position in the Upload-Offset header.",
                    "offset": upload.received_bytes,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            uploads.upload_append(upload=upload, offset=offset, stream=raw, length=length)
        except RecordingRejected as exc:
            return _refused(exc)
        if upload.status == UploadStatus.FAILED:
            return Response(
                {**upload_payload(upload), "detail": upload.error},
                status=status.HTTP_400_BAD_REQUEST,
            )
        response = Response(upload_payload(upload))
        response["Upload-Offset"] = str(upload.received_bytes)
        return response


class UploadCompleteView(APIView):
    @extend_schema(
        request=None,
        responses={201: _UPLOAD, 202: _UPLOAD, 400: _DETAIL, 409: _DETAIL, 503: _DETAIL},
        summary="Finish an upload: check the file, store it, queue its analysis",
        description="503 when the server could not check the file just now (the upload is kept "
        "and can be completed again).",
    )
    def post(self, request: Request, upload_id: str) -> Response:
        upload = access.get_upload_for_user(request.user, upload_id)
        if upload.status == UploadStatus.COMPLETE:
            return Response(upload_payload(upload), status=status.HTTP_201_CREATED)
        if upload.status in (UploadStatus.FAILED, UploadStatus.CANCELLED, UploadStatus.EXPIRED):
            return Response(
                {
                    **upload_payload(upload),
                    "detail": upload.error
                    or "This upload was cancelled or expired. Upload the file again.",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            claimed = uploads.upload_claim_finalize(upload=upload)
        except RecordingRejected as exc:
            return _refused(exc)
        if not claimed:
            return Response(upload_payload(upload), status=status.HTTP_202_ACCEPTED)
        if upload.size_bytes > uploads.SYNC_FINALIZE_MAX_BYTES:
            if not uploads.queue_finalize(upload.pk):
                return _try_again(upload)  # the broker is down: the claim was given back
            return Response(upload_payload(upload), status=status.HTTP_202_ACCEPTED)
        try:
            upload = uploads.upload_finalize(upload_id=upload.pk, request=request._request)
        except (DatabaseError, uploads.UploadStorageUnavailable):
            # Transient (a lock timeout, a busy SQLite file, a lost connection, object storage
            # unreachable): the claim was released, so the client may simply call "complete"
            # again.
            return _try_again(upload)
        if upload.status == UploadStatus.FAILED:
            return Response(
                {**upload_payload(upload), "detail": upload.error},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(upload_payload(upload), status=status.HTTP_201_CREATED)


# --- the recording's workspace ------------------------------------------------------------------

SEGMENT_KEYS = (
    "key",
    "index",
    "start_s",
    "end_s",
    "speaker",
    "speaker_confidence",
    "cluster",
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
)


def workspace_json(
    recording: Recording, user: Actor, segments: list[dict[str, Any]] | None = None
) -> HttpResponse:
    """The recording's status, its corrected segments and the timeline figure, as a JSON
    response. The figure's model-output traces are stored JSON text (built once per run) and
    spliced in unparsed, so a 45-minute session answers fast."""
    workspace = selectors.recording_workspace(recording, with_frames=False)
    if segments is not None:
        workspace["segments"] = segments
    can_edit = access.is_therapist_of(user, recording.session.child)
    rows = []
    for seg in workspace["segments"]:
        row = {k: seg.get(k) for k in SEGMENT_KEYS}
        # Free-text notes are for the people who may edit the session (as session notes are).
        row["note"] = seg.get("note", "") if can_edit else ""
        rows.append(row)
    head = {
        "recording": analysis_selectors.recording_status(recording),
        "run": workspace["run"],
        "duration_s": workspace["duration_s"],
        "no_speech": workspace["no_speech"],
        "model_version": workspace["model_version"],
        "edit_count": workspace["edit_count"],
        "earlier_run_edits": workspace["earlier_run_edits"],
        "can_edit": can_edit,
        "segments": rows,
        # The voices: "Speaker A" until matched to a print or named (analysis.voices).
        "lanes": (
            voice_selectors.run_lanes(workspace["run_object"], recording.session)
            if workspace["run_object"] is not None
            else []
        ),
        # Emotions the clinic's blind reviews found the active model poor at (greyed out).
        "poor_emotions": poor_emotions(recording.session.child.clinic),
    }
    workspace = {**workspace, "poor_emotions": head["poor_emotions"]}
    figure = "null"
    run = workspace["run_object"]
    if run is not None:
        roles, traces = selectors.timeline_traces(run)  # read only: a GET stores nothing
        figure = charts.timeline_figure_json(workspace, roles, traces)
    body = json.dumps(head, cls=DjangoJSONEncoder, separators=(",", ":"))
    return HttpResponse(body[:-1] + ',"figure":' + figure + "}", content_type="application/json")


class RecordingWorkspaceView(APIView):
    @extend_schema(
        responses={200: _WORKSPACE, 404: _DETAIL},
        summary="A recording's timeline with therapist corrections, ready to draw",
    )
    def get(self, request: Request, recording_id: str) -> HttpResponse:
        recording = access.get_recording_for_user(request.user, recording_id)
        audit_timeline_read(request, recording)
        return workspace_json(recording, request.user)


class _Correction(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["label", "split", "move", "merge", "undo"])
    segment = serializers.CharField(max_length=80, required=False, allow_blank=True)
    speaker = serializers.CharField(
        max_length=20, required=False, allow_null=True, allow_blank=True
    )
    emotion = serializers.CharField(
        max_length=20, required=False, allow_null=True, allow_blank=True
    )
    note = serializers.CharField(
        max_length=2000, required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    at_s = serializers.FloatField(required=False, allow_null=True)
    # ``move``: the segment's new boundaries (either may be left out to keep it).
    start_s = serializers.FloatField(required=False, allow_null=True)
    end_s = serializers.FloatField(required=False, allow_null=True)


class RecordingCorrectionsView(APIView):
    @extend_schema(
        request=_Correction,
        responses={200: _WORKSPACE, 400: _DETAIL, 403: _DETAIL},
        summary="Correct a segment: labels and note, split, move its boundaries, merge with "
        "the next, or undo the last correction",
    )
    def post(self, request: Request, recording_id: str) -> HttpResponse:
        recording = access.get_recording_for_user(request.user, recording_id, write=True)
        payload = _Correction(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            segments = services.correction_apply(
                recording=recording,
                author=request.user,
                action=data["action"],
                segment=data.get("segment") or "",
                speaker=data.get("speaker") or None,
                emotion=data.get("emotion") or None,
                note=data.get("note"),
                at_s=data.get("at_s"),
                start_s=data.get("start_s"),
                end_s=data.get("end_s"),
                request=request._request,
            )
        except CorrectionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return workspace_json(recording, request.user, segments)


class RecordingWaveformView(APIView):
    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "peaks (0-1, scaled so the 99th percentile reaches 1: quiet rooms stay "
                    "visible), peaks_per_second, duration_s; empty peaks when the audio "
                    "cannot be drawn"
                ),
            ),
            202: _DETAIL,
            404: _DETAIL,
        },
        summary="Peaks to draw a recording's waveform",
    )
    def get(self, request: Request, recording_id: str) -> Response:
        recording = access.get_recording_for_user(request.user, recording_id)
        if not recording.file or recording.audio_deleted_at is not None:
            return Response(
                {"detail": "The audio of this recording is no longer kept."},
                status=status.HTTP_404_NOT_FOUND,
            )
        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            object_type="waveform",
            object_id=recording.pk,
            child=recording.session.child,
            request=request._request,
        )
        waveform = selectors.waveform(recording)
        if waveform is None:
            if cache.add(f"workspace:waveform-queued:{recording.pk}", 1, 120):
                try:
                    waveforms.queue_waveform(recording.pk)
                except Exception:  # the waveform is optional: never fail the page for it
                    logger.exception("could not queue the waveform of %s", recording.pk)
            return Response(
                {"detail": "The waveform is being prepared."}, status=status.HTTP_202_ACCEPTED
            )
        return Response(
            {
                "peaks": charts.display_peaks(waveform.peaks),
                "peaks_per_second": waveform.peaks_per_second,
                "duration_s": waveform.duration_s,
            }
        )
