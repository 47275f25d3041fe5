"""The family portal: calm, plain pages with released reports only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse

from sessions.families import services
from sessions.families.models import ReportStatus
from tests.conftest import Cast
from tests.families.helpers import analysed_session, consent, released_report

pytestmark = pytest.mark.django_db

HAPPY = {"happy": 0.6, "neutral": 0.4}


def _sessions(cast: Cast, n: int) -> list[Any]:
    return [
        analysed_session(
            cast.child, cast.therapist, dt.date(2026, 1, 5) + dt.timedelta(weeks=i), HAPPY
        )
        for i in range(n)
    ]


def test_family_home_sends_a_single_child_family_to_the_childs_page(
    client: Any, cast: Cast
) -> None:
    client.force_login(cast.guardian)
    response = client.get(reverse("family_home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("family_child", kwargs={"child_id": cast.child.pk})


def test_family_page_before_anything_is_shared_is_calm_and_clear(client: Any, cast: Cast) -> None:
    client.force_login(cast.guardian)
    page = client.get(reverse("family_child", kwargs={"child_id": cast.child.pk}))
    body = page.content.decode()
    assert page.status_code == 200
    assert "once you have agreed to receive them" in body
    assert "Download everything we hold" in body


def test_family_sees_released_reports_and_trend_but_never_drafts(client: Any, cast: Cast) -> None:
    sessions = _sessions(cast, 3)
    report = released_report(cast.child, cast.therapist, sessions, comments="Shared words.")
    draft = services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=sessions[0].date,
        period_end=sessions[-1].date,
        sessions=sessions,
        comments="DRAFT-WORDS",
    )
    client.force_login(cast.guardian)
    body = client.get(reverse("family_child", kwargs={"child_id": cast.child.pk})).content.decode()
    assert "Shared words." in body and "DRAFT-WORDS" not in body
    assert 'role="img"' in body  # the trend chart
    assert "PRIVATE-NOTE" not in body
    assert client.get(reverse("family_report", kwargs={"report_id": draft.pk})).status_code == 404
    assert client.get(reverse("report_pdf", kwargs={"report_id": draft.pk})).status_code == 404
    page = client.get(reverse("family_report", kwargs={"report_id": report.pk}))
    assert page.status_code == 200 and b"Shared words." in page.content


def test_family_report_speaks_plainly_and_keeps_numbers_in_details(client: Any, cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, 4))
    client.force_login(cast.guardian)
    body = client.get(reverse("family_report", kwargs={"report_id": report.pk})).content.decode()
    glance = body[body.index("At a glance") : body.index("<details")]
    for jargon in ("valence", "arousal", "probabilit", "0.6"):
        assert jargon not in glance.lower()
    assert "calm or neutral about 40%" in glance
    assert "<details>" in body and "The numbers behind the charts" in body


def test_revoking_sharing_consent_hides_reports_from_the_family(client: Any, cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, 2))
    services.consent_revoke(child=cast.child, purpose="sharing", actor=cast.admin)
    client.force_login(cast.guardian)
    assert client.get(reverse("family_report", kwargs={"report_id": report.pk})).status_code == 404
    body = client.get(reverse("family_child", kwargs={"child_id": cast.child.pk})).content
    assert b"Lovely progress." not in body
    report.refresh_from_db()
    assert report.status == ReportStatus.RELEASED  # the document itself is kept


def test_other_family_sees_nothing(client: Any, cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, 1))
    client.force_login(cast.other_guardian)
    assert (
        client.get(reverse("family_child", kwargs={"child_id": cast.child.pk})).status_code == 404
    )
    assert client.get(reverse("family_report", kwargs={"report_id": report.pk})).status_code == 404


def test_practice_link_points_at_the_exercises_page_when_it_exists(client: Any, cast: Cast) -> None:
    client.force_login(cast.guardian)
    body = client.get(reverse("family_child", kwargs={"child_id": cast.child.pk})).content
    try:
        url = reverse("family_exercises", kwargs={"child_id": cast.child.pk})
    except NoReverseMatch:
        assert b"you will find them here" in body
    else:
        assert url.encode() in body


def test_staff_preview_says_it_is_a_preview(client: Any, cast: Cast) -> None:
    consent(cast.child, "sharing")
    client.force_login(cast.therapist)
    body = client.get(reverse("family_child", kwargs={"child_id": cast.child.pk})).content
    assert b"as " + cast.child.given_name.encode() + b"'s family sees it" in body.replace(
        b"&#x27;", b"'"
    )
    assert b"Download everything we hold" not in body
