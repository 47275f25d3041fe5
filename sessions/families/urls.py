from __future__ import annotations

from django.urls import URLPattern, path

from sessions.families.views import consent, family, family_consent, reports

urlpatterns: list[URLPattern] = [
    # Family portal
    path("family/", family.family_home, name="family_home"),
    path("family/children/<uuid:child_id>/", family.family_child, name="family_child"),
    path("family/reports/<uuid:report_id>/", family.family_report, name="family_report"),
    path(
        "family/children/<uuid:child_id>/consent/",
        family_consent.family_consent,
        name="family_consent",
    ),
    path(
        "family/children/<uuid:child_id>/consent/<str:purpose>/give/",
        family_consent.family_consent_give,
        name="family_consent_give",
    ),
    path(
        "family/children/<uuid:child_id>/consent/<str:purpose>/withdraw/",
        family_consent.family_consent_withdraw,
        name="family_consent_withdraw",
    ),
    path(
        "family/erasures/<uuid:erasure_id>/undo/",
        family_consent.family_erasure_undo,
        name="family_erasure_undo",
    ),
    # Progress reports (staff)
    path("children/<uuid:child_id>/reports/", reports.report_list, name="report_list"),
    path("children/<uuid:child_id>/reports/new/", reports.report_create, name="report_create"),
    path("reports/<uuid:report_id>/", reports.report_detail, name="report_detail"),
    path("reports/<uuid:report_id>/edit/", reports.report_edit, name="report_edit"),
    path("reports/<uuid:report_id>/release/", reports.report_release, name="report_release"),
    path("reports/<uuid:report_id>/revise/", reports.report_revise, name="report_revise"),
    path("reports/<uuid:report_id>/discard/", reports.report_discard, name="report_discard"),
    path("reports/<uuid:report_id>/pdf/", reports.report_pdf_download, name="report_pdf"),
    # Consent and the right of access
    path("children/<uuid:child_id>/consent/", consent.child_consent, name="child_consent"),
    path(
        "children/<uuid:child_id>/consent/<str:purpose>/grant/",
        consent.child_consent_grant,
        name="child_consent_grant",
    ),
    path(
        "children/<uuid:child_id>/consent/<str:purpose>/revoke/",
        consent.child_consent_revoke,
        name="child_consent_revoke",
    ),
    path("children/<uuid:child_id>/export/", consent.child_export, name="child_export"),
    path("console/consent/", consent.console_consent, name="console_consent"),
    path(
        "console/consent/texts/<str:purpose>/",
        consent.console_consent_text,
        name="console_consent_text",
    ),
]
