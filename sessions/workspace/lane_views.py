"""Naming a voice of a recording: the "Who is Speaker A?" form on the session page and its API
(thin: access, then ``sessions.workspace.lanes.lane_name``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access
from sessions.workspace.api import workspace_json
from sessions.workspace.corrections import CorrectionError
from sessions.workspace.lanes import lane_name


@login_required
@require_POST
def lane_name_form(request: HttpRequest, recording_id: str) -> HttpResponse:
    recording = access.get_recording_for_user(request.user, recording_id, write=True)
    label = (request.POST.get("lane") or "").strip()[:4]
    try:
        lane_name(
            recording=recording,
            author=request.user,
            lane=label,
            person=(request.POST.get("person") or "").strip()[:60],
            request=request,
        )
    except CorrectionError as exc:
        messages.error(request, f"The voice was not named: {exc}")
    else:
        messages.success(
            request,
            f"Speaker {label} is named in every segment of this recording. "
            "“Undo last correction” takes it back.",
        )
    url = reverse("session_detail", args=[recording.session_id])
    return redirect(f"{url}?recording={recording.pk}#speakers-heading")


class _Naming(serializers.Serializer[Any]):
    person = serializers.CharField(max_length=60)
    lane = serializers.CharField(max_length=4, required=False, allow_blank=True)
    segment = serializers.CharField(max_length=80, required=False, allow_blank=True)


class RecordingSpeakerNameView(APIView):
    @extend_schema(
        request=_Naming,
        responses={
            200: OpenApiResponse(description="The recording's workspace (as GET workspace/)"),
            400: inline_serializer("SpeakerNameError", {"detail": serializers.CharField()}),
        },
        summary="Name a voice (lane) of the recording, or the voice of one segment, as a "
        "participant: every segment of that voice follows",
    )
    def post(self, request: Request, recording_id: str) -> HttpResponse:
        recording = access.get_recording_for_user(request.user, recording_id, write=True)
        payload = _Naming(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if not data.get("lane") and not data.get("segment"):
            return Response(
                {"detail": "Say which voice to name: a lane or a segment."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            segments = lane_name(
                recording=recording,
                author=request.user,
                person=data["person"],
                lane=data.get("lane") or None,
                segment=data.get("segment") or None,
                request=request._request,
            )
        except CorrectionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return workspace_json(recording, request.user, segments)
