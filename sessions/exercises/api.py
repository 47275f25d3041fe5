"""API of practice exercises: list a child's assignments, upload an attempt, poll its feedback.

The practice page's recorder uses the last two. Same access rules as the pages (through
``selectors``); errors always carry a readable ``detail`` (and a ``code`` for the client).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access, audit
from sessions.exercises import attempts, selectors, services
from sessions.exercises.models import Assignment
from sessions.families.consent import ConsentMissing
from sessions.models import Child
from sessions.models.audit import AuditAction


class ExerciseSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    phrase = serializers.CharField(read_only=True)
    target_emotion = serializers.CharField(read_only=True)
    instructions = serializers.CharField(read_only=True)
    difficulty = serializers.IntegerField(read_only=True)
    has_model_audio = serializers.SerializerMethodField()
    model_voice = serializers.CharField(
        read_only=True,
        help_text='How the model recording was made: "generated voice" (the library\'s '
        'generated speech), "recorded" (a person), or empty when there is none.',
    )

    def get_has_model_audio(self, obj: Any) -> bool:
        return bool(obj.model_audio)


class AssignmentSerializer(serializers.ModelSerializer[Assignment]):
    exercise = ExerciseSerializer(read_only=True)
    child = serializers.UUIDField(source="child_id", read_only=True)
    weekdays = serializers.ListField(
        source="weekday_list", child=serializers.IntegerField(), read_only=True
    )
    due_today = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "child",
            "exercise",
            "weekdays",
            "starts_on",
            "ends_on",
            "note",
            "due_today",
        ]

    def get_due_today(self, obj: Assignment) -> bool:
        return obj.is_due_on(selectors.today())


class AttemptUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="The recording (WebM/Opus, Ogg, MP4/AAC, WAV...), at most one minute."
    )
    client_token = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="A fresh UUID per recording: sending the same one again returns the first "
        "attempt instead of storing a copy.",
    )
    # A string, parsed leniently by the service: a malformed report must never cost the child
    # the recording itself.
    capture = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="A JSON object: what the browser applied while recording (track.getSettings(): "
        "echoCancellation, noiseSuppression, autoGainControl, channelCount, sampleRate, "
        "sampleSize) and the recorder's mimeType and audioBitsPerSecond. Other keys are dropped.",
    )


FEEDBACK = inline_serializer("AttemptFeedback", fields={
    "id": serializers.UUIDField(),
    "status": serializers.ChoiceField(
        choices=["queued", "processing", "done", "no_speech", "failed"]),
    "final": serializers.BooleanField(),
    "message": serializers.CharField(),
    "stars": serializers.IntegerField(allow_null=True),
    "conveyed": serializers.BooleanField(allow_null=True),
    "target_emotion": serializers.CharField(),
    "target_probability": serializers.FloatField(allow_null=True),
    "top_emotions": serializers.ListField(child=serializers.DictField()),
    "prosody": serializers.DictField(),
    "comparisons": serializers.ListField(child=serializers.DictField()),
    "tips": serializers.ListField(child=serializers.CharField()),
    "encouragement": serializers.CharField(),
    # Paths on this server (relative URLs), not absolute URIs.
    "status_url": serializers.CharField(),
    "result_url": serializers.CharField(),
    "audio_url": serializers.CharField(allow_null=True),
})  # fmt: skip


def _feedback(attempt: Any) -> dict[str, Any]:
    data = selectors.attempt_feedback(attempt)
    data["status_url"] = reverse("api-exercise-attempt-detail", args=[attempt.pk])
    data["result_url"] = reverse("attempt_result", args=[attempt.pk])
    data["audio_url"] = reverse("attempt_audio", args=[attempt.pk]) if attempt.has_audio else None
    return data


class ChildAssignmentList(generics.ListAPIView[Any]):
    """A child's open assignments, speaking or listening: the child named by ``?child=`` (404
    when the user may not see it), one LIST audit entry of the child with the count. A
    subclass names its rows' ``object_type`` and selects them in ``assignments``."""

    object_type: str

    def assignments(self, child: Child) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        child = access.get_child_for_user(
            self.request.user, self.request.query_params.get("child", "")
        )
        self.child = child
        return self.assignments(child)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit.record(
            actor=request.user,
            action=AuditAction.LIST,
            object_type=self.object_type,
            child=self.child,
            request=request._request,
            detail={"count": response.data.get("count")},
        )
        return response


CHILD_PARAMETER = OpenApiParameter(
    "child", OpenApiTypes.UUID, required=True, description="The child"
)


@extend_schema(parameters=[CHILD_PARAMETER])
class AssignmentListView(ChildAssignmentList):
    """The child's open exercise assignments (``due_today`` marks today's)."""

    serializer_class = AssignmentSerializer
    object_type = "assignment"

    def assignments(self, child: Child) -> QuerySet[Assignment]:
        return selectors.child_assignments(child=child)


class AttemptCreateView(APIView):
    """Upload one practice recording; analysis starts at once on the short queue."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=AttemptUploadSerializer, responses={201: FEEDBACK, 200: FEEDBACK})
    def post(self, request: Request, assignment_id: str) -> Response:
        assignment = access.get_assignment_for_user(request.user, assignment_id, practise=True)
        serializer = AttemptUploadSerializer(data=request.data)
        if not serializer.is_valid():
            return Response(
                {
                    "detail": "Please record your voice first, then send it.",
                    "code": "no_file",
                    "errors": serializer.errors,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            attempt, created = services.attempt_create(
                assignment=assignment, uploaded_file=serializer.validated_data["file"],
                uploaded_by=request.user,
                client_token=serializer.validated_data.get("client_token"),
                capture=serializer.validated_data.get("capture"),
                request=request._request,
            )  # fmt: skip
        except ConsentMissing:
            return Response(
                {"detail": attempts.CONSENT_MESSAGE, "code": "consent_missing"},
                status=status.HTTP_403_FORBIDDEN,
            )
        except services.RecordingRejected as exc:
            return Response(
                {"detail": exc.detail, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            _feedback(attempt), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class AttemptDetailView(APIView):
    """The attempt's status and, once analysed, its feedback. Poll until ``final``."""

    @extend_schema(responses={200: FEEDBACK})
    def get(self, request: Request, attempt_id: str) -> Response:
        attempt = access.get_attempt_for_user(request.user, attempt_id)
        if attempt.is_final:
            # One entry when the feedback is read, not one per poll while waiting.
            audit.record_view(request._request, attempt, child=attempt.child)
        else:
            attempts.attempt_nudge(attempt=attempt)
        return Response(_feedback(attempt))
