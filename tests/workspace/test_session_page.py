"""The session page opens on the main recording; its summary says what each figure covers and
follows each correction (the summary panel is served alone for the page to refresh it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sessions.models.audit import AuditEvent
from sessions.workspace import selectors, services
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_session_page_opens_on_the_longest_analysed_recording_not_the_newest(
    cast: Cast,
) -> None:
    long_one = recording_for(cast.session, name="whole-session.wav")
    done_run(long_one, segments=12, duration_s=600.0, seed=1)
    short_one = recording_for(cast.session, name="short-clip.wav")
    done_run(short_one, segments=3, duration_s=20.0, seed=2)
    # A newer recording still being analysed is not the main one either.
    recording_for(cast.session, name="newest-upload.wav")
    page = _client(cast.therapist).get(reverse("session_detail", args=[cast.session.pk]))
    assert page.context["selected"].recording == long_one
    html = page.content.decode()
    assert f'data-recording="{long_one.pk}"' in html
    # Asking for another recording still shows that one.
    other = _client(cast.therapist).get(
        reverse("session_detail", args=[cast.session.pk]), {"recording": str(short_one.pk)}
    )
    assert other.context["selected"].recording == short_one


def test_summary_says_it_is_for_the_whole_session_and_shows_this_recording_apart(
    cast: Cast,
) -> None:
    done_run(cast.recording, segments=10, duration_s=300.0, seed=3, child_share=0.9)
    second = recording_for(cast.session, name="second.wav")
    done_run(second, segments=4, duration_s=40.0, seed=4, child_share=0.9)
    html = (
        _client(cast.therapist)
        .get(reverse("session_detail", args=[cast.session.pk]))
        .content.decode()
    )
    assert "Whole session" in html
    assert "2 analysed recordings of this session together" in html
    assert 'id="summary-recording"' in html and "This recording" in html


def test_summary_panel_follows_a_correction(cast: Cast) -> None:
    run = done_run(cast.recording, segments=8, duration_s=40.0, seed=5)
    url = reverse("workspace_session_summary", args=[cast.session.pk])
    client = _client(cast.therapist)
    before = client.get(url, {"recording": str(cast.recording.pk)})
    assert before.status_code == 200
    assert before["Cache-Control"] == "private, no-store"
    assert "one analysed recording" in before.content.decode()
    # Every segment becomes the child's, angry: the panel served next says so.
    for seg in selectors.effective_segments_for_run(run):
        services.correction_apply(
            recording=cast.recording,
            author=cast.therapist,
            action="label",
            segment=seg["key"],
            speaker="child",
            emotion="angry",
        )
    after = client.get(url, {"recording": str(cast.recording.pk)})
    html = after.content.decode()
    assert "with therapist corrections" in html
    assert after.context["child_roles"]["child"]["talk_share"] == pytest.approx(1.0)
    assert after.context["emotion_rows"][0]["label"] == "angry"
    assert after.context["emotion_rows"][0]["share"] == pytest.approx(1.0)
    assert (
        AuditEvent.objects.filter(
            action="view", object_id=str(cast.session.pk), detail__part="summary"
        ).count()
        == 2
    )


def test_summary_panel_keeps_the_session_private(cast: Cast) -> None:
    done_run(cast.recording)
    url = reverse("workspace_session_summary", args=[cast.session.pk])
    assert _client(cast.guardian).get(url).status_code == 404
    assert _client(cast.other_therapist).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    assert _client(cast.admin).get(url).status_code == 200


def test_an_empty_recording_says_so_above_the_axes(cast: Cast) -> None:
    from sessions.workspace import charts

    layout = charts.timeline_layout(["child"], 30.0, has_segments=False, no_speech=True)
    (note,) = layout["annotations"]
    assert note["text"] == "No speech was found in this recording."
    # In the top margin, not in the middle of the plot where the axes are.
    assert note["yref"] == "paper" and note["y"] >= 1.0 and note["yanchor"] == "bottom"


def test_waveform_peaks_are_scaled_so_a_quiet_room_is_visible(cast: Cast) -> None:
    from sessions.workspace import charts
    from sessions.workspace.models import RecordingWaveform

    # Quiet speech (5% of full scale) and one loud knock.
    peaks = [0.05, 0.04, 0.0, 0.05] * 250 + [1.0]
    shown = charts.display_peaks(peaks)
    assert max(shown) == 1.0 and len(shown) == len(peaks)
    assert shown[0] == pytest.approx(1.0) and shown[1] == pytest.approx(0.8)
    assert shown[2] == 0.0
    assert charts.display_peaks([0.0, 0.0]) == [0.0, 0.0]
    assert charts.display_peaks([]) == []
    RecordingWaveform.objects.create(
        recording=cast.recording, peaks=peaks, peaks_per_second=20.0, duration_s=50.0
    )
    response = _client(cast.therapist).get(
        reverse("api-workspace-waveform", args=[cast.recording.pk])
    )
    assert response.status_code == 200
    assert response.json()["peaks"][:4] == pytest.approx([1.0, 0.8, 0.0, 1.0])


def test_children_list_shows_last_session_practice_to_review_and_failed_analyses(
    cast: Cast,
) -> None:
    import datetime as dt

    from django.utils import timezone

    from sessions.models import Recording, RecordingStatus
    from tests.exercises.factories import make_assignment, make_attempt, make_exercise
    from tests.workspace.factories import new_session

    later = new_session(child=cast.child, therapist=cast.therapist, date=dt.date(2026, 10, 5))
    failed = recording_for(later, name="broken.wav")
    Recording.objects.filter(pk=failed.pk).update(status=RecordingStatus.FAILED)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    for reviewed in (False, False, True):
        make_attempt(assignment, status="done", reviewed_at=timezone.now() if reviewed else None)
    make_attempt(assignment, status="queued")
    page = _client(cast.therapist).get(reverse("children"))
    html = page.content.decode()
    row = next(c for c in page.context["page"].object_list if c.pk == cast.child.pk)
    assert row.last_session == dt.date(2026, 10, 5)
    assert row.attempts_to_review == 2
    assert row.failed_analyses == 1
    assert "Last session" in html and "2026-10-05" in html
    assert "<strong>2</strong> waiting" in html and "<strong>1</strong> failed" in html
    assert reverse("child_exercises", args=[cast.child.pk]) in html
    # Another therapist's failed recording of another child does not count here.
    assert len(page.context["page"].object_list) == 1


def test_every_page_links_the_favicon_and_the_browsers_probe_finds_it(cast: Cast) -> None:
    from django.conf import settings

    html = _client(cast.therapist).get(reverse("children")).content.decode()
    assert 'rel="icon"' in html and "favicon" in html and 'type="image/svg+xml"' in html
    assert (settings.BASE_DIR / "static" / "img" / "favicon.svg").read_text().startswith("<svg")
    probe = Client().get("/favicon.ico")
    assert probe.status_code == 302 and "favicon" in probe["Location"]


def test_new_session_form_defaults_to_today_and_records_a_goal(cast: Cast) -> None:
    import datetime as dt

    from django.utils import timezone

    from sessions.models import TherapySession
    from sessions.workspace.models import TrendMarker

    client = _client(cast.therapist)
    url = reverse("session_create", args=[cast.child.pk])
    form = client.get(url)
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in form.content.decode()
    assert "Goal for the child\u2019s trends" in form.content.decode()
    response = client.post(
        url,
        {
            "date": "2026-11-03",
            "kind": "individual",
            "title": "Emotion cards",
            "goal-label": "Talks for a third of the session",
            "goal-metric": "talk_share",
            "goal-target": "35",
        },
    )
    assert response.status_code == 302
    session = TherapySession.objects.get(title="Emotion cards")
    goal = TrendMarker.objects.get(child=cast.child)
    assert (goal.kind, goal.date, goal.metric) == ("goal", dt.date(2026, 11, 3), "talk_share")
    assert goal.target == pytest.approx(0.35) and goal.label.startswith("Talks for a third")
    assert session.date == dt.date(2026, 11, 3)
    # Without a goal, no marker.
    client.post(url, {"date": "2026-11-10", "kind": "individual", "title": "No goal"})
    assert TrendMarker.objects.count() == 1


def test_a_bad_goal_keeps_the_new_session_form_with_its_input(cast: Cast) -> None:
    from sessions.models import TherapySession
    from sessions.workspace.models import TrendMarker

    url = reverse("session_create", args=[cast.child.pk])
    response = _client(cast.therapist).post(
        url,
        {
            "date": "2026-11-03",
            "kind": "individual",
            "title": "Kept title",
            "goal-label": "Happier",
            "goal-metric": "valence",
            "goal-target": "5",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The target must be between -1 and 1." in html
    assert 'value="Kept title"' in html and 'value="Happier"' in html
    assert not TherapySession.objects.filter(title="Kept title").exists()
    assert not TrendMarker.objects.exists()
