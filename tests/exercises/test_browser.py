"""A guardian records an attempt in headless Chromium and sees the stars.

Chromium's fake microphone plays a generated WAV; the upload goes through the real API, the
real broker and a real Celery worker with a tiny registered model, so the analysis truly runs.
Set SER_SCREENSHOTS_DIR to keep screenshots of the pages at phone and desktop width.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sessions.exercises.models import Attempt, AttemptStatus
from tests.conftest import Cast, grant_consent, signed_in_page
from tests.exercises.factories import make_assignment, make_exercise

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _logged_in_page(browser: Any, live_server: Any, user: Any, viewport: dict[str, int]) -> Any:
    return signed_in_page(browser, live_server, user, viewport=viewport)


def _shot(page: Any, name: str) -> None:
    directory = os.environ.get("SER_SCREENSHOTS_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


def test_guardian_records_an_attempt_and_sees_stars(
    live_server: Any,
    cast: Cast,
    active_model: Any,
    celery_worker: Any,
    browser: Any,
    tmp_path: Path,
) -> None:
    grant_consent(cast.child)
    exercise = make_exercise(cast.clinic, with_audio=True)
    assignment = make_assignment(cast.child, exercise)
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)

    page.goto(f"/family/children/{cast.child.pk}/exercises/")
    assert page.get_by_role("heading", name="Hi Mia!").is_visible()
    _shot(page, "family-exercises-phone")
    go = page.locator("a.ex-go")
    assert "Happy hello" in (go.text_content() or ""), "the button names its exercise"
    go.click()
    page.wait_for_url(f"**/family/practice/{assignment.pk}/")
    record = page.get_by_role("button", name="Start recording")
    assert record.is_visible()
    assert page.locator("#fallback").is_hidden(), "the file fallback hides when recording works"
    _shot(page, "practice-phone")

    record.click()
    page.get_by_role("button", name="Stop").wait_for(timeout=10_000)
    page.wait_for_timeout(3000)  # say the sentence (the fake microphone plays the WAV)
    peak = int(page.locator("#meter").get_attribute("data-peak") or 0)
    page.get_by_role("button", name="Stop").click()

    result = page.locator("#feedback .ex-result[data-final='1']")
    result.wait_for(timeout=90_000)
    attempt = Attempt.objects.get(assignment=assignment)
    assert attempt.status == AttemptStatus.DONE, (
        attempt.status,
        attempt.message,
        celery_worker.lines[-20:],
    )
    assert attempt.content_type in {"audio/webm", "audio/ogg"}
    panel = page.locator("#feedback")
    assert panel.get_by_text(f"{attempt.stars} out of 3 stars").first.is_visible()
    assert panel.get_by_role("img", name=f"{attempt.stars} out of 3 stars").is_visible()
    # The new try joins "My tries" without a reload.
    assert page.get_by_role("link", name=f"Just now {attempt.stars} out of 3 stars").is_visible()
    assert panel.get_by_text(attempt.message).is_visible()
    assert peak > 30, "the level meter moved while the microphone heard the voice"
    latency_ms = int(page.locator("#feedback").get_attribute("data-latency-ms") or -1)
    assert 0 <= latency_ms < 30_000
    page.get_by_text("For grown-ups: what the computer heard").click()
    assert page.get_by_role("heading", name="Emotions heard most").is_visible()
    _shot(page, "feedback-phone")

    desktop = _logged_in_page(browser, live_server, cast.guardian, DESKTOP)
    desktop.goto(f"/family/practice/{assignment.pk}/")
    desktop.locator(".ex-chart-plot .main-svg").first.wait_for(timeout=15_000)
    _shot(desktop, "practice-desktop")
    desktop.goto(f"/family/children/{cast.child.pk}/exercises/progress/")
    assert desktop.get_by_role("heading", name="Mia's progress").is_visible()
    _shot(desktop, "progress-desktop")


def test_no_microphone_gets_a_clear_message(live_server: Any, cast: Cast, browser: Any) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    # A machine without any microphone: the browser reports no devices and refuses capture.
    page.add_init_script("""
      navigator.mediaDevices.enumerateDevices = async () => [];
      navigator.mediaDevices.getUserMedia = async () => {
        throw new DOMException('Requested device not found', 'NotFoundError'); };
    """)
    page.goto(f"/family/practice/{assignment.pk}/")
    page.get_by_role("button", name="Start recording").click()
    status = page.locator("#rec-status")
    status.get_by_text("No microphone found").wait_for(timeout=5000)
    _shot(page, "no-microphone-phone")
    assert page.get_by_role("button", name="Start recording").is_enabled()
    assert not Attempt.objects.exists()


def test_blocked_microphone_explains_how_to_allow_it(
    live_server: Any, cast: Cast, browser: Any
) -> None:
    grant_consent(cast.child)
    assignment = make_assignment(cast.child, make_exercise(cast.clinic))
    page = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    page.add_init_script("""
      navigator.mediaDevices.getUserMedia = async () => {
        throw new DOMException('Permission denied', 'NotAllowedError'); };
    """)
    page.goto(f"/family/practice/{assignment.pk}/")
    page.get_by_role("button", name="Start recording").click()
    page.locator("#rec-status").get_by_text("The microphone is blocked").wait_for(timeout=5000)


def test_therapist_reviews_a_try_and_the_family_sees_it(
    live_server: Any, cast: Cast, browser: Any
) -> None:
    import datetime as dt

    from django.utils import timezone

    from tests.exercises.factories import done_attempt

    grant_consent(cast.child)
    happy = make_assignment(cast.child, make_exercise(cast.clinic, with_audio=True))
    calm = make_assignment(
        cast.child,
        make_exercise(
            cast.clinic, title="Saying no calmly", phrase="No, thank you.", target_emotion="calm"
        ),
    )
    now = timezone.now()
    for days, assignment, stars in [
        (6, happy, 1),
        (5, happy, 2),
        (4, calm, 1),
        (3, happy, 2),
        (2, calm, 2),
        (1, happy, 3),
        (0, calm, 3),
    ]:
        attempt = done_attempt(assignment, stars=stars, target_probability=0.2 + 0.2 * stars)
        Attempt.objects.filter(pk=attempt.pk).update(created_at=now - dt.timedelta(days=days))
    latest = done_attempt(happy, stars=1, tips=["Try saying it a little bit faster."])

    therapist = _logged_in_page(browser, live_server, cast.therapist, DESKTOP)
    therapist.goto(f"/children/{cast.child.pk}/exercises/")
    assert therapist.get_by_role("heading", name="Assigned exercises").is_visible()
    _shot(therapist, "child-exercises-desktop")
    therapist.goto(f"/exercises/attempts/{latest.pk}/")
    therapist.get_by_role("radio", name="3 stars", exact=True).check()
    therapist.get_by_role("radio", name="Yes, it came across").check()
    therapist.get_by_label("Encouragement for the family").fill("What a big smile in your voice!")
    _shot(therapist, "review-desktop")
    therapist.get_by_role("button", name="Save review").click()
    therapist.get_by_text("Review saved").wait_for()

    therapist.goto("/exercises/")
    _shot(therapist, "exercise-list-desktop")
    therapist.goto(f"/children/{cast.child.pk}/exercises/assign/")
    _shot(therapist, "assign-desktop")

    family = _logged_in_page(browser, live_server, cast.guardian, PHONE)
    family.goto(f"/family/attempts/{latest.pk}/")
    assert family.get_by_text("What a big smile in your voice!").is_visible()
    assert family.get_by_role("img", name="3 out of 3 stars").is_visible()
    _shot(family, "reviewed-result-phone")
    family.goto(f"/family/children/{cast.child.pk}/exercises/progress/")
    family.locator(".ex-chart-plot .main-svg").first.wait_for(timeout=15_000)
    _shot(family, "progress-phone")
    family.goto(f"/family/children/{cast.child.pk}/exercises/")
    _shot(family, "family-exercises-busy-phone")
