"""The session dashboard, exports and the child's trends, rendered by the server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions.models.audit import AuditEvent
from sessions.workspace import selectors, services
from sessions.workspace.models import TrendMarker
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run, new_session


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _session_with_run(
    cast: Cast,
    day: dt.date,
    *,
    segments: int = 10,
    seed: int = 0,
    kind: str = "individual",
    child_share: float = 0.5,
) -> Any:
    session = new_session(child=cast.child, therapist=cast.therapist, date=day, kind=kind)
    done_run(recording_for(session), segments=segments, seed=seed, child_share=child_share)
    return session


def test_dashboard_for_a_session_without_recordings_invites_an_upload(cast: Cast) -> None:
    session = new_session(child=cast.child, therapist=cast.therapist)
    page = _client(cast.therapist).get(reverse("session_detail", args=[session.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "No recordings in this session yet." in html
    assert 'id="file-input"' in html and "Record in the browser" in html
    assert "The summary appears when a recording of this session has been analysed." in html


def test_dashboard_shows_summary_and_change_since_previous_session(cast: Cast) -> None:
    previous = _session_with_run(cast, dt.date(2026, 9, 1), seed=1, child_share=0.2)
    current = _session_with_run(cast, dt.date(2026, 9, 8), seed=2, child_share=0.8)
    page = _client(cast.therapist).get(reverse("session_detail", args=[current.pk]))
    html = page.content.decode()
    assert "Session summary" in html and "Talk-time share" in html
    assert "Compared with" in html and "2026-09-01" in html
    before, now = selectors.session_figures([previous, current])
    assert before.roles is not None and now.roles is not None
    gained = now.roles["child"]["talk_share"] - before.roles["child"]["talk_share"]
    assert gained > 0.1, "the child talks more in the second session (0.2 -> 0.8 share)"
    row = re.search(r'<th scope="row">Talk-time share</th>(.*?)</tr>', html, re.DOTALL)
    assert row is not None
    assert f"▲ up {gained * 100:.0f} points" in row.group(1)
    assert reverse("workspace_export", args=[current.recordings.get().pk, "segments.csv"]) in html


def test_admin_sees_the_dashboard_without_capture_or_correction_tools(cast: Cast) -> None:
    done_run(cast.recording)
    page = _client(cast.admin).get(reverse("session_detail", args=[cast.session.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="file-input"' not in html
    assert 'id="correction-form"' not in html
    assert "only the child\u2019s therapist can correct it" in html
    assert "Private therapist notes" not in html


def test_segments_csv_export_is_audited_and_spreadsheet_safe(cast: Cast) -> None:
    run = done_run(cast.recording, segments=5)
    first = selectors.effective_segments_for_run(run)[0]
    services.correction_apply(
        recording=cast.recording,
        author=cast.therapist,
        action="label",
        segment=first["key"],
        emotion="happy",
        note="=HYPERLINK(1)",
    )
    url = reverse("workspace_export", args=[cast.recording.pk, "segments.csv"])
    response = _client(cast.therapist).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="{cast.child.code}_')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 5
    assert rows[0]["emotion"] == "happy" and rows[0]["corrected"] == "True"
    assert rows[0]["note"] == "'=HYPERLINK(1)"
    # Why a model estimate is uncertain travels with it ("" for a certain or corrected one).
    for row in rows:
        expected = "low_confidence" if row["uncertain"] == "True" else ""
        assert row["uncertain_reason"] == expected
    event = AuditEvent.objects.get(action="export")
    assert event.detail == {"format": "segments.csv", "rows": 5}
    assert event.child_id == cast.child.pk
    # The admin's export leaves therapists' notes out.
    admin_rows = list(csv.DictReader(io.StringIO(_client(cast.admin).get(url).content.decode())))
    assert "note" not in admin_rows[0]


def test_timeline_csv_and_json_exports(cast: Cast) -> None:
    done_run(cast.recording, segments=4)
    client = _client(cast.therapist)
    timeline = client.get(reverse("workspace_export", args=[cast.recording.pk, "timeline.csv"]))
    rows = list(csv.reader(io.StringIO(timeline.content.decode())))
    assert rows[0][:5] == ["start_s", "end_s", "speaker", "valence", "arousal"]
    assert len(rows) > 4
    document = json.loads(
        client.get(reverse("workspace_export", args=[cast.recording.pk, "analysis.json"])).content
    )
    assert document["child"] == cast.child.code and len(document["segments"]) == 4
    assert "given_name" not in json.dumps(document)
    assert AuditEvent.objects.filter(action="export").count() == 2
    missing = client.get(reverse("workspace_export", args=[cast.recording.pk, "other.txt"]))
    assert missing.status_code == 404


def test_export_before_analysis_is_a_clear_404(cast: Cast) -> None:
    response = _client(cast.therapist).get(
        reverse("workspace_export", args=[cast.recording.pk, "segments.csv"])
    )
    assert response.status_code == 404


def test_child_trends_filter_by_date_and_kind(cast: Cast) -> None:
    for week in range(6):
        _session_with_run(
            cast,
            dt.date(2026, 1, 5) + dt.timedelta(weeks=week),
            seed=week,
            kind="group" if week % 3 == 2 else "individual",
        )
    visible = selectors.child_trends(
        child=cast.child, sessions=selectors.access.sessions_visible_to(cast.therapist)
    )
    assert len(visible["points"]) == 6
    assert visible["unanalysed"] == 1  # the cast's own session has no analysis
    client = _client(cast.therapist)
    page = client.get(
        reverse("child_detail", args=[cast.child.pk]),
        {"from": "2026-01-12", "to": "2026-02-02", "kind": "individual"},
    )
    html = page.content.decode()
    assert "3 analysed sessions" in html
    figure = json.loads(
        html.split('id="trend-figure" type="application/json">')[1].split("</script>")[0]
    )
    talk = next(t for t in figure["data"] if t["name"] == "Child talk-time share")
    assert talk["x"] == ["2026-01-12", "2026-01-26", "2026-02-02"]
    bad = client.get(reverse("child_detail", args=[cast.child.pk]), {"from": "01/02/2026"})
    assert "could not be read" in bad.content.decode()


def test_trend_markers_are_drawn_and_validated(cast: Cast) -> None:
    _session_with_run(cast, dt.date(2026, 2, 2))
    client = _client(cast.therapist)
    url = reverse("workspace_marker_create", args=[cast.child.pk])
    client.post(url, {"kind": "phase", "date": "2026-02-01", "label": "Phase B: cards"})
    client.post(
        url,
        {
            "kind": "goal",
            "date": "2026-02-01",
            "label": "Talk more",
            "metric": "talk_share",
            "target": "40",
        },
    )
    bad = client.post(
        url,
        {"kind": "goal", "date": "2026-02-01", "label": "x", "metric": "valence", "target": "3"},
        follow=True,
    )
    assert "The target must be between -1 and 1." in bad.content.decode()
    markers = list(TrendMarker.objects.filter(child=cast.child).order_by("kind"))
    assert [(m.kind, m.target) for m in markers] == [("goal", 0.4), ("phase", None)]
    html = client.get(reverse("child_detail", args=[cast.child.pk])).content.decode()
    assert "Phase B: cards" in html and "Goal: Talk more (40%)" in html
    delete = reverse("workspace_marker_delete", args=[cast.child.pk, markers[1].pk])
    assert client.post(delete).status_code == 302
    assert TrendMarker.objects.filter(child=cast.child).count() == 1
    # Another child's therapist cannot touch this child's markers.
    other = _client(cast.other_therapist)
    assert (
        other.post(
            reverse("workspace_marker_delete", args=[cast.child.pk, markers[0].pk])
        ).status_code
        == 404
    )


@pytest.mark.parametrize("small,large", [(2, 8)])
def test_child_page_query_count_does_not_grow_with_sessions(
    cast: Cast, small: int, large: int
) -> None:
    client = _client(cast.therapist)
    url = reverse("child_detail", args=[cast.child.pk])

    def count(n: int) -> int:
        while cast.child.sessions.count() < n + 1:
            i = cast.child.sessions.count()
            _session_with_run(cast, dt.date(2025, 1, 6) + dt.timedelta(weeks=i), seed=i)
        client.get(url)  # warm caches (roles, session)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert count(small) == count(large)


def test_session_dashboard_query_count_does_not_grow_with_segments(cast: Cast) -> None:
    client = _client(cast.therapist)
    # Every measured session has an analysed session before it to compare with.
    _session_with_run(cast, dt.date(2026, 9, 1))

    def count(segments: int) -> int:
        session = new_session(child=cast.child, therapist=cast.therapist)
        recording = recording_for(session)
        done_run(recording, segments=segments)
        client.get(reverse("session_detail", args=[session.pk]))
        with CaptureQueriesContext(connection) as page:
            client.get(reverse("session_detail", args=[session.pk]))
        with CaptureQueriesContext(connection) as api:
            client.get(reverse("api-workspace-recording", args=[recording.pk]))
        return len(page) + 1000 * len(api)

    assert count(5) == count(60)


def test_trends_show_weekly_practice_results_with_the_review_winning(cast: Cast) -> None:
    from django.utils import timezone

    from sessions.exercises.models import Assignment, Attempt, Exercise

    exercise = Exercise.objects.create(
        clinic=cast.clinic, title="Say hello happily", phrase="Hello!", target_emotion="happy"
    )
    assignment = Assignment.objects.create(
        child=cast.child, exercise=exercise, starts_on=dt.date(2026, 1, 1)
    )
    monday = timezone.make_aware(dt.datetime(2026, 3, 2, 10))
    rows = [
        (monday, True, None),
        (monday, False, None),
        (monday, False, True),  # 2 of 3
        (monday + dt.timedelta(weeks=1), True, False),  # reviewed: not conveyed
    ]
    for created, conveyed, reviewed in rows:
        attempt = Attempt.objects.create(
            assignment=assignment,
            child=cast.child,
            status="done",
            conveyed=conveyed,
            reviewed_conveyed=reviewed,
        )
        Attempt.objects.filter(pk=attempt.pk).update(created_at=created)
    Attempt.objects.create(assignment=assignment, child=cast.child, status="failed")
    practice = selectors.practice_by_week(child=cast.child)
    assert [(w["week"], w["attempts"]) for w in practice] == [
        (dt.date(2026, 3, 2), 3),
        (dt.date(2026, 3, 9), 1),
    ]
    assert practice[0]["conveyed_share"] == pytest.approx(2 / 3)
    assert practice[1]["conveyed_share"] == 0
    html = _client(cast.therapist).get(reverse("child_detail", args=[cast.child.pk])).content
    figure = json.loads(
        html.decode().split('id="trend-figure" type="application/json">')[1].split("</script>")[0]
    )
    trace = next(t for t in figure["data"] if t["name"].startswith("Practice"))
    assert trace["x"] == ["2026-03-02", "2026-03-09"] and trace["text"] == ["3\u00d7", "1\u00d7"]
