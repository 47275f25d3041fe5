"""The therapist workspace in real headless Chromium against a live server.

The analysis really runs: a real Celery worker (``celery_worker``) with a tiny registered model
(``active_model``) analyses the uploaded file. Screenshots of the main screens are written to
``artifacts/screenshots/`` (gitignored) for people to look at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings

from sessions.models import Recording
from sessions.workspace import uploads
from sessions.workspace.models import SegmentEdit
from tests.analysis.audio_factory import speechlike, write_wav
from tests.conftest import Cast, grant_consent
from tests.factories import PASSWORD, recording_for
from tests.workspace.factories import done_run, new_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


def _login(browser: Any, live_server: Any, email: str) -> Any:
    """A page of the shared ``browser`` (tests/conftest.py), logged in, collecting problems."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.problems = []

    # Script errors, console errors and failed responses (the browser's favicon probe aside).
    def on_console(msg: Any) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            page.problems.append(msg.text)

    def on_response(response: Any) -> None:
        if response.status >= 400 and "favicon" not in response.url:
            page.problems.append(f"{response.status} {response.url}")

    page.on("pageerror", lambda exc: page.problems.append(f"script error: {exc}"))
    page.on("console", on_console)
    page.on("response", on_response)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label(re.compile("e-?mail", re.I)).first.fill(email)
    page.get_by_label(re.compile("password", re.I)).first.fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/login" not in page.url, "login failed"
    return page


def _two_voices(path: Path) -> Path:
    """Two alternating 'voices' (low and high pitch), like a therapist and a child."""
    sr = 16000
    parts = []
    for i in range(4):
        parts.append(speechlike(5.0, sr, f0=120.0 if i % 2 == 0 else 290.0, seed=i))
        parts.append(np.zeros(int(0.6 * sr), dtype=np.float32))
    return write_wav(path, np.concatenate(parts), sr)


