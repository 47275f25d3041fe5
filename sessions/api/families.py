"""API of the families app's records: progress reports, consent records, the family archive.

Same access rules and audit entries as the pages (sessions.families.views): reads through
``sessions.families.selectors``, writes through its services. The two file downloads (a
report's PDF, the child's archive) are answered by the pages' own views, so what they check
and log cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import access, audit
from sessions.families import selectors, services
from sessions.families.consent import ConsentMissing, purpose_or_404
from sessions.families.models import ConsentPurpose, ConsentRecord, ProgressReport
from sessions.families.views import consent as consent_pages
from sessions.families.views import reports as report_pages
from sessions.models import Child
from sessions.models.audit import AuditAction
from sessions.types import Actor

_DETAIL = inline_serializer("FamiliesDetail", {"detail": serializers.CharField()})


# --- reports ------------------------------------------------------------------------------------


class ReportSerializer(serializers.ModelSerializer[ProgressReport]):
    child = serializers.UUIDField(source="child_id", read_only=True)
    sessions = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField(
        help_text="The figures the report shows: frozen when released, computed afresh for a draft."
    )

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "child",
            "series",
            "version",
            "status",
            "title",
            "period_start",
            "period_end",
            "comments",
            "sessions",
            "released_at",
            "created_at",
            "updated_at",
            "summary",
        ]
        read_only_fields = fields

    def get_sessions(self, report: ProgressReport) -> list[str]:
        return [str(pk) for pk in report.sessions.values_list("pk", flat=True)]

    def get_summary(self, report: ProgressReport) -> dict[str, Any]:
        if not self.context.get("with_summary"):
            return {}
        return selectors.report_data(report)


def _reports_for(user: Actor, child: Child) -> list[ProgressReport]:
    """Staff see every version of every report; the family the newest released versions."""
    if access.is_staff_reader(user, child):
        return selectors.reports_for_staff(child=child)
    return selectors.reports_for_family(child=child)


class ChildReportListView(APIView):
    @extend_schema(
        responses={200: ReportSerializer(many=True)},
        summary="A child's progress reports (staff: every version; the family: the released "
        "ones, while reports may be shared)",
    )
    def get(self, request: Request, child_id: str) -> Response:
        child = access.get_child_for_user(request.user, child_id)
        reports = _reports_for(request.user, child)
        audit.record(
            actor=request.user,
            action=AuditAction.LIST,
            object_type="progressreport",
            child=child,
            request=request._request,
            detail={"count": len(reports)},
        )
        return Response(ReportSerializer(reports, many=True).data)


class ReportDetailView(APIView):
    @extend_schema(
        responses={200: ReportSerializer}, summary="A progress report with the figures it shows"
    )
    def get(self, request: Request, report_id: str) -> Response:
        report = access.get_report_for_user(request.user, report_id)
        audit.record_view(request._request, report, child=report.child)
        return Response(ReportSerializer(report, context={"with_summary": True}).data)


class ReportPdfView(APIView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="A progress report as PDF (audited as an export)",
    )
    def get(self, request: Request, report_id: str) -> HttpResponseBase:
        return report_pages.report_pdf_download(request._request, report_id)


class ReportReleaseView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: ReportSerializer,
            409: OpenApiResponse(_DETAIL, description="The family's consent to sharing is "
                                 "not in force: the report stays a draft."),
        },
        summary="Release a draft report to the family (the child's therapists)",
    )  # fmt: skip
    def post(self, request: Request, report_id: str) -> Response:
        report = access.get_report_for_user(request.user, report_id, write=True)
        try:
            report = services.report_release(
                report=report, actor=request.user, request=request._request
            )
        except ConsentMissing as exc:
            return Response(
                {"detail": f"{exc} The report stays a draft; a clinic admin can record it."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ReportSerializer(report, context={"with_summary": True}).data)


# --- consent ------------------------------------------------------------------------------------


class ConsentRecordSerializer(serializers.ModelSerializer[ConsentRecord]):
    text_version = serializers.IntegerField(source="text.version", read_only=True)
    # The same choices as ``channel`` (one enum in the schema), empty while in force.
    revoked_channel = serializers.CharField(
        read_only=True, help_text="clinic or online; empty while the consent is in force"
    )

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "purpose",
            "text_version",
            "given_by",
            "channel",
            "recorded_at",
            "revoked_at",
            "revoked_channel",
        ]
        read_only_fields = fields


CONSENTS = inline_serializer(
    "ChildConsents",
    {
        "child": serializers.UUIDField(),
        "purposes": serializers.ListField(
            child=inline_serializer(
                "ConsentPurposeStatus",
                {
                    "purpose": serializers.ChoiceField(choices=ConsentPurpose.choices),
                    "label": serializers.CharField(),
                    "given": serializers.BooleanField(),
                    "current_text_version": serializers.IntegerField(allow_null=True),
                    "live": ConsentRecordSerializer(allow_null=True),
                    "history": ConsentRecordSerializer(many=True),
                },
            )
        ),
    },
)


def _consents(child: Child) -> dict[str, Any]:
    versions = {
        purpose: text.version if text else None
        for purpose, text in selectors.consent_texts_current(clinic=child.clinic).items()
    }
    return {
        "child": str(child.pk),
        "purposes": [
            {
                "purpose": s.purpose,
                "label": s.label,
                "given": s.given,
                "current_text_version": versions[s.purpose],
                "live": ConsentRecordSerializer(s.live).data if s.live else None,
                "history": ConsentRecordSerializer(s.history, many=True).data,
            }
            for s in selectors.consent_overview(child=child)
        ],
    }


class ChildConsentView(APIView):
    @extend_schema(
        responses={200: CONSENTS},
        summary="A child's consents per purpose, with their history (the child's therapists "
        "and clinic admins)",
    )
    def get(self, request: Request, child_id: str) -> Response:
        child = access.get_child_for_user(request.user, child_id)
        if not access.is_staff_reader(request.user, child):
            raise PermissionDenied("Families see their consents in the family portal.")
        audit.record_consent_view(request._request, child)
        return Response(_consents(child))


class _Grant(serializers.Serializer[Any]):
    given_by = serializers.CharField(
        max_length=200, help_text="Name of the guardian who gave consent, as on the signed form."
    )
    text_version = serializers.IntegerField(
        min_value=1,
        help_text="The version of the consent text the guardian was shown and agreed to: it "
        "must be the clinic's current one.",
    )


class ConsentGrantView(APIView):
    @extend_schema(
        request=_Grant,
        responses={201: ConsentRecordSerializer, 200: ConsentRecordSerializer, 409: _DETAIL},
        summary="Record a guardian's consent for one purpose (clinic admins); 200 with the "
        "record in force when it was already given",
    )
    def post(self, request: Request, child_id: str, purpose: str) -> Response:
        child = access.get_child_for_consent_admin(request.user, child_id)
        purpose_value = purpose_or_404(purpose)
        payload = _Grant(data=request.data)
        payload.is_valid(raise_exception=True)
        text = selectors.consent_text_current(clinic=child.clinic, purpose=purpose_value)
        if text is None:
            return Response(
                {"detail": f"The clinic has no consent text for {purpose_value.label.lower()} "
                 "yet: publish one in the console first."},
                status=status.HTTP_409_CONFLICT,
            )  # fmt: skip
        if payload.validated_data["text_version"] != text.version:
            return Response(
                {
                    "detail": f"The current text is version {text.version}: the guardian must "
                    "agree to that one.",
                    "errors": {"text_version": [f"Expected {text.version}."]},
                },
                status=status.HTTP_409_CONFLICT,
            )
        already = ConsentRecord.objects.filter(
            child=child, purpose=purpose_value, revoked_at__isnull=True
        ).exists()
        try:
            record = services.consent_grant(
                child=child,
                purpose=purpose_value,
                given_by=payload.validated_data["given_by"],
                actor=request.user,
                request=request._request,
            )
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            ConsentRecordSerializer(record).data,
            status=status.HTTP_200_OK if already else status.HTTP_201_CREATED,
        )


class _Revoke(serializers.Serializer[Any]):
    understood = serializers.BooleanField(
        help_text="true: you know what revoking does (for recording consent: every recording "
        "of the child and everything derived from it is deleted now)."
    )
    confirm_code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=12,
        help_text="For recording consent: the child's code, typed to confirm the erasure.",
    )


class ConsentRevokeView(APIView):
    @extend_schema(
        request=_Revoke,
        responses={
            200: inline_serializer(
                "ConsentRevoked",
                {
                    "revoked": serializers.BooleanField(),
                    "record": ConsentRecordSerializer(allow_null=True),
                    "erased": serializers.DictField(
                        child=serializers.IntegerField(), allow_null=True
                    ),
                },
            )
        },
        summary="Revoke a child's consent for one purpose (clinic admins); revoking recording "
        "consent erases the child's recordings",
    )
    def post(self, request: Request, child_id: str, purpose: str) -> Response:
        child = access.get_child_for_consent_admin(request.user, child_id)
        purpose_value = purpose_or_404(purpose)
        payload = _Revoke(data=request.data)
        payload.is_valid(raise_exception=True)
        errors: dict[str, list[str]] = {}
        if not payload.validated_data["understood"]:
            errors["understood"] = ["Confirm that you understand what revoking this does."]
        if purpose_value == ConsentPurpose.RECORDING:
            code = payload.validated_data.get("confirm_code", "").strip()
            if code.upper() != child.code.upper():
                errors["confirm_code"] = ["Type the child's code to confirm the erasure."]
        if errors:
            return Response(
                {"detail": "Some fields are missing or invalid.", "errors": errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        result = services.consent_revoke(
            child=child, purpose=purpose_value, actor=request.user, request=request._request
        )
        return Response(
            {
                "revoked": result.record is not None,
                "record": ConsentRecordSerializer(result.record).data if result.record else None,
                "erased": result.erased,
            }
        )


# --- the family archive -------------------------------------------------------------------------


class ChildArchiveView(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        summary="Everything the clinic holds about a child, as a ZIP (the guardian, or a clinic "
        "admin on their behalf; audited as an export)",
    )
    def get(self, request: Request, child_id: str) -> HttpResponseBase:
        return consent_pages.child_export(request._request, child_id)
