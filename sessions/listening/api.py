"""API of listening practice: a child's listening assignments (with each set's clips and
choices), sending an answer (the page's script; safe to resend), and a child's figures.

Same access rules as the pages (``sessions.access``); errors carry a readable ``detail`` and a
``code``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access, audit
from sessions.exercises.api import CHILD_PARAMETER, ChildAssignmentList
from sessions.families.consent import ConsentMissing
from sessions.listening import selectors, services
from sessions.listening.models import ListeningAssignment
from sessions.models import Child
from sessions.models.audit import AuditAction


class ListeningAssignmentSerializer(serializers.ModelSerializer[ListeningAssignment]):
    child = serializers.UUIDField(source="child_id", read_only=True)
    title = serializers.CharField(source="listening_set.title", read_only=True)
    choice_count = serializers.IntegerField(source="listening_set.choice_count", read_only=True)
    weekdays = serializers.ListField(
        source="weekday_list", child=serializers.IntegerField(), read_only=True
    )
    due_today = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField(
        help_text="Per clip: clip id, audio_url, generated (true: the starter set's generated "
        "voice) and the choices (emotion, word)."
    )

    class Meta:
        model = ListeningAssignment
        fields = [
            "id", "child", "title", "choice_count", "weekdays", "starts_on", "ends_on", "note",
            "due_today", "items",
        ]  # fmt: skip

    def get_due_today(self, obj: ListeningAssignment) -> bool:
        return obj.is_due_on(selectors.today())

    def get_items(self, obj: ListeningAssignment) -> list[dict[str, Any]]:
        return selectors.set_items(obj)


class AnswerSerializer(serializers.Serializer[Any]):
    client_id = serializers.UUIDField(
        help_text="A fresh UUID per answer, made by the browser: sending it again (a queued "
        "answer resent after a dropped connection) stores it once."
    )
    clip = serializers.UUIDField()
    chosen = serializers.CharField(max_length=20, help_text="The emotion picked.")
    response_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=0,
        help_text="From the end of the clip's first play to the pick.",
    )  # fmt: skip
    answered_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the child answered (browser clock)."
    )


ANSWER = inline_serializer("ListeningAnswerResult", fields={
    "id": serializers.UUIDField(),
    "client_id": serializers.UUIDField(),
    "correct": serializers.BooleanField(),
    "target_emotion": serializers.CharField(),
    "chosen_emotion": serializers.CharField(),
    "created": serializers.BooleanField(),
})  # fmt: skip

RESULTS = inline_serializer("ListeningResults", fields={
    "answers": serializers.IntegerField(),
    "correct": serializers.IntegerField(),
    "per_emotion": serializers.ListField(child=serializers.DictField()),
    "by_week": serializers.ListField(child=serializers.DictField()),
    "confusion": serializers.DictField(),
    "response_times": serializers.DictField(),
})  # fmt: skip


@extend_schema(parameters=[CHILD_PARAMETER])
class AssignmentListView(ChildAssignmentList):
    """The child's open listening assignments (``due_today`` marks today's)."""

    serializer_class = ListeningAssignmentSerializer
    object_type = "listeningassignment"

    def assignments(self, child: Child) -> QuerySet[ListeningAssignment]:
        return selectors.child_assignments(child=child)


class AnswerCreateView(APIView):
    """Send one answer. 201 stored, 200 already stored (same ``client_id``)."""

    @extend_schema(request=AnswerSerializer, responses={201: ANSWER, 200: ANSWER})
    def post(self, request: Request, assignment_id: str) -> Response:
        assignment = access.get_listening_assignment_for_user(
            request.user, assignment_id, practise=True
        )
        serializer = AnswerSerializer(data=request.data)
        if not serializer.is_valid():
            return Response(
                {"detail": "This answer is incomplete.", "code": "invalid",
                 "errors": serializer.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )  # fmt: skip
        data = serializer.validated_data
        try:
            answer, created = services.answer_record(
                assignment=assignment, clip_id=data["clip"], chosen=data["chosen"],
                client_id=data["client_id"], answered_by=request.user,
                response_ms=data.get("response_ms"), answered_at=data.get("answered_at"),
                request=request._request,
            )  # fmt: skip
        except ConsentMissing:
            return Response(
                {"detail": services.CONSENT_MESSAGE, "code": "consent_missing"},
                status=status.HTTP_403_FORBIDDEN,
            )
        except services.AnswerRejected as exc:
            return Response(
                {"detail": exc.detail, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            {
                "id": answer.pk, "client_id": answer.client_id, "correct": answer.correct,
                "target_emotion": answer.target_emotion, "chosen_emotion": answer.chosen_emotion,
                "created": created,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )  # fmt: skip


class ChildResultsView(APIView):
    """The child's listening figures: accuracy per emotion (all time and per week), the
    confusion matrix (rows: the clip's emotion, columns: the pick) and response times."""

    @extend_schema(responses={200: RESULTS})
    def get(self, request: Request, child_id: str) -> Response:
        child = access.get_child_for_user(request.user, child_id)
        figures = selectors.child_figures(child=child)
        audit.record(
            actor=request.user, action=AuditAction.VIEW, object_type="listening_results",
            object_id=child.pk, child=child, request=request._request,
        )  # fmt: skip
        times = figures["times"]
        matrix = figures["confusion"]
        return Response(
            {
                "answers": figures["answers"],
                "correct": figures["correct"],
                "per_emotion": [
                    {"emotion": r.emotion, "answers": r.answers, "correct": r.correct}
                    for r in figures["per_emotion"]
                ],
                "by_week": [
                    {"week": p.week.isoformat(), "emotion": p.emotion, "answers": p.answers,
                     "correct": p.correct}
                    for p in figures["by_week"]
                ],
                "confusion": {"labels": matrix.labels, "counts": matrix.counts},
                "response_times": {
                    "answers": times.answers, "median_ms": times.median_ms,
                    "median_correct_ms": times.median_correct_ms,
                    "median_wrong_ms": times.median_wrong_ms,
                },
            }
        )  # fmt: skip
