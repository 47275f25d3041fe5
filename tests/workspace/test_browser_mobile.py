"""The therapist's everyday screens at 390 px wide (a phone): nothing wider than the screen."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest

from sessions.workspace.models import RecordingWaveform
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run, new_session
from tests.workspace.test_browser import SHOTS, _login

# The shared browser fixture: in tests/conftest.py, or (before that) in the workspace tests.
with contextlib.suppress(ImportError):
    from tests.workspace.test_browser import browser  # type: ignore[attr-defined]  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _overflow(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def test_children_list_session_page_and_trends_fit_a_phone(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    for week in range(3):
        session = new_session(
            child=cast.child,
            therapist=cast.therapist,
            date=dt.date(2026, 6, 1) + dt.timedelta(weeks=week),
        )
        run = done_run(recording_for(session), segments=12, seed=week)
        RecordingWaveform.objects.create(
            recording=run.recording, peaks=[0.2] * 60, peaks_per_second=1.0, duration_s=60.0
        )
    page = _login(browser, live_server, cast.therapist.email)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/children/")
    assert _overflow(page) <= 0, "children list"
    # One card per child, each value under its label.
    cell = page.locator("table.table-cards td[data-label='Last session']").first
    assert "Last session" in cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert cell.evaluate("td => getComputedStyle(td).display") == "flex"
    page.screenshot(path=str(SHOTS / "children-390.png"), full_page=True)
    page.goto(f"{live_server.url}/children/{cast.child.pk}/")
    page.locator("#trend-chart .main-svg").first.wait_for()
    assert _overflow(page) <= 0, "child page"
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    page.wait_for_selector("#workspace[data-loaded='1']", timeout=60_000)
    assert _overflow(page) <= 0, "session page"
    page.screenshot(path=str(SHOTS / "session-390.png"), full_page=True)
    assert page.problems == [], page.problems
