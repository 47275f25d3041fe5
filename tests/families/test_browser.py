"""The families pages in headless Chromium at phone and desktop width.

Screenshots go to ``$FAMILIES_SCREENSHOTS`` (or the test's temporary directory). The checks:
each page loads without console errors, nothing overflows sideways on a phone, the charts
draw, and the report's key controls can be reached with the keyboard.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from sessions.families import services
from tests.conftest import Cast, signed_in_page
from tests.families.helpers import analysed_session, consent, practice_attempt, released_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MOODS = [
    {"happy": 0.2 + 0.03 * (i % 7), "neutral": 0.5, "sad": 0.3 - 0.03 * (i % 7)} for i in range(12)
]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FAMILIES_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser: Any, live_server: Any, user: Any, viewport: dict[str, int]) -> Any:
    return signed_in_page(browser, live_server, user, viewport=viewport)


def _open(page: Any, live_server: Any, path: str) -> None:
    response = page.goto(live_server.url + path)
    assert response.status == 200, path
    assert page.errors == [], page.errors


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


@pytest.fixture
def year(cast: Cast, transactional_db: Any) -> dict[str, Any]:
    consent(cast.child)
    start = dt.date(2026, 1, 5)
    sessions = [
        analysed_session(
            cast.child, cast.therapist, start + dt.timedelta(weeks=i), m, talk_share=0.3 + 0.02 * i
        )
        for i, m in enumerate(MOODS)
    ]
    practice_attempt(cast.child)
    report = released_report(
        cast.child,
        cast.therapist,
        sessions,
        comments=(
            "Mia has worked hard on taking turns in conversation this term.\n\n"
            "At home, try the 'hello' game a few times a week."
        ),
    )
    draft = services.report_create(
        child=cast.child,
        actor=cast.therapist,
        period_start=sessions[0].date,
        period_end=sessions[-1].date,
        sessions=sessions,
        title="Summer report",
    )
    return {"report": report, "draft": draft}


def test_family_pages_on_a_phone(
    browser: Any, live_server: Any, cast: Cast, year: dict[str, Any], shots: Path
) -> None:
    page = _page(browser, live_server, cast.guardian, PHONE)
    _open(page, live_server, reverse("family_child", kwargs={"child_id": cast.child.pk}))
    _no_sideways_scroll(page)
    assert page.locator("svg.chart").count() == 1
    assert page.get_by_role("link", name="Read the report").is_visible()
    page.screenshot(path=str(shots / "family_child_phone.png"), full_page=True)

    _open(page, live_server, reverse("family_report", kwargs={"report_id": year["report"].pk}))
    _no_sideways_scroll(page)
    assert page.locator("svg.chart").count() >= 3
    page.screenshot(path=str(shots / "family_report_phone.png"), full_page=True)
    page.get_by_text("The numbers behind the charts").click()
    _no_sideways_scroll(page)
    page.screenshot(path=str(shots / "family_report_details_phone.png"), full_page=True)


def test_family_pages_on_a_desktop(
    browser: Any, live_server: Any, cast: Cast, year: dict[str, Any], shots: Path
) -> None:
    page = _page(browser, live_server, cast.guardian, DESKTOP)
    _open(page, live_server, reverse("family_child", kwargs={"child_id": cast.child.pk}))
    page.screenshot(path=str(shots / "family_child_desktop.png"), full_page=True)
    _open(page, live_server, reverse("family_report", kwargs={"report_id": year["report"].pk}))
    page.screenshot(path=str(shots / "family_report_desktop.png"), full_page=True)


def test_therapist_report_pages(
    browser: Any, live_server: Any, cast: Cast, year: dict[str, Any], shots: Path
) -> None:
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = _page(browser, live_server, cast.therapist, viewport)
        _open(page, live_server, reverse("report_detail", kwargs={"report_id": year["draft"].pk}))
        assert page.get_by_role("button", name="Release to the family").is_visible()
        if suffix == "phone":
            _no_sideways_scroll(page)
        page.screenshot(path=str(shots / f"report_detail_{suffix}.png"), full_page=True)
        _open(page, live_server, reverse("report_create", kwargs={"child_id": cast.child.pk}))
        page.screenshot(path=str(shots / f"report_form_{suffix}.png"), full_page=True)
        _open(page, live_server, reverse("report_list", kwargs={"child_id": cast.child.pk}))
        page.screenshot(path=str(shots / f"report_list_{suffix}.png"), full_page=True)

    # Keyboard: Tab reaches the release button, and Enter releases the draft.
    page = _page(browser, live_server, cast.therapist, DESKTOP)
    _open(page, live_server, reverse("report_detail", kwargs={"report_id": year["draft"].pk}))
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Release to the family":
            break
    else:
        pytest.fail("The release button cannot be reached with the keyboard")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Released. The family can now read this report." in page.content()


def test_consent_pages(
    browser: Any, live_server: Any, cast: Cast, year: dict[str, Any], shots: Path
) -> None:
    for viewport, suffix in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = _page(browser, live_server, cast.admin, viewport)
        _open(page, live_server, reverse("console_consent"))
        page.screenshot(path=str(shots / f"console_consent_{suffix}.png"), full_page=True)
        _open(page, live_server, reverse("child_consent", kwargs={"child_id": cast.child.pk}))
        if suffix == "phone":
            _no_sideways_scroll(page)
        page.screenshot(path=str(shots / f"child_consent_{suffix}.png"), full_page=True)
        _open(
            page,
            live_server,
            reverse(
                "child_consent_revoke", kwargs={"child_id": cast.child.pk, "purpose": "recording"}
            ),
        )
        page.screenshot(path=str(shots / f"consent_revoke_{suffix}.png"), full_page=True)
    _open(page, live_server, reverse("console"))
    assert page.get_by_role("link", name="Consent and data").is_visible()
