"""Naming voices in real headless Chromium: the segment list shows each voice and its role's
confidence, "Who is Speaker A?" is answered with the keyboard, and the panel fits a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cast
from tests.workspace.test_browser import SHOTS, _login
from tests.workspace.voices import voiced_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _rows(page: Any) -> list[str]:
    page.locator("#segment-rows tr[data-index]").first.wait_for()
    return [
        str(t)
        for t in page.locator("#segment-rows tr[data-index] td:nth-child(2)").all_inner_texts()
    ]


def test_a_voice_is_named_with_the_keyboard_and_the_list_follows(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    voiced_run(cast.recording, segments=6)
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/sessions/{cast.session.pk}/?recording={cast.recording.pk}")
    rows = _rows(page)
    assert rows[0].startswith("Speaker A") and rows[1].startswith("Speaker B")
    assert all("%" in row for row in rows)  # every role carries its confidence
    # The role names come from the server's one list.
    labels = page.evaluate("JSON.parse(document.getElementById('speaker-role-labels').textContent)")
    assert labels["unknown"] == "Unknown speaker" and set(labels) >= {"child", "therapist"}
    form = page.locator(".ws-speaker-form").first
    assert "Who is Speaker A?" in form.inner_text()
    # Keyboard only: focus the first choice (the session's child), select it, submit.
    form.locator("input[name=person]").first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    while page.evaluate("document.activeElement.type") == "radio":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    rows = _rows(page)
    assert rows[0].startswith(cast.child.display_name) and "named" in rows[0]
    assert rows[1].startswith("Speaker B")
    assert "Who is Speaker A?" not in page.locator("#speakers-heading").locator("..").inner_text()
    assert page.problems == [], page.problems

    phone = _login(browser, live_server, cast.therapist.email)
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/sessions/{cast.session.pk}/?recording={cast.recording.pk}")
    panel = phone.locator(".ws-speakers")
    panel.wait_for()
    assert phone.evaluate(
        "(() => { const p = document.querySelector('.ws-speakers');"
        " return p.scrollWidth <= p.clientWidth + 1; })()"
    )
    panel.screenshot(path=str(SHOTS / "workspace-speakers-phone.png"))
    assert phone.problems == [], phone.problems


def test_this_voice_is_from_the_segment_panel_names_the_whole_voice(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    voiced_run(cast.recording, segments=6)
    page = _login(browser, live_server, cast.therapist.email)
    page.goto(f"{live_server.url}/sessions/{cast.session.pk}/?recording={cast.recording.pk}")
    _rows(page)
    page.locator("#segment-rows tr[data-index='1']").click()  # a segment of Speaker B
    page.locator("#segment-panel").wait_for(state="visible")
    page.select_option("#corr-voice", f"therapist:{cast.therapist.pk}")
    with page.expect_navigation():
        page.click("#corr-voice-save")
    page.wait_for_load_state("networkidle")
    rows = _rows(page)
    therapist = f"{cast.therapist} (therapist)"
    assert rows[1].startswith(therapist) and "named" in rows[1], rows
    assert all(not row.startswith("Speaker B") for row in rows), rows
    assert rows[0].startswith("Speaker A")
    assert page.problems == [], page.problems
