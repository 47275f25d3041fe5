"""Listening practice in headless Chromium: a child answers a set at phone width (clicks, the
keyboard, a replay, an answer given while the connection is down), and a therapist reads the
confusion chart.

The clips are the starter set's generated voice; answers go through the real API.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from sessions.listening.models import Clip, ClipSource, ListeningAnswer
from tests.conftest import Cast, grant_consent
from tests.families.test_browser import PHONE, _open, _page
from tests.listening.factories import answer, make_listening_assignment

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}


def _current(page: Any) -> Any:
    return page.locator(".li-item:not([hidden])")


def test_child_answers_a_set_with_clicks_keys_and_a_dropped_connection(
    browser: Any, live_server: Any, cast: Cast, transactional_db: Any
) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child, "happy-or-sad")  # 4 clips, 2 choices
    items = {str(c.pk): c.emotion for c in assignment.listening_set.clips.all()}
    page = _page(browser, live_server, cast.guardian, PHONE)

    _open(page, live_server, f"/family/children/{cast.child.pk}/exercises/")
    page.get_by_role("link", name=re.compile(r"Let's listen!\s*: Happy or sad\?")).click()
    page.wait_for_selector(".li-item:not([hidden])")
    assert page.locator(".li-generated").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # 1: the right picture, tapped. The clip plays first (response time from its first play).
    item = _current(page)
    clip = item.get_attribute("data-clip")
    item.locator("audio").evaluate("a => a.play()")
    page.wait_for_function("() => !document.querySelector('.li-item:not([hidden]) audio').paused")
    box = item.locator(f".li-choice[value={items[clip]}]").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    item.locator(f".li-choice[value={items[clip]}]").click()
    assert "Yes! That voice sounded" in item.locator(".li-feedback").inner_text()
    item.get_by_role("button", name="Play again").click()
    page.wait_for_function("() => window.listeningQueue.size() === 0")
    page.get_by_role("button", name="Next clip").click()

    # 2: the wrong one, with the keyboard (key 1 or 2: whichever is not the clip's feeling).
    item = _current(page)
    clip = item.get_attribute("data-clip")
    values = item.locator(".li-choice").evaluate_all("bs => bs.map(b => b.value)")
    wrong = next(i for i, v in enumerate(values) if v != items[clip])
    page.keyboard.press(str(wrong + 1))
    feedback = item.locator(".li-feedback").inner_text()
    assert feedback.startswith("Good try!") and "Play it again" in feedback
    page.wait_for_function("() => window.listeningQueue.size() === 0")
    page.keyboard.press("Enter")  # "Next clip" has the focus

    # 3: answered while offline: kept in the queue, said so, sent once back online.
    item = _current(page)
    clip3 = item.get_attribute("data-clip")
    page.context.set_offline(True)
    item.locator(f".li-choice[value={items[clip3]}]").click()
    page.wait_for_selector("#li-queue:not([hidden])")
    assert "saved on this device" in page.locator("#li-queue").inner_text()
    assert page.evaluate("window.listeningQueue.size()") == 1
    assert not ListeningAnswer.objects.filter(clip_id=clip3).exists()
    page.context.set_offline(False)
    page.evaluate("window.listeningQueue.flush()")
    page.wait_for_function("() => window.listeningQueue.size() === 0")
    page.get_by_role("button", name="Next clip").click()

    # 4: the last one, then the score.
    item = _current(page)
    clip = item.get_attribute("data-clip")
    item.locator(f".li-choice[value={items[clip]}]").click()
    page.wait_for_function("() => window.listeningQueue.size() === 0")
    page.get_by_role("button", name="Finish").click()
    assert page.locator("#li-score").inner_text() == "3 of 4 right."

    answers = list(ListeningAnswer.objects.filter(child=cast.child))
    assert len(answers) == 4 and sum(a.correct for a in answers) == 3
    first = next(a for a in answers if a.response_ms is not None)
    assert (first.response_ms or 0) > 0 and first.answered_by == cast.guardian
    assert ListeningAnswer.objects.filter(clip_id=clip3, correct=True).count() == 1

    # The family's listening page: history and the streak.
    _open(page, live_server, f"/family/children/{cast.child.pk}/listening/")
    text = page.locator("main").inner_text()
    assert "3 of 4 right so far." in text and "1 listening day in a row" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_therapist_reads_the_confusion_chart(
    browser: Any, live_server: Any, cast: Cast, transactional_db: Any
) -> None:
    assignment = make_listening_assignment(cast.child)
    for target, chosen in [("sad", "calm"), ("sad", "calm"), ("sad", "sad"), ("happy", "happy"),
                           ("angry", "happy"), ("calm", "calm")]:  # fmt: skip
        answer(assignment, target, chosen)
    page = _page(browser, live_server, cast.therapist, DESKTOP)
    _open(page, live_server, f"/children/{cast.child.pk}/listening/")
    page.wait_for_selector("#confusion-chart .heatmaplayer image, #confusion-chart .hm image")
    trace = page.evaluate(
        "() => { const t = document.getElementById('confusion-chart').data[0];"
        " return {type: t.type, x: t.x, y: t.y, counts: t.customdata}; }"
    )
    assert trace["type"] == "heatmap"
    assert trace["y"] == ["calm", "happy", "sad", "angry"]
    sad, calm = trace["y"].index("sad"), trace["x"].index("calm")
    assert trace["counts"][sad][calm] == 2
    # The same figures as a table, for screen readers.
    row = page.locator("#confusion-table tbody tr", has_text="sad").inner_text().split()
    assert row == ["sad", "2", "0", "1", "0"]
    assert "3 of 6 answers right" in page.content()


def test_therapist_records_a_clip_in_the_browser_and_tags_its_feeling(
    browser: Any, live_server: Any, cast: Cast, transactional_db: Any
) -> None:
    page = _page(browser, live_server, cast.therapist, DESKTOP)
    _open(page, live_server, "/listening/clips/new/")
    record = page.get_by_role("button", name="● Record")
    record.click()
    page.get_by_role("button", name="■ Stop").wait_for()
    page.wait_for_timeout(2500)  # Chromium's fake microphone plays its beep
    page.get_by_role("button", name="■ Stop").click()
    page.wait_for_selector("#clip-preview:not([hidden])")
    assert "Recorded." in page.locator("#clip-record-status").inner_text()
    page.get_by_label("Which feeling does the voice show?").select_option("sad")
    page.get_by_label("Intensity").select_option("normal")
    page.get_by_label("What the voice says").fill("I lost my ball.")
    page.get_by_role("button", name="Save the clip").click()
    page.wait_for_url("**/listening/")
    assert "Clip saved as sad" in page.locator("main").inner_text()
    clip = Clip.objects.get(clinic=cast.clinic, source=ClipSource.RECORDED)
    assert (clip.emotion, clip.intensity, clip.words) == ("sad", "normal", "I lost my ball.")
    assert clip.tagged_by == cast.therapist and clip.content_type in {"audio/webm", "audio/ogg"}
    assert clip.duration_s is not None and clip.duration_s > 1.5
    row = page.locator("tr", has_text="I lost my ball.")
    assert "Recorded in the browser, tagged by" in row.inner_text()


def _answer_with(status: int) -> Any:
    return lambda route, request: route.fulfill(status=status, body="{}")


def test_an_answer_refused_by_a_signed_out_session_stays_queued_until_it_is_stored(
    browser: Any, live_server: Any, cast: Cast, transactional_db: Any
) -> None:
    grant_consent(cast.child, "recording", "analysis")
    assignment = make_listening_assignment(cast.child, "happy-or-sad")
    page = _page(browser, live_server, cast.guardian, PHONE)
    answers_url = f"**/api/v1/listening/assignments/{assignment.pk}/answers/"
    # What the API says to a session that has expired, and what a proxy says while the
    # server restarts: neither is the server's verdict on the answer.
    for status in (401, 502):
        page.route(answers_url, _answer_with(status))
        # (page.goto, not _open: the refusals are the point; the queue is sent on load.)
        page.goto(f"{live_server.url}/family/listening/{assignment.pk}/")
        page.wait_for_selector(".li-item:not([hidden])")
        page.keyboard.press("1")
        page.wait_for_selector("#li-queue:not([hidden])")
        page.wait_for_timeout(300)
        assert page.evaluate("window.listeningQueue.size()") >= 1
        page.unroute(answers_url)
    assert not ListeningAnswer.objects.exists()
    # Signed in again / server back: the next visit sends both, once each.
    page.errors.clear()
    _open(page, live_server, f"/family/listening/{assignment.pk}/")
    page.wait_for_function("() => window.listeningQueue.size() === 0")
    assert ListeningAnswer.objects.filter(child=cast.child).count() == 2
