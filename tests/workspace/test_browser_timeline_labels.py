"""The emotion names on the timeline's speaker lanes (issue 14): a 45-minute recording's first
view lays out none (no segment is wide enough to hold one, and laying out hundreds of hidden
labels was a fifth of the first drawing); zooming in brings them back, zooming out removes
them again; a short recording shows them from the start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cast
from tests.workspace.factories import done_run
from tests.workspace.test_browser import _login
from tests.workspace.test_browser_corrections import _analysed, _open

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LABELS = "#timeline .barlayer .bartext"


def _names(page: Any) -> list[str]:
    texts = page.locator(LABELS).evaluate_all("els => els.map((e) => e.textContent || '')")
    return [t.strip() for t in texts if t.strip()]


def test_a_long_recording_shows_emotion_names_once_zoomed_in(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    done_run(cast.recording, segments=300, duration_s=2700.0, seed=5)
    page = _login(browser, live_server, cast.therapist.email)
    _open(page, live_server, cast)
    assert page.locator(LABELS).count() == 0
    for _ in range(12):
        page.locator("#btn-zoom-in").click()
        if _names(page):
            break
    names = _names(page)
    assert names, "zoomed in, the segments are named"
    assert {n.rstrip("?✎ ") for n in names} <= {
        "neutral",
        "calm",
        "happy",
        "sad",
        "angry",
    }
    page.locator("#btn-zoom-fit").click()
    page.wait_for_function(f"() => document.querySelectorAll('{LABELS}').length === 0")


def test_a_short_recording_shows_emotion_names_from_the_start(
    browser: Any, live_server: Any, cast: Cast, tmp_path: Path
) -> None:
    _analysed(cast, tmp_path)
    page = _login(browser, live_server, cast.therapist.email)
    _open(page, live_server, cast)
    assert len(_names(page)) >= 4