def test_therapist_uploads_follows_analysis_and_corrects_a_segment(
    browser: Any,
    live_server: Any,
    cast: Cast,
    active_model: Any,
    celery_worker: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    grant_consent(cast.child)
    # Small chunks, so even this short file goes up in several resumable parts.
    monkeypatch.setattr(uploads, "CHUNK_BYTES", 128 * 1024)
    audio = _two_voices(tmp_path / "session-tuesday.wav")
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/sessions/{cast.session.pk}/")
    page.screenshot(path=str(SHOTS / "workspace-session-before-upload.png"), full_page=True)

    # The connection drops once in the middle of the upload: it resumes from the server's
    # offset instead of starting over.
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        offset = route.request.headers.get("upload-offset", "0")
        if offset != "0" and not dropped:
            dropped.append(offset)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/*/chunk/", drop_once)
    page.set_input_files("#file-input", str(audio))
    page.wait_for_url(re.compile(r"recording="), timeout=60_000)
    recording = Recording.objects.get(original_name="session-tuesday.wav")
    assert recording.size_bytes == audio.stat().st_size
    assert dropped, "the simulated connection drop did not happen"
    assert recording.sha256 == hashlib.sha256(audio.read_bytes()).hexdigest()
    # The analysis progress is shown live until the timeline is ready.
    status = page.locator("#analysis-status")
    try:
        status.locator("#status-progress").wait_for(state="visible", timeout=5_000)
        page.screenshot(path=str(SHOTS / "workspace-analysis-progress.png"))
        assert re.search(
            r"\d+%|Waiting|Starting|Reading|Finding|Telling|Estimating", status.inner_text()
        )
    except Exception:  # noqa: S110 - a fast worker may finish before we look
        pass
    page.wait_for_selector("#workspace[data-loaded='1']", timeout=240_000)
    assert status.is_hidden()
    rows = page.locator("#segment-rows tr[data-index]")
    assert rows.count() >= 1
    page.locator("#timeline .main-svg").first.wait_for()
    page.locator("#timeline-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "workspace-timeline.png"), full_page=True)

    # Click a segment: it is selected and played from its start.
    first = rows.first
    first.click()
    panel = page.locator("#segment-panel")
    panel.wait_for(state="visible")
    key = first.get_attribute("data-key")
    before = first.locator("td").nth(2).inner_text().split()[0]
    new_emotion = "sad" if before != "sad" else "happy"
    # Keyboard: the arrow keys move between segments, space plays and pauses.
    if rows.count() > 1:
        page.keyboard.press("ArrowDown")
        assert page.locator("#segment-rows tr.is-selected").get_attribute("data-index") == "1"
        page.keyboard.press("ArrowUp")
    assert page.locator("#segment-rows tr.is-selected").get_attribute("data-key") == key

    # Correct its label.
    page.select_option("#corr-emotion", new_emotion)
    page.fill("#corr-note", "Sounded upset about the game")
    page.click("#corr-save")
    # A function, not an expression: Playwright evaluates expressions with eval(), which the
    # page's Content-Security-Policy (script-src 'self') refuses, as it should.
    page.wait_for_function(
        "() => document.querySelector('#panel-message').textContent.startsWith('Saved')"
    )
    page.screenshot(path=str(SHOTS / "workspace-correction.png"))
    edit = SegmentEdit.objects.get(superseded_at__isnull=True)
    assert edit.emotion == new_emotion and edit.author == cast.therapist

    # After a reload the correction is still shown in place of the model's label.
    page.reload()
    page.wait_for_selector("#workspace[data-loaded='1']", timeout=60_000)
    corrected = page.locator("#segment-rows tr[data-index='0']")
    assert new_emotion in corrected.inner_text()
    assert "corrected" in corrected.inner_text()
    # The summary and the exports are on the page too.
    assert page.get_by_role("heading", name=re.compile("Session summary")).is_visible()
    assert page.get_by_role("link", name="Segments (CSV)").is_visible()
    # The one expected failure is the connection drop simulated above.
    problems = [p for p in page.problems if "ERR_CONNECTION_RESET" not in p]
    assert problems == [], problems


def test_child_profile_trends(browser: Any, live_server: Any, cast: Cast) -> None:
    for week in range(8):
        session = new_session(
            child=cast.child,
            therapist=cast.therapist,
            date=dt.date(2026, 6, 1) + dt.timedelta(weeks=week),
        )
        done_run(recording_for(session), segments=20, seed=week, child_share=0.3 + 0.05 * week)
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/children/{cast.child.pk}/")
    page.locator("#trend-chart .main-svg").first.wait_for()
    page.locator("summary", has_text="Add a phase line or goal").click()
    page.select_option("#marker-kind", "phase")
    page.fill("#marker-date", "2026-07-01")
    page.fill("#marker-label", "Phase B: emotion cards")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_load_state("networkidle")
    page.locator("#trend-chart .main-svg").first.wait_for()
    assert "Phase B: emotion cards" in page.locator("#trend-chart").inner_text()
    page.locator("#trends").screenshot(path=str(SHOTS / "workspace-child-trends.png"))
    assert page.problems == [], page.problems


def test_recording_in_the_browser_is_saved_through_the_same_upload(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    grant_consent(cast.child, "recording")
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/sessions/{cast.session.pk}/")
    page.click("#rec-start")
    page.locator("#rec-stop").wait_for(state="visible")
    page.wait_for_timeout(1500)
    page.click("#rec-pause")
    assert page.inner_text("#rec-state") == "Paused"
    page.click("#rec-pause")
    page.wait_for_timeout(1200)
    assert page.evaluate("document.querySelector('#rec-level').value") >= 0
    page.screenshot(path=str(SHOTS / "workspace-recording.png"))
    page.click("#rec-stop")
    page.locator("#rec-review").wait_for(state="visible")
    # An unsaved recording makes the browser warn before leaving the page.
    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.evaluate("setTimeout(() => { window.location.href = '/'; }, 0)")
    page.wait_for_timeout(1500)
    assert dialogs == ["beforeunload"]
    assert f"/sessions/{cast.session.pk}/" in page.url
    page.remove_listener("dialog", stay)
    page.click("#rec-save")
    page.wait_for_url(re.compile(r"recording="), timeout=60_000)
    recording = Recording.objects.get(session=cast.session, original_name__startswith="browser-")
    assert recording.original_name.endswith((".webm", ".ogg"))
    assert recording.size_bytes > 1000
    assert page.locator("#analysis-status").is_visible()
    assert page.problems == [], page.problems


def test_guardian_cannot_reach_the_session_page(browser: Any, live_server: Any, cast: Cast) -> None:
    page = _login(browser, live_server, cast.guardian.email)
    response = page.goto(f"{live_server.url}/sessions/{cast.session.pk}/")
    assert response is not None and response.status == 404
    assert "Private therapist notes" not in page.content()
    assert page.locator("#workspace").count() == 0
    api = page.request.get(f"{live_server.url}/api/v1/recordings/{cast.recording.pk}/workspace/")
    assert api.status == 404
