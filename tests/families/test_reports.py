"""Progress reports: the automatic summary, release, immutability, corrections, the PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from analysis.models import RunStatus
from sessions.families import selectors, services
from sessions.families.models import ProgressReport, ReportLocked, ReportStatus
from sessions.families.pdf import report_pdf, report_pdf_html
from sessions.models import AuditEvent
from tests.conftest import Cast
from tests.factories import recording_for
from tests.families.helpers import (
    analyse,
    analysed_session,
    consent,
    new_session,
    practice_attempt,
    released_report,
)

pytestmark = pytest.mark.django_db

HAPPY = {"happy": 0.6, "neutral": 0.4}
SAD = {"sad": 0.7, "neutral": 0.3}


def _sessions(cast: Cast, moods: list[dict[str, float]]) -> list[Any]:
    start = dt.date(2026, 1, 5)
    return [
        analysed_session(cast.child, cast.therapist, start + dt.timedelta(weeks=i), mood)
        for i, mood in enumerate(moods)
    ]


# --- the automatic summary --------------------------------------------------------------------


def test_summary_uses_the_newest_finished_run_of_each_recording(cast: Cast) -> None:
    session = new_session(child=cast.child, therapist=cast.therapist, date=dt.date(2026, 3, 1))
    recording = recording_for(session)
    analyse(recording, SAD, finished_at=timezone.now() - dt.timedelta(days=2))
    analyse(recording, HAPPY, finished_at=timezone.now() - dt.timedelta(days=1))
    analyse(recording, {"angry": 1.0}, status=RunStatus.FAILED)
    data = selectors.report_summary(
        child=cast.child, sessions=[session], period_start=session.date, period_end=session.date
    )
    child = data["sessions"][0]["child"]
    assert child["emotion_shares"]["happy"] == pytest.approx(0.6)
    assert child["emotion_shares"]["sad"] == 0
    assert child["mood"] == {
        "positive": pytest.approx(0.6),
        "neutral": pytest.approx(0.4),
        "negative": 0,
    }


def test_summary_weights_recordings_by_the_childs_speech_time(cast: Cast) -> None:
    session = new_session(child=cast.child, therapist=cast.therapist)
    analyse(recording_for(session), {"happy": 1.0}, speech_s=30, talk_share=0.5)
    analyse(recording_for(session), {"sad": 1.0}, speech_s=90, talk_share=0.25)
    data = selectors.report_summary(
        child=cast.child, sessions=[session], period_start=session.date, period_end=session.date
    )
    child = data["sessions"][0]["child"]
    assert child["emotion_shares"]["happy"] == pytest.approx(0.25)
    assert child["emotion_shares"]["sad"] == pytest.approx(0.75)
    assert child["speech_s"] == pytest.approx(120)
    # 30 of 60 s, and 90 of 360 s: 120 of 420 s in all.
    assert child["talk_share"] == pytest.approx(120 / 420, abs=1e-4)


def test_summary_reports_trends_and_sessions_without_recordings(cast: Cast) -> None:
    sessions = _sessions(cast, [SAD, SAD, HAPPY, HAPPY])
    empty = new_session(child=cast.child, therapist=cast.therapist, date=dt.date(2026, 2, 20))
    data = selectors.report_summary(
        child=cast.child,
        sessions=[*sessions, empty],
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 3, 1),
    )
    assert data["session_count"] == 5 and data["sessions_with_data"] == 4
    assert data["trends"]["calm_or_cheerful"] == "up"
    assert [r["child"] is None for r in data["sessions"]] == [False] * 4 + [True]


def test_summary_counts_practice_in_the_period(cast: Cast) -> None:
    practice_attempt(cast.child, stars=3)
    practice_attempt(cast.child, stars=1)
    today = timezone.localdate()
    data = selectors.report_summary(
        child=cast.child, sessions=[], period_start=today, period_end=today
    )
    [row] = data["exercises"]
    assert row["attempts"] == 2 and row["completed"] == 2 and row["conveyed"] == 1
    assert row["mean_stars"] == 2.0


def test_draft_summary_follows_the_data_and_released_summary_is_frozen(cast: Cast) -> None:
    [session] = _sessions(cast, [HAPPY])
    consent(cast.child, "sharing")
    report = services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=session.date,
        period_end=session.date,
        sessions=[session],
    )
    released = services.report_release(report=report, actor=cast.therapist)
    frozen = dict(released.summary)
    analyse(recording_for(session), {"angry": 1.0}, speech_s=600)
    released.refresh_from_db()
    assert selectors.report_data(released) == frozen


# --- release, immutability, corrections -------------------------------------------------------


def test_released_report_cannot_change(cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, [HAPPY]))
    with pytest.raises(ReportLocked):
        services.report_update(
            report=report,
            actor=cast.therapist,
            title="New",
            period_start=report.period_start,
            period_end=report.period_end,
            sessions=[],
            comments="changed",
        )
    with pytest.raises(ReportLocked):
        services.report_discard(report=report, actor=cast.therapist)
    loaded = ProgressReport.objects.get(pk=report.pk)
    loaded.comments = "tampered"
    with pytest.raises(ReportLocked):
        loaded.save()
    assert ProgressReport.objects.get(pk=report.pk).comments == "Lovely progress."


def test_editing_a_released_report_in_the_browser_is_refused(client: Any, cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, [HAPPY]))
    client.force_login(cast.therapist)
    url = reverse("report_edit", kwargs={"report_id": report.pk})
    response = client.post(
        url,
        {
            "title": "x",
            "period_start": "2026-01-01",
            "period_end": "2026-02-01",
            "comments": "changed",
        },
        follow=True,
    )
    assert b"can no longer be changed" in response.content
    assert ProgressReport.objects.get(pk=report.pk).comments == "Lovely progress."


def test_a_correction_is_a_new_version_and_the_family_sees_the_newest(cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, [HAPPY]))
    correction = services.report_revise(report=report, actor=cast.therapist)
    assert correction.version == 2 and correction.series == report.series
    assert correction.status == ReportStatus.DRAFT and correction.supersedes == report
    assert services.report_revise(report=report, actor=cast.therapist) == correction
    # Until the correction is released the family keeps seeing version 1.
    assert selectors.reports_for_family(child=cast.child) == [report]
    services.report_update(
        report=correction,
        actor=cast.therapist,
        title=correction.title,
        period_start=correction.period_start,
        period_end=correction.period_end,
        sessions=correction.sessions.all(),
        comments="Corrected words.",
    )
    services.report_release(report=correction, actor=cast.therapist)
    assert selectors.reports_for_family(child=cast.child) == [correction]
    report.refresh_from_db()
    assert report.status == ReportStatus.RELEASED and report.comments == "Lovely progress."


def test_release_is_audited_and_idempotent(cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, [HAPPY]))
    released_at = report.released_at
    again = services.report_release(report=report, actor=cast.therapist)
    assert again.released_at == released_at
    assert AuditEvent.objects.filter(action="release", object_id=str(report.pk)).count() == 1


def test_report_cannot_include_another_childs_session(cast: Cast) -> None:
    other = new_session(child=cast.other_child, therapist=cast.other_therapist)
    with pytest.raises(ValueError):
        services.report_create(
            child=cast.child,
            actor=cast.therapist,
            period_start=other.date,
            period_end=other.date,
            sessions=[other],
        )


def test_composer_creates_a_draft_with_every_session_of_the_period(client: Any, cast: Cast) -> None:
    sessions = _sessions(cast, [HAPPY, SAD, HAPPY])
    client.force_login(cast.therapist)
    response = client.post(
        reverse("report_create", kwargs={"child_id": cast.child.pk}),
        {
            "title": "Spring report",
            "period_start": "2026-01-01",
            "period_end": "2026-01-15",
            "comments": "Doing well.",
        },
    )
    assert response.status_code == 302
    report = ProgressReport.objects.get(child=cast.child)
    assert set(report.sessions.all()) == set(sessions[:2])
    assert report.status == ReportStatus.DRAFT


def test_composing_and_editing_a_draft_store_every_field_of_the_form(
    client: Any, cast: Cast
) -> None:
    sessions = _sessions(cast, [HAPPY, SAD, HAPPY])
    client.force_login(cast.therapist)

    def stored(report: ProgressReport) -> tuple[Any, ...]:
        report.refresh_from_db()
        return (
            report.title,
            report.period_start.isoformat(),
            report.period_end.isoformat(),
            {s.pk for s in report.sessions.all()},
            report.comments,
            bool(report.summary.get(selectors.LISTENING_CHOICE)),
        )

    composed = client.post(
        reverse("report_create", kwargs={"child_id": cast.child.pk}),
        {
            "title": "Spring report",
            "period_start": "2026-01-01",
            "period_end": "2026-01-25",
            "sessions": [str(sessions[1].pk)],
            "comments": "Doing well.",
            "include_listening": "on",
        },
    )
    assert composed.status_code == 302
    report = ProgressReport.objects.get(child=cast.child)
    assert stored(report) == (
        "Spring report", "2026-01-01", "2026-01-25", {sessions[1].pk}, "Doing well.", True,
    )  # fmt: skip
    edited = client.post(
        reverse("report_edit", kwargs={"report_id": report.pk}),
        {
            "title": "Winter report",
            "period_start": "2026-01-02",
            "period_end": "2026-01-20",
            "sessions": [str(sessions[0].pk), str(sessions[2].pk)],
            "comments": "Still doing well.",
        },
    )
    assert edited.status_code == 302
    assert stored(report) == (
        "Winter report", "2026-01-02", "2026-01-20", {sessions[0].pk, sessions[2].pk},
        "Still doing well.", False,
    )  # fmt: skip


def test_composer_rejects_sessions_outside_the_period(client: Any, cast: Cast) -> None:
    sessions = _sessions(cast, [HAPPY, SAD])
    client.force_login(cast.therapist)
    response = client.post(
        reverse("report_create", kwargs={"child_id": cast.child.pk}),
        {
            "title": "R",
            "period_start": "2026-01-01",
            "period_end": "2026-01-06",
            "sessions": [str(s.pk) for s in sessions],
        },
    )
    assert response.status_code == 200 and b"outside the period" in response.content
    assert not ProgressReport.objects.exists()


def test_preview_shows_summary_charts_and_comments(client: Any, cast: Cast) -> None:
    sessions = _sessions(cast, [HAPPY, SAD, HAPPY, HAPPY])
    report = services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=sessions[0].date,
        period_end=sessions[-1].date,
        sessions=sessions,
        comments="Great turn-taking.",
    )
    client.force_login(cast.therapist)
    page = client.get(reverse("report_detail", kwargs={"report_id": report.pk}))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Great turn-taking." in body and body.count("<svg") >= 3
    assert "cannot be released yet" in body.lower()  # no sharing consent yet


# --- the PDF ----------------------------------------------------------------------------------


def test_pdf_renders_with_charts(cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, [HAPPY, SAD, HAPPY]))
    pdf = report_pdf(report)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    html = report_pdf_html(report)
    assert html.count("<svg") >= 3


def test_pdf_holds_nothing_the_guardian_may_not_see(cast: Cast) -> None:
    sessions = _sessions(cast, [HAPPY, SAD])
    for s in sessions:
        s.title = "TITLE-private"
        s.save()
    other = analysed_session(cast.other_child, cast.other_therapist, sessions[0].date, SAD)
    other.notes = "OTHER-CHILD-NOTE"
    other.save()
    report = released_report(cast.child, cast.therapist, sessions, comments="For the family.")
    html = report_pdf_html(report)
    assert "For the family." in html
    for secret in (
        "PRIVATE-NOTE",
        "TITLE-private",
        "OTHER-CHILD-NOTE",
        cast.other_child.given_name,
        cast.child.family_name,
        cast.therapist.email,
        "clip.wav",
    ):
        assert secret not in html
    assert "PRIVATE-NOTE" not in str(report.summary)


def test_guardian_downloads_the_released_pdf_and_it_is_audited(client: Any, cast: Cast) -> None:
    report = released_report(cast.child, cast.therapist, _sessions(cast, [HAPPY]))
    client.force_login(cast.guardian)
    response = client.get(reverse("report_pdf", kwargs={"report_id": report.pk}))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(
        action="export", object_id=str(report.pk), actor=cast.guardian
    ).exists()
