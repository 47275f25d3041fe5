"""Blind review in real headless Chromium: neither the page nor any response it fetches
carries the model's label or confidence before the therapist answers; answered with the
keyboard, the model's answer then shows on the queue."""

from __future__ import annotations

import re
from typing import Any

import pytest

from analysis.models import EmotionModelVersion
from sessions.validation import services
from sessions.validation.models import ReviewItem, ValidationSettings
from tests.conftest import Cast
from tests.validation.helpers import SECRET_CONFIDENCE, analysed, tone_wav
from tests.workspace.test_browser import _login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRETS = ("0.873", "87.3", "87%", "87 %")


def _without_choices(text: str) -> str:
    return re.sub(r"<fieldset.*?</fieldset>", "", text, flags=re.S | re.I)


def test_blind_review_reveals_nothing_before_the_answer(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    model = EmotionModelVersion.objects.create(
        clinic=cast.clinic, name="m", version="1", source="imported", kind="features_head",
        labels=["surprised"], label_map={"surprised": "surprised"}, location="x",
        checksum="0" * 64, status="active",
    )  # fmt: skip
    ValidationSettings.objects.create(clinic=cast.clinic, weekly_sample_size=1)
    analysed(cast.session, model, [(1.0, 3.0, "surprised", SECRET_CONFIDENCE)], audio=tone_wav(4.0))
    services.weekly_sample_draw(clinic=cast.clinic)
    item = ReviewItem.objects.get()

    page = _login(browser, live_server, cast.therapist.email)
    bodies: list[tuple[str, str]] = []

    def keep(response: Any) -> None:
        kind = response.headers.get("content-type", "")
        if response.status < 300 and ("text" in kind or "json" in kind):
            bodies.append((response.url, response.text()))

    page.on("response", keep)
    audio_requests: list[str] = []
    page.on("request", lambda r: audio_requests.append(r.url) if "/audio/" in r.url else None)

    page.goto(f"{live_server.url}/validation/review/")
    page.get_by_role("link", name="Start with the first segment").click()
    page.wait_for_load_state("networkidle")
    assert f"/validation/review/{item.pk}/" in page.url
    page.click("#blind-play")
    page.wait_for_timeout(1500)
    assert any(str(item.segment.run.recording_id) in u for u in audio_requests)

    # The DOM: nothing of the model's answer (the answer choices list every emotion).
    html = _without_choices(page.content()).lower()
    assert "surprised" not in html
    assert not any(secret in html for secret in SECRETS)
    # Every text or JSON response fetched so far: the same.
    assert bodies
    for url, body in bodies:
        text = _without_choices(body).lower()
        assert "surprised" not in text, url
        assert not any(secret in text for secret in SECRETS), url

    # Answered with the keyboard: the model's answer is shown afterwards.
    page.locator("input[name=emotion][value=happy]").focus()
    page.keyboard.press("Space")
    page.locator("input[name=speaker][value=child]").focus()
    page.keyboard.press("Space")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/validation/review/")
    assert "surprised" in page.content().lower()
    item.refresh_from_db()
    assert item.emotion == "happy" and item.speaker == "child"
    assert page.problems == [], page.problems

    phone = _login(browser, live_server, cast.therapist.email)
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/validation/review/")
    assert phone.evaluate("document.documentElement.scrollWidth <= 391")


def test_validation_page_draws_its_figures_and_fits_a_phone(
    browser: Any, live_server: Any, cast: Cast
) -> None:
    from tests.validation.test_validation_page import _labelled

    model = _labelled(cast)
    page = _login(browser, live_server, cast.admin.email)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/validation/models/{model.pk}/")
    page.locator("#vfig-confusion").wait_for(state="attached")
    page.wait_for_function(
        "document.querySelectorAll('.plotly-chart .main-svg').length >= 4", timeout=20000
    )
    assert "Model vs therapist, 20 items" in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth <= 391")
    assert page.problems == [], page.problems
