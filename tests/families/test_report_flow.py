"""The whole report flow through the web, as the people who do it: the therapist composes,
previews, releases and downloads a report of analysed sessions; the family reads it and
downloads its PDF. ``make test`` runs this on PostgreSQL and on the demo's SQLite."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sessions.families.models import ConsentPurpose, ProgressReport, ReportStatus
from sessions.models import AuditEvent
from tests.conftest import Cast
from tests.families.helpers import analysed_session, consent

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_report_flow_from_composer_to_the_familys_pdf(cast: Cast) -> None:
    start = dt.date(2026, 2, 2)
    for week, mood in enumerate(({"happy": 0.6, "neutral": 0.4}, {"sad": 0.7, "neutral": 0.3})):
        analysed_session(cast.child, cast.therapist, start + dt.timedelta(weeks=week), mood)
    consent(cast.child, ConsentPurpose.SHARING)
    therapist = _client(cast.therapist)

    composed = therapist.post(
        reverse("report_create", kwargs={"child_id": cast.child.pk}),
        {
            "title": "February",
            "period_start": "2026-02-01",
            "period_end": "2026-02-28",
            "comments": "Taking turns well.",
        },
    )
    assert composed.status_code == 302
    report = ProgressReport.objects.get(child=cast.child)
    assert report.sessions.count() == 2

    preview = therapist.get(reverse("report_detail", kwargs={"report_id": report.pk}))
    assert preview.status_code == 200
    assert "Taking turns well." in preview.content.decode()
    assert preview.content.decode().count("<svg") >= 3

    released = therapist.post(reverse("report_release", kwargs={"report_id": report.pk}))
    assert released.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.RELEASED
    staff_pdf = therapist.get(reverse("report_pdf", kwargs={"report_id": report.pk}))
    assert staff_pdf.status_code == 200 and staff_pdf.content.startswith(b"%PDF")

    family = _client(cast.guardian)
    home = family.get(reverse("family_child", kwargs={"child_id": cast.child.pk}))
    assert home.status_code == 200
    assert reverse("family_report", kwargs={"report_id": report.pk}) in home.content.decode()
    page = family.get(reverse("family_report", kwargs={"report_id": report.pk}))
    assert page.status_code == 200 and "Taking turns well." in page.content.decode()
    family_pdf = family.get(reverse("report_pdf", kwargs={"report_id": report.pk}))
    assert family_pdf.status_code == 200 and family_pdf.content.startswith(b"%PDF")

    guardian_reads = AuditEvent.objects.filter(actor=cast.guardian, object_id=str(report.pk))
    assert {"view", "export"} <= set(guardian_reads.values_list("action", flat=True))
