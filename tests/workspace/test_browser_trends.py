"""The child's trends in Chromium: one analysed session is a visible bar, and a phase label
sits above the bars rather than over them."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest

from sessions.workspace.models import TrendMarker
from tests.conftest import Cast
from tests.factories import recording_for
from tests.workspace.factories import done_run, new_session
from tests.workspace.test_browser import SHOTS, _login

# The shared browser fixture: in tests/conftest.py, or (before that) in the workspace tests.
with contextlib.suppress(ImportError):
    from tests.workspace.test_browser import browser  # type: ignore[attr-defined]  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_one_session_draws_visible_bars_and_the_phase_label_clears_them(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    session = new_session(child=cast.child, therapist=cast.therapist, date=dt.date(2026, 6, 1))
    done_run(recording_for(session), segments=20, seed=1, child_share=0.5)
    TrendMarker.objects.create(
        child=cast.child, kind="phase", date=dt.date(2026, 6, 1), label="Phase B: cards"
    )
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/children/{cast.child.pk}/")
    page.locator("#trend-chart .main-svg").first.wait_for()
    bars = page.locator("#trend-chart .barlayer .point path")
    assert bars.count() > 0
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert min(widths) > 4, widths
    tops = [bars.nth(i).bounding_box()["y"] for i in range(bars.count())]
    label = page.locator("#trend-chart .annotation", has_text="Phase B: cards")
    box = label.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= min(tops) + 1, "the label is above the bars"
    page.locator("#trends").screenshot(path=str(SHOTS / "workspace-trends-one-session.png"))
    assert page.problems == [], page.problems
