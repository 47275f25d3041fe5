"""The child's trend charts read like an ABA graph: lines break at phase changes, one session
is a visible bar, labels sit clear of the bars, and the marker form explains what it refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.urls import reverse

from sessions import access
from sessions.workspace import charts, selectors
from sessions.workspace.models import TrendMarker
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run, new_session


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _weekly(cast: Cast, weeks: int, start: dt.date = dt.date(2026, 3, 2)) -> None:
    for week in range(weeks):
        session = new_session(
            child=cast.child, therapist=cast.therapist, date=start + dt.timedelta(weeks=week)
        )
        done_run(recording_for(session), segments=10, seed=week, child_share=0.5)


def _figure(cast: Cast) -> dict[str, Any]:
    trends = selectors.child_trends(
        child=cast.child, sessions=access.sessions_visible_to(cast.therapist)
    )
    return charts.trends_figure(trends)


def _trace(figure: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in figure["data"] if t["name"] == name)


def test_lines_break_at_a_phase_change(cast: Cast) -> None:
    _weekly(cast, 4)
    TrendMarker.objects.create(
        child=cast.child, kind="phase", date=dt.date(2026, 3, 16), label="Phase B"
    )
    figure = _figure(cast)
    for name in ("Mean valence (± sd)", "Mean arousal (± sd)", "Child talk-time share"):
        trace = _trace(figure, name)
        # Sessions on 2, 9 | 16, 23 March: the gap falls before the session on the phase day.
        assert trace["x"] == ["2026-03-02", "2026-03-09", None, "2026-03-16", "2026-03-23"]
        assert trace["y"][2] is None and None not in trace["y"][:2] + trace["y"][3:]
        assert trace["connectgaps"] is False
        assert len(trace["customdata"]) == len(trace["x"])
    sd = _trace(figure, "Mean valence (± sd)")["error_y"]["array"]
    assert len(sd) == 5 and sd[2] is None


def test_without_phase_lines_the_line_is_unbroken(cast: Cast) -> None:
    _weekly(cast, 3)
    trace = _trace(_figure(cast), "Child talk-time share")
    assert None not in trace["x"]


def test_one_session_is_a_visible_bar(cast: Cast) -> None:
    _weekly(cast, 1)
    bars = [t for t in _figure(cast)["data"] if t["type"] == "bar"]
    assert bars, "the emotion panel has bars for the one session"
    for bar in bars:
        # Days wide, not the one-millisecond default of a single point on a date axis.
        assert bar["width"] == [int(7 * 0.7 * charts.DAY_MS)]


def test_bars_are_narrower_than_the_gap_between_sessions(cast: Cast) -> None:
    _weekly(cast, 3)
    bar = next(t for t in _figure(cast)["data"] if t["type"] == "bar")
    assert bar["width"][0] < 7 * charts.DAY_MS


def test_phase_labels_sit_above_the_panels_and_the_legend_below(cast: Cast) -> None:
    _weekly(cast, 4)
    for day, label in ((dt.date(2026, 3, 9), "Phase B"), (dt.date(2026, 3, 16), "Phase C")):
        TrendMarker.objects.create(child=cast.child, kind="phase", date=day, label=label)
    figure = _figure(cast)
    layout = figure["layout"]
    labels = [a for a in layout["annotations"] if "Phase" in a["text"]]
    assert len(labels) == 2
    for note in labels:
        # Above the top panel (its domain ends at 1), in the top margin: never over a bar.
        assert note["yref"] == "paper" and note["y"] >= 1.0 and note["yanchor"] == "bottom"
        assert note["yshift"] >= 0
    # Neighbouring labels take turns between two rows, so they do not cover each other.
    assert labels[0]["yshift"] != labels[1]["yshift"]
    assert layout["margin"]["t"] >= max(n["yshift"] for n in labels) + 18
    assert layout["legend"]["y"] < 0 and layout["legend"]["yanchor"] == "top"
    # All panels share one date axis.
    axes = [k for k in layout if k.startswith("xaxis") and k != "xaxis"]
    assert axes and all(layout[k]["matches"] == "x" for k in axes)


def test_a_duplicate_marker_is_refused_with_a_message(cast: Cast) -> None:
    client = _client(cast.therapist)
    url = reverse("workspace_marker_create", args=[cast.child.pk])
    body = {"kind": "phase", "date": "2026-03-09", "label": "Phase B"}
    assert client.post(url, body).status_code == 302
    again = client.post(url, {**body, "label": "Phase B again"}, follow=True)
    html = again.content.decode()
    assert "There is already a phase line on 2026-03-09 (“Phase B”)" in html
    assert TrendMarker.objects.filter(child=cast.child).count() == 1
    # A goal on the same day is not a duplicate of the phase line; a second goal for the same
    # measure and day is.
    goal = {
        "kind": "goal",
        "date": "2026-03-09",
        "label": "Talk more",
        "metric": "talk_share",
        "target": "40",
    }
    client.post(url, goal)
    assert TrendMarker.objects.filter(child=cast.child).count() == 2
    twice = client.post(url, goal, follow=True).content.decode()
    assert "There is already a goal for Child talk-time share on 2026-03-09" in twice
    assert TrendMarker.objects.filter(child=cast.child).count() == 2


def test_an_invalid_goal_keeps_the_form_open_with_the_input_and_the_error_beside_it(
    cast: Cast,
) -> None:
    client = _client(cast.therapist)
    url = reverse("workspace_marker_create", args=[cast.child.pk])
    response = client.post(
        url,
        {
            "kind": "goal",
            "date": "2026-03-09",
            "label": "Happier voice",
            "metric": "valence",
            "target": "3",
        },
        follow=True,
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0].endswith("#marker-form")
    assert '<details id="marker-form" open>' in html
    assert 'value="Happier voice"' in html and 'value="3"' in html
    assert 'value="2026-03-09"' in html
    assert '<option value="valence" selected>' in html
    assert 'id="marker-target-error">The target must be between -1 and 1.</span>' in html
    assert 'aria-invalid="true"' in html
    assert not TrendMarker.objects.exists()
    # Shown once: the next visit has a fresh, closed form.
    html = client.get(reverse("child_detail", args=[cast.child.pk])).content.decode()
    assert '<details id="marker-form">' in html and 'value="Happier voice"' not in html


def test_a_goal_without_a_measure_says_so_beside_the_measure(cast: Cast) -> None:
    client = _client(cast.therapist)
    url = reverse("workspace_marker_create", args=[cast.child.pk])
    html = client.post(
        url,
        {"kind": "goal", "date": "2026-03-09", "label": "Goal", "metric": "", "target": "x"},
        follow=True,
    ).content.decode()
    assert 'id="marker-metric-error">A goal needs a measure: choose one.</span>' in html
    assert 'id="marker-target-error">The target must be a number' in html
