"""Every family page at 390x844 in headless Chromium, as a guardian: nothing scrolls sideways
(long words wrap, tables become stacked cards) and every control is at least 44 px tall.

The pages are those of sessions/families/urls.py and the family routes of
sessions/exercises/urls.py and sessions/listening/urls.py that answer GET with a page
(downloads and POST-only actions are left out); ``test_the_walk_covers_every_family_page``
keeps the list complete.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, reverse

from sessions.exercises import urls as exercise_urls
from sessions.exercises.models import Exercise
from sessions.families import services
from sessions.families import urls as family_urls
from sessions.listening import urls as listening_urls
from tests.conftest import Cast
from tests.exercises.factories import done_attempt, make_assignment
from tests.families.helpers import analysed_session, consent, released_report
from tests.families.test_browser import PHONE, _open, _page
from tests.listening.factories import answer, make_listening_assignment

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung"

# Family routes that are not pages: downloads, POST-only actions, and the staff side.
NOT_PAGES = {
    "report_pdf": "a PDF download",
    "child_export": "a zip download",
    "family_erasure_undo": "a POST-only action",
    "attempt_upload": "a POST-only action (the no-JavaScript upload)",
}
FAMILY_PAGES = (
    "family_home",
    "family_child",
    "family_report",
    "family_consent",
    "family_consent_give",
    "family_consent_withdraw",
    "family_exercises",
    "family_progress",
    "exercise_practice",
    "attempt_result",
    "family_listening",
    "listening_play",
)

# Controls smaller than 44 px tall, and elements wider than the page, as (what, size) pairs.
MEASURE = """() => {
  const tooSmall = [];
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "audio[controls], [role=button], [tabindex]:not([tabindex='-1'])";
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === "hidden") continue;
    if (el.classList.contains("skip-link")) continue;  // off screen until focused
    if (box.height < 44) {
      tooSmall.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.value || "").trim()
        .slice(0, 40)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right > window.innerWidth + 1 && box.width > 0) {
      wide.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, tooSmall, wide: wide.slice(0, 8)};
}"""


def _routes(module: Any) -> set[str]:
    return {p.name for p in module.urlpatterns if isinstance(p, URLPattern) and p.name}


def test_the_walk_covers_every_family_page() -> None:
    family_routes = {
        p.name
        for module in (family_urls, exercise_urls, listening_urls)
        for p in module.urlpatterns
        if isinstance(p, URLPattern)
        and p.name
        and str(p.pattern).startswith(("family/", "exercises/attempts/"))
        and "audio" not in (p.name or "")
    }
    family_routes |= {"child_export"}
    assert family_routes - set(NOT_PAGES) - {"attempt_review"} == set(FAMILY_PAGES)


@pytest.fixture
def family(cast: Cast, transactional_db: Any) -> dict[str, Any]:
    """A family with a bit of everything: reports, practice, an unagreed consent, two children
    (so the home page lists them), and long words in the therapist's texts."""
    consent(cast.child)
    start = dt.date(2026, 1, 5)
    sessions = [
        analysed_session(
            cast.child,
            cast.therapist,
            start + dt.timedelta(weeks=i),
            {"happy": 0.2 + 0.05 * i, "neutral": 0.5, "sad": 0.3 - 0.05 * i},
        )
        for i in range(4)
    ]
    report = released_report(
        cast.child,
        cast.therapist,
        sessions,
        comments=f"Mia worked on {LONG_WORD} and turn-taking.\n\nLovely progress this term.",
    )
    services.consent_revoke(child=cast.child, purpose="training", actor=cast.admin)
    exercise = Exercise.objects.get(clinic=cast.clinic, library_key="greeting-happy")
    exercise.title = f"Happy hello {LONG_WORD}"
    exercise.save()
    assignment = make_assignment(cast.child, exercise, note=f"Try it at {LONG_WORD} time!")
    attempts = [
        done_attempt(assignment, stars=s, target_probability=0.3 * s, tips=[f"Say {LONG_WORD}"])
        for s in (1, 2, 3)
    ]
    cast.other_child.guardians.add(cast.guardian)
    consent(cast.other_child)
    listening = make_listening_assignment(cast.child, note=f"Listen at {LONG_WORD} time!")
    for target, chosen in (("happy", "happy"), ("sad", "calm"), ("angry", "angry")):
        answer(listening, target, chosen)
    return {
        "report": report, "assignment": assignment, "attempt": attempts[-1],
        "listening": listening,
    }  # fmt: skip


def _urls(cast: Cast, family: dict[str, Any]) -> dict[str, str]:
    child = {"child_id": cast.child.pk}
    return {
        "family_home": reverse("family_home"),
        "family_child": reverse("family_child", kwargs=child),
        "family_report": reverse("family_report", kwargs={"report_id": family["report"].pk}),
        "family_consent": reverse("family_consent", kwargs=child),
        "family_consent_give": reverse(
            "family_consent_give", kwargs={**child, "purpose": "training"}
        ),
        "family_consent_withdraw": reverse(
            "family_consent_withdraw", kwargs={**child, "purpose": "recording"}
        ),
        "family_exercises": reverse("family_exercises", kwargs=child),
        "family_progress": reverse("family_progress", kwargs=child),
        "exercise_practice": reverse("exercise_practice", args=[family["assignment"].pk]),
        "attempt_result": reverse("attempt_result", args=[family["attempt"].pk]),
        "family_listening": reverse("family_listening", kwargs=child),
        "listening_play": reverse("listening_play", args=[family["listening"].pk]),
    }


def test_every_family_page_fits_a_phone_with_large_touch_targets(
    browser: Any,
    live_server: Any,
    cast: Cast,
    family: dict[str, Any],
    tmp_path: Path,
) -> None:
    folder = Path(os.environ.get("FAMILIES_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page = _page(browser, live_server, cast.guardian, PHONE)
    urls = _urls(cast, family)
    assert set(urls) == set(FAMILY_PAGES)
    problems: dict[str, Any] = {}
    for name, url in urls.items():
        _open(page, live_server, url)
        # Open every disclosure, so what it hides is measured too.
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_timeout(150)
        measured = page.evaluate(MEASURE)
        page.screenshot(path=str(folder / f"{name}_390.png"), full_page=True)
        if measured["scrollWidth"] > PHONE["width"] or measured["tooSmall"]:
            problems[name] = measured
    assert not problems, json.dumps(problems, indent=1)
