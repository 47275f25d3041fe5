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
