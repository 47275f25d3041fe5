"""Corrections at annotation-tool speed, in real headless Chromium: select a segment, one key
sets its emotion or speaker, one key splits it at the play position, its edges drag on the
waveform, and the session summary follows each correction without a reload."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.models import AnalysisRun
from sessions.models import Recording
from sessions.workspace import selectors, waveforms
from sessions.workspace.models import RecordingWaveform, SegmentEdit
from tests.analysis.audio_factory import speechlike, write_wav
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run
from tests.workspace.test_browser import SHOTS, _login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _analysed(cast: Cast, tmp_path: Path) -> tuple[Recording, AnalysisRun]:
    """A real 40 s recording (so it plays and seeks) with a synthetic finished analysis."""
    sr = 16000
    audio = np.concatenate([speechlike(9.5, sr, f0=140.0 + 60 * i, seed=i) for i in range(4)])
    path = write_wav(tmp_path / "tuesday.wav", audio.astype(np.float32) * 0.2, sr)
    recording = recording_for(cast.session, content=path.read_bytes(), name="tuesday.wav")
    run = done_run(recording, segments=8, duration_s=38.0, seed=3)
    waveforms.waveform_compute(recording=recording)
    return recording, run


def _open(page: Any, live_server: Any, cast: Cast) -> None:
    page.goto(f"{live_server.url}/sessions/{cast.session.pk}/")
    page.wait_for_selector("#workspace[data-loaded='1']", timeout=60_000)
    page.locator("#timeline .main-svg").first.wait_for()


def _saved(page: Any) -> None:
    page.wait_for_function(
        "() => !document.querySelector('#workspace').dataset.saving"
        " && document.querySelector('#panel-message').textContent"
        " && document.querySelector('#panel-message').textContent !== 'Saving…'"
    )


def test_keys_set_emotion_and_speaker_split_at_the_playhead_and_the_summary_follows(
    browser: Any,
    live_server: Any,
    cast: Cast,
    tmp_path: Path,
) -> None:
    _recording, run = _analysed(cast, tmp_path)
    page = _login(browser, live_server, cast.therapist.email)
    _open(page, live_server, cast)

    rows = page.locator("#segment-rows tr[data-index]")
    segments = selectors.effective_segments_for_run(run)
    assert rows.count() == len(segments)
    target = next(i for i, s in enumerate(segments) if s["emotion"] != "happy")
    rows.nth(target).click()
    page.locator("#segment-panel").wait_for(state="visible")
    # The edit panel sits beside the waveform, above the segment list.
    panel_box = page.locator("#segment-panel").bounding_box()
    list_box = page.locator("#segment-scroll").bounding_box()
    wave_box = page.locator("#waveform").bounding_box()
    assert panel_box is not None and list_box is not None and wave_box is not None
    assert panel_box["y"] < list_box["y"], "the edit panel is above the list"
    assert panel_box["x"] > wave_box["x"] + wave_box["width"] - 1, "beside the waveform"
    assert wave_box["height"] >= 120
    summary_before = page.locator("#summary").inner_text()
    refreshed = page.locator("#summary").get_attribute("data-refreshed")

    # Key 3 is the third emotion of the list (happy): saved at once.
    emotions = page.locator("#corr-emotion option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert emotions[2] == "happy"
    page.keyboard.press("3")
    _saved(page)
    edit = SegmentEdit.objects.get(run=run, superseded_at__isnull=True)
    assert edit.emotion == "happy" and edit.emotion_by_therapist
    assert edit.start_s == pytest.approx(segments[target]["start_s"])
    selected = page.locator("#segment-rows tr.is-selected")
    assert "happy" in selected.inner_text() and "corrected" in selected.inner_text()
    # The model's confidence stays visible beside the therapist's label.
    assert re.search(r"model \d+%", selected.inner_text())
    # The summary was fetched again: no reload, and it now counts the correction.
    page.wait_for_function(
        "(before) => document.querySelector('#summary').dataset.refreshed !== before",
        arg=refreshed,
    )
    assert "with therapist corrections" in page.locator("#summary").inner_text()
    assert page.locator("#summary").inner_text() != summary_before

    # T makes it the therapist's; the emotion stays as the therapist set it.
    page.keyboard.press("t")
    _saved(page)
    edit = SegmentEdit.objects.get(run=run, superseded_at__isnull=True)
    assert (edit.speaker, edit.emotion) == ("therapist", "happy")

    # Click the middle of the segment on the timeline: the play position goes there, and S
    # splits the segment at it.
    seg = segments[target]
    middle = (seg["start_s"] + seg["end_s"]) / 2
    box = page.locator("#waveform").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * middle / 38.0, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    page.locator("#segment-rows tr.is-selected").focus()
    page.keyboard.press("s")
    _saved(page)
    active = list(
        SegmentEdit.objects.filter(run=run, superseded_at__isnull=True).order_by("start_s")
    )
    assert [e.operation for e in active] == ["split", "split"]
    assert active[0].end_s == pytest.approx(middle, abs=0.5)
    assert active[0].emotion == active[1].emotion == "happy"
    assert page.locator("#segment-rows tr[data-index]").count() == len(segments) + 1
    page.screenshot(path=str(SHOTS / "workspace-keyboard-corrections.png"), full_page=True)

    # U undoes the split.
    page.keyboard.press("u")
    _saved(page)
    assert SegmentEdit.objects.filter(run=run, superseded_at__isnull=True).count() == 1
    assert page.problems == [], page.problems


def test_dragging_a_segments_edge_on_the_waveform_moves_it(
    browser: Any,
    live_server: Any,
    cast: Cast,
    tmp_path: Path,
) -> None:
    _recording, run = _analysed(cast, tmp_path)
    page = _login(browser, live_server, cast.therapist.email)
    _open(page, live_server, cast)
    segments = selectors.effective_segments_for_run(run)
    page.locator("#segment-rows tr[data-index]").nth(3).click()
    handle = page.locator("#region .ws-handle-end")
    handle.wait_for(state="visible")
    start = handle.bounding_box()
    wave = page.locator("#waveform").bounding_box()
    assert start is not None and wave is not None
    # Drag the end 0.4 s to the left (the view shows the whole 38 s recording).
    dx = -wave["width"] * 0.4 / 38.0
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y)
    page.mouse.move(x + dx, y)
    page.mouse.up()
    _saved(page)
    edit = SegmentEdit.objects.get(run=run, superseded_at__isnull=True)
    assert edit.operation == "move"
    assert edit.start_s == pytest.approx(segments[3]["start_s"])
    assert edit.end_s == pytest.approx(segments[3]["end_s"] - 0.4, abs=0.15)
    assert page.problems == [], page.problems


def test_a_long_session_lists_every_segment_in_a_window_of_rows(
    browser: Any,
    live_server: Any,
    cast: Cast,
    tmp_path: Path,
) -> None:
    # 45 minutes, 700 segments: the list holds them all without drawing 700 rows at once.
    run = done_run(cast.recording, segments=700, duration_s=2700.0, seed=7)
    # Stored peaks, so the page never queues a waveform job for this made-up file.
    RecordingWaveform.objects.create(
        recording=cast.recording, peaks=[0.2] * 2700, peaks_per_second=1.0, duration_s=2700.0
    )
    segments = selectors.effective_segments_for_run(run)
    page = _login(browser, live_server, cast.therapist.email)
    _open(page, live_server, cast)
    assert page.locator("#segment-count").inner_text() == "(700)"
    table = page.locator(".ws-segtable")
    assert table.get_attribute("aria-rowcount") == "701"
    drawn = page.locator("#segment-rows tr[data-index]").count()
    assert 0 < drawn < 200
    # The list is as tall as the whole session: scrolling to the end shows the last segment.
    page.locator("#segment-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = page.locator(f"#segment-rows tr[data-index='{len(segments) - 1}']")
    last.wait_for()
    # Keys still walk the list, and a key correction on a far segment is saved.
    last.click()
    page.keyboard.press("ArrowUp")
    assert page.locator("#segment-rows tr.is-selected").get_attribute("data-index") == str(
        len(segments) - 2
    )
    assert page.problems == [], page.problems
