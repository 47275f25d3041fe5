"""API of the exercise library and of children's assignments, for therapists' tools.

Reads for the clinic's staff, writes for its therapists, as on the pages (access through
``sessions.exercises.selectors``, writes through its services, which audit them). Listing a
child's assignments, uploading and polling attempts: sessions.exercises.api.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access, audit
from sessions.exercises import services
from sessions.exercises.api import AssignmentSerializer
from sessions.exercises.models import EMOTION_CHOICES, Assignment, Difficulty, Exercise

WRITE_FIELDS = ("title", "phrase", "target_emotion", "goal", "instructions", "difficulty")


class LibraryExerciseSerializer(serializers.ModelSerializer[Exercise]):
    clinic = serializers.UUIDField(source="clinic_id", read_only=True)
    target_emotion = serializers.ChoiceField(choices=EMOTION_CHOICES)
    difficulty = serializers.ChoiceField(choices=Difficulty.choices, default=Difficulty.EASY)
    goal = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    instructions = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )
    archived = serializers.BooleanField(required=False, help_text="Hidden when assigning.")
    has_model_audio = serializers.SerializerMethodField()
    model_voice = serializers.CharField(
        read_only=True,
        help_text='How the model recording was made: "generated voice" (the library\'s '
        'generated speech), "recorded" (a person), or empty when there is none.',
    )
    model_audio = serializers.FileField(
        write_only=True,
        required=False,
        help_text="(multipart) the therapist saying the phrase with the target emotion, up to "
        "one minute",
    )
    remove_model_audio = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta:
        model = Exercise
        fields = [
            "id",
            "clinic",
            "title",
            "phrase",
            "target_emotion",
            "goal",
            "instructions",
            "difficulty",
            "archived",
            "has_model_audio",
            "model_voice",
            "model_audio",
            "remove_model_audio",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "clinic",
            "has_model_audio",
            "model_voice",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"title": {"max_length": 120}, "phrase": {"max_length": 300}}

    def get_has_model_audio(self, obj: Exercise) -> bool:
        return bool(obj.model_audio)

    def to_representation(self, instance: Exercise) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["archived"] = instance.archived_at is not None
        return data


def _rejected(exc: Any) -> ValidationError:
    return ValidationError({"model_audio": [exc.detail]})


class ExerciseListView(generics.ListCreateAPIView[Exercise]):
    """The exercise library of the user's clinics (staff); therapists add to it."""

    serializer_class = LibraryExerciseSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Exercise]:
        if not access.is_staff_member(self.request.user):
            raise PermissionDenied("The exercise library is for the clinic's staff.")
        queryset = access.exercises_visible_to(self.request.user)
        if self.request.query_params.get("archived") != "1":
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset.order_by("difficulty", "title", "id")

    @extend_schema(summary="Add an exercise to the library (therapists)")
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        clinic = access.require_therapist_clinic(request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            exercise = services.exercise_create(
                clinic=clinic,
                created_by=request.user,
                model_audio=data.get("model_audio"),
                request=request._request,
                **{name: data[name] for name in WRITE_FIELDS if name in data},
            )
        except services.RecordingRejected as exc:
            raise _rejected(exc) from exc
        if data.get("archived"):
            exercise = services.exercise_update(
                exercise=exercise, actor=request.user, archived=True, request=request._request
            )
        return Response(self.get_serializer(exercise).data, status=status.HTTP_201_CREATED)


class ExerciseDetailView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        responses={200: LibraryExerciseSerializer}, summary="One exercise of the library"
    )
    def get(self, request: Request, exercise_id: str) -> Response:
        exercise = access.get_exercise_for_user(request.user, exercise_id)
        return Response(LibraryExerciseSerializer(exercise).data)

    @extend_schema(
        request=LibraryExerciseSerializer,
        responses={200: LibraryExerciseSerializer},
        summary="Change an exercise's wording, target, model recording or archived state "
        "(therapists); children practising it see the new wording",
    )
    def patch(self, request: Request, exercise_id: str) -> Response:
        exercise = access.get_exercise_for_user(request.user, exercise_id, write=True)
        serializer = LibraryExerciseSerializer(exercise, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            exercise = services.exercise_update(
                exercise=exercise,
                actor=request.user,
                request=request._request,
                model_audio=data.get("model_audio"),
                remove_model_audio=bool(data.get("remove_model_audio")),
                archived=data.get("archived"),
                **{name: data[name] for name in WRITE_FIELDS if name in data},
            )
        except services.RecordingRejected as exc:
            raise _rejected(exc) from exc
        return Response(LibraryExerciseSerializer(exercise).data)


class _AssignmentWrite(serializers.Serializer[Any]):
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        max_length=7,
        help_text="Practice days, 0 (Monday) to 6 (Sunday); every day when left out or empty.",
    )
    starts_on = serializers.DateField(required=False, help_text="Today when left out.")
    ends_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("starts_on"), attrs.get("ends_on")
        if start and end and end < start:
            raise ValidationError({"ends_on": ["The end date is before the start date."]})
        return attrs


