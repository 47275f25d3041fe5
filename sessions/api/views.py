"""API views: thin; access through sessions.access, writes through sessions.services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from sessions import access, audit, services
from sessions.api.serializers import ChildSerializer, TherapySessionSerializer
from sessions.models import Child, TherapySession


class ChildViewSet(viewsets.ReadOnlyModelViewSet[Child]):
    serializer_class = ChildSerializer

    def get_queryset(self) -> QuerySet[Child]:
        return access.children_visible_to(self.request.user).order_by("given_name", "code")

    def get_object(self) -> Child:
        return access.get_child_for_user(self.request.user, self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit.record_list(
            actor=request.user,
            object_type="child",
            queryset=self.filter_queryset(self.get_queryset()),
            clinic_field="clinic_id",
            request=request._request,
        )
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        child = self.get_object()
        audit.record_view(request._request, child, child=child)
        return Response(self.get_serializer(child).data)


@extend_schema(
    parameters=[OpenApiParameter("child", OpenApiTypes.UUID, description="Filter by child")]
)
class TherapySessionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[TherapySession],
):
    serializer_class = TherapySessionSerializer

    def get_queryset(self) -> QuerySet[TherapySession]:
        queryset = (
            access.sessions_visible_to(self.request.user)
            .select_related("child")
            .prefetch_related("other_children", "other_therapists")
        )
        child_id = self.request.query_params.get("child")
        if child_id:
            child = access.get_child_for_user(self.request.user, child_id)
            queryset = queryset.filter(child=child)
        return queryset.order_by("-date", "-created_at")

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        # Notes are for the child's own therapists, decided per child (an admin of this clinic
        # who is a therapist in another one does not read them).
        context["notes_child_ids"] = set(
            access.children_editable_by(self.request.user).values_list("pk", flat=True)
        )
        return context

    def get_object(self) -> TherapySession:
        return access.get_session_for_user(self.request.user, self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit.record_list(
            actor=request.user,
            object_type="therapysession",
            queryset=self.filter_queryset(self.get_queryset()),
            clinic_field="child__clinic_id",
            request=request._request,
        )
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        audit.record_view(request._request, session, child=session.child)
        return Response(self.get_serializer(session).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        child = access.get_child_for_user(
            request.user, serializer.validated_data["child_id"], write=True
        )
        children, therapists = services.participant_candidates(child=child, therapist=request.user)
        wanted_children = set(serializer.validated_data.get("other_children", []))
        wanted_therapists = set(serializer.validated_data.get("other_therapists", []))
        other_children = list(children.filter(pk__in=wanted_children))
        other_therapists = list(therapists.filter(pk__in=wanted_therapists))
        # One message whether an id is unknown or of another clinic: nothing to learn from it.
        if len(other_children) != len(wanted_children - {child.pk}):
            raise ValidationError(
                {"other_children": ["Only other children of this clinic can take part."]}
            )
        if len(other_therapists) != len(wanted_therapists - {request.user.pk}):
            raise ValidationError(
                {"other_therapists": ["Only therapists of this clinic can take part."]}
            )
        session = services.session_create(
            child=child,
            therapist=request.user,
            date=serializer.validated_data["date"],
            kind=serializer.validated_data.get("kind", "individual"),
            title=serializer.validated_data.get("title", ""),
            notes=serializer.validated_data.get("notes", ""),
            other_children=other_children,
            other_therapists=other_therapists,
            request=request._request,
        )
        return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)
