"""``GET /api/v1/audit/``: the clinic's audit log for its admins, with the console's filters."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from sessions import access
from sessions import audit_log as audit_reading
from sessions.models import AuditEvent
from sessions.models.audit import AuditAction


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.UUIDField(source="actor_id", read_only=True, allow_null=True)
    child_code = serializers.CharField(
        read_only=True, help_text="Empty when there is no child, or the child was erased."
    )
    account_email = serializers.CharField(
        read_only=True, help_text="The clinic member a login, logout or token entry is about."
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "account_email",
            "child_id",
            "child_code",
            "ip_address",
            "path",
            "detail",
        ]
        read_only_fields = fields


@extend_schema(
    summary="The clinic's audit log, newest first (clinic admins only)",
    parameters=[
        OpenApiParameter(
            "user", str, description="E-mail address (or part of it) or account id of who acted"
        ),
        OpenApiParameter(
            "child", str, description="The child's code, or the id of an erased child"
        ),
        OpenApiParameter("action", str, enum=list(AuditAction.values)),
        OpenApiParameter("since", OpenApiTypes.DATE, description="First day, included"),
        OpenApiParameter("until", OpenApiTypes.DATE, description="Last day, included"),
    ],
)
class AuditLogView(generics.ListAPIView[AuditEvent]):
    """The same entries and filters as the console's audit log page (``sessions.audit_log``).
    Reading the log is not itself an entry, as on the page; the page's CSV export is."""

    serializer_class = AuditEventSerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        self.clinic = access.require_clinic_admin(self.request.user)
        form = audit_reading.AuditFilterForm(self.request.query_params, clinic=self.clinic)
        if not form.is_valid():
            raise ValidationError(
                {
                    name: [e["message"] for e in errors]
                    for name, errors in form.errors.get_json_data().items()
                }
            )
        return audit_reading.events(clinic=self.clinic, filters=form.cleaned_data)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        entries = audit_reading.annotate(page if page is not None else queryset, clinic=self.clinic)
        data = self.get_serializer(entries, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)