class _AssignmentCreate(_AssignmentWrite):
    exercise = serializers.UUIDField(help_text="An exercise of the child's clinic, not archived.")


class _AssignmentUpdate(_AssignmentWrite):
    ended = serializers.BooleanField(
        required=False, help_text="true stops the assignment (its attempts stay)."
    )


def _assign(
    *, request: Request, child: Any, exercise: Exercise, data: dict[str, Any], current: Any = None
) -> Assignment:
    """Create the child's assignment of ``exercise``, or change the open one (the service
    updates an open assignment of the same exercise in place)."""
    try:
        return services.assignment_create(
            child=child,
            exercise=exercise,
            assigned_by=request.user,
            weekdays=data.get("weekdays", current.weekday_list if current else range(7)),
            starts_on=data.get("starts_on", current.starts_on if current else None),
            ends_on=data.get("ends_on", current.ends_on if current else None),
            note=data.get("note", current.note if current else ""),
            request=request._request,
        )
    except ValueError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


class ChildAssignmentCreateView(APIView):
    @extend_schema(
        request=_AssignmentCreate,
        responses={201: AssignmentSerializer, 200: AssignmentSerializer},
        summary="Give an exercise to a child on a schedule (the child's therapists); 200 when "
        "the child already had it open and its schedule was updated",
    )
    def post(self, request: Request, child_id: str) -> Response:
        child = access.get_child_for_user(request.user, child_id, write=True)
        payload = _AssignmentCreate(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        exercise = Exercise.objects.filter(
            pk=data["exercise"], clinic_id=child.clinic_id, archived_at__isnull=True
        ).first()
        if exercise is None:
            raise ValidationError(
                {"exercise": ["Choose an exercise of this clinic that is not archived."]}
            )
        existed = Assignment.objects.filter(
            child=child, exercise=exercise, ended_at__isnull=True
        ).exists()
        assignment = _assign(request=request, child=child, exercise=exercise, data=data)
        return Response(
            AssignmentSerializer(assignment).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class AssignmentDetailView(APIView):
    @extend_schema(responses={200: AssignmentSerializer}, summary="One assignment of a child")
    def get(self, request: Request, assignment_id: str) -> Response:
        assignment = access.get_assignment_for_user(request.user, assignment_id)
        audit.record_view(request._request, assignment, child=assignment.child)
        return Response(AssignmentSerializer(assignment).data)

    @extend_schema(
        request=_AssignmentUpdate,
        responses={200: AssignmentSerializer},
        summary="Change an assignment's schedule or note, or end it (the child's therapists)",
    )
    def patch(self, request: Request, assignment_id: str) -> Response:
        assignment = access.get_assignment_for_user(request.user, assignment_id, write=True)
        payload = _AssignmentUpdate(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        ended = data.pop("ended", None)
        if assignment.ended_at is not None:
            if data or ended is False:
                raise ValidationError(
                    {"detail": "This assignment has ended: assign the exercise again instead."}
                )
            return Response(AssignmentSerializer(assignment).data)
        if data:
            assignment = _assign(
                request=request,
                child=assignment.child,
                exercise=assignment.exercise,
                data=data,
                current=assignment,
            )
        if ended:
            assignment = services.assignment_end(
                assignment=assignment, actor=request.user, request=request._request
            )
        return Response(AssignmentSerializer(assignment).data)
