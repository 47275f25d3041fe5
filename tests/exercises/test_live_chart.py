"""The practice chart shows the try that was just made, without a reload (headless Chromium).

The guardian records with Chromium's fake microphone; the upload goes through the real API.
The analysis is run by the test itself through the worker's own service
(``attempts.attempt_process``, the body of the Celery task), so no worker process is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sessions.exercises import attempts
from sessions.exercises.models import Attempt, AttemptStatus
from tests.conftest import Cast, grant_consent
from tests.exercises.factories import make_assignment, make_exercise
from tests.exercises.test_browser import PHONE, _logged_in_page, _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLOTTED_BARS = "(() => { const p = document.querySelector('#history .ex-chart-plot');"
PLOTTED_BARS += " return p && p.data ? p.data[0].y.length : -1; })()"


def _wait_for_attempt(page: Any, assignment: Any) -> Attempt:
    for _ in range(100):
        attempt = Attempt.objects.filter(assignment=assignment).first()
        if attempt is not None:
            return attempt
        page.wait_for_timeout(200)
    pytest.fail("the recording never reached the server")


def test_the_chart_shows_the_new_try_without_a_reload(
    live_server: Any,
    cast: Cast,
    active_model: Any,
    browser: Any,
    tmp_path: Path,
) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic, with_audio=True))
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    page.goto(f"/family/practice/{assignment.pk}/")
    assert page.get_by_text("No tries yet.").is_visible()
    assert page.locator("#history .ex-chart-plot").count() == 0
    page.evaluate("window.__samePage = true")  # gone if the page reloads

    page.get_by_role("button", name="Start recording").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=10_000)
    page.wait_for_timeout(2500)
    page.get_by_role("button", name="Stop").click()
    attempt = _wait_for_attempt(page, assignment)
    assert attempts.attempt_process(attempt.pk) in {"done", "unclear", "no_speech"}
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.DONE, (attempt.status, attempt.message)

    page.locator("#feedback .ex-result[data-final='1']").wait_for(timeout=30_000)
    page.locator("#history[data-updated]").wait_for(timeout=15_000)
    page.locator("#history .ex-chart-plot .main-svg").first.wait_for(timeout=15_000)
    assert page.evaluate(PLOTTED_BARS) == 1
    assert page.evaluate("window.__samePage") is True
    assert page.get_by_role("link", name=f"Just now {attempt.stars} out of 3 stars").is_visible()
    _shot(page, "practice-live-chart-phone")

    # A second try adds a second bar, still without a reload.
    page.get_by_role("button", name="Try again").click()
    page.get_by_role("button", name="Start recording").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=10_000)
    page.wait_for_timeout(2500)
    page.get_by_role("button", name="Stop").click()
    for _ in range(100):
        second = Attempt.objects.filter(assignment=assignment).exclude(pk=attempt.pk).first()
        if second is not None:
            break
        page.wait_for_timeout(200)
    else:
        pytest.fail("the second recording never reached the server")
    attempts.attempt_process(second.pk)
    for _ in range(150):  # wait_for_function would need eval, which the page's CSP forbids
        if page.evaluate(PLOTTED_BARS) == 2:
            break
        page.wait_for_timeout(200)
    assert page.evaluate(PLOTTED_BARS) == 2
    assert page.evaluate("window.__samePage") is True


def test_the_generated_example_plays_in_the_browser(
    live_server: Any,
    cast: Cast,
    browser: Any,
) -> None:
    from sessions.exercises.library_audio import manifest
    from sessions.exercises.models import Exercise

    grant_consent(cast.child)
    exercise = Exercise.objects.get(clinic=cast.clinic, library_key="greeting-happy")
    assignment = make_assignment(cast.child, exercise)
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    page.goto(f"/family/practice/{assignment.pk}/")
    assert page.get_by_text("Generated voice").is_visible()
    page.get_by_role("button", name="Listen to the example").click()
    page.get_by_role("button", name="Playing… (press to stop)").wait_for(timeout=10_000)
    played = "document.getElementById('example-audio').currentTime"
    for _ in range(50):  # the "play" event comes before the first samples
        if page.evaluate(played) > 0.2:
            break
        page.wait_for_timeout(100)
    assert page.evaluate(played) > 0.2, "the example never played"
    duration = page.evaluate("document.getElementById('example-audio').duration")
    assert duration == pytest.approx(manifest()["greeting-happy"]["duration_s"], abs=0.1)
